"""``skflux relabel DATA.nc --oracle ... --log REVIEW.db``: iterative relabeling, resumable."""

import logging
from pathlib import Path

from .. import __version__, pipeline
from .._paper import RELABEL_R_STOP
from ._errors import EXIT_REVIEW_PENDING, CommandError
from ._options import (
    add_training_options,
    classifier_from_args,
    fraction,
    port,
    positive_int,
)
from ._paths import (
    check_distinct,
    check_folder,
    check_writable,
    labels_of,
    open_videos,
    output_path,
    require_dir,
    require_file,
    writing,
)

log = logging.getLogger("skflux")

#: what a relabel run records in its review log (``skflux review`` reruns with them)
RECORDED = ("out", "passes_json", "max_passes", "stop_ratio", "epochs", "device", "module",
            "batch_size", "lr", "param", "n_jobs", "seed")
#: recorded as well since issue 27; optional when reading older logs
RECORDED_OPTIONAL = ("model", "reviewer_name", "host", "port", "no_browser", "truth_coord")


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
                   help="who reviews: truth (a simulated reviewer answering from a label "
                        "column, --truth-coord: the simulator's ground truth by default), "
                        "console (you, y/n in the terminal), sheet (write a review sheet to "
                        "fill, then rerun), web (you, in the browser: the first line printed "
                        "that starts with http:// is the page's address)")
    p.add_argument("--truth-coord", default="true_label", metavar="COORD",
                   help="the label column the truth oracle reads (default %(default)s)")
    p.add_argument("--log", required=True, metavar="REVIEW.db",
                   help="review log (created or resumed)")
    p.add_argument("--out", metavar="NEW.nc",
                   help="where to write the relabeled copy (default DATA.relabeled.nc)")
    p.add_argument("--sheet", metavar="DIR",
                   help="directory for the review sheet and frames (sheet and console "
                        "oracles; default next to the log)")
    p.add_argument("--max-passes", type=positive_int, default=10,
                   help="at most this many passes (default %(default)s)")
    p.add_argument("--stop-ratio", type=fraction, default=RELABEL_R_STOP,
                   help="stop when real mislabels / disagreements <= this (default "
                        "%(default)s)")
    p.add_argument("--passes-json", metavar="PATH",
                   help="where to write the per-pass record (default NEW.nc with a .json "
                        "suffix)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace NEW.nc and the per-pass record if they exist (the review log "
                        "is always resumed, never replaced)")
    add_web_options(p)
    add_training_options(p)
    return p


def add_web_options(p, recorded=False):
    """The browser reviewer's options (``--oracle web`` and ``skflux review``).

    With ``recorded``, every default is None: ``skflux review`` then takes the
    value the review log recorded.
    """
    as_recorded = " (default: as recorded in the review log)" if recorded else ""
    g = p.add_argument_group("browser review (--oracle web)")
    g.add_argument("--host", default=None if recorded else "127.0.0.1",
                   help="address the review page listens on (default 127.0.0.1: this "
                        "machine only)" + as_recorded)
    g.add_argument("--port", type=port, default=None if recorded else 0,
                   help="port of the review page (default 0: a free one)" + as_recorded)
    g.add_argument("--no-browser", action="store_true", default=None if recorded else False,
                   help="do not open a browser; open the printed address yourself")
    g.add_argument("--reviewer-name", metavar="NAME",
                   help="stored with every verdict (default: "
                        + ("as recorded, else " if recorded else "") + "your user name)")
    g.add_argument("--model", metavar="MODEL_DIR",
                   help="a fitted ensemble (skflux fit) whose members' spread and "
                        "frame-masking curves are shown beside each video" + as_recorded)


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
    for option, path in (("--out", out), ("--passes-json", passes), ("--log", log_path)):
        check_writable(path, option)  # before training, not after
    return out, passes, log_path, sheet


def make_oracle(args, videos, data_path, sheet_dir):
    """The reviewer ``args`` names (:func:`skflux.pipeline.make_oracle`)."""
    model = None
    if args.oracle == "web" and args.model:
        model = require_dir(args.model, "model directory (skflux fit)")
    try:
        return pipeline.make_oracle(
            args.oracle, videos, truth_coord=args.truth_coord, sheet_dir=sheet_dir,
            input_func=_ask, host=args.host, port=args.port,
            open_browser=not args.no_browser, reviewer_name=args.reviewer_name, model=model,
            device=getattr(args, "device", None), print_func=lambda s: print(s, flush=True))
    except ValueError as exc:
        where = f"--model {args.model}" if model is not None and "model" in str(exc) \
            else str(data_path)
        raise CommandError(f"{where}: {exc}") from exc


def recorded_options(args):
    """The options a later ``skflux review`` needs, as the meta entry of the review log."""
    options = {k: getattr(args, k) for k in RECORDED + RECORDED_OPTIONAL}
    options["param"] = [list(kv) for kv in options["param"]]
    if options["model"] is not None:  # the evidence, whichever folder the review runs from
        options["model"] = str(Path(options["model"]).resolve())
    return pipeline.record_run(options)


def _ask(prompt):
    """``input`` for the console reviewer; end of input means "stop here" (resumable)."""
    try:
        return input(prompt)
    except EOFError:
        print()
        return "q"


def _summary_line(summary):
    line = (f"{summary['passes']} pass(es) ({summary['stop_reason']}); "
            f"{summary['fraction_verified']:.0%} of {summary['n_videos_in_blocks']} videos "
            f"verified, {summary['labels_changed']} labels changed")
    if "crude_mislabels" in summary:
        line += (f"; {summary['crude_mislabels'] - summary['mislabels_left']} of "
                 f"{summary['crude_mislabels']} crude mislabels corrected")
    return line


def run(args):
    out, passes_path, log_path, sheet_dir = output_paths(args)
    data = require_file(args.data, "NetCDF file")
    clf = classifier_from_args(args)
    videos = open_videos(data)
    y = labels_of(videos, "label", data)
    y_crude = labels_of(videos, "crude_label", data) if "crude_label" in videos.coords else y
    oracle = make_oracle(args, videos, data, sheet_dir)
    if log_path.exists():
        log.info("resuming from the review log %s", log_path)
    bars = args.oracle not in ("console", "web")  # bars would interleave with the prompts
    try:
        rel = pipeline.relabel(videos, y, clf, oracle=oracle, review_log=log_path,
                               max_passes=args.max_passes, stop_ratio=args.stop_ratio,
                               n_jobs=args.n_jobs, random_state=args.seed,
                               verbose=0 if args.quiet else 2 if bars else 1,
                               log_meta=recorded_options(args))
    except pipeline.ReviewPending as pending:
        where = f" ({pending.path})" if pending.path is not None else ""
        log.warning("review pending%s: %s", where, pending)
        log.warning("run the same command again once the review is done; nothing is lost "
                    "(exit status %d)", EXIT_REVIEW_PENDING)
        return EXIT_REVIEW_PENDING
    finally:
        if args.oracle == "web":
            oracle.close()
    truth = videos[args.truth_coord].values if args.truth_coord in videos.coords else None
    summary = pipeline.relabel_summary(rel, y_crude, truth)
    safe = (f"Every verdict is kept in the review log {log_path}: run the same command again "
            "(with another --out if need be) to write it; nothing is reviewed again.")
    with writing(out, "--out", safe):
        pipeline.write_relabeled(videos, rel, out, y_crude, overwrite=args.overwrite)
    with writing(passes_path, "--passes-json", safe):
        pipeline.write_passes(rel, passes_path, summary)
    log.info("%s", _summary_line(summary))
    log.info("relabeled copy -> %s; per-pass record -> %s (skflux %s)", out, passes_path,
             __version__)
