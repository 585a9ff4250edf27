"""Flux-conserving resampling of videos in time and space (area averaging).

Each output frame / pixel is the average of the input frames / pixels it
covers, weighted by the length of their overlap (a separable linear map per
axis). The mean field of a video is therefore conserved exactly (up to
floating-point rounding) for any sizes; for integer factors the map is a block
mean when shrinking and a repetition when growing, so growing by an integer
factor and shrinking back returns the input.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval

from ._schema import FRAME_DIM, LAT_DIM, LON_DIM, OBSERVED, VIDEO_DIM
from ._validation import _is_dataarray, _is_tensor, check_videos

__all__ = ["Resample", "area_weights"]


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


class Resample(TransformerMixin, BaseEstimator):
    """Bring videos to another number of frames and pixels by area averaging.

    Flux-conserving: every output frame (pixel) is the overlap-weighted mean
    of the input frames (pixels) it covers, so the mean field of each video
    is unchanged; exact for integer factors (block means when shrinking,
    repetition when growing). Use it to apply a model trained at a reduced
    size (e.g. 48 frames of 32 x 32) to full-size videos (225 x 90 x 90), or
    the reverse. NaN propagates to every output value it contributes to:
    fill gaps and mask off-limb pixels first
    (:func:`~skflux.preprocessing.make_preprocessor`).

    Works on numpy arrays ``(video, frame, lat, lon)`` and on DataArrays of
    the data model (lazy ones stay lazy, one video per chunk). On a
    DataArray, ``lat``/``lon`` become the centres of the new pixels, the
    ``cadence_minutes`` attribute is scaled by ``n_in / n_out`` (``time``,
    the start of frame 0, is unchanged), an output frame is ``observed``
    when any input frame it covers was observed, and other per-frame numeric
    coordinates (e.g. ``mu``) are averaged like the field.

    Parameters
    ----------
    n_frames : int, optional
        Output frames per video; None keeps the input's.
    size : int, optional
        Output pixels per side (``lat`` and ``lon``); None keeps the input's.

    Attributes
    ----------
    n_features_in_ : int
        Frames per video of the ``X`` given to :meth:`fit` (informational:
        the transformer is stateless).

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import Resample
    >>> X = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> Resample(size=2).fit_transform(X)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    _parameter_constraints = {
        "n_frames": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_frames=None, size=None):
        self.n_frames = n_frames
        self.size = size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.allow_nan = True
        return tags

    def _check(self, X):
        self._validate_params()
        if not _is_dataarray(X) and not _is_tensor(X):
            X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", allow_nd=True,
                            input_name="X")
            if X.ndim != 4:
                raise ValueError(f"X must be 4-D (video, frame, lat, lon); got {X.ndim}-D "
                                 f"input of shape {X.shape}")
        X = check_videos(X, allow_nan=True)
        if not _is_dataarray(X) and not isinstance(X, np.ndarray):
            X = np.asarray(X)
        return X

    def fit(self, X, y=None):
        """Check parameters and input; nothing is learned.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or xarray.DataArray
            Videos.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        X = self._check(X)
        self.n_features_in_ = int(X.shape[1])
        return self

    def transform(self, X):
        """Resample the videos.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or xarray.DataArray
            Videos (a dask-backed DataArray stays lazy).

        Returns
        -------
        Xt : same type as X
            Shape ``(n_videos, n_frames or n_frames_in, size or n_lat, size or
            n_lon)``, float32 for float32 input, else float64.
        """
        X = self._check(X)
        _, n_t, n_y, n_x = X.shape
        out_t = n_t if self.n_frames is None else int(self.n_frames)
        out_y = n_y if self.size is None else int(self.size)
        out_x = n_x if self.size is None else int(self.size)
        wt = None if out_t == n_t else area_weights(n_t, out_t)
        wy = None if out_y == n_y else area_weights(n_y, out_y)
        wx = None if out_x == n_x else area_weights(n_x, out_x)
        dtype = np.float32 if X.dtype == np.float32 else np.float64

        def kernel(values):
            return _apply(values, wt, wy, wx).astype(dtype)

        if not _is_dataarray(X):
            return kernel(X)
        if X.chunks is not None:
            import dask.array as da

            data = X.data.rechunk({1: -1, 2: -1, 3: -1})
            chunks = (data.chunks[0], (out_t,), (out_y,), (out_x,))
            values = da.map_blocks(kernel, data, dtype=dtype, chunks=chunks)
        else:
            values = kernel(X.values)
        return self._wrap(X, values, wt, out_t, out_y, out_x)

    def _wrap(self, X, values, wt, out_t, out_y, out_x):
        import xarray as xr

        coords = {}
        for name, c in X.coords.items():
            if name == FRAME_DIM:
                coords[name] = np.arange(out_t)
            elif name == LAT_DIM:
                coords[name] = _centres(c.values, out_y)
            elif name == LON_DIM:
                coords[name] = _centres(c.values, out_x)
            elif FRAME_DIM in c.dims and wt is not None:
                coords[name] = self._frame_coord(name, c, wt)
            elif LAT_DIM in c.dims or LON_DIM in c.dims:
                raise ValueError(f"coordinate {name!r} has dims {c.dims}: Resample cannot "
                                 "resample per-pixel coordinates; drop it first")
            else:
                coords[name] = c
        attrs = dict(X.attrs)
        if wt is not None and "cadence_minutes" in attrs:
            attrs["cadence_minutes"] = float(attrs["cadence_minutes"]) * X.shape[1] / out_t
        return xr.DataArray(values, dims=X.dims, coords=coords, attrs=attrs, name=X.name)

    @staticmethod
    def _frame_coord(name, c, wt):
        """A per-frame coordinate on the new frames: ``observed``-like any, numbers averaged."""
        if c.dims != (VIDEO_DIM, FRAME_DIM):
            raise ValueError(f"coordinate {name!r} has dims {c.dims}; per-frame coordinates "
                             "must have dims ('video', 'frame')")
        v = np.asarray(c.values)
        if v.dtype == bool or name == OBSERVED:
            return c.dims, (v.astype(float) @ (wt.T > 0)) > 0
        if np.issubdtype(v.dtype, np.number):
            return c.dims, v.astype(float) @ wt.T
        raise ValueError(f"coordinate {name!r} (dtype {v.dtype}) cannot be resampled in time; "
                         "drop it first")
