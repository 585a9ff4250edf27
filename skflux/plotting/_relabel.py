"""Figure 3 of the paper: the relabeling passes and the convergence of performance."""

from types import SimpleNamespace

import numpy as np

__all__ = ["plot_relabel_passes"]

_COLORS = {
    "A": "#d62728",  # red: disagreements verified in earlier passes
    "B": "#f2c80f",  # yellow: new real mislabels
    "C": "#1f77b4",  # blue: new model mistakes
    "U": "#bbbbbb",  # grey hatched: new disagreements beyond the budget
    "D": "#eeeeee",  # light: agreements
}


def _roman(k):
    vals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for v, s in vals:
        while k >= v:
            out += s
            k -= v
    return out


#: What Figure 3 reads from each pass record (:class:`skflux.relabel.RelabelPass` fields).
_PASS_FIELDS = ("pass_index", "n_videos", "n_previously_verified", "n_mislabels",
                "n_model_mistakes", "n_unreviewed", "n_agreements", "fraction_verified",
                "blocks")


def _as_passes(passes_or_relabeler):
    """Plain records (attribute access) of the passes; nothing from skflux.relabel is imported.

    Accepts a fitted relabeler (``passes_``), pass records with ``to_dict()``
    (:class:`~skflux.relabel.RelabelPass`) or mappings such as their
    ``to_dict()`` dicts read back from JSON.
    """
    obj = passes_or_relabeler
    if hasattr(obj, "passes_"):
        obj = obj.passes_
    elif hasattr(obj, "get_params"):
        raise ValueError("the IterativeRelabeler is not fitted; call fit first")
    if isinstance(obj, dict) or hasattr(obj, "to_dict"):
        obj = [obj]
    passes = []
    try:
        for i, p in enumerate(obj):
            record = p.to_dict() if hasattr(p, "to_dict") else dict(p)
            missing = [k for k in _PASS_FIELDS if k not in record]
            if missing:
                raise TypeError(f"pass record {i} lacks {missing}")
            passes.append(SimpleNamespace(**record))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "plot_relabel_passes needs a fitted IterativeRelabeler, or a list of RelabelPass "
            f"records or of their to_dict() dicts ({exc})") from None
    if not passes:
        raise ValueError("no relabeling passes to plot")
    return passes


def plot_relabel_passes(passes_or_relabeler, *, accuracy="before", fig=None, figsize=(9, 8),
                        title=None):
    """Figure 3: what every relabeling pass found, and how it relates to accuracy.

    *Top*: one stacked bar per pass over all videos of the validation blocks:
    disagreements already verified in earlier passes (A, red), new real
    mislabels (B, yellow), new model mistakes (C, blue), new disagreements left
    unreviewed by a ``budget`` (U, hatched, only when present) and agreements
    (D, light); the dashed black line is the fraction of videos verified so far.
    *Bottom left*: B / (B + C + D), *bottom right*: B / (B + C), per validation
    block (numbered circles) against the block's model accuracy, one colour per
    pass, with the correlation coefficient of each pass in the legend.

    Parameters
    ----------
    passes_or_relabeler : IterativeRelabeler or sequence of RelabelPass or dict
        A fitted relabeler, its ``passes_``, or their ``to_dict()`` dicts.
    accuracy : {"before", "after"}, default="before"
        Block accuracy against the labels at the start of the pass (the
        validation accuracy the models reached) or after the pass's verdicts.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared); a new one otherwise.
    figsize : tuple, default=(9, 8)
        Size of a new figure.
    title : str, optional
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With axes ``fig.axes[0]`` (bars), ``fig.axes[1]`` (B/(B+C+D)) and
        ``fig.axes[2]`` (B/(B+C)).

    Raises
    ------
    ValueError
        For an unfitted relabeler, no passes, or an unknown ``accuracy``.
    TypeError
        For records that are not passes.

    Examples
    --------
    >>> from skflux.relabel import pass_statistics
    >>> import numpy as np
    >>> rec = pass_statistics(1, np.array([0.9, 0.1, 0.8, 0.2]), np.array([0, 0, 1, 1]),
    ...                       np.zeros(4, bool), np.array([0]), np.array([1]),
    ...                       np.array([0, 0, 1, 1]))
    >>> fig = plot_relabel_passes([rec])
    >>> len(fig.axes)
    3
    """
    import matplotlib.pyplot as plt

    if accuracy not in ("before", "after"):
        raise ValueError(f"accuracy must be 'before' or 'after'; got {accuracy!r}")
    passes = _as_passes(passes_or_relabeler)
    acc_key = "accuracy" if accuracy == "before" else "accuracy_after"
    if fig is None:
        fig = plt.figure(figsize=figsize)
    else:
        fig.clear()
    gs = fig.add_gridspec(2, 2, height_ratios=(1.1, 1.0), hspace=0.35, wspace=0.3,
                          right=0.78)
    ax = fig.add_subplot(gs[0, :])
    ax_l = fig.add_subplot(gs[1, 0])
    ax_r = fig.add_subplot(gs[1, 1])

    x = np.arange(len(passes))
    names = [f"Pass {_roman(p.pass_index)}" for p in passes]
    n = np.array([max(p.n_videos, 1) for p in passes], dtype=float)
    parts = [
        ("A", "verified earlier", [p.n_previously_verified for p in passes]),
        ("B", "new mislabels", [p.n_mislabels for p in passes]),
        ("C", "new model mistakes", [p.n_model_mistakes for p in passes]),
        ("U", "unreviewed (budget)", [p.n_unreviewed for p in passes]),
        ("D", "agreements", [p.n_agreements for p in passes]),
    ]
    bottom = np.zeros(len(passes))
    for key, label, counts in parts:
        frac = np.asarray(counts, dtype=float) / n
        if key == "U" and not frac.any():
            continue
        ax.bar(x, frac, 0.6, bottom=bottom, color=_COLORS[key], edgecolor="k", linewidth=0.5,
               hatch="//" if key == "U" else None, label=f"{key}: {label}")
        bottom += frac
    ax.plot(x, [p.fraction_verified for p in passes], "k--", marker="o",
            label="verified so far")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(f"fraction of {int(passes[0].n_videos)} videos")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    ax.set_title("Relabeling passes" if title is None else title)

    cmap = plt.get_cmap("viridis", max(len(passes), 2))
    for axis, key, ylabel in ((ax_l, "relabel_fraction", "B / (B + C + D)"),
                              (ax_r, "real_fraction", "B / (B + C)")):
        for j, p in enumerate(passes):
            xs = np.array([b[acc_key] for b in p.blocks], dtype=float)
            ys = np.array([b[key] for b in p.blocks], dtype=float)
            ok = np.isfinite(xs) & np.isfinite(ys)
            r = _pearson(xs[ok], ys[ok])
            axis.scatter(xs[ok], ys[ok], s=170, color=cmap(j), edgecolor="k", zorder=2,
                         label=f"{names[j]} (r = {r:.2f})" if np.isfinite(r)
                         else f"{names[j]} (r undefined)")
            r_, g_, b_ = cmap(j)[:3]
            ink = "k" if 0.299 * r_ + 0.587 * g_ + 0.114 * b_ > 0.5 else "w"
            for b, xv, yv in zip(p.blocks, xs, ys):
                if np.isfinite(xv) and np.isfinite(yv):
                    axis.annotate(str(b["block"] + 1), (xv, yv), ha="center", va="center",
                                  fontsize=7, color=ink, zorder=3)
        axis.set_xlabel("block accuracy" + (" (after relabel)" if accuracy == "after" else ""))
        axis.set_ylabel(ylabel)
        axis.legend(fontsize=7, frameon=False)
    return fig


def _pearson(x, y):
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
