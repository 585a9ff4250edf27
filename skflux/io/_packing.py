"""The int16 packing of the field shared by the NetCDF and Zarr stores (private).

``packed = round(field / PACK_SCALE)`` as int16, NaN stored as ``FILL_INT16``;
readers unpack in one pass to float32 Gauss (:func:`unpack`).
"""

import numpy as np

__all__ = ["COMPRESSIONS", "FIELD_VAR", "FILL_INT16", "NETCDF_COMPRESSIONS", "PACK_LIMIT",
           "PACK_SCALE", "PackedRows", "file_video_name", "pack", "packed_dask_array", "unpack"]

#: Name of the field variable in skflux NetCDF files and Zarr stores.
FIELD_VAR = "field"
#: Quantization step of the int16 packing, in Gauss.
PACK_SCALE = 0.2
#: Packed value standing for NaN (``_FillValue``).
FILL_INT16 = np.int16(-32768)
#: Largest absolute field (Gauss) that the int16 packing represents.
PACK_LIMIT = 32767 * PACK_SCALE  # 6553.4 G
#: Compressions of the packed field (``complevel=0``: none). Per full-size simulated
#: video (``benchmarks/bench_io.py``): ``"zlib"`` (deflate), readable by every
#: NetCDF4/HDF5 tool, 1.93 MiB and ~16 CPU ms of decompression; ``"zstd"`` 2.19 MiB,
#: ~2 ms; ``"blosc_lz4"`` (Blosc's LZ4 with bit shuffle, Zarr only) 2.16 MiB, ~2 ms;
#: none: 3.48 MiB.
COMPRESSIONS = ("zlib", "zstd", "blosc_lz4")
#: Those the NetCDF writer offers: netCDF-C's Blosc filter fails the whole write on a
#: chunk it cannot compress (it has no stored-as-is fallback), so Blosc is Zarr's.
NETCDF_COMPRESSIONS = ("zlib", "zstd")


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
    nan = np.isnan(values)
    # one pass for the largest magnitude (NaN ignored; inf when there is one)
    largest = np.max(np.abs(values), where=~nan, initial=0.0)
    if np.isinf(largest):
        raise ValueError(f"{where} holds infinite values")
    if largest > PACK_LIMIT + PACK_SCALE / 2:
        raise ValueError(
            f"{where} reaches {largest:.1f} G, outside the int16 packing "
            f"range ±{PACK_LIMIT:.1f} G; clip it explicitly (e.g. video.clip(-{PACK_LIMIT:.0f}, "
            f"{PACK_LIMIT:.0f})) if that is what you want"
        )
    scaled = np.divide(values, PACK_SCALE)
    np.rint(scaled, out=scaled)
    scaled[nan] = FILL_INT16
    return scaled.astype(np.int16)


def unpack(raw, scale, offset=0.0, fill=FILL_INT16, *, flag=False):
    """float32 Gauss from int16-packed values: ``raw * scale + offset``, NaN at ``fill``.

    The same values as xarray's CF decoding (float32 arithmetic), in one pass
    without intermediate arrays.

    Parameters
    ----------
    raw : ndarray of int16
    scale, offset : numpy.float32
    fill : numpy.int16
    flag : bool, default=False
        Also return whether any value is the fill value (NaN).

    Returns
    -------
    field : ndarray of float32, raw's shape
    missing : bool
        Only with ``flag``.

    Examples
    --------
    >>> import numpy as np
    >>> unpack(np.array([5, -32768, -3], dtype=np.int16), np.float32(0.2)).tolist()
    [1.0, nan, -0.6000000238418579]
    """
    out = np.multiply(raw, np.float32(scale), dtype=np.float32)
    if offset:
        out += np.float32(offset)
    any_missing = False
    if raw.size and (raw.min() == fill if fill == np.iinfo(raw.dtype).min else True):
        missing = raw == fill  # (the fill is int16's minimum: min() is the cheap test)
        if missing.any():
            out[missing] = np.nan
            any_missing = True
    return (out, any_missing) if flag else out


def _contiguous_runs(rows):
    """``(start, stop, position)`` of each run of consecutive ascending ``rows``."""
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [rows.size]))
    return [(int(rows[a]), int(rows[b - 1]) + 1, int(a)) for a, b in zip(starts, stops)]


class PackedRows:
    """Batches of whole videos read from a packed field and unpacked in one pass.

    The base of the NetCDF and Zarr readers (:class:`skflux.io._netcdf.PackedField`,
    :class:`skflux.io._zarr.ZarrField`): they provide ``_raw(start, stop)`` (the
    int16 values of videos ``start:stop``, one chunk-aligned read) and the
    ``shape``, ``scale``, ``offset`` and ``fill`` of the field. A batch of
    consecutive videos is one read into one int16 array, unpacked by one numpy
    operation into float32 Gauss: no per-video arrays, no concatenation, no
    dask graph.
    """

    #: Videos per dask chunk of the DataArray built on this field (set by
    #: :func:`packed_dask_array`).
    video_chunk = 1

    def read_rows(self, rows):
        """float32 Gauss of the videos ``rows`` (in that order) and whether any is missing.

        Parameters
        ----------
        rows : array-like of int
            Video positions in the store (any order, repeats allowed); runs of
            consecutive positions are read in one go each.

        Returns
        -------
        values : ndarray of float32, shape (len(rows), frame, lat, lon)
            The same values as xarray's CF decoding (NaN at the fill value).
        missing : bool
            Whether any value is NaN (stored as the fill value); without, the
            values are all finite.
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        runs = _contiguous_runs(rows)
        if len(runs) == 1:
            raw = np.asarray(self._raw(runs[0][0], runs[0][1]))
        else:
            raw = np.empty((rows.size, *self.shape[1:]), dtype=np.int16)
            for start, stop, at in runs:
                raw[at:at + stop - start] = self._raw(start, stop)
        return unpack(raw, self.scale, self.offset, self.fill, flag=True)


def packed_dask_array(field, n, prefix, token):
    """A dask array over ``field`` (a :class:`PackedRows`), ``n`` videos per chunk.

    The field is the graph's only data source (``"original-" + name``), which
    lets :func:`skflux.nn._data.packed_source` read whole batches through it.
    """
    import dask.array as dsa
    from dask.base import tokenize

    field.video_chunk = int(n)
    name = prefix + tokenize(token, field.shape, int(n))
    return dsa.from_array(field, chunks=(int(n), *field.shape[1:]), lock=False,
                          asarray=False, name=name, meta=np.empty((0,) * 4, np.float32))


def file_video_name(batch, i, k):
    """Name of video ``i`` of ``batch``, which becomes video ``k`` of the file or store."""
    if "bmr_id" in batch.coords:
        bmr = np.asarray(batch.coords["bmr_id"].values)[i]
        return f"video {k} (bmr_id={getattr(bmr, 'item', lambda: bmr)()!r})"
    return f"video {k}"
