"""``skflux fit DATA.nc MODEL_DIR``: train a month-block ensemble and save it."""

import logging
import time
from pathlib import Path

from ._options import add_training_options, classifier_from_args, positive_int
from ._paths import check_distinct, labels_of, open_videos, output_path, require_file

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "fit", parents=parents, help="train a month-block ensemble and save it",
        description="Train a MonthBlockEnsemble of FluxEmergenceClassifier members (one per "
                    "month block x seed), choose the decision threshold on the benchmark "
                    "months (threshold='benchmark'), and save it to MODEL_DIR with "
                    "MonthBlockEnsemble.save (JSON config and tensors, no pickle).")
    p.add_argument("data", metavar="DATA.nc", help="videos with a label coordinate")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="directory to write the ensemble to")
    p.add_argument("--members", type=int, choices=range(2, 6), default=4, metavar="BLOCKS",
                   help="number of two-month validation blocks, one member each per seed: 4 "
                        "(months 1-8, months 9-10 kept to fit the threshold: the paper's "
                        "models 6-9; the default) or 5 (months 1-10, threshold 0.5)")
    p.add_argument("--seeds", type=positive_int, default=2,
                   help="random realizations per block (default %(default)s)")
    p.add_argument("--label-coord", default="label",
                   help="coordinate holding the training labels (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR if it exists")
    add_training_options(p)
    return p


def make_ensemble(clf, *, n_blocks, n_seeds, n_jobs=1, seed=0, quiet=False):
    """An unfitted ensemble on two-month blocks whose threshold is fit on the months left.

    Blocks 1-2, 3-4, ... (``n_blocks`` of them); the months before 11 in no block
    are the benchmark months of ``threshold="benchmark"`` (none with 5 blocks:
    threshold 0.5).
    """
    from ..ensemble import MonthBlockEnsemble
    from ..model_selection import MonthBlockSplit

    blocks = [(2 * k + 1, 2 * k + 2) for k in range(n_blocks)]
    threshold = "benchmark" if n_blocks < 5 else 0.5
    return MonthBlockEnsemble(clf, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                              threshold=threshold, n_jobs=n_jobs, random_state=seed,
                              verbose=0 if quiet else 1)


def train_ensemble(X, y, clf, *, n_blocks, n_seeds, n_jobs=1, seed=0, quiet=False):
    """Fit :func:`make_ensemble` on ``X, y``, logging what it does; returns the ensemble."""
    ens = make_ensemble(clf, n_blocks=n_blocks, n_seeds=n_seeds, n_jobs=n_jobs, seed=seed,
                        quiet=quiet)
    log.info("training %d members (%d month blocks x %d seeds) on %d videos",
             n_blocks * n_seeds, n_blocks, n_seeds, len(X))
    start = time.perf_counter()
    ens.fit(X, y)
    log.info("trained in %.0f s", time.perf_counter() - start)
    source = (getattr(ens, "threshold_info_", None) or {}).get("source", "fixed")
    log.info("decision threshold %.3f (%s)", ens.threshold_, source)
    return ens


def run(args):
    check_distinct([("MODEL_DIR", args.model_dir)], [("DATA.nc", args.data)])
    out = output_path(args.model_dir, "MODEL_DIR", args.overwrite, what="directory")
    require_file(args.data, "NetCDF file")
    clf = classifier_from_args(args)
    videos = open_videos(args.data)
    y = labels_of(videos, args.label_coord, args.data)
    ens = train_ensemble(videos, y, clf, n_blocks=args.members, n_seeds=args.seeds,
                         n_jobs=args.n_jobs, seed=args.seed, quiet=args.quiet)
    ens.save(out, overwrite=args.overwrite, metadata={"training": {
        "data": str(Path(args.data).resolve()), "label_coord": args.label_coord,
        "n_videos": len(videos)}})
    log.info("saved %d members to %s", len(ens.estimators_), out)
