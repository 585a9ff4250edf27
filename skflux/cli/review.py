"""``skflux review DATA.nc --log REVIEW.db``: the browser review of what a saved log has pending.

It reruns ``skflux relabel`` with ``--oracle web`` and every option that the
first ``skflux relabel`` run recorded in the review log (key ``command`` of
its ``meta`` table): the same network and training settings, passes and
outputs, and the same ``--model`` (the evidence beside each video),
``--reviewer-name``, ``--host``, ``--port`` and ``--no-browser``. An option
given to ``skflux review`` replaces the recorded one. Passes already finished
are read from the log, not recomputed; the page opens on the first pending
video.
"""

import argparse
import logging

from .. import pipeline
from . import relabel
from ._errors import CommandError
from ._options import check_recorded, device, n_jobs, network_warning
from ._paths import require_file

log = logging.getLogger("skflux")

# defaults of the options a log may lack (recorded only since issue 27)
_DEFAULTS = {"model": None, "reviewer_name": None, "host": "127.0.0.1", "port": 0,
             "no_browser": False, "truth_coord": "true_label"}
# options of this command that replace the recorded ones when given
_OVERRIDES = ("out", "passes_json", "device", "n_jobs", "model", "reviewer_name", "host",
              "port", "no_browser")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "review", parents=parents,
        help="review in the browser what a saved review log has pending",
        description="Open the browser review page on whatever the review log has pending: "
                    "rerun 'skflux relabel --oracle web' with the options the log recorded "
                    "when 'skflux relabel' created it (same network and training settings, "
                    "passes and outputs, model shown as evidence, reviewer name). An option "
                    "given here replaces the recorded one. The first line printed that starts "
                    "with http:// is the page's address, token included. Exit status 3 when "
                    "the review stops with videos still pending (rerun to resume).")
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
    relabel.add_web_options(p, recorded=True)
    return p


def recorded_options(log_path):
    """The ``skflux relabel`` options recorded in the review log at ``log_path``."""
    path = require_file(log_path, "review log")
    try:
        return pipeline.recorded_run(path, required=relabel.RECORDED)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def rerun_options(args, options):
    """The namespace of the ``skflux relabel --oracle web`` run that ``args`` resumes."""
    ns = argparse.Namespace(**{k: options[k] for k in relabel.RECORDED})
    for key, default in _DEFAULTS.items():
        setattr(ns, key, options.get(key, default))
    typed = {key for key in _OVERRIDES if getattr(args, key) is not None}
    check_recorded(ns, args.log, (set(relabel.RECORDED) | (set(_DEFAULTS) & set(options)))
                   - typed, overridable=_OVERRIDES)  # a bad value: blame the log, not a flag
    ns.param = [tuple(kv) for kv in ns.param]
    for key in _OVERRIDES:
        if getattr(args, key) is not None:
            setattr(ns, key, getattr(args, key))
    for key in ("data", "log", "overwrite", "quiet", "debug"):
        setattr(ns, key, getattr(args, key))
    ns.oracle, ns.sheet = "web", None
    return ns


def run(args):
    ns = rerun_options(args, recorded_options(args.log))
    exposed = network_warning(ns.host, "" if args.host is not None else
                              f" (as recorded in the review log {args.log})")
    if exposed:
        log.warning("%s", exposed)
    log.info("reviewing what %s has pending, with the options it recorded%s", args.log,
             f" (evidence from {ns.model})" if ns.model else "")
    return relabel.run(ns)
