"""Iterative relabeling on the simulator, with the ground truth as the reviewer.

A simulated dataset (:func:`skflux.datasets.make_flux_emergence`, BARD-like crude
labels whose mistakes have physical causes) is relabeled by
:class:`skflux.IterativeRelabeler` with :class:`skflux.relabel.TruthOracle` standing
in for the human. Side by side in one run, on the same data and models:

* ``paper``: the defaults, i.e. the paper's algorithm (every new disagreement
  reviewed, in video order, stop when R <= 0.5);
* ``paper, R -> 0``: the same with ``stop_ratio=0`` (passes go on until a pass
  finds only mislabels or changes nothing): what the paper's ordering costs to
  reach a higher correction rate;
* ``confidence``: ``priority="confidence"`` with ``budget`` reviews per pass;
* ``paper, cross-entropy loss`` (CNN only): the defaults again, with the network
  trained by plain binary cross-entropy instead of the noise-robust loss.

For each: passes, fraction of the train+validation videos (months 1-10) a person
verified, fraction of the crude mislabels among them corrected, reviews per
correction. Then the test accuracy (months 11-12, against the truth) of one model
trained on months 1-10 with the crude, relabeled (each run) and true labels.
Targets (issue): the default corrects >= 85 % of the mislabels with <= 35 % of the
videos verified; the confidence mode is strictly better on human effort at the same
correction rate (it corrects at least as many mislabels as the default while
verifying fewer videos); the paper reports ~50 % verified, ~85 % corrected, 4 passes.

Models (``--model``):

* ``cnn`` (default): a small :class:`skflux.FluxEmergenceClassifier` (the reference
  VGG layout with widths 8-16-32-32, dense 64, lr 1e-2, batch 16, x4 flip
  augmentation), videos in memory as a float32 array, trained with
  :class:`skflux.nn.GeneralizedCrossEntropyLoss` (``--loss gce``, ``--q`` 0.3;
  ``--loss bce`` for the paper's cross-entropy). Cross-entropy learns the crude
  labels' noise rate: a third of the non-emergence videos carry the label
  emergence, so the network's probability for them settles near 1/3 and the
  spread around it hides mislabels above 0.5 from the first pass. q = 0.3 was
  picked from ad-hoc first passes on another simulated set (seed 1) before this
  benchmark's full run; first passes with q = 0.4 and 0.7 on this benchmark's
  data had been looked at before that. The repo's rerun of the seed-1 first pass
  (``bench_relabel_first_pass.py``, results/relabel_first_pass.md) gives 154
  (cross-entropy), 157, 155, 145 and 160 (q = 0.2 to 0.5) of 187 mislabels
  corrected: the catch is not monotonic in q, and no q in 0.2-0.5 is clearly
  best. As in the paper each fold model is trained "until validation accuracy
  reaches maximum": at most ``--epochs`` (default 20) epochs, early stopping with
  patience 5 on the accuracy of its held-out block against the current labels,
  best weights restored. On the 2-core box, otherwise idle, the four runs take
  about 180 s, 940 s, 1,250 s and 170 s (1,200 videos of 32 x 32 x 32), the
  clean-label catch about 150 s: about 50 minutes with the test-accuracy fits.
  The recorded result repeats the previous recorded run's passes exactly (the
  runs are deterministic) and adds the clean-label catch and the review order;
  its first run shared the cores with other fits for part of its 790 s. Each
  run's seconds are kept in the result file.
* ``features``: per-video features of the unsigned-flux, strong-field,
  off-disk and peak-field curves (8 time bins each, plus the growth of the
  normalized flux curve) computed once, then standard scaling and logistic
  regression. About 20 s on 2 CPU cores; a weaker model than the CNN (test
  accuracy 0.917 with true labels against the CNN's ~0.98), kept as a fast check
  (results/relabel_features.md).

Also measured: the clean-label catch (:func:`clean_label_catch`), the crude
mislabels that the same model's out-of-fold predictions disagree with when its
fold models are trained on the *true* labels: what one pass could catch if the
crude labels' own mistakes did not teach the model.

Data: ``--n-videos`` (default 1,200) videos of ``--frames`` x ``--size`` x
``--size`` (default 32 x 32 x 32, i.e. 96 x 225/32 = 675-minute cadence over the
same 15 days, 28'' pixels instead of 10''), seed ``--seed``.

``bench_relabel_seeds.py`` repeats the paper default and the confidence mode on
other simulated sets (seeds 1 and 2), so that a difference of a few reviews can be
told from the luck of one data set.

``--retable results/relabel.json`` rebuilds the table of a saved run from the
runs it recorded (after a change to how the table is computed; nothing refitted).

Run: ``python benchmarks/bench_relabel.py`` (full, CNN: about 50 minutes) or
``--quick`` (150 videos of 16 x 16 x 16, at most 3 passes: a smoke run).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, peak_rss_mb, write_result

from skflux.relabel import IterativeRelabeler, TruthOracle


def _simulate(n, frames, size, seed):
    from skflux.datasets import make_flux_emergence

    return make_flux_emergence(n, random_state=seed, n_frames=frames, size=size)


def video_features(X, bins=8, chunk=200):
    """Per-video features from the time curves of a batch of videos (vectorized)."""
    out = []
    for start in range(0, X.shape[0], chunk):
        x = np.asarray(X[start:start + chunk], dtype=np.float32)
        n, t = x.shape[:2]
        a = np.abs(x).reshape(n, t, -1)
        curves = [a.mean(2), (a > 100).mean(2), (x.reshape(n, t, -1) == 0).mean(2),
                  np.percentile(a, 99, axis=2)]
        edges = np.linspace(0, t, bins + 1).astype(int)
        binned = [np.stack([c[:, i:j].mean(1) for i, j in zip(edges[:-1], edges[1:])], 1)
                  for c in curves]
        flux, strong, off, peak = binned
        norm = flux / (flux.max(1, keepdims=True) + 1e-6)
        out.append(np.column_stack([np.log1p(flux), norm, strong, off, np.log1p(peak),
                                    np.diff(norm, axis=1)]))
    return np.vstack(out)


def _model(kind, epochs, device, seed, loss="gce", q=0.3):
    if kind == "features":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    import skflux
    from skflux.nn import GeneralizedCrossEntropyLoss

    criterion = ({"criterion": GeneralizedCrossEntropyLoss, "criterion__q": q}
                 if loss == "gce" else {})
    return skflux.FluxEmergenceClassifier(
        max_epochs=epochs, lr=1e-2, batch_size=16, patience=5, valid_months=None,
        module__widths=(8, 16, 32, 32), module__top=32, module__dense=64, device=device,
        random_state=seed, **criterion)


def _summary(name, rel, crude, truth, in_cv, seconds, reasons=None):
    wrong = (crude != truth) & in_cv
    fixed = (rel.labels_ == truth) & wrong
    corrected = int(fixed.sum())
    by_reason = {}
    if reasons is not None:  # the simulator's recorded cause of each crude mislabel
        for reason in sorted(set(reasons[wrong])):
            sel = wrong & (reasons == reason)
            by_reason[str(reason)] = [int(sel.sum()), int(fixed[sel].sum())]
    broken = int(((rel.labels_ != truth) & ~wrong & in_cv).sum())
    verified = int(rel.verified_[in_cv].sum())
    return {
        "run": name, "passes": rel.n_passes_, "stop_reason": rel.stop_reason_,
        "verified": verified, "fraction_verified": verified / int(in_cv.sum()),
        "mislabels": int(wrong.sum()), "corrected": corrected,
        "fraction_corrected": corrected / max(int(wrong.sum()), 1),
        "labels_broken": broken,
        "reviews_per_correction": verified / max(corrected, 1),
        "label_accuracy_after": float((rel.labels_ == truth)[in_cv].mean()),
        "corrected_by_reason": by_reason,
        "per_pass": [(len(p.reviewed), p.n_mislabels, p.n_model_mistakes, p.n_unreviewed,
                      None if not np.isfinite(p.ratio) else round(p.ratio, 3))
                     for p in rel.passes_],
        # per pass, in the order the reviewer saw them: 1 = label changed, 0 = model mistake
        "review_outcomes": [np.isin(p.reviewed, p.relabeled).astype(int).tolist()
                            for p in rel.passes_],
        "seconds": seconds,
    }


def paper_from_continued(rel, crude, truth, stop_ratio=0.5):
    """The paper default's result read off a run with ``stop_ratio=0``.

    Runs differ only in when they stop: pass k of the continued run is the same
    computation as pass k of the default (same labels going in, same seeds), so the
    default is the continued run cut after the first pass whose record meets the
    default's stopping rule (:func:`skflux.relabel._passes.stop_reason`). Returns an
    object with the attributes :func:`_summary` reads. With the truth as oracle every
    label change sets the truth.
    """
    from types import SimpleNamespace

    from skflux.relabel._passes import stop_reason

    passes = []
    for rec in rel.passes_:
        passes.append(rec)
        reason = stop_reason(rec, stop_ratio, rel.max_passes)
        if reason:
            break
    labels, verified = crude.copy(), np.zeros(crude.shape, dtype=bool)
    for rec in passes:
        verified[np.asarray(rec.reviewed, dtype=int)] = True
        changed = np.asarray(rec.relabeled, dtype=int)
        labels[changed] = truth[changed]
    return SimpleNamespace(labels_=labels, verified_=verified, n_passes_=len(passes),
                           stop_reason_=reason, passes_=passes)


def effort_at(run, corrected, n_train_val):
    """Fraction verified when ``run`` has corrected ``corrected`` mislabels.

    The run's effort curve: cumulative videos verified against cumulative
    mislabels corrected (with the truth as oracle every label change corrects a
    crude mislabel). Exact, review by review, when the run recorded
    ``review_outcomes``; otherwise (results saved before they were recorded)
    known at the end of each pass and taken as linear in between, i.e. as if the
    reviews inside a pass found mislabels at an even rate (for a ranked review,
    whose first reviews find more, this overstates its effort). None if the run
    never gets there.
    """
    if run.get("review_outcomes") is not None:
        found = np.cumsum([o for outcomes in run["review_outcomes"] for o in outcomes])
        reached = np.flatnonzero(found >= corrected)
        return None if reached.size == 0 else (int(reached[0]) + 1) / n_train_val
    r0 = m0 = 0
    for n_reviewed, n_mislabels, *_ in run["per_pass"]:
        r1, m1 = r0 + n_reviewed, m0 + n_mislabels
        if m1 >= corrected:
            frac = 0.0 if m1 == m0 else (corrected - m0) / (m1 - m0)
            return (r0 + frac * (r1 - r0)) / n_train_val
        r0, m0 = r1, m1
    return None


def clean_label_catch(est, X, crude, truth, months, in_cv, seed, n_jobs, reasons):
    """What one pass of ``est`` could catch had it learned from the true labels.

    A first pass on the *true* labels: the out-of-fold predictions of fold models
    trained on the truth, compared with the crude labels. The crude mislabels they
    disagree with are those this model can tell apart from their crude label at
    all; the paper default's first pass, trained on the crude labels, is judged
    against this count (what the crude labels' own mistakes cost it).
    """
    t0 = time.perf_counter()
    rel = IterativeRelabeler(est, oracle=TruthOracle(truth), max_passes=1,
                             random_state=seed, n_jobs=n_jobs).fit(X, truth, groups=months)
    pred = (np.nan_to_num(rel.oof_proba_, nan=0.0) >= rel.threshold).astype(int)
    wrong = (crude != truth) & in_cv
    caught = wrong & (pred != crude)
    return {
        "caught": int(caught.sum()), "mislabels": int(wrong.sum()),
        "fraction": float(caught.sum() / max(int(wrong.sum()), 1)),
        "accuracy_train_val": float((pred == truth)[in_cv].mean()),
        "caught_by_reason": {str(r): [int((wrong & (reasons == r)).sum()),
                                      int((caught & (reasons == r)).sum())]
                             for r in sorted(set(reasons[wrong]))},
        "seconds": time.perf_counter() - t0,
    }


def table_rows(runs, acc, budget, n_train_val, ceiling=None):
    """The result table from the runs (paper, R -> 0, confidence, then any
    other-loss runs), the test accuracies and, if measured, the clean-label
    catch (:func:`clean_label_catch`)."""
    paper, to_zero, conf, *other_loss = runs
    conf_effort = effort_at(conf, paper["corrected"], n_train_val)
    zero_effort = effort_at(to_zero, conf["corrected"], n_train_val)
    ceiling_rows = [] if ceiling is None else [
        {"figure": "same model trained on the true labels: crude mislabels its "
                   "out-of-fold predictions disagree with",
         "value": ceiling["fraction"], "unit": "",
         "compared_with": f"{ceiling['caught']} of {ceiling['mislabels']}; the paper default "
                          f"(crude labels) corrected {paper['corrected']}",
         "target": "", "passed": None}]
    return [
        {"figure": "paper default: fraction of crude mislabels corrected",
         "value": paper["fraction_corrected"], "unit": "",
         "compared_with": f"paper (MDI): ~0.85; R->0: {to_zero['fraction_corrected']:.3f}",
         "target": ">= 0.85", "passed": paper["fraction_corrected"] >= 0.85},
        {"figure": "paper default: fraction of train+val videos verified",
         "value": paper["fraction_verified"], "unit": "",
         "compared_with": "paper (MDI): ~0.5", "target": "<= 0.35",
         "passed": paper["fraction_verified"] <= 0.35},
        {"figure": "paper default: passes", "value": paper["passes"], "unit": "",
         "compared_with": "paper (MDI): 4", "target": "", "passed": None},
        *ceiling_rows,
        *[{"figure": f"{r['run']}: fraction corrected / verified / passes",
           "value": f"{r['fraction_corrected']:.3f} / {r['fraction_verified']:.3f}"
                    f" / {r['passes']}", "unit": "", "compared_with": "paper default",
           "target": "", "passed": None} for r in other_loss],
        {"figure": "R -> 0: fraction corrected / verified / passes",
         "value": f"{to_zero['fraction_corrected']:.3f} / {to_zero['fraction_verified']:.3f}"
                  f" / {to_zero['passes']}", "unit": "", "compared_with": "paper default",
         "target": "", "passed": None},
        {"figure": f"confidence (budget {budget}/pass): fraction corrected",
         "value": conf["fraction_corrected"], "unit": "",
         "compared_with": f"paper default {paper['fraction_corrected']:.3f}",
         "target": ">= paper default", "passed":
             conf["fraction_corrected"] >= paper["fraction_corrected"]},
        {"figure": f"confidence (budget {budget}/pass): fraction verified to correct the "
                   "paper default's share of the mislabels",
         "value": conf_effort, "unit": "",
         "compared_with": f"paper default {paper['fraction_verified']:.3f} (corrected "
                          f"{paper['fraction_corrected']:.3f}); confidence at its end "
                          f"{conf['fraction_verified']:.3f} (corrected "
                          f"{conf['fraction_corrected']:.3f})",
         "target": "< paper default at the same correction rate",
         "passed": conf_effort is not None and conf_effort < paper["fraction_verified"]},
        {"figure": f"confidence (budget {budget}/pass): fraction verified at its own "
                   "final correction rate",
         "value": conf["fraction_verified"], "unit": "",
         "compared_with": "the paper's passes continued (R -> 0) at the same rate: "
                          + ("not reached" if zero_effort is None else f"{zero_effort:.3f}"),
         "target": "< paper's passes at the same correction rate",
         "passed": zero_effort is not None and conf["fraction_verified"] < zero_effort},
        {"figure": "reviews per corrected mislabel (paper / R->0 / confidence)",
         "value": f"{paper['reviews_per_correction']:.2f} / "
                  f"{to_zero['reviews_per_correction']:.2f} / "
                  f"{conf['reviews_per_correction']:.2f}",
         "unit": "", "compared_with": "", "target": "", "passed": None},
        *(_accuracy_rows(acc, conf) if acc else []),
        {"figure": "labels made wrong by relabeling (all runs)",
         "value": sum(r["labels_broken"] for r in runs), "unit": "videos",
         "compared_with": "", "target": "0 (truth oracle)",
         "passed": sum(r["labels_broken"] for r in runs) == 0},
    ]


def _accuracy_rows(acc, conf):
    return [
        {"figure": "test accuracy, trained on relabeled (paper default) labels",
         "value": acc["paper"], "unit": "",
         "compared_with": f"crude {acc['crude']:.3f}, true {acc['true']:.3f}",
         "target": "> crude", "passed": acc["paper"] > acc["crude"]},
        {"figure": "test accuracy, trained on relabeled (confidence) labels",
         "value": acc[conf["run"]], "unit": "",
         "compared_with": f"crude {acc['crude']:.3f}, true {acc['true']:.3f}",
         "target": "> crude", "passed": acc[conf["run"]] > acc["crude"]},
    ]


def retable(path):
    """Rewrite the rows (JSON and Markdown) of a saved result from its recorded runs."""
    import json

    from _common import markdown_table

    path = Path(path)
    payload = json.loads(path.read_text())
    extra = payload["extra"]
    payload["rows"] = table_rows(extra["runs"], extra["test_accuracy"],
                                 extra["config"]["budget"], extra["n_train_val"],
                                 extra.get("clean_label_catch"))
    path.write_text(json.dumps(payload, indent=2, default=str))
    path.with_suffix(".md").write_text(markdown_table(payload))
    return payload


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    ap.add_argument("--model", choices=("features", "cnn"), default="cnn")
    ap.add_argument("--n-videos", type=int, default=1200)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--budget", type=int, default=40, help="reviews per pass, confidence run")
    ap.add_argument("--epochs", type=int, default=20, help="epochs per CNN fit")
    ap.add_argument("--loss", choices=("gce", "bce"), default="gce",
                    help="CNN training loss: generalized (noise-robust) or binary cross-entropy")
    ap.add_argument("--q", type=float, default=0.3, help="q of the generalized cross-entropy")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--paper-from-continued", action="store_true",
                    help="read the paper default off the R -> 0 run (it is that run cut at "
                         "the default's stop) instead of refitting it")
    ap.add_argument("--no-test-fits", action="store_true",
                    help="skip the test-accuracy fits (bench_accuracy.py measures crude/true)")
    ap.add_argument("--no-bce", action="store_true",
                    help="skip the run of the defaults with plain cross-entropy (CNN)")
    ap.add_argument("--retable", metavar="JSON",
                    help="rebuild the table of a saved result file from its runs (no fitting)")
    args = ap.parse_args(argv)
    if args.retable:
        return retable(args.retable)
    max_passes = 10
    if args.quick:
        args.n_videos, args.frames, args.size, max_passes = 150, 16, 16, 3
        args.budget = min(args.budget, 10)
        args.epochs = 1

    t0 = time.perf_counter()
    da = _simulate(args.n_videos, args.frames, args.size, args.seed)
    t_sim = time.perf_counter() - t0
    crude = da.label.values.astype(int)
    truth = da.true_label.values.astype(int)
    months = da.month.values.astype(int)
    in_cv, in_test = months <= 10, months >= 11
    if args.model == "features":
        t0 = time.perf_counter()
        X = video_features(da.values)
        t_feat = time.perf_counter() - t0
    else:
        X, t_feat = np.asarray(da.values, dtype=np.float32), 0.0
    est = _model(args.model, args.epochs, args.device, args.seed, args.loss, args.q)
    print(f"{args.n_videos} videos {args.frames}x{args.size}x{args.size} simulated in "
          f"{t_sim:.1f} s; {int(((crude != truth) & in_cv).sum())} crude mislabels among "
          f"{int(in_cv.sum())} train+validation videos")

    configs = [
        ("paper", est, {}),
        ("paper, R -> 0", est, {"stop_ratio": 0.0}),
        (f"confidence, budget {args.budget}", est, {"priority": "confidence",
                                                     "budget": args.budget}),
    ]
    if args.model == "cnn" and args.loss == "gce" and not args.no_bce:
        # the same defaults with the network trained by plain cross-entropy
        configs.append(("paper, cross-entropy loss",
                        _model(args.model, args.epochs, args.device, args.seed, "bce"), {}))
    if args.paper_from_continued:
        configs = configs[1:]
    runs, fitted = [], {}
    for name, model, kw in configs:
        t0 = time.perf_counter()
        rel = IterativeRelabeler(model, oracle=TruthOracle(truth), max_passes=max_passes,
                                 random_state=args.seed, n_jobs=args.n_jobs, **kw)
        rel.fit(X, crude, groups=months)
        runs.append(_summary(name, rel, crude, truth, in_cv, time.perf_counter() - t0,
                             reasons=da.mislabel_reason.values))
        fitted[name] = rel
        r = runs[-1]
        print(f"{name}: {r['passes']} passes, verified {r['fraction_verified']:.1%}, "
              f"corrected {r['fraction_corrected']:.1%}, {r['seconds']:.0f} s; {r['per_pass']}")

    if args.paper_from_continued:
        cont = fitted["paper, R -> 0"]
        cont_run = runs[0]
        paper = paper_from_continued(cont, crude, truth)
        runs.insert(0, _summary("paper", paper, crude, truth, in_cv, None,
                                reasons=da.mislabel_reason.values))
        runs[0]["derived_from"] = "paper, R -> 0"
        fitted = {"paper": paper, **fitted}
        print(f"paper (from the continued run): {runs[0]['passes']} passes, verified "
              f"{runs[0]['fraction_verified']:.1%}, corrected "
              f"{runs[0]['fraction_corrected']:.1%}; continued {cont_run['passes']} passes")

    ceiling = clean_label_catch(est, X, crude, truth, months, in_cv, args.seed, args.n_jobs,
                                da.mislabel_reason.values)
    print(f"trained on the true labels, one pass would flag {ceiling['caught']} of "
          f"{ceiling['mislabels']} crude mislabels ({ceiling['seconds']:.0f} s)")

    from sklearn.base import clone

    def _take(X, idx):  # videos idx of a DataArray (kept lazy) or rows of an array
        return X.isel(video=idx) if hasattr(X, "isel") else X[idx]

    def test_accuracy(labels):
        model = clone(est)
        if "random_state" in model.get_params():
            model.set_params(random_state=args.seed)
        model.fit(_take(X, np.flatnonzero(in_cv)), labels[in_cv])
        pred = model.predict(_take(X, np.flatnonzero(in_test)))
        return float((np.asarray(pred) == truth[in_test]).mean())

    acc = {}
    if not args.no_test_fits:
        acc = {"crude": test_accuracy(crude), "true": test_accuracy(truth)}
        for name, rel in fitted.items():
            acc[name] = test_accuracy(rel.labels_)
        print("test accuracy (months 11-12, vs truth):",
              {k: round(v, 3) for k, v in acc.items()})

    rows = table_rows(runs, acc, args.budget, int(in_cv.sum()), ceiling)
    extra = {
        "config": {"n_videos": args.n_videos, "frames": args.frames, "size": args.size,
                   "model": args.model, "epochs": args.epochs if args.model == "cnn" else None,
                   "loss": args.loss if args.model == "cnn" else None,
                   "q": args.q if args.model == "cnn" and args.loss == "gce" else None,
                   "budget": args.budget, "max_passes": max_passes, "seed": args.seed,
                   "device": args.device},
        "n_train_val": int(in_cv.sum()), "n_test": int(in_test.sum()),
        "crude_error_rate_train_val": float((crude != truth)[in_cv].mean()),
        "runs": runs, "test_accuracy": acc, "clean_label_catch": ceiling,
        "simulate_s": t_sim, "features_s": t_feat, "peak_rss_mb": peak_rss_mb(),
        "per_pass_columns": "(reviewed, B mislabels, C model mistakes, U unreviewed, R)",
        "corrected_by_reason_columns": "reason: [crude mislabels, corrected]",
    }
    suffix = "" if args.model == "cnn" else f"_{args.model}"
    name = f"relabel{suffix}"
    payload = write_result(name, rows, quick=args.quick, extra=extra)
    try:
        from skflux.plotting import plot_relabel_passes

        fig = plot_relabel_passes(fitted["paper, R -> 0"],
                                  title="Relabeling passes on simulated videos (R -> 0)")
        out = Path(RESULTS) / f"{name}{'_quick' if args.quick else ''}_fig3.png"
        fig.savefig(out, dpi=90)
    except Exception as exc:  # the figure is a by-product; never fail the benchmark on it
        print(f"Figure 3 not written: {exc}")
    return payload


if __name__ == "__main__":
    main()
