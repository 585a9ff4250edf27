"""``skflux fit DATA.nc MODEL_DIR``: train a month-block ensemble, save it (pipeline.fit)."""

import logging
from pathlib import Path

from .. import pipeline
from .._paper import BENCHMARK_MONTHS, ENSEMBLE_BLOCKS, RELABEL_BLOCKS, THRESHOLD_FALLBACK
from ._options import add_training_options, classifier_from_args, positive_int
from ._paths import (
    check_distinct,
    check_writable,
    labels_of,
    open_videos,
    output_path,
    require_file,
    writing,
)

log = logging.getLogger("skflux")


def _months(months):
    return f"{months[0]}-{months[-1]}"


def add_parser(subparsers, parents):
    all_months = [m for block in RELABEL_BLOCKS for m in block]
    ens_months = [m for block in ENSEMBLE_BLOCKS for m in block]
    p = subparsers.add_parser(
        "fit", parents=parents, help="train a month-block ensemble and save it",
        description="Train a MonthBlockEnsemble of FluxEmergenceClassifier members (one per "
                    "month block x seed), choose the decision threshold on the benchmark "
                    "months (threshold='benchmark'), and save it to MODEL_DIR with "
                    "MonthBlockEnsemble.save (JSON config and tensors, no pickle).")
    p.add_argument("data", metavar="DATA.nc", help="videos with a label coordinate")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="directory to write the ensemble to")
    p.add_argument("--members", type=int, choices=range(2, len(RELABEL_BLOCKS) + 1),
                   default=len(ENSEMBLE_BLOCKS), metavar="BLOCKS",
                   help=f"number of two-month validation blocks, one member each per seed: "
                        f"{len(ENSEMBLE_BLOCKS)} (months {_months(ens_months)}, months "
                        f"{_months(BENCHMARK_MONTHS)} kept to fit the threshold: the paper's "
                        f"models 6-9; the default) or {len(RELABEL_BLOCKS)} (months "
                        f"{_months(all_months)}, threshold {THRESHOLD_FALLBACK})")
    p.add_argument("--seeds", type=positive_int, default=2,
                   help="random realizations per block (default %(default)s)")
    p.add_argument("--label-coord", default="label",
                   help="coordinate holding the training labels (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR if it exists")
    add_training_options(p)
    return p


def run(args):
    check_distinct([("MODEL_DIR", args.model_dir)], [("DATA.nc", args.data)])
    out = output_path(args.model_dir, "MODEL_DIR", args.overwrite, what="directory")
    check_writable(out, "MODEL_DIR")  # before training, not after
    require_file(args.data, "NetCDF file")
    clf = classifier_from_args(args)
    videos = open_videos(args.data)
    y = labels_of(videos, args.label_coord, args.data)
    ens = pipeline.fit(videos, y, clf, n_blocks=args.members, n_seeds=args.seeds,
                       n_jobs=args.n_jobs, random_state=args.seed,
                       verbose=0 if args.quiet else 1)
    with writing(out, "MODEL_DIR"):
        ens.save(out, overwrite=args.overwrite, metadata={"training": {
            "data": str(Path(args.data).resolve()), "label_coord": args.label_coord,
            "n_videos": len(videos)}})
    log.info("saved %d members to %s", len(ens.estimators_), out)
