"""``build_parser`` and ``main`` of the ``skflux`` command (private; see :mod:`skflux.cli`)."""

import argparse
import logging
import sys

from .. import __version__
from . import demo, extract, fit, ingest, locate, prepare, relabel, report, review, simulate
from ._errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REVIEW_PENDING,
    EXIT_USAGE,
    CommandError,
    OptionError,
)
from ._logging import setup_logging
from ._options import common_options

log = logging.getLogger("skflux")

COMMANDS = (simulate, ingest, extract, prepare, fit, relabel, review, locate, report, demo)

EPILOG = f"""\
Start with 'skflux demo --quick'.

exit status:
  {EXIT_OK}    success
  {EXIT_FAILURE}    failure (missing or corrupt file, invalid data, output exists...)
  {EXIT_USAGE}    usage error: unknown option, bad value, an output in a missing folder or
       equal to an input or another output (found before any work starts)
  {EXIT_REVIEW_PENDING}    stopped to wait for a review (relabel, review): review, then rerun
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""


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
    parser = argparse.ArgumentParser(
        prog="skflux",
        description="Human-efficient labeling of solar flux-emergence magnetogram videos: "
                    "simulate, ingest or extract videos, prepare them, relabel crude labels "
                    "with a CNN "
                    "ensemble and a reviewer, locate emergence times, report the paper's "
                    "figures.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options(suppress=False)])
    parser.add_argument("--version", action="version", version=f"skflux {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common_options(suppress=True)]
    for command in COMMANDS:
        p = command.add_parser(sub, parents)
        p.set_defaults(run=command.run, usage=p.format_usage())
    return parser


def _one_line(exc):
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyError) and text.startswith("'"):
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
        2 on a usage error, 3 when a relabeling run stops to wait for a review,
        130 when interrupted.

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
    args.quiet = bool(getattr(args, "quiet", False))
    args.debug = bool(getattr(args, "debug", False))
    setup_logging(args.quiet, args.debug)
    try:
        status = args.run(args)
    except KeyboardInterrupt:
        log.error("interrupted")
        return EXIT_INTERRUPTED
    except OptionError as exc:
        sys.stderr.write(args.usage)
        print(f"skflux {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if args.debug:
            log.exception("skflux %s failed", args.command)
        log.error("%s", _one_line(exc))
        return EXIT_FAILURE
    return EXIT_OK if status is None else status
