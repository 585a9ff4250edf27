"""The browser review app: :class:`WebOracle` serves a pass's videos on a local page.

:class:`EnsembleEvidence` adds what a fitted ensemble saw (the members' spread and
the frame-masking curves) beside each video. :class:`LabelStudioOracle` and
:func:`review_log_tasks` are the round trip through Label Studio.

Plain HTML, CSS and JavaScript (``static/``, served by fixed names) over a
Starlette app run by uvicorn in a background thread.
"""

from ._evidence import EnsembleEvidence
from ._labelstudio import LabelStudioOracle, read_label_studio_export, review_log_tasks
from ._oracle import WebOracle

__all__ = ["EnsembleEvidence", "LabelStudioOracle", "WebOracle", "read_label_studio_export",
           "review_log_tasks"]
