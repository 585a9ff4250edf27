"""Reference CNN's test accuracy on the simulator, trained on true and on crude labels.

How hard is the simulated task compared with the paper's? The paper's ensemble
reached a test accuracy of about 0.83 on MDI videos (trained on labels partly
corrected by relabeling). Here one CNN is trained on months 1-10 of a simulated set
twice, once with the simulator's true labels and once with its BARD-like crude
labels, and both are tested on months 11-12 against the truth. Two configurations,
each on its own simulated set:

* ``benchmark``: the network, data size and loss of ``bench_relabel.py``
  (1,200 videos of 32 frames x 32 x 32, VGG widths 8-16-32-32, generalized
  cross-entropy q = 0.3, at most 20 epochs with early stopping);
* ``demo``: the network and data of ``skflux demo`` (its default configuration:
  500 videos of 48 frames x 32 x 32, VGG widths 8-16-16-32, cross-entropy).

The full-size paper network (225 frames of 90 x 90) is not trained here: on a
2-core CPU one epoch over 2,000 videos takes minutes per fold, see
``bench_gpu.py``. The accuracy of the crude labels themselves on the test months
is also recorded: a model that learned the crude labels perfectly would score that.

Run: ``python benchmarks/bench_accuracy.py`` (about 10 minutes on 2 CPU cores) or
``--quick`` (tiny videos, one epoch: a smoke run whose figures mean nothing).
"""

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from _common import write_result

PAPER_ACCURACY = 0.83  # the paper's ensemble on MDI test videos (months 11-12)


def _bench_relabel():
    path = Path(__file__).with_name("bench_relabel.py")
    spec = importlib.util.spec_from_file_location("_bench_relabel_for_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configurations(quick):
    """The (name, n_videos, frames, size, estimator factory) of each configuration."""
    from skflux.cli.demo import CONFIGS, _classifier

    relabel = _bench_relabel()
    demo = dict(CONFIGS["default"])
    bench = {"n_videos": 1200, "frames": 32, "size": 32, "epochs": 20}
    if quick:
        bench = {"n_videos": 120, "frames": 16, "size": 16, "epochs": 1}
        demo.update(n_videos=120, frames=16, size=16, epochs=1)
    return [
        ("benchmark", bench["n_videos"], bench["frames"], bench["size"],
         lambda seed: relabel._model("cnn", bench["epochs"], "cpu", seed)),
        ("demo", demo["n_videos"], demo["frames"], demo["size"],
         lambda seed: _classifier(demo, "cpu", seed)),
    ]


def test_accuracy(make_estimator, X, labels, truth, months, seed):
    """Accuracy on months 11-12 against ``truth`` of a model fit on months 1-10."""
    train, test = months <= 10, months >= 11
    model = make_estimator(seed)
    model.fit(X[train], labels[train])
    return float((np.asarray(model.predict(X[test])) == truth[test]).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    ap.add_argument("--seed", type=int, default=0, help="data and training seed")
    ap.add_argument("--configs", default="benchmark,demo",
                    help="comma-separated configurations to run (default: both)")
    args = ap.parse_args(argv)
    from skflux.datasets import make_flux_emergence

    wanted = set(args.configs.split(","))
    rows, extra = [], {"paper_accuracy": PAPER_ACCURACY, "configs": {}}
    for name, n, frames, size, make in configurations(args.quick):
        if name not in wanted:
            continue
        da = make_flux_emergence(n, random_state=args.seed, n_frames=frames, size=size)
        X = np.asarray(da.values, dtype=np.float32)
        crude = da.label.values.astype(int)
        truth = da.true_label.values.astype(int)
        months = da.month.values.astype(int)
        test = months >= 11
        t0 = time.perf_counter()
        acc_true = test_accuracy(make, X, truth, truth, months, args.seed)
        acc_crude = test_accuracy(make, X, crude, truth, months, args.seed)
        seconds = time.perf_counter() - t0
        crude_on_test = float((crude[test] == truth[test]).mean())
        train_err = float((crude != truth)[~test].mean())
        desc = f"{n} simulated videos {frames}x{size}x{size}, seed {args.seed}"
        print(f"{name}: true {acc_true:.3f}, crude {acc_crude:.3f}, crude labels "
              f"themselves {crude_on_test:.3f} ({seconds:.0f} s)")
        rows += [
            {"figure": f"{name}: test accuracy, trained on true labels", "value": acc_true,
             "compared_with": f"paper (MDI): ~{PAPER_ACCURACY}; {desc}",
             "target": "", "passed": None},
            {"figure": f"{name}: test accuracy, trained on crude labels", "value": acc_crude,
             "compared_with": f"crude labels themselves on the test months: "
                              f"{crude_on_test:.3f}; crude error rate months 1-10: "
                              f"{train_err:.3f}", "target": "", "passed": None},
        ]
        extra["configs"][name] = {
            "n_videos": n, "frames": frames, "size": size, "n_test": int(test.sum()),
            "accuracy_true": acc_true, "accuracy_crude": acc_crude,
            "crude_labels_test_accuracy": crude_on_test, "crude_error_train_val": train_err,
            "seconds": seconds}
    write_result("accuracy", rows, quick=args.quick, extra=extra)


if __name__ == "__main__":
    main()
