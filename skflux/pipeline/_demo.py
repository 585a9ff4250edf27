"""The whole method end to end on simulated data, into a run directory (private).

simulate -> relabel with the simulator's ground truth as reviewer -> month-block
ensemble on the relabeled labels, threshold on the benchmark months -> test
accuracy (months 11-12) against the truth -> emergence times -> HTML report.
``skflux demo`` is argparse over :func:`run_demo`.
"""

import logging
import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import _layout as layout
from .._jsonutil import dump_json
from .._schema import CADENCE_MINUTES
from ..io import open_videos
from ..metrics import timed_emergences
from ..nn import FluxEmergenceClassifier
from ..relabel import TruthOracle
from ..timing import timing_error_percentiles, timing_errors_days
from . import _steps as steps
from ._manifest import Manifest

log = logging.getLogger("skflux")

# Sizes chosen by measurement on the project's 2-core CPU (torch 2.13 CPU, default threads):
# the default took 472 s wall (588 s CPU), --quick 52 s wall (76 s CPU). Both learn: the
# default reached 96 % test accuracy against the truth where the crude labels score 87 %.
# Results differ slightly between runs with different numbers of torch threads (floating-point
# reduction order changes the training trajectories).
DEMO_CONFIGS = {
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


def demo_config(quick=False, **overrides):
    """The demo's sizes: ``DEMO_CONFIGS["quick" or "default"]`` with ``overrides`` applied.

    Parameters
    ----------
    quick : bool, default=False
    **overrides
        Keys of the configuration (``n_videos``, ``epochs``...); None values
        are ignored.

    Returns
    -------
    config : dict

    Examples
    --------
    >>> from skflux.pipeline import demo_config
    >>> demo_config(quick=True, n_videos=60)["n_videos"], demo_config()["frames"]
    (60, 48)
    """
    cfg = dict(DEMO_CONFIGS["quick" if quick else "default"])
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"unknown demo settings {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def demo_classifier(config, *, device="cpu", random_state=0):
    """The demo's small FluxEmergenceClassifier for a :func:`demo_config`.

    Parameters
    ----------
    config : dict
    device : str, default="cpu"
    random_state : int, default=0

    Returns
    -------
    classifier : FluxEmergenceClassifier
    """
    return FluxEmergenceClassifier(
        module="vgg", max_epochs=config["epochs"], batch_size=config["batch_size"],
        lr=config["lr"], device=device, random_state=random_state,
        module__widths=tuple(config["widths"]), module__top=config["top"],
        module__dense=config["dense"], patience=config["patience"])


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


def run_demo(out="skflux-demo", *, quick=False, n_videos=None, epochs=None, seed=0,
             device="cpu", quiet=False):
    """Run the demo into the run directory ``out``; returns the report's path.

    The folder is the demo's own: it lists the files it writes in
    ``out/.skflux-demo`` (:class:`Manifest`); a later demo into it replaces
    those and nothing else, and a non-empty folder of other files is refused.

    Parameters
    ----------
    out : str or Path, default="skflux-demo"
    quick : bool, default=False
        Tiny videos and network (about 2 minutes on a 2-core CPU).
    n_videos, epochs : int, optional
        Override the configuration's.
    seed : int, default=0
    device : str, default="cpu"
    quiet : bool, default=False
        No progress bars.

    Returns
    -------
    report : Path
        ``out/report/index.html``.

    Raises
    ------
    ValueError
        If ``out`` holds files the demo did not write, or the simulated data
        hold no test videos.
    """
    cfg = demo_config(quick, n_videos=n_videos, epochs=epochs)
    demo_classifier(cfg, device=device, random_state=seed).initialize()  # fails before writing
    manifest = Manifest(out, outputs=layout.RUN_LAYOUT)
    ctx = SimpleNamespace(run=manifest.prepare(), cfg=cfg, seed=seed, device=device,
                          steps=_Steps(6), quiet=quiet, metrics={})
    log.info("skflux demo%s: %d simulated videos of %d frames x %dx%d px -> %s",
             " --quick" if quick else "", cfg["n_videos"], cfg["frames"], cfg["size"],
             cfg["size"], ctx.run)
    try:
        for step in (_simulate, _relabel, _ensemble, _test, _locate, _report):
            step(ctx)
            manifest.record()
    finally:
        manifest.record()
    log.info("done in %.0f s. Report: %s", ctx.metrics["seconds"]["total"],
             ctx.report.resolve())
    return ctx.report


def _classifier(ctx):
    return demo_classifier(ctx.cfg, device=ctx.device, random_state=ctx.seed)


def _simulate(ctx):
    cfg = ctx.cfg
    ctx.steps.start("simulating videos with ground truth and BARD-like crude labels")
    data = steps.simulate(ctx.run / layout.DATA, cfg["n_videos"], n_frames=cfg["frames"],
                          size=cfg["size"], random_state=ctx.seed, verbose=0 if ctx.quiet else 1)
    ctx.videos = open_videos(data)
    ctx.crude = np.asarray(ctx.videos["label"].values).astype(int)
    ctx.truth = np.asarray(ctx.videos["true_label"].values).astype(int)
    ctx.metrics["data"] = {"n_videos": int(ctx.crude.size),
                           "true_emergence_fraction": float(ctx.truth.mean()),
                           "crude_mislabel_fraction": float(np.mean(ctx.crude != ctx.truth))}
    ctx.steps.done(f"{ctx.crude.size} videos, {ctx.truth.mean():.0%} true emergences, "
                   f"{np.mean(ctx.crude != ctx.truth):.0%} crude labels wrong")


def _relabel(ctx):
    ctx.steps.start("relabeling months 1-10 (reviewer: the simulator's ground truth)")
    rel = steps.relabel(ctx.videos, ctx.crude, _classifier(ctx), oracle=TruthOracle(),
                        review_log=ctx.run / layout.REVIEW_LOG,
                        max_passes=ctx.cfg["max_passes"], random_state=ctx.seed,
                        verbose=0 if ctx.quiet else 2)
    summary = steps.relabel_summary(rel, ctx.crude, ctx.truth)
    steps.write_relabeled(ctx.videos, rel, ctx.run / layout.RELABELED, ctx.crude)
    steps.write_passes(rel, ctx.run / layout.PASSES, summary)
    ctx.labels = np.asarray(rel.labels_).astype(int)
    ctx.metrics["relabel"] = summary
    ctx.steps.done(f"{summary['passes']} passes, {summary['fraction_verified']:.0%} of videos "
                   f"verified, {summary['crude_mislabels'] - summary['mislabels_left']} of "
                   f"{summary['crude_mislabels']} crude mislabels corrected")


def _ensemble(ctx):
    cfg = ctx.cfg
    ctx.steps.start(f"training the uncertainty ensemble ({cfg['blocks']} month blocks x "
                    f"{cfg['seeds']} seeds) on the relabeled labels")
    ens = steps.fit(ctx.videos, ctx.labels, _classifier(ctx), n_blocks=cfg["blocks"],
                    n_seeds=cfg["seeds"], random_state=ctx.seed, verbose=0 if ctx.quiet else 1)
    info = dict(getattr(ens, "threshold_info_", None) or {})
    ens.save(ctx.run / layout.MODEL, metadata={"training": {
        "data": layout.RELABELED, "label_coord": "label", "n_videos": len(ctx.videos)}})
    ctx.ens = ens
    ctx.metrics["ensemble"] = {
        "n_members": len(ens.estimators_), "threshold": float(ens.threshold_),
        "benchmark_months": list(info.get("months", [])),
        "threshold_source": info.get("source", "the threshold parameter"),
        **({"n_benchmark": int(info["n_benchmark"])} if info.get("n_benchmark") else {})}
    source = ctx.metrics["ensemble"]["threshold_source"]
    ctx.steps.done(f"threshold {ens.threshold_:.2f} ({source})")


def _test(ctx):
    ctx.steps.start("testing on months 11-12 against the truth")
    try:
        test, P, summary = steps.evaluate(ctx.ens, ctx.videos, y_true=ctx.truth,
                                          y_labels=ctx.crude)
    except ValueError as exc:
        raise ValueError(f"the simulated data: {exc}") from exc
    ctx.test, ctx.X_test, ctx.member_proba = test, ctx.videos.isel(video=test), P
    steps.write_probabilities(ctx.run / layout.PROBA, P, ctx.ens.threshold_, ctx.X_test)
    ctx.metrics["test"] = summary
    ctx.steps.done(f"accuracy {summary['accuracy_vs_truth']['0.5']:.1%} vs truth on "
                   f"{test.size} videos (crude labels: "
                   f"{summary['crude_label_accuracy_vs_truth']:.1%}, majority class: "
                   f"{summary['majority_class_accuracy']:.1%})")


def _locate(ctx):
    ctx.steps.start("locating emergence times of the test videos")
    times = steps.locate(ctx.X_test, ctx.ens, verbose=0 if ctx.quiet else 1)
    steps.write_times(times, ctx.run / layout.TIMES)
    true_frames = np.asarray(ctx.videos["emergence_frame"].values)[ctx.test]
    located = np.asarray(times["located"].values).astype(bool)
    good = timed_emergences(ctx.truth[ctx.test], np.median(ctx.member_proba, axis=0),
                            ctx.ens.threshold_, true_frames) & located
    timing = {"n_videos": int(good.sum()), "n_not_located": int((~located).sum())}
    if good.any():
        errors = timing_errors_days(
            times["emergence_frame"].values[good], true_frames[good],
            cadence_minutes=float(ctx.videos.attrs.get("cadence_minutes", CADENCE_MINUTES)))
        timing["percentiles_days"] = {str(k): float(v) for k, v in
                                      timing_error_percentiles(errors).items()}
    ctx.metrics["timing"] = timing
    ctx.steps.done(f"{timing['n_videos']} correctly classified emergences timed; no emergence "
                   f"located in {timing['n_not_located']} of {located.size} test videos")


def _report(ctx):
    ctx.steps.start("writing the report")
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in ctx.cfg.items()}
    metrics = {"config": cfg, "seed": ctx.seed, **ctx.metrics, "seconds": ctx.steps.times}
    path = Path(ctx.run / layout.METRICS)
    dump_json(finite(metrics), path)
    ctx.report = steps.report(ctx.run, quiet=ctx.quiet)
    ctx.steps.done()
    metrics["seconds"]["total"] = round(time.perf_counter() - ctx.steps.t0, 1)
    dump_json(finite(metrics), path)
    ctx.metrics = metrics


def finite(obj):
    """NaN and infinities as None, so that a metrics file is strict JSON.

    Examples
    --------
    >>> finite({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        return None
    return obj
