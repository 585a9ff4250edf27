"""Rendering of one simulated video from its catalogue row (private, vectorized).

Resolved magnetic features (spot cores, emergence fragments, ephemeral
regions) are axis-aligned 2-D Gaussians in the (latitude, longitude) grid,
whose widths include the instrument's resolution (PSF, image pixel and
resampling; stretched east-west by 1/cos(CMD) and north-south by the
corresponding foreshortening) and the pixel size, so flux is conserved at
any grid resolution. Gaussians are separable, so a frame with K features is
a (size × K) @ (K × size) matrix product. Unresolved plage elements are
shared bilinearly among pixels and blurred per frame with one 2-D FFT, at
a cost independent of their number. The network is rendered on a few
snapshots (one per turnover time) that are cross-faded, drifted by
differential rotation and blurred per frame with one FFT along longitude.
The noise is white noise filtered per frame as the remapping to the
Carrington grid correlates it.
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
    s_lat = np.sqrt((sig_mm**2 + (ph.RESOLUTION_SIGMA_MM / ns) ** 2) / ph.MM_PER_DEG**2 + box)
    bl = (ph.RESOLUTION_SIGMA_MM / ph.ew_foreshortening(cmd)) ** 2 if blur_lon else 0.0
    s_lon = np.sqrt((sig_mm**2 + bl) / (ph.MM_PER_DEG * coslat) ** 2 + box)
    return s_lat, s_lon


def _amplitude(flux, s_lat, s_lon, lat_abs):
    """Peak field (G) of a Gaussian of ``flux`` Mx with widths in degrees."""
    cm = ph.MM_PER_DEG * 1e8
    area = 2 * np.pi * (s_lat * cm) * (s_lon * cm * np.cos(np.radians(lat_abs)))
    return flux / area


def _n_plage_elements(peak_flux):
    """Plage elements per polarity of a region of ``peak_flux`` Mx (fixed over its life).

    One element per ``PLAGE_ELEMENT_MX`` of the plage's share (about half) of the
    peak flux, within ``PLAGE_ELEMENTS``; 0 means a smooth envelope instead.
    """
    if ph.PLAGE_ELEMENTS[1] == 0:
        return 0
    n = np.rint(0.5 * float(peak_flux) / ph.PLAGE_ELEMENT_MX)
    return int(np.clip(n, ph.PLAGE_ELEMENTS[0], ph.PLAGE_ELEMENTS[1]))


def _bmr_components(row, tau, rng, n_fragments=N_FRAGMENTS):
    """BMR poles, plage and fragments: (lat, lon, sigma_Mm, flux) arrays of shape (F, K).

    Each pole is a compact core (the spot and its surroundings) plus plage made
    of discrete flux elements scattered around it (a Gaussian envelope whose
    width grows while the region decays, so decaying plage disperses into
    separate elements). While the region emerges, part of its flux is in
    ``n_fragments`` small bipoles that appear near the region's centre, each
    with both polarities side by side, and stream apart towards the two poles
    where they coalesce.
    """
    s = ph.bmr_state(row, tau)
    lead = float(row["leading_sign"])
    coslat = np.cos(np.radians(row["bmr_lat"]))
    n_plage = _n_plage_elements(row["peak_flux"])
    lat, lon, sig, flux = [], [], [], []
    for pole, sign in (("l", lead), ("f", -lead)):
        fc = s[f"fc_{pole}"]
        lat.append(s[f"lat_{pole}"])
        lon.append(s[f"lon_{pole}"])
        sig.append(s[f"core_{pole}"] * np.ones_like(tau))
        flux.append(sign * s["pole_flux"] * fc)
        if n_plage == 0:  # plage as one smooth envelope (the model before the elements)
            lat.append(s[f"lat_{pole}"])
            lon.append(s[f"lon_{pole}"])
            sig.append(s["plage"])
            flux.append(sign * s["pole_flux"] * (1.0 - fc))
            continue
        # plage: elements along arcs of supergranular cell boundaries; the cells sit at
        # fixed offsets (in units of the envelope width) from the pole and spread apart
        # as the envelope widens while the region decays
        n_cells = max(1, int(round(n_plage / ph.PLAGE_PER_CELL)))
        u = rng.standard_normal((2, n_cells))
        which = rng.integers(0, n_cells, n_plage)
        angle = (rng.uniform(0, 2 * np.pi, n_cells)[which]
                 + ph.PLAGE_ARC * rng.uniform(-1.0, 1.0, n_plage))
        ring = 0.5 * ph.CELL_MM * (0.85 + 0.3 * rng.random(n_plage))
        w = rng.lognormal(0.0, ph.PLAGE_ELEMENT_SPREAD, n_plage)
        w /= w.sum()
        width = s["plage"][:, None]  # Mm, grows while the region decays
        dy = u[0, which] * width + ring * np.sin(angle)
        dx = u[1, which] * width + ring * np.cos(angle)
        lat.append(s[f"lat_{pole}"][:, None] + dy / ph.MM_PER_DEG)
        lon.append(s[f"lon_{pole}"][:, None] + dx / (ph.MM_PER_DEG * coslat))
        sig.append(np.full((tau.size, n_plage), ph.PLAGE_ELEMENT_SIGMA_MM))
        flux.append((sign * s["pole_flux"] * (1.0 - fc))[:, None] * w)
    # emergence: small bipoles born near the centre, streaming apart into the poles
    radius = 0.45 * row["separation"]
    r = radius * np.sqrt(rng.random(n_fragments))
    a = rng.uniform(0, 2 * np.pi, n_fragments)
    start_lat = r * np.sin(a) / ph.MM_PER_DEG
    start_lon = r * np.cos(a) / (ph.MM_PER_DEG * coslat)
    share = s["flux"] * s["frag"] / n_fragments
    pull = (1.0 - s["x"])[:, None]
    for pole, sign in (("l", lead), ("f", -lead)):
        plat, plon = s[f"lat_{pole}"][:, None], s[f"lon_{pole}"][:, None]
        lat.append(plat + (s["clat"][:, None] + start_lat - plat) * pull)
        lon.append(plon + (s["clon"][:, None] + start_lon - plon) * pull)
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
    sig_lat = np.hypot(ph.ELEMENT_SIGMA_MM, ph.RESOLUTION_SIGMA_MM) / ph.MM_PER_DEG / pix
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
    blur_px = ph.RESOLUTION_SIGMA_MM / (ph.MM_PER_DEG * coslat0 * ph.ew_foreshortening(cmd_c))
    blur_px /= pix
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


def _grid_size(size, pad):
    """Side of the padded grid of the spectral overlay (a fast FFT length)."""
    return sfft.next_fast_len(size + 2 * pad, real=True)


def _points_spectrum(off, lat, lon, amp, lat0, cmd_c, b0, pix, sig_mm, n, pad):
    """Spectrum (F, n, n//2+1) of unresolved elements as the instrument sees them.

    Each element's field ``amp`` (G·pixel: flux over pixel area, already
    projected and gained) is shared bilinearly among the four nearest pixels
    of a padded grid (flux conserving, sub-pixel positions); its spectrum is
    multiplied per frame by a Gaussian of the element's width and the
    resolution, stretched by the foreshortening at the patch centre. The cost
    does not grow with the number of elements.
    """
    n_frames = lat.shape[0]
    y = (lat - off[0]) / pix + pad
    x = (lon - off[0]) / pix + pad
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = y - y0, x - x0
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    fr = np.arange(n_frames)[:, None]
    grid = np.zeros(n_frames * n * n, dtype=_F32)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):  # one corner at a time: memory stays small
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            ok = (yy >= 0) & (yy < n) & (xx >= 0) & (xx < n) & (amp != 0)
            np.add.at(grid, ((fr * n + yy) * n + xx)[ok], (amp * wy * wx)[ok].astype(_F32))
    grid = grid.reshape(n_frames, n, n)
    coslat0 = np.cos(np.radians(lat0))
    ns = ph.ns_foreshortening(lat0, cmd_c, b0)
    ew = ph.ew_foreshortening(cmd_c)
    sy = np.sqrt(sig_mm**2 + (ph.RESOLUTION_SIGMA_MM / ns) ** 2) / ph.MM_PER_DEG / pix
    sx = np.sqrt(sig_mm**2 + (ph.RESOLUTION_SIGMA_MM / ew) ** 2) / (ph.MM_PER_DEG * coslat0) / pix
    ky, kx = np.fft.fftfreq(n), np.fft.rfftfreq(n)
    hy = np.exp(-2 * np.pi**2 * sy[:, None] ** 2 * ky[None, :] ** 2).astype(_F32)
    hx = np.exp(-2 * np.pi**2 * sx[:, None] ** 2 * kx[None, :] ** 2).astype(_F32)
    spec = sfft.rfft2(grid, axes=(-2, -1))
    spec *= hy[:, :, None] * hx[:, None, :]
    return spec


def _noise_spectrum(rng, n_frames, n, sigma, cmd_c, ns, mu_c, pix):
    """Spectrum (F, n, n//2+1) of the noise as the remapping to the Carrington grid leaves it.

    The instrument's noise is white on the image-plane pixels; resampling it
    onto the Carrington grid correlates neighbouring pixels (more east-west
    near the limb, where one image pixel covers several Carrington pixels,
    and north-south at high latitude) and leaves fewer image pixels per
    Carrington pixel there, so the per-pixel noise grows toward the limb.
    Both are modelled as measured by remapping white noise with the code of
    :func:`skflux.io.patch_video` (``benchmarks/bench_realism.py``,
    ``noise_remap``): a Gaussian kernel of ``NOISE_CORR_PX`` native pixels
    (neighbour correlation 0.17) stretched by the foreshortening, normalised to
    unit variance, and a standard deviation ``sigma · (1 + NOISE_LIMB_GAIN · (1 − μ))``.
    White noise is drawn directly in Fourier space (complex Gaussian
    coefficients with the variance of an n × n white field's transform).
    """
    native = ph.PIXEL_DEG_NATIVE / pix
    cx = ph.NOISE_CORR_PX * native / ph.ew_foreshortening(cmd_c)
    cy = ph.NOISE_CORR_PX * native / ns
    fy, fx = np.fft.fftfreq(n), np.fft.rfftfreq(n)
    # Parseval over the full (two-sided) spectrum: keeps the per-pixel variance
    hx2 = np.exp(-4 * np.pi**2 * cx[:, None] ** 2 * fy[None, :] ** 2)
    hy2 = np.exp(-4 * np.pi**2 * cy[:, None] ** 2 * fy[None, :] ** 2)
    norm = np.sqrt(hx2.mean(axis=1) * hy2.mean(axis=1))
    scale = sigma * (1.0 + ph.NOISE_LIMB_GAIN * (1.0 - np.clip(mu_c, 0.0, 1.0))) / norm
    # |X_k|^2 of an n x n unit white field is n^2: real and imaginary parts n^2 / 2 each
    scale = scale * n / np.sqrt(2.0)
    hy = np.exp(-2 * np.pi**2 * cy[:, None] ** 2 * fy[None, :] ** 2) * scale[:, None]
    hx = np.exp(-2 * np.pi**2 * cx[:, None] ** 2 * fx[None, :] ** 2)
    spec = rng.standard_normal((n_frames, n, fx.size, 2), dtype=_F32).view(np.complex64)[..., 0]
    spec *= (hy[:, :, None] * hx[:, None, :]).astype(_F32)
    return spec


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
    # unresolved plage elements: deposited on the grid and blurred in Fourier space;
    # the others (spots, fragments, ephemeral regions) as Gaussians; columns without
    # flux during the video are skipped
    compact = np.all(sig == ph.PLAGE_ELEMENT_SIGMA_MM, axis=0)
    live = np.any(flux != 0, axis=0)
    gauss = live & ~compact
    lat_abs = lat0 + lat[:, gauss]
    cmd = cmd_c[:, None] + lon[:, gauss]
    s_lat, s_lon = _widths(sig[:, gauss], lat_abs, cmd, b0[:, None], pix)
    amp = _amplitude(flux[:, gauss], s_lat, s_lon, lat_abs)
    field = _render_components(off, lat[:, gauss], lon[:, gauss], s_lat, s_lon, amp)
    pts = live & compact
    if quiet_sun:
        field += _network(rng, off, t_rel, span, patch_deg, lat0, cmd_c, tau)

    field *= mu
    g = ph.gain(t_abs, row["gain_amp"], row["gain_period"], row["gain_phase"]).astype(_F32)
    field *= g[:, None, None]
    # unresolved plage elements and the noise, added in one inverse FFT of a padded grid
    # (the elements projected with mu at their position and the frame's gain)
    pad, spec = 5, None
    n = _grid_size(size, pad)
    if pts.any():
        p_lat, p_lon = lat[:, pts], lon[:, pts]
        p_lat_abs = lat0 + p_lat
        mu_p = ph.mu_of(p_lat_abs, cmd_c[:, None] + p_lon, b0[:, None])
        area = (pix * ph.MM_PER_DEG * 1e8) ** 2 * np.cos(np.radians(p_lat_abs))  # cm^2
        amp = flux[:, pts] / area * np.clip(mu_p, 0.0, None) * g[:, None]
        spec = _points_spectrum(off, p_lat, p_lon, amp, lat0, cmd_c, b0, pix,
                                ph.PLAGE_ELEMENT_SIGMA_MM, n, pad)
    if noise:
        sigma = float(noise) * min(1.0, ph.PIXEL_DEG_NATIVE / pix)
        ns_c = ph.ns_foreshortening(lat0, cmd_c, b0)
        mu_c = ph.mu_of(lat0, cmd_c, b0)
        nspec = _noise_spectrum(rng, n_frames, n, sigma, cmd_c, ns_c, mu_c, pix)
        spec = nspec if spec is None else spec + nspec
    if spec is not None:
        over = sfft.irfft2(spec, s=(n, n), axes=(-2, -1))
        field += over[:, pad:pad + size, pad:pad + size]
    ph.saturate(field)  # the instrument saturates on what it measures
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
