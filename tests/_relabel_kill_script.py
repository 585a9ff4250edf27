"""Run a relabeling fit that SIGKILLs itself after a number of verdicts.

Usage: ``python _relabel_kill_script.py LOG KILL_AFTER SHOWN_FILE``. The oracle
answers with the ground truth, appends every shown video to SHOWN_FILE, and
kills its own process (SIGKILL, no cleanup) when asked for verdict number
KILL_AFTER + 1. Used by ``tests/test_relabel.py``; :func:`setup` is shared with
the test so that both sides build the very same data and relabeler.
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _helpers_relabel import feature_model, make_videos

from skflux.relabel import CallbackOracle, IterativeRelabeler


def setup(log_path, answer):
    """The dataset and an unfitted relabeler whose oracle calls ``answer(item)``."""
    da = make_videos(400, seed=3, crude_error=0.3)
    rel = IterativeRelabeler(feature_model(C=0.05), oracle=CallbackOracle(answer), stop_ratio=0.0,
                             review_log=log_path, random_state=11)
    return da, rel


def main(log_path, kill_after, shown_path):
    kill_after = int(kill_after)
    given = [0]
    shown = open(shown_path, "a")
    truth = {}

    def answer(item):
        if given[0] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        shown.write(f"{item.index}\n")
        shown.flush()
        given[0] += 1
        return truth[item.index]

    da, rel = setup(log_path, answer)
    truth.update(enumerate(int(v) for v in da.true_label.values))
    rel.fit(da)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
