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
  the whole curve, and a member's emergence frame is the first ``t >= L``
  whose gradient is within ``TIE_TOLERANCE`` (1e-4) of ``max(grad[L:])``, so
  it is never before ``L`` and near-ties (float32 rounding differs between
  CPUs, BLAS kernels and the fast and literal paths by ~1e-5) resolve to the
  same, earliest frame everywhere; for a sharp step of the
  curve between frames ``k - 1`` and ``k``, the central differences at
  ``k - 1`` and ``k`` are equal and the frame returned is ``k - 1`` (one
  cadence before the first frame that shows the change);
* the ensemble's emergence frame is the median of the members' frames (a
  half-integer when an even number of members split evenly), and the emergence
  time is the video's ``time`` coordinate (frame 0) plus that many cadences;
* ``L`` defaults to the authors' 30 of 225 frames scaled to the video length
  (4 for 32 frames);
* no emergence is located (``located`` False, ``emergence_frame`` NaN,
  ``emergence_time`` NaT, and a :class:`NoEmergenceLocatedWarning` that
  counts them) when the median frame is ``L`` itself (the largest change is
  where the masking starts, or the curves are flat) or fewer than 2 frames
  from ``L`` on are observed: a frame is never reported as a date then.

Evaluation
----------
:func:`timing_errors_days` and :func:`timing_error_percentiles` compare with a
ground-truth emergence frame (the paper: 5/25/50/75/95th percentiles
−2.1, +0.1, +0.4, +1.1, +2.7 days on MDI test-set emergences the ensemble
classifies correctly).
"""

from ._evaluation import PERCENTILES, timing_error_percentiles, timing_errors_days
from ._locator import EmergenceTimeLocator, NoEmergenceLocatedWarning, emergence_frames_from_curves

__all__ = [
    "EmergenceTimeLocator", "NoEmergenceLocatedWarning", "emergence_frames_from_curves",
    "timing_errors_days",
    "timing_error_percentiles", "PERCENTILES",
]
