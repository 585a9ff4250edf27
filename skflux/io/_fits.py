"""Readers for the authors' FITS layout and for sequences of images.

A video is a FITS cube of the patch, shape ``(frames, lat, lon)``, plus a
companion ``<name>.dt.fits`` holding, for every frame of the cube, the seconds
since the first frame. Frames are placed on the 96-minute grid at
``frame = floor(dt / 5760)``; grid frames without an observation are NaN and
marked ``observed=False`` (fill them with :class:`skflux.preprocessing.FillGaps`).
"""

import os
import warnings
from pathlib import Path

import numpy as np

from .._schema import (
    CADENCE_MINUTES,
    CADENCE_SECONDS,
    DIMS,
    OBSERVED,
    PIXEL_DEG,
    UNITS,
    VIDEO_DIM,
)
from .._validation import calendar_month

__all__ = ["find_fits_pairs", "frames_to_video", "read_fits_directory", "read_fits_video"]

_TIME_KEYS = ("DATE-OBS", "DATE_OBS", "T_OBS", "DATE-BEG")
_HEADER_COORDS = {"BMR_ID": "bmr_id", "LABEL": "label", "LAT0": "lat0", "LON0": "lon0"}


def _parse_time(value, where):
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    try:
        from astropy.time import Time

        if isinstance(value, Time):
            return np.datetime64(value.utc.datetime64, "ns")
    except ImportError:  # pragma: no cover - astropy is a hard dependency
        pass
    try:
        text = str(value).strip().rstrip("Z")
        return np.datetime64(text, "ns")
    except ValueError:
        pass
    try:
        from astropy.time import Time

        return np.datetime64(Time(value).utc.datetime64, "ns")
    except Exception as exc:
        raise ValueError(f"{where}: cannot parse time {value!r}: {exc}") from None


def _frame_data(frame):
    """The 2-D data of a frame: an array, or an image object with ``.data``."""
    data = getattr(frame, "data", frame)
    return np.asarray(data)


def frames_to_video(frames, times, *, source="frames", lat=None, lon=None, **coords):
    """Place a sequence of images on the 96-minute grid as a one-video DataArray.

    Parameters
    ----------
    frames : array-like of shape (n_obs, lat, lon), or sequence of images
        The observations in time order. Images may be 2-D arrays or objects
        with a ``.data`` attribute (``sunpy.map.Map``, astropy HDUs or
        ``NDData``).
    times : array-like of shape (n_obs,)
        Seconds since the first frame (numbers), or absolute times
        (datetime64, ISO strings or ``astropy.time.Time``); strictly
        increasing. Absolute times also give the default ``time`` coordinate.
    source : str, default="frames"
        Name used in error messages (e.g. the file name).
    lat, lon : array-like, optional
        Patch offsets in degrees; default: pixel centres at 1/6 degree,
        centred on 0.
    **coords
        Per-video coordinates (scalars): ``time``, ``label``, ``bmr_id``,
        ``lat0``, ``lon0``, ``true_label``, ... ``month`` and ``year`` default
        to those of ``time``.

    Returns
    -------
    video : xarray.DataArray
        Dims ``("video", "frame", "lat", "lon")`` with one video, float32
        Gauss; frame ``k`` holds the observation at ``floor(dt / 5760 s) ==
        k``; frames without one are NaN with ``observed`` False. The video
        ends at its last observation (pad it with
        :class:`skflux.preprocessing.PadFrames`).

    Raises
    ------
    TypeError
        If the frames are not numeric.
    ValueError
        On wrong dimensions, a number of times different from the number of
        frames, non-finite, negative, unsorted or duplicate times, two
        observations in the same 96-minute frame, or an all-NaN frame.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.io import frames_to_video
    >>> cube = np.ones((3, 4, 4))
    >>> video = frames_to_video(cube, [0, 5760, 3 * 5760], bmr_id="B1")
    >>> video.observed.values.tolist()
    [[True, True, False, True]]
    """
    cube = _as_cube(frames, source)
    seconds, start = _seconds_since_start(times, cube.shape[0], source)
    if start is not None:
        coords.setdefault("time", start)
    index = _grid_index(seconds, source)
    cube = cube.astype(np.float32)
    all_nan = np.isnan(cube).reshape(cube.shape[0], -1).all(axis=1)
    if all_nan.any():
        bad = np.flatnonzero(all_nan)
        raise ValueError(
            f"{source}: frames {bad[:10].tolist()} are entirely NaN; drop them and their "
            "timestamps (missing frames are filled by skflux.preprocessing.FillGaps)"
        )
    return _video_array(cube, index, source, lat, lon, coords)


def _as_cube(frames, source):
    """The observations as a numeric ``(n_obs, lat, lon)`` array (at least one frame)."""
    if hasattr(frames, "shape") and not isinstance(frames, (list, tuple)):
        cube = np.asarray(frames)
    else:
        try:
            cube = np.stack([_frame_data(f) for f in frames])
        except ValueError as exc:
            raise ValueError(f"{source}: frames have different shapes: {exc}") from None
    if cube.dtype == object or not np.issubdtype(cube.dtype, np.number) or np.iscomplexobj(cube):
        raise TypeError(f"{source}: frames must hold real numbers (Gauss); got dtype {cube.dtype}")
    if cube.ndim != 3:
        raise ValueError(
            f"{source}: expected a cube of shape (frames, lat, lon); got {cube.ndim}-D shape "
            f"{cube.shape}"
        )
    if cube.shape[0] == 0:
        raise ValueError(f"{source}: holds no frames")
    return cube


def _seconds_since_start(times, n_obs, source):
    """``(seconds since the first frame, datetime64 of the first frame or None)``."""
    t = times
    try:
        from astropy.time import Time

        if isinstance(t, Time):
            t = t.utc.datetime64
    except ImportError:  # pragma: no cover
        pass
    t = np.asarray(t)
    if t.ndim == 2 and 1 in t.shape:
        t = t.ravel()
    if t.ndim != 1:
        raise ValueError(f"{source}: times must be 1-D (one per frame); got shape {t.shape}")
    if t.shape[0] != n_obs:
        raise ValueError(
            f"{source}: {t.shape[0]} timestamps for {n_obs} frames; they must match one to one"
        )
    if t.dtype.kind in "MUSO":
        t = np.array([_parse_time(x, source) for x in t]) if t.dtype.kind != "M" else t
        t = t.astype("datetime64[ns]")
        if np.isnat(t).any():
            raise ValueError(f"{source}: time {int(np.flatnonzero(np.isnat(t))[0])} is NaT")
        return (t - t[0]) / np.timedelta64(1, "s"), t[0]
    if np.issubdtype(t.dtype, np.number) and t.dtype != bool:
        return t.astype(np.float64), None
    raise TypeError(f"{source}: times must be seconds or datetimes; got dtype {t.dtype}")


def _grid_index(seconds, source):
    """Frame of each observation on the 96-minute grid; one observation per frame."""
    if not np.all(np.isfinite(seconds)):
        raise ValueError(f"{source}: timestamp {int(np.flatnonzero(~np.isfinite(seconds))[0])} "
                         "is not finite")
    if np.any(seconds < 0):
        raise ValueError(f"{source}: negative timestamps (seconds since the first frame)")
    step = np.diff(seconds)
    if np.any(step == 0):
        i = int(np.flatnonzero(step == 0)[0])
        raise ValueError(f"{source}: duplicate timestamps {seconds[i]:g} s at frames {i} and "
                         f"{i + 1}")
    if np.any(step < 0):
        i = int(np.flatnonzero(step < 0)[0])
        raise ValueError(
            f"{source}: timestamps are not sorted: {seconds[i]:g} s at frame {i} is followed by "
            f"{seconds[i + 1]:g} s"
        )
    index = np.floor(seconds / CADENCE_SECONDS).astype(np.int64)
    same = np.flatnonzero(np.diff(index) == 0)
    if same.size:
        i = int(same[0])
        raise ValueError(
            f"{source}: frames {i} and {i + 1} ({seconds[i]:g} s and {seconds[i + 1]:g} s) fall "
            f"in the same {CADENCE_MINUTES}-minute frame {index[i]}; keep one observation per "
            "frame"
        )
    return index


def _video_array(cube, index, source, lat, lon, coords):
    """The one-video DataArray: observations at ``index``, NaN and unobserved elsewhere."""
    import xarray as xr

    n_frames = int(index[-1]) + 1
    data = np.full((1, n_frames) + cube.shape[1:], np.nan, dtype=np.float32)
    data[0, index] = cube
    observed = np.zeros((1, n_frames), dtype=bool)
    observed[0, index] = True
    n_lat, n_lon = cube.shape[1:]
    lat = (np.arange(n_lat) - (n_lat - 1) / 2.0) * PIXEL_DEG if lat is None else np.asarray(lat)
    lon = (np.arange(n_lon) - (n_lon - 1) / 2.0) * PIXEL_DEG if lon is None else np.asarray(lon)

    attrs = {"cadence_minutes": CADENCE_MINUTES, "units": UNITS}
    for key in ("instrument", "source"):
        if key in coords:
            attrs[key] = coords.pop(key)
    attrs.setdefault("source", source)
    if "time" in coords:
        coords["time"] = _parse_time(coords["time"], source)
        tt = coords["time"]
        coords.setdefault("month", int(calendar_month(tt)))
        coords.setdefault("year", int(tt.astype("datetime64[Y]").astype(int) + 1970))
    video_coords = {name: (VIDEO_DIM, [value]) for name, value in coords.items()}
    return xr.DataArray(
        data,
        dims=DIMS,
        coords={"frame": np.arange(n_frames), "lat": lat, "lon": lon,
                OBSERVED: ((VIDEO_DIM, "frame"), observed), **video_coords},
        attrs=attrs,
        name="field",
    )


def _dt_path_for(cube_path):
    name = cube_path.name
    for ext in (".fits.gz", ".fits", ".fts", ".fit"):
        if name.endswith(ext):
            return cube_path.with_name(name[: -len(ext)] + ".dt" + ext)
    return cube_path.with_name(name + ".dt.fits")


def _read_fits_data(path):
    from astropy.io import fits

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*truncated")
            with fits.open(path, memmap=False) as hdul:
                for hdu in hdul:
                    if hdu.data is not None:
                        return np.array(hdu.data), hdu.header, hdul[0].header
    except (OSError, ValueError, TypeError, UserWarning) as exc:
        raise ValueError(f"{path}: cannot be read as FITS (corrupt or truncated?): {exc}") \
            from None
    raise ValueError(f"{path}: holds no data array")


def read_fits_video(cube_path, dt_path=None, **coords):
    """Read one video in the authors' FITS layout onto the 96-minute grid.

    Parameters
    ----------
    cube_path : str or path-like
        FITS file whose first data HDU is the patch cube, shape
        ``(frames, lat, lon)`` (FITS axes ``NAXIS3, NAXIS2, NAXIS1``), in Gauss.
    dt_path : str or path-like, optional
        FITS file of seconds since the first frame, one per cube frame.
        Default: the cube's name with ``.fits`` replaced by ``.dt.fits``.
    **coords
        Per-video coordinates (``time``, ``label``, ``bmr_id``, ``lat0``,
        ``lon0``, ...) and the ``instrument`` attribute. They override the
        cube header's ``DATE-OBS``/``DATE_OBS``/``T_OBS`` (time of the first
        frame), ``BMR_ID``, ``LABEL``, ``LAT0``, ``LON0`` and ``INSTRUME``.
        ``bmr_id`` defaults to the file's stem. Required coordinates that
        are neither given nor in the header are left out (add them before
        writing with :class:`VideoWriter`, which checks them).

    Returns
    -------
    video : xarray.DataArray
        One video, dims ``("video", "frame", "lat", "lon")``, float32; frame
        ``floor(dt / 5760)`` holds each observation, unobserved frames are
        NaN with ``observed`` False. The ``source`` attribute names the file.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        Naming the file: unreadable FITS, a cube that is not 3-D, a number of
        timestamps different from the number of frames, unsorted, duplicate,
        negative or non-finite timestamps, two observations in one frame, or
        an all-NaN frame.
    TypeError
        If the cube is not numeric.

    See Also
    --------
    read_fits_directory : read every cube of a folder.
    frames_to_video : the same from arrays or image objects.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from skflux.io import read_fits_video
    >>> folder = tempfile.mkdtemp()
    >>> fits.writeto(os.path.join(folder, "bmr1.fits"), np.zeros((2, 4, 4), "f4"))
    >>> fits.writeto(os.path.join(folder, "bmr1.dt.fits"), np.array([0.0, 2 * 5760.0]))
    >>> video = read_fits_video(os.path.join(folder, "bmr1.fits"), time="2001-05-01T00:00")
    >>> video.sizes["frame"], video.bmr_id.item(), video.month.item()
    (3, 'bmr1', 5)
    """
    cube_path = Path(os.fspath(cube_path))
    dt_path = _dt_path_for(cube_path) if dt_path is None else Path(os.fspath(dt_path))
    cube, header, primary = _read_fits_data(cube_path)
    dt, _, _ = _read_fits_data(dt_path)
    if cube.ndim != 3:
        raise ValueError(
            f"{cube_path}: expected a cube of shape (frames, lat, lon); got {cube.ndim}-D shape "
            f"{cube.shape}"
        )
    dt = np.asarray(dt)
    if dt.ndim == 2 and 1 in dt.shape:
        dt = dt.ravel()
    if dt.ndim != 1:
        raise ValueError(f"{dt_path}: expected a 1-D array of seconds; got shape {dt.shape}")
    if dt.shape[0] != cube.shape[0]:
        raise ValueError(
            f"{dt_path}: {dt.shape[0]} timestamps for the {cube.shape[0]} frames of "
            f"{cube_path}; they must match one to one"
        )
    if not np.issubdtype(dt.dtype, np.number):
        raise TypeError(f"{dt_path}: timestamps must be numbers of seconds; got {dt.dtype}")
    found = {}
    for hdr in (primary, header):
        for key in _TIME_KEYS:
            if key in hdr and "time" not in found and str(hdr[key]).strip():
                found["time"] = hdr[key]
        for key, name in _HEADER_COORDS.items():
            if key in hdr:
                found[name] = hdr[key]
        if "INSTRUME" in hdr:
            found["instrument"] = hdr["INSTRUME"]
    found["bmr_id"] = found.get("bmr_id", cube_path.name.split(".")[0])
    found.update(coords)
    return frames_to_video(cube, dt.astype(np.float64), source=str(cube_path), **found)


def find_fits_pairs(directory, pattern="*.fits"):
    """List the (cube, timestamps) file pairs of a folder in the authors' layout.

    Parameters
    ----------
    directory : str or path-like
        Folder holding ``<name>.fits`` cubes and ``<name>.dt.fits`` timestamps.
    pattern : str, optional
        Glob pattern of the cubes, ``"*.fits"`` by default (``.dt.`` files are excluded).

    Returns
    -------
    pairs : list of (pathlib.Path, pathlib.Path)
        Sorted by cube name.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If a cube has no timestamps file or a timestamps file has no cube
        (all of them are named), or no cube is found.
    """
    directory = Path(os.fspath(directory))
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder")
    files = sorted(directory.glob(pattern))
    cubes = [f for f in files if ".dt." not in f.name]
    dts = {f for f in directory.glob(pattern.replace(".fits", ".dt.fits")) if ".dt." in f.name}
    pairs = [(c, _dt_path_for(c)) for c in cubes]
    lacking = [c.name for c, d in pairs if not d.exists()]
    orphans = sorted(d.name for d in dts - {d for _, d in pairs})
    problems = []
    if lacking:
        problems.append(f"cubes without a .dt.fits timestamps file: {lacking}")
    if orphans:
        problems.append(f"timestamps files without a cube: {orphans}")
    if problems:
        raise ValueError(f"{directory}: " + "; ".join(problems))
    if not pairs:
        raise ValueError(f"{directory}: no FITS cube matches {pattern!r}")
    return pairs


def read_fits_directory(directory, *, pattern="*.fits", coords=None, verbose=False):
    """Read every video of a folder in the authors' FITS layout, one at a time.

    Parameters
    ----------
    directory : str or path-like
        Folder of ``<name>.fits`` cubes with ``<name>.dt.fits`` timestamps.
    pattern : str, optional
        Glob pattern of the cubes, ``"*.fits"`` by default.
    coords : mapping or callable, optional
        Per-video coordinates: a mapping from the file stem (the name before
        the first dot) to a dict of coordinates, or a callable taking the
        cube path and returning such a dict. With a mapping, every stem must
        be present.
    verbose : bool, default=False
        Show a progress bar.

    Yields
    ------
    video : xarray.DataArray
        One video at a time, as returned by :func:`read_fits_video`.

    Raises
    ------
    ValueError
        As :func:`find_fits_pairs` and :func:`read_fits_video`, and when the
        ``coords`` mapping lacks a file's stem.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from skflux.io import read_fits_directory
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("a", "b"):
    ...     fits.writeto(os.path.join(folder, f"{name}.fits"), np.zeros((2, 4, 4), "f4"))
    ...     fits.writeto(os.path.join(folder, f"{name}.dt.fits"), np.array([0.0, 5760.0]))
    >>> [v.bmr_id.item() for v in read_fits_directory(folder, coords={"a": {"label": 1},
    ...                                                                "b": {"label": 0}})]
    ['a', 'b']
    """
    pairs = find_fits_pairs(directory, pattern)
    if isinstance(coords, dict):
        stems = [c.name.split(".")[0] for c, _ in pairs]
        lacking = [s for s in stems if s not in coords]
        if lacking:
            raise ValueError(f"{directory}: coords has no entry for {lacking[:10]}")
    iterator = pairs
    if verbose:
        from tqdm.auto import tqdm

        iterator = tqdm(pairs, desc="reading FITS videos", unit="video")
    for cube, dt in iterator:
        extra = {}
        if callable(coords):
            extra = dict(coords(cube))
        elif coords is not None:
            extra = dict(coords[cube.name.split(".")[0]])
        yield read_fits_video(cube, dt, **extra)
