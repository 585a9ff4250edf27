"""HMI SHARP CEA cutouts regridded onto the skflux patch grid and time grid.

SHARP ``hmi.sharp_cea_720s`` (and ``hmi.sharp_cea_720s_nrt``) segments are
already remapped by JSOC onto a cylindrical equal-area (CEA) grid in
Carrington coordinates that follows one HARP. Going from that grid to the
skflux plate-carrée Carrington grid is a map from the solar sphere to the
same sphere, so the resampling is :func:`reproject.reproject_exact`: each
output pixel is the area-weighted mean of the CEA pixels it overlaps,
computed from the exact spherical overlap areas. That conserves the flux
(field times area on the sphere) exactly, and there is no limb inside a
cutout to break it (the reason :mod:`skflux.io._observations` uses
``reproject_adaptive`` for full-disk maps does not apply here). The WCS of
both grids is read and built by sunpy/astropy (the CEA header as JSOC writes
it); output pixels not entirely covered by the cutout are NaN.
"""

import warnings

import numpy as np

from .._schema import CADENCE_MINUTES, N_FRAMES, PATCH_SIZE, PIXEL_DEG
from ._observations import (
    MU_MIN,
    _build,
    _cadence_ns,
    _carrington,
    _check_centre,
    _check_grid,
    _map_infos,
    _mu,
    _plan,
    _prepare,
    _provenance,
    _short,
    patch_wcs,
)

__all__ = ["read_sharp"]

_REPROJECTION = "reproject.reproject_exact (spherical overlap areas, CEA -> CAR)"


def _check_cea(info):
    ctype = [str(c).upper() for c in info.meta_map.wcs.wcs.ctype]
    if not (ctype[0].startswith("CRLN") and ctype[1].startswith("CRLT")):
        raise ValueError(
            f"{info.where}: not a SHARP CEA cutout (CTYPE {ctype}, expected CRLN-CEA/CRLT-CEA); "
            "for full-disk magnetograms use skflux.io.patch_video"
        )


def _harp(info):
    value = info.meta_map.meta.get("harpnum")
    return None if value is None else int(value)


def _regrid(prep, lon0, lat0, size, pixel_deg):
    """One SHARP map on the patch grid: ``(frame, mu of the centre)``."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from reproject import reproject_exact

    out_wcs = patch_wcs(lon0, lat0, size=size, pixel_deg=pixel_deg, observer=prep.observer,
                        date=prep.date, rsun=prep.rsun)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, footprint = reproject_exact((prep.data, prep.wcs), out_wcs, shape_out=(size, size))
    out = np.where(footprint >= 0.99, out, np.nan)  # overlap sums carry ~1e-3 rounding
    frame = _carrington(prep.observer, prep.date, prep.rsun)
    mu0 = float(_mu(SkyCoord(lon0 * u.deg, lat0 * u.deg, frame=frame), prep.observer))
    return out.astype(np.float32), mu0


def read_sharp(paths, *, lon0=None, lat0=None, start=None, n_frames=N_FRAMES,
               cadence_minutes=CADENCE_MINUTES, size=PATCH_SIZE, pixel_deg=PIXEL_DEG,
               mu_min=MU_MIN, **coords):
    """Regrid HMI SHARP CEA cutouts of one HARP onto a patch video.

    Parameters
    ----------
    paths : sequence of path-like or sunpy.map.GenericMap
        SHARP CEA line-of-sight magnetogram (``magnetogram``) or radial field
        (``Br``) cutouts of one HARP, in strictly increasing time order (the
        field in Mx/cm^2 = Gauss).
    lon0, lat0 : float, optional
        Carrington centre of the patch, degrees. Default: the CEA reference
        point (``CRVAL1``, ``CRVAL2``, read by sunpy as the map's
        ``reference_coordinate``) of the first cutout.
    start : datetime-like, optional
        Time of frame 0; default: the first cutout whose centre is inside the
        limb cut.
    n_frames, cadence_minutes, size, pixel_deg, mu_min
        The time and space grid, as in :func:`patch_video`: for each
        96-minute step the cutout nearest in time within half a cadence is
        used; frames without one are NaN and unobserved.
    **coords
        Per-video coordinates (``label``, ``bmr_id``, ...). ``bmr_id``
        defaults to ``"HARP<harpnum>"``.

    Returns
    -------
    video : xarray.DataArray
        One video in the skflux schema (as :func:`patch_video` returns),
        with per-frame ``mu`` of the centre and the ``harpnum`` coordinate
        when the headers hold it. Pixels outside the cutout are NaN.

    Raises
    ------
    ValueError
        Naming the file: not a CEA Carrington cutout, unreadable, no field
        unit, out of time order, cutouts of different HARPs.
    """
    infos = _map_infos(paths)
    for info in infos:
        _check_cea(info)
    harps = {_harp(i) for i in infos}
    if len(harps) > 1:
        first = infos[0]
        other = next(i for i in infos if _harp(i) != _harp(first))
        raise ValueError(f"cutouts of different HARPs: {first.where} is HARP {_harp(first)}, "
                         f"{other.where} is HARP {_harp(other)}; read one HARP per video")
    harp = harps.pop()
    if lon0 is None or lat0 is None:
        ref = infos[0].meta_map.reference_coordinate
        lon0 = float(ref.lon.to_value("deg")) if lon0 is None else lon0
        lat0 = float(ref.lat.to_value("deg")) if lat0 is None else lat0
    where = f"SHARP patch at Carrington lon {lon0}, lat {lat0}"
    _check_centre(lon0, lat0, where)
    lon0 = float(lon0) % 360.0
    _check_grid(n_frames, size, pixel_deg, mu_min)
    cadence = _cadence_ns(cadence_minutes)
    (start, chosen), = _plan(infos, [(where, lon0, lat0, start)], n_frames, cadence, mu_min)
    cube = np.full((n_frames, size, size), np.nan, dtype=np.float32)
    observed = np.zeros(n_frames, dtype=bool)
    mu = np.full(n_frames, np.nan)
    sources = []
    for k in np.flatnonzero(chosen >= 0):
        info = infos[chosen[k]]
        frame, mu[k] = _regrid(_prepare(info), lon0, lat0, size, pixel_deg)
        if mu[k] >= mu_min and np.isfinite(frame).any():
            cube[k], observed[k] = frame, True
            sources.append(_short(info))
    attrs = _provenance(["HMI SHARP CEA"], ";".join(sources), mu_min, False, pixel_deg)
    attrs["reprojection"] = _REPROJECTION
    if harp is not None:
        coords.setdefault("bmr_id", f"HARP{harp}")
        coords.setdefault("harpnum", harp)
    return _build(cube, observed, mu, start, lon0, lat0, size, pixel_deg, cadence_minutes,
                  attrs, coords)
