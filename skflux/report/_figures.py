"""Figures 1-6 of the paper from a run directory (private; see :mod:`skflux.report`).

Each ``_figN(run)`` returns a matplotlib Figure (or a list of them), or raises
``LookupError`` saying what the run directory lacks for it.
"""

import numpy as np

from .. import _layout as layout
from .._paper import THRESHOLD_FALLBACK

CAPTIONS = {
    "fig1": "Every 5th frame of an emergence video of the test set (line-of-sight field, "
            "Gauss); the true emergence frame is marked.",
    "fig2": "Month-block data management: which calendar months train (blue), validate "
            "(orange), set the threshold (benchmark, green) and test (grey) each model.",
    "fig3": "Iterative relabeling. Top: per pass, disagreements already verified earlier "
            "(red), new real mislabels (yellow), new model mistakes (blue), agreements; dashed: "
            "fraction of videos verified so far. Bottom: B/(B+C+D) and B/(B+C) per validation "
            "block against the block model's accuracy.",
    "fig4": "Ensemble probabilities on the test months as a 2-D histogram over videos sorted "
            "by their median (orange), the 25th-75th percentile band, the decision threshold "
            "(dashed) and the stable/unstable split; panels by outcome against the truth.",
    "fig5": "Probability of emergence of every member as frames after the cut-off are masked, "
            "and its gradient; the detected frame (star) and the true emergence frame "
            "(dashed).",
    "fig6": "Top: every 5th frame coloured by how many members call the video an emergence "
            "when cut there. Bottom: predicted minus true emergence time per video (members and "
            "median) with the marginal histograms.",
}

TITLES = {
    "fig1": "Figure 1 - an emergence video",
    "fig2": "Figure 2 - month blocks",
    "fig3": "Figure 3 - relabeling passes",
    "fig4": "Figure 4 - ensemble and threshold",
    "fig5": "Figure 5 - emergence time by frame masking",
    "fig6": "Figure 6 - emergence frames and timing errors",
}


def _located(times):
    """Which videos of ``times`` have a located emergence (all, for files without the flag)."""
    frames = np.asarray(times["emergence_frame"].values, dtype=float)
    located = np.isfinite(frames)
    if "located" in times:
        located &= np.asarray(times["located"].values).astype(bool)
    return located


def timed_emergences(times):
    """Positions in ``times`` of true emergences the ensemble classifies as emergences
    and whose emergence is located (an unlocated one has no time to compare)."""
    from ..metrics import timed_emergences as mask

    if "true_emergence_frame" not in times:
        return np.array([], dtype=int)
    true_frame = np.asarray(times["true_emergence_frame"].values)
    median = np.median(np.asarray(times["final_probability"].values), axis=1)
    truth = (np.asarray(times["true_label"].values) if "true_label" in times.coords
             else np.ones(true_frame.shape, dtype=int))
    good = mask(truth, median, float(times.attrs.get("threshold", THRESHOLD_FALLBACK)),
                true_frame)
    return np.flatnonzero(good & _located(times))


def _pick_video(run):
    """Position in ``times`` of the video of Figures 1, 5 and 6: a typical one.

    Among the true emergences the ensemble classifies correctly, the one whose
    timing error is the median error (not the best one); else the first video
    with a located emergence; else the first video.
    """
    times = run.times
    good = timed_emergences(times)
    if not good.size:
        located = np.flatnonzero(_located(times))
        return int(located[0]) if located.size else 0
    err = (np.asarray(times["emergence_frame"].values)[good]
           - np.asarray(times["true_emergence_frame"].values)[good])
    order = np.argsort(err, kind="stable")
    return int(good[order[(order.size - 1) // 2]])


def _needs_times(run):
    if run.times is None:
        raise LookupError(f"no {layout.TIMES} (run 'skflux locate')")
    return run.times


def _true_frame(times, i):
    if "true_emergence_frame" not in times:
        return None
    f = int(times["true_emergence_frame"].values[i])
    return f if f >= 0 else None


def _video_of(run, times, i):
    """The video ``i`` of ``times`` (matched by ``bmr_id`` in the run's videos)."""
    videos = run.videos
    if videos is None:
        raise LookupError("no videos in the run directory")
    if "bmr_id" in times.coords and "bmr_id" in videos.coords:
        ids = np.asarray(videos["bmr_id"].values)
        where = np.flatnonzero(ids == times["bmr_id"].values[i])
        if where.size:
            return videos.isel(video=int(where[0])).load()
    raise LookupError("cannot match the located videos to the run's videos")


def _figure_of(result):
    """A matplotlib Figure from what a plotting function returned."""
    if hasattr(result, "savefig"):
        return result
    if hasattr(result, "figure"):
        return result.figure
    if isinstance(result, (tuple, list)) and result:
        return _figure_of(result[0])
    if isinstance(result, np.ndarray) and result.size:
        return _figure_of(result.flat[0])
    raise TypeError(f"unexpected return value of a plotting function: {type(result).__name__}")


def _curves(times):
    if "curves" not in times:
        raise LookupError(f"{layout.TIMES} holds no probability curves")
    return np.asarray(times["curves"].values)


def _fig1(run):
    from ..plotting import plot_video_frames

    times = _needs_times(run)
    i = _pick_video(run)
    video = _video_of(run, times, i)
    return _figure_of(plot_video_frames(video, emergence_frame=_true_frame(times, i)))


def _fig2(run):
    from ..model_selection import MonthBlockSplit
    from ..plotting import plot_month_blocks

    ens = run.ensemble
    if ens is not None and hasattr(ens.cv, "blocks"):
        second = MonthBlockSplit(blocks=[tuple(b) for b in ens.cv.blocks],
                                 exclude=getattr(ens.cv, "exclude", None))
    else:
        second = MonthBlockSplit.uncertainty()
    ax = plot_month_blocks([MonthBlockSplit(), second],
                           group_names=["Iterative relabelling", "Uncertainty estimation"])
    return ax.figure


def _fig3(run):
    from ..plotting import plot_relabel_passes

    if not run.passes:
        raise LookupError(f"no {layout.PASSES} (run 'skflux relabel')")
    return plot_relabel_passes(run.passes)


def _fig4(run):
    from ..plotting import plot_ensemble_histogram

    proba = run.probabilities
    if proba is None:
        raise LookupError(f"no {layout.PROBA} nor {layout.MODEL}/ with test videos "
                          "(run 'skflux fit')")
    P, threshold, test = proba
    truth = run.coord("true_label", test)
    return plot_ensemble_histogram(P, threshold, y_true=truth,
                                   title="Test months 11-12" + (
                                       ", panels by true label" if truth is not None else ""))


def _fig5(run):
    from ..plotting import plot_emergence_curves

    times = _needs_times(run)
    i = _pick_video(run)
    axes = plot_emergence_curves(
        _curves(times), video=i, true_frame=_true_frame(times, i),
        lower_bound=int(times.attrs.get("lower_bound", 0)),
        threshold=float(times.attrs.get("threshold", THRESHOLD_FALLBACK)),
        title=f"{times['bmr_id'].values[i]}" if "bmr_id" in times.coords else None)
    return _figure_of(axes)


def _fig6(run):
    from ..plotting import plot_emergence_frames, plot_timing_errors
    from ..timing import timing_errors_days

    times = _needs_times(run)
    i = _pick_video(run)
    video = _video_of(run, times, i)
    top = _figure_of(plot_emergence_frames(
        video, _curves(times), video_index=i,
        threshold=float(times.attrs.get("threshold", THRESHOLD_FALLBACK)),
        true_frame=_true_frame(times, i)))
    good = timed_emergences(times)
    if not good.size:
        return [top]
    errors = timing_errors_days(times.isel(video=good), times["true_emergence_frame"].values[good],
                                per_member=True,
                                cadence_minutes=float(times.attrs.get("cadence_minutes", 96)))
    highlight = int(np.flatnonzero(good == i)[0]) if i in good else None
    bottom = _figure_of(plot_timing_errors(errors, highlight=highlight))
    return [top, bottom]


FIGURES = (("fig1", _fig1), ("fig2", _fig2), ("fig3", _fig3), ("fig4", _fig4),
           ("fig5", _fig5), ("fig6", _fig6))
