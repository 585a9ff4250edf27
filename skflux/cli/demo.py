"""``skflux demo``: the method end to end on simulated data (argparse over ``run_demo``)."""

from .. import pipeline
from ._options import device, nonneg_int, positive_int


def __getattr__(name):
    """``CONFIGS`` and ``_classifier(cfg, device, seed)``: old names kept for scripts.

    Now :data:`skflux.pipeline.DEMO_CONFIGS` and
    :func:`skflux.pipeline.demo_classifier` (benchmarks/bench_accuracy.py uses them).
    """
    if name == "CONFIGS":
        return pipeline.DEMO_CONFIGS
    if name == "_classifier":
        return lambda cfg, device, seed: pipeline.demo_classifier(cfg, device=device,
                                                                  random_state=seed)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "demo", parents=parents, help="end-to-end demo on simulated data",
        description="Simulate videos, relabel the crude labels with the simulator's ground "
                    "truth as reviewer, train the month-block ensemble and its threshold, "
                    "measure test accuracy (months 11-12) against the truth, locate emergence "
                    "times, and write the HTML report (skflux.pipeline.run_demo). About 10 "
                    "minutes on a 2-core CPU; --quick takes about 2 minutes. DIR is the demo's "
                    "own folder: it lists the files it writes in DIR/.skflux-demo, and a later "
                    "demo into DIR replaces those and nothing else; a non-empty folder of "
                    "other files is refused.")
    p.add_argument("--out", default="skflux-demo", metavar="DIR",
                   help="run directory (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny videos and network (~2 minutes)")
    p.add_argument("--n-videos", type=positive_int, default=None,
                   help="override the number of simulated videos")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="override the maximum epochs per model")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--device", type=device, default="cpu",
                   help="torch device (default %(default)s)")
    return p


def run(args):
    """Run the demo into ``args.out`` and print the report's path; returns None (status 0)."""
    report = pipeline.run_demo(args.out, quick=args.quick, n_videos=args.n_videos,
                               epochs=args.epochs, seed=args.seed, device=args.device,
                               quiet=args.quiet)
    print(report.resolve())
