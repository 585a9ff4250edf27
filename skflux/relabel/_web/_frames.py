"""What the review page gets about one video: its frames as one uint8 block, and its facts.

Nothing here reads ground truth: only whitelisted coordinates of ``X`` (time,
Carrington latitude and longitude, month, which frames were observed or off the
disk) reach the page, never ``true_label`` or ``emergence_frame`` of simulated data.
"""

import math

import numpy as np

from ..._schema import CADENCE_MINUTES
from ..._validation import _is_dataarray

__all__ = ["decode_levels", "encode_frames", "video_axes", "video_facts"]

# coordinate names (first found wins) -> fact shown on the page
_FACT_COORDS = {
    "date": ("time", "date", "t_obs"),
    "lat": ("lat0", "carrington_lat", "latitude", "crlt"),
    "lon": ("lon0", "carrington_lon", "longitude", "crln"),
    "month": ("month",),
    "bmr_id": ("bmr_id",),
}


def encode_frames(video, vmax=None, *, softening=None):
    """Scale a video to one uint8 block with a symmetric Gauss scale.

    Parameters
    ----------
    video : array-like of shape (n_frames, height, width)
        Field in Gauss; NaN marks missing pixels.
    vmax : float or None
        Field shown as full white (and ``-vmax`` as full black). None: the
        99.5th percentile of ``|B|`` over the video's finite pixels.
    softening : float or None, default=None
        None: a linear scale. A fraction ``r`` in (0, 1]: an ``asinh`` scale,
        ``127.5 · asinh(B / b) / asinh(vmax / b)`` around 128 with
        ``b = r · vmax``, linear below ``b`` and logarithmic above: finer
        levels for weak fields (where the page's contrast control looks), so
        a saturation well below ``vmax`` still shows smooth greys. Decode
        with :func:`decode_levels`.

    Returns
    -------
    data : bytes
        ``n_frames * height * width`` bytes, C order; 0 G is 128, ``+vmax`` 255,
        ``-vmax`` 0, NaN 128.
    vmax : float
        The scale used.
    shape : tuple of 3 int

    Examples
    --------
    >>> data, vmax, shape = encode_frames(np.array([[[-2.0, 0.0, 2.0]]]), vmax=2.0)
    >>> list(data), vmax, shape
    ([0, 128, 255], 2.0, (1, 1, 3))
    >>> list(encode_frames(np.array([[[-2.0, -0.1, 0.1, 2.0]]]), 2.0, softening=1 / 16)[0])
    [0, 101, 154, 255]
    """
    v = np.asarray(video, dtype=np.float32)
    if v.ndim != 3:
        raise ValueError(f"a video to review must have 3 dimensions (frame, lat, lon); got "
                         f"shape {v.shape}")
    finite = np.isfinite(v)
    if vmax is None:
        vmax = float(np.quantile(np.abs(v[finite]), 0.995)) if finite.any() else 1.0
    vmax = float(vmax)
    if not math.isfinite(vmax) or vmax <= 0:
        vmax = 1.0
    b = np.where(finite, v, 0.0)
    if softening is None:
        scaled = b * np.float32(127.5 / vmax) + np.float32(127.5)
    else:
        softening = float(softening)
        if not (math.isfinite(softening) and 0 < softening <= 1):
            raise ValueError(f"softening must be a fraction of vmax in (0, 1] or None; got "
                             f"{softening!r}")
        soft = softening * vmax
        scaled = 127.5 + 127.5 * np.arcsinh(b / np.float32(soft)) / np.float32(
            math.asinh(1.0 / softening))
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    out[~finite] = 128
    return out.tobytes(), vmax, tuple(int(s) for s in v.shape)


def decode_levels(vmax, softening=None):
    """The field (Gauss) each of the 256 levels of :func:`encode_frames` stands for.

    Returns
    -------
    ndarray of shape (256,)
        Increasing, odd about level 127.5 (the page computes the same table).

    Examples
    --------
    >>> levels = decode_levels(300.0)
    >>> float(levels[0]), float(levels[255])
    (-300.0, 300.0)
    """
    x = (np.arange(256) - 127.5) / 127.5
    if softening is None:
        return x * float(vmax)
    soft = float(softening) * float(vmax)
    return soft * np.sinh(x * math.asinh(1.0 / float(softening)))


def _scalar(value):
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value.astype("datetime64[s]")).replace("T", " ")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)


def _frame_flags(X, index, name):
    """Frame numbers where a boolean ``(video, frame)`` coordinate ``name`` is False/True."""
    coord = X.coords[name]
    if coord.dims != ("video", "frame"):
        return None
    return np.asarray(coord.isel(video=int(index)).values, dtype=bool)


def video_facts(X, index):
    """The facts of video ``index`` of ``X`` shown beside it (only whitelisted coordinates).

    Returns
    -------
    dict
        ``date``, ``lat``, ``lon``, ``month``, ``bmr_id`` when ``X`` has them
        (else None), ``unobserved`` and ``off_disk`` (lists of frame numbers,
        from boolean ``observed`` / ``off_disk`` coordinates of dims
        ``(video, frame)``).
    """
    facts = dict.fromkeys(_FACT_COORDS)
    facts["unobserved"], facts["off_disk"] = [], []
    if not _is_dataarray(X):
        return facts
    for key, names in _FACT_COORDS.items():
        for name in names:
            if name in X.coords and X.coords[name].dims == ("video",):
                facts[key] = _scalar(X.coords[name].values[int(index)])
                break
    if "observed" in X.coords:
        flags = _frame_flags(X, index, "observed")
        if flags is not None:
            facts["unobserved"] = np.flatnonzero(~flags).tolist()
    if "off_disk" in X.coords:
        flags = _frame_flags(X, index, "off_disk")
        if flags is not None:
            facts["off_disk"] = np.flatnonzero(flags).tolist()
    return facts


def _minute(t):
    return str(np.datetime64(t, "m")).replace("T", " ")


def video_axes(X, index, shape):
    """What the page labels the video's axes with: each frame's time, each pixel's position.

    Parameters
    ----------
    X : xarray.DataArray or array-like
        The collection the video comes from.
    index : int
        Position of the video in ``X``.
    shape : tuple of 3 int
        ``(n_frames, height, width)`` of the video as served.

    Returns
    -------
    dict
        ``frame_times``: one ``"YYYY-MM-DD HH:MM"`` (UT) per frame, from a
        ``(video, frame)`` time coordinate when ``X`` has one, else from the
        video's ``time`` (frame 0) plus the frame number times the
        ``cadence_minutes`` attribute (96 when absent); None without a time.
        ``lat_axis`` / ``lon_axis``: the position of each pixel row / column
        (``lat0 + lat`` and ``lon0 + lon`` when the patch centre is known,
        ``axis_kind="carrington"``; the ``lat``/``lon`` offsets alone,
        ``"offset"``; pixel numbers, ``"pixel"``). ``cadence_minutes``.

    Examples
    --------
    >>> axes = video_axes(np.zeros((1, 2, 2, 3)), 0, (2, 2, 3))
    >>> axes["frame_times"], axes["lat_axis"], axes["axis_kind"]
    (None, [0.0, 1.0], 'pixel')
    """
    n_frames, height, width = (int(s) for s in shape)
    out = {"frame_times": None, "lat_axis": [float(i) for i in range(height)],
           "lon_axis": [float(i) for i in range(width)], "axis_kind": "pixel",
           "cadence_minutes": None}
    if not _is_dataarray(X):
        return out
    cadence = X.attrs.get("cadence_minutes", CADENCE_MINUTES)
    try:
        cadence = float(cadence)
    except (TypeError, ValueError):
        cadence = float("nan")
    if not (math.isfinite(cadence) and cadence > 0):
        raise ValueError(f"the videos' cadence_minutes attribute must be a positive number of "
                         f"minutes; got {X.attrs.get('cadence_minutes')!r}")
    out["cadence_minutes"] = cadence
    time = X.coords.get("time")
    if time is not None and np.issubdtype(time.dtype, np.datetime64):
        if time.dims == ("video", "frame") and time.shape[1] == n_frames:
            times = np.asarray(time.values[int(index)])
            out["frame_times"] = [None if np.isnat(t) else _minute(t) for t in times]
        elif time.dims == ("video",):
            t0 = np.asarray(time.values[int(index)]).astype("datetime64[s]")
            if not np.isnat(t0):
                step = np.timedelta64(int(round(cadence * 60)), "s")
                out["frame_times"] = [_minute(t0 + k * step) for k in range(n_frames)]
    offsets = {}
    for dim, size in (("lat", height), ("lon", width)):
        coord = X.coords.get(dim)
        if coord is not None and coord.dims == (dim,) and coord.size == size:
            offsets[dim] = np.asarray(coord.values, dtype=float)
    if len(offsets) == 2:
        centre = [X.coords[c].values[int(index)] if c in X.coords
                  and X.coords[c].dims == ("video",) else np.nan for c in ("lat0", "lon0")]
        centre = [float(c) for c in centre]
        known = all(math.isfinite(c) for c in centre)
        lat = offsets["lat"] + (centre[0] if known else 0.0)
        lon = offsets["lon"] + (centre[1] if known else 0.0)
        out.update(lat_axis=[round(float(x), 4) for x in lat],
                   lon_axis=[round(float(x), 4) for x in lon],
                   axis_kind="carrington" if known else "offset")
    return out
