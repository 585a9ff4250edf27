"""Implementations of the ``skflux`` subcommands (private; see :mod:`skflux.cli`).

Each ``cmd_<name>(args)`` takes the parsed arguments, does its work through the
library and raises :class:`skflux.cli.CommandError` (or any library error) on failure.
"""

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
    tmp = partial_path(out)
    start = time.perf_counter()
    log.info("simulating %d videos (%d frames of %dx%d px, seed %d) -> %s",
             args.n_videos, args.frames, args.size, args.size, args.seed, out)
    try:
        write(tmp, args.n_videos, random_state=args.seed, n_frames=args.frames,
              size=args.size, **verbose_kwargs(write, args.quiet))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
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
    labels = None
    if args.labels is not None:
        labels = _read_labels_csv(require_file(args.labels, "labels CSV"))
    io = library("skflux.io")
    ingest = io.ingest_fits_dir
    tmp = partial_path(out)
    kwargs = {"labels": labels, "n_frames": args.frames, "instrument": args.instrument}
    if args.pad_mode is not None:
        kwargs["pad_mode"] = args.pad_mode
    kwargs.update(verbose_kwargs(ingest, args.quiet))
    start = time.perf_counter()
    try:
        n = ingest(fits_dir, tmp, **kwargs)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("ingested %s videos from %s -> %s in %.1f s", n, fits_dir, out,
             time.perf_counter() - start)


def _read_labels_csv(path):
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise _error(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from exc
    return table


# --------------------------------------------------------------------------- not yet

def _pending(name, check):
    def cmd(args):
        check(args)
        raise _error(f"'skflux {name}' needs library parts that are not available yet")

    return cmd


cmd_fit = _pending("fit", lambda a: require_file(a.data, "NetCDF file"))
cmd_relabel = _pending("relabel", lambda a: require_file(a.data, "NetCDF file"))
cmd_locate = _pending("locate", lambda a: require_file(a.data, "NetCDF file"))
cmd_report = _pending("report", lambda a: require_dir(a.run_dir, "run directory"))
