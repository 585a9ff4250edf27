"""Physical laws and numbers used by the simulator, each with its source (private).

Units: time in days, lengths in Mm (``MM_PER_DEG`` converts heliographic
degrees), magnetic flux in Mx (per polarity for bipoles), fields in G.

.. rubric:: Geometry and rotation

* Solar radius 695.7 Mm (IAU 2015 nominal), so one heliographic degree is
  12.14 Mm at the equator.
* The central-meridian distance (CMD) of a fixed Carrington point advances at
  the synodic Carrington rate 360°/27.2753 d = 13.2°/day; a point is on the
  visible disk for ~13.6 d. The Carrington frame rotates at the sidereal
  14.184°/day.
* Differential rotation of magnetic features (Howard 1984, ARA&A 22, 131):
  ω(φ) = 14.33 − 2.12 sin²φ − 1.83 sin⁴φ °/day sidereal; features drift
  relative to the Carrington grid at ω(φ) − 14.184 °/day.
* The B0 angle (heliographic latitude of disk centre) varies over the year
  within ±7.25°, zero around June 6 and December 7, maximal early September.

.. rubric:: Solar cycle and dates

* Cycle profile of Hathaway, Wilson & Reichmann (1994, Sol. Phys. 151, 177):
  f(t) ∝ x³ / (exp(x²/b²) − 0.71), x = years since cycle start; starts
  1986.7 (cycle 22), 1996.4 (23), 2008.9 (24); relative amplitudes 1.0, 0.95,
  0.55; b = 3.4 yr (maximum ~4 yr after the start).
* Mean BMR latitude drifts equatorward as 30°·exp(−x / 7.5 yr) (the form of
  Hathaway 2011, Sol. Phys. 273, 221, who fit 28° and 90 months), from ~30°
  at the start of a cycle to ~7° at its end, with a 5° Gaussian spread.
* Hale's law: in cycle 23 the leading polarity is positive in the north and
  negative in the south; reversed in cycles 22 and 24; ~4 % of BMRs are
  anti-Hale (Wang & Sheeley 1989, Sol. Phys. 124, 81).
* SOHO/MDI observed 1996-05-01 … 2011-04-12 (Scherrer et al. 1995, Sol.
  Phys. 162, 129); no data during the SOHO interruptions 1998-06-25 …
  1998-10-22 (loss of contact) and 1998-12-21 … 1999-02-02 (gyroscope loss).

.. rubric:: Instrument (MDI-like)

* B_los = B_r·μ (radial field, μ the cosine of the heliocentric angle).
* ~4″ FWHM resolution (2″ pixels; Scherrer et al. 1995) applied in the image
  plane, i.e. σ = 1.22 Mm at disk centre, widened by the 2″ image pixel (a box,
  σ = 2″/√12) and by the resampling of the image onto the Carrington grid (the
  Hann kernel of :func:`skflux.io.patch_video`, one input pixel either side,
  σ ≈ 0.36 pixel) to σ = 1.39 Mm, and stretched by 1/cos(CMD) east–west and
  by the north–south foreshortening in the Carrington grid, so resolution
  is lost toward the limb. (The BARD-like detection keeps the PSF alone.)
* Noise 10 G per 1/6° pixel by default: the level of the 96-minute MDI
  magnetograms (5-minute averages) the paper used, once remapped to the
  Carrington grid. Measured, not quoted: real HMI maps degraded to MDI
  96-minute quality (``benchmarks/bench_realism.py``: 4″ resolution, 2″
  pixels, ×1.4, and the 15.6 G per 2″ pixel at which a real 96-minute MDI
  file's header statistics are reproduced) have a noise core of 10.2–11.4 G
  in 1/6° patches (:func:`skflux.datasets.patch_statistics`); the simulator
  with 10 G gives 10.4–11.0 G. (Scherrer et al. 1995 quote ~20 G for 1-minute
  magnetograms, the earlier default, which made every simulated frame twice
  as noisy as the real ones.) Correlated as the remapping to the Carrington
  grid correlates white image-plane noise, measured by passing pure noise
  through the same extraction (``bench_realism.py``, ``noise_remap``):
  neighbour correlation 0.17 at disk centre in both directions, rising
  east–west to ~0.5 at μ 0.3–0.6 (a Gaussian kernel of 0.30 native pixels
  stretched by the foreshortening), and a per-pixel standard deviation that
  grows toward the limb (9.0, 10.2, 10.6 G at μ 0.85–1, 0.6–0.85, 0.3–0.6
  for 15.6 G per 2″ pixel), modelled as ×(1 + 0.3 (1 − μ)).
* A smooth gain variation of 10–30 % peak to peak over days; a saturation
  roll-off above 3500 G towards 4000 G.
* Missing frames: 2–5 % at random plus occasional 1–3-day blocks (about one
  per 60 days), plus the SOHO gaps above.

.. rubric:: Bipolar magnetic regions (BMRs)

* Peak flux per polarity log-normal (Muñoz-Jaramillo et al. 2015, ApJ 800,
  48): median 2×10²¹ Mx, 0.45 dex, truncated to 3×10²⁰–3×10²² Mx.
* Rise (onset to peak) time 3.5 d·(Φ/5.9×10²¹ Mx)^0.64, i.e. a mean emergence
  rate ∝ Φ^0.36 (Otsuji et al. 2011, PASJ 63, 1047; Norton et al. 2017, ApJ
  842, 3; review: van Driel-Gesztelyi & Green 2015, Living Rev. Sol. Phys.
  12, 1). The flux rises as Φ·sin²(π/2·τ/T_rise); the **emergence time** is
  when it first reaches 10 % of peak (τ = 0.205·T_rise).
* Decay: linear at a rate ∝ Φ^0.70 (same sources), i.e. the region vanishes
  after T_decay = 15 d·(Φ/5.9×10²¹ Mx)^0.30, always slower than the rise.
* Pole separation: an initial fast separation whose speed peaks at 230 m/s
  0.1 d after onset and stops by 2.5 d (van Driel-Gesztelyi & Green 2015,
  §4), then growth with the emerged flux to a final separation
  80 Mm·(Φ/5×10²¹ Mx)^0.77 (Wang & Sheeley 1989), capped at 100 Mm so that
  the region fits the 15° patch.
* Tilt: Joy's law 32.1°·sin|φ| (Stenflo & Kosovichev 2012, ApJ 745, 129)
  with 17° Gaussian scatter (15–20° in Wang & Sheeley 1989), growing from 0
  to its final value by the flux peak; leading pole nearer the equator.
* Poles: a compact core (leading 60 % of the flux, following 35 %; σ =
  6.3 Mm·(Φ/5×10²¹ Mx)^0.4, peak fields ~1–3 kG) and plage made of discrete,
  unresolved flux elements (σ 0.5 Mm before the instrument's blur), one per
  2×10¹⁹ Mx of the plage's share (about half) of the peak flux (4–400 per
  polarity; fluxes log-normal with a natural-log width of 0.8). Plage and
  network are made of kilogauss flux tubes gathered in clusters far below
  MDI's resolution (Stenflo 1973, Sol. Phys. 32, 41; Solanki 1993, Space
  Sci. Rev. 63, 1) that outline the supergranular network (Leighton, Noyes
  & Simon 1962, ApJ 135, 474), so the elements lie on arcs (half rings, 12
  elements each) of cells 30 Mm across whose centres are scattered in a
  Gaussian envelope 2.5× the core width; the envelope widens by up to 2.5×
  while the region decays, so decaying plage disperses into separate
  network fragments. The 2×10¹⁹ Mx per element, 12 per arc and the arcs'
  length are choices, checked against real active patches (HMI degraded to
  MDI): at matched total flux the simulated ones have 1.0–1.3× the real
  number of flux elements and 0.7–1.05× their median element flux
  (1.2–1.9×10¹⁹ Mx as detected at 3σ; the realism table of the user guide).
* While emerging, a fraction (1 − τ/T_rise)^1.5 of the flux is in eight
  small bipoles (per region; three for the small context regions): each is
  born with both polarities side by side at a random place within 0.45 of
  the final pole separation of the region's centre, and its two polarities
  stream apart, each to the pole of its sign, where they coalesce by the
  flux peak (emergence as many small bipoles that separate and merge into
  the two polarities: Strous et al. 1996, A&A 306, 947; van
  Driel-Gesztelyi & Green 2015, §4).
* Emergence videos: the patch centre is between −85° and 80° from the
  central meridian when the flux reaches 10 % (uniform), so the onset is
  on the disk. Non-emergence videos: the region reached 10 % before the
  patch centre rotated past the east limb; its age then is uniform over
  its life (a constant emergence rate; 2 % floor). Detection selects young
  ones: the regions the crude detector finds are a median 2 days past their
  10 % time at disk entry and about two thirds of them are still growing
  when they rotate in (rotating in while emerging looks like an emergence
  at the east limb).

.. rubric:: Quiet Sun

* Network on supergranular cells ~30 Mm across that turn over in ~1 day;
  element fluxes follow a power law of slope −1.7 … −1.85 between 2×10¹⁷
  and 5×10¹⁹ Mx (Parnell et al. 2009, ApJ 698, 75) with a mean unsigned flux
  density 2.5–3 G (Hagenaar 2001; Schrijver & Harvey 1994, Sol. Phys. 150, 1).
* Ephemeral regions: ~90 per patch per day, fluxes exponential with e-fold
  5.3×10¹⁸ Mx, random orientation, lifetimes of hours (Hagenaar 2001).

.. rubric:: Surrounding activity (``activity=True``, the default)

A patch centred on a BMR is rarely empty apart from it: BMRs emerge in
activity nests, next to older regions, and flux of every size keeps
emerging around them. This is what makes real videos hard to classify (the
paper's CNN ensemble reaches 83 % on MDI and is least sure about
non-emergences), so the default videos contain it; ``activity=False``
leaves the tracked BMR alone in the quiet Sun (an easy, nearly separable
task). None of it changes the labels: ``true_label`` and the crude label
concern the tracked BMR (BARD tracks regions one by one).

* **Activity nests.** About 60 % of sunspot groups emerge inside nests
  (complexes of activity) that live for months (Castenmiller, Zwaan & van
  der Zalm 1986, Sol. Phys. 105, 237; Harvey & Zwaan 1993, Sol. Phys. 148,
  85; Karapinar et al. 2025, arXiv:2512.17364 measure 0.61 ± 0.12). In 45 %
  of the videos (either class; a choice below 61 % because a nest's other
  region is not always in the patch at the same time) an older neighbour
  region lies 3–6° from the tracked BMR (kept within ±6° of the patch
  centre) and co-rotates with it. It is drawn exactly like the tracked
  regions of non-emergence videos (flux, age at disk entry, Hale/Joy
  orientation, and kept only if the crude detector would find it), so an
  emergence inside a nest starts from a patch that already holds a region
  like a non-emergence video's, and "a region is there at disk entry" is no
  longer decisive.
* **New flux into existing regions.** Active regions grow by repeated
  emergence episodes and new flux keeps emerging inside decaying regions
  (Harvey & Zwaan 1993; van Driel-Gesztelyi & Green 2015, §4). In 35 % of
  the videos (a choice) a sub-BMR bipole (flux as below, Hale/Joy
  orientation of the region, 10–25 Mm) emerges within the tracked region
  (within 0.3 of its pole separation of its centre) at a uniform time
  while the region exists and is on the disk; in a non-emergence video
  this is flux emergence that is not a BMR emergence.
* **Sub-BMR emergences.** The emergence frequency is one power law
  n(Φ) ∝ Φ^−2.7 from ephemeral regions to the largest active regions
  (Thornton & Parnell 2011, Sol. Phys. 269, 13; one smooth distribution
  from ephemeral to active regions: Hagenaar, Schrijver & Title 2003, ApJ
  584, 1107; large ephemeral regions are indistinguishable from small
  active regions: Martin 1988, Sol. Phys. 117, 243), so bipoles of
  5×10¹⁹ to 3×10²⁰ Mx (the BMR lower bound; flux drawn from that power
  law) emerge ~20 times as often as BMRs above 3×10²⁰ Mx, preferentially
  near active centres (Harvey & Martin 1973, Sol. Phys. 32, 389). Each
  video has a Poisson number of them, mean 2 per 15 days in the patch (a
  choice: ~20 × roughly 0.1 BMR per patch passage at active latitudes; at
  most 4), uniform within ±6° of the patch centre, with onsets uniform from
  a day before the video to its end, the BMR laws for rise and decay,
  random orientation and a 10–25 Mm pole separation (Harvey & Martin
  1973: ~30 Mm across, ~10²⁰ Mx).
* **Weak, late and limb emergences** come from the BMR laws above: the
  flux distribution reaches down to 3×10²⁰ Mx, the emergence longitude is
  uniform in −85°…80° (emergences at the limbs are strongly foreshortened;
  those at the east limb look like a region rotating in), and data gaps
  can hide the onset.

.. rubric:: Crude detection (BARD-like; Muñoz-Jaramillo et al. 2015)

* One observation per day (00:00 UT); field divided by μ; pixels more than
  70° from disk centre ignored; a pole is found when its core reaches 500 G
  and its area above 275 G is at least 16 Mm² (4 pixels of 1/6°); a BMR is
  detected when both polarities are found. The first detection's longitude
  from the central meridian decides the crude label (emergence when west of
  −60°, as in the paper).
"""

import numpy as np

from .._schema import PIXEL_DEG

PIXEL_DEG_NATIVE = PIXEL_DEG  # MDI-like native pixel of the Carrington grid (deg)

# ----------------------------------------------------------------- geometry
R_SUN_MM = 695.7
MM_PER_DEG = R_SUN_MM * np.pi / 180.0  # 12.142 Mm per heliographic degree
SYNODIC_DEG_PER_DAY = 360.0 / 27.2753  # CMD advance of a Carrington point
CARRINGTON_SIDEREAL_DEG_PER_DAY = 14.184
HOWARD_ROTATION = (14.33, -2.12, -1.83)  # deg/day sidereal: A + B sin^2 + C sin^4
B0_MAX_DEG = 7.25
_JD_UNIX_EPOCH = 2440587.5  # Julian date of 1970-01-01T00:00

# ----------------------------------------------------------------- instrument
ARCSEC_PER_MM = 969.3 / R_SUN_MM  # SOHO at L1: solar radius ~969"
BLUR_FWHM_ARCSEC = 4.0
BLUR_SIGMA_MM = BLUR_FWHM_ARCSEC / ARCSEC_PER_MM / 2.3548  # ~1.22 Mm
IMAGE_PIXEL_MM = 1.986 / ARCSEC_PER_MM  # MDI full-disk pixel (FD_SCALE), ~1.43 Mm
# the image pixel (box, sigma 1/sqrt(12)) and the resampling onto the Carrington grid
# (Hann kernel one input pixel each side, sigma 0.36 pixel) widen the PSF
REMAP_SIGMA_MM = IMAGE_PIXEL_MM * np.hypot(1.0 / np.sqrt(12.0), 0.3614)
RESOLUTION_SIGMA_MM = float(np.hypot(BLUR_SIGMA_MM, REMAP_SIGMA_MM))  # ~1.39 Mm
NOISE_96MIN_G = 10.0  # default: MDI 96-minute magnetograms remapped to 1/6° pixels (measured)
# remapped noise (white noise of the image plane through skflux.io.patch_video, measured in
# benchmarks/bench_realism.py "noise_remap"): neighbour correlation ~0.17 at disk centre,
# i.e. a Gaussian kernel of 0.30 native pixels (sampled), stretched by the foreshortening;
# per-pixel standard deviation ~1.2 times larger at mu 0.35 than at disk centre
NOISE_CORR_PX = 0.30
NOISE_LIMB_GAIN = 0.3
SATURATION_G = 3500.0
SATURATION_MAX_G = 4000.0
GAIN_PEAK_TO_PEAK = (0.10, 0.30)
GAIN_PERIOD_DAYS = (4.0, 20.0)
MISSING_RANDOM = (0.02, 0.05)
MISSING_BLOCK_RATE_PER_DAY = 1.0 / 60.0
MISSING_BLOCK_DAYS = (1.0, 3.0)
MDI_START = np.datetime64("1996-05-01")
MDI_END = np.datetime64("2011-04-12")
SOHO_GAPS = (
    (np.datetime64("1998-06-25"), np.datetime64("1998-10-23")),
    (np.datetime64("1998-12-21"), np.datetime64("1999-02-03")),
)

# ----------------------------------------------------------------- solar cycle
CYCLES = {22: (1986.7, 1.0), 23: (1996.4, 0.95), 24: (2008.9, 0.55)}
CYCLE_B_YEARS = 3.4
LAT_START_DEG, LAT_EFOLD_YEARS, LAT_SPREAD_DEG = 30.0, 7.5, 5.0
ANTI_HALE_FRACTION = 0.04

# ----------------------------------------------------------------- BMRs
FLUX_MEDIAN_MX, FLUX_DEX, FLUX_RANGE_MX = 2e21, 0.45, (3e20, 3e22)
RISE_DAYS_REF, RISE_FLUX_REF, RISE_EXP = 3.5, 5.9e21, 0.64
DECAY_DAYS_REF, DECAY_EXP = 15.0, 0.30  # decay rate Phi/T_decay  ~ Phi^0.70
X10 = 2.0 / np.pi * np.arcsin(np.sqrt(0.1))  # sin^2(pi x/2) = 0.1 at x = 0.2048
SEP_SPEED_PEAK_MM_PER_DAY = 0.230 * 86.4  # 230 m/s
SEP_SPEED_PEAK_DAYS, SEP_STOP_DAYS = 0.1, 2.5
SEP_FAST_MM = SEP_SPEED_PEAK_MM_PER_DAY * SEP_SPEED_PEAK_DAYS * np.e  # ~5.4 Mm
SEP_REF_MM, SEP_FLUX_REF, SEP_EXP, SEP_CAP_MM = 80.0, 5e21, 0.77, 100.0
JOY_DEG, TILT_SCATTER_DEG = 32.1, 17.0
AGE_FLOOR = 0.02  # of the life, at disk entry, of the regions of non-emergence videos
CORE_SIGMA_MM, CORE_FLUX_REF, CORE_EXP = 6.3, 5e21, 0.4
CORE_FRACTION = (0.60, 0.35)  # leading, following
CORE_WIDTH = (1.0, 1.3)
PLAGE_WIDTH = 2.5
FRAGMENT_EXP = 1.5
FRAGMENT_SIGMA_MM = 1.5
PLAGE_ELEMENT_MX = 2e19  # plage flux per element (a choice, see the docstring)
PLAGE_ELEMENTS = (4, 400)
PLAGE_PER_CELL = 12  # elements per cell-boundary arc
PLAGE_ARC = 0.5 * np.pi  # half-length (radians) of the arc
PLAGE_ELEMENT_SPREAD = 0.8  # natural-log sigma of the element fluxes
PLAGE_ELEMENT_SIGMA_MM = 0.5

# ----------------------------------------------------------------- quiet Sun
CELL_MM, NETWORK_TURNOVER_DAYS = 30.0, 1.0
NETWORK_SLOPE = (-1.85, -1.70)
NETWORK_FLUX_RANGE_MX = (2e17, 5e19)
NETWORK_MEAN_G = (2.5, 3.0)
ELEMENT_SIGMA_MM = 1.0
ER_PER_PATCH_PER_DAY = 90.0
ER_FLUX_EFOLD_MX, ER_FLUX_MIN_MX = 5.3e18, 5e17
ER_LIFE_HOURS = (2.0, 8.0)
ER_SEP_MM = (3.0, 10.0)

# ----------------------------------------------------------------- surrounding activity
NEST_FRACTION = 0.45
NEST_DISTANCE_DEG = (3.0, 6.0)
SECONDARY_FRACTION = 0.35
SECONDARY_OFFSET = 0.3  # of the tracked region's pole separation
SMALL_PER_VIDEO, SMALL_MAX = 2.0, 4
SMALL_FLUX_RANGE_MX, SMALL_FLUX_SLOPE = (5e19, 3e20), -2.7
SMALL_SEP_MM = (10.0, 25.0)
ACTIVITY_EXTENT_DEG = 6.0  # activity is placed within +-6 deg of the patch centre

# ----------------------------------------------------------------- crude detection
BARD_LOW_G, BARD_HIGH_G = 275.0, 500.0
BARD_MIN_AREA_MM2 = 25.0
BARD_MAX_ANGLE_DEG = 70.0
BARD_WEST_OF_DEG = -60.0
BARD_JITTER_DEX = 0.12


def days_since_epoch(t):
    """datetime64 -> float days since 1970-01-01."""
    return np.asarray(t, dtype="datetime64[ns]").astype(np.int64) / 86400e9


def datetime_from_days(d):
    """float days since 1970-01-01 -> datetime64[ns] (rounded to the microsecond)."""
    us = np.rint(np.asarray(d, dtype=float) * 86400e6).astype(np.int64)
    return us.astype("datetime64[us]").astype("datetime64[ns]")


def decimal_year(days):
    """Approximate decimal year of float days since 1970."""
    return 1970.0 + np.asarray(days, dtype=float) / 365.2425


def b0_angle(days):
    """B0 angle (degrees) at float days since 1970 (annual sinusoid)."""
    doy = np.mod(np.asarray(days, dtype=float) - 0.0, 365.2425)  # day of year (approx.)
    return B0_MAX_DEG * np.sin(2 * np.pi * (doy - 157.0) / 365.2425)


def carrington_cm_longitude(days):
    """Carrington longitude (degrees) of the central meridian at float days since 1970."""
    jd = np.asarray(days, dtype=float) + _JD_UNIX_EPOCH
    rot = (jd - 2398167.4) / 27.2753  # Carrington rotations since 1853-11-09
    return 360.0 * (1.0 - np.mod(rot, 1.0))


def drift_rate(lat_deg):
    """Differential-rotation drift (deg/day) relative to the Carrington grid."""
    s2 = np.sin(np.radians(lat_deg)) ** 2
    a, b, c = HOWARD_ROTATION
    return a + b * s2 + c * s2 * s2 - CARRINGTON_SIDEREAL_DEG_PER_DAY


def mu_of(lat_deg, cmd_deg, b0_deg):
    """Cosine of the heliocentric angle of points (lat, CMD) seen with B0."""
    lat, cmd, b0 = np.radians(lat_deg), np.radians(cmd_deg), np.radians(b0_deg)
    return np.sin(b0) * np.sin(lat) + np.cos(b0) * np.cos(lat) * np.cos(cmd)


def ns_foreshortening(lat_deg, cmd_deg, b0_deg):
    """Image-plane length per unit north-south length on the sphere (0.05 floor)."""
    lat, cmd, b0 = np.radians(lat_deg), np.radians(cmd_deg), np.radians(b0_deg)
    f = np.cos(lat) * np.cos(b0) + np.sin(lat) * np.sin(b0) * np.cos(cmd)
    return np.maximum(f, 0.05)


def ew_foreshortening(cmd_deg):
    """Image-plane length per unit east-west length on the sphere (0.05 floor)."""
    return np.maximum(np.cos(np.radians(cmd_deg)), 0.05)


def cycle_activity(year):
    """Activity of each cycle at decimal ``year``: dict cycle -> array."""
    year = np.asarray(year, dtype=float)
    out = {}
    for cyc, (start, amp) in CYCLES.items():
        x = np.clip(year - start, 0.0, None)
        out[cyc] = amp * x**3 / (np.exp(x**2 / CYCLE_B_YEARS**2) - 0.71) / 3.0
    return out


def hale_leading_sign(cycle, hemisphere):
    """Sign of the leading polarity under Hale's law (cycle 23: + in the north)."""
    odd = (np.asarray(cycle) % 2) == 1
    return np.where(odd, 1, -1) * np.sign(hemisphere)


def rise_days(flux):
    """Onset-to-peak time (days) of a BMR of peak flux ``flux`` (Mx per polarity)."""
    return RISE_DAYS_REF * (np.asarray(flux) / RISE_FLUX_REF) ** RISE_EXP


def decay_days(flux):
    """Peak-to-zero time (days) of the linear decay (rate ∝ flux^0.70)."""
    return DECAY_DAYS_REF * (np.asarray(flux) / RISE_FLUX_REF) ** DECAY_EXP


def final_separation(flux):
    """Final pole separation (Mm)."""
    d = SEP_REF_MM * (np.asarray(flux) / SEP_FLUX_REF) ** SEP_EXP
    return np.clip(d, SEP_FAST_MM + 2.0, SEP_CAP_MM)


def flux_profile(tau, t_rise, t_decay):
    """Flux fraction of peak and rise progress at ``tau`` days after onset.

    Returns
    -------
    frac : ndarray
        Φ(t)/Φ_peak: sin²(π/2·τ/T_rise) while rising, then a linear decay to
        zero over ``t_decay``; 0 before onset.
    x : ndarray
        Rise progress τ/T_rise clipped to [0, 1].
    """
    tau = np.asarray(tau, dtype=float)
    x = np.clip(tau / t_rise, 0.0, 1.0)
    rising = np.sin(0.5 * np.pi * x) ** 2
    decaying = np.clip(1.0 - (tau - t_rise) / t_decay, 0.0, 1.0)
    frac = np.where(tau <= t_rise, rising, decaying)
    return np.where(tau > 0, frac, 0.0), x


def fast_separation(tau):
    """Distance (Mm) covered by the initial fast pole separation after ``tau`` days."""
    s = np.clip(np.asarray(tau, dtype=float), 0.0, SEP_STOP_DAYS) / SEP_SPEED_PEAK_DAYS
    return SEP_FAST_MM * (1.0 - (1.0 + s) * np.exp(-s))


def bmr_state(p, t):
    """Geometry and fluxes of a BMR's two poles at times ``t``.

    Parameters
    ----------
    p : mapping
        BMR parameters (arrays broadcastable with ``t``): ``peak_flux``,
        ``t_onset``, ``rise_time``, ``decay_time``, ``separation``, ``tilt``,
        ``leading_sign``, ``bmr_lat`` (Carrington latitude of the centre),
        ``dlat``, ``dlon`` (centre offset from the patch centre at
        ``t_ref``), ``t_ref`` and ``drift`` (deg/day).
    t : array-like
        Times in days (same origin as ``t_onset``).

    Returns
    -------
    dict of ndarray
        ``flux`` (total per polarity), ``pole_flux`` (in the two poles),
        ``x`` (rise progress), ``frag`` (fraction in fragments), centre
        ``clat``/``clon`` and leading/following pole offsets ``lat_l``,
        ``lon_l``, ``lat_f``, ``lon_f`` (deg from the patch centre), core
        widths ``core_l``/``core_f`` and plage width ``plage`` (Mm), core
        fractions ``fc_l``/``fc_f``.
    """
    t = np.asarray(t, dtype=float)
    tau = t - p["t_onset"]
    frac, x = flux_profile(tau, p["rise_time"], p["decay_time"])
    flux = p["peak_flux"] * frac
    frag = np.where(tau > 0, (1.0 - x) ** FRAGMENT_EXP, 0.0)
    pole_flux = flux * (1.0 - frag)
    grown = np.where(tau <= p["rise_time"], frac, 1.0)
    sep = fast_separation(tau) + (p["separation"] - SEP_FAST_MM) * grown
    tilt = np.radians(p["tilt"]) * x
    hemi = np.sign(p["bmr_lat"] + 1e-9)
    clat = p["dlat"] + 0.0 * t
    clon = p["dlon"] + p["drift"] * (t - p["t_ref"])
    coslat = np.cos(np.radians(p["bmr_lat"]))
    half_w = 0.5 * sep * np.cos(tilt) / (MM_PER_DEG * coslat)
    half_n = -0.5 * sep * np.sin(tilt) * hemi / MM_PER_DEG
    decaying = np.clip((tau - p["rise_time"]) / p["decay_time"], 0.0, 1.0)
    core0 = CORE_SIGMA_MM * (np.maximum(pole_flux, 1e17) / CORE_FLUX_REF) ** CORE_EXP
    plage = PLAGE_WIDTH * CORE_SIGMA_MM * (p["peak_flux"] / CORE_FLUX_REF) ** CORE_EXP
    spot = np.where(tau <= p["rise_time"], 1.0, frac)  # spots dissolve during decay
    return {
        "flux": flux, "pole_flux": pole_flux, "x": x, "frag": frag, "tau": tau,
        "clat": clat, "clon": clon,
        "lat_l": clat + half_n, "lon_l": clon + half_w,
        "lat_f": clat - half_n, "lon_f": clon - half_w,
        "core_l": np.maximum(core0 * CORE_WIDTH[0], 1.0),
        "core_f": np.maximum(core0 * CORE_WIDTH[1], 1.0),
        "plage": plage * (1.0 + 1.5 * decaying),
        "fc_l": CORE_FRACTION[0] * spot, "fc_f": CORE_FRACTION[1] * spot,
    }


def gain(t, amp, period, phase):
    """Smooth multiplicative gain at times ``t`` (days)."""
    return 1.0 + 0.5 * amp * np.sin(2 * np.pi * np.asarray(t) / period + phase)


def saturate(b):
    """Soft saturation of |B| above 3500 G towards 4000 G (in place, float32)."""
    if not (np.nanmax(b, initial=0.0) > SATURATION_G or np.nanmin(b, initial=0.0) < -SATURATION_G):
        return b
    a = np.abs(b)
    over = a > SATURATION_G
    if np.any(over):
        w = SATURATION_MAX_G - SATURATION_G
        a_over = SATURATION_G + w * np.tanh((a[over] - SATURATION_G) / w)
        b[over] = np.sign(b[over]) * a_over
    return b


def power_law_sample(rng, n, slope, lo, hi):
    """``n`` samples of a power law p(x) ∝ x^slope on [lo, hi]."""
    a = slope + 1.0
    u = rng.random(n)
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def power_law_mean(slope, lo, hi):
    """Mean of the power law p(x) ∝ x^slope on [lo, hi]."""
    a, b = slope + 1.0, slope + 2.0
    return (a / b) * (hi**b - lo**b) / (hi**a - lo**a)
