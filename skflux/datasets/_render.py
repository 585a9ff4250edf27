"""Rendering of one simulated video from its catalogue row (private, vectorized).

Every magnetic feature (BMR poles, plage, emergence fragments, ephemeral
regions, network elements) is an axis-aligned 2-D Gaussian in the
(latitude, longitude) grid, whose widths include the instrument blur
(stretched east-west by 1/cos(CMD) and north-south by the corresponding
foreshortening) and the pixel size, so flux is conserved at any grid
resolution. Gaussians are separable, so a frame with K features is a
(size × K) @ (K × size) matrix product. The network is rendered on a few
snapshots (one per turnover time) that are cross-faded, drifted by
differential rotation and blurred per frame with one FFT along longitude.
"""

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from . import _physics as ph
from ._catalog import CONTEXT_KEYS, available

_F32 = np.float32
N_FRAGMENTS = 8  # per polarity


def pixel_offsets(size, patch_deg):
    """Pixel-centre offsets (deg) from the patch centre."""
    pix = patch_deg / size
    return (np.arange(size) - (size - 1) / 2.0) * pix


def _gaussians(off, centre, sigma, *, lead=False, period=None):
    """Gaussian profiles exp(-0.5 ((off - centre)/sigma)^2), float32.

    ``centre`` and ``sigma`` have shape (B, K); the result is (B, K, S), or
    (B, S, K) when ``lead`` (ready as the left factor of a matrix product).
    With ``period``, distances wrap around (periodic patch).
    """
    c = centre.astype(_F32)
    inv = (1.0 / sigma).astype(_F32)
    o = off.astype(_F32)
    if lead:
        z = o[None, :, None] - c[:, None, :]
        if period is not None:
            z -= _F32(period) * np.rint(z / _F32(period))
        z *= inv[:, None, :]
    else:
        z = o[None, None, :] - c[:, :, None]
        if period is not None:
            z -= _F32(period) * np.rint(z / _F32(period))
        z *= inv[:, :, None]
    z *= z
    z *= _F32(-0.5)
    return np.exp(z, out=z)


def _render_components(off, lat_deg, lon_deg, sig_lat, sig_lon, amp, period=None):
    """Sum of separable Gaussians per frame: arrays (F, K) -> field (F, S, S)."""
    gy = _gaussians(off, lat_deg, sig_lat, lead=True, period=period)
    gy *= amp.astype(_F32)[:, None, :]
    gx = _gaussians(off, lon_deg, sig_lon, period=period)
    return np.matmul(gy, gx)


def _widths(sig_mm, lat_abs, cmd, b0, pix, blur_lon=True):
    """Gaussian widths (deg) in latitude and longitude including blur and pixel size."""
    ns = ph.ns_foreshortening(lat_abs, cmd, b0)
    coslat = np.cos(np.radians(lat_abs))
    box = pix**2 / 12.0
    s_lat = np.sqrt((sig_mm**2 + (ph.BLUR_SIGMA_MM / ns) ** 2) / ph.MM_PER_DEG**2 + box)
    bl = (ph.BLUR_SIGMA_MM / ph.ew_foreshortening(cmd)) ** 2 if blur_lon else 0.0
    s_lon = np.sqrt((sig_mm**2 + bl) / (ph.MM_PER_DEG * coslat) ** 2 + box)
    return s_lat, s_lon


def _amplitude(flux, s_lat, s_lon, lat_abs):
    """Peak field (G) of a Gaussian of ``flux`` Mx with widths in degrees."""
    cm = ph.MM_PER_DEG * 1e8
    area = 2 * np.pi * (s_lat * cm) * (s_lon * cm * np.cos(np.radians(lat_abs)))
    return flux / area


def _bmr_components(row, tau, rng, n_fragments=N_FRAGMENTS):
    """BMR poles, plage and fragments: (lat, lon, sigma_Mm, flux) arrays of shape (F, K)."""
    s = ph.bmr_state(row, tau)
    lead = float(row["leading_sign"])
    lat, lon, sig, flux = [], [], [], []
    for pole, sign in (("l", lead), ("f", -lead)):
        fc = s[f"fc_{pole}"]
        for width, part in ((s[f"core_{pole}"], fc), (s["plage"], 1.0 - fc)):
            lat.append(s[f"lat_{pole}"])
            lon.append(s[f"lon_{pole}"])
            sig.append(width * np.ones_like(tau))
            flux.append(sign * s["pole_flux"] * part)
    # salt-and-pepper fragments streaming into the poles while the flux rises
    coslat = np.cos(np.radians(row["bmr_lat"]))
    radius = 0.45 * row["separation"]
    r = radius * np.sqrt(rng.random((2, n_fragments)))
    a = rng.uniform(0, 2 * np.pi, (2, n_fragments))
    start_lat = r * np.sin(a) / ph.MM_PER_DEG
    start_lon = r * np.cos(a) / (ph.MM_PER_DEG * coslat)
    share = s["flux"] * s["frag"] / n_fragments
    pull = (1.0 - s["x"])[:, None]
    for k, (pole, sign) in enumerate((("l", lead), ("f", -lead))):
        plat, plon = s[f"lat_{pole}"][:, None], s[f"lon_{pole}"][:, None]
        lat.append(plat + (s["clat"][:, None] + start_lat[k] - plat) * pull)
        lon.append(plon + (s["clon"][:, None] + start_lon[k] - plon) * pull)
        sig.append(np.full((tau.size, n_fragments), ph.FRAGMENT_SIGMA_MM))
        flux.append(np.repeat((sign * share)[:, None], n_fragments, axis=1))
    cat = [np.column_stack([np.reshape(v, (tau.size, -1)) for v in arrs])
           for arrs in (lat, lon, sig, flux)]
    return cat


def _context_components(row, tau, rng):
    """Surrounding activity (nest neighbour, new flux, sub-BMR emergences) as (F, K) arrays.

    Each active slot of the video's ``ctx_*`` parameters is a BMR-like region rendered
    like the tracked BMR (fewer fragments for the small ones); slots without flux
    during the video are skipped.
    """
    parts = []
    for k in range(np.size(row["ctx_peak_flux"])):
        flux = row["ctx_peak_flux"][k]
        if flux <= 0:
            continue
        p = {key: row[f"ctx_{key}"][k] for key in CONTEXT_KEYS}
        end = p["t_onset"] + p["rise_time"] + p["decay_time"]
        if end <= tau[0] or p["t_onset"] >= tau[-1]:
            continue
        parts.append(_bmr_components(p, tau, rng, n_fragments=N_FRAGMENTS if k == 0 else 3))
    if not parts:
        return None
    return [np.concatenate([q[i] for q in parts], axis=1) for i in range(4)]


def _ephemeral_components(rng, t_rel, dt, span, patch_deg, lat0):
    """Ephemeral regions active at each frame: (lat, lon, sigma_Mm, flux) arrays (F, K)."""
    n_frames = t_rel.size
    life_max = ph.ER_LIFE_HOURS[1] / 24.0
    rate = ph.ER_PER_PATCH_PER_DAY * (patch_deg / 15.0) ** 2
    n = rng.poisson(rate * (span + life_max))
    tb = rng.uniform(-life_max, span, n)
    life = rng.uniform(*ph.ER_LIFE_HOURS, n) / 24.0
    flux = ph.ER_FLUX_MIN_MX + rng.exponential(ph.ER_FLUX_EFOLD_MX, n)
    clat = rng.uniform(-patch_deg / 2, patch_deg / 2, n)
    clon = rng.uniform(-patch_deg / 2, patch_deg / 2, n)
    theta = rng.uniform(0, 2 * np.pi, n)
    sep = rng.uniform(*ph.ER_SEP_MM, n)
    f0 = np.clip(np.ceil(tb / dt), 0, None).astype(int)
    f1 = np.minimum(np.floor((tb + life) / dt), n_frames - 1).astype(int)
    count = np.clip(f1 - f0 + 1, 0, None)
    idx = np.repeat(np.arange(n), count)
    frame = f0[idx] + (np.arange(idx.size) - np.repeat(np.cumsum(count) - count, count))
    if idx.size == 0:
        z = np.zeros((n_frames, 0))
        return z, z, z, z
    x = (t_rel[frame] - tb[idx]) / life[idx]
    f = flux[idx] * np.sin(np.pi * np.clip(x, 0, 1))
    half = 0.5 * sep[idx] * np.minimum(1.0, 2.0 * x)
    coslat = np.cos(np.radians(lat0 + clat[idx]))
    dlat = half * np.sin(theta[idx]) / ph.MM_PER_DEG
    dlon = half * np.cos(theta[idx]) / (ph.MM_PER_DEG * coslat)
    order = np.argsort(frame, kind="stable")
    frame, idx = frame[order], idx[order]
    f, dlat, dlon = f[order], dlat[order], dlon[order]
    per = np.bincount(frame, minlength=n_frames)
    k = np.arange(frame.size) - np.repeat(np.cumsum(per) - per, per)
    kmax = int(per.max())
    out = [np.zeros((n_frames, 2 * kmax)) for _ in range(4)]
    for j, sgn in enumerate((1.0, -1.0)):
        col = 2 * k + j
        out[0][frame, col] = clat[idx] + sgn * dlat
        out[1][frame, col] = clon[idx] + sgn * dlon
        out[2][frame, col] = ph.ELEMENT_SIGMA_MM
        out[3][frame, col] = sgn * f
    out[2][out[2] == 0] = ph.ELEMENT_SIGMA_MM
    return out


def _network(rng, off, t_rel, span, patch_deg, lat0, cmd_c, tau):
    """Quiet-Sun network (F, S, S) in G (radial field), drifting and blurred east-west."""
    size = off.size
    pix = patch_deg / size
    turn = ph.NETWORK_TURNOVER_DAYS
    n_snap = int(np.ceil(span / turn)) + 2
    coslat0 = np.cos(np.radians(lat0))
    area_mm2 = (patch_deg * ph.MM_PER_DEG) ** 2 * coslat0
    slope = rng.uniform(*ph.NETWORK_SLOPE)
    mean_g = rng.uniform(*ph.NETWORK_MEAN_G)
    n_mean = mean_g * area_mm2 * 1e16 / ph.power_law_mean(slope, *ph.NETWORK_FLUX_RANGE_MX)
    counts = rng.poisson(n_mean, n_snap)
    nmax = int(counts.max())
    # elements gather on the boundaries of supergranular cells: each element sits
    # on a ring of radius ~half a cell around a random cell centre
    n_cells = max(int(round(area_mm2 / ph.CELL_MM**2)), 2)
    cells = rng.uniform(-0.5, 0.5, (n_snap, n_cells, 2)) * patch_deg
    which = rng.integers(0, n_cells, (n_snap, nmax))
    centre = np.take_along_axis(cells, which[..., None], axis=1)
    radius = 0.5 * ph.CELL_MM * (0.85 + 0.3 * rng.random((n_snap, nmax))) / ph.MM_PER_DEG
    angle = rng.uniform(0, 2 * np.pi, (n_snap, nmax))
    pos = np.empty((n_snap, nmax, 2))
    pos[..., 0] = centre[..., 0] + radius * np.sin(angle)
    pos[..., 1] = centre[..., 1] + radius * np.cos(angle) / coslat0
    flux = ph.power_law_sample(rng, n_snap * nmax, slope, *ph.NETWORK_FLUX_RANGE_MX)
    flux = flux.reshape(n_snap, nmax) * np.where(rng.random((n_snap, nmax)) < 0.5, 1.0, -1.0)
    flux[np.arange(nmax)[None, :] >= counts[:, None]] = 0.0
    # bin the elements into pixels (periodic patch), then blur by their width and the
    # north-south resolution (east-west resolution is applied per frame below)
    iy = np.floor((pos[..., 0] + patch_deg / 2) / pix).astype(int) % size
    ix = np.floor((pos[..., 1] + patch_deg / 2) / pix).astype(int) % size
    flat = (np.arange(n_snap)[:, None] * size + iy) * size + ix
    px_area = (pix * ph.MM_PER_DEG * 1e8) ** 2 * coslat0  # cm^2
    snaps = np.bincount(flat.ravel(), weights=(flux / px_area).ravel(),
                        minlength=n_snap * size * size).reshape(n_snap, size, size)
    sig_lat = np.hypot(ph.ELEMENT_SIGMA_MM, ph.BLUR_SIGMA_MM) / ph.MM_PER_DEG / pix
    sig_lon = ph.ELEMENT_SIGMA_MM / (ph.MM_PER_DEG * coslat0) / pix
    snaps = ndimage.gaussian_filter(snaps.astype(_F32), (0, sig_lat, sig_lon), mode="wrap",
                                    truncate=3.0)
    # cross-fade consecutive snapshots (variance preserving)
    s = t_rel / turn + 0.5
    k = np.floor(s).astype(int)
    w = (s - k).astype(_F32)
    wa, wb = np.cos(0.5 * np.pi * w), np.sin(0.5 * np.pi * w)
    mix = snaps[k]
    mix *= wa[:, None, None]
    mix += wb[:, None, None] * snaps[k + 1]
    # drift by differential rotation (per latitude row) and blur east-west, in Fourier space
    freq = np.fft.rfftfreq(size).astype(_F32)
    shift_px = ((ph.drift_rate(lat0 + off)[None, :] * tau[:, None]) / pix).astype(_F32)
    blur_px = (ph.BLUR_SIGMA_MM / (ph.MM_PER_DEG * coslat0 * ph.ew_foreshortening(cmd_c))) / pix
    gain = np.exp(-2 * np.pi**2 * blur_px[:, None] ** 2 * freq[None, :] ** 2).astype(_F32)
    spec = sfft.rfft(mix, axis=-1)
    angle = shift_px[:, :, None] * (_F32(-2 * np.pi) * freq)[None, None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    cos *= gain[:, None, :]
    sin *= gain[:, None, :]
    re, im = spec.real.copy(), spec.imag.copy()
    spec.real = re * cos - im * sin
    spec.imag = re * sin + im * cos
    return sfft.irfft(spec, n=size, axis=-1)


def _noise(rng, shape, sigma, cmd_c, pix):
    """Gaussian noise, white at disk centre, correlated east-west near the limb.

    Near the limb one image pixel covers several Carrington pixels east-west,
    so the noise is smoothed along longitude there (keeping its per-pixel
    standard deviation).
    """
    n_frames, size, _ = shape
    noise = rng.standard_normal(shape, dtype=_F32)
    noise *= _F32(sigma)
    corr_px = 0.35 * (ph.PIXEL_DEG_NATIVE / pix) / ph.ew_foreshortening(cmd_c)
    near_limb = np.flatnonzero(corr_px >= 0.5)
    if near_limb.size == 0:
        return noise
    c = corr_px[near_limb]
    freq_full = np.fft.fftfreq(size)
    h_full = np.exp(-2 * np.pi**2 * c[:, None] ** 2 * freq_full[None, :] ** 2)
    norm = np.sqrt(np.mean(h_full**2, axis=1))  # Parseval: keeps the per-pixel std
    freq = np.fft.rfftfreq(size)
    h = (np.exp(-2 * np.pi**2 * c[:, None] ** 2 * freq[None, :] ** 2) / norm[:, None])
    spec = sfft.rfft(noise[near_limb], axis=-1)
    spec *= h.astype(_F32)[:, None, :]
    noise[near_limb] = sfft.irfft(spec, n=size, axis=-1)
    return noise


def render_video(row, seed, *, n_frames, size, cadence_days, patch_deg, noise, missing,
                 quiet_sun, activity=False, context_seed=None):
    """Raw field (F, S, S) float32 with NaN off-disk and on unobserved frames, and ``observed``.

    Parameters
    ----------
    row : mapping
        One catalogue row (scalars; ``blocks`` an array (2, 2)).
    seed : numpy.random.SeedSequence
        The video's rendering seed.
    activity : bool
        Render the surrounding activity (``ctx_*`` entries of ``row``), drawing its
        fragments from ``context_seed``.
    """
    rng = np.random.default_rng(seed)
    off = pixel_offsets(size, patch_deg)
    pix = patch_deg / size
    t_rel = np.arange(n_frames) * cadence_days  # days since frame 0
    t_abs = row["t_start"] + t_rel
    tau = t_abs - row["t_cm"]
    span = n_frames * cadence_days
    cmd_c = ph.SYNODIC_DEG_PER_DAY * tau
    b0 = ph.b0_angle(t_abs)
    lat0 = float(row["lat0"])
    lat_pix = lat0 + off
    sb, cb = np.sin(np.radians(b0)), np.cos(np.radians(b0))
    sl, cl = np.sin(np.radians(lat_pix)), np.cos(np.radians(lat_pix))
    c = np.cos(np.radians(cmd_c[:, None] + off[None, :])).astype(_F32)
    mu = (cb[:, None] * cl[None, :]).astype(_F32)[:, :, None] * c[:, None, :]
    mu += (sb[:, None] * sl[None, :]).astype(_F32)[:, :, None]

    parts = _bmr_components(row, tau, rng)
    if activity:
        extra = _context_components(row, tau, np.random.default_rng(context_seed))
        if extra is not None:
            parts = [np.concatenate([p, e], axis=1) for p, e in zip(parts, extra)]
    if quiet_sun:
        er = _ephemeral_components(rng, t_rel, cadence_days, span, patch_deg, lat0)
        parts = [np.concatenate([p, e], axis=1) for p, e in zip(parts, er)]
    lat, lon, sig, flux = parts
    lat_abs = lat0 + lat
    cmd = cmd_c[:, None] + lon
    s_lat, s_lon = _widths(sig, lat_abs, cmd, b0[:, None], pix)
    amp = _amplitude(flux, s_lat, s_lon, lat_abs)
    field = _render_components(off, lat, lon, s_lat, s_lon, amp)
    if quiet_sun:
        field += _network(rng, off, t_rel, span, patch_deg, lat0, cmd_c, tau)

    field *= mu
    g = ph.gain(t_abs, row["gain_amp"], row["gain_period"], row["gain_phase"]).astype(_F32)
    field *= g[:, None, None]
    ph.saturate(field)
    if noise:
        sigma = float(noise) * min(1.0, ph.PIXEL_DEG_NATIVE / pix)
        field += _noise(rng, field.shape, sigma, cmd_c, pix)
    np.copyto(field, np.nan, where=mu <= 0)

    u_missing = rng.random(n_frames)
    # a frame observes the patch when the instrument took it and the patch is on the disk
    observed = (mu > 0).any(axis=(1, 2))
    if missing:
        observed &= available(t_abs, row["blocks"]) & (u_missing >= row["missing_rate"])
    field[~observed] = np.nan
    return field, observed


def emergence_frame(row, n_frames, cadence_days):
    """First frame at or after the time the flux reaches 10 % of peak, -1 when none."""
    if not row["true_label"]:
        return -1
    tau0 = row["t_start"] - row["t_cm"]
    f = int(np.ceil((row["tau10"] - tau0) / cadence_days - 1e-9))
    return f if 0 <= f < n_frames else -1


def preprocess(raw, observed):
    """The project's preparation (gap filling, padding, off-disk 0 G) of one raw video."""
    from ..preprocessing import make_preprocessor

    if not observed.any():  # nothing of the patch was seen: an all-background video
        return np.zeros_like(raw)
    return make_preprocessor(n_frames=raw.shape[0], copy=False).fit_transform(raw[None])[0]
