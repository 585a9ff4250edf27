"""Size of the review log per video: what a relabeling run leaves on disk.

The review log keeps what resume needs and nothing more: per pass the
out-of-fold probabilities (8 bytes per video) and one row per verdict, no
models. This script runs :class:`skflux.IterativeRelabeler` with a
logistic-regression member on flattened simulated videos (the log's size does
not depend on the model: it stores none) and the simulator's ground truth as
reviewer, then reports the log's size in bytes per video.

Run: ``python benchmarks/bench_review_log.py`` (about a minute on 2 cores);
``--quick`` is a smoke run on 240 videos.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _common import write_result


def run(n_videos, seed=0):
    """Relabel ``n_videos`` simulated videos; the log's size, passes and verdicts."""
    from sklearn.linear_model import LogisticRegression

    from skflux import IterativeRelabeler
    from skflux.datasets import make_flux_emergence
    from skflux.relabel import TruthOracle

    videos = make_flux_emergence(n_videos, random_state=seed, n_frames=8, size=16)
    features = np.asarray(videos.values, dtype=np.float32).reshape(n_videos, -1)
    oracle = TruthOracle(true_labels=videos["true_label"].values,
                         emergence_frames=videos["emergence_frame"].values)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "review.db"
        rel = IterativeRelabeler(LogisticRegression(max_iter=200), oracle=oracle,
                                 review_log=str(log), random_state=seed)
        rel.fit(features, videos["label"].values, groups=videos["month"].values)
        size = log.stat().st_size
    n_verdicts = int(sum(len(p.reviewed) for p in rel.passes_))
    return size, rel.n_passes_, n_verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--videos", type=int, default=None)
    args = parser.parse_args()
    n = args.videos or (240 if args.quick else 1600)
    size, passes, verdicts = run(n)
    rows = [{
        "figure": f"review log size per video ({n} simulated videos, {passes} passes)",
        "value": size / n, "unit": "bytes/video",
        "compared_with": f"{size / 1024:.0f} kB in all, {verdicts} verdicts",
        "target": "", "passed": None,
    }]
    payload = write_result("review_log", rows, quick=args.quick,
                           extra={"videos": n, "bytes": size, "passes": passes,
                                  "verdicts": verdicts})
    for r in payload["rows"]:
        print(f"{r['figure']}: {r['value']:.4g} {r['unit']} ({r['compared_with']})")


if __name__ == "__main__":
    main()
