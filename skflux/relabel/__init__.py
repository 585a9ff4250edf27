"""Iterative relabeling with a reviewer in the loop (the paper's "Relabelling Algorithm").

=====================================  ==================================================
Name                                   What it is
=====================================  ==================================================
:class:`IterativeRelabeler`            the passes as a scikit-learn meta-estimator
:func:`audit`                          sample unverified videos, bound the wrong labels left
:class:`AuditResult`                   an audit's sample, verdicts and exact interval
:class:`RelabelPass`                   one pass's record (the numbers of Figure 3)
:class:`ReviewLog`                     durable SQLite store of verdicts; resume after a crash
:class:`TruthOracle`                   ground truth of simulated data as reviewer
:class:`CallbackOracle`                any function as reviewer
:class:`ConsoleOracle`                 a person at the terminal (figure file + y/n)
:class:`SheetOracle`                   review-file round trip (CSV sheet, stop, resume)
:class:`WebOracle`                     a person in the browser (keyboard verdicts, undo)
:class:`EnsembleEvidence`              the ensemble's spread and masking curves, for the page
:class:`LabelStudioOracle`             review-file round trip through Label Studio
:class:`Oracle`, :class:`Verdict`      the oracle protocol
:class:`Retraction`                    an oracle's undo of its verdict in the same pass
:class:`ReviewRequest`                 what an oracle is asked
:class:`ReviewItem`                    one video of a request
:class:`ReviewPending`                 raised to pause a review; ``fit`` resumes later
:class:`ReviewLogError`                a corrupt, foreign or mismatched log
=====================================  ==================================================
"""

from ._audit import AuditResult, audit, stratified_bounds
from ._oracles import (
    CallbackOracle,
    ConsoleOracle,
    Oracle,
    Retraction,
    ReviewItem,
    ReviewPending,
    ReviewRequest,
    SheetOracle,
    TruthOracle,
    Verdict,
)
from ._passes import RelabelPass, pass_statistics
from ._relabeler import IterativeRelabeler
from ._review_log import ReviewLog, ReviewLogError
from ._web import EnsembleEvidence, LabelStudioOracle, WebOracle

__all__ = [
    "AuditResult", "CallbackOracle", "ConsoleOracle", "EnsembleEvidence", "IterativeRelabeler",
    "LabelStudioOracle", "Oracle", "RelabelPass", "Retraction", "ReviewItem", "ReviewLog",
    "ReviewLogError", "ReviewPending", "ReviewRequest", "SheetOracle", "TruthOracle",
    "Verdict", "WebOracle", "audit", "pass_statistics", "stratified_bounds",
]
