"""Figures 2 and 4 of the paper: month-block data management and the model ensemble."""

import calendar

import numpy as np

from .._paper import STABILITY_BAND

__all__ = [
    "ensemble_histogram_order", "month_block_roles", "plot_ensemble_histogram",
    "plot_month_blocks",
]

#: Role codes of :func:`month_block_roles`, with the colours and names of Figure 2.
ROLES = ("training", "validation", "benchmark", "test")
_ROLE_COLORS = ("#c6dbef", "#fd8d3c", "#74c476", "#969696")


def _as_cvs(cv_or_blocks):
    """A list of MonthBlockSplit from a splitter, an ensemble, blocks or a list of those."""
    from ..model_selection import MonthBlockSplit

    def one(obj):
        if isinstance(obj, MonthBlockSplit):
            return obj
        if hasattr(obj, "estimator") and hasattr(obj, "cv"):  # a MonthBlockEnsemble
            return MonthBlockSplit() if obj.cv is None else one(obj.cv)
        return None

    single = one(cv_or_blocks)
    if single is not None:
        return [single]
    items = list(cv_or_blocks)
    if items and all(one(o) is not None for o in items):
        return [one(o) for o in items]
    try:  # a plain sequence of month blocks
        cv = MonthBlockSplit(blocks=tuple(tuple(b) for b in items))
        cv.get_n_splits()
    except TypeError:
        raise TypeError(
            "plot_month_blocks needs a MonthBlockSplit, a MonthBlockEnsemble, a sequence of "
            f"month blocks, or a list of splitters; got {type(cv_or_blocks).__name__}"
        ) from None
    return [cv]


def month_block_roles(cv_or_blocks, *, test=(11, 12)):
    """Role of every month for every model, as drawn in Figure 2.

    Parameters
    ----------
    cv_or_blocks : MonthBlockSplit, MonthBlockEnsemble, sequence of month blocks, or list
        One splitter (one model per block), or a list of splitters whose
        models are drawn side by side (e.g. models 1–5 and 6–9 of the paper).
    test : sequence of int, default (11, 12)
        Months that no model uses and that form the test set; other months
        that a splitter does not use are its benchmark set.

    Returns
    -------
    roles : ndarray of int, shape (12, n_models)
        Row ``m - 1`` is month ``m``; values index :data:`ROLES`
        (0 training, 1 validation, 2 benchmark, 3 test).
    groups : list of int
        Number of models contributed by each splitter.

    Examples
    --------
    >>> from skflux.model_selection import MonthBlockSplit
    >>> from skflux.plotting._ensemble import month_block_roles
    >>> roles, groups = month_block_roles([MonthBlockSplit(), MonthBlockSplit.uncertainty()])
    >>> roles.shape, groups
    ((12, 9), [5, 4])
    >>> roles[:, 5].tolist()  # model 6: validates on Jan-Feb, benchmark Sep-Oct
    [1, 1, 0, 0, 0, 0, 0, 0, 2, 2, 3, 3]
    """
    cvs = _as_cvs(cv_or_blocks)
    test = set(int(m) for m in test)
    columns, groups = [], []
    for cv in cvs:
        blocks = cv._blocks()
        used = {m for b in blocks for m in b}
        base = np.array([0 if m in used else 3 if m in test else 2 for m in range(1, 13)])
        for b in blocks:
            col = base.copy()
            col[np.asarray(b) - 1] = 1
            columns.append(col)
        groups.append(len(blocks))
    return np.column_stack(columns), groups


def plot_month_blocks(cv_or_blocks, *, test=(11, 12), group_names=None, ax=None,
                      figsize=None, title=None):
    """Figure 2: which months train, validate, benchmark and test each model.

    One column per model (one per month block of each splitter), one row per
    calendar month: training months light blue, the model's validation block
    orange, benchmark months green, test months grey.

    Parameters
    ----------
    cv_or_blocks : MonthBlockSplit, MonthBlockEnsemble, sequence of month blocks, or list
        See :func:`month_block_roles`. The paper's figure is
        ``plot_month_blocks([MonthBlockSplit(), MonthBlockSplit.uncertainty()],
        group_names=["Iterative relabelling", "Uncertainty estimation"])``.
    test : sequence of int, default (11, 12)
        Test months (never used by any model).
    group_names : sequence of str, optional
        A heading above the models of each splitter.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure otherwise.
    figsize : tuple, optional
        Size of a new figure (default grows with the number of models).
    title : str, optional
        Axes title.

    Returns
    -------
    ax : matplotlib.axes.Axes
        ``ax.images[0]`` holds the role table of :func:`month_block_roles`.

    Raises
    ------
    ValueError
        If ``group_names`` does not give one name per splitter.

    Examples
    --------
    >>> from skflux import MonthBlockSplit
    >>> from skflux.plotting import plot_month_blocks
    >>> ax = plot_month_blocks([MonthBlockSplit(), MonthBlockSplit.uncertainty()],
    ...                        group_names=["Relabelling", "Uncertainty"])
    >>> len(ax.get_xticklabels())
    9
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    roles, groups = month_block_roles(cv_or_blocks, test=test)
    if group_names is not None and len(group_names) != len(groups):
        raise ValueError(
            f"group_names has {len(group_names)} names for {len(groups)} splitters"
        )
    n_models = roles.shape[1]
    if ax is None:
        _, ax = plt.subplots(figsize=figsize or (1.0 + 0.75 * n_models, 5.0))
    ax.imshow(roles, cmap=ListedColormap(_ROLE_COLORS), vmin=-0.5, vmax=len(ROLES) - 0.5,
              aspect="auto", interpolation="nearest")
    ax.set_yticks(range(12), [calendar.month_abbr[m] for m in range(1, 13)])
    ax.set_xticks(range(n_models), [f"model {k + 1}" for k in range(n_models)],
                  rotation=45, ha="right")
    ax.set_xticks(np.arange(-0.5, n_models), minor=True)
    ax.set_yticks(np.arange(-0.5, 12), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.0)
    ax.tick_params(which="minor", length=0)
    edges = np.cumsum(groups)[:-1] - 0.5
    for x in edges:
        ax.axvline(x, color="black", linewidth=2.0)
    if group_names is not None:
        starts = np.r_[0, np.cumsum(groups)[:-1]]
        for name, s, g in zip(group_names, starts, groups):
            ax.text(s + g / 2 - 0.5, -0.9, name, ha="center", va="bottom", fontsize="medium")
    ax.legend(handles=[Patch(color=c, label=r) for c, r in zip(_ROLE_COLORS, ROLES)],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title, pad=24 if group_names is not None else 6)
    return ax


def _check_member_proba(member_proba):
    P = np.asarray(member_proba, dtype=float)
    if P.ndim != 2 or 0 in P.shape:
        raise ValueError(
            f"member_proba must be 2-D (members, videos) and non-empty; got shape {P.shape}"
        )
    if not np.all(np.isfinite(P)) or P.min() < 0 or P.max() > 1:
        raise ValueError("member_proba must hold probabilities in [0, 1]")
    return P


def ensemble_histogram_order(member_proba, threshold, band=STABILITY_BAND):
    """Order of the videos in Figure 4 and where stable and unstable ones meet.

    Predicted negatives come first, then predicted positives; inside each, the
    stable videos lie away from the threshold (negatives: stable then
    unstable; positives: unstable then stable), each group by increasing
    median, so the medians still rise from left to right within a group.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_videos)
    threshold : float
    band : tuple of float, default (0.25, 0.75)

    Returns
    -------
    order : ndarray of int, shape (n_videos,)
        Video indices from left to right.
    splits : list of float
        x positions (between videos) of the stable/unstable boundaries.
    stable : ndarray of bool, shape (n_videos,)
        Stability of each video (original order).
    """
    from ..metrics import stable_mask

    P = _check_member_proba(member_proba)
    med = np.median(P, axis=0)
    stable = stable_mask(P, threshold, band)
    positive = med >= threshold
    # group rank: 0 stable negative, 1 unstable negative, 2 unstable positive, 3 stable pos.
    group = np.where(positive, np.where(stable, 3, 2), np.where(stable, 0, 1))
    order = np.lexsort((med, group))
    g = group[order]
    change = np.flatnonzero(g[1:] != g[:-1])
    sg = np.isin(g, (0, 3))  # stable in display order
    splits = [float(i) + 0.5 for i in change if sg[i] != sg[i + 1]]
    return order, splits, stable


def plot_ensemble_histogram(member_proba, threshold, *, y_true=None, band=STABILITY_BAND,
                            bins=20, ax=None, fig=None, cmap="Greys", title=None):
    """Figure 4: the ensemble's probabilities as a 2-D histogram over videos.

    x: videos (predicted negatives then positives, stable and unstable ones
    separated by a vertical dashed line, each group sorted by increasing
    median; see :func:`ensemble_histogram_order`); y: member probability; grey
    level: number of members in the probability bin. Orange dots: the
    members' median; shaded: their 25th–75th percentile band; dashed
    horizontal line: the decision threshold.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_videos)
        From :meth:`skflux.MonthBlockEnsemble.predict_proba_members`.
    threshold : float
        Decision threshold on the median (``ensemble.threshold_``).
    y_true : array-like of shape (n_videos,), optional
        True labels (1 emergence). If given, four panels as in the paper:
        true positives, false negatives, false positives, true negatives.
    band : tuple of float, default (0.25, 0.75)
        Percentile band drawn and used for stability.
    bins : int, default 20
        Probability bins of the histogram.
    ax : matplotlib.axes.Axes, optional
        Axes for the single-panel figure (``y_true`` None).
    fig : matplotlib.figure.Figure, optional
        Figure for the four panels (cleared); a new one otherwise.
    cmap : str or Colormap, default "Greys"
        Colour map of the member counts.
    title : str, optional
        Title (figure title with four panels).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per panel (``fig.axes``; panels with no video say so), plus
        a colour bar.

    Raises
    ------
    ValueError
        On a badly shaped ``member_proba``, values outside [0, 1], a threshold
        outside [0, 1], ``y_true`` of the wrong length or ``bins < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.plotting import plot_ensemble_histogram
    >>> rng = np.random.default_rng(0)
    >>> P = np.clip(rng.uniform(size=50) + rng.normal(0, 0.1, (8, 50)), 0, 1)
    >>> fig = plot_ensemble_histogram(P, 0.6)
    >>> len(fig.axes)  # the panel and its colour bar
    2
    """
    import matplotlib.pyplot as plt

    P = _check_member_proba(member_proba)
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1]; got {threshold!r}")
    if int(bins) < 1:
        raise ValueError(f"bins must be >= 1; got {bins!r}")
    n_members, n = P.shape
    if y_true is None:
        if ax is None:
            fig, ax = plt.subplots(figsize=(9, 4))
        fig = ax.figure
        panels = [(ax, np.arange(n), "all videos")]
    else:
        truth = np.asarray(y_true)
        if truth.shape != (n,):
            raise ValueError(f"y_true has shape {truth.shape}; expected ({n},)")
        truth = truth == 1
        pred = np.median(P, axis=0) >= t
        if fig is None:
            fig = plt.figure(figsize=(12, 7), layout="constrained")
        else:
            fig.clear()
            fig.set_layout_engine("constrained")
        axes = fig.subplots(2, 2, sharey=True)
        cases = (("true positives", truth & pred), ("false negatives", truth & ~pred),
                 ("false positives", ~truth & pred), ("true negatives", ~truth & ~pred))
        panels = [(a, np.flatnonzero(m), name) for a, (name, m) in zip(axes.ravel(), cases)]
    mappable = None
    for a, idx, name in panels:
        mappable = _draw_panel(a, P[:, idx], t, band, int(bins), cmap, n_members) or mappable
        a.set_title(f"{name} ({idx.size})", fontsize="medium")
    if y_true is not None:
        for a in axes[0]:
            a.set_xlabel("")
        for a in axes[:, 1]:
            a.set_ylabel("")
    if mappable is not None:
        fig.colorbar(mappable, ax=[p[0] for p in panels], label="number of models")
    if title:
        if y_true is None:
            panels[0][0].set_title(title)
        else:
            fig.suptitle(title)
    return fig


def _draw_panel(ax, P, t, band, bins, cmap, n_members):
    """One panel of Figure 4; returns the image (None when the panel is empty)."""
    ax.set_ylim(0, 1)
    ax.axhline(t, color="black", linestyle="--", linewidth=1.0, label=f"threshold {t:.2f}")
    ax.set_ylabel("member probability")
    ax.set_xlabel("video (sorted)")
    n = P.shape[1]
    if n == 0:
        ax.text(0.5, 0.5, "no videos", ha="center", va="center", transform=ax.transAxes)
        return None
    order, splits, _ = ensemble_histogram_order(P, t, band)
    Q = P[:, order]
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = np.clip(np.searchsorted(edges, Q, side="right") - 1, 0, bins - 1)
    counts = np.zeros((bins, n), dtype=int)
    np.add.at(counts, (rows, np.broadcast_to(np.arange(n), Q.shape)), 1)
    image = ax.imshow(counts, origin="lower", extent=(-0.5, n - 0.5, 0.0, 1.0), aspect="auto",
                      cmap=cmap, vmin=0, vmax=n_members, interpolation="nearest")
    x = np.arange(n)
    lo, med, hi = np.quantile(Q, [band[0], 0.5, band[1]], axis=0)
    ax.fill_between(x, lo, hi, step="mid", color="tab:blue", alpha=0.3, linewidth=0,
                    label=f"{band[0]:.0%}-{band[1]:.0%} band")
    ax.plot(x, med, "o", color="tab:orange", markersize=3, label="median")
    for s in splits:
        ax.axvline(s, color="tab:red", linestyle="--", linewidth=1.0)
    ax.set_xlim(-0.5, n - 0.5)
    return image
