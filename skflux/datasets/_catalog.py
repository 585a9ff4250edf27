"""Per-video BMR catalogue: cheap, deterministic parameters of every simulated video (private).

Video ``i`` of a data set with root entropy ``E`` is drawn from
``SeedSequence(E, spawn_key=(i,))``: its first child seeds the catalogue
row (this module), its second the rendering (``_render``). A video therefore
depends only on ``(E, i)`` and on the physical options, never on how many
videos are generated or on the pixel/frame sampling, so ``make_flux_emergence``
and ``write_flux_emergence`` give identical videos and ``n_videos=10`` is a
prefix of ``n_videos=100``.
"""

import functools
import numbers

import numpy as np
from scipy.special import ndtr, ndtri

from . import _physics as ph

SPAN_DAYS_DEFAULT = 15.0  # 225 frames x 96 min
CMD_START_RANGE = (-98.0, -84.0)  # patch-centre CMD at frame 0 (deg)
EMERGENCE_CMD_RANGE = (-85.0, 80.0)  # CMD of the patch centre when flux reaches 10 %
CENTRE_SCATTER_DEG = 0.4
_BATCH = 8
_MAX_BATCHES = 50

REASON_EAST = "emerged east of -60 deg: first detected east of -60 deg"
REASON_ROTATED = "rotated in: first daily detection already west of -60 deg"
REASON_LATE = "pre-existing region detected late (weak or decaying near the limb)"


def root_entropy(random_state):
    """An integer entropy for :class:`numpy.random.SeedSequence` from ``random_state``."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError("random_state must be None, an int or a numpy Generator; got a bool")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative; got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {type(random_state).__name__}"
    )


def video_seeds(entropy, i):
    """(catalogue, render) SeedSequences of video ``i``."""
    ss = np.random.SeedSequence(entropy, spawn_key=(int(i),))
    return ss.spawn(2)


@functools.lru_cache(maxsize=16)
def _date_grid(year_lo, year_hi, span_days):
    """Daily grid of frame-0 dates and its cumulative sampling density."""
    lo = np.datetime64(f"{year_lo:04d}-01-01")
    hi = np.datetime64(f"{year_hi + 1:04d}-01-01")
    days = np.arange(lo, hi, np.timedelta64(1, "D"))
    d = ph.days_since_epoch(days)
    mid = d + 0.5 * span_days
    act = sum(ph.cycle_activity(ph.decimal_year(mid)).values())
    act = act + 0.03 * max(float(np.max(act)), 1e-9)  # BMRs exist at minimum too
    avail = available(mid)
    density = act * avail
    if not np.any(density > 0):
        raise ValueError(
            f"years=({year_lo}, {year_hi}) holds no simulated MDI observations: MDI observed "
            f"{ph.MDI_START} to {ph.MDI_END}"
        )
    cdf = np.cumsum(density)
    return d, cdf / cdf[-1]


def available(days, blocks=None):
    """Whether MDI data exist at float days since 1970 (era, SOHO gaps, blocks)."""
    days = np.asarray(days, dtype=float)
    ok = (days >= ph.days_since_epoch(ph.MDI_START)) & (days < ph.days_since_epoch(ph.MDI_END))
    for a, b in ph.SOHO_GAPS:
        ok &= ~((days >= ph.days_since_epoch(a)) & (days < ph.days_since_epoch(b)))
    if blocks is not None:
        for start, length in blocks:
            if np.isfinite(start):
                ok &= ~((days >= start) & (days < start + length))
    return ok


_N_DAYS_MAX = 40  # daily observations per video handled by the detector
_U_FIXED = 22  # uniforms per candidate before the detection jitter


def n_uniforms(span):
    """Uniform variates each candidate consumes."""
    return _U_FIXED + 2 * (int(np.floor(span)) + 1)


def _normal(u):
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def _poisson(u, lam):
    """Inverse-CDF Poisson draws (small ``lam``), capped at 2."""
    p0 = np.exp(-lam)
    p1 = p0 * (1 + lam)
    return np.where(u < p0, 0, np.where(u < p1, 1, 2))


def candidates(u, emergence, years, span):
    """Candidate BMR videos from uniforms ``u`` (m, n_uniforms) (vectorized).

    ``emergence`` is a bool array (m,) giving each candidate's true class.
    """
    m = u.shape[0]
    d, cdf = _date_grid(int(years[0]), int(years[1]), float(span))
    k = np.searchsorted(cdf, u[:, 0], side="right").clip(0, d.size - 1)
    t_start = d[k] + u[:, 1]  # any time of day
    cmd_start = CMD_START_RANGE[0] + (CMD_START_RANGE[1] - CMD_START_RANGE[0]) * u[:, 2]
    t_cm = t_start - cmd_start / ph.SYNODIC_DEG_PER_DAY
    year = ph.decimal_year(t_cm)
    acts = ph.cycle_activity(year)
    cycles = np.array(list(acts))
    w = np.stack([acts[c] for c in cycles], axis=1) + 1e-12
    cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    cycle = cycles[(u[:, 3][:, None] > cum).sum(axis=1).clip(0, cycles.size - 1)]
    hemi = np.where(u[:, 4] < 0.5, 1.0, -1.0)
    starts = np.array([ph.CYCLES[int(c)][0] for c in cycles])
    x = np.clip(year - starts[np.searchsorted(cycles, cycle)], 0.0, None)
    mean_lat = ph.LAT_START_DEG * np.exp(-x / ph.LAT_EFOLD_YEARS)
    abs_lat = np.clip(mean_lat + ph.LAT_SPREAD_DEG * _normal(u[:, 5]), 2.0, 45.0)
    bmr_lat = hemi * abs_lat
    hale = u[:, 6] >= ph.ANTI_HALE_FRACTION
    lead = ph.hale_leading_sign(cycle, hemi) * np.where(hale, 1, -1)
    lo, hi = np.log10(ph.FLUX_RANGE_MX)
    mu, s = np.log10(ph.FLUX_MEDIAN_MX), ph.FLUX_DEX
    a, b = ndtr((lo - mu) / s), ndtr((hi - mu) / s)
    flux = 10.0 ** (mu + s * _normal(a + (b - a) * u[:, 7]))
    rise, decay = ph.rise_days(flux), ph.decay_days(flux)
    tilt = np.clip(ph.JOY_DEG * np.sin(np.radians(abs_lat))
                   + ph.TILT_SCATTER_DEG * _normal(u[:, 8]), -70.0, 85.0)
    cmd10 = EMERGENCE_CMD_RANGE[0] + (EMERGENCE_CMD_RANGE[1] - EMERGENCE_CMD_RANGE[0]) * u[:, 9]
    tau_limb = -90.0 / ph.SYNODIC_DEG_PER_DAY
    age_max = rise * (1.0 - ph.X10) + 0.75 * decay
    tau10 = np.where(emergence, cmd10 / ph.SYNODIC_DEG_PER_DAY,
                     tau_limb - (0.2 + 0.8 * u[:, 9]) * age_max)
    dlat = CENTRE_SCATTER_DEG * _normal(u[:, 10])
    dlon = CENTRE_SCATTER_DEG * _normal(u[:, 11])
    n_blocks = _poisson(u[:, 12], ph.MISSING_BLOCK_RATE_PER_DAY * span)
    blocks = np.full((m, 2, 2), np.nan)
    for j in range(2):
        has = n_blocks > j
        start = t_start + span * u[:, 13 + 2 * j]
        length = ph.MISSING_BLOCK_DAYS[0] + np.diff(ph.MISSING_BLOCK_DAYS)[0] * u[:, 14 + 2 * j]
        blocks[has, j, 0] = start[has]
        blocks[has, j, 1] = length[has]

    def _range(r, v):
        return r[0] + (r[1] - r[0]) * v

    return {
        "t_start": t_start, "t_cm": t_cm, "cmd_start": cmd_start, "cycle": cycle,
        "lat0": bmr_lat - dlat, "lon0": ph.carrington_cm_longitude(t_cm),
        "bmr_lat": bmr_lat, "hale": hale, "leading_sign": lead.astype(int),
        "peak_flux": flux, "rise_time": rise, "decay_time": decay,
        "separation": ph.final_separation(flux), "tilt": tilt,
        "tau10": tau10, "t_onset": tau10 - ph.X10 * rise,
        "t_ref": np.clip(tau10, 0.0, None), "dlat": dlat, "dlon": dlon,
        "drift": ph.drift_rate(bmr_lat),
        "gain_amp": _range(ph.GAIN_PEAK_TO_PEAK, u[:, 17]),
        "gain_period": _range(ph.GAIN_PERIOD_DAYS, u[:, 18]),
        "gain_phase": 2 * np.pi * u[:, 19],
        "missing_rate": _range(ph.MISSING_RANDOM, u[:, 20]),
        "blocks": blocks,
        "true_label": np.asarray(emergence).astype(int),
    }


def _segment(u):
    """Part of a unit disk on the near side of a chord ``u`` radii beyond its centre.

    Returns the area fraction of the disk with x <= -u (x pointing outwards,
    i.e. the part still inside the cutoff when the disk centre lies ``u``
    radii outside it) and how far that part's centroid lies inwards of the
    disk centre, in radii.
    """
    uc = np.clip(u, -1.0, 1.0)
    root = np.sqrt(1.0 - uc**2)
    frac_in = (np.arccos(uc) - uc * root) / np.pi  # part with x >= u, i.e. x' <= -u
    shift = np.where(frac_in > 1e-9, 2.0 * root**3 / (3.0 * np.pi * np.maximum(frac_in, 1e-9)),
                     0.0)
    return frac_in, shift


def daily_detection(c, span, *, jitter=None, thresholds=(ph.BARD_LOW_G, ph.BARD_HIGH_G),
                    min_area=ph.BARD_MIN_AREA_MM2, max_angle=ph.BARD_MAX_ANGLE_DEG,
                    track_back=1):
    """BARD-like detection of each candidate on its daily (00:00 UT) observations.

    Each pole is a Gaussian core (plus plage) blurred by the instrument; the
    detector sees the 1/μ-corrected field, ignores the part of the pole
    beyond ``max_angle`` from disk centre, and finds the pole when the
    remaining part reaches ``thresholds[1]`` and covers at least ``min_area``
    Mm² above ``thresholds[0]``. The BMR is detected when both poles are
    found; its longitude is the mean of the poles' detected-part centroids.

    Returns
    -------
    day_tau : ndarray (m, n_days)
        Daily times relative to the central-meridian passage (NaN padding).
    detected : ndarray of bool (m, n_days)
    visible : ndarray of bool (m, n_days)
        Observed, with both poles' centres within ``max_angle``.
    lon : ndarray (m, n_days)
        Central-meridian distance of the detected BMR (deg).
    """
    lo_thr, hi_thr = thresholds
    m = c["t_start"].size
    n_days = int(np.floor(span)) + 1
    first = np.ceil(c["t_start"])
    day_abs = first[:, None] + np.arange(n_days)[None, :]
    inside = day_abs < (c["t_start"] + span)[:, None]
    tau = day_abs - c["t_cm"][:, None]
    p = {k: c[k][:, None] for k in ("peak_flux", "t_onset", "rise_time", "decay_time",
                                     "separation", "tilt", "bmr_lat", "dlat", "dlon",
                                     "t_ref", "drift")}
    s = ph.bmr_state(p, tau)
    blocks = c["blocks"]
    obs = inside & available(day_abs)
    for j in range(blocks.shape[1]):
        start, length = blocks[:, j, 0:1], blocks[:, j, 1:2]
        obs &= ~((day_abs >= start) & (day_abs < start + length))  # NaN compares False
    b0 = ph.b0_angle(day_abs)
    cmd_c = ph.SYNODIC_DEG_PER_DAY * tau
    g = ph.gain(day_abs, c["gain_amp"][:, None], c["gain_period"][:, None],
                c["gain_phase"][:, None])
    if jitter is None:
        jitter = np.ones((2, m, n_days))
    cos_max = np.cos(np.radians(max_angle))
    sb0 = np.sin(np.radians(b0))
    cb0 = np.cos(np.radians(b0))
    found, centre_in, pole_lon = [], [], []
    for k, pole in enumerate(("l", "f")):
        lat = c["lat0"][:, None] + s[f"lat_{pole}"]
        cmd = cmd_c + s[f"lon_{pole}"]
        slat, clat = np.sin(np.radians(lat)), np.cos(np.radians(lat))
        lam_max = np.degrees(np.arccos(np.clip((cos_max - sb0 * slat) / (cb0 * clat), -1, 1)))
        bx = ph.BLUR_SIGMA_MM / ph.ew_foreshortening(cmd)
        by = ph.BLUR_SIGMA_MM / ph.ns_foreshortening(lat, cmd, b0)
        core, fc = s[f"core_{pole}"], s[f"fc_{pole}"]
        sx, sy = np.hypot(core, bx), np.hypot(core, by)
        px, py = np.hypot(s["plage"], bx), np.hypot(s["plage"], by)
        peak = s["pole_flux"] * 1e-16 / (2 * np.pi) * (fc / (sx * sy) + (1 - fc) / (px * py))
        peak = peak * g * jitter[k]
        ln = np.log(np.maximum(peak, 1e-9) / lo_thr)
        s_lon = sx / (ph.MM_PER_DEG * clat)  # deg
        r_lon = s_lon * np.sqrt(2.0 * np.maximum(ln, 1e-9))  # threshold radius (deg)
        u = (np.abs(cmd) - lam_max) / r_lon  # chord distance (radii) outward
        frac_in, shift = _segment(u)
        peak_in = peak * np.exp(-0.5 * (np.clip(u, 0, None) * r_lon / s_lon) ** 2)
        area_in = 2 * np.pi * sx * sy * np.maximum(ln, 0.0) * frac_in
        found.append((peak_in >= hi_thr) & (area_in >= min_area) & np.isfinite(u))
        centre_in.append(np.abs(cmd) <= lam_max)
        pole_lon.append(cmd - np.sign(cmd) * shift * r_lon * (u > -1))
    bipolar = found[0] & found[1] & obs
    single = (found[0] | found[1]) & obs
    if track_back > 0:
        # tracking back in time: days before the first bipolar detection on which
        # at least one polarity of the same region is found, without a break
        first_bi = np.where(bipolar.any(axis=1), np.argmax(bipolar, axis=1), n_days)
        day = np.arange(n_days)[None, :]
        before = day < first_bi[:, None]
        # a day qualifies if it and every later day up to first_bi have a single detection
        run = np.flip(np.cumprod(np.flip(single | ~before, axis=1), axis=1), axis=1) > 0
        near = day >= (first_bi - int(track_back))[:, None]
        detected = bipolar | (before & near & run & single & (first_bi < n_days)[:, None])
    else:
        detected = bipolar
    visible = centre_in[0] & centre_in[1] & obs
    tau = np.where(inside, tau, np.nan)
    both = found[0] & found[1]
    lon = np.where(both, 0.5 * (pole_lon[0] + pole_lon[1]),
                   np.where(found[0], pole_lon[0], pole_lon[1]))
    return tau, detected, visible, lon


def crude_from_detection(true_label, tau, detected, visible, lon, west_of):
    """First detection, crude label and mislabel reason of each candidate."""
    m = tau.shape[0]
    any_det = detected.any(axis=1)
    j = np.argmax(detected, axis=1)
    rows = np.arange(m)
    first_lon = np.where(any_det, lon[rows, j], np.nan)
    first_tau = np.where(any_det, tau[rows, j], np.nan)
    label = (first_lon > west_of).astype(int)
    first_vis = np.argmax(visible, axis=1)
    reason = np.full(m, "", dtype=object)
    wrong = any_det & (label != true_label)
    reason[wrong & (true_label == 1)] = REASON_EAST
    rot = wrong & (true_label == 0)
    reason[rot & (j <= first_vis)] = REASON_ROTATED
    reason[rot & (j > first_vis)] = REASON_LATE
    return any_det, first_lon, first_tau, label, reason


def sample_catalog(entropy, indices, emergence_fraction, years, span,
                   west_of=ph.BARD_WEST_OF_DEG, detection=None):
    """Catalogue of the videos ``indices`` (dict of arrays), vectorized over videos.

    Each video draws blocks of ``_BATCH`` candidates of its class from its own
    catalogue seed until one is detected by the crude detector (the real
    catalogue only holds detected BMRs); the first detected candidate is kept.
    """
    indices = np.asarray(indices, dtype=int)
    n = indices.size
    n_u = n_uniforms(span)
    n_days = int(np.floor(span)) + 1
    rngs = [np.random.default_rng(video_seeds(entropy, i)[0]) for i in indices]
    emergence = np.array([r.random() < emergence_fraction for r in rngs], dtype=bool)
    out = None
    todo = np.arange(n)
    detection = detection or {}
    for _ in range(_MAX_BATCHES):
        u = np.concatenate([rngs[i].random((_BATCH, n_u)) for i in todo])
        em = np.repeat(emergence[todo], _BATCH)
        c = candidates(u[:, :_U_FIXED], em, years, span)
        jit = 10.0 ** (ph.BARD_JITTER_DEX * _normal(u[:, _U_FIXED:]))
        jit = jit.reshape(-1, 2, n_days).transpose(1, 0, 2)
        tau, det, vis, lon = daily_detection(c, span, jitter=jit, **detection)
        any_det, first_lon, first_tau, label, reason = crude_from_detection(
            c["true_label"], tau, det, vis, lon, west_of)
        ok = any_det.reshape(-1, _BATCH)
        pick = np.arange(todo.size) * _BATCH + np.argmax(ok, axis=1)
        got = ok.any(axis=1)
        c.update(first_longitude=first_lon, first_detection=first_tau, label=label,
                 mislabel_reason=reason, jitter=jit.transpose(1, 0, 2))
        if out is None:
            out = {k: np.empty((n,) + np.shape(v)[1:], dtype=np.asarray(v).dtype)
                   for k, v in c.items()}
        for k, v in c.items():
            out[k][todo[got]] = np.asarray(v)[pick[got]]
        todo = todo[~got]
        if todo.size == 0:
            return out
    raise RuntimeError(  # pragma: no cover - needs absurd detection settings
        "could not draw BMRs that the crude detector finds; relax the detection settings"
    )
