"""First relabeling pass on the simulator for several CNN training losses.

The paper's stopping rule (stop when R <= 0.5) ends the relabeling after the first
pass whenever that pass's disagreements are mostly real mislabels, so the share of
crude mislabels the default corrects is then the first pass's catch. This script
measures that catch for binary cross-entropy and for
:class:`skflux.nn.GeneralizedCrossEntropyLoss` with several ``q``, side by side on
one simulated set (default seed 1, i.e. *not* the data of ``bench_relabel.py``, so
that a loss can be compared here without looking at the benchmark's data).

The CNN and data are those of ``bench_relabel.py`` (VGG 8-16-32-32, dense 64,
lr 1e-2, batch 16, <= 20 epochs with early stopping on each fold's held-out block;
1,200 videos of 32 frames x 32 x 32). Per loss: crude mislabels corrected by the
first pass, model mistakes reviewed, R, and corrections per mislabel cause.

Run: ``python benchmarks/bench_relabel_first_pass.py`` (~3 minutes per loss on 2
CPU cores) or ``--quick`` (150 videos of 16 x 16 x 16, one epoch: a smoke run).
"""

import argparse
import time

import numpy as np
from _common import peak_rss_mb, write_result
from bench_relabel import _model, _simulate, _summary

from skflux.relabel import IterativeRelabeler, TruthOracle


def _parse_loss(text):
    """``"bce"`` or ``"gce:0.3"`` -> (loss, q)."""
    if text == "bce":
        return "bce", None
    kind, _, q = text.partition(":")
    if kind != "gce" or not q:
        raise argparse.ArgumentTypeError(f"a loss is 'bce' or 'gce:Q'; got {text!r}")
    return "gce", float(q)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    ap.add_argument("--losses", nargs="+", type=_parse_loss,
                    default=[_parse_loss(t) for t in
                             ("bce", "gce:0.2", "gce:0.3", "gce:0.4", "gce:0.5")])
    ap.add_argument("--n-videos", type=int, default=1200)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="simulated data set")
    ap.add_argument("--model-seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.quick:
        args.n_videos, args.frames, args.size, args.epochs = 150, 16, 16, 1
        args.losses = args.losses[:2]

    da = _simulate(args.n_videos, args.frames, args.size, args.seed)
    crude = da.label.values.astype(int)
    truth = da.true_label.values.astype(int)
    months = da.month.values.astype(int)
    in_cv = months <= 10
    reasons = da.mislabel_reason.values
    X = np.asarray(da.values, dtype=np.float32)

    runs, rows = [], []
    for loss, q in args.losses:
        name = "cross-entropy" if loss == "bce" else f"generalized cross-entropy, q={q:g}"
        est = _model("cnn", args.epochs, "cpu", args.model_seed, loss, q)
        t0 = time.perf_counter()
        rel = IterativeRelabeler(est, oracle=TruthOracle(truth), max_passes=1,
                                 random_state=args.model_seed)
        rel.fit(X, crude, groups=months)
        run = _summary(name, rel, crude, truth, in_cv, time.perf_counter() - t0,
                       reasons=reasons)
        runs.append(run)
        first = rel.passes_[0]
        print(f"{name}: corrected {run['corrected']} of {run['mislabels']}, "
              f"{first.n_model_mistakes} model mistakes, {run['seconds']:.0f} s")
        rows.append({
            "figure": f"first pass, {name}: crude mislabels corrected",
            "value": run["fraction_corrected"], "unit": "",
            "compared_with": f"{run['corrected']} of {run['mislabels']}; "
                             f"{first.n_model_mistakes} model mistakes; R = {first.ratio:.3f}",
            "target": "", "passed": None,
        })
    extra = {
        "config": {"n_videos": args.n_videos, "frames": args.frames, "size": args.size,
                   "epochs": args.epochs, "seed": args.seed, "model_seed": args.model_seed},
        "runs": runs, "peak_rss_mb": peak_rss_mb(),
        "corrected_by_reason_columns": "reason: [crude mislabels, corrected]",
    }
    return write_result("relabel_first_pass", rows, quick=args.quick, extra=extra)


if __name__ == "__main__":
    main()
