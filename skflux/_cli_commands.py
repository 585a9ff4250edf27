"""Implementations of the ``skflux`` subcommands (private; see :mod:`skflux.cli`).

Each ``cmd_<name>(args)`` takes the parsed arguments, does its work through the
library and raises :class:`skflux.cli.CommandError` (or any library error) on failure.
"""

import contextlib
import importlib
import inspect
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("skflux")


# --------------------------------------------------------------------------- helpers

def _error(message):
    from .cli import CommandError

    return CommandError(message)


def library(name):
    """Import a library module, turning a missing piece into a one-line failure."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise _error(f"{name} is not available in this installation ({exc})") from exc


def accepts(func, name):
    """Whether ``func`` takes a keyword argument ``name``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def require_file(path, what="file"):
    """Path of an existing regular file, else a one-line failure."""
    p = Path(path)
    if not p.exists():
        raise _error(f"{path}: no such {what}")
    if p.is_dir():
        raise _error(f"{path}: is a directory, expected a {what}")
    return p


def require_dir(path, what="directory"):
    """Path of an existing directory, else a one-line failure."""
    p = Path(path)
    if not p.exists():
        raise _error(f"{path}: no such {what}")
    if not p.is_dir():
        raise _error(f"{path}: not a directory")
    return p


def output_path(path, overwrite=False, what="file"):
    """Check that ``path`` may be written: its folder exists, and it is new or ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise _error(f"{path}: already exists (use --overwrite to replace it)")
    if p.exists() and p.is_dir() != (what == "directory"):
        raise _error(f"{path}: exists and is not a {what}")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise _error(f"{path}: folder {parent} does not exist")
    return p


def partial_path(path):
    """A sibling path to write into before renaming onto ``path`` (no half-written outputs)."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial-{os.getpid()}")


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary sibling of ``path``; rename it onto ``path`` when the block succeeds.

    On failure the temporary file (or folder) is removed and error messages name
    ``path``, not the temporary name.
    """
    import shutil

    path = Path(path)
    tmp = partial_path(path)
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except Exception as exc:
        text = str(exc)
        if str(tmp) in text or tmp.name in text:
            text = text.replace(str(tmp), str(path)).replace(tmp.name, path.name)
            raise _error(" ".join(text.split())) from exc
        raise
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def open_videos(path):
    """Open a NetCDF file of videos lazily, with a one-line failure for bad files."""
    require_file(path, "NetCDF file")
    io = library("skflux.io")
    try:
        return io.open_videos(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise _error(f"{path}: cannot read videos: {' '.join(str(exc).split())}") from exc


def verbose_kwargs(func, quiet):
    """``{'verbose': ...}`` when ``func`` accepts it."""
    return {"verbose": 0 if quiet else 1} if accepts(func, "verbose") else {}


# --------------------------------------------------------------------------- simulate

def cmd_simulate(args):
    """``skflux simulate OUT.nc --n-videos N --seed S [--frames F --size S]``."""
    out = output_path(args.out, args.overwrite)
    datasets = library("skflux.datasets")
    write = datasets.write_flux_emergence
    start = time.perf_counter()
    log.info("simulating %d videos (%d frames of %dx%d px, seed %d) -> %s",
             args.n_videos, args.frames, args.size, args.size, args.seed, out)
    with atomic_output(out) as tmp:
        write(tmp, args.n_videos, random_state=args.seed, n_frames=args.frames,
              size=args.size, **verbose_kwargs(write, args.quiet))
    log.info("wrote %s in %.1f s", out, time.perf_counter() - start)
    _log_label_summary(out)


def _log_label_summary(path):
    """One line on the labels of a freshly written file (crude vs truth when known)."""
    try:
        import numpy as np

        videos = library("skflux.io").open_videos(path)
        label = np.asarray(videos["label"].values)
        line = f"{label.size} videos, {label.mean():.0%} labeled emergence"
        if "true_label" in videos.coords:
            truth = np.asarray(videos["true_label"].values)
            line += (f", {truth.mean():.0%} truly emergence, "
                     f"{np.mean(label != truth):.0%} crude labels wrong")
        log.info("%s", line)
    except Exception as exc:  # a summary must not turn success into failure
        log.debug("no label summary: %s", exc)


# --------------------------------------------------------------------------- ingest

def cmd_ingest(args):
    """``skflux ingest FITS_DIR OUT.nc [--labels CSV]``."""
    fits_dir = require_dir(args.fits_dir, "FITS directory")
    out = output_path(args.out, args.overwrite)
    coords = None
    if args.labels is not None:
        coords = read_labels_csv(require_file(args.labels, "labels CSV"))
    io = library("skflux.io")
    preprocessing = library("skflux.preprocessing")
    pad = {} if args.pad_mode is None else {"mode": args.pad_mode}
    pre = preprocessing.make_preprocessor(n_frames=args.frames, **pad)
    start = time.perf_counter()
    attrs = {"source_directory": str(fits_dir), "preprocessing": _describe_pipeline(pre)}
    if args.instrument:
        attrs["instrument"] = args.instrument
    with atomic_output(out) as tmp, contextlib.ExitStack() as stack:
        writer = None
        for video in io.read_fits_directory(fits_dir, coords=coords, verbose=not args.quiet):
            video = pre.fit_transform(video)
            video.attrs.pop("source", None)
            video.attrs.update(attrs)
            video.attrs.setdefault("instrument", "unknown")
            if writer is None:
                writer = stack.enter_context(io.VideoWriter(
                    tmp, n_frames=video.sizes["frame"], n_lat=video.sizes["lat"],
                    n_lon=video.sizes["lon"], attrs=attrs))
            writer.write(video)
        n = writer.n_written
    log.info("ingested %d videos from %s -> %s in %.1f s", n, fits_dir, out,
             time.perf_counter() - start)


def _describe_pipeline(pipeline):
    steps = []
    for name, step in pipeline.steps:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(step.get_params().items())
                           if k != "copy")
        steps.append(f"{name}({params})")
    return " -> ".join(steps)


LABEL_KEYS = ("file", "video", "name", "bmr_id")


def read_labels_csv(path):
    """Per-video coordinates from a CSV: ``{file stem: {column: value}}``."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise _error(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from exc
    key = next((k for k in LABEL_KEYS if k in table.columns), None)
    if key is None:
        raise _error(f"{path}: needs a column naming each cube, one of {list(LABEL_KEYS)}; "
                     f"found {list(table.columns)}")
    stems = table[key].astype(str).map(lambda s: Path(s).name.split(".")[0])
    duplicated = stems[stems.duplicated()].tolist()
    if duplicated:
        raise _error(f"{path}: videos listed twice: {duplicated[:10]}")
    if "label" in table.columns:
        bad = ~pd.to_numeric(table["label"], errors="coerce").isin([0, 1])
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise _error(f"{path}: row {row + 2}: label {table['label'].iloc[row]!r} is not "
                         "0 or 1")
    columns = [c for c in table.columns if c != key or key == "bmr_id"]
    coords = {}
    for stem, (_, row) in zip(stems, table[columns].iterrows()):
        coords[stem] = {c: (v.item() if hasattr(v, "item") else v)
                        for c, v in row.items() if not (isinstance(v, float) and v != v)}
    return coords


# --------------------------------------------------------------------------- fit

def month_blocks(n_blocks):
    """Two-month validation blocks 1-2, 3-4, ... and the benchmark months left before 11."""
    blocks = [(2 * k + 1, 2 * k + 2) for k in range(n_blocks)]
    benchmark = tuple(range(2 * n_blocks + 1, 11))
    return blocks, benchmark


def classifier_from_args(args, **overrides):
    from ._cli_store import make_classifier

    kwargs = dict(module=args.module, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, device=args.device, seed=args.seed, params=args.param)
    kwargs.update(overrides)
    return make_classifier(**kwargs)


def train_ensemble(X, y, clf, *, n_blocks, n_seeds, n_jobs=1, seed=0, quiet=False):
    """Fit a MonthBlockEnsemble on the block months and its threshold on the benchmark months.

    Returns the ensemble and a dict describing the threshold fit.
    """
    import numpy as np

    from .ensemble import MonthBlockEnsemble
    from .model_selection import MonthBlockSplit, month_block_sets

    blocks, benchmark = month_blocks(n_blocks)
    ens = MonthBlockEnsemble(clf, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                             n_jobs=n_jobs, random_state=seed, verbose=0 if quiet else 1)
    log.info("training %d members (%d month blocks x %d seeds) on %d videos",
             n_blocks * n_seeds, n_blocks, n_seeds, len(X))
    start = time.perf_counter()
    ens.fit(X, y)
    log.info("trained in %.0f s", time.perf_counter() - start)
    info = {"benchmark_months": list(benchmark), "threshold_source": "default 0.5"}
    if benchmark:
        bench = month_block_sets(X, train=[m for b in blocks for m in b],
                                 benchmark=benchmark).benchmark
        y_bench = np.asarray(y)[bench]
        if bench.size and np.unique(y_bench).size == 2:
            ens.fit_threshold(X[bench], y_bench)
            info["threshold_source"] = (
                f"precision = recall on {bench.size} benchmark videos (months "
                f"{', '.join(map(str, benchmark))})")
            info["n_benchmark"] = int(bench.size)
        else:
            log.warning("benchmark months %s hold %d videos of %d class(es): threshold "
                        "left at 0.5", list(benchmark), bench.size, np.unique(y_bench).size)
    log.info("decision threshold %.3f (%s)", ens.threshold_, info["threshold_source"])
    return ens, info


def labels_of(videos, coord, path):
    import numpy as np

    if coord not in videos.coords:
        raise _error(f"{path}: no {coord!r} coordinate to train on")
    return np.asarray(videos[coord].values).astype(int)


def cmd_fit(args):
    """``skflux fit DATA.nc MODEL_DIR``: train and save a month-block ensemble."""
    from ._cli_store import save_ensemble

    videos = open_videos(args.data)
    out = output_path(args.model_dir, args.overwrite, what="directory")
    y = labels_of(videos, args.label_coord, args.data)
    clf = classifier_from_args(args)
    ens, info = train_ensemble(videos, y, clf, n_blocks=args.members, n_seeds=args.seeds,
                               n_jobs=args.n_jobs, seed=args.seed, quiet=args.quiet)
    with atomic_output(out) as tmp:
        save_ensemble(ens, tmp, extra={"training": {
            "data": str(Path(args.data).resolve()), "label_coord": args.label_coord,
            "n_videos": len(videos), **info}})
    log.info("saved %d members to %s", len(ens.estimators_), out)


# --------------------------------------------------------------------------- relabel

def default_relabeled_path(data):
    p = Path(data)
    return p.with_name(f"{p.stem}.relabeled{p.suffix or '.nc'}")


def make_oracle(kind, videos, data_path, sheet_dir):
    relabel = library("skflux.relabel")
    if kind == "truth":
        if "true_label" not in videos.coords:
            raise _error(f"{data_path}: no 'true_label' coordinate; the truth oracle needs "
                         "simulated data (use --oracle console or sheet)")
        return relabel.TruthOracle()
    if kind == "console":
        return relabel.ConsoleOracle(figure_dir=str(sheet_dir), input_func=_ask)
    return relabel.SheetOracle(str(sheet_dir))


def _ask(prompt):
    """``input`` for the console reviewer; end of input means "stop here" (resumable)."""
    try:
        return input(prompt)
    except EOFError:
        print()
        return "q"


def run_relabel(videos, y, clf, *, oracle, log_path, max_passes=10, stop_ratio=0.5,
                n_jobs=1, seed=0, quiet=False, bars=True):
    """Fit an IterativeRelabeler; returns it, or None when a review is pending.

    ``bars=False`` keeps the per-pass lines but drops the progress bars (they would
    interleave with a reviewer's prompts in the terminal).
    """
    relabel = library("skflux.relabel")
    verbose = 0 if quiet else 2 if bars else 1
    rel = relabel.IterativeRelabeler(
        clf, oracle=oracle, review_log=str(log_path), max_passes=max_passes,
        stop_ratio=stop_ratio, n_jobs=n_jobs, random_state=seed, verbose=verbose)
    try:
        rel.fit(videos, y)
    except relabel.ReviewPending as pending:
        where = f" ({pending.path})" if pending.path is not None else ""
        log.warning("review pending%s: %s", where, pending)
        log.warning("run the same command again once the review is done; nothing is lost")
        return None
    return rel


def relabel_summary(rel, videos, y_crude):
    """Numbers of a finished relabeling (with the truth where the data carry it)."""
    import numpy as np

    in_cv = rel.fold_of_ >= 0
    summary = {
        "passes": int(rel.n_passes_),
        "stop_reason": str(rel.stop_reason_),
        "n_videos_in_blocks": int(in_cv.sum()),
        "fraction_verified": float(rel.verified_[in_cv].mean()) if in_cv.any() else 0.0,
        "labels_changed": int((rel.labels_ != y_crude).sum()),
    }
    if "true_label" in videos.coords:
        truth = np.asarray(videos["true_label"].values).astype(int)
        wrong_before = (y_crude != truth) & in_cv
        wrong_after = (rel.labels_ != truth) & in_cv
        summary.update(
            crude_mislabels=int(wrong_before.sum()),
            mislabels_left=int(wrong_after.sum()),
            fraction_corrected=(float(1 - wrong_after.sum() / wrong_before.sum())
                                if wrong_before.any() else float("nan")),
        )
    return summary


def write_relabeled(videos, rel, y_crude, out):
    """A copy of the videos with the new labels (crude ones kept in ``crude_label``)."""
    io = library("skflux.io")
    new = videos.assign_coords(label=("video", rel.labels_.astype(videos["label"].dtype)),
                               verified=("video", rel.verified_.astype(bool)))
    if "crude_label" not in videos.coords:
        new = new.assign_coords(crude_label=("video", y_crude))
    new.attrs = dict(videos.attrs)
    new.attrs["relabeled_passes"] = int(rel.n_passes_)
    with atomic_output(out) as tmp:
        io.to_netcdf(new, tmp)


def write_passes(rel, path, summary=None):
    import json

    payload = {"passes": [p.to_dict() for p in rel.passes_], "summary": summary or {}}
    Path(path).write_text(json.dumps(payload, indent=2, default=_json_default))


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def cmd_relabel(args):
    """``skflux relabel DATA.nc --oracle ... --log REVIEW.db [--out NEW.nc]``."""
    import numpy as np

    data = require_file(args.data, "NetCDF file")
    out = Path(args.out) if args.out else default_relabeled_path(data)
    if out.resolve() == data.resolve():
        raise _error(f"{out}: refusing to write the labels into DATA.nc itself; "
                     "choose another --out")
    output_path(out, overwrite=True)
    log_path = Path(args.log)
    if not log_path.resolve().parent.is_dir():
        raise _error(f"{args.log}: folder {log_path.resolve().parent} does not exist")
    if log_path.exists() and log_path.is_dir():
        raise _error(f"{args.log}: is a directory, expected a review log file")
    videos = open_videos(data)
    y = labels_of(videos, "label", data)
    if "crude_label" in videos.coords:
        y_crude = np.asarray(videos["crude_label"].values).astype(int)
    else:
        y_crude = y
    sheet_dir = Path(args.sheet) if args.sheet else log_path.with_name(log_path.stem + "_review")
    oracle = make_oracle(args.oracle, videos, data, sheet_dir)
    if log_path.exists():
        log.info("resuming from the review log %s", log_path)
    clf = classifier_from_args(args)
    rel = run_relabel(videos, y, clf, oracle=oracle, log_path=log_path,
                      max_passes=args.max_passes, stop_ratio=args.stop_ratio,
                      n_jobs=args.n_jobs, seed=args.seed, quiet=args.quiet,
                      bars=args.oracle != "console")
    if rel is None:
        return
    summary = relabel_summary(rel, videos, y_crude)
    write_relabeled(videos, rel, y_crude, out)
    passes_path = Path(args.passes_json) if args.passes_json else out.with_suffix(".json")
    write_passes(rel, passes_path, summary)
    line = (f"{summary['passes']} pass(es) ({summary['stop_reason']}); "
            f"{summary['fraction_verified']:.0%} of {summary['n_videos_in_blocks']} videos "
            f"verified, {summary['labels_changed']} labels changed")
    if "crude_mislabels" in summary:
        line += (f"; {summary['crude_mislabels'] - summary['mislabels_left']} of "
                 f"{summary['crude_mislabels']} crude mislabels corrected")
    log.info("%s", line)
    log.info("relabeled copy -> %s; per-pass record -> %s", out, passes_path)


# --------------------------------------------------------------------------- locate

def default_lower_bound(n_frames):
    """The authors' 30 of 225 frames, scaled to the video length."""
    from ._schema import N_FRAMES

    return max(1, min(n_frames - 2, round(30 * n_frames / N_FRAMES)))


def run_locate(videos, ens, *, lower_bound=None, method="fast", quiet=False):
    """Emergence times of ``videos`` as a Dataset, with the probability curves."""
    from .timing import EmergenceTimeLocator

    if lower_bound is None:
        lower_bound = default_lower_bound(videos.sizes["frame"])
    loc = EmergenceTimeLocator(ens, lower_bound=lower_bound, method=method,
                               verbose=0 if quiet else 1)
    ds = loc.fit_transform(videos)
    ds["curves"] = (("member", "video", "frame"), loc.curves_.astype("float32"))
    ds["curves"].attrs["description"] = (
        "probability of emergence of each member with the video cut at each frame")
    return ds


def write_dataset(ds, out):
    with atomic_output(out) as tmp:
        ds.to_netcdf(tmp)


def cmd_locate(args):
    """``skflux locate DATA.nc MODEL_DIR OUT.nc``."""
    from ._cli_store import load_ensemble

    out = output_path(args.out, args.overwrite)
    videos = open_videos(args.data)
    ens, _ = load_ensemble(args.model_dir, device=args.device)
    start = time.perf_counter()
    ds = run_locate(videos, ens, lower_bound=args.lower_bound, method=args.method,
                    quiet=args.quiet)
    write_dataset(ds, out)
    log.info("emergence times of %d videos (%d members) -> %s in %.1f s", ds.sizes["video"],
             ds.sizes["member"], out, time.perf_counter() - start)


# --------------------------------------------------------------------------- report

def cmd_report(args):
    """``skflux report RUN_DIR [--out DIR]``."""
    from ._cli_report import build_report

    run_dir = require_dir(args.run_dir, "run directory")
    path = build_report(run_dir, args.out, fmt=args.format, quiet=args.quiet)
    log.info("report: %s", path.resolve())
    print(path.resolve())
