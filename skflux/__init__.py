"""skflux: human-efficient labeling of solar flux-emergence magnetogram videos.

Public names are imported lazily, so ``import skflux`` stays fast and does not
import torch until a neural-network estimator is used.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "FluxEmergenceClassifier": "skflux.nn",
    "MonthBlockSplit": "skflux.model_selection",
    "month_block_sets": "skflux.model_selection",
    "MonthBlockEnsemble": "skflux.ensemble",
    "IterativeRelabeler": "skflux.relabel",
    "audit": "skflux.relabel",
    "EmergenceTimeLocator": "skflux.timing",
}
_SUBMODULES = (
    "io", "preprocessing", "datasets", "model_selection", "nn", "ensemble",
    "relabel", "timing", "metrics", "plotting", "report", "pipeline", "cli",
)

__all__ = sorted(_LAZY) + list(_SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"skflux.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'skflux' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
