"""``skflux review DATA.nc --log REVIEW.db``: the browser review of what a saved log has pending.

It reruns ``skflux relabel`` with ``--oracle web`` and the options that the
first ``skflux relabel`` run recorded in the review log (key ``command`` of
its ``meta`` table): the same network and training settings, passes and
outputs. Passes already finished are read from the log, not recomputed; the
page opens on the first pending video.
"""

import argparse
import json
import logging

from ._errors import CommandError
from ._options import device, n_jobs
from ._paths import require_file
from .relabel import add_web_options

log = logging.getLogger("skflux")

# what ``skflux relabel`` records (skflux.cli.relabel.recorded_options)
_RECORDED = ("out", "passes_json", "max_passes", "stop_ratio", "epochs", "device", "module",
             "batch_size", "lr", "param", "n_jobs", "seed")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "review", parents=parents,
        help="review in the browser what a saved review log has pending",
        description="Open the browser review page on whatever the review log has pending: "
                    "rerun 'skflux relabel --oracle web' with the options the log recorded "
                    "when 'skflux relabel' created it (same network and training settings, "
                    "passes and outputs). The first line printed that starts with http:// is "
                    "the page's address, token included. Exit status 3 when the review "
                    "stops with videos still pending (rerun to resume).")
    p.add_argument("data", metavar="DATA.nc", help="the videos the log was written for")
    p.add_argument("--log", required=True, metavar="REVIEW.db",
                   help="review log written by 'skflux relabel'")
    p.add_argument("--out", metavar="NEW.nc",
                   help="where to write the relabeled copy (default: as recorded in the log)")
    p.add_argument("--passes-json", metavar="PATH",
                   help="where to write the per-pass record (default: as recorded)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace NEW.nc and the per-pass record if they exist")
    p.add_argument("--device", type=device,
                   help="torch device for the models (default: as recorded)")
    p.add_argument("--n-jobs", type=n_jobs,
                   help="models trained in parallel (default: as recorded)")
    add_web_options(p)
    return p


def recorded_options(log_path):
    """The ``skflux relabel`` options recorded in the review log at ``log_path``."""
    from ..relabel import ReviewLog, ReviewLogError

    path = require_file(log_path, "review log")
    try:
        text = ReviewLog(path).meta.get("command")
    except ReviewLogError as exc:
        raise CommandError(str(exc)) from exc
    if text is None:
        raise CommandError(
            f"{log_path}: this review log does not record the 'skflux relabel' options it was "
            "written with (it was written from Python, or by an older skflux); run "
            f"'skflux relabel DATA.nc --log {log_path} --oracle web' with the training "
            "options of the run that wrote it instead")
    try:
        record = json.loads(text)
        options = record["options"]
        missing = [k for k in _RECORDED if k not in options]
    except (ValueError, KeyError, TypeError):
        record, missing = None, None
    if record is None or record.get("command") != "relabel" or missing:
        what = f"lack {missing}" if missing else "cannot be read"
        raise CommandError(
            f"{log_path}: the 'skflux relabel' options recorded in this review log {what}; "
            f"run 'skflux relabel DATA.nc --log {log_path} --oracle web' with the training "
            "options of the run that wrote it instead")
    return options


def run(args):
    from . import relabel

    options = recorded_options(args.log)
    ns = argparse.Namespace(**{k: options[k] for k in _RECORDED})
    ns.param = [tuple(kv) for kv in ns.param]
    for key in ("out", "passes_json", "device", "n_jobs"):
        if getattr(args, key) is not None:
            setattr(ns, key, getattr(args, key))
    for key in ("data", "log", "overwrite", "host", "port", "no_browser", "reviewer_name",
                "model", "quiet", "debug"):
        setattr(ns, key, getattr(args, key))
    ns.oracle, ns.sheet = "web", None
    log.info("reviewing what %s has pending, with the options it recorded", args.log)
    return relabel.run(ns)
