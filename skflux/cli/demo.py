"""``skflux demo``: the whole method end to end on simulated data.

simulate -> relabel with the simulator's ground truth as reviewer -> month-block
ensemble on the relabeled labels, threshold on the benchmark months -> test
accuracy (months 11-12) against the truth -> emergence times -> HTML report.
"""

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ._errors import CommandError
from ._manifest import Manifest
from ._options import device, make_classifier, nonneg_int, positive_int

log = logging.getLogger("skflux")

# Sizes chosen by measurement on the project's 2-core CPU (torch 2.13 CPU, default threads):
# the default took 472 s wall (588 s CPU), --quick 52 s wall (76 s CPU). Both learn: the
# default reached 96 % test accuracy against the truth where the crude labels score 87 %.
# Results differ slightly between runs with different numbers of torch threads (floating-point
# reduction order changes the training trajectories).
CONFIGS = {
    "default": {
        "n_videos": 500, "frames": 48, "size": 32, "epochs": 10, "patience": 3,
        "widths": (8, 16, 16, 32), "top": 32, "dense": 32, "lr": 3e-3, "batch_size": 10,
        "seeds": 2, "max_passes": 4, "blocks": 4,
    },
    "quick": {
        "n_videos": 240, "frames": 32, "size": 24, "epochs": 6, "patience": 3,
        "widths": (8, 16, 16, 32), "top": 32, "dense": 32, "lr": 1e-2, "batch_size": 10,
        "seeds": 1, "max_passes": 3, "blocks": 4,
    },
}


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "demo", parents=parents, help="end-to-end demo on simulated data",
        description="Simulate videos, relabel the crude labels with the simulator's ground "
                    "truth as reviewer, train the month-block ensemble and its threshold, "
                    "measure test accuracy (months 11-12) against the truth, locate emergence "
                    "times, and write the HTML report. About 10 minutes on a 2-core CPU; --quick "
                    "takes about 2 minutes. DIR is the demo's own folder: it lists the files it "
                    "writes in DIR/.skflux-demo, and a later demo into DIR replaces those and "
                    "nothing else; a non-empty folder of other files is refused.")
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


def demo_config(args):
    cfg = dict(CONFIGS["quick" if args.quick else "default"])
    if args.n_videos is not None:
        cfg["n_videos"] = args.n_videos
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    return cfg


def _classifier(cfg, device, seed):
    return make_classifier(
        module="vgg", epochs=cfg["epochs"], batch_size=cfg["batch_size"], lr=cfg["lr"],
        device=device, seed=seed,
        params=[("module__widths", tuple(cfg["widths"])), ("module__top", cfg["top"]),
                ("module__dense", cfg["dense"]), ("patience", cfg["patience"])])


class _Steps:
    """Logs each step with its wall time."""

    def __init__(self, total):
        self.total, self.k, self.t0 = total, 0, time.perf_counter()
        self.times = {}

    def start(self, name):
        self.k += 1
        self.name, self.t = name, time.perf_counter()
        log.info("[%d/%d] %s", self.k, self.total, name)

    def done(self, detail=""):
        dt = time.perf_counter() - self.t
        self.times[self.name] = round(dt, 1)
        log.info("      %s(%.0f s)", f"{detail} " if detail else "", dt)


def run(args):
    """Run the demo into ``args.out``; returns None (exit status 0)."""
    run_demo(args)


def run_demo(args):
    """Run the demo into ``args.out``; returns the path of the HTML report."""
    from ..report import RUN_LAYOUT

    cfg = demo_config(args)
    _classifier(cfg, args.device, args.seed)  # a bad setting fails before anything is written
    manifest = Manifest(args.out, outputs=RUN_LAYOUT)
    ctx = SimpleNamespace(run=manifest.prepare(), cfg=cfg, args=args, steps=_Steps(6),
                          quiet=args.quiet, metrics={})
    log.info("skflux demo%s: %d simulated videos of %d frames x %dx%d px -> %s",
             " --quick" if args.quick else "", cfg["n_videos"], cfg["frames"], cfg["size"],
             cfg["size"], ctx.run)
    try:
        for step in (_simulate, _relabel, _ensemble, _test, _locate, _report):
            step(ctx)
            manifest.record()
    finally:
        manifest.record()
    log.info("done in %.0f s. Report: %s", ctx.metrics["seconds"]["total"],
             ctx.report.resolve())
    print(ctx.report.resolve())
    return ctx.report


def _simulate(ctx):
    from ..datasets import write_flux_emergence
    from ..report import _layout as layout
    from ._paths import open_videos

    cfg = ctx.cfg
    ctx.steps.start("simulating videos with ground truth and BARD-like crude labels")
    data = ctx.run / layout.DATA
    write_flux_emergence(data, cfg["n_videos"], random_state=ctx.args.seed,
                         n_frames=cfg["frames"], size=cfg["size"], verbose=0 if ctx.quiet else 1)
    ctx.videos = open_videos(data)
    ctx.crude = np.asarray(ctx.videos["label"].values).astype(int)
    ctx.truth = np.asarray(ctx.videos["true_label"].values).astype(int)
    ctx.metrics["data"] = {"n_videos": int(ctx.crude.size),
                           "true_emergence_fraction": float(ctx.truth.mean()),
                           "crude_mislabel_fraction": float(np.mean(ctx.crude != ctx.truth))}
    ctx.steps.done(f"{ctx.crude.size} videos, {ctx.truth.mean():.0%} true emergences, "
                   f"{np.mean(ctx.crude != ctx.truth):.0%} crude labels wrong")


def _relabel(ctx):
    from ..metrics import relabeling_summary
    from ..relabel import TruthOracle
    from ..report import _layout as layout
    from .relabel import run_relabel, write_passes, write_relabeled

    ctx.steps.start("relabeling months 1-10 (reviewer: the simulator's ground truth)")
    rel = run_relabel(ctx.videos, ctx.crude, _classifier(ctx.cfg, ctx.args.device, ctx.args.seed),
                      oracle=TruthOracle(), log_path=ctx.run / layout.REVIEW_LOG,
                      max_passes=ctx.cfg["max_passes"], seed=ctx.args.seed, quiet=ctx.quiet)
    summary = relabeling_summary(rel, ctx.crude, ctx.truth)
    write_relabeled(ctx.videos, rel, ctx.crude, ctx.run / layout.RELABELED)
    write_passes(rel, ctx.run / layout.PASSES, summary)
    ctx.labels = np.asarray(rel.labels_).astype(int)
    ctx.metrics["relabel"] = summary
    ctx.steps.done(f"{summary['passes']} passes, {summary['fraction_verified']:.0%} of videos "
                   f"verified, {summary['crude_mislabels'] - summary['mislabels_left']} of "
                   f"{summary['crude_mislabels']} crude mislabels corrected")


def _ensemble(ctx):
    from ..report import _layout as layout
    from .fit import train_ensemble

    cfg = ctx.cfg
    ctx.steps.start(f"training the uncertainty ensemble ({cfg['blocks']} month blocks x "
                    f"{cfg['seeds']} seeds) on the relabeled labels")
    ens = train_ensemble(ctx.videos, ctx.labels, _classifier(cfg, ctx.args.device, ctx.args.seed),
                         n_blocks=cfg["blocks"], n_seeds=cfg["seeds"], seed=ctx.args.seed,
                         quiet=ctx.quiet)
    info = dict(getattr(ens, "threshold_info_", None) or {})
    ens.save(ctx.run / layout.MODEL, metadata={"training": {
        "data": layout.RELABELED, "label_coord": "label", "n_videos": len(ctx.videos)}})
    ctx.ens = ens
    ctx.metrics["ensemble"] = {
        "n_members": len(ens.estimators_), "threshold": float(ens.threshold_),
        "benchmark_months": list(info.get("months", [])),
        "threshold_source": info.get("source", "default 0.5"),
        **({"n_benchmark": int(info["n_benchmark"])} if info.get("n_benchmark") else {})}
    source = ctx.metrics["ensemble"]["threshold_source"]
    ctx.steps.done(f"threshold {ens.threshold_:.2f} ({source})")


def _test(ctx):
    from ..metrics import accuracy_summary
    from ..model_selection import month_block_sets
    from ..report import _layout as layout
    from ..report._run import write_probabilities

    ctx.steps.start("testing on months 11-12 against the truth")
    test = month_block_sets(ctx.videos).test
    if test.size == 0:
        raise CommandError("the simulated data hold no test videos (months 11-12); use more "
                           "videos")
    ctx.test, ctx.X_test = test, ctx.videos.isel(video=test)
    ctx.member_proba = ctx.ens.predict_proba_members(ctx.X_test)
    write_probabilities(ctx.run / layout.PROBA, ctx.member_proba, ctx.ens.threshold_, ctx.X_test)
    summary = accuracy_summary(ctx.member_proba, ctx.ens.threshold_, y_true=ctx.truth[test],
                               y_labels=ctx.crude[test])
    ctx.metrics["test"] = summary
    ctx.steps.done(f"accuracy {summary['accuracy_vs_truth']['0.5']:.1%} vs truth on "
                   f"{test.size} videos (crude labels: "
                   f"{summary['crude_label_accuracy_vs_truth']:.1%}, majority class: "
                   f"{summary['majority_class_accuracy']:.1%})")


def _locate(ctx):
    from ..metrics import timed_emergences
    from ..report import _layout as layout
    from ..timing import timing_error_percentiles, timing_errors_days
    from .locate import run_locate, write_dataset

    ctx.steps.start("locating emergence times of the test videos")
    times = run_locate(ctx.X_test, ctx.ens, quiet=ctx.quiet)
    write_dataset(times, ctx.run / layout.TIMES)
    true_frames = np.asarray(ctx.videos["emergence_frame"].values)[ctx.test]
    good = timed_emergences(ctx.truth[ctx.test], np.median(ctx.member_proba, axis=0),
                            ctx.ens.threshold_, true_frames)
    timing = {"n_videos": int(good.sum())}
    if good.any():
        errors = timing_errors_days(
            times["emergence_frame"].values[good], true_frames[good],
            cadence_minutes=float(ctx.videos.attrs.get("cadence_minutes", 96)))
        timing["percentiles_days"] = {str(k): float(v) for k, v in
                                      timing_error_percentiles(errors).items()}
    ctx.metrics["timing"] = timing
    ctx.steps.done(f"{timing['n_videos']} correctly classified emergences timed")


def _report(ctx):
    from .._jsonutil import dump_json
    from ..report import _layout as layout
    from ..report import build_report

    ctx.steps.start("writing the report")
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in ctx.cfg.items()}
    metrics = {"config": cfg, "seed": ctx.args.seed, **ctx.metrics, "seconds": ctx.steps.times}
    path = Path(ctx.run / layout.METRICS)
    dump_json(_finite(metrics), path)
    ctx.report = build_report(ctx.run, quiet=ctx.quiet)
    ctx.steps.done()
    metrics["seconds"]["total"] = round(time.perf_counter() - ctx.steps.t0, 1)
    dump_json(_finite(metrics), path)
    ctx.metrics = metrics


def _finite(obj):
    """NaN and infinities as None, so that metrics.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj
