"""Realism statistics of magnetogram patches: the numbers the simulator is measured by.

The same statistics are computed for simulated frames and for real
magnetograms cut into patches (``benchmarks/bench_realism.py``), one row per
frame, so that the two can be compared at matched disk position ``mu``.
"""

import numpy as np

from . import _physics as ph

__all__ = ["patch_statistics", "patch_statistics_by_mu"]

#: Default μ bins of :func:`patch_statistics_by_mu` (left-closed; the last bin holds 1).
MU_BINS = (0.3, 0.6, 0.85, 1.0)
#: Conversion from Mm^2 to cm^2.
_CM2_PER_MM2 = 1e16


def _noise_sigma(values, clip=3.0, max_iter=50):
    """σ of the Gaussian core: 1.4826·MAD after iterative ``clip``-σ clipping."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan
    for _ in range(max_iter):
        med = np.median(x)
        s = 1.4826 * np.median(np.abs(x - med))
        if s == 0:
            return 0.0
        keep = np.abs(x - med) < clip * s
        if keep.all():
            break
        x = x[keep]
    return float(s)


def _power_spectrum(frame, pixel_mm):
    """Azimuthally averaged power spectrum of one frame: (k in cycles/Mm, power).

    The mean is removed and a 2-D Hann window applied; NaN pixels count as the
    mean. Annuli are one fundamental wavenumber ``1 / (n * pixel_mm)`` wide,
    from the fundamental to the Nyquist wavenumber of the shorter side.
    """
    b = np.asarray(frame, dtype=float)
    b = np.where(np.isfinite(b), b - np.nanmean(b), 0.0)
    ny, nx = b.shape
    window = np.outer(np.hanning(ny), np.hanning(nx))
    power = np.abs(np.fft.fft2(b * window)) ** 2
    ky = np.fft.fftfreq(ny, d=pixel_mm)
    kx = np.fft.fftfreq(nx, d=pixel_mm)
    k = np.hypot(ky[:, None], kx[None, :])
    dk = 1.0 / (min(ny, nx) * pixel_mm)
    ring = np.rint(k / dk).astype(int)
    n_rings = min(ny, nx) // 2
    sums = np.bincount(ring.ravel(), weights=power.ravel(), minlength=n_rings + 1)
    counts = np.bincount(ring.ravel(), minlength=n_rings + 1)
    r = np.arange(1, n_rings + 1)
    return r * dk, sums[r] / counts[r]


def _spectral_slope(k, power, range_mm):
    """Least-squares slope of log P against log k over wavelengths ``range_mm``.

    NaN when fewer than three annuli fall in the range (e.g. pixels coarser
    than half the shortest wavelength).
    """
    lo, hi = 1.0 / range_mm[1], 1.0 / range_mm[0]
    use = (k >= lo * (1 - 1e-9)) & (k <= hi * (1 + 1e-9)) & (power > 0)
    if use.sum() < 3:
        return np.nan
    return float(np.polyfit(np.log10(k[use]), np.log10(power[use]), 1)[0])


def _elements(frame, sigma, n_sigma, min_pixels, pixel_area_cm2):
    """Unsigned flux (Mx) of each flux element: same-sign 4-connected regions above n·σ.

    A noise-free frame (σ = 0) has its elements above 0 G.
    """
    from scipy import ndimage

    b = np.nan_to_num(np.asarray(frame, dtype=float), nan=0.0)
    if not np.isfinite(sigma):
        return np.zeros(0)
    fluxes = []
    for sign in (1.0, -1.0):
        mask = sign * b > n_sigma * sigma
        labels, n = ndimage.label(mask)
        if n == 0:
            continue
        idx = np.arange(1, n + 1)
        size = ndimage.sum_labels(mask, labels, idx)
        flux = ndimage.sum_labels(np.abs(b), labels, idx) * pixel_area_cm2
        fluxes.append(flux[size >= min_pixels])
    return np.concatenate(fluxes) if fluxes else np.zeros(0)


def _centre_mu(videos):
    """μ of the patch centre per (video, frame) from a DataArray's geometry, or None.

    Uses the ``mu`` coordinate when there is one (real patches from
    :func:`skflux.io.patch_video`); otherwise, for a Carrington patch with
    ``time`` (frame 0), ``lat0``, ``lon0`` and the ``cadence_minutes``
    attribute (simulated videos), the geometric μ of the centre.
    """
    if "mu" in videos.coords:
        mu = np.asarray(videos["mu"].values, dtype=float)
        return np.broadcast_to(mu, (videos.sizes["video"], videos.sizes["frame"]))
    need = ("time", "lat0", "lon0")
    if not all(c in videos.coords for c in need) or "cadence_minutes" not in videos.attrs:
        return None
    cad = float(videos.attrs["cadence_minutes"]) / 1440.0
    t0 = ph.days_since_epoch(np.asarray(videos["time"].values).reshape(-1))
    t = t0[:, None] + np.arange(videos.sizes["frame"])[None, :] * cad
    lat = np.asarray(videos["lat0"].values, dtype=float).reshape(-1)[:, None]
    lon0 = np.asarray(videos["lon0"].values, dtype=float).reshape(-1)[:, None]
    cmd = (lon0 - ph.carrington_cm_longitude(t) + 180.0) % 360.0 - 180.0
    return ph.mu_of(lat, cmd, ph.b0_angle(t))


def _as_frames(videos_or_frames, mu, pixel_deg):
    """(frames (N, H, W), video index, frame index, mu (N,), pixel_deg) from any input."""
    mu_geo = None
    if hasattr(videos_or_frames, "dims"):  # xarray.DataArray
        da = videos_or_frames
        if da.ndim == 4 and da.dims[0] == "video":
            mu_geo = _centre_mu(da)
        if pixel_deg is None and "lat" in da.coords and da.sizes.get("lat", 0) > 1:
            pixel_deg = float(np.abs(np.diff(np.asarray(da["lat"].values, float))).mean())
        if pixel_deg is None and "pixel_deg" in da.attrs:
            pixel_deg = float(da.attrs["pixel_deg"])
        data = np.asarray(da.values)
    else:
        data = np.asarray(videos_or_frames)
    if data.dtype.kind not in "fiu":
        raise TypeError(f"videos_or_frames must hold numbers (Gauss); got dtype {data.dtype}")
    if data.ndim == 2:
        data = data[None, None]
    elif data.ndim == 3:
        data = data[None]
    elif data.ndim != 4:
        raise ValueError(
            "videos_or_frames must be one frame (lat, lon), frames (frame, lat, lon) or "
            f"videos (video, frame, lat, lon); got {data.ndim} dimensions {data.shape}"
        )
    n_v, n_f, h, w = data.shape
    if min(h, w) < 2:
        raise ValueError(f"frames must be at least 2 x 2 pixels; got {h} x {w}")
    if mu is not None:
        mu = np.asarray(mu, dtype=float)
        if mu.ndim == 0:
            mu_geo = np.full((n_v, n_f), float(mu))
        elif mu.ndim == 1 and n_v == 1 and mu.size == n_f:
            mu_geo = mu[None, :]
        elif mu.ndim == 1 and mu.size == n_v:
            mu_geo = np.repeat(mu[:, None], n_f, axis=1)
        elif mu.shape == (n_v, n_f):
            mu_geo = mu
        else:
            raise ValueError(
                f"mu has shape {mu.shape}; give a scalar, one value per video ({n_v},), one "
                f"per frame ({n_f},) for frames, or (video, frame) = ({n_v}, {n_f})"
            )
    if pixel_deg is None:
        pixel_deg = 15.0 / w  # a 15-degree patch, as the simulator and the paper
    if not (np.isfinite(pixel_deg) and pixel_deg > 0):
        raise ValueError(f"pixel_deg must be a positive number of degrees; got {pixel_deg!r}")
    vid, frm = np.meshgrid(np.arange(n_v), np.arange(n_f), indexing="ij")
    mu_flat = (np.full(n_v * n_f, np.nan) if mu_geo is None
               else np.asarray(mu_geo, dtype=float).reshape(-1))
    return (data.reshape(n_v * n_f, h, w), vid.ravel(), frm.ravel(), mu_flat,
            float(pixel_deg))


def patch_statistics(videos_or_frames, *, mu=None, pixel_deg=None, quantiles=(50, 90, 99),
                     thresholds=(25.0, 50.0, 200.0), n_sigma=3.0, min_pixels=2,
                     spectrum_range_mm=(2.0, 20.0)):
    """Realism statistics of magnetogram patches, one row per frame.

    The numbers by which simulated frames are compared with real
    magnetograms (``benchmarks/bench_realism.py``; the table is in the
    user guide's simulator page).

    Parameters
    ----------
    videos_or_frames : xarray.DataArray or array-like
        Line-of-sight field in Gauss: one frame ``(lat, lon)``, frames
        ``(frame, lat, lon)`` or videos ``(video, frame, lat, lon)``. NaN
        pixels (off-disk, unobserved) are left out of every statistic; a frame
        with no finite pixel gives a row of NaN (``n_pixels`` 0), never a
        missing row.
    mu : float or array-like, optional
        Cosine of the heliocentric angle of each frame's centre: a scalar,
        one per video, or ``(video, frame)``. Default: the ``mu`` coordinate
        of a DataArray (real patches from :func:`skflux.io.patch_video`), or
        the geometric μ of the patch centre from its ``time``, ``lat0``,
        ``lon0`` and ``cadence_minutes`` (simulated videos); otherwise NaN.
    pixel_deg : float, optional
        Pixel size in heliographic degrees (1° = 12.14 Mm). Default: the
        spacing of a DataArray's ``lat`` coordinate, else a 15° patch
        (``15 / width``).
    quantiles : sequence of float, default=(50, 90, 99)
        Percentiles of ``|B|`` (columns ``abs_b_p50`` ...), in G.
    thresholds : sequence of float, default=(25, 50, 200)
        Fractions of pixels with ``|B|`` above each (columns ``frac_above_25``
        ...).
    n_sigma : float, default=3.0
        Flux elements are same-sign 4-connected regions where
        ``±B > n_sigma · noise_sigma``.
    min_pixels : int, default=2
        Smallest flux element, in pixels (single pixels above 3σ are mostly
        noise: 0.27 % of a Gaussian, ~22 in a 90 × 90 patch).
    spectrum_range_mm : (float, float), default=(2.0, 20.0)
        Wavelengths (Mm) over which the power-spectrum slope is fitted. Only
        wavelengths the pixels resolve count (at least two pixels; 4.05 Mm
        for 1/6° pixels); NaN when fewer than three spectral annuli remain.

    Returns
    -------
    table : pandas.DataFrame
        One row per frame: ``video``, ``frame``, ``mu``, ``n_pixels``
        (finite pixels), ``abs_b_p50``/``p90``/``p99`` (G),
        ``frac_above_25``/``50``/``200``, ``noise_sigma`` (G: 1.4826 × the
        median absolute deviation of the pixels left after iterative 3σ
        clipping, i.e. the width of the Gaussian core of the quietest
        pixels), ``n_elements`` (flux elements per frame),
        ``element_flux_median`` and ``element_flux_p90`` (unsigned flux of
        an element, Mx; pixel area ``(pixel_deg · 12.14 Mm)²``, without the
        cos(latitude) shrinking of longitude), ``element_flux_total`` (Mx)
        and ``spectral_slope`` (slope of the azimuthally averaged power
        spectrum, mean removed, 2-D Hann window, in log P against log k).

    Raises
    ------
    ValueError
        If the input is not 2-, 3- or 4-dimensional, frames are smaller than
        2 × 2, or ``mu`` does not match the frames.
    TypeError
        If the data are not numbers.

    See Also
    --------
    patch_statistics_by_mu : the same statistics summarised by μ bin.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.datasets import patch_statistics
    >>> frame = np.zeros((8, 8))
    >>> frame[2:4, 2:4] = 100.0
    >>> row = patch_statistics(frame, mu=1.0).iloc[0]
    >>> float(row["frac_above_50"]), int(row["n_elements"])
    (0.0625, 1)
    """
    import pandas as pd

    quantiles = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if quantiles.size == 0 or np.any((quantiles < 0) | (quantiles > 100)):
        raise ValueError(f"quantiles must be percentiles in [0, 100]; got {quantiles.tolist()}")
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if not np.all(np.isfinite(thresholds)):
        raise ValueError(f"thresholds must be finite numbers of Gauss; got {thresholds.tolist()}")
    if not (np.isfinite(n_sigma) and n_sigma >= 0):
        raise ValueError(f"n_sigma must be a number >= 0; got {n_sigma!r}")
    if isinstance(min_pixels, bool) or not isinstance(min_pixels, (int, np.integer)) \
            or min_pixels < 1:
        raise ValueError(f"min_pixels must be an integer >= 1; got {min_pixels!r}")
    lo_mm, hi_mm = (float(v) for v in spectrum_range_mm)
    if not 0 < lo_mm < hi_mm:
        raise ValueError("spectrum_range_mm must be two increasing positive wavelengths in Mm; "
                         f"got {spectrum_range_mm!r}")
    frames, vid, frm, mu_flat, pixel_deg = _as_frames(videos_or_frames, mu, pixel_deg)
    pixel_mm = pixel_deg * ph.MM_PER_DEG
    area = pixel_mm**2 * _CM2_PER_MM2
    rng = (max(lo_mm, 2.0 * pixel_mm), hi_mm)
    rows = []
    for i, frame in enumerate(frames):
        frame = np.asarray(frame, dtype=float)
        finite = np.isfinite(frame)
        row = {"video": int(vid[i]), "frame": int(frm[i]), "mu": float(mu_flat[i]),
               "n_pixels": int(finite.sum())}
        a = np.abs(frame[finite])
        if a.size == 0:
            row.update({f"abs_b_p{q:g}": np.nan for q in quantiles})
            row.update({f"frac_above_{t:g}": np.nan for t in thresholds})
            row.update(noise_sigma=np.nan, n_elements=np.nan, element_flux_median=np.nan,
                       element_flux_p90=np.nan, element_flux_total=np.nan,
                       spectral_slope=np.nan)
            rows.append(row)
            continue
        for q, v in zip(quantiles, np.percentile(a, quantiles)):
            row[f"abs_b_p{q:g}"] = float(v)
        for t in thresholds:
            row[f"frac_above_{t:g}"] = float(np.mean(a > t))
        sigma = _noise_sigma(frame[finite])
        flux = _elements(frame, sigma, n_sigma, min_pixels, area)
        k, power = _power_spectrum(frame, pixel_mm)
        row.update(
            noise_sigma=sigma, n_elements=int(flux.size),
            element_flux_median=float(np.median(flux)) if flux.size else np.nan,
            element_flux_p90=float(np.percentile(flux, 90)) if flux.size else np.nan,
            element_flux_total=float(flux.sum()),
            spectral_slope=(_spectral_slope(k, power, rng) if rng[0] < rng[1] else np.nan),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _mu_bin_labels(mu, bins=MU_BINS):
    """The μ-bin label (``"0.3-0.6"``) of each value, ``None`` outside the bins.

    Bins are closed on the left; the last one also holds its upper edge.
    """
    bins = np.asarray(bins, dtype=float)
    mu = np.asarray(mu, dtype=float)
    idx = np.searchsorted(bins, mu, side="right") - 1
    idx[mu == bins[-1]] = bins.size - 2
    inside = np.isfinite(mu) & (idx >= 0) & (idx < bins.size - 1)
    names = np.array([f"{a:g}-{b:g}" for a, b in zip(bins[:-1], bins[1:])], dtype=object)
    out = np.full(mu.shape, None, dtype=object)
    out[inside] = names[idx[inside]]
    return out


def patch_statistics_by_mu(table, *, bins=MU_BINS, by=None):
    """Summarise :func:`patch_statistics` rows by μ bin: count, median, 10th–90th percentile.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`patch_statistics` (extra columns allowed).
    bins : sequence of float, default=(0.3, 0.6, 0.85, 1.0)
        Edges of the μ bins, left-closed (the last bin also holds its right
        edge). Rows with μ outside every bin or NaN are not summarised; their
        number is in the ``DataFrame.attrs["outside_bins"]`` of the result.
    by : str or list of str, optional
        Further grouping columns (e.g. ``"kind"``: quiet/active, ``"source"``).

    Returns
    -------
    summary : pandas.DataFrame
        Long format, one row per group, μ bin and statistic: the grouping
        columns, ``mu_bin`` (e.g. ``"0.85-1"``), ``statistic``, ``n``,
        ``median``, ``p10``, ``p90``.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.datasets import patch_statistics, patch_statistics_by_mu
    >>> frames = np.random.default_rng(0).normal(0, 10, (4, 16, 16))
    >>> table = patch_statistics(frames, mu=[0.95, 0.9, 0.5, 0.4])
    >>> s = patch_statistics_by_mu(table)
    >>> sorted(set(s["mu_bin"])), int(s["n"].iloc[0])
    (['0.3-0.6', '0.85-1'], 2)
    """
    import pandas as pd

    bins = np.asarray(bins, dtype=float)
    if bins.ndim != 1 or bins.size < 2 or np.any(np.diff(bins) <= 0):
        raise ValueError(f"bins must be at least two increasing μ edges; got {bins.tolist()}")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing = [c for c in ["mu", *by] if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column {missing}; pass the output of patch_statistics "
                         "(with the grouping columns added)")
    stats = [c for c in table.columns
             if c not in {"video", "frame", "mu", "n_pixels", *by}
             and pd.api.types.is_numeric_dtype(table[c])]
    labels = _mu_bin_labels(table["mu"].to_numpy(dtype=float), bins)
    inside = labels != None  # noqa: E711 (element-wise)
    t = table.loc[inside].copy()
    t["mu_bin"] = labels[inside]
    out = []
    for key, group in t.groupby([*by, "mu_bin"], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for s in stats:
            v = group[s].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            out.append({**dict(zip([*by, "mu_bin"], key)), "statistic": s, "n": int(v.size),
                        "median": float(np.median(v)) if v.size else np.nan,
                        "p10": float(np.percentile(v, 10)) if v.size else np.nan,
                        "p90": float(np.percentile(v, 90)) if v.size else np.nan})
    summary = pd.DataFrame(out, columns=[*by, "mu_bin", "statistic", "n", "median", "p10",
                                         "p90"])
    summary.attrs["outside_bins"] = int((~inside).sum())
    return summary
