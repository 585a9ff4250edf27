"""The paper's defaults, in one place (Chatterjee, Muñoz-Jaramillo & Lamb 2021).

Every default of the method that is a number lives here, and every default that
depends on the length of a video is computed here from the video it meets, so
that the library, the command line, the review page and the report agree.
:mod:`skflux.pipeline` re-exports these names for users.

This module imports nothing from skflux but :mod:`skflux._schema`, so any module
may import it.
"""

import numbers

from ._schema import N_FRAMES

#: Frames before it are masked when locating emergence: 30 of 225 in the authors' code.
LOWER_BOUND_FRAMES = 30
#: ``LOWER_BOUND_FRAMES`` as a fraction of the full video length (30 / 225).
LOWER_BOUND_FRACTION = LOWER_BOUND_FRAMES / N_FRAMES
#: Decision threshold of an ensemble without a fitted one.
THRESHOLD_FALLBACK = 0.5
#: Members' percentile band whose straddling of the threshold makes a video "unstable".
STABILITY_BAND = (0.25, 0.75)
#: Months of the training and validation blocks of the relabeling passes.
RELABEL_BLOCKS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))
#: Blocks of the uncertainty ensemble (models 6-9 of the paper).
ENSEMBLE_BLOCKS = ((1, 2), (3, 4), (5, 6), (7, 8))
#: Months held out to choose the ensemble's threshold.
BENCHMARK_MONTHS = (9, 10)
#: Months of the test set: never in a split.
TEST_MONTHS = (11, 12)
#: Relabeling stops when R = |E| / (|fp| + |fn| - |E|) is at most this.
RELABEL_R_STOP = 0.5
#: Fewest observed frames (after the lower bound) for a located emergence to mean anything.
MIN_OBSERVED_FRAMES = 2
#: Gradient differences up to this are ties when picking the frame of largest change
#: (float32 rounding differs between CPUs and BLAS kernels by ~1e-5; a probability
#: change of 1e-4 per frame carries no information).
TIE_TOLERANCE = 1e-4


def lower_bound_for(n_frames):
    """The authors' lower bound (30 of 225 frames) scaled to a video of ``n_frames``.

    Parameters
    ----------
    n_frames : int
        Frames per video (at least 2).

    Returns
    -------
    lower_bound : int
        ``round(30 * n_frames / 225)``, kept inside ``[0, n_frames - 2]`` so that
        at least two cut-offs remain.

    Raises
    ------
    ValueError
        If ``n_frames`` is not an integer of at least 2.

    Examples
    --------
    >>> lower_bound_for(225), lower_bound_for(32), lower_bound_for(16), lower_bound_for(2)
    (30, 4, 2, 0)
    """
    if (not isinstance(n_frames, numbers.Integral) or isinstance(n_frames, bool)
            or n_frames < 2):
        raise ValueError(f"videos need at least 2 frames to locate emergence; got {n_frames!r}")
    return int(max(0, min(n_frames - 2, round(LOWER_BOUND_FRACTION * n_frames))))


__all__ = [
    "BENCHMARK_MONTHS", "ENSEMBLE_BLOCKS", "LOWER_BOUND_FRACTION", "LOWER_BOUND_FRAMES",
    "MIN_OBSERVED_FRAMES", "RELABEL_BLOCKS", "RELABEL_R_STOP", "STABILITY_BAND",
    "TEST_MONTHS", "THRESHOLD_FALLBACK", "TIE_TOLERANCE", "lower_bound_for",
]
