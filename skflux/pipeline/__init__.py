"""The paper's run as a library: its defaults, its run directory and its steps.

One place for what a whole run needs, so that the library, the command line
(``skflux``, argparse over these functions), the review page and the report
agree:

Defaults (from the paper and the authors' code)
    :data:`LOWER_BOUND_FRAMES` (30 of 225 frames) and :func:`lower_bound_for`,
    which scales it to any video length (4 at 32 frames);
    :data:`THRESHOLD_FALLBACK` (0.5, an ensemble without a fitted threshold);
    :data:`STABILITY_BAND` (25th-75th percentile); :data:`RELABEL_BLOCKS`,
    :data:`ENSEMBLE_BLOCKS`, :data:`BENCHMARK_MONTHS` (9-10),
    :data:`TEST_MONTHS` (11-12); :data:`RELABEL_R_STOP` (0.5);
    :data:`MIN_OBSERVED_FRAMES`; :data:`TIE_TOLERANCE`.
Run directory
    :data:`RUN_LAYOUT` names every file of a run (``data.nc``,
    ``prepared.nc``, ``relabeled.nc``, ``review.db``, ``relabeled.json``,
    ``model/``, ``probabilities.nc``, ``times.nc``, ``metrics.json``,
    ``report/``); :class:`Manifest` keeps the demo's folder its own.
Steps
    :func:`simulate` or :func:`extract` -> :func:`prepare` (gap filling,
    off-disk masking, padding, resampling) -> :func:`relabel` -> :func:`fit`
    -> :func:`evaluate` (the test months) -> :func:`locate` -> :func:`report`;
    each result is written atomically by a ``write_*`` function;
    :func:`run_demo` chains them on simulated data.
Reviewing
    :func:`make_oracle` (the reviewer by name: ``"truth"`` reads any label
    column), :func:`record_run` / :func:`recorded_run` (the options of a run
    kept in its review log, so that a resumed review uses the same model and
    reviewer name).

Names are loaded lazily: ``import skflux.pipeline`` imports no torch.

Examples
--------
>>> from skflux.pipeline import RUN_LAYOUT, lower_bound_for
>>> lower_bound_for(225), lower_bound_for(32)
(30, 4)
>>> "times.nc" in RUN_LAYOUT
True
"""

import importlib

from .._layout import (
    DATA,
    METRICS,
    MODEL,
    PASSES,
    PREPARED,
    PROBA,
    RELABELED,
    REPORT,
    REVIEW_LOG,
    RUN_LAYOUT,
    TIMES,
)
from .._paper import (
    BENCHMARK_MONTHS,
    ENSEMBLE_BLOCKS,
    LOWER_BOUND_FRACTION,
    LOWER_BOUND_FRAMES,
    MIN_OBSERVED_FRAMES,
    RELABEL_BLOCKS,
    RELABEL_R_STOP,
    STABILITY_BAND,
    TEST_MONTHS,
    THRESHOLD_FALLBACK,
    TIE_TOLERANCE,
    lower_bound_for,
)
from ._manifest import Manifest

# public name -> module that defines it (imported on first use)
_LAZY = {
    "atomic_path": "skflux.pipeline._steps",
    "evaluate": "skflux.pipeline._steps",
    "extract": "skflux.pipeline._steps",
    "fit": "skflux.pipeline._steps",
    "label_summary": "skflux.pipeline._steps",
    "load_ensemble": "skflux.pipeline._steps",
    "locate": "skflux.pipeline._steps",
    "located_lines": "skflux.pipeline._steps",
    "make_ensemble": "skflux.pipeline._steps",
    "model_video_shape": "skflux.pipeline._steps",
    "prepare": "skflux.pipeline._steps",
    "prepare_file": "skflux.pipeline._steps",
    "relabel": "skflux.pipeline._steps",
    "relabel_summary": "skflux.pipeline._steps",
    "report": "skflux.pipeline._steps",
    "resample_to_model": "skflux.pipeline._steps",
    "simulate": "skflux.pipeline._steps",
    "write_passes": "skflux.pipeline._steps",
    "write_probabilities": "skflux.pipeline._steps",
    "write_relabeled": "skflux.pipeline._steps",
    "write_times": "skflux.pipeline._steps",
    "ORACLES": "skflux.pipeline._review",
    "ReviewPending": "skflux.pipeline._review",
    "make_oracle": "skflux.pipeline._review",
    "record_run": "skflux.pipeline._review",
    "recorded_run": "skflux.pipeline._review",
    "DEMO_CONFIGS": "skflux.pipeline._demo",
    "demo_classifier": "skflux.pipeline._demo",
    "demo_config": "skflux.pipeline._demo",
    "finite": "skflux.pipeline._demo",
    "run_demo": "skflux.pipeline._demo",
}

__all__ = [
    "BENCHMARK_MONTHS", "DATA", "ENSEMBLE_BLOCKS", "LOWER_BOUND_FRACTION",
    "LOWER_BOUND_FRAMES", "METRICS", "MIN_OBSERVED_FRAMES", "MODEL", "Manifest", "PASSES",
    "PREPARED", "PROBA", "RELABELED", "RELABEL_BLOCKS", "RELABEL_R_STOP", "REPORT",
    "REVIEW_LOG", "RUN_LAYOUT", "STABILITY_BAND", "TEST_MONTHS", "THRESHOLD_FALLBACK",
    "TIE_TOLERANCE", "TIMES", "lower_bound_for",
    *sorted(n for n in _LAZY if n != "ReviewPending"),  # documented in skflux.relabel
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skflux.pipeline' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
