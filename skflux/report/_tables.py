"""The report's tables of metrics (private; see :mod:`skflux.report`).

Figures are read from ``metrics.json`` when the run has one; otherwise the
test accuracy is computed, by :func:`skflux.metrics.accuracy_summary`, from the
test probabilities.
"""

import logging

import numpy as np

from ._run import RunFileError

log = logging.getLogger("skflux")

PAPER_TIMING = {"5": -2.1, "25": 0.1, "50": 0.4, "75": 1.1, "95": 2.7}


def _pct(x):
    return None if x is None else f"{100 * float(x):.1f} %"


def _data_rows(data):
    return [("videos", data.get("n_videos"), ""),
            ("true emergences", _pct(data.get("true_emergence_fraction")), ""),
            ("crude labels that are wrong", _pct(data.get("crude_mislabel_fraction")),
             "simulator's BARD-like labels: 15-25 % by design")]


def _relabel_rows(rel):
    rows = [("passes", rel.get("passes"), "paper: 4"),
            ("stopped because", rel.get("stop_reason"), ""),
            ("videos verified by the reviewer", _pct(rel.get("fraction_verified")),
             "paper: ~50 %"),
            ("labels changed", rel.get("labels_changed"), "")]
    if "crude_mislabels" in rel:
        rows += [("crude mislabels in months 1-10", rel["crude_mislabels"], ""),
                 ("of them corrected", _pct(rel.get("fraction_corrected")), "paper: ~85-90 %")]
    return rows


def _ensemble_rows(ens):
    return [("members", ens.get("n_members"), "paper: 8 (4 blocks x 2 seeds)"),
            ("decision threshold", ens.get("threshold"), "paper: 0.6"),
            ("threshold from", ens.get("threshold_source"), "")]


def _test_rows(test):
    rows = [("test videos (months 11-12)", test.get("n_videos"), "")]
    acc = test.get("accuracy_vs_truth") or {}
    if acc:
        rows += [("accuracy vs truth, median as metric", _pct(acc.get("0.5")),
                  "paper (MDI): 83 %"),
                 ("accuracy vs truth, 25th percentile", _pct(acc.get("0.25")), "paper: 79 %"),
                 ("accuracy vs truth, 75th percentile", _pct(acc.get("0.75")), "paper: 71 %")]
    crude = test.get("accuracy_vs_crude_labels") or {}
    if crude:
        rows.append(("agreement with the crude labels (median)", _pct(crude.get("0.5")), ""))
    if "crude_label_accuracy_vs_truth" in test:
        rows.append(("crude labels' own accuracy vs truth",
                     _pct(test["crude_label_accuracy_vs_truth"]), "baseline"))
    if "majority_class_accuracy" in test:
        rows.append(("always predicting the majority class",
                     _pct(test["majority_class_accuracy"]), "baseline"))
    if "n_stable" in test:
        rows += [("stable / unstable inferences", f"{test['n_stable']} / {test['n_unstable']}",
                  ""),
                 ("accuracy of stable / unstable", f"{_pct(test.get('accuracy_stable'))} / "
                  f"{_pct(test.get('accuracy_unstable'))}", "")]
    return rows


def _timing_rows(timing):
    rows = [("correctly classified test emergences timed", timing.get("n_videos"), "")]
    for k, v in timing["percentiles_days"].items():
        key = str(int(float(k)))
        rows.append((f"{key}th percentile of predicted - true (days)", round(v, 2),
                     f"paper: {PAPER_TIMING[key]:+.1f}" if key in PAPER_TIMING else ""))
    return rows


def _located_rows(run):
    """How many located videos have an emergence located, from ``times.nc`` (or nothing)."""
    times = run.times
    if times is None or "located" not in times:
        return []
    located = np.asarray(times["located"].values).astype(bool)
    lb = times.attrs.get("lower_bound")
    return [("videos located", int(located.size), ""),
            ("emergence located", int(located.sum()), ""),
            ("no emergence located", int((~located).sum()),
             f"largest change at the lower bound (frame {lb}) or under 2 observed frames; "
             "no time given")]


def ensemble_info(ens):
    """The ensemble's row of the report (and of ``metrics.json``)."""
    info = getattr(ens, "threshold_info_", None) or {}
    return {"n_members": len(ens.estimators_), "threshold": float(ens.threshold_),
            "threshold_source": info.get("source", "")}


def metrics_from_proba(run):
    """Test accuracy from the run's probabilities (when ``metrics.json`` has none)."""
    from ..metrics import accuracy_summary

    proba = run.probabilities
    if proba is None:
        return None
    P, threshold, test = proba
    crude = run.coord("crude_label", test)
    return accuracy_summary(P, threshold, y_true=run.coord("true_label", test),
                            y_labels=crude if crude is not None else run.coord("label", test))


def metrics_tables(run):
    """Report tables ``{section: [(quantity, value, reference)]}`` from what the run holds."""
    m = run.metrics or {}
    tables = {}
    if m.get("data"):
        tables["Data"] = _data_rows(m["data"])
    rel = m.get("relabel")
    if rel is None and run.passes_record is not None:
        rel = run.passes_record.get("summary")
    if rel:
        tables["Relabeling (months 1-10)"] = _relabel_rows(rel)
    ens = m.get("ensemble")
    if ens is None and run.ensemble is not None:
        ens = ensemble_info(run.ensemble)
    if ens:
        tables["Ensemble"] = _ensemble_rows(ens)
    test = m.get("test")
    if test is None:
        try:
            test = metrics_from_proba(run)
        except RunFileError:
            raise
        except Exception as exc:  # a table that cannot be computed is left out, said so
            log.warning("no test-accuracy table: %s: %s", type(exc).__name__,
                        " ".join(str(exc).split())[:300])
            test = None
    if test:
        tables["Test accuracy"] = _test_rows(test)
    timing = m.get("timing")
    if timing and timing.get("percentiles_days"):
        tables["Emergence timing"] = _timing_rows(timing)
    located = _located_rows(run)
    if located:
        tables["Emergence location"] = located
    if m.get("seconds"):
        tables["Wall time (s)"] = [(k, v, "") for k, v in m["seconds"].items()]
    return tables
