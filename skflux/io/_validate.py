"""Check a DataArray of videos against the data model of :mod:`skflux._schema`."""

import numpy as np

from .._schema import (
    DIMS,
    FRAME_DIM,
    LAT_DIM,
    LON_DIM,
    OBSERVED,
    REQUIRED_ATTRS,
    REQUIRED_VIDEO_COORDS,
    UNITS,
    VIDEO_DIM,
)
from .._validation import _is_dataarray, calendar_month, video_name

__all__ = ["VideoSchemaError", "validate_videos"]


class VideoSchemaError(ValueError, TypeError):
    """A DataArray of videos does not follow the skflux data model.

    Subclasses both :class:`ValueError` and :class:`TypeError`, so code that
    catches either keeps working; the message lists every problem found.
    """


def _first_bad(da, bad, limit=3):
    idx = np.flatnonzero(bad)
    names = ", ".join(video_name(da, int(i)) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"{names}{more}"


def _is_int_like(values):
    values = np.asarray(values)
    if values.dtype == bool or np.issubdtype(values.dtype, np.integer):
        return True
    if np.issubdtype(values.dtype, np.floating):
        finite = np.isfinite(values)
        return bool(finite.all() and np.all(np.mod(values, 1) == 0))
    return False


def _check_video_coord_dims(da, name, problems):
    coord = da.coords[name]
    if coord.dims != (VIDEO_DIM,):
        problems.append(
            f"coordinate {name!r} must have dims ('video',) (one value per video); "
            f"got {coord.dims}"
        )
        return None
    return np.asarray(coord.values)


def _check_binary(da, name, values, problems):
    if not _is_int_like(values):
        problems.append(f"coordinate {name!r} must hold 0/1 integers; got dtype {values.dtype}")
        return
    bad = (values != 0) & (values != 1)
    if bad.any():
        problems.append(
            f"coordinate {name!r} must be 0 or 1; got {values[bad][0].item()!r} at "
            f"{_first_bad(da, bad)}"
        )


def validate_videos(da, *, require_truth=False):
    """Check that ``da`` follows the skflux video data model.

    The data model (names in :mod:`skflux._schema`, described in the data
    guide): the field in Gauss with dims ``("video", "frame", "lat", "lon")``;
    coordinates ``frame``, ``lat``, ``lon``; per video ``time``, ``month``,
    ``year`` (both agreeing with ``time``), ``label`` (0/1), ``bmr_id``,
    ``lat0``, ``lon0``, optionally ``true_label`` (0/1), ``emergence_frame``
    (-1 or a frame) and ``mislabel_reason``; a boolean ``observed`` (video,
    frame); attributes ``cadence_minutes``, ``units`` ("G"), ``instrument``.
    Only metadata is inspected: a lazy (dask-backed) DataArray is not loaded.

    Parameters
    ----------
    da : xarray.DataArray
        The videos.
    require_truth : bool, default=False
        Also require the ground-truth coordinates ``true_label`` and
        ``emergence_frame`` (simulated data).

    Returns
    -------
    da : xarray.DataArray
        The input, unchanged.

    Raises
    ------
    VideoSchemaError
        A ValueError and TypeError listing every problem found (missing
        coordinates, dims, dtypes, values out of range ...) and the videos at fault.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from skflux.io import validate_videos
    >>> da = xr.DataArray(np.zeros((1, 2, 3, 3), "float32"), dims=("video", "frame", "lat", "lon"))
    >>> validate_videos(da)
    Traceback (most recent call last):
    ...
    skflux.io._validate.VideoSchemaError: the videos do not follow the skflux data model:
      - missing coordinates: 'frame', 'lat', 'lon', 'time', 'month', 'year', ...
    ...
    """
    if not _is_dataarray(da):
        raise VideoSchemaError(
            f"expected an xarray.DataArray of videos with dims {DIMS}; got {type(da).__name__}"
        )
    problems = []
    _check_layout(da, require_truth, problems)
    _check_index_coords(da, problems)
    if VIDEO_DIM in da.dims:
        t = _check_time(da, problems)
        _check_calendar(da, t, problems)
        for name in ("label", "true_label"):
            if name in da.coords:
                v = _check_video_coord_dims(da, name, problems)
                if v is not None:
                    _check_binary(da, name, v, problems)
        _check_emergence_frame(da, problems)
        _check_centres(da, problems)
        for name in ("bmr_id", "mislabel_reason"):
            if name in da.coords:
                _check_video_coord_dims(da, name, problems)
    _check_observed(da, problems)
    _check_attrs(da, problems)
    if problems:
        raise VideoSchemaError(
            "the videos do not follow the skflux data model:\n  - " + "\n  - ".join(problems)
        )
    return da


def _check_layout(da, require_truth, problems):
    """Dims, dtype and the coordinates that must be there."""
    if tuple(da.dims) != DIMS:
        hint = ""
        if sorted(da.dims) == sorted(DIMS):
            hint = " (only the order differs: use da.transpose('video', 'frame', 'lat', 'lon'))"
        problems.append(f"dims are {tuple(da.dims)}; expected {DIMS}{hint}")
    if not np.issubdtype(da.dtype, np.floating):
        problems.append(
            f"the field must be floating point (Gauss); got dtype {da.dtype} "
            "(convert with da.astype('float32'))"
        )
    required = (FRAME_DIM, LAT_DIM, LON_DIM, *REQUIRED_VIDEO_COORDS, OBSERVED)
    wanted = required + (("true_label", "emergence_frame") if require_truth else ())
    missing = [c for c in wanted if c not in da.coords]
    if missing:
        problems.append("missing coordinates: " + ", ".join(repr(c) for c in missing))


def _check_index_coords(da, problems):
    """``frame``, ``lat``, ``lon``: numeric, along their own dim; frames 0, 1, ..."""
    shape = dict(zip(da.dims, da.shape))
    for name in (FRAME_DIM, LAT_DIM, LON_DIM):
        if name not in da.coords or name not in shape:
            continue
        c = da.coords[name]
        if c.dims != (name,):
            problems.append(f"coordinate {name!r} must have dims ({name!r},); got {c.dims}")
        elif not np.issubdtype(c.dtype, np.number):
            problems.append(f"coordinate {name!r} must be numeric; got dtype {c.dtype}")
        elif name == FRAME_DIM:
            frames = np.asarray(c.values)
            if not np.array_equal(frames, np.arange(shape[FRAME_DIM])):
                problems.append(
                    f"coordinate 'frame' must be 0, 1, ..., {shape[FRAME_DIM] - 1} "
                    f"(frames on the regular cadence grid); got {frames[:5].tolist()}..."
                )


def _check_time(da, problems):
    """The ``time`` values when they are valid datetimes, else None."""
    if "time" not in da.coords:
        return None
    t = _check_video_coord_dims(da, "time", problems)
    if t is None:
        return None
    if not np.issubdtype(t.dtype, np.datetime64):
        problems.append(f"coordinate 'time' must be datetime64 (time of frame 0); got {t.dtype}")
        return None
    if np.isnat(t).any():
        problems.append(f"coordinate 'time' is NaT for {_first_bad(da, np.isnat(t))}")
        return None
    return t


def _check_calendar(da, t, problems):
    """``month`` (1-12) and ``year``: integers that agree with ``time``."""
    for name, lo, hi, from_time in (
        ("month", 1, 12, calendar_month),
        ("year", None, None, lambda t: t.astype("datetime64[Y]").astype(int) + 1970),
    ):
        if name not in da.coords:
            continue
        v = _check_video_coord_dims(da, name, problems)
        if v is None:
            continue
        if not _is_int_like(v) or v.dtype == bool:
            problems.append(f"coordinate {name!r} must hold integers; got dtype {v.dtype}")
            continue
        if lo is not None:
            bad = (v < lo) | (v > hi)
            if bad.any():
                problems.append(
                    f"coordinate {name!r} must lie in {lo}-{hi}; got {v[bad][0].item()!r} at "
                    f"{_first_bad(da, bad)}"
                )
                continue
        if t is not None:
            bad = v != from_time(t)
            if bad.any():
                problems.append(
                    f"coordinate {name!r} disagrees with the {name} of 'time' at "
                    f"{_first_bad(da, bad)}"
                )


def _check_emergence_frame(da, problems):
    """``emergence_frame``: -1 (none) or a frame index."""
    if "emergence_frame" not in da.coords:
        return
    v = _check_video_coord_dims(da, "emergence_frame", problems)
    if v is None:
        return
    if not _is_int_like(v) or v.dtype == bool:
        problems.append(f"coordinate 'emergence_frame' must hold integers; got dtype {v.dtype}")
        return
    if FRAME_DIM in da.dims:
        n_frames = da.sizes[FRAME_DIM]
        bad = (v < -1) | (v >= n_frames)
        if bad.any():
            problems.append(
                "coordinate 'emergence_frame' must be -1 (none) or a frame index "
                f"0-{n_frames - 1}; got {v[bad][0].item()!r} at {_first_bad(da, bad)}"
            )


def _check_centres(da, problems):
    """``lat0``/``lon0``: finite degrees within ±90 / ±360."""
    for name, limit in (("lat0", 90.0), ("lon0", 360.0)):
        if name not in da.coords:
            continue
        v = _check_video_coord_dims(da, name, problems)
        if v is None:
            continue
        if not np.issubdtype(v.dtype, np.number) or v.dtype == bool:
            problems.append(f"coordinate {name!r} must be numeric; got dtype {v.dtype}")
            continue
        bad = ~np.isfinite(v) | (np.abs(v) > limit)
        if bad.any():
            problems.append(
                f"coordinate {name!r} must be finite degrees within ±{limit:g}; got "
                f"{v[bad][0].item()!r} at {_first_bad(da, bad)}"
            )


def _check_observed(da, problems):
    """``observed``: boolean, dims (video, frame)."""
    if OBSERVED not in da.coords:
        return
    obs = da.coords[OBSERVED]
    if obs.dims != (VIDEO_DIM, FRAME_DIM):
        problems.append(f"coordinate 'observed' must have dims ('video', 'frame'); got {obs.dims}")
    elif obs.dtype != bool:
        problems.append(f"coordinate 'observed' must be boolean; got dtype {obs.dtype}")


def _check_attrs(da, problems):
    """``cadence_minutes`` (positive), ``units`` ("G"), ``instrument``."""
    missing_attrs = [a for a in REQUIRED_ATTRS if a not in da.attrs]
    if missing_attrs:
        problems.append("missing attributes: " + ", ".join(repr(a) for a in missing_attrs))
    if "units" in da.attrs and da.attrs["units"] != UNITS:
        problems.append(f"attribute 'units' must be {UNITS!r} (Gauss); got {da.attrs['units']!r}")
    if "cadence_minutes" in da.attrs:
        cad = da.attrs["cadence_minutes"]
        if not (np.isscalar(cad) and np.issubdtype(type(cad), np.number) and cad > 0):
            problems.append(f"attribute 'cadence_minutes' must be a positive number; got {cad!r}")
