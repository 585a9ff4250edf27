"""Figures of the paper as library functions (matplotlib).

=====================================  ==================================================
Function                               Figure
=====================================  ==================================================
:func:`plot_video_frames`              Fig. 1 top: every 5th frame, emergence marked
:func:`write_video_animation`          one video as GIF/MP4
:func:`plot_month_blocks`              Fig. 2: month-block data management
:func:`plot_relabel_passes`            Fig. 3: relabeling passes and bottom panels
:func:`plot_ensemble_histogram`        Fig. 4: ensemble probabilities, threshold, stability
:func:`plot_emergence_curves`          Fig. 5: probability/gradient curves under masking
:func:`plot_emergence_frames`          Fig. 6 top: frames coloured by member votes
:func:`plot_timing_errors`             Fig. 6 bottom: predicted − true emergence time
=====================================  ==================================================

Names are imported lazily so that ``import skflux.plotting`` is cheap.
"""

import importlib

_LAZY = {
    "plot_video_frames": "skflux.plotting._videos",
    "write_video_animation": "skflux.plotting._videos",
    "plot_month_blocks": "skflux.plotting._ensemble",
    "plot_ensemble_histogram": "skflux.plotting._ensemble",
    "plot_relabel_passes": "skflux.plotting._relabel",
    "plot_emergence_curves": "skflux.plotting._timing",
    "plot_emergence_frames": "skflux.plotting._timing",
    "plot_timing_errors": "skflux.plotting._timing",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skflux.plotting' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
