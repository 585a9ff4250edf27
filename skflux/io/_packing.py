"""The int16 packing of the field shared by the NetCDF and Zarr stores (private).

``packed = round(field / PACK_SCALE)`` as int16, NaN stored as ``FILL_INT16``;
readers unpack in one pass to float32 Gauss (:func:`unpack`).
"""

import numpy as np

__all__ = ["FIELD_VAR", "FILL_INT16", "PACK_LIMIT", "PACK_SCALE", "file_video_name", "pack",
           "unpack"]

#: Name of the field variable in skflux NetCDF files and Zarr stores.
FIELD_VAR = "field"
#: Quantization step of the int16 packing, in Gauss.
PACK_SCALE = 0.2
#: Packed value standing for NaN (``_FillValue``).
FILL_INT16 = np.int16(-32768)
#: Largest absolute field (Gauss) that the int16 packing represents.
PACK_LIMIT = 32767 * PACK_SCALE  # 6553.4 G


def pack(values, where):
    """int16 packing of one video's field (float, Gauss), refusing what it cannot hold.

    Parameters
    ----------
    values : array-like of float
        The field in Gauss; NaN becomes ``FILL_INT16``.
    where : str
        The store and video, for the messages (e.g. ``"v.nc: video 3 (bmr_id=7)"``).

    Returns
    -------
    packed : ndarray of int16

    Raises
    ------
    ValueError
        On infinite values or values outside ``±PACK_LIMIT`` (never clipped).

    Examples
    --------
    >>> pack([1.0, float("nan"), -0.6], "example").tolist()
    [5, -32768, -3]
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if np.isinf(values).any():
        raise ValueError(f"{where} holds infinite values")
    if finite.any() and np.abs(values[finite]).max() > PACK_LIMIT + PACK_SCALE / 2:
        raise ValueError(
            f"{where} reaches {np.abs(values[finite]).max():.1f} G, outside the int16 packing "
            f"range ±{PACK_LIMIT:.1f} G; clip it explicitly (e.g. video.clip(-{PACK_LIMIT:.0f}, "
            f"{PACK_LIMIT:.0f})) if that is what you want"
        )
    packed = np.full(values.shape, FILL_INT16, dtype=np.int16)
    packed[finite] = np.rint(values[finite] / PACK_SCALE).astype(np.int16)
    return packed


def unpack(raw, scale, offset=0.0, fill=FILL_INT16):
    """float32 Gauss from int16-packed values: ``raw * scale + offset``, NaN at ``fill``.

    The same values as xarray's CF decoding (float32 arithmetic), in one pass
    without intermediate arrays.

    Parameters
    ----------
    raw : ndarray of int16
    scale, offset : numpy.float32
    fill : numpy.int16

    Returns
    -------
    field : ndarray of float32, raw's shape

    Examples
    --------
    >>> import numpy as np
    >>> unpack(np.array([5, -32768, -3], dtype=np.int16), np.float32(0.2)).tolist()
    [1.0, nan, -0.6000000238418579]
    """
    out = np.multiply(raw, np.float32(scale), dtype=np.float32)
    if offset:
        out += np.float32(offset)
    if raw.size and (raw.min() == fill if fill == np.iinfo(raw.dtype).min else True):
        missing = raw == fill  # (the fill is int16's minimum: min() is the cheap test)
        if missing.any():
            out[missing] = np.nan
    return out


def file_video_name(batch, i, k):
    """Name of video ``i`` of ``batch``, which becomes video ``k`` of the file or store."""
    if "bmr_id" in batch.coords:
        bmr = np.asarray(batch.coords["bmr_id"].values)[i]
        return f"video {k} (bmr_id={getattr(bmr, 'item', lambda: bmr)()!r})"
    return f"video {k}"
