"""Bring raw patch videos to the model's input: fill gaps, zero off-limb, pad to 225 frames.

The paper's three preparation steps, each a stateless scikit-learn transformer
that works on numpy arrays ``(video, frame, lat, lon)`` and on DataArrays of the
data model (coordinates kept, the ``observed`` mask updated; dask-backed
DataArrays stay lazy, one video per chunk):

1. :class:`FillGaps` -- linear interpolation per pixel over time of the frames
   missing inside the observed span;
2. :class:`MaskOffLimb` -- off-disk pixels set to a 0 G background;
3. :class:`PadFrames` -- every video brought to 225 frames.

:func:`make_preprocessor` chains them in a :class:`~sklearn.pipeline.Pipeline`
(order: fill, pad, mask), the same one the ingestion command uses.
:class:`Resample` brings videos to another number of frames and pixels by area
averaging (e.g. full-size real patches to the size a model was trained at).

Which frames are observed: on a DataArray, its ``observed`` coordinate; on a
numpy array, the frames that are not entirely NaN (unobserved frames must be
NaN, as :func:`skflux.io.read_fits_video` leaves them). A 2-D numpy array
``(video, frame)`` is a batch of single-pixel videos (e.g. flux curves), and
comes back 2-D. Parameters are checked by scikit-learn's parameter validation
(``InvalidParameterError``, a ``ValueError``) in ``fit`` and ``transform``.
"""

import numbers

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions

from . import _resample
from ._schema import FRAME_DIM, LAT_DIM, LON_DIM, N_FRAMES, OBSERVED, VIDEO_DIM
from ._validation import _is_dataarray, _is_tensor, check_videos, video_name

__all__ = ["FillGaps", "MaskOffLimb", "PadFrames", "Resample", "make_preprocessor",
           "off_limb_mask"]


# ----------------------------------------------------------------------------- kernels
# Each kernel works on a numpy block of whole videos; ``start`` is the index of the
# block's first video and ``names`` maps a video index to its name for messages.


def _observed_from_nan(values):
    """Frames that are not entirely NaN, shape (video, frame).

    Exact, and cheap: a frame whose centre pixel is finite is not all-NaN; only
    the other frames are scanned in full.
    """
    n, f = values.shape[:2]
    flat = values.reshape(n, f, -1)
    observed = ~np.isnan(flat[:, :, flat.shape[2] // 2])
    vi, fi = np.nonzero(~observed)
    if vi.size:
        observed[vi, fi] = ~np.isnan(flat[vi, fi]).all(axis=1)
    return observed


def _fill_gaps_block(values, observed, start=0, names=None, copy=True, check=True):
    out = values.copy() if copy else values
    names = names or (lambda i: f"video {i}")
    if check:  # observed frames must hold data
        empty = observed & ~_observed_from_nan(values)
        if empty.any():
            i = int(np.flatnonzero(empty.any(axis=1))[0])
            raise ValueError(
                f"{names(start + i)}: observed frames {np.flatnonzero(empty[i])[:10].tolist()} "
                "are entirely NaN; mark them unobserved (observed=False) to have them "
                "interpolated"
            )
    for i in range(values.shape[0]):  # a loop over videos; pixels are vectorized
        obs = np.flatnonzero(observed[i])
        if obs.size == 0:
            raise ValueError(f"{names(start + i)} has no observed frame")
        v = values[i]
        span = np.arange(obs[0], obs[-1] + 1)
        missing = span[~observed[i, obs[0]: obs[-1] + 1]]
        if missing.size == 0:
            continue
        hi_pos = np.searchsorted(obs, missing)
        lo, hi = obs[hi_pos - 1], obs[hi_pos]
        a = v[lo].astype(np.float64)  # copies: safe when filling in place
        filled = v[hi].astype(np.float64)
        # The same arithmetic as scipy.interpolate.interp1d(kind="linear"), in place:
        # slope = (b - a) / (hi - lo); filled = slope * (t - lo) + a.
        filled -= a
        filled /= (hi - lo).astype(np.float64)[:, None, None]
        filled *= (missing - lo).astype(np.float64)[:, None, None]
        filled += a
        if values.dtype.itemsize >= 8:
            # Rounding must never leave the bracket [min(a, b), max(a, b)]. (Not needed
            # for float32 results: a value within float64 rounding of the bracket rounds
            # into it, since a and b are float32 numbers.)
            b = v[hi]
            np.clip(filled, np.fmin(a, b), np.fmax(a, b), out=filled)
        out[i, missing] = filled
    return out


_CORNERS = ((0, 0), (0, -1), (-1, 0), (-1, -1))


def _check_sentinel(sentinel):
    """``sentinel`` as stored: None, "auto" or a float (refusing anything else)."""
    if sentinel is None or (isinstance(sentinel, str) and sentinel == "auto"):
        return sentinel
    if (isinstance(sentinel, (numbers.Real, np.floating, np.integer))
            and not isinstance(sentinel, bool) and np.isfinite(sentinel)):
        return float(sentinel)
    raise ValueError(f"sentinel must be a finite number, 'auto' or None; got {sentinel!r}")


def _corner_mask(values, sentinel=0.0, min_fraction=0.005):
    """Off-disk pixels of ``(..., lat, lon)`` frames (see :func:`off_limb_mask`)."""
    shape = values.shape
    frames = values.reshape((-1,) + shape[-2:])
    nan = np.isnan(frames)
    if sentinel is None:
        return nan.reshape(shape)
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # 4-connected, within a frame
    mask = nan.copy()
    if sentinel != "auto":
        labels, n = ndimage.label((frames == sentinel) | nan, structure=structure)
        lut = np.zeros(n + 1, dtype=bool)
        lut[labels[:, [c[0] for c in _CORNERS], [c[1] for c in _CORNERS]].ravel()] = True
        lut[0] = False
        return (lut[labels] | nan).reshape(shape)
    min_size = max(2, int(np.ceil(min_fraction * shape[-1] * shape[-2])))
    for cy, cx in _CORNERS:
        fill = frames[:, cy, cx]  # each frame's own candidate value (NaN: no candidate)
        same = frames == fill[:, None, None]
        labels, _ = ndimage.label(same | nan, structure=structure)
        corner = labels[:, cy, cx]
        # size of each frame's corner region, counting the pixels equal to the value
        counts = np.bincount(labels.ravel(), weights=same.ravel(), minlength=labels.max() + 1)
        keep = corner[(corner > 0) & ~np.isnan(fill) & (counts[corner] >= min_size)]
        if keep.size:
            mask |= np.isin(labels, keep)
    return mask.reshape(shape)


def off_limb_mask(X, *, sentinel=0.0, min_fraction=0.005):
    """Pixels taken as off the solar disk: NaN, or a constant fill touching a corner.

    Files fill the pixels beyond the limb in different ways: NaN (HMI data,
    :func:`skflux.io.patch_video`), 0 G (the authors' patch files), or a
    constant sentinel such as the authors' clip floor (their scaled value 0,
    i.e. -1000 G). A pixel is off-limb when it is NaN, or when it equals the
    sentinel and belongs to a connected region (4-neighbour, within one
    frame) of sentinel or NaN pixels that touches one of the four corners of
    the frame: the limb cuts a patch from a corner, so an isolated value
    inside the disk that happens to equal the sentinel is kept.

    Parameters
    ----------
    X : array-like of shape (..., lat, lon)
        Frames; any leading dimensions (e.g. ``(video, frame, lat, lon)``).
    sentinel : float, "auto" or None, default=0.0
        The off-disk fill value. A number (default 0 G): regions of that value
        touching a corner, whatever their size. ``"auto"``: detected per frame
        and corner as the corner pixel's value, when its corner region holds
        at least ``min_fraction`` of the frame's pixels at exactly that value
        (a measured field is never constant over that many pixels; this finds
        0 G, -1000 G or any other constant fill, frame by frame). None: NaN
        only.
    min_fraction : float, default=0.005
        Smallest corner region, as a fraction of the frame's pixels (41 of
        90 x 90; at least 2 pixels), taken as off-disk fill with
        ``sentinel="auto"``. Smaller corner regions stay on the disk: give the
        sentinel explicitly to mask them. Unused otherwise.

    Returns
    -------
    mask : ndarray of bool, same shape as ``X``

    Raises
    ------
    ValueError
        If ``X`` has fewer than 2 dimensions, or ``sentinel`` or
        ``min_fraction`` is invalid.
    TypeError
        If ``X`` is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import off_limb_mask
    >>> frame = np.array([[0.0, 0.0, 5.0], [0.0, 3.0, 0.0], [np.nan, 2.0, 1.0]])
    >>> off_limb_mask(frame).astype(int)
    array([[1, 1, 0],
           [1, 0, 0],
           [1, 0, 0]])
    >>> frame = np.full((10, 10), -1000.0)  # the authors' clip floor off the disk
    >>> frame[3:, 3:] = np.arange(49.0).reshape(7, 7)
    >>> int(off_limb_mask(frame, sentinel="auto").sum()), int(off_limb_mask(frame).sum())
    (51, 0)
    """
    values = np.asarray(getattr(X, "values", X))
    if values.ndim < 2 or min(values.shape[-2:]) < 1:
        raise ValueError(f"X must have at least 2 dimensions (lat, lon); got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"X must be numeric; got dtype {values.dtype}")
    sentinel = _check_sentinel(sentinel)
    if (not isinstance(min_fraction, (numbers.Real, np.floating)) or isinstance(min_fraction, bool)
            or not 0 <= min_fraction <= 1):
        raise ValueError(f"min_fraction must be a number in [0, 1]; got {min_fraction!r}")
    return _corner_mask(values, sentinel, float(min_fraction))


def _mask_block(values, fill_value, sentinel=0.0, copy=True):
    out = values.copy() if copy else values
    if fill_value == 0 and sentinel == 0:
        # Corner-connected zero regions already equal the background: only NaN changes.
        # in blocks of frames, so that the NaN mask stays in cache
        flat = out.reshape(-1, *out.shape[-2:])
        step = max(1, (1 << 18) // max(1, flat[0].size))
        for k in range(0, flat.shape[0], step):
            block = flat[k: k + step]
            np.copyto(block, 0, where=np.isnan(block))
    else:
        out[_corner_mask(out, sentinel)] = fill_value
    return out


def _pad_block(values, observed, n_frames, mode, copy=True):
    n, f = observed.shape
    if f == n_frames and not copy:
        out = values
    else:
        out = np.empty((n, n_frames) + values.shape[2:], dtype=values.dtype)
        k = min(f, n_frames)
        out[:, :k] = values[:, :k]
    length = _lengths(observed)
    for i in range(n):
        stop = min(int(length[i]), n_frames)
        if stop < n_frames:
            out[i, stop:] = values[i, stop - 1] if mode == "edge" else 0
    return out


def _lengths(observed):
    """Index of the last observed frame + 1, per video (0 when none)."""
    f = observed.shape[1]
    any_obs = observed.any(axis=1)
    last = f - 1 - np.argmax(observed[:, ::-1], axis=1)
    return np.where(any_obs, last + 1, 0)


# ----------------------------------------------------------------------- plumbing


def _namer(X):
    if _is_dataarray(X):
        return lambda i: video_name(X, i)
    return lambda i: f"video {i}"


def _observed(X, values=None):
    """The observed mask of X (loaded): its coordinate, or not-all-NaN frames."""
    if _is_dataarray(X) and OBSERVED in X.coords:
        obs = X.coords[OBSERVED]
        if obs.dims != (VIDEO_DIM, FRAME_DIM) or obs.dtype != bool:
            raise ValueError(
                f"coordinate 'observed' must be boolean with dims ('video', 'frame'); got "
                f"{obs.dtype} with dims {obs.dims}"
            )
        return np.asarray(obs.values)
    if values is None:
        data = X.data
        n, f = X.shape[:2]
        mask = np.isnan(data.reshape(n, f, -1)).all(axis=2)
        return ~np.asarray(mask.compute() if hasattr(mask, "compute") else mask)
    return _observed_from_nan(values)


def _check_X(X):
    """``(videos, flat)``: 4-D videos, and whether X was 2-D ``(video, frame)``.

    DataArrays and torch tensors are checked by :func:`check_videos`; any
    other input by scikit-learn's :func:`~sklearn.utils.check_array` first
    (array-likes, object arrays of numbers; sparse, complex and string input
    refused). A 2-D array is a batch of single-pixel videos (one value per
    frame, e.g. flux curves): it is transformed as videos of 1 x 1-pixel
    frames, and :func:`_restore` gives the result back in 2-D.
    """
    flat = False
    if not _is_dataarray(X) and not _is_tensor(X):
        X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", allow_nd=True,
                        input_name="X")
        if X.ndim == 2:
            flat = True
            X = X[:, :, None, None]
        elif X.ndim != 4:
            raise ValueError(
                f"X must be 4-D (video, frame, lat, lon), or 2-D (video, frame) for "
                f"single-pixel videos; got {X.ndim}-D input of shape {X.shape}")
    X = check_videos(X, allow_nan=True)
    if not _is_dataarray(X) and not isinstance(X, np.ndarray):  # torch tensors
        X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float32)
    return X, flat


def _restore(Xt, flat):
    """The transformed videos in the input's layout (2-D input: 2-D output)."""
    return Xt[:, :, 0, 0] if flat else Xt


def _is_lazy(X):
    return _is_dataarray(X) and X.chunks is not None


def _map_videos(X, kernel, observed=None, n_frames=None):
    """Apply ``kernel(values, observed, start)`` per chunk of videos of a lazy DataArray."""
    import dask.array as da

    data = X.data.rechunk({1: -1, 2: -1, 3: -1})
    out_frames = data.shape[1] if n_frames is None else n_frames
    chunks = (data.chunks[0], (out_frames,), data.chunks[2], data.chunks[3])
    obs = da.from_array(observed, chunks=(data.chunks[0], -1))[:, :, None, None]

    def block(values, obs4, block_info=None):
        start = block_info[0]["array-location"][0][0] if block_info else 0
        return kernel(values, obs4[:, :, 0, 0], start)

    return da.map_blocks(block, data, obs, dtype=data.dtype, chunks=chunks)


class _VideoTransformer(TransformerMixin, BaseEstimator):
    """Common behaviour: stateless, numpy or DataArray in, same type out.

    Parameters are checked against ``_parameter_constraints`` (scikit-learn's
    parameter validation) by ``fit`` and by ``transform``: the transformers
    are stateless, so ``transform`` works without ``fit``.
    """

    _parameter_constraints = {"copy": ["boolean"]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Check parameters and input; nothing is learned.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or (n_videos, n_frames), \
                or xarray.DataArray
            Videos (a 2-D array: single-pixel videos).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        X, _ = _check_X(X)
        self.n_features_in_ = int(X.shape[1])
        return self


class FillGaps(_VideoTransformer):
    """Fill missing frames by linear interpolation per pixel over time.

    Inside each video's observed span (first to last observed frame), every
    unobserved frame gets, pixel by pixel, the linear interpolation between
    the nearest observed frames before and after it -- the same values as
    ``scipy.interpolate.interp1d(kind="linear")`` along time, computed for
    all pixels at once. Observed frames are returned bit-for-bit unchanged,
    and interpolated values never leave the range of the two frames they
    come from. Frames before the first or after the last observation stay
    NaN: no extrapolation; they are handled by :class:`PadFrames` and
    :class:`MaskOffLimb`. A NaN pixel in an observed frame (off-disk) stays
    NaN and makes the interpolated pixels next to it NaN.

    The ``observed`` coordinate is kept unchanged (interpolated frames are
    not observations). On numpy input the observed frames are those that are
    not entirely NaN.

    Parameters
    ----------
    copy : bool, default=True
        Whether to fill a copy. False fills an in-memory input in place
        (its observed frames are unchanged either way).


    Attributes
    ----------
    n_features_in_ : int
        Frames per video of the ``X`` given to :meth:`fit` (informational:
        the transformer is stateless and :meth:`transform` takes videos of
        any length).

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import FillGaps
    >>> X = np.full((1, 4, 1, 1), np.nan)
    >>> X[0, [0, 3], 0, 0] = [0.0, 3.0]
    >>> FillGaps().fit_transform(X).ravel()
    array([0., 1., 2., 3.])
    """

    def __init__(self, copy=True):
        self.copy = copy

    def transform(self, X):
        """Fill the gaps.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or (n_videos, n_frames), \
                or xarray.DataArray
            Videos with unobserved frames (NaN on numpy input); a 2-D array
            holds single-pixel videos.

        Returns
        -------
        Xt : same type as X
            A new array; a DataArray keeps its coordinates and attributes.

        Raises
        ------
        ValueError
            If a video has no observed frame, or an observed frame is entirely
            NaN (naming the video), or X is not 4-D ``(video, frame, lat, lon)``.
        TypeError
            If X is not numeric.
        """
        self._validate_params()
        X, flat = _check_X(X)
        names = _namer(X)
        if _is_lazy(X):
            observed = _observed(X)
            data = _map_videos(X, lambda v, o, s: _fill_gaps_block(v, o, s, names), observed)
            return X.copy(data=data)
        values = np.asarray(X.values if _is_dataarray(X) else X)
        from_coord = _is_dataarray(X) and OBSERVED in X.coords
        observed = _observed(X, values)
        out = _fill_gaps_block(values, observed, 0, names, copy=self.copy, check=from_coord)
        return X.copy(data=out) if _is_dataarray(X) else _restore(out, flat)


class MaskOffLimb(_VideoTransformer):
    """Set off-disk pixels to a background field (0 G).

    Off-disk pixels are NaN, or a constant fill value (``sentinel``) in
    regions touching a patch corner (see :func:`off_limb_mask`): exact 0 G in
    the authors' patch files (the default), their clip floor -1000 G, or any
    constant detected frame by frame with ``sentinel="auto"``. With the
    defaults (``fill_value=0``, ``sentinel=0``) the zero regions already hold
    the background, so only NaN changes (this shortcut is exact, and fast).
    Also turns the NaN frames left before a video's first observation into
    ``fill_value`` frames. Idempotent: applying it twice equals applying it
    once.

    Parameters
    ----------
    fill_value : float, default=0.0
        Background field in Gauss (the paper: 0 G).
    sentinel : float, "auto" or None, default=0.0
        Off-disk fill value of the input, besides NaN: a number (regions of
        exactly that value touching a corner), ``"auto"`` (per frame, a
        corner region of one constant value covering at least 0.5 % of the
        frame) or None (NaN only).
    copy : bool, default=True
        Whether to work on a copy. False modifies an in-memory input in place.


    Attributes
    ----------
    n_features_in_ : int
        Frames per video of the ``X`` given to :meth:`fit` (informational:
        the transformer is stateless and :meth:`transform` takes videos of
        any length).

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import MaskOffLimb
    >>> X = np.array([np.nan, 0.0, 2.0, 0.0]).reshape(1, 1, 2, 2)
    >>> MaskOffLimb(fill_value=-1.0).fit_transform(X).ravel()
    array([-1., -1.,  2., -1.])
    >>> X = np.array([-1000.0, -1000.0, 2.0, 5.0]).reshape(1, 1, 2, 2)
    >>> MaskOffLimb(sentinel=-1000.0).fit_transform(X).ravel()
    array([0., 0., 2., 5.])
    """

    _parameter_constraints = {
        **_VideoTransformer._parameter_constraints,
        "fill_value": [Interval(numbers.Real, None, None, closed="neither")],  # finite
        "sentinel": [Interval(numbers.Real, None, None, closed="neither"),
                     StrOptions({"auto"}), None],
    }

    def __init__(self, fill_value=0.0, sentinel=0.0, copy=True):
        self.fill_value = fill_value
        self.sentinel = sentinel
        self.copy = copy

    def transform(self, X):
        """Set off-disk pixels to ``fill_value``.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or (n_videos, n_frames), \
                or xarray.DataArray
            Videos (a 2-D array: single-pixel videos).

        Returns
        -------
        Xt : same type and shape as X
            Without NaN. A DataArray keeps its coordinates.

        Raises
        ------
        ValueError
            If X is not 4-D ``(video, frame, lat, lon)``.
        TypeError
            If X is not numeric.
        """
        self._validate_params()
        X, flat = _check_X(X)
        fill = float(self.fill_value)
        sentinel = _check_sentinel(self.sentinel)
        if _is_lazy(X):
            data = X.data
            if fill != 0 or sentinel != 0:  # corner regions need whole frames in one chunk
                data = data.rechunk({2: -1, 3: -1})
            return X.copy(data=data.map_blocks(_mask_block, fill, sentinel, dtype=X.dtype))
        values = np.asarray(X.values if _is_dataarray(X) else X)
        out = _mask_block(values, fill, sentinel, copy=self.copy)
        return X.copy(data=out) if _is_dataarray(X) else _restore(out, flat)


class PadFrames(_VideoTransformer):
    """Bring every video to ``n_frames`` frames by padding after its last observation.

    Frames after a video's last observed frame (unobserved tail and new
    frames) are filled with 0 G (``mode="zero"``, the paper's text) or with
    a copy of the last observed frame (``mode="edge"``, what the authors'
    public code does). The default is ``"edge"``: it is what the published
    models were trained on, it does not fake a sudden disappearance of all
    flux at the end of short videos, and it is the same operation as the
    frame masking of :class:`skflux.EmergenceTimeLocator` (frames after t
    replaced by frame t), so padded and masked videos look alike to the
    network. Frames before the first observation are left alone.

    A video whose observations extend beyond ``n_frames`` is refused, unless
    ``crop=True`` (then only its first ``n_frames`` frames are kept). An
    input with more than ``n_frames`` frames whose extra frames are all
    unobserved is shortened without loss. The ``observed`` coordinate is
    padded with False, other float per-frame coordinates (e.g. ``mu`` of
    patches cut from observations) with NaN; ``frame`` becomes ``0 ...
    n_frames - 1``.

    Parameters
    ----------
    n_frames : int, default=225
        Frames per output video (225 = 15 days at 96-minute cadence).
    mode : {"edge", "zero"}, default="edge"
        What to pad with.
    crop : bool, default=False
        Whether longer videos may be cut to ``n_frames``.
    copy : bool, default=True
        Whether to return a new array when the input already has
        ``n_frames`` frames. False pads an in-memory input in place then.


    Attributes
    ----------
    n_features_in_ : int
        Frames per video of the ``X`` given to :meth:`fit` (informational:
        the transformer is stateless and :meth:`transform` takes videos of
        any length).

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import PadFrames
    >>> X = np.arange(2.0).reshape(1, 2, 1, 1)
    >>> PadFrames(n_frames=4).fit_transform(X).ravel()
    array([0., 1., 1., 1.])
    >>> PadFrames(n_frames=4, mode="zero").fit_transform(X).ravel()
    array([0., 1., 0., 0.])
    """

    _parameter_constraints = {
        **_VideoTransformer._parameter_constraints,
        "n_frames": [Interval(numbers.Integral, 1, None, closed="left")],
        "mode": [StrOptions({"edge", "zero"})],
        "crop": ["boolean"],
    }

    def __init__(self, n_frames=N_FRAMES, mode="edge", crop=False, copy=True):
        self.n_frames = n_frames
        self.mode = mode
        self.crop = crop
        self.copy = copy

    def transform(self, X):
        """Pad (or, with ``crop=True``, cut) every video to ``n_frames`` frames.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames_in, n_lat, n_lon) or (n_videos, n_frames_in), \
                or xarray.DataArray
            Videos (unobserved frames NaN on numpy input; a 2-D array holds
            single-pixel videos).

        Returns
        -------
        Xt : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or (n_videos, n_frames), \
                or xarray.DataArray
            A DataArray keeps its coordinates, with ``observed`` padded with
            False and other float per-frame coordinates with NaN.

        Raises
        ------
        ValueError
            If a video is observed beyond ``n_frames`` frames and ``crop`` is
            False (naming the videos), if a video has no observed frame, or
            if a DataArray has a non-float coordinate along ``frame`` (other
            than ``observed``).
        """
        self._validate_params()
        X, flat = _check_X(X)
        names = _namer(X)
        n_out = int(self.n_frames)
        lazy = _is_lazy(X)
        values = None if lazy else np.asarray(X.values if _is_dataarray(X) else X)
        observed = _observed(X, values)
        length = _lengths(observed)
        if (length == 0).any():
            i = int(np.flatnonzero(length == 0)[0])
            raise ValueError(f"{names(i)} has no observed frame")
        long = np.flatnonzero(length > n_out)
        if long.size and not self.crop:
            shown = ", ".join(f"{names(int(i))} ({int(length[i])} frames)" for i in long[:5])
            need = int(length.max())
            raise ValueError(
                f"{long.size} video(s) are observed beyond {n_out} frames: {shown}"
                f"{' ...' if long.size > 5 else ''}. Keep every frame with a longer output "
                f"(n_frames={need}; on the command line: skflux ingest --frames {need}), "
                f"or, in Python, cut them with PadFrames(crop=True) (make_preprocessor("
                f"crop=True)) to keep only the first {n_out} frames"
            )
        new_obs = np.zeros((observed.shape[0], n_out), dtype=bool)
        k = min(observed.shape[1], n_out)
        new_obs[:, :k] = observed[:, :k]
        if not _is_dataarray(X):
            return _restore(_pad_block(values, observed, n_out, self.mode, copy=self.copy), flat)
        others = {n: c for n, c in X.coords.items()
                  if FRAME_DIM in c.dims and n not in (FRAME_DIM, OBSERVED)}
        bad = [n for n, c in others.items() if c.dims != (VIDEO_DIM, FRAME_DIM)
               or not np.issubdtype(c.dtype, np.floating)]
        if bad:
            raise ValueError(
                f"coordinates {bad} run along 'frame' and cannot be padded (only float "
                "coordinates of dims ('video', 'frame'), such as 'mu', are: with NaN); drop "
                "them first"
            )
        if lazy:
            data = _map_videos(X, lambda v, o, s: _pad_block(v, o, n_out, self.mode),
                               observed, n_frames=n_out)
        else:
            data = _pad_block(values, observed, n_out, self.mode, copy=self.copy)
        import xarray as xr

        coords = {n: c for n, c in X.coords.items() if FRAME_DIM not in c.dims}
        coords[FRAME_DIM] = np.arange(n_out)
        coords[OBSERVED] = ((VIDEO_DIM, FRAME_DIM), new_obs)
        for name, c in others.items():  # e.g. mu: NaN on the new frames, cut with the video
            padded = np.full((observed.shape[0], n_out), np.nan, dtype=c.dtype)
            padded[:, :k] = np.asarray(c.values)[:, :k]
            coords[name] = ((VIDEO_DIM, FRAME_DIM), padded)
        return xr.DataArray(data, dims=X.dims, coords=coords, attrs=dict(X.attrs), name=X.name)


_FRAME_INDEX_COORDS = ("emergence_frame",)  # per-video frame numbers, -1 for none


class Resample(_VideoTransformer):
    """Bring videos to another number of frames and pixels by area averaging.

    Flux-conserving: every output frame (pixel) is the overlap-weighted mean
    of the input frames (pixels) it covers, so the mean field of each video
    is unchanged; exact for integer factors (block means when shrinking,
    repetition when growing). Use it to apply a model trained at a reduced
    size (e.g. 48 frames of 32 x 32) to full-size videos (225 x 90 x 90), or
    the reverse. NaN propagates to every output value it contributes to:
    fill gaps and mask off-limb pixels first
    (:func:`~skflux.preprocessing.make_preprocessor`).

    Works on numpy arrays ``(video, frame, lat, lon)`` (a 2-D array
    ``(video, frame)``: single-pixel videos, resampled in time only) and on
    DataArrays of the data model (lazy ones stay lazy, one video per chunk).
    The transformer is stateless: :meth:`transform` works without
    :meth:`fit`, on videos of any size. On a
    DataArray, ``lat``/``lon`` become the centres of the new pixels, the
    ``cadence_minutes`` attribute is scaled by ``n_in / n_out`` (``time``,
    the start of frame 0, is unchanged), an output frame is ``observed``
    when any input frame it covers was observed, other per-frame numeric
    coordinates (e.g. ``mu``) are averaged like the field, and a per-video
    frame number (the simulator's ``emergence_frame``) becomes the output
    frame that holds the start of that input frame (``-1`` stays ``-1``).

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

    def transform(self, X):
        """Resample the videos.

        Parameters
        ----------
        X : ndarray of shape (n_videos, n_frames, n_lat, n_lon) or (n_videos, n_frames), \
                or xarray.DataArray
            Videos (a dask-backed DataArray stays lazy; a 2-D array holds
            single-pixel videos).

        Returns
        -------
        Xt : same type as X
            Shape ``(n_videos, n_frames or n_frames_in, size or n_lat, size or
            n_lon)`` (2-D input: ``(n_videos, n_frames or n_frames_in)``),
            float32 for float32 input, else float64.

        Raises
        ------
        ValueError
            If X is neither 4-D nor 2-D, ``size`` is given for 2-D input, or
            a DataArray has per-pixel or non-numeric per-frame coordinates
            that cannot be resampled.
        """
        self._validate_params()
        X, flat = _check_X(X)
        if flat and self.size not in (None, 1):
            raise ValueError(f"X is 2-D (video, frame): single-pixel videos cannot be resampled "
                             f"to size={self.size}; give 4-D videos (video, frame, lat, lon)")
        _, n_t, n_y, n_x = X.shape
        out_t = n_t if self.n_frames is None else int(self.n_frames)
        out_y = n_y if self.size is None else int(self.size)
        out_x = n_x if self.size is None else int(self.size)
        wt = None if out_t == n_t else _resample.area_weights(n_t, out_t)
        wy = None if out_y == n_y else _resample.area_weights(n_y, out_y)
        wx = None if out_x == n_x else _resample.area_weights(n_x, out_x)
        dtype = np.float32 if X.dtype == np.float32 else np.float64

        def kernel(values):
            return _resample._apply(values, wt, wy, wx).astype(dtype)

        if not _is_dataarray(X):
            return _restore(kernel(X), flat)
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
                coords[name] = _resample._centres(c.values, out_y)
            elif name == LON_DIM:
                coords[name] = _resample._centres(c.values, out_x)
            elif FRAME_DIM in c.dims and wt is not None:
                coords[name] = self._frame_coord(name, c, wt)
            elif name in _FRAME_INDEX_COORDS and wt is not None and c.dims == (VIDEO_DIM,):
                # a frame number (-1: none) moves to the output frame holding its start
                f = np.asarray(c.values)
                coords[name] = c.dims, np.where(
                    f >= 0, np.floor(f * out_t / X.shape[1]), f).astype(f.dtype)
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


def make_preprocessor(*, n_frames=N_FRAMES, mode="edge", crop=False, fill_value=0.0,
                      sentinel=0.0, copy=True):
    """The paper's preparation of videos as one scikit-learn Pipeline.

    ``FillGaps() -> PadFrames(n_frames, mode, crop) -> MaskOffLimb(fill_value,
    sentinel)``.
    Padding comes before masking so that the last observed frame is still
    recognizable on numpy input (its unobserved tail is NaN until masking);
    the result is the same as masking first.

    Parameters
    ----------
    n_frames : int, default=225
        Frames per output video.
    mode : {"edge", "zero"}, default="edge"
        Padding mode of :class:`PadFrames`.
    crop : bool, default=False
        Whether videos longer than ``n_frames`` may be cut.
    fill_value : float, default=0.0
        Off-disk background of :class:`MaskOffLimb`, in Gauss.
    sentinel : float, "auto" or None, default=0.0
        Off-disk fill value of the input (besides NaN), see :class:`MaskOffLimb`.
    copy : bool, default=True
        Whether the input is left untouched. The later steps always work in
        place on the first step's output (no needless copies of full-size
        videos); with ``copy=False`` the first step fills the input in place.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"fill_gaps"``, ``"pad_frames"``, ``"mask_off_limb"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.preprocessing import make_preprocessor
    >>> X = np.full((1, 3, 2, 2), np.nan)
    >>> X[0, 0], X[0, 2] = 1.0, 3.0
    >>> X[0, :, 0, 0] = np.nan  # an off-disk corner pixel
    >>> Xt = make_preprocessor(n_frames=5).fit_transform(X)
    >>> Xt[0, :, 1, 1], Xt[0, :, 0, 0]
    (array([1., 2., 3., 3., 3.]), array([0., 0., 0., 0., 0.]))
    """
    return Pipeline([
        ("fill_gaps", FillGaps(copy=copy)),
        ("pad_frames", PadFrames(n_frames=n_frames, mode=mode, crop=crop, copy=False)),
        ("mask_off_limb", MaskOffLimb(fill_value=fill_value, sentinel=sentinel, copy=False)),
    ])
