"""``skflux report RUN_DIR``: Figures 1-6 and the metrics as an HTML page."""

import logging
from pathlib import Path

from .. import pipeline
from ._errors import OptionError
from ._paths import atomic_output, output_path, require_dir

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "report", parents=parents, help="HTML report with the paper's Figures 1-6 and the metrics",
        description="Read a run directory (see 'skflux --help' for its layout), draw Figures 1-6 "
                    "from what it holds, and write RUN_DIR/report/index.html with "
                    "skflux.report.build_report. Videos of any size; a figure whose material "
                    "is missing, or whose drawing fails, is a note in the page, not the end "
                    "of the report. Nothing in the run directory is written but the report "
                    "folder.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory")
    p.add_argument("--out", metavar="DIR", help="report directory (default RUN_DIR/report)")
    p.add_argument("--format", choices=("png", "svg"), default="png", help="figure format")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the report directory if it exists")
    return p


def report_dir(run_dir, out):
    """The report folder: never the run directory, a folder above it, or one of its files."""
    out = Path(out) if out is not None else Path(run_dir) / pipeline.REPORT
    target, run = out.resolve(), Path(run_dir).resolve()
    if target == run or target in run.parents:
        raise OptionError("--out", f"{out} holds the run directory {run_dir}; choose a folder "
                                   "of its own")
    if (target.parent == run and target.name in pipeline.RUN_LAYOUT
            and target.name != pipeline.REPORT):
        raise OptionError("--out", f"{out} is the run's {target.name}; choose another folder")
    return out


def run(args):
    run_dir = require_dir(args.run_dir, "run directory")
    out = output_path(report_dir(run_dir, args.out), "--out", args.overwrite, what="directory")
    with atomic_output(out) as tmp:
        pipeline.report(run_dir, tmp, fmt=args.format, quiet=args.quiet)
    path = out / "index.html"
    log.info("report: %s", path.resolve())
    print(path.resolve())
