"""``skflux demo``: the whole method end to end on simulated data (private; see :mod:`skflux.cli`).

simulate -> relabel with the simulator's ground truth as reviewer -> month-block
ensemble on the relabeled labels, threshold on the benchmark months -> test
accuracy (months 11-12) against the truth -> emergence times -> HTML report.
"""

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from . import _cli_store as store

log = logging.getLogger("skflux")

MARKER = ".skflux-demo"

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


def _error(message):
    from .cli import CommandError

    return CommandError(message)


def prepare_run_dir(path):
    """Create the demo folder, or clear a previous demo's outputs in it.

    A non-empty folder that is not a previous demo's is refused, never emptied.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise _error(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise _error(f"{out}: folder is not empty and was not written by 'skflux demo'; "
                         "choose another --out")
        for child in out.iterdir():
            if child.name == MARKER:
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    if not out.resolve().parent.is_dir():
        raise _error(f"{out}: folder {out.resolve().parent} does not exist")
    out.mkdir(exist_ok=True)
    (out / MARKER).write_text("written by 'skflux demo'; rerunning the demo replaces it\n")
    return out


def demo_config(args):
    cfg = dict(CONFIGS["quick" if args.quick else "default"])
    if args.n_videos is not None:
        cfg["n_videos"] = args.n_videos
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    return cfg


def _classifier(cfg, device, seed):
    return store.make_classifier(
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


def run_demo(args):
    """Run the demo into ``args.out``; returns the path of the HTML report."""
    from . import _cli_commands as cmds
    from ._cli_report import build_report

    cfg = demo_config(args)
    run = prepare_run_dir(args.out)
    quiet = args.quiet
    steps = _Steps(6)
    log.info("skflux demo%s: %d simulated videos of %d frames x %dx%d px -> %s",
             " --quick" if args.quick else "", cfg["n_videos"], cfg["frames"], cfg["size"],
             cfg["size"], run)

    # 1. simulate ------------------------------------------------------------------------
    steps.start("simulating videos with ground truth and BARD-like crude labels")
    datasets = cmds.library("skflux.datasets")
    write = datasets.write_flux_emergence
    data_path = run / store.DATA
    write(data_path, cfg["n_videos"], random_state=args.seed, n_frames=cfg["frames"],
          size=cfg["size"], **cmds.verbose_kwargs(write, quiet))
    videos = cmds.open_videos(data_path)
    crude = np.asarray(videos["label"].values).astype(int)
    truth = np.asarray(videos["true_label"].values).astype(int)
    steps.done(f"{len(crude)} videos, {truth.mean():.0%} true emergences, "
               f"{np.mean(crude != truth):.0%} crude labels wrong")

    # 2. relabel ---------------------------------------------------------------------------
    relabel = cmds.library("skflux.relabel")
    steps.start("relabeling months 1-10 (reviewer: the simulator's ground truth)")
    rel = cmds.run_relabel(videos, crude, _classifier(cfg, args.device, args.seed),
                           oracle=relabel.TruthOracle(), log_path=run / store.REVIEW_LOG,
                           max_passes=cfg["max_passes"], seed=args.seed, quiet=quiet)
    summary = cmds.relabel_summary(rel, videos, crude)
    cmds.write_relabeled(videos, rel, crude, run / store.RELABELED)
    cmds.write_passes(rel, run / store.PASSES, summary)
    labels = rel.labels_.astype(int)
    steps.done(f"{summary['passes']} passes, {summary['fraction_verified']:.0%} of videos "
               f"verified, {summary['crude_mislabels'] - summary['mislabels_left']} of "
               f"{summary['crude_mislabels']} crude mislabels corrected")

    # 3. ensemble + threshold ---------------------------------------------------------------
    steps.start(f"training the uncertainty ensemble ({cfg['blocks']} month blocks x "
                f"{cfg['seeds']} seeds) on the relabeled labels")
    ens, info = cmds.train_ensemble(videos, labels, _classifier(cfg, args.device, args.seed),
                                    n_blocks=cfg["blocks"], n_seeds=cfg["seeds"],
                                    seed=args.seed, quiet=quiet)
    store.save_ensemble(ens, run / store.MODEL, extra={"training": {
        "data": store.RELABELED, "label_coord": "label", "n_videos": len(videos), **info}})
    steps.done(f"threshold {ens.threshold_:.2f} ({info['threshold_source']})")

    # 4. test accuracy ---------------------------------------------------------------------------
    from .metrics import ensemble_accuracy_report
    from .model_selection import month_block_sets

    steps.start("testing on months 11-12 against the truth")
    test = month_block_sets(videos).test
    if test.size == 0:
        raise _error("the simulated data hold no test videos (months 11-12); use more videos")
    X_test = videos.isel(video=test)
    member_proba = ens.predict_proba_members(X_test)
    write_probabilities(run / store.PROBA, member_proba, ens.threshold_, X_test)
    acc = ensemble_accuracy_report(None, None, truth[test], member_proba=member_proba,
                                   threshold=ens.threshold_)
    acc_crude = ensemble_accuracy_report(None, None, crude[test], member_proba=member_proba,
                                         threshold=ens.threshold_)
    majority = max(truth[test].mean(), 1 - truth[test].mean())
    crude_acc = float(np.mean(crude[test] == truth[test]))
    steps.done(f"accuracy {acc['accuracy'][0.5]:.1%} vs truth on {test.size} videos "
               f"(crude labels: {crude_acc:.1%}, majority class: {majority:.1%})")

    # 5. locate ---------------------------------------------------------------------------------
    from .timing import timing_error_percentiles, timing_errors_days

    steps.start("locating emergence times of the test videos")
    times = cmds.run_locate(X_test, ens, quiet=quiet)
    cmds.write_dataset(times, run / store.TIMES)
    median = np.median(member_proba, axis=0)
    true_frames = np.asarray(videos["emergence_frame"].values)[test]
    good = (truth[test] == 1) & (median >= ens.threshold_) & (true_frames >= 0)
    timing = {"n_videos": int(good.sum())}
    if good.any():
        errors = timing_errors_days(times["emergence_frame"].values[good], true_frames[good],
                                    cadence_minutes=float(videos.attrs.get("cadence_minutes",
                                                                           96)))
        timing["percentiles_days"] = {str(k): float(v) for k, v in
                                      timing_error_percentiles(errors).items()}
    steps.done(f"{timing['n_videos']} correctly classified emergences timed")

    # 6. report ----------------------------------------------------------------------------------
    steps.start("writing the report")
    metrics = {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "seed": args.seed,
        "data": {"n_videos": int(len(crude)), "true_emergence_fraction": float(truth.mean()),
                 "crude_mislabel_fraction": float(np.mean(crude != truth))},
        "relabel": summary,
        "ensemble": {"n_members": len(ens.estimators_), "threshold": float(ens.threshold_),
                     **info},
        "test": {
            "n_videos": int(test.size),
            "accuracy_vs_truth": {str(k): v for k, v in acc["accuracy"].items()},
            "accuracy_vs_crude_labels": {str(k): v for k, v in acc_crude["accuracy"].items()},
            "crude_label_accuracy_vs_truth": crude_acc,
            "majority_class_accuracy": float(majority),
            "n_stable": acc["n_stable"], "n_unstable": acc["n_unstable"],
            "accuracy_stable": acc["accuracy_stable"],
            "accuracy_unstable": acc["accuracy_unstable"],
        },
        "timing": timing,
        "seconds": steps.times,
    }
    (run / store.METRICS).write_text(json.dumps(_finite(metrics), indent=2, default=_plain))
    report = build_report(run, quiet=quiet)
    steps.done()
    total = time.perf_counter() - steps.t0
    metrics["seconds"]["total"] = round(total, 1)
    (run / store.METRICS).write_text(json.dumps(_finite(metrics), indent=2, default=_plain))
    log.info("done in %.0f s. Report: %s", total, report.resolve())
    print(report.resolve())
    return report


def _finite(obj):
    """NaN and infinities as None, so that metrics.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def _plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_probabilities(path, member_proba, threshold, X):
    """Members' probabilities of the test videos (Figure 4) as NetCDF."""
    import xarray as xr

    coords = {"member": np.arange(member_proba.shape[0])}
    for name in ("bmr_id", "label", "true_label", "month", "year", "time"):
        if name in X.coords:
            coords[name] = ("video", X[name].values)
    ds = xr.Dataset({"member_proba": (("member", "video"), member_proba.astype("float32"))},
                    coords=coords, attrs={"threshold": float(threshold)})
    ds.to_netcdf(path)
