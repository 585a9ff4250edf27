"""Patch videos cut from full-disk line-of-sight magnetograms (sunpy + reproject).

A patch is a plate-carrée grid in Carrington coordinates (``size`` x ``size``
pixels of ``pixel_deg`` degrees, centred on Carrington ``lon0``, ``lat0``)
that follows a region across the disk at the Carrington rate. Every frame is
one full-disk map reprojected onto that grid:

* coordinates come from sunpy/astropy: the target WCS is built by
  :func:`sunpy.map.make_fitswcs_header` (``CAR`` projection, ``CRVAL2 = 0`` so
  the grid is a true longitude/latitude grid, not an oblique one), observer
  and time from each map, and the solar radius of each map;
* resampling is :func:`reproject.reproject_adaptive` (DeForest 2004
  anti-aliased resampling, Hann kernel) with ``conserve_flux=False`` on the
  field in Gauss. The field is a flux *density* (G = Mx cm^-2): averaging it
  over each output pixel's footprint on the plane of the sky is what
  conserves the magnetic flux, at any ratio of input to output pixel size
  (down-sampling HMI's 0.5" pixels, up-sampling MDI's 2" pixels, or the
  strongly foreshortened footprints near the limb). ``conserve_flux=True``
  rescales by the pixel-area ratio, the right choice for a per-pixel quantity
  such as Mx per pixel: converting to Mx per pixel, conserving, and dividing
  by the output footprint gives back the same numbers. The test suite checks
  the patch's signed and unsigned flux against the flux summed over the
  map's own pixels in the same Carrington box (within 2 % on HMI). The Hann
  kernel is used rather than the Gaussian one: it is 2-3x faster and, on HMI,
  keeps the unsigned flux closer to the map's (the Gaussian blurs over a few
  output pixels). :func:`reproject.reproject_exact` was not chosen: it
  transforms the corners of every *input* pixel in the patch's footprint
  (~10^5 per patch on a 4096^2 HMI map, against 8,100 output pixels here)
  and is undefined for input pixels straddling the limb.
  ``bad_value_mode="strict"``: an output pixel touching an off-disk (NaN)
  input pixel is NaN. The coordinate round trip check is off
  (``roundtrip_coords=False``): far-side pixels, the only ones it would
  catch, are removed by the limb cut below.

Pixels whose cosine of the heliocentric angle ``mu`` (the cosine between the
local vertical and the line of sight to the observer) is below ``mu_min``
(default 0.1, about 84 degrees from disk centre) are NaN: the limb cut. Far
side pixels (``mu <= 0``) are always NaN.
"""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._schema import (
    CADENCE_MINUTES,
    DIMS,
    MU_MIN,
    N_FRAMES,
    OBSERVED,
    PATCH_SIZE,
    PIXEL_DEG,
    UNITS,
    VIDEO_DIM,
)
from .._validation import calendar_month

__all__ = ["MU_MIN", "TO_HMI", "find_maps", "patch_video", "patch_wcs", "write_patch_videos"]

#: Factors that bring a line-of-sight magnetogram to HMI's scale (``scale="to_hmi"``):
#: B_HMI ~ factor x B_instrument, full-disk averages from Liu, Hoeksema, Bertello, Petrie
#: & Pevtsov (2025, Solar Phys. 300, 8: MDI 0.701, GONG 1.438), consistent with Liu et al.
#: (2012, Solar Phys. 279, 295: MDI reads about 1.4 times HMI). The true factor varies
#: with field strength and centre-to-limb distance; these are first-order corrections.
TO_HMI = {"HMI": 1.0, "MDI": 0.701, "GONG": 1.438}
_REPROJECTION = ("reproject.reproject_adaptive(kernel='hann', conserve_flux=False, "
                 "boundary_mode='strict', bad_value_mode='strict')")


# --------------------------------------------------------------------------------------- maps
@dataclass
class _MapInfo:
    """What is known of a map before its data are read: time, observer, name."""

    item: object  # path or sunpy map
    where: str  # file name or "maps[i]" for error messages
    time: np.datetime64
    meta_map: object  # a sunpy map whose metadata (not data) are valid


def _sunpy_map(source, where):
    """``sunpy.map.Map(source)`` with errors that name the file."""
    import sunpy.map

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smap = sunpy.map.Map(source)
    except Exception as exc:  # sunpy raises many types for a bad file
        raise ValueError(f"{where}: cannot be read as a FITS magnetogram (corrupt or "
                         f"truncated?): {type(exc).__name__}: {exc}") from None
    if isinstance(smap, list):
        raise ValueError(f"{where}: holds {len(smap)} images; give one map per file")
    return smap


def _header_map(path, where):
    """A sunpy map of the file's header with a 1x1 dummy array: its date/observer, not data."""
    from astropy.io import fits

    if not path.exists():
        raise FileNotFoundError(f"{where}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                header = None
                for hdu in hdul:
                    if hdu.header.get("NAXIS", 0) >= 2 or isinstance(hdu, fits.CompImageHDU):
                        header = hdu.header.copy()
                        break
    except Exception as exc:
        raise ValueError(f"{where}: cannot be read as FITS (corrupt or truncated?): "
                         f"{type(exc).__name__}: {exc}") from None
    if header is None:
        raise ValueError(f"{where}: holds no image (corrupt or truncated?)")
    return _sunpy_map((np.zeros((1, 1), dtype=np.float32), header), where)


def _map_time(smap, where):
    try:
        return np.datetime64(smap.reference_date.utc.isot, "ns")
    except Exception as exc:
        raise ValueError(f"{where}: no observation time in the header (DATE-OBS/T_OBS): "
                         f"{exc}") from None


def _map_infos(maps):
    """Time and metadata of every map, in the given order, checked for time order."""
    import sunpy.map

    if isinstance(maps, (str, os.PathLike)) or isinstance(maps, sunpy.map.GenericMap):
        maps = [maps]
    infos = []
    for i, item in enumerate(maps):
        if isinstance(item, sunpy.map.GenericMap):
            where = f"maps[{i}] ({item.name})"
            meta_map = item
        elif isinstance(item, (str, os.PathLike)):
            path = Path(os.fspath(item))
            where = str(path)
            meta_map = _header_map(path, where)
            item = path
        else:
            raise TypeError(f"maps[{i}]: expected a FITS path or a sunpy.map.GenericMap; got "
                            f"{type(item).__name__}")
        _gauss_factor(meta_map, where)
        infos.append(_MapInfo(item, where, _map_time(meta_map, where), meta_map))
    if not infos:
        raise ValueError("maps is empty: give at least one full-disk magnetogram")
    for a, b in zip(infos[:-1], infos[1:]):
        if b.time <= a.time:
            what = "the same time as" if b.time == a.time else "earlier than"
            raise ValueError(
                f"maps are not in time order: {b.where} ({b.time}) is {what} {a.where} "
                f"({a.time}); sort them by observation time and drop duplicates"
            )
    return infos


def _gauss_factor(smap, where):
    """Factor from the map's unit to Gauss; refuses maps without a magnetic-field unit."""
    import astropy.units as u

    unit = smap.unit
    if unit is None:
        raise ValueError(
            f"{where}: no line-of-sight field unit (BUNIT is missing); skflux needs a "
            "magnetogram in Gauss or Mx/cm^2 (set BUNIT='Gauss' if that is what it holds)"
        )
    try:
        return float(unit.to(u.G))
    except u.UnitConversionError:
        raise ValueError(
            f"{where}: unit {unit} is not a magnetic field (BUNIT={smap.meta.get('bunit')!r}); "
            "skflux needs a line-of-sight magnetogram in Gauss or Mx/cm^2, not an intensity or "
            "Doppler image"
        ) from None


@dataclass
class _Prepared:
    """A map read once: field in Gauss and the WCS, shared by every patch of that time."""

    data: np.ndarray
    wcs: object
    observer: object
    date: object
    rsun: object
    where: str


def _instrument_scale(scale, instrument, where):
    """The factor applied to a map's field: ``scale`` itself, or its ``TO_HMI`` factor."""
    if isinstance(scale, str):
        if scale != "to_hmi":
            raise ValueError(f"scale must be a positive number or 'to_hmi'; got {scale!r}")
        name = str(instrument).upper()
        for key, factor in TO_HMI.items():
            if key in name:
                return factor
        raise ValueError(
            f"{where}: no HMI scale factor is known for instrument {instrument!r} (known: "
            f"{sorted(TO_HMI)}); pass scale=<number> with the factor you trust"
        )
    if (not isinstance(scale, (int, float, np.integer, np.floating)) or isinstance(scale, bool)
            or not np.isfinite(scale) or scale <= 0):
        raise ValueError(f"scale must be a positive number or 'to_hmi'; got {scale!r}")
    return float(scale)


def _prepare(info, scale=1.0):
    """Read a map's data (once) and keep what the reprojection needs."""
    import sunpy.map

    smap = info.item
    if not isinstance(smap, sunpy.map.GenericMap):
        smap = _sunpy_map(info.item, info.where)
    factor = _gauss_factor(smap, info.where) * _instrument_scale(scale, smap.instrument,
                                                                  info.where)
    data = np.asarray(smap.data, dtype=np.float64)
    if factor != 1.0:
        data = data * factor
    if data.ndim != 2:
        raise ValueError(f"{info.where}: expected a 2-D magnetogram; got shape {data.shape}")
    try:
        observer = smap.observer_coordinate
    except Exception as exc:
        raise ValueError(f"{info.where}: no observer position in the header: {exc}") from None
    return _Prepared(data, smap.wcs, observer, smap.reference_date, smap.rsun_meters, info.where)


# ------------------------------------------------------------------------------------ geometry
def _carrington(observer, date, rsun):
    from sunpy.coordinates import frames

    return frames.HeliographicCarrington(observer=observer, obstime=date, rsun=rsun)


def _mu(coords, observer):
    """Cosine between the local vertical and the direction to the observer (finite distance)."""
    from sunpy.coordinates import frames

    hcc = coords.transform_to(frames.Heliocentric(observer=observer, obstime=observer.obstime))
    p = np.stack([hcc.x.to_value("m"), hcc.y.to_value("m"), hcc.z.to_value("m")], axis=-1)
    d = observer.radius.to_value("m")
    to_obs = np.array([0.0, 0.0, d]) - p
    n = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return np.sum(n * to_obs, axis=-1) / np.linalg.norm(to_obs, axis=-1)


def patch_wcs(lon0, lat0, *, size, pixel_deg, observer, date, rsun):
    """The plate-carrée Carrington WCS of a patch, built by sunpy.

    ``CRVAL2`` is 0 and the reference pixel is shifted by ``-lat0 / pixel_deg``
    so that the ``CAR`` grid is a regular longitude/latitude grid (a ``CAR``
    projection with ``CRVAL2 != 0`` is oblique in FITS WCS).
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.wcs import WCS
    from sunpy.map import make_fitswcs_header

    frame = _carrington(observer, date, rsun)
    centre = (size - 1) / 2.0
    header = make_fitswcs_header(
        (size, size),
        SkyCoord(lon0 * u.deg, 0 * u.deg, frame=frame),
        reference_pixel=[centre, centre - lat0 / pixel_deg] * u.pix,
        scale=[pixel_deg, pixel_deg] * u.deg / u.pix,
        projection_code="CAR",
    )
    return WCS(header)


def _offsets(size, pixel_deg):
    return (np.arange(size) - (size - 1) / 2.0) * pixel_deg


def _reproject_patch(prep, lon0, lat0, size, pixel_deg, mu_min, radial):
    """One frame: the map reprojected on the patch grid, NaN beyond the limb cut.

    Returns ``(frame, mu_centre)``; ``frame`` is None when no pixel of the patch
    is inside the limb cut.
    """
    from reproject import reproject_adaptive

    out_wcs = patch_wcs(lon0, lat0, size=size, pixel_deg=pixel_deg, observer=prep.observer,
                        date=prep.date, rsun=prep.rsun)
    # the pixel centres (from the patch WCS) and the patch centre, in one sunpy transform
    yy, xx = np.mgrid[:size, :size].astype(float)
    centre = (size - 1) / 2.0
    grid = out_wcs.pixel_to_world(np.append(xx, centre), np.append(yy, centre))
    mu = _mu(grid, prep.observer)
    mu0, mu = float(mu[-1]), mu[:-1].reshape(size, size)
    visible = mu >= mu_min
    if not visible.any():
        return None, mu0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = reproject_adaptive(
            (prep.data, prep.wcs), out_wcs, shape_out=(size, size),
            conserve_flux=False, kernel="hann", boundary_mode="strict",
            bad_value_mode="strict", roundtrip_coords=False, return_footprint=False,
        )
    out = np.asarray(out, dtype=np.float64)
    out[~visible] = np.nan
    if radial:
        out = out / np.where(visible, mu, np.nan)
    return out.astype(np.float32), mu0


# ------------------------------------------------------------------------------------- windows
def _cadence_ns(cadence_minutes):
    if (not isinstance(cadence_minutes, (int, float, np.integer, np.floating))
            or isinstance(cadence_minutes, bool) or not cadence_minutes > 0):
        raise ValueError(f"cadence_minutes must be a positive number; got {cadence_minutes!r}")
    return np.timedelta64(int(round(cadence_minutes * 60e9)), "ns")


def _assign(times, start, n_frames, cadence):
    """For each grid step, the index of the nearest map within half a cadence, or -1.

    Step ``k`` is at ``start + k * cadence`` and owns the maps in
    ``[t_k - cadence/2, t_k + cadence/2)``; of those, the nearest is used (the
    earlier one on a tie).
    """
    times = np.asarray(times, dtype="datetime64[ns]")
    rel = (times - np.datetime64(start, "ns")).astype(np.int64)
    cad = int(cadence.astype("timedelta64[ns]").astype(np.int64))
    step = np.floor((rel + cad // 2) / cad).astype(np.int64)
    chosen = np.full(n_frames, -1, dtype=np.int64)
    best = np.full(n_frames, np.inf)
    for i, k in enumerate(step):
        if 0 <= k < n_frames:
            dist = abs(int(rel[i]) - int(k) * cad)
            if dist < best[k]:
                best[k], chosen[k] = dist, i
    return chosen


def _centres_mu(info, lon0, lat0):
    """``mu`` of several patch centres in one map (from its header only)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    m = info.meta_map
    try:
        observer = m.observer_coordinate
    except Exception as exc:
        raise ValueError(f"{info.where}: no observer position in the header: {exc}") from None
    frame = _carrington(observer, m.reference_date, m.rsun_meters)
    coords = SkyCoord(np.asarray(lon0, float) * u.deg, np.asarray(lat0, float) * u.deg,
                      frame=frame)
    return np.atleast_1d(_mu(coords, observer))


#: Longitudes are taken modulo 360 within +-720 degrees (two turns); beyond, a typo.
_LON_LIMIT = 720.0


def _check_centre(lon0, lat0, where):
    for name, v in (("lon0", lon0), ("lat0", lat0)):
        if (not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool)
                or not np.isfinite(v)):
            raise ValueError(f"{where}: {name} must be a finite number of degrees; got {v!r}")
    if not -90.0 <= lat0 <= 90.0:
        raise ValueError(f"{where}: latitude lat0={lat0} is beyond +-90 degrees; give the "
                         "Carrington latitude of the region in degrees")
    if not -_LON_LIMIT <= lon0 <= _LON_LIMIT:  # taken modulo 360 within these bounds
        raise ValueError(f"{where}: longitude lon0={lon0} is outside -{_LON_LIMIT:g}..."
                         f"{_LON_LIMIT:g} degrees; give the Carrington longitude of the region "
                         "in degrees (0-360)")


def _check_grid(n_frames, size, pixel_deg, mu_min):
    for name, n in (("n_frames", n_frames), ("size", size)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive integer; got {n!r}")
    if not (isinstance(pixel_deg, (int, float, np.integer, np.floating)) and 0 < pixel_deg
            and pixel_deg * size <= 180):
        raise ValueError(f"pixel_deg must be a positive number of degrees with size * pixel_deg "
                         f"<= 180; got pixel_deg={pixel_deg!r}, size={size!r}")
    if not (isinstance(mu_min, (int, float, np.integer, np.floating)) and 0 <= mu_min < 1):
        raise ValueError(f"mu_min must be a number in [0, 1); got {mu_min!r}")


def _plan(infos, regions, n_frames, cadence, mu_min):
    """Start time and map per frame of every region.

    ``regions`` is a list of ``(where, lon0, lat0, start or None)``. Returns a
    list of ``(start, chosen)``; ``chosen[k]`` is the map index of frame
    ``k`` or -1.
    """
    from ._fits import _parse_time

    times = np.array([i.time for i in infos], dtype="datetime64[ns]")
    starts = [None if s is None else _parse_time(s, f"{w}: start") for w, _, _, s in regions]
    todo = [r for r, s in enumerate(starts) if s is None]
    if todo:
        lon = np.array([regions[r][1] for r in todo], float)
        lat = np.array([regions[r][2] for r in todo], float)
        for info in infos:
            mu = _centres_mu(info, lon, lat)
            for j in np.flatnonzero(mu >= mu_min):
                if starts[todo[j]] is None:
                    starts[todo[j]] = info.time
            if all(starts[r] is not None for r in todo):
                break
    plans = []
    for (where, lon0, lat0, _), start in zip(regions, starts):
        if start is None:
            raise ValueError(
                f"{where}: the patch centre (Carrington lon {lon0}, lat {lat0}) is never on the "
                f"disk (mu >= {mu_min}) in the {len(infos)} maps from {times[0]} to "
                f"{times[-1]}; check the region's coordinates and the maps' dates"
            )
        chosen = _assign(times, start, n_frames, cadence)
        if not (chosen >= 0).any():
            raise ValueError(
                f"{where}: no map lies within half a cadence of its {n_frames} frames from "
                f"{start}; the maps span {times[0]} to {times[-1]}"
            )
        plans.append((start, chosen))
    return plans


# ------------------------------------------------------------------------------------ building
def _build(cube, observed, mu, start, lon0, lat0, size, pixel_deg, cadence_minutes, attrs,
           coords):
    import xarray as xr

    off = _offsets(size, pixel_deg)
    coords = {k: v for k, v in dict(coords).items() if v is not None}
    coords.setdefault("bmr_id", f"carr{lon0:07.3f}{lat0:+07.3f}")
    coords["lat0"], coords["lon0"] = float(lat0), float(lon0)
    coords.setdefault("time", start)
    t = np.datetime64(coords["time"], "ns")
    coords["time"] = t
    coords.setdefault("month", int(calendar_month(t)))
    coords.setdefault("year", int(t.astype("datetime64[Y]").astype(int) + 1970))
    video_coords = {name: (VIDEO_DIM, [value]) for name, value in coords.items()}
    return xr.DataArray(
        cube[None],
        dims=DIMS,
        coords={"frame": np.arange(cube.shape[0]), "lat": off, "lon": off,
                OBSERVED: ((VIDEO_DIM, "frame"), observed[None]),
                "mu": ((VIDEO_DIM, "frame"), mu[None].astype(np.float64)),
                **video_coords},
        attrs={"cadence_minutes": cadence_minutes, "units": UNITS, **attrs},
        name="field",
    )


def _provenance(instruments, source, mu_min, radial, pixel_deg, scale=1.0):
    from .. import __version__

    if isinstance(scale, str):
        scaled = ("scaled to HMI (scale='to_hmi': "
                  + ", ".join(f"{k} x{v}" for k, v in TO_HMI.items()) + ", Liu et al. 2025)")
    elif scale == 1.0:
        scaled = "as in the input files (no cross-instrument scaling)"
    else:
        scaled = f"input field multiplied by {float(scale):g}"
    return {
        "instrument": ",".join(sorted(set(instruments))) or "unknown",
        "source": source,
        "calibration": (scaled + "; field "
                        + ("divided by mu (radial estimate)" if radial else "line-of-sight")),
        "reprojection": _REPROJECTION,
        "projection": f"plate carree (CAR) Carrington, {pixel_deg:.6g} deg pixels",
        "limb_cut_mu": float(mu_min),
        "skflux_version": __version__,
    }


def _short(info):
    return info.item.name if isinstance(info.item, Path) else info.where


def _patches_of_map(item, where, tasks, size, pixel_deg, mu_min, radial, scale=1.0):
    """Worker: read one map once and cut every patch on it. ``tasks``: (key, lon0, lat0)."""
    prep = _prepare(_MapInfo(item, where, None, None), scale)
    out = []
    for key, lon0, lat0 in tasks:
        frame, mu0 = _reproject_patch(prep, lon0, lat0, size, pixel_deg, mu_min, radial)
        if frame is not None and not np.isfinite(frame).any():
            frame = _NO_DATA  # on the disk, but the map holds no value there: unobserved
        out.append((key, frame, mu0))
    return out


#: A patch inside the limb cut where the map holds only NaN (an unobserved frame).
_NO_DATA = "no data"


def _usable(frame, mu0, mu_min):
    return frame is not None and not isinstance(frame, str) and mu0 >= mu_min


def _map_jobs(infos, plans):
    """Per map index: the ``(region, frame)`` pairs it fills, in map order."""
    jobs = {}
    for r, (_, chosen) in enumerate(plans):
        for k in np.flatnonzero(chosen >= 0):
            jobs.setdefault(int(chosen[k]), []).append((r, int(k)))
    return dict(sorted(jobs.items()))


def patch_video(maps, lon0, lat0, *, start=None, n_frames=N_FRAMES,
                cadence_minutes=CADENCE_MINUTES, size=PATCH_SIZE, pixel_deg=PIXEL_DEG,
                mu_min=MU_MIN, radial=False, scale=1.0, **coords):
    """Cut one patch video that follows a region across full-disk magnetograms.

    Parameters
    ----------
    maps : sequence of path-like or sunpy.map.GenericMap
        Full-disk line-of-sight magnetograms (any instrument and cadence:
        MDI, HMI, GONG ...) in strictly increasing time order. Only the
        headers of all files are read to find their times; the data of a
        file are read only when it fills a frame, one map at a time.
    lon0, lat0 : float
        Carrington longitude and latitude of the patch centre, degrees. The
        patch is fixed in Carrington coordinates (it follows the region at
        the Carrington rotation rate; differential rotation is not applied).
    start : datetime-like, optional
        Time of frame 0. Default: the time of the first map in which the
        patch centre is inside the limb cut (``mu >= mu_min``), so frame 0
        is an observation and the window runs ``n_frames`` steps from it.
    n_frames : int, default=225
        Frames of the video: frame ``k`` is at ``start + k * cadence``.
    cadence_minutes : float, default=96
        Step of the time grid. For each step the map nearest in time within
        half a cadence (``[t_k - cadence/2, t_k + cadence/2)``) fills the
        frame (other maps of that step are not read); steps without one are
        NaN with ``observed`` False.
    size : int, default=90
        Pixels per side.
    pixel_deg : float, default=1/6
        Pixel size in degrees of Carrington longitude and latitude.
    mu_min : float, default=0.1
        Limb cut: pixels whose ``mu`` (cosine of the heliocentric angle,
        about 84 degrees from disk centre for 0.1) is below it are NaN;
        frames whose centre is below it are unobserved (NaN).
    radial : bool, default=False
        Divide the line-of-sight field by each pixel's ``mu`` (the usual
        estimate of the radial field). Default: the field stays
        line-of-sight, as in the paper's videos.
    scale : float or "to_hmi", default=1.0
        Factor applied to every map's field, for a model trained on another
        instrument: MDI reads about 1.4 times HMI (Liu et al. 2012, Solar
        Phys. 279, 295). ``"to_hmi"`` picks each map's factor from
        :data:`TO_HMI` by its instrument (MDI 0.701, GONG 1.438, HMI 1:
        Liu et al. 2025, Solar Phys. 300, 8); an instrument without a known
        factor is refused. Recorded in the ``calibration`` attribute.
    **coords
        Per-video coordinates: ``label``, ``bmr_id`` (default from the
        centre, e.g. ``"carr296.000+23.000"``), ``time`` (default ``start``),
        ``true_label`` ...

    Returns
    -------
    video : xarray.DataArray
        One video in the skflux schema (as :func:`read_fits_video` returns),
        dims ``("video", "frame", "lat", "lon")``, float32 Gauss, with
        ``lat0``/``lon0``, ``time``, ``month``, ``year``, ``bmr_id``, the
        ``observed`` mask and a per-frame ``mu`` of the patch centre (NaN
        where no map was used). Attributes: ``instrument``, ``source`` (the
        files used, ``;``-separated), ``calibration``, ``reprojection``,
        ``projection``, ``limb_cut_mu``, ``cadence_minutes``, ``units``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        Naming the file or map: unreadable FITS, no magnetic-field unit,
        maps out of time order; naming the centre: a latitude beyond +-90,
        a longitude beyond +-720, a region never on the disk, or no frame
        with data (beyond the limb cut, or NaN in the map there: a frame
        whose patch is all NaN in its map is unobserved, never ``observed``).

    See Also
    --------
    write_patch_videos : many regions in one pass over the maps.

    Notes
    -----
    Reprojection: see the user guide, :ref:`observations` (sunpy
    coordinates, :func:`reproject.reproject_adaptive` with
    ``conserve_flux=False`` on the flux density, which conserves the
    magnetic flux; tested against the flux summed over the map's pixels).

    Examples
    --------
    >>> from skflux.io import patch_video
    >>> video = patch_video(["hmi_m_720s.fits"], 296.0, 23.0, n_frames=1)  # doctest: +SKIP
    >>> video.sizes["frame"], video.observed.values.tolist()  # doctest: +SKIP
    (1, [[True]])
    """
    where = f"patch at Carrington lon {lon0}, lat {lat0}"
    _check_centre(lon0, lat0, where)
    lon0 = float(lon0) % 360.0
    _check_grid(n_frames, size, pixel_deg, mu_min)
    cadence = _cadence_ns(cadence_minutes)
    infos = _map_infos(maps)
    for info in infos:  # refuse an unknown instrument before reading any data
        _instrument_scale(scale, info.meta_map.instrument, info.where)
    (start, chosen), = _plan(infos, [(where, lon0, lat0, start)], n_frames, cadence, mu_min)
    cube = np.full((n_frames, size, size), np.nan, dtype=np.float32)
    observed = np.zeros(n_frames, dtype=bool)
    mu = np.full(n_frames, np.nan)
    sources, instruments, nan_maps = [], [], []
    for k in np.flatnonzero(chosen >= 0):
        info = infos[chosen[k]]
        ((_, frame, mu[k]),) = _patches_of_map(info.item, info.where, [(k, lon0, lat0)], size,
                                               pixel_deg, mu_min, radial, scale)
        if isinstance(frame, str):
            nan_maps.append(_short(info))
        if _usable(frame, mu[k], mu_min):
            cube[k], observed[k] = frame, True
            sources.append(_short(info))
            instruments.append(str(info.meta_map.instrument))
    if not observed.any():
        raise ValueError(_nothing_observed(where, mu_min, nan_maps))
    attrs = _provenance(instruments, ";".join(sources), mu_min, radial, pixel_deg, scale)
    return _build(cube, observed, mu, start, lon0, lat0, size, pixel_deg, cadence_minutes,
                  attrs, coords)


def _nothing_observed(where, mu_min, nan_maps):
    text = f"{where}: no frame holds data: the patch centre is beyond the limb cut (mu < {mu_min})"
    if nan_maps:
        shown = ", ".join(nan_maps[:5]) + (" ..." if len(nan_maps) > 5 else "")
        text += f" or the map holds only NaN there ({len(nan_maps)} map(s): {shown})"
    return text + " in every map of its window"


def find_maps(directory, pattern="*.fits"):
    """The magnetograms of a folder, sorted by observation time (headers only).

    Parameters
    ----------
    directory : str or path-like
        Folder of full-disk magnetograms (or SHARP cutouts).
    pattern : str, optional
        Glob pattern of the files: ``"*.fits"`` by default, ``"**/*.fits"``
        searches sub-folders.

    Returns
    -------
    paths : list of pathlib.Path
        Sorted by the maps' reference times (``T_OBS`` for HMI), ready for
        :func:`patch_video` and :func:`write_patch_videos`.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If no file matches, a file cannot be read or has no magnetic-field
        unit (naming it), or two files have the same time (naming both).
    """
    directory = Path(os.fspath(directory))
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder")
    paths = sorted(p for p in directory.glob(pattern) if p.is_file())
    if not paths:
        raise ValueError(f"{directory}: no file matches {pattern!r}")
    timed = []
    for path in paths:
        meta_map = _header_map(path, str(path))
        _gauss_factor(meta_map, str(path))
        timed.append((_map_time(meta_map, str(path)), path))
    timed.sort(key=lambda tp: (tp[0], str(tp[1])))
    for (ta, a), (tb, b) in zip(timed[:-1], timed[1:]):
        if ta == tb:
            raise ValueError(f"{a} and {b} are both observed at {ta}; keep one of them")
    return [p for _, p in timed]


# ------------------------------------------------------------------------------ catalogues
_ALIASES = {"bmr_id": ("bmr_id", "id", "region_id"), "lon0": ("lon0", "lon"),
            "lat0": ("lat0", "lat"), "start": ("start",)}


def _read_catalog(catalog):
    """The catalogue as a DataFrame with ``bmr_id``, ``lon0``, ``lat0`` (+ optional columns)."""
    import pandas as pd

    if isinstance(catalog, pd.DataFrame):
        name, line0 = "catalog", None
        df = catalog.reset_index(drop=True).copy()
    elif isinstance(catalog, (str, os.PathLike)):
        path = Path(os.fspath(catalog))
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such catalogue file")
        try:
            df = pd.read_csv(path)
        except Exception as exc:
            raise ValueError(f"{path}: cannot be read as a CSV catalogue: {exc}") from None
        name, line0 = str(path), 2  # row 0 is on line 2, after the header
    else:
        raise TypeError("catalog must be a CSV path or a pandas.DataFrame; got "
                        f"{type(catalog).__name__}")
    rename = {}
    for target, aliases in _ALIASES.items():
        found = [c for c in aliases if c in df.columns]
        if len(found) > 1:
            raise ValueError(f"{name}: columns {found} all mean {target!r}; keep one")
        if found and found[0] != target:
            rename[found[0]] = target
    df = df.rename(columns=rename)
    missing = [c for c in ("bmr_id", "lon0", "lat0", "label") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name}: missing columns {missing}; a catalogue needs bmr_id (or id), lon0 (or lon) "
            "and lat0 (or lat) in Carrington degrees, and label (1 emergence, 0 not; the crude "
            "labels); optional: start (time of frame 0) and any per-video column"
        )
    if len(df) == 0:
        raise ValueError(f"{name}: holds no region")
    for col in df.columns:
        why = _SET_BY_EXTRACT.get(str(col))
        if why is not None:
            raise ValueError(f"{name}: column {col!r} names what extraction sets ({why}); "
                             "rename the column")

    def row(i):
        where = f"{name} row {i}" + (f" (line {i + line0})" if line0 else "")
        return f"{where}, bmr_id {df['bmr_id'].iloc[i]!r}"

    dup = df["bmr_id"].duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())
        raise ValueError(f"{name}: bmr_id {df['bmr_id'].iloc[rows[0]]!r} appears in rows "
                         f"{rows.tolist()[:10]}; every region needs its own id")
    for col in df.columns:
        if col != "start" and df[col].isna().any():
            i = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise ValueError(f"{row(i)}: no value in column {col!r}; fill it or drop the row")
    df["bmr_id"] = df["bmr_id"].astype(str)
    df["label"] = _labels(df["label"], row)
    for i in range(len(df)):
        lon0, lat0 = df["lon0"].iloc[i], df["lat0"].iloc[i]
        try:
            lon0, lat0 = float(lon0), float(lat0)
        except (TypeError, ValueError):
            raise ValueError(f"{row(i)}: lon0/lat0 must be numbers of degrees; got "
                             f"{lon0!r}, {lat0!r}") from None
        _check_centre(lon0, lat0, row(i))
    return df, row


#: Catalogue columns that would collide with what a patch video is made of.
_SET_BY_EXTRACT = {
    **{d: "a dimension of the videos" for d in DIMS},
    "field": "the field variable",
    OBSERVED: "which frames have a map",
    "mu": "the patch centre's mu per frame",
    "time": "the time of frame 0; give it as 'start'",
    "month": "the calendar month of frame 0's time; give 'start'",
    "year": "the year of frame 0's time; give 'start'",
}


def _labels(column, row):
    """The ``label`` column as 0/1 integers; any other value is refused naming its row."""
    import pandas as pd

    values = column.to_numpy(dtype=object)
    numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    for i, (value, number) in enumerate(zip(values, numeric)):
        if isinstance(value, (bool, np.bool_)) or number not in (0.0, 1.0):
            raise ValueError(f"{row(i)}: label {value!r} is not 0 or 1 (1 emergence, 0 not)")
    return numeric.astype(int)


def write_patch_videos(maps, catalog, path, *, n_frames=N_FRAMES,
                       cadence_minutes=CADENCE_MINUTES, size=PATCH_SIZE, pixel_deg=PIXEL_DEG,
                       mu_min=MU_MIN, radial=False, scale=1.0, n_jobs=None, verbose=False,
                       complevel=1):
    """Cut the patch video of every region of a catalogue in one pass over the maps.

    Every map is read once and shared by every patch on the disk at that time
    (one map in memory per worker); the videos are appended to a NetCDF file
    with :class:`VideoWriter` as soon as their last frame is cut, so memory
    holds only the regions in progress. The file is written under a temporary
    name and renamed at the end: an error leaves nothing behind.

    Parameters
    ----------
    maps : sequence of path-like or sunpy.map.GenericMap
        Full-disk line-of-sight magnetograms in strictly increasing time order
        (see :func:`patch_video`).
    catalog : str, path-like or pandas.DataFrame
        One row per region: ``bmr_id`` (or ``id``), ``lon0`` (or ``lon``) and
        ``lat0`` (or ``lat``) in Carrington degrees, ``label`` (0/1, the crude
        label); optional ``start`` (time of frame 0; default as in
        :func:`patch_video`) and any further column, stored as a per-video
        coordinate (e.g. ``true_label``, ``noaa``).
    path : str or path-like
        NetCDF file to write (replaced only when everything succeeded).
    n_frames, cadence_minutes, size, pixel_deg, mu_min, radial, scale
        As in :func:`patch_video`.
    n_jobs : int, optional
        Maps processed in parallel with joblib (``None``: one, unless a
        :func:`joblib.parallel_config` context says otherwise; a Dask cluster
        through ``joblib.parallel_config(backend="dask")``).
    verbose : bool, default=False
        Show a progress bar over the maps.
    complevel : int, default=1
        zlib level of the file (see :class:`VideoWriter`).

    Returns
    -------
    path : pathlib.Path
        The file written. Videos are in the order they are completed (by the
        time of their last frame; catalogue order among those completed by
        the same map), each with its ``bmr_id``.

    Raises
    ------
    ValueError
        Naming the catalogue row (missing column or value, a label other
        than 0/1, latitude beyond +-90, longitude beyond +-720, duplicate
        id, a region never on the disk, without any map in its window or
        without data in any of them: frames whose patch is all NaN in its
        map are unobserved), a column that names what extraction sets
        (``time``, ``month``, ``year``, ``field``, ``observed``, ``mu`` or a
        dimension: give the time of frame 0 as ``start``), before any map is
        cut, or the map file (unreadable, no field unit, out of time order).
    """
    import joblib
    from tqdm.auto import tqdm

    from ._netcdf import VideoWriter

    _check_grid(n_frames, size, pixel_deg, mu_min)
    cadence = _cadence_ns(cadence_minutes)
    df, row = _read_catalog(catalog)
    infos = _map_infos(maps)
    for info in infos:  # refuse an unknown instrument before reading any data
        _instrument_scale(scale, info.meta_map.instrument, info.where)
    regions = [(row(i), float(df["lon0"].iloc[i]) % 360.0, float(df["lat0"].iloc[i]),
                df["start"].iloc[i] if "start" in df.columns and not _isna(df["start"].iloc[i])
                else None) for i in range(len(df))]
    plans = _plan(infos, regions, n_frames, cadence, mu_min)
    jobs = _map_jobs(infos, plans)
    last = {r: int(chosen[chosen >= 0].max()) for r, (_, chosen) in enumerate(plans)}
    extra = [c for c in df.columns if c not in ("lon0", "lat0", "start")]
    attrs = _provenance([str(i.meta_map.instrument) for i in infos],
                        f"{len(infos)} maps, {_short(infos[0])} .. {_short(infos[-1])}",
                        mu_min, radial, pixel_deg, scale)

    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    buffers, tmp = {}, None
    try:  # an existing file at path is replaced only when the new one is complete
        with atomic_path(path, overwrite=True) as tmp:
            with VideoWriter(tmp, n_frames=n_frames, n_lat=size, n_lon=size, attrs=attrs,
                             lat=_offsets(size, pixel_deg), lon=_offsets(size, pixel_deg),
                             complevel=complevel) as writer:
                calls = (joblib.delayed(_patches_of_map)(
                    infos[i].item, infos[i].where,
                    [((r, k), regions[r][1], regions[r][2]) for r, k in pairs],
                    size, pixel_deg, mu_min, radial, scale) for i, pairs in jobs.items())
                results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(calls)
                bar = tqdm(zip(jobs, results), total=len(jobs), disable=not verbose,
                           desc="full-disk maps", unit="map")
                for i, out in bar:
                    for (r, k), frame, mu0 in out:
                        buf = buffers.setdefault(r, (
                            np.full((n_frames, size, size), np.nan, dtype=np.float32),
                            np.zeros(n_frames, dtype=bool), np.full(n_frames, np.nan), []))
                        buf[2][k] = mu0
                        if isinstance(frame, str):
                            buf[3].append(_short(infos[i]))
                        if _usable(frame, mu0, mu_min):
                            buf[0][k], buf[1][k] = frame, True
                    for r in sorted(r for r in list(buffers) if last[r] <= i):
                        cube, observed, mu, nan_maps = buffers.pop(r)
                        if not observed.any():
                            raise ValueError(_nothing_observed(regions[r][0], mu_min, nan_maps))
                        coords = {c: _scalar(df[c].iloc[r]) for c in extra}
                        writer.write(_build(cube, observed, mu, plans[r][0], regions[r][1],
                                            regions[r][2], size, pixel_deg, cadence_minutes, attrs,
                                            coords))
    except ValueError as exc:
        if tmp is not None and str(tmp) in str(exc):  # name the file asked for
            raise type(exc)(str(exc).replace(str(tmp), str(path))) from exc
        raise
    return path


def _isna(value):
    import pandas as pd

    return bool(pd.isna(value))


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value
