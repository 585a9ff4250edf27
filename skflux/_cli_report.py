"""``skflux report RUN_DIR``: Figures 1-6 and the metrics of a run directory (private).

Draws every figure the run directory has the material for (see the layout in
:mod:`skflux.cli`) with the :mod:`skflux.plotting` functions, and writes
``RUN_DIR/report/index.html`` through :func:`skflux._report.write_html_report`.
A figure whose material is missing is listed with the reason instead.
"""

import json
import logging
from pathlib import Path

import numpy as np

from . import _cli_store as store
from ._report import Figure, write_html_report

log = logging.getLogger("skflux")

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


def _error(message):
    from .cli import CommandError

    return CommandError(message)


class _Run:
    """Lazy access to what a run directory holds."""

    def __init__(self, run_dir, quiet):
        self.dir = Path(run_dir)
        self.quiet = quiet
        self._cache = {}

    def path(self, name):
        p = self.dir / name
        return p if p.exists() else None

    def _get(self, key, loader):
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]

    @property
    def videos(self):
        from .io import open_videos

        def load():
            for name in (store.RELABELED, store.DATA):
                p = self.path(name)
                if p is not None:
                    return open_videos(p)
            return None

        return self._get("videos", load)

    @property
    def metrics(self):
        def load():
            p = self.path(store.METRICS)
            return json.loads(p.read_text()) if p is not None else None

        return self._get("metrics", load)

    @property
    def passes(self):
        def load():
            p = self.path(store.PASSES)
            if p is None:
                return None
            payload = json.loads(p.read_text())
            return payload["passes"] if isinstance(payload, dict) else payload

        return self._get("passes", load)

    @property
    def config(self):
        def load():
            return store.read_config(self.dir / store.MODEL) if self.path(store.MODEL) else None

        return self._get("config", load)

    @property
    def times(self):
        import xarray as xr

        def load():
            p = self.path(store.TIMES)
            return xr.load_dataset(p) if p is not None else None

        return self._get("times", load)

    @property
    def probabilities(self):
        """``(member_proba, threshold, test positions)`` on the test months, or None."""
        import xarray as xr

        def load():
            p = self.path(store.PROBA)
            test = self.test_index
            if p is not None:
                ds = xr.load_dataset(p)
                return ds["member_proba"].values, float(ds.attrs["threshold"]), test
            if self.config is None or self.videos is None or test is None or not test.size:
                return None
            log.info("computing the ensemble's probabilities on %d test videos", test.size)
            ens, _ = store.load_ensemble(self.dir / store.MODEL)
            P = ens.predict_proba_members(self.videos.isel(video=test))
            from ._cli_demo import write_probabilities

            write_probabilities(self.dir / store.PROBA, P, ens.threshold_,
                                self.videos.isel(video=test))
            return P, float(ens.threshold_), test

        return self._get("proba", load)

    @property
    def test_index(self):
        from .model_selection import month_block_sets

        def load():
            if self.videos is None:
                return None
            return month_block_sets(self.videos).test

        return self._get("test", load)

    def coord(self, name, index=None):
        v = self.videos
        if v is None or name not in v.coords:
            return None
        values = np.asarray(v[name].values)
        return values if index is None else values[index]


def timed_emergences(times):
    """Positions in ``times`` of true emergences the ensemble classifies as emergences."""
    if "true_emergence_frame" not in times:
        return np.array([], dtype=int)
    true_frame = np.asarray(times["true_emergence_frame"].values)
    median = np.median(np.asarray(times["final_probability"].values), axis=1)
    good = (true_frame >= 0) & (median >= float(times.attrs.get("threshold", 0.5)))
    if "true_label" in times.coords:
        good &= np.asarray(times["true_label"].values) == 1
    return np.flatnonzero(good)


def _pick_video(run):
    """Position in ``times`` of the video of Figures 1, 5 and 6: a typical one.

    Among the true emergences the ensemble classifies correctly, the one whose
    timing error is the median error (not the best one); else the first video.
    """
    times = run.times
    if times is None:
        return None
    good = timed_emergences(times)
    if not good.size:
        return 0
    err = (np.asarray(times["emergence_frame"].values)[good]
           - np.asarray(times["true_emergence_frame"].values)[good])
    order = np.argsort(err, kind="stable")
    return int(good[order[(order.size - 1) // 2]])


# --------------------------------------------------------------------------- figures

def _fig2(run):
    from .model_selection import MonthBlockSplit
    from .plotting import plot_month_blocks

    splitters = [MonthBlockSplit()]
    names = ["Iterative relabelling"]
    config = run.config
    if config is not None and "cv" in config:
        splitters.append(MonthBlockSplit(blocks=[tuple(b) for b in config["cv"]["blocks"]],
                                         exclude=config["cv"].get("exclude")))
        names.append("Uncertainty estimation")
    else:
        splitters.append(MonthBlockSplit.uncertainty())
        names.append("Uncertainty estimation")
    ax = plot_month_blocks(splitters, group_names=names)
    return ax.figure


def _fig3(run):
    from .plotting import plot_relabel_passes

    if not run.passes:
        raise LookupError(f"no {store.PASSES} (run 'skflux relabel')")
    return plot_relabel_passes(run.passes)


def _fig4(run):
    from .plotting import plot_ensemble_histogram

    proba = run.probabilities
    if proba is None:
        raise LookupError(f"no {store.PROBA} nor {store.MODEL}/ with test videos "
                          "(run 'skflux fit')")
    P, threshold, test = proba
    truth = run.coord("true_label", test)
    return plot_ensemble_histogram(P, threshold, y_true=truth,
                                   title="Test months 11-12" + (
                                       ", panels by true label" if truth is not None else ""))


def _needs_times(run):
    if run.times is None:
        raise LookupError(f"no {store.TIMES} (run 'skflux locate')")
    return run.times


def _true_frame(times, i):
    if "true_emergence_frame" not in times:
        return None
    f = int(times["true_emergence_frame"].values[i])
    return f if f >= 0 else None


def _fig1(run):
    from .plotting import plot_video_frames

    times = _needs_times(run)
    i = _pick_video(run)
    video = _video_of(run, times, i)
    return _figure_of(plot_video_frames(video, emergence_frame=_true_frame(times, i)))


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
        raise LookupError(f"{store.TIMES} holds no probability curves")
    return np.asarray(times["curves"].values)


def _fig5(run):
    from .plotting import plot_emergence_curves

    times = _needs_times(run)
    i = _pick_video(run)
    axes = plot_emergence_curves(
        _curves(times), video=i, true_frame=_true_frame(times, i),
        lower_bound=int(times.attrs.get("lower_bound", 0)),
        threshold=float(times.attrs.get("threshold", 0.5)),
        title=f"{times['bmr_id'].values[i]}" if "bmr_id" in times.coords else None)
    return _figure_of(axes)


def _fig6(run):
    from .plotting import plot_emergence_frames, plot_timing_errors
    from .timing import timing_errors_days

    times = _needs_times(run)
    i = _pick_video(run)
    video = _video_of(run, times, i)
    top = _figure_of(plot_emergence_frames(
        video, _curves(times), video_index=i,
        threshold=float(times.attrs.get("threshold", 0.5)), true_frame=_true_frame(times, i)))
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


# --------------------------------------------------------------------------- metrics

def _pct(x):
    return None if x is None else f"{100 * float(x):.1f} %"


def metrics_tables(run):
    """Report tables ``{section: [(quantity, value, reference)]}`` from what the run holds."""
    m = run.metrics or {}
    tables = {}
    data = m.get("data")
    if data:
        tables["Data"] = [
            ("videos", data.get("n_videos"), ""),
            ("true emergences", _pct(data.get("true_emergence_fraction")), ""),
            ("crude labels that are wrong", _pct(data.get("crude_mislabel_fraction")),
             "simulator's BARD-like labels: 15-25 % by design"),
        ]
    rel = m.get("relabel")
    if rel is None and run.passes:
        p = run.path(store.PASSES)
        rel = json.loads(p.read_text()).get("summary") if p else None
    if rel:
        rows = [("passes", rel.get("passes"), "paper: 4"),
                ("stopped because", rel.get("stop_reason"), ""),
                ("videos verified by the reviewer", _pct(rel.get("fraction_verified")),
                 "paper: ~50 %"),
                ("labels changed", rel.get("labels_changed"), "")]
        if "crude_mislabels" in rel:
            rows += [("crude mislabels in months 1-10", rel["crude_mislabels"], ""),
                     ("of them corrected", _pct(rel.get("fraction_corrected")),
                      "paper: ~85-90 %")]
        tables["Relabeling (months 1-10)"] = rows
    ens = m.get("ensemble")
    if ens is None and run.config is not None:
        ens = {"n_members": len(run.config["members"]), "threshold": run.config["threshold"],
               "threshold_source": run.config.get("training", {}).get("threshold_source", "")}
    if ens:
        tables["Ensemble"] = [("members", ens.get("n_members"), "paper: 8 (4 blocks x 2 seeds)"),
                              ("decision threshold", ens.get("threshold"), "paper: 0.6"),
                              ("threshold from", ens.get("threshold_source"), "")]
    test = m.get("test")
    if test is None:
        test = _test_metrics_from_proba(run)
    if test:
        acc = test.get("accuracy_vs_truth") or {}
        rows = [("test videos (months 11-12)", test.get("n_videos"), "")]
        if acc:
            rows += [("accuracy vs truth, median as metric", _pct(acc.get("0.5")),
                      "paper (MDI): 83 %"),
                     ("accuracy vs truth, 25th percentile", _pct(acc.get("0.25")),
                      "paper: 79 %"),
                     ("accuracy vs truth, 75th percentile", _pct(acc.get("0.75")),
                      "paper: 71 %")]
        crude = test.get("accuracy_vs_crude_labels") or {}
        if crude:
            rows.append(("agreement with the crude labels (median)", _pct(crude.get("0.5")),
                         ""))
        if "crude_label_accuracy_vs_truth" in test:
            rows.append(("crude labels' own accuracy vs truth",
                         _pct(test["crude_label_accuracy_vs_truth"]), "baseline"))
        if "majority_class_accuracy" in test:
            rows.append(("always predicting the majority class",
                         _pct(test["majority_class_accuracy"]), "baseline"))
        if "n_stable" in test:
            rows += [("stable / unstable inferences",
                      f"{test['n_stable']} / {test['n_unstable']}", ""),
                     ("accuracy of stable / unstable",
                      f"{_pct(test.get('accuracy_stable'))} / "
                      f"{_pct(test.get('accuracy_unstable'))}", "")]
        tables["Test accuracy"] = rows
    timing = m.get("timing")
    if timing and timing.get("percentiles_days"):
        pct = timing["percentiles_days"]
        paper = {"5": -2.1, "25": 0.1, "50": 0.4, "75": 1.1, "95": 2.7}
        rows = [("correctly classified test emergences timed", timing.get("n_videos"), "")]
        for k, v in pct.items():
            key = str(int(float(k)))
            rows.append((f"{key}th percentile of predicted - true (days)", round(v, 2),
                         f"paper: {paper[key]:+.1f}" if key in paper else ""))
        tables["Emergence timing"] = rows
    seconds = m.get("seconds")
    if seconds:
        tables["Wall time (s)"] = [(k, v, "") for k, v in seconds.items()]
    return tables


def _test_metrics_from_proba(run):
    from .metrics import ensemble_accuracy_report

    try:
        proba = run.probabilities
    except Exception as exc:  # the report still shows what it can
        log.warning("no test probabilities: %s", exc)
        return None
    if proba is None:
        return None
    P, threshold, test = proba
    truth = run.coord("true_label", test)
    labels = run.coord("label", test)
    out = {"n_videos": int(P.shape[1])}
    if truth is not None:
        r = ensemble_accuracy_report(None, None, truth, member_proba=P, threshold=threshold)
        out["accuracy_vs_truth"] = {str(k): v for k, v in r["accuracy"].items()}
        out.update(n_stable=r["n_stable"], n_unstable=r["n_unstable"],
                   accuracy_stable=r["accuracy_stable"],
                   accuracy_unstable=r["accuracy_unstable"])
    if labels is not None:
        r = ensemble_accuracy_report(None, None, labels, member_proba=P, threshold=threshold)
        out["accuracy_vs_crude_labels"] = {str(k): v for k, v in r["accuracy"].items()}
    return out


# --------------------------------------------------------------------------- entry

def build_report(run_dir, out=None, *, fmt="png", quiet=False):
    """Draw the figures and write the HTML report of ``run_dir``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = _Run(run_dir, quiet)
    if run.videos is None and run.metrics is None and run.passes is None:
        raise _error(f"{run_dir}: not a run directory (none of {store.DATA}, "
                     f"{store.RELABELED}, {store.METRICS}, {store.PASSES} found)")
    out = Path(out) if out is not None else run.dir / store.REPORT
    out.mkdir(parents=True, exist_ok=True)
    from tqdm.auto import tqdm

    figures = []
    for key, draw in tqdm(FIGURES, desc="figures", disable=quiet, leave=False):
        try:
            figs = draw(run)
        except (LookupError, ImportError, AttributeError) as exc:
            reason = " ".join(str(exc).split())
            log.warning("%s not drawn: %s", TITLES[key].split(" - ")[0], reason)
            figures.append(Figure(key, TITLES[key], caption=CAPTIONS[key], missing=reason))
            continue
        figs = figs if isinstance(figs, list) else [figs]
        for j, fig in enumerate(figs):
            name = f"{key}{'abcdef'[j] if len(figs) > 1 else ''}.{fmt}"
            fig.savefig(out / name, dpi=110, bbox_inches="tight")
            plt.close(fig)
            title = TITLES[key] + (f" ({'top' if j == 0 else 'bottom'})" if len(figs) > 1
                                   else "")
            figures.append(Figure(f"{key}{'abcdef'[j] if j else ''}", title, file=name,
                                  caption=CAPTIONS[key] if j == len(figs) - 1 else ""))
    tables = metrics_tables(run)
    notes = []
    if run.metrics and "config" in run.metrics:
        cfg = run.metrics["config"]
        notes.append(
            "Simulated data (skflux.datasets), not MDI: "
            f"{cfg.get('n_videos')} videos of {cfg.get('frames')} frames x {cfg.get('size')} px; "
            f"network widths {cfg.get('widths')}, at most {cfg.get('epochs')} epochs per model. "
            "The paper's figures come from 2,000+ real MDI videos at 225 frames x 90 px.")
    title = "skflux report"
    return write_html_report(out, title=title, figures=figures, metrics=tables, notes=notes,
                             subtitle=f"Run directory: {run.dir.resolve()}.")
