"""Flux-conserving resampling of videos in time and space (area averaging).

Each output frame / pixel is the average of the input frames / pixels it
covers, weighted by the length of their overlap (a separable linear map per
axis). The mean field of a video is therefore conserved exactly (up to
floating-point rounding) for any sizes; for integer factors the map is a block
mean when shrinking and a repetition when growing, so growing by an integer
factor and shrinking back returns the input.

Private kernels of :class:`skflux.preprocessing.Resample`.
"""

import math

import numpy as np

__all__ = ["area_weights"]


def area_weights(n_in, n_out):
    """The ``(n_out, n_in)`` matrix of 1-D area averaging from ``n_in`` to ``n_out`` bins.

    Both grids span the same interval; ``W[i, j]`` is the fraction of output
    bin ``i`` covered by input bin ``j`` (rows sum to 1).

    Examples
    --------
    >>> from skflux._resample import area_weights
    >>> area_weights(4, 2)
    array([[0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0.5, 0.5]])
    """
    common = math.lcm(n_in, n_out)  # integer edges: weights of integer factors are exact
    edges_in = np.arange(n_in + 1, dtype=np.int64) * (common // n_in)
    edges_out = np.arange(n_out + 1, dtype=np.int64) * (common // n_out)
    lo = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    hi = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    return np.clip(hi - lo, 0, None) / (common // n_out)


def _apply(values, wt, wy, wx):
    """Resample a ``(video, frame, lat, lon)`` block with the three weight matrices.

    NaN reaches exactly the outputs it has a non-zero weight in (a plain
    matrix product would spread it through the zero weights too).
    """
    out = np.asarray(values, dtype=np.float64)
    bad = np.isnan(out)
    has_nan = bool(bad.any())
    if has_nan:
        out = np.where(bad, 0.0, out)
        bad = bad.astype(np.float64)
    for w, spec in ((wt, "tf,vfyx->vtyx"), (wy, "iy,vtyx->vtix"), (wx, "jx,vtyx->vtyj")):
        if w is not None:
            out = np.einsum(spec, w, out, optimize=True)
            if has_nan:
                bad = np.einsum(spec, (w > 0).astype(np.float64), bad, optimize=True)
    if has_nan:
        out[bad > 0] = np.nan
    return out


def _centres(values, n_out):
    """Bin centres of ``n_out`` bins spanning the cells of the given centres."""
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return np.repeat(values, n_out)
    step = (values[-1] - values[0]) / (values.size - 1)
    lo, hi = values[0] - step / 2, values[-1] + step / 2
    return lo + (np.arange(n_out) + 0.5) * (hi - lo) / n_out
