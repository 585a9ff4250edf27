"""The review page's summary strip: flux curves over time and a few key frames per video.

So that a verdict rarely needs the whole clip, the page shows beside each video
its unsigned and signed magnetic flux against the frame (an emerging region is
a rise of unsigned flux while the signed flux stays near zero) and a handful of
key frames (the first and last observed, the located emergence frame, the frame
of steepest rise of unsigned flux, filled up with evenly spaced frames).

Flux is the field (Gauss = Mx cm⁻²) summed over the finite pixels times the
pixel area: ``(pixel_deg · MM_PER_DEG Mm)²`` as in
:func:`skflux.datasets.patch_statistics`, shrunk by ``cos(latitude)`` per
pixel row when the Carrington latitude of the patch is known (a Carrington
grid cell of ``d°`` in longitude spans ``d° · cos(latitude)`` on the Sun).
Line-of-sight field, no projection correction: a summary to look at, not a
measurement.
"""

import math

import numpy as np

from ..._schema import PIXEL_DEG
from ..._validation import _is_dataarray
from ...datasets._physics import MM_PER_DEG
from ...datasets._statistics import _CM2_PER_MM2

__all__ = ["flux_curves", "key_frames", "summary_strip", "video_flux"]


def _pixel_deg(X, width):
    """Degrees per pixel: the ``lat`` spacing of a DataArray, its ``pixel_deg`` attr, or 15°/width.

    The same rule as :func:`skflux.datasets.patch_statistics`.
    """
    if _is_dataarray(X):
        if "lat" in X.coords and X.sizes.get("lat", 0) > 1:
            return float(np.abs(np.diff(np.asarray(X["lat"].values, float))).mean())
        if "pixel_deg" in X.attrs:
            return float(X.attrs["pixel_deg"])
    return 15.0 / width if width else PIXEL_DEG  # a 15-degree patch, as the paper's


def flux_curves(video, *, pixel_deg, latitudes=None):
    """Unsigned and signed magnetic flux (Mx) of every frame of one video.

    Parameters
    ----------
    video : array-like of shape (n_frames, height, width)
        Line-of-sight field in Gauss; NaN marks missing pixels (left out of the sums).
    pixel_deg : float
        Pixel size in heliographic degrees.
    latitudes : array-like of shape (height,) or None, default=None
        Carrington latitude (degrees) of each pixel row; the pixel area is
        shrunk by its cosine. None: no shrinking (as ``patch_statistics``).

    Returns
    -------
    unsigned, signed : ndarray of shape (n_frames,)
        ``Σ|B|·area`` and ``Σ B·area`` in Mx; NaN for a frame without a finite pixel.

    Raises
    ------
    ValueError
        If ``video`` is not 3-dimensional, ``pixel_deg`` is not a positive
        number or ``latitudes`` does not have one value per row.

    Examples
    --------
    >>> import numpy as np
    >>> video = np.zeros((2, 2, 2))
    >>> video[1] = [[100.0, -100.0], [100.0, np.nan]]
    >>> unsigned, signed = flux_curves(video, pixel_deg=1.0)
    >>> [f"{x:.3g}" for x in unsigned], [f"{x:.3g}" for x in signed]
    (['0', '4.42e+20'], ['0', '1.47e+20'])
    """
    v = np.asarray(video, dtype=np.float32)
    if v.ndim != 3:
        raise ValueError(f"a video's flux curves need 3 dimensions (frame, lat, lon); got "
                         f"shape {v.shape}")
    if not (isinstance(pixel_deg, (int, float, np.number)) and math.isfinite(pixel_deg)
            and pixel_deg > 0):
        raise ValueError(f"pixel_deg must be a positive number of degrees; got {pixel_deg!r}")
    area = (float(pixel_deg) * MM_PER_DEG) ** 2 * _CM2_PER_MM2  # cm² per pixel
    row_area = np.full(v.shape[1], area)
    if latitudes is not None:
        lat = np.asarray(latitudes, dtype=np.float64).ravel()
        if lat.shape != (v.shape[1],):
            raise ValueError(f"latitudes must give one value per pixel row ({v.shape[1]}); got "
                             f"shape {lat.shape}")
        row_area = area * np.clip(np.cos(np.deg2rad(lat)), 0.0, 1.0)
    finite = np.isfinite(v)
    b = np.where(finite, v, np.float32(0.0))
    # sum each pixel row (in float64), then weigh the rows by their area
    signed = b.sum(axis=2, dtype=np.float64) @ row_area
    np.abs(b, out=b)
    unsigned = b.sum(axis=2, dtype=np.float64) @ row_area
    empty = ~finite.any(axis=(1, 2))
    unsigned[empty] = np.nan
    signed[empty] = np.nan
    return unsigned, signed


def key_frames(unsigned, *, n_key=5, located=None, valid=None):
    """A few frames that summarise a video, in increasing order.

    The first and last valid frames, the located emergence frame (when given),
    the frame ending the steepest rise of unsigned flux over about a day
    (``n_frames // 15`` frames, at least one), then, until there are
    ``n_key``, the valid frame farthest from those chosen (the earliest of a
    tie): evenly spread frames. Fewer when the video has fewer valid frames.

    Parameters
    ----------
    unsigned : array-like of shape (n_frames,)
        Unsigned flux per frame (NaN: no data).
    n_key : int, default=5
        How many frames to return at most (more only when the located frame
        and the steepest rise come on top of the first and last).
    located : int or None, default=None
        The located emergence frame.
    valid : array-like of bool of shape (n_frames,) or None, default=None
        Frames to choose from (e.g. the observed ones); None: frames with
        finite flux.

    Returns
    -------
    list of int

    Examples
    --------
    >>> key_frames([1.0, 1.0, 1.0, 5.0, 6.0, 6.0, 6.0, 6.0], n_key=4)
    [0, 3, 5, 7]
    """
    u = np.asarray(unsigned, dtype=np.float64).ravel()
    n = u.size
    ok = np.isfinite(u) if valid is None else (np.asarray(valid, dtype=bool).ravel()
                                               & np.isfinite(u))
    frames = np.flatnonzero(ok)
    if frames.size == 0:
        return []
    chosen = {int(frames[0]), int(frames[-1])}
    if located is not None and 0 <= int(located) < n:
        chosen.add(int(located))
    lag = max(1, n // 15)
    if n > lag:
        rise = u[lag:] - u[:-lag]
        rise[~(ok[lag:] & ok[:-lag])] = np.nan
        if np.isfinite(rise).any() and np.nanmax(rise) > 0:
            chosen.add(int(np.nanargmax(rise)) + lag)
    target = min(max(n_key, 0), frames.size)
    while len(chosen) < target:  # fill: the valid frame farthest from those chosen
        taken = np.fromiter(chosen, dtype=np.int64)
        gap = np.abs(frames[:, None] - taken[None, :]).min(axis=1)
        chosen.add(int(frames[int(np.argmax(gap))]))
    return sorted(chosen)


def _json(values):
    return [None if not math.isfinite(x) else float(f"{x:.5g}") for x in values]


def video_flux(video, X=None, index=None):
    """The flux curves of one video of ``X``, with what they were computed from.

    Parameters
    ----------
    video : array-like of shape (n_frames, height, width)
        The video in Gauss.
    X : xarray.DataArray or array-like or None
        The collection it comes from: its ``lat`` spacing (or ``pixel_deg``
        attribute) gives the pixel size, ``lat0`` + ``lat`` the pixel rows'
        Carrington latitudes, ``observed`` which frames are real.
    index : int or None
        Position of the video in ``X``.

    Returns
    -------
    dict
        ``unsigned`` and ``signed`` (ndarrays, Mx per frame), ``valid``
        (observed frames, or None) and ``area_note`` (how the pixel area was
        taken).
    """
    v = np.asarray(video, dtype=np.float32)
    if v.ndim != 3:
        raise ValueError(f"a video to summarise must have 3 dimensions (frame, lat, lon); "
                         f"got shape {v.shape}")
    pixel_deg = _pixel_deg(X, v.shape[2])
    latitudes, valid = None, None
    if _is_dataarray(X) and index is not None:
        if ("lat0" in X.coords and X.coords["lat0"].dims == ("video",) and "lat" in X.coords
                and X.sizes.get("lat") == v.shape[1]):
            lat0 = float(X.coords["lat0"].values[int(index)])
            if math.isfinite(lat0):
                latitudes = lat0 + np.asarray(X["lat"].values, dtype=float)
        if "observed" in X.coords and X.coords["observed"].dims == ("video", "frame"):
            valid = np.asarray(X.coords["observed"].isel(video=int(index)).values, dtype=bool)
            if not valid.any():
                valid = None
    unsigned, signed = flux_curves(v, pixel_deg=pixel_deg, latitudes=latitudes)
    note = f"pixel {pixel_deg:.4g}° × {pixel_deg:.4g}°" + (
        ", area × cos(Carrington latitude)" if latitudes is not None else "")
    return {"unsigned": unsigned, "signed": signed, "valid": valid, "area_note": note}


def summary_strip(video=None, X=None, index=None, *, located=None, n_key=5, flux=None):
    """The summary strip of one queued video: flux curves and key frames (JSON-able).

    Parameters
    ----------
    video, X, index
        As :func:`video_flux` (``video`` is not read when ``flux`` is given).
    located : int or None, default=None
        The located emergence frame (a key frame).
    n_key : int, default=5
    flux : dict or None, default=None
        What :func:`video_flux` returned for this video, when already computed.

    Returns
    -------
    dict
        ``unsigned_flux`` and ``signed_flux`` (Mx per frame; None where no
        pixel is finite), ``key_frames`` (frame numbers) and ``area_note``
        (how the pixel area was taken).
    """
    if flux is None:
        if video is None:
            raise ValueError("summary_strip needs the video or its flux (video_flux)")
        flux = video_flux(video, X, index)
    return {
        "unsigned_flux": _json(flux["unsigned"]),
        "signed_flux": _json(flux["signed"]),
        "key_frames": key_frames(flux["unsigned"], n_key=n_key, located=located,
                                 valid=flux["valid"]),
        "area_note": flux["area_note"],
    }
