"""The ``skflux`` command: simulate, ingest, fit, relabel, locate, report and demo.

Every subcommand is a thin shell over the library; run ``skflux SUBCOMMAND --help``
for its options. Common options (before or after the subcommand):

``-q/--quiet``
    only warnings and errors; no progress bars.
``--debug``
    debug logging, and a full traceback when a command fails.

Exit status: 0 on success, 2 on a usage error (unknown option, bad value), 1 on a
failure (missing or corrupt file, invalid data...), reported as one line
``skflux: error: <reason>`` on standard error (with the traceback under ``--debug``).

A *run directory* collects what the pipeline produces under fixed names, so that
``skflux report RUN_DIR`` finds everything (``skflux demo`` writes one):

==================  ===========================================================
``data.nc``          videos with crude labels (``skflux simulate`` / ``ingest``)
``relabeled.nc``     copy of the videos with the reviewed labels (``relabel``)
``review.db``        the durable log of every verdict (``relabel --log``)
``relabeled.json``   per-pass record of the relabeling (Figure 3)
``model/``           the ensemble: ``config.json`` + one weight file per member
``times.nc``         emergence times and probability curves (``locate``)
``metrics.json``     accuracies and timing errors (written by ``demo``)
``report/``          ``index.html`` and the figure files (``report``)
==================  ===========================================================
"""

import argparse
import logging
import sys

from . import __version__

__all__ = ["build_parser", "main"]

log = logging.getLogger("skflux")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A failure of a command with a message meant for the user (exit status 1)."""


# --------------------------------------------------------------------------- parser

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value}")
    return value


def _key_value(text):
    """``KEY=VALUE`` with VALUE a Python literal (number, string, tuple...) or a bare word."""
    import ast

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a parameter name (e.g. module__width=8), got {text!r}"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def _common_options(suppress):
    """Options accepted both before and after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("common options")
    group.add_argument("-q", "--quiet", action="store_true",
                       default=default if suppress else False,
                       help="only warnings and errors; no progress bars")
    group.add_argument("--debug", action="store_true", default=default if suppress else False,
                       help="debug logging and full tracebacks on failure")
    return parent


def _training_options(parser, *, epochs_default=20):
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=epochs_default,
                   help="maximum epochs per model (early stopping on validation accuracy; "
                        "default %(default)s)")
    g.add_argument("--device", default="cpu",
                   help="torch device, e.g. cpu or cuda (default %(default)s)")
    g.add_argument("--module", default="vgg",
                   help="network: vgg (the paper's) or vgg3d (default %(default)s)")
    g.add_argument("--batch-size", type=_positive_int, default=10,
                   help="videos per batch (default %(default)s)")
    g.add_argument("--lr", type=float, default=1e-4, help="SGD learning rate (default 1e-4)")
    g.add_argument("--param", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="any other FluxEmergenceClassifier parameter, e.g. module__width=8 "
                        "or optimizer__momentum=0.8 (repeatable)")
    g.add_argument("--n-jobs", type=int, default=1,
                   help="models trained in parallel (joblib; default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")


def build_parser():
    """The ``skflux`` argument parser with every subcommand.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from skflux.cli import build_parser
    >>> args = build_parser().parse_args(["simulate", "out.nc", "--n-videos", "4"])
    >>> args.command, args.n_videos
    ('simulate', 4)
    """
    from ._schema import N_FRAMES, PATCH_SIZE

    top_common = _common_options(suppress=False)
    sub_common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="skflux",
        description="Human-efficient labeling of solar flux-emergence magnetogram videos: "
                    "simulate or ingest videos, relabel crude labels with a CNN ensemble and a "
                    "reviewer, locate emergence times, report the paper's figures.",
        epilog="Start with 'skflux demo --quick'. Exit status: 0 ok, 1 failure, 2 usage error.",
        parents=[top_common],
    )
    parser.add_argument("--version", action="version", version=f"skflux {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, help_, description):
        return sub.add_parser(name, help=help_, description=description, parents=[sub_common])

    # simulate --------------------------------------------------------------------------
    p = add("simulate", "write a simulated dataset of patch videos to NetCDF",
            "Simulate MDI-like magnetogram patch videos with ground truth (true label, "
            "emergence frame) and BARD-like crude labels, streamed to a NetCDF file one video "
            "at a time.")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--n-videos", type=_positive_int, required=True, metavar="N",
                   help="number of videos")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--frames", type=_positive_int, default=N_FRAMES,
                   help="frames per video (default %(default)s, 96-minute cadence)")
    p.add_argument("--size", type=_positive_int, default=PATCH_SIZE,
                   help="pixels per side of the 15-degree patch (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")

    # ingest ----------------------------------------------------------------------------
    p = add("ingest", "convert a directory of FITS patch videos to the NetCDF schema",
            "Read the authors' FITS layout (a patch cube NAME.fits plus NAME.dt.fits of seconds "
            "since the first frame) for every video in FITS_DIR, place the frames on the "
            "96-minute grid, fill gaps, zero off-limb pixels, pad to a fixed length, and append "
            "the videos one by one to OUT.nc.")
    p.add_argument("fits_dir", metavar="FITS_DIR", help="directory of FITS cubes")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--labels", metavar="CSV",
                   help="CSV with a 'video' (or 'file') column naming each cube and columns for "
                        "the per-video coordinates (label, time, bmr_id, lat0, lon0...)")
    p.add_argument("--pad-mode", choices=("zero", "edge"), default=None,
                   help="how to bring videos to the fixed length (default: the library's)")
    p.add_argument("--frames", type=_positive_int, default=N_FRAMES,
                   help="frames per video after padding (default %(default)s)")
    p.add_argument("--instrument", default=None,
                   help="instrument attribute (default: from the FITS headers, else unknown)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")

    # fit -------------------------------------------------------------------------------
    p = add("fit", "train a month-block ensemble and save it",
            "Train a MonthBlockEnsemble of FluxEmergenceClassifier members (one per month "
            "block x seed), choose the decision threshold on the benchmark months, and save "
            "the members' weights and a JSON config to MODEL_DIR (no pickle).")
    p.add_argument("data", metavar="DATA.nc", help="videos with a label coordinate")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="directory to write the ensemble to")
    p.add_argument("--members", type=int, choices=range(2, 6), default=4, metavar="BLOCKS",
                   help="number of two-month validation blocks, one member each per seed: 4 "
                        "(months 1-8, months 9-10 kept to fit the threshold: the paper's "
                        "models 6-9; the default) or 5 (months 1-10, threshold 0.5)")
    p.add_argument("--seeds", type=_positive_int, default=2,
                   help="random realizations per block (default %(default)s)")
    p.add_argument("--label-coord", default="label",
                   help="coordinate holding the training labels (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR if it exists")
    _training_options(p)

    # relabel ---------------------------------------------------------------------------
    p = add("relabel", "iterative relabeling of crude labels with a reviewer (resumable)",
            "Run the paper's relabeling passes: train one model per month block, show the "
            "reviewer the videos where the models disagree with the current labels, apply the "
            "verdicts, repeat while the ratio of real mislabels stays high. Every verdict is "
            "saved in the review log the moment it is given; rerunning with the same log "
            "resumes. The new labels go into a copy of DATA.nc (never in place).")
    p.add_argument("data", metavar="DATA.nc", help="videos with crude labels")
    p.add_argument("--oracle", choices=("truth", "console", "sheet"), required=True,
                   help="who reviews: truth (the simulator's ground truth), console "
                        "(you, y/n in the terminal), sheet (write a review sheet to fill, then "
                        "rerun)")
    p.add_argument("--log", required=True, metavar="REVIEW.db", help="review log (created or "
                   "resumed)")
    p.add_argument("--out", metavar="NEW.nc",
                   help="where to write the relabeled copy (default DATA.relabeled.nc)")
    p.add_argument("--sheet", metavar="DIR",
                   help="directory for the review sheet and frames (sheet oracle; default "
                        "next to the log)")
    p.add_argument("--max-passes", type=_positive_int, default=10,
                   help="at most this many passes (default %(default)s)")
    p.add_argument("--stop-ratio", type=_fraction, default=0.5,
                   help="stop when real mislabels / disagreements <= this (default 0.5)")
    p.add_argument("--passes-json", metavar="PATH",
                   help="where to write the per-pass record (default OUT with .json suffix)")
    _training_options(p)

    # locate ----------------------------------------------------------------------------
    p = add("locate", "emergence time of every video by frame masking",
            "For every video, mask the frames after each cut-off, follow each ensemble member's "
            "probability as the cut-off advances, and take the frame of steepest rise (median "
            "over members) as the emergence frame. Writes a NetCDF dataset with the frames, "
            "times, per-member frames and the probability curves.")
    p.add_argument("data", metavar="DATA.nc", help="videos")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="ensemble saved by 'skflux fit'")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--lower-bound", type=_nonneg_int, default=None,
                   help="frames before this are set to it (default: the library's, 30 at "
                        "full size)")
    p.add_argument("--method", choices=("fast", "naive"), default="fast",
                   help="fast (exact shortcuts) or naive (one forward pass per cut-off)")
    p.add_argument("--device", default=None, help="torch device (default: as trained)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")

    # report ----------------------------------------------------------------------------
    p = add("report", "HTML report with the paper's Figures 1-6 and the metrics",
            "Read a run directory (see 'skflux --help' for its layout), draw Figures 1-6 from "
            "what it holds, and write RUN_DIR/report/index.html.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory")
    p.add_argument("--out", metavar="DIR", help="report directory (default RUN_DIR/report)")
    p.add_argument("--format", choices=("png", "svg"), default="png", help="figure format")

    # demo ------------------------------------------------------------------------------
    p = add("demo", "end-to-end demo on simulated data",
            "Simulate videos, relabel the crude labels with the simulator's ground truth as "
            "reviewer, train the month-block ensemble and its threshold, measure test accuracy "
            "(months 11-12) against the truth, locate emergence times, and write the HTML "
            "report. About 10 minutes on a 2-core CPU; --quick takes about 2 minutes.")
    p.add_argument("--out", default="skflux-demo", metavar="DIR",
                   help="run directory (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny videos and network (~2 minutes)")
    p.add_argument("--n-videos", type=_positive_int, default=None,
                   help="override the number of simulated videos")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="override the maximum epochs per model")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    return parser


# --------------------------------------------------------------------------- logging

class _TqdmHandler(logging.Handler):
    """Log records written through ``tqdm.write`` so they do not break progress bars."""

    def emit(self, record):
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            message = f"skflux: {record.levelname.lower()}: {message}"
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        return message


def _setup_logging(quiet, debug):
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = _TqdmHandler()
    handler.setFormatter(_Formatter())
    for name in ("skflux", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.captureWarnings(True)


# --------------------------------------------------------------------------- main

def _one_line(exc):
    text = " ".join(str(exc).split())
    if isinstance(exc, (KeyError,)) and text.startswith("'"):
        text = f"missing {text}"
    if not text:
        text = type(exc).__name__
    elif not isinstance(exc, (CommandError, ValueError, OSError, TypeError)):
        text = f"{type(exc).__name__}: {text}"
    return text


def main(argv=None):
    """Run the ``skflux`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on a failure (reported as one line on standard error),
        2 on a usage error.

    Examples
    --------
    >>> from skflux.cli import main
    >>> main(["--version"])
    skflux ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    quiet = bool(getattr(args, "quiet", False))
    debug = bool(getattr(args, "debug", False))
    args.quiet, args.debug = quiet, debug
    _setup_logging(quiet, debug)
    try:
        if args.command == "demo":
            from ._cli_demo import run_demo

            run_demo(args)
        else:
            from . import _cli_commands

            getattr(_cli_commands, f"cmd_{args.command}")(args)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except _UsageError as exc:
        print(f"skflux {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            log.exception("skflux %s failed", args.command)
        log.error("%s", _one_line(exc))
        return EXIT_FAILURE
    return EXIT_OK


class _UsageError(CommandError):
    """An inconsistent combination of options found after parsing (exit status 2)."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
