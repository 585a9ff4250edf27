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
from scipy.special import ndtr, ndtri, pdtr

from . import _physics as ph

SPAN_DAYS_DEFAULT = 15.0  # 225 frames x 96 min
CMD_START_RANGE = (-98.0, -84.0)  # patch-centre CMD at frame 0 (deg)
EMERGENCE_CMD_RANGE = (-85.0, 80.0)  # CMD of the patch centre when flux reaches 10 %
CENTRE_SCATTER_DEG = 0.4
BMR_LAT_RANGE_DEG = (2.0, 45.0)  # |latitude| of the tracked regions is clipped to it
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
    abs_lat = np.clip(mean_lat + ph.LAT_SPREAD_DEG * _normal(u[:, 5]), *BMR_LAT_RANGE_DEG)
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
                     tau_limb - (ph.AGE_FLOOR + (1 - ph.AGE_FLOOR) * u[:, 9]) * age_max)
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


# ----------------------------------------------------------------- surrounding activity
#: Slots of surrounding activity per video: nest neighbour, new flux into the tracked
#: region, then up to ``SMALL_MAX`` sub-BMR emergences.
N_CONTEXT = 2 + ph.SMALL_MAX
CONTEXT_KEYS = ("peak_flux", "t_onset", "rise_time", "decay_time", "separation", "tilt",
                "leading_sign", "bmr_lat", "dlat", "dlon", "t_ref", "drift")
_U_CONTEXT = 14 + 7 * ph.SMALL_MAX


def context_seeds(entropy, i):
    """(parameters, rendering) SeedSequences of video ``i``'s surrounding activity.

    Independent of the catalogue and rendering seeds, so ``activity=False`` renders
    exactly the videos of the BMR alone.
    """
    return (np.random.SeedSequence(entropy, spawn_key=(int(i), 2)),
            np.random.SeedSequence(entropy, spawn_key=(int(i), 3)))


def _power_law(u, slope, lo, hi):
    a = slope + 1.0
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def sample_context(entropy, indices, rows, span):
    """Surrounding activity of the videos ``indices`` (see ``_physics``), vectorized.

    Returns a dict of ``ctx_<key>`` arrays (n, N_CONTEXT) of BMR-like parameters
    (``ctx_peak_flux`` 0 for an empty slot; times in days from the central-meridian
    passage of the patch centre; positions in degrees from the patch centre) and the
    per-video summaries ``nest_flux``, ``secondary_flux`` and ``small_emergences``.
    """
    indices = np.asarray(indices, dtype=int)
    n = indices.size
    u = np.array([np.random.default_rng(context_seeds(entropy, i)[0]).random(_U_CONTEXT)
                  for i in indices]).reshape(n, _U_CONTEXT)
    k = N_CONTEXT
    out = {f"ctx_{key}": np.zeros((n, k)) for key in CONTEXT_KEYS}
    out["ctx_leading_sign"] = np.ones((n, k))
    lat0 = rows["lat0"]
    ext = ph.ACTIVITY_EXTENT_DEG
    tau_entry = -90.0 / ph.SYNODIC_DEG_PER_DAY
    drift0, t_ref0 = rows["drift"], rows["t_ref"]

    def put(slot, active, **values):
        for key, v in values.items():
            out[f"ctx_{key}"][:, slot] = np.where(active, v, out[f"ctx_{key}"][:, slot])

    # uniforms: 0 nest?, 3-4 neighbour place, 7-11 and 13 new flux, 12 count of
    # sub-BMR emergences, 14... 7 per sub-BMR emergence (1, 2, 5, 6 unused)
    # nest neighbour: an older region drawn like the pre-existing regions of the
    # catalogue (same flux, age and detection selection), beside the tracked BMR
    nest = u[:, 0] < ph.NEST_FRACTION
    nb = _nest_neighbours(entropy, indices[nest], {k: v[nest] for k, v in rows.items()},
                          u[nest], span)
    for key in CONTEXT_KEYS:
        out[f"ctx_{key}"][nest, 0] = nb[key]

    # new flux emerging into the tracked region while it is on the disk
    flux = _power_law(u[:, 8], ph.SMALL_FLUX_SLOPE, *ph.SMALL_FLUX_RANGE_MX)
    t_lo = np.maximum(tau_entry + 0.5, rows["t_onset"] + 0.2)
    t_end = rows["t_onset"] + rows["rise_time"] + rows["decay_time"]
    t_hi = np.minimum(-tau_entry, t_end - 0.5)
    onset = t_lo + (t_hi - t_lo) * u[:, 9]
    off = ph.SECONDARY_OFFSET * rows["separation"] * np.sqrt(u[:, 10]) / ph.MM_PER_DEG
    ang = 2 * np.pi * u[:, 11]
    coslat = np.cos(np.radians(rows["bmr_lat"]))
    # centre of the tracked region at the onset, plus the offset
    dlat = rows["dlat"] + off * np.sin(ang)
    dlon = rows["dlon"] + drift0 * (onset - t_ref0) + off * np.cos(ang) / coslat
    sec = (u[:, 7] < ph.SECONDARY_FRACTION) & (t_hi > t_lo)
    put(1, sec, peak_flux=flux, t_onset=onset, rise_time=ph.rise_days(flux),
        decay_time=ph.decay_days(flux),
        separation=ph.SMALL_SEP_MM[0] + np.diff(ph.SMALL_SEP_MM)[0] * u[:, 13],
        tilt=ph.JOY_DEG * np.sin(np.radians(np.abs(rows["bmr_lat"]))),
        leading_sign=rows["leading_sign"], bmr_lat=rows["bmr_lat"], dlat=dlat, dlon=dlon,
        t_ref=onset, drift=drift0)

    # sub-BMR emergences anywhere in the patch during the video
    lam = ph.SMALL_PER_VIDEO * span / 15.0
    count = np.minimum(_poisson_n(u[:, 12], lam), ph.SMALL_MAX)
    tau0 = rows["t_start"] - rows["t_cm"]
    for j in range(ph.SMALL_MAX):
        v = u[:, 14 + 7 * j: 21 + 7 * j]
        flux = _power_law(v[:, 0], ph.SMALL_FLUX_SLOPE, *ph.SMALL_FLUX_RANGE_MX)
        onset = tau0 - 1.0 + (span + 1.0) * v[:, 1]
        dlat = ext * (2 * v[:, 2] - 1)
        dlon = ext * (2 * v[:, 3] - 1)
        lat = lat0 + dlat
        put(2 + j, count > j, peak_flux=flux, t_onset=onset, rise_time=ph.rise_days(flux),
            decay_time=ph.decay_days(flux),
            separation=ph.SMALL_SEP_MM[0] + np.diff(ph.SMALL_SEP_MM)[0] * v[:, 4],
            tilt=180.0 * v[:, 5] - 90.0, leading_sign=np.where(v[:, 6] < 0.5, 1, -1),
            bmr_lat=lat, dlat=dlat, dlon=dlon, t_ref=onset, drift=ph.drift_rate(lat))
    out["nest_flux"] = out["ctx_peak_flux"][:, 0].copy()
    out["secondary_flux"] = out["ctx_peak_flux"][:, 1].copy()
    out["small_emergences"] = (out["ctx_peak_flux"][:, 2:] > 0).sum(axis=1).astype(np.int64)
    return out


def _nest_neighbours(entropy, indices, rows, u, span):
    """Older neighbours of the tracked BMRs of videos ``indices`` (dict of (m,) arrays).

    Candidates of the non-emergence population (``candidates``) are placed 3-6 deg
    from the tracked BMR at its date, co-rotating with it, until one is detected by
    the crude detector on the video's daily observations (a region that BARD would
    find, as the tracked pre-existing regions are).
    """
    m = indices.size
    res = {key: np.zeros(m) for key in CONTEXT_KEYS}
    if m == 0:
        return res
    n_u = n_uniforms(span)
    n_days = int(np.floor(span)) + 1
    rngs = [np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(int(i), 2, 1)))
            for i in indices]
    r = ph.NEST_DISTANCE_DEG[0] + np.diff(ph.NEST_DISTANCE_DEG)[0] * u[:, 3]
    ang = 2 * np.pi * u[:, 4]
    ext = ph.ACTIVITY_EXTENT_DEG
    dlat = np.clip(rows["dlat"] + r * np.sin(ang), -ext, ext)
    dlon = np.clip(rows["dlon"] + r * np.cos(ang), -ext, ext)
    todo = np.arange(m)
    for _ in range(_MAX_BATCHES):
        uu = np.concatenate([rngs[i].random((_BATCH, n_u)) for i in todo])
        rep = np.repeat(todo, _BATCH)
        c = candidates(uu[:, :_U_FIXED], np.zeros(rep.size, dtype=bool), (1996, 2011), span)
        for key in ("t_start", "t_cm", "cmd_start", "cycle", "lat0", "t_ref", "drift",
                    "gain_amp", "gain_period", "gain_phase", "blocks"):
            c[key] = rows[key][rep]
        c["dlat"], c["dlon"] = dlat[rep], dlon[rep]
        c["bmr_lat"] = c["lat0"] + c["dlat"]
        abs_lat = np.abs(c["bmr_lat"])
        c["leading_sign"] = (ph.hale_leading_sign(c["cycle"], np.sign(c["bmr_lat"] + 1e-9))
                             * np.where(c["hale"], 1, -1)).astype(int)
        c["tilt"] = np.clip(ph.JOY_DEG * np.sin(np.radians(abs_lat))
                            + ph.TILT_SCATTER_DEG * _normal(uu[:, 8]), -70.0, 85.0)
        jit = 10.0 ** (ph.BARD_JITTER_DEX * _normal(uu[:, _U_FIXED:]))
        jit = jit.reshape(-1, 2, n_days).transpose(1, 0, 2)
        _, det, _, _ = daily_detection(c, span, jitter=jit)
        ok = det.any(axis=1).reshape(-1, _BATCH)
        pick = np.arange(todo.size) * _BATCH + np.argmax(ok, axis=1)
        got = ok.any(axis=1)
        for key in CONTEXT_KEYS:
            res[key][todo[got]] = np.asarray(c[key], dtype=float)[pick[got]]
        todo = todo[~got]
        if todo.size == 0:
            break
    return res  # neighbours never detected stay empty (flux 0)


def _poisson_n(u, lam):
    """Inverse-CDF Poisson draws of mean ``lam`` (up to 20)."""
    cdf = pdtr(np.arange(21), lam)
    return np.searchsorted(cdf, u, side="right").clip(0, 20)
