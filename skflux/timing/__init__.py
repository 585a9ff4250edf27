"""When did the region emerge: frame masking over a fitted ensemble.

The paper's procedure (Results, "As a sanity check…"): cut the video after
frame ``t`` by repeating frame ``t`` to the end, let every member of the
ensemble classify the cut video, and follow each member's probability of
"emergence" as ``t`` goes from the start to the end of the video. The frame of
maximum probability gradient is the member's emergence frame; the median over
members is the ensemble's.

Conventions (exact, shared by every ``method``)
-----------------------------------------------
With ``T`` frames and ``L = lower_bound`` (``0 <= L < T``), the video cut at
``t`` shows, as frame ``f``, the original frame ``clip(f, L, max(t, L))``:

* frames after ``t`` are frame ``t``; frames before ``L`` are frame ``L`` (the
  authors' code does this, so the first, often partly off-disk, frames do not
  decide the curve);
* hence all cut-offs ``t <= L`` give one and the same video, and the curve is
  flat there;
* the probability curve ``p[t]``, ``t = 0 … T-1``, is differentiated with
  :func:`numpy.gradient` (central differences, one-sided at the ends) over
  the whole curve, and a member's emergence frame is ``L + argmax(grad[L:])``
  (first maximum), so it is never before ``L``; for a sharp step of the
  curve between frames ``k - 1`` and ``k``, the central differences at
  ``k - 1`` and ``k`` are equal and the frame returned is ``k - 1`` (one
  cadence before the first frame that shows the change);
* the ensemble's emergence frame is the median of the members' frames (a
  half-integer when an even number of members split evenly), and the emergence
  time is the video's ``time`` coordinate (frame 0) plus that many cadences.

Evaluation
----------
:func:`timing_errors_days` and :func:`timing_error_percentiles` compare with a
ground-truth emergence frame (the paper: 5/25/50/75/95th percentiles
−2.1, +0.1, +0.4, +1.1, +2.7 days on MDI test-set emergences the ensemble
classifies correctly).
"""

from ._evaluation import PERCENTILES, timing_error_percentiles, timing_errors_days
from ._locator import EmergenceTimeLocator, emergence_frames_from_curves

__all__ = [
    "EmergenceTimeLocator", "emergence_frames_from_curves", "timing_errors_days",
    "timing_error_percentiles", "PERCENTILES",
]
