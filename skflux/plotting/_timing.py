"""Figures 5 and 6 of the paper: emergence time by frame masking."""

import numpy as np

__all__ = ["plot_emergence_curves", "plot_emergence_frames", "plot_timing_errors"]


def _curves_of(curves, video):
    """(members, frames) curves, lower bound and threshold from a locator or an array."""
    lower_bound = threshold = None
    if hasattr(curves, "curves_") or hasattr(curves, "ensemble_"):
        loc = curves
        if not hasattr(loc, "curves_"):
            raise ValueError("the locator has no curves_: call transform(X) first")
        lower_bound = getattr(loc, "lower_bound_", loc.lower_bound)
        threshold = getattr(loc, "threshold_", None)
        curves = loc.curves_
    c = np.asarray(curves, dtype=float)
    if c.ndim == 3:
        if not 0 <= video < c.shape[1]:
            raise ValueError(f"video={video} is out of range for {c.shape[1]} videos")
        c = c[:, video]
    if c.ndim != 2 or c.shape[1] < 2:
        raise ValueError(
            "curves must be (members, frames) or (members, videos, frames) with at least 2 "
            f"frames, or a fitted EmergenceTimeLocator; got shape {np.shape(curves)}"
        )
    return c, lower_bound, threshold


def _rank_bands(ax, x, values, color):
    """Shade between the k-th smallest and k-th largest member at every x (nested bands)."""
    s = np.sort(values, axis=0)
    m = s.shape[0]
    n_bands = m // 2
    for k in range(n_bands):
        ax.fill_between(x, s[k], s[m - 1 - k], color=color, alpha=0.6 / max(n_bands, 1),
                        linewidth=0)


def plot_emergence_curves(curves, video=0, *, true_frame=None, lower_bound=None,
                          threshold=None, axes=None, title=None):
    """Figure 5: members' probability curves under masking and their gradients.

    Top: each member's probability of "emergence" for the video cut at frame
    ``t`` (frames after ``t`` replaced by frame ``t``), the members' median,
    nested bands between members of equal rank from either extreme, and the
    decision threshold. Bottom: the gradients (:func:`numpy.gradient`), each
    member's maximum (dots) and the ensemble's emergence frame, the median of
    the members' frames (red star). The ground truth is a dashed vertical line.

    Parameters
    ----------
    curves : EmergenceTimeLocator or array-like
        A locator after :meth:`~skflux.timing.EmergenceTimeLocator.transform`
        (its ``curves_``, ``lower_bound`` and ``threshold_``), or curves of
        shape ``(members, frames)`` or ``(members, videos, frames)``.
    video : int, default=0
        Which video, when ``curves`` holds several.
    true_frame : int, optional
        Ground-truth emergence frame (not drawn when None or negative).
    lower_bound : int, optional
        Masking lower bound (default: the locator's, else 0); frames before it
        are shaded.
    threshold : float, optional
        Decision threshold to draw (default: the locator's ``threshold_``).
    axes : sequence of 2 matplotlib Axes, optional
        Where to draw (default: a new figure with two stacked panels).
    title : str, optional
        Title of the top panel.

    Returns
    -------
    axes : ndarray of 2 matplotlib Axes
        Probability (top) and gradient (bottom) panels.

    Raises
    ------
    ValueError
        On curves of the wrong shape or an out-of-range ``video``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(40)
    >>> curves = np.stack([1 / (1 + np.exp(-(t - c) / 2)) for c in (18, 20, 23)])
    >>> axes = plot_emergence_curves(curves, true_frame=19, lower_bound=5, threshold=0.6)
    >>> len(axes)
    2
    """
    import matplotlib.pyplot as plt

    from ..timing import emergence_frames_from_curves

    c, lb, thr = _curves_of(curves, video)
    lower_bound = lb if lower_bound is None else lower_bound
    lower_bound = 0 if lower_bound is None else int(lower_bound)
    threshold = thr if threshold is None else threshold
    if axes is None:
        _, axes = plt.subplots(2, 1, sharex=True, figsize=(6, 5.5))
    axes = np.asarray(axes).ravel()
    t = np.arange(c.shape[1])
    grad = np.gradient(c, axis=1)
    frames = emergence_frames_from_curves(c, lower_bound)
    frame = float(np.median(frames))
    for ax, values, label in ((axes[0], c, "probability"), (axes[1], grad, "gradient")):
        _rank_bands(ax, t, values, "tab:blue")
        ax.plot(t, values.T, color="0.35", lw=0.6, alpha=0.7)
        ax.plot(t, np.median(values, axis=0), color="tab:orange", lw=1.8, label="median")
        if lower_bound > 0:
            ax.axvspan(-0.5, lower_bound, color="0.85", zorder=0, label="masked (lower bound)")
        if true_frame is not None and true_frame >= 0:
            ax.axvline(true_frame, color="k", ls="--", lw=1.2, label="ground truth")
        ax.set_ylabel(label)
    if threshold is not None:
        axes[0].axhline(threshold, color="tab:red", ls=":", lw=1, label="threshold")
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].scatter(frames, grad[np.arange(len(frames)), frames], s=12, color="0.2",
                    zorder=3, label="member maxima")
    star_y = np.interp(frame, t, np.median(grad, axis=0))
    axes[1].plot([frame], [star_y], marker="*", ms=16, color="red", ls="none", zorder=4,
                 label=f"emergence frame {frame:g}")
    axes[1].set_xlabel("last unmasked frame")
    axes[0].legend(fontsize="small", loc="upper left")
    axes[1].legend(fontsize="small", loc="upper left")
    if title is not None:
        axes[0].set_title(title)
    return axes


def plot_emergence_frames(video, curves, *, video_index=0, threshold=None, step=5,
                          ncols=9, vmax=500.0, true_frame=None, fig=None):
    """Figure 6 (top): every ``step``-th frame coloured by the members voting "emergence".

    Each panel shows frame ``t`` of the video; its border and label are
    coloured by the number of members whose probability for the video cut at
    ``t`` (frames after ``t`` replaced by frame ``t``) is at least
    ``threshold``.

    Parameters
    ----------
    video : array-like or xarray.DataArray, shape (frame, lat, lon)
        The video in Gauss.
    curves : EmergenceTimeLocator or array-like
        A locator after ``transform`` (``curves_``, ``threshold_``) or curves
        ``(members, frames)`` / ``(members, videos, frames)``.
    video_index : int, default=0
        Which video of ``curves`` belongs to ``video``.
    threshold : float, optional
        Probability at which a member says "emergence" (default: the
        locator's ``threshold_``, else 0.5).
    step : int, default=5
        Show every ``step``-th frame.
    ncols : int, default=9
        Panels per row.
    vmax : float, default=500
        Gauss at which the grey scale saturates.
    true_frame : int, optional
        Ground-truth emergence frame: the first shown frame at or after it is
        marked with a star.
    fig : matplotlib Figure, optional
        Figure to draw in (default: a new one).

    Returns
    -------
    fig : matplotlib Figure

    Raises
    ------
    ValueError
        If the video and the curves have different frame counts, or on bad
        shapes.

    Examples
    --------
    >>> import numpy as np
    >>> video = np.zeros((20, 8, 8))
    >>> curves = np.linspace(0, 1, 20)[None, :].repeat(3, 0)
    >>> fig = plot_emergence_frames(video, curves, step=5, threshold=0.5)
    >>> len(fig.axes)  # 4 frames and the colour bar
    5
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    c, _, thr = _curves_of(curves, video_index)
    threshold = thr if threshold is None else threshold
    threshold = 0.5 if threshold is None else float(threshold)
    v = np.asarray(getattr(video, "values", video), dtype=float)
    if v.ndim != 3:
        raise ValueError(f"video must be (frame, lat, lon); got shape {v.shape}")
    if v.shape[0] != c.shape[1]:
        raise ValueError(f"the video has {v.shape[0]} frames but the curves {c.shape[1]}")
    if step < 1:
        raise ValueError(f"step must be >= 1; got {step}")
    shown = np.arange(0, v.shape[0], step)
    votes = (c >= threshold).sum(axis=0)
    n_members = c.shape[0]
    nrows = -(-len(shown) // ncols)
    ncols = min(ncols, len(shown))
    if fig is None:
        fig = plt.figure(figsize=(1.3 * ncols + 0.8, 1.45 * nrows))
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1] * ncols + [0.08])
    cmap = plt.get_cmap("plasma", n_members + 1)
    norm = mpl.colors.BoundaryNorm(np.arange(-0.5, n_members + 1), cmap.N)
    marked = None
    if true_frame is not None and true_frame >= 0 and np.any(shown >= true_frame):
        marked = shown[shown >= true_frame][0]
    for k, f in enumerate(shown):
        ax = fig.add_subplot(grid[k // ncols, k % ncols])
        ax.imshow(v[f], cmap="gray", vmin=-vmax, vmax=vmax, origin="lower")
        color = cmap(norm(votes[f]))
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(3)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{f}" + (" \u2605" if f == marked else ""), fontsize=8, color=color,
                     pad=2)
    cax = fig.add_subplot(grid[:, -1])
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 ticks=np.arange(n_members + 1), label="members: emergence")
    return fig


def plot_timing_errors(errors, true_frames=None, *, highlight=None, bin_days=1.0,
                       order="median", cadence_minutes=None, axes=None):
    """Figure 6 (bottom): predicted minus true emergence time over videos.

    Left: a 2-D histogram, one column per video, of the members' errors in
    bins of ``bin_days`` (grey level: number of members); orange dots: the
    per-video medians; black dashed line: zero error; shaded: the 25–75th
    (purple) and 5–95th (light blue) percentiles of the per-video medians.
    Right: histograms of all members' errors (black) and of the medians
    (orange), with the median of the medians (dashed orange).

    Parameters
    ----------
    errors : array-like of shape (n_videos, n_members) or xarray.Dataset
        Errors in days (e.g. ``timing_errors_days(result, truth,
        per_member=True)``), or a locator result, from which the errors are
        computed with ``true_frames``.
    true_frames : array-like or xarray object, optional
        Ground truth, needed when ``errors`` is a Dataset (default: its
        ``true_emergence_frame``).
    highlight : int, optional
        Video (index into ``errors``) to point at with a green arrow.
    bin_days : float, default=1.0
        Bin width of the histograms.
    order : {"median", "given"}, default="median"
        Sort the videos by their median error, or keep the given order.
    cadence_minutes : float, optional
        Passed to :func:`skflux.timing.timing_errors_days` for Datasets.
    axes : sequence of 2 matplotlib Axes, optional
        Main and marginal panels (default: a new figure).

    Returns
    -------
    axes : ndarray of 2 matplotlib Axes

    Raises
    ------
    ValueError
        If no video has a finite error, or on a bad ``order``.

    Notes
    -----
    Videos without a ground-truth emergence (all errors NaN) have nothing to
    draw and are left out; their number is given in the title.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> errors = rng.normal(0.4, 1.0, (30, 10))
    >>> axes = plot_timing_errors(errors, highlight=3)
    >>> len(axes)
    2
    """
    import matplotlib.pyplot as plt

    from ..timing import timing_error_percentiles, timing_errors_days

    if hasattr(errors, "data_vars"):
        truth = errors if true_frames is None else true_frames
        errors = timing_errors_days(errors, truth, per_member=True,
                                    cadence_minutes=cadence_minutes)
    e = np.asarray(errors, dtype=float)
    if e.ndim == 1:
        e = e[:, None]
    if e.ndim != 2:
        raise ValueError(f"errors must be (videos, members); got shape {e.shape}")
    if order not in ("median", "given"):
        raise ValueError(f"order must be 'median' or 'given'; got {order!r}")
    keep = np.isfinite(e).any(axis=1)
    if not keep.any():
        raise ValueError("no video has a finite timing error to plot")
    index = np.flatnonzero(keep)
    e = e[keep]
    med = np.nanmedian(e, axis=1)
    rank = np.argsort(med, kind="stable") if order == "median" else np.arange(len(med))
    e, med, index = e[rank], med[rank], index[rank]
    lo = np.floor(np.nanmin(e) / bin_days) * bin_days
    hi = np.ceil(np.nanmax(e) / bin_days) * bin_days + bin_days
    edges = np.arange(lo, hi + bin_days / 2, bin_days)
    n_bins = len(edges) - 1
    finite = np.isfinite(e)
    bins = np.clip(np.floor((np.where(finite, e, lo) - lo) / bin_days).astype(int), 0,
                   n_bins - 1)
    counts = np.zeros((len(e), n_bins))
    np.add.at(counts, (np.nonzero(finite)[0], bins[finite]), 1)
    if axes is None:
        fig = plt.figure(figsize=(9, 4))
        grid = fig.add_gridspec(1, 2, width_ratios=[4, 1], wspace=0.05)
        ax = fig.add_subplot(grid[0])
        axm = fig.add_subplot(grid[1], sharey=ax)
    else:
        ax, axm = np.asarray(axes).ravel()[:2]
    x_edges = np.arange(len(e) + 1) - 0.5
    # empty cells transparent, so the percentile bands show behind the histogram
    mesh = ax.pcolormesh(x_edges, edges, np.ma.masked_equal(counts.T, 0), cmap="Greys",
                         shading="flat", vmin=0, vmax=max(1, counts.max()))
    ax.figure.colorbar(mesh, ax=ax, pad=0.01, label="members")
    p = timing_error_percentiles(med)
    ax.axhspan(p[5], p[95], color="lightblue", alpha=0.35, zorder=0, label="5–95th pct")
    ax.axhspan(p[25], p[75], color="purple", alpha=0.25, zorder=0, label="25–75th pct")
    ax.axhline(0.0, color="k", ls="--", lw=1, label="ground truth")
    ax.plot(np.arange(len(med)), med, "o", color="tab:orange", ms=3.5, label="median")
    if highlight is not None:
        where = np.flatnonzero(index == highlight)
        if where.size == 0:
            raise ValueError(f"highlight={highlight} is not a video with a finite error")
        xh = int(where[0])
        ax.annotate("", xy=(xh, med[xh]), xytext=(xh, med[xh] + 0.25 * (hi - lo)),
                    arrowprops=dict(color="green", arrowstyle="-|>", lw=2))
    ax.set_xlabel("video (sorted by median error)" if order == "median" else "video")
    ax.set_ylabel("predicted \u2212 true emergence time (days)")
    ax.set_xlim(x_edges[0], x_edges[-1])
    left_out = int((~keep).sum())
    ax.set_title(f"{len(e)} videos" + (f" ({left_out} without ground truth left out)"
                                       if left_out else ""), fontsize="small")
    ax.legend(fontsize="x-small", loc="upper left")
    axm.hist(e[finite], bins=edges, orientation="horizontal", histtype="step", color="k",
             density=True, label="all members")
    axm.hist(med, bins=edges, orientation="horizontal", histtype="step", color="tab:orange",
             density=True, label="medians")
    axm.axhline(p[50], color="tab:orange", ls="--", lw=1.2)
    axm.set_xlabel("density")
    axm.tick_params(labelleft=False)
    axm.legend(fontsize="x-small")
    return np.array([ax, axm])
