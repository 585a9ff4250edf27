"""HTML report of a run directory: the paper's Figures 1-6 and the metrics.

A *run directory* collects what the pipeline produces under fixed names
(:data:`RUN_LAYOUT`; ``skflux demo`` writes every entry, see :ref:`cli`).
:func:`build_report` draws every figure the directory holds the material for and
writes ``index.html`` next to the figure files; the metrics come from
:mod:`skflux.metrics`.

Examples
--------
>>> from skflux.report import RUN_LAYOUT
>>> list(RUN_LAYOUT)[:3]
['data.nc', 'prepared.nc', 'relabeled.nc']
"""

from .._layout import RUN_LAYOUT
from ._build import build_report
from ._html import Figure, write_html_report

__all__ = ["RUN_LAYOUT", "Figure", "build_report", "write_html_report"]
