"""``skflux relabel DATA.nc --oracle ... --log REVIEW.db``: iterative relabeling, resumable."""

import argparse
import logging
from pathlib import Path

from ._errors import EXIT_REVIEW_PENDING, CommandError
from ._options import (
    add_training_options,
    classifier_from_args,
    fraction,
    nonneg_int,
    positive_int,
)
from ._paths import (
    atomic_output,
    check_distinct,
    check_folder,
    labels_of,
    open_videos,
    output_path,
    require_dir,
    require_file,
)

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "relabel", parents=parents,
        help="iterative relabeling of crude labels with a reviewer (resumable)",
        description="Run the paper's relabeling passes: train one model per month block, show "
                    "the reviewer the videos where the models disagree with the current labels, "
                    "apply the verdicts, repeat while the ratio of real mislabels stays high. "
                    "Every verdict is saved in the review log the moment it is given; rerunning "
                    "with the same log resumes. The new labels go into a copy of DATA.nc (never "
                    "in place). Exit status 3 when the run stops to wait for a review.")
    p.add_argument("data", metavar="DATA.nc", help="videos with crude labels")
    p.add_argument("--oracle", choices=("truth", "console", "sheet", "web"), required=True,
                   help="who reviews: truth (the simulator's ground truth), console "
                        "(you, y/n in the terminal), sheet (write a review sheet to fill, then "
                        "rerun), web (you, in the browser: the first line printed that starts "
                        "with http:// is the page's address)")
    p.add_argument("--log", required=True, metavar="REVIEW.db",
                   help="review log (created or resumed)")
    p.add_argument("--out", metavar="NEW.nc",
                   help="where to write the relabeled copy (default DATA.relabeled.nc)")
    p.add_argument("--sheet", metavar="DIR",
                   help="directory for the review sheet and frames (sheet and console "
                        "oracles; default next to the log)")
    p.add_argument("--max-passes", type=positive_int, default=10,
                   help="at most this many passes (default %(default)s)")
    p.add_argument("--stop-ratio", type=fraction, default=0.5,
                   help="stop when real mislabels / disagreements <= this (default 0.5)")
    p.add_argument("--passes-json", metavar="PATH",
                   help="where to write the per-pass record (default NEW.nc with a .json "
                        "suffix)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace NEW.nc and the per-pass record if they exist (the review log "
                        "is always resumed, never replaced)")
    add_web_options(p)
    add_training_options(p)
    return p


def port(text):
    value = nonneg_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {value}")
    return value


def add_web_options(p):
    """The browser reviewer's options (``--oracle web`` and ``skflux review``)."""
    g = p.add_argument_group("browser review (--oracle web)")
    g.add_argument("--host", default="127.0.0.1",
                   help="address the review page listens on (default %(default)s: this "
                        "machine only)")
    g.add_argument("--port", type=port, default=0,
                   help="port of the review page (default 0: a free one)")
    g.add_argument("--no-browser", action="store_true",
                   help="do not open a browser; open the printed address yourself")
    g.add_argument("--reviewer-name", metavar="NAME",
                   help="stored with every verdict (default: your user name)")
    g.add_argument("--model", metavar="MODEL_DIR",
                   help="a fitted ensemble (skflux fit) whose members' spread and "
                        "frame-masking curves are shown beside each video")


def output_paths(args):
    """``(out, passes_json, log, sheet_dir)`` of a relabel command, checked before any work.

    No output may be DATA.nc or another output; their folders must exist; an
    existing NEW.nc or per-pass record is replaced only with ``--overwrite``.
    """
    data = Path(args.data)
    out = Path(args.out) if args.out else data.with_name(
        f"{data.stem}.relabeled{data.suffix or '.nc'}")
    passes = Path(args.passes_json) if args.passes_json else out.with_suffix(".json")
    log_path = Path(args.log)
    sheet = Path(args.sheet) if args.sheet else log_path.with_name(log_path.stem + "_review")
    if args.oracle in ("truth", "web"):  # writes no sheet
        sheet = None
    check_distinct([("--out", out), ("--passes-json", passes), ("--log", log_path),
                    ("--sheet", sheet)], [("DATA.nc", data)])
    for option, path in (("--out", out), ("--passes-json", passes), ("--log", log_path)):
        check_folder(path, option)
    if args.sheet and sheet is not None:
        check_folder(sheet, "--sheet")
    output_path(out, "--out", args.overwrite)
    output_path(passes, "--passes-json", args.overwrite)
    if log_path.is_dir():
        raise CommandError(f"{args.log}: is a directory, expected a review log file")
    return out, passes, log_path, sheet


def make_oracle(kind, videos, data_path, sheet_dir, args=None):
    from .. import relabel

    if kind == "web":
        return web_oracle(args)
    if kind == "truth":
        if "true_label" not in videos.coords:
            raise CommandError(f"{data_path}: no 'true_label' coordinate; the truth oracle "
                               "needs simulated data (use --oracle console or sheet)")
        return relabel.TruthOracle()
    if kind == "console":
        return relabel.ConsoleOracle(figure_dir=str(sheet_dir), input_func=_ask)
    return relabel.SheetOracle(str(sheet_dir))


def web_oracle(args):
    """The :class:`~skflux.relabel.WebOracle` the browser options of ``args`` describe."""
    from ..relabel import EnsembleEvidence, WebOracle

    evidence = None
    if args.model:
        from ..ensemble import MonthBlockEnsemble

        model = require_dir(args.model, "model directory (skflux fit)")
        try:
            ensemble = MonthBlockEnsemble.load(model, device=getattr(args, "device", None))
        except (OSError, ValueError, TypeError) as exc:
            raise CommandError(f"--model {args.model}: cannot load the ensemble: {exc}") \
                from exc
        evidence = EnsembleEvidence(ensemble)
    return WebOracle(host=args.host, port=args.port, open_browser=not args.no_browser,
                     reviewer_name=args.reviewer_name, evidence=evidence,
                     print_func=lambda s: print(s, flush=True))


def recorded_options(args):
    """The options a later ``skflux review`` needs, as the JSON kept in the review log."""
    import json

    from .. import __version__

    keys = ("out", "passes_json", "max_passes", "stop_ratio", "epochs", "device", "module",
            "batch_size", "lr", "param", "n_jobs", "seed")
    options = {k: getattr(args, k) for k in keys}
    options["param"] = [list(kv) for kv in options["param"]]
    return json.dumps({"command": "relabel", "skflux_version": __version__,
                       "options": options}, sort_keys=True, default=str)


def _ask(prompt):
    """``input`` for the console reviewer; end of input means "stop here" (resumable)."""
    try:
        return input(prompt)
    except EOFError:
        print()
        return "q"


def run_relabel(videos, y, clf, *, oracle, log_path, max_passes=10, stop_ratio=0.5,
                n_jobs=1, seed=0, quiet=False, bars=True, log_meta=None):
    """Fit an IterativeRelabeler; returns it, or None when a review is pending.

    ``bars=False`` keeps the per-pass lines but drops the progress bars (they would
    interleave with a reviewer's prompts in the terminal). ``log_meta`` (dict of
    str) goes into a new review log's ``meta`` table.
    """
    from ..relabel import IterativeRelabeler, ReviewLog, ReviewPending

    review_log = str(log_path) if not log_meta else ReviewLog(log_path, extra_meta=log_meta)
    rel = IterativeRelabeler(
        clf, oracle=oracle, review_log=review_log, max_passes=max_passes,
        stop_ratio=stop_ratio, n_jobs=n_jobs, random_state=seed,
        verbose=0 if quiet else 2 if bars else 1)
    try:
        rel.fit(videos, y)
    except ReviewPending as pending:
        where = f" ({pending.path})" if pending.path is not None else ""
        log.warning("review pending%s: %s", where, pending)
        log.warning("run the same command again once the review is done; nothing is lost "
                    "(exit status %d)", EXIT_REVIEW_PENDING)
        return None
    return rel


def write_relabeled(videos, rel, y_crude, out):
    """A copy of the videos with the new labels (crude ones kept in ``crude_label``)."""
    from ..io import to_netcdf

    new = videos.assign_coords(label=("video", rel.labels_.astype(videos["label"].dtype)),
                               verified=("video", rel.verified_.astype(bool)))
    if "crude_label" not in videos.coords:
        new = new.assign_coords(crude_label=("video", y_crude))
    new.attrs = dict(videos.attrs)
    new.attrs["relabeled_passes"] = int(rel.n_passes_)
    with atomic_output(out) as tmp:
        to_netcdf(new, tmp)


def write_passes(rel, path, summary=None):
    """The per-pass record (Figure 3) and the summary as JSON, written atomically."""
    from .._jsonutil import dump_json

    dump_json({"passes": [p.to_dict() for p in rel.passes_], "summary": summary or {}}, path)


def _summary_line(summary):
    line = (f"{summary['passes']} pass(es) ({summary['stop_reason']}); "
            f"{summary['fraction_verified']:.0%} of {summary['n_videos_in_blocks']} videos "
            f"verified, {summary['labels_changed']} labels changed")
    if "crude_mislabels" in summary:
        line += (f"; {summary['crude_mislabels'] - summary['mislabels_left']} of "
                 f"{summary['crude_mislabels']} crude mislabels corrected")
    return line


def run(args):
    from ..metrics import relabeling_summary

    out, passes_path, log_path, sheet_dir = output_paths(args)
    data = require_file(args.data, "NetCDF file")
    clf = classifier_from_args(args)
    videos = open_videos(data)
    y = labels_of(videos, "label", data)
    y_crude = labels_of(videos, "crude_label", data) if "crude_label" in videos.coords else y
    oracle = make_oracle(args.oracle, videos, data, sheet_dir, args)
    if log_path.exists():
        log.info("resuming from the review log %s", log_path)
    try:
        rel = run_relabel(videos, y, clf, oracle=oracle, log_path=log_path,
                          max_passes=args.max_passes, stop_ratio=args.stop_ratio,
                          n_jobs=args.n_jobs, seed=args.seed, quiet=args.quiet,
                          bars=args.oracle not in ("console", "web"),
                          log_meta={"command": recorded_options(args)})
    finally:
        if args.oracle == "web":
            oracle.close()
    if rel is None:
        return EXIT_REVIEW_PENDING
    truth = videos["true_label"].values if "true_label" in videos.coords else None
    summary = relabeling_summary(rel, y_crude, truth)
    write_relabeled(videos, rel, y_crude, out)
    write_passes(rel, passes_path, summary)
    log.info("%s", _summary_line(summary))
    log.info("relabeled copy -> %s; per-pass record -> %s", out, passes_path)
