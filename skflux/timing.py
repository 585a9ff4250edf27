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

import contextlib
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._schema import CADENCE_MINUTES, VIDEO_DIM
from ._validation import _is_dataarray, _is_tensor, check_videos

PERCENTILES = (5, 25, 50, 75, 95)
_OUTPUT_VARS = ("emergence_frame", "emergence_time", "emergence_offset", "member_frames",
                "frame_q25", "frame_q75", "final_probability")
_METHODS = ("fast", "naive", "authors")


def emergence_frames_from_curves(curves, lower_bound):
    """Frame of maximum probability gradient along the last axis.

    Parameters
    ----------
    curves : array-like of shape (..., n_frames)
        Probability curves over the cut-off frame.
    lower_bound : int
        First frame that can be returned (frames before it are masked).

    Returns
    -------
    frames : ndarray of int, shape (...)
        ``lower_bound + argmax(numpy.gradient(curves, axis=-1)[..., lower_bound:])``.

    Raises
    ------
    ValueError
        If ``lower_bound`` is not in ``[0, n_frames - 1]`` or a curve is shorter
        than 2 frames.

    Examples
    --------
    >>> emergence_frames_from_curves([[0.1, 0.1, 0.1, 0.2, 0.8, 0.9]], 1)
    array([3])
    """
    curves = np.asarray(curves, dtype=float)
    n = curves.shape[-1]
    if n < 2:
        raise ValueError(f"curves need at least 2 frames; got {n}")
    _check_lower_bound(lower_bound, n)
    grad = np.gradient(curves, axis=-1)
    return lower_bound + np.argmax(grad[..., lower_bound:], axis=-1)


def _check_lower_bound(lower_bound, n_frames):
    if not isinstance(lower_bound, numbers.Integral) or isinstance(lower_bound, bool):
        raise TypeError(f"lower_bound must be an integer frame index; got {lower_bound!r}")
    if not 0 <= lower_bound < n_frames - 1:
        suggestion = max(0, round(30 * n_frames / 225))
        raise ValueError(
            f"lower_bound={lower_bound} must satisfy 0 <= lower_bound < n_frames - 1 = "
            f"{n_frames - 1} for videos of {n_frames} frames (30 of 225 in the paper; "
            f"for {n_frames} frames the same fraction is lower_bound={suggestion})"
        )


def _members_of(ensemble):
    members = list(ensemble.estimators_) if hasattr(ensemble, "estimators_") else [ensemble]
    for i, m in enumerate(members):
        if not (hasattr(m, "module_") and callable(getattr(m.module_, "forward", None))):
            raise TypeError(
                f"member {i} of the ensemble ({type(m).__name__}) has no fitted torch module "
                "(module_); EmergenceTimeLocator needs skflux.FluxEmergenceClassifier members"
            )
    return members


def _n_frames_of(ensemble, members):
    for obj in (ensemble, *members):
        n = getattr(obj, "n_frames_in_", None)
        if n is not None:
            return int(n)
    for m in members:
        n = getattr(m.module_, "n_frames", None)
        if n is not None:
            return int(n)
    return None


@contextlib.contextmanager
def _eval_mode(modules):
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


class EmergenceTimeLocator(TransformerMixin, BaseEstimator):
    """Emergence frame and time of each video by frame masking over a fitted ensemble.

    For each cut-off frame ``t`` the video is masked (frames after ``t``
    replaced by frame ``t``, frames before ``lower_bound`` by frame
    ``lower_bound``; see the module documentation for the exact convention),
    every member gives a probability of "emergence", the frame of maximum
    gradient of each member's curve is its emergence frame and the median over
    members is the video's.

    Parameters
    ----------
    ensemble : MonthBlockEnsemble or FluxEmergenceClassifier
        A fitted ensemble (members in ``estimators_``, each with a torch
        ``module_`` and ``field_limit``) or a single fitted classifier (one
        member). An unfitted one is cloned and fitted by :meth:`fit` when
        ``X`` and ``y`` are given.
    lower_bound : int, default=30
        Frames before it are replaced by it (30 of 225 frames in the authors'
        code). Must be below ``n_frames - 1``; for short test videos scale it.
    method : {"fast", "naive", "authors"}, default="fast"
        ``"naive"``: the literal procedure, one forward pass per cut-off and
        member, ``batch_size`` cut-offs per pass. ``"authors"``: the same with
        one video per pass, one member after the other. ``"fast"``: the same
        curves (up to floating-point rounding) computing each distinct masked
        video once and, for networks whose first layer is a frames-as-channels
        convolution (the reference VGG), that layer for all cut-offs from
        prefix sums; for causal 3-D networks, reusing the activations of the
        frames before the cut-off.
    batch_size : int, default=32
        Cut-offs per forward pass (memory grows with it: the naive method holds
        ``batch_size`` whole videos).
    device : str or torch.device, optional
        Device for the computation; default: each member's own device.
    verbose : int, default=0
        Progress bar over videos when positive.

    Attributes
    ----------
    ensemble_ : estimator
        The fitted ensemble used (``ensemble`` itself when it was fitted).
    n_members_ : int
        Number of members.
    n_frames_ : int or None
        Frames per video the ensemble was trained on (None when unknown).
    threshold_ : float
        Probability threshold of the ensemble (``threshold_``, else 0.5), used
        to count the members voting "emergence" (Figure 6).
    curves_ : ndarray of shape (n_members, n_videos, n_frames)
        Probability curves of the last :meth:`transform`.
    member_frames_ : ndarray of int, shape (n_members, n_videos)
        Members' emergence frames of the last :meth:`transform`.

    See Also
    --------
    skflux.plotting.plot_emergence_curves : Figure 5 from ``curves_``.
    skflux.plotting.plot_emergence_frames : Figure 6 (top).
    skflux.plotting.plot_timing_errors : Figure 6 (bottom).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skflux.nn import VideoVGG
    >>> from skflux.timing import EmergenceTimeLocator
    >>> class Member:  # stands in for a fitted FluxEmergenceClassifier
    ...     def __init__(self, seed):
    ...         torch.manual_seed(seed)
    ...         self.module_ = VideoVGG(16, in_size=16, widths=(2, 2, 2, 2), top=4, dense=4)
    ...         self.field_limit = 1000.0
    >>> class Ensemble:
    ...     estimators_ = [Member(0), Member(1), Member(2)]
    ...     threshold_ = 0.5
    >>> X = np.random.default_rng(0).normal(0, 300, (2, 16, 16, 16)).astype("float32")
    >>> result = EmergenceTimeLocator(Ensemble(), lower_bound=4).fit_transform(X)
    >>> result["member_frames"].shape
    (2, 3)
    >>> bool((result["emergence_frame"] >= 4).all())
    True
    """

    def __init__(self, ensemble, lower_bound=30, method="fast", batch_size=32, device=None,
                 verbose=0):
        self.ensemble = ensemble
        self.lower_bound = lower_bound
        self.method = method
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    def _check_params(self):
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}; got {self.method!r}")
        if (not isinstance(self.batch_size, numbers.Integral) or isinstance(self.batch_size, bool)
                or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer; got {self.batch_size!r}")
        if not isinstance(self.lower_bound, numbers.Integral) or isinstance(self.lower_bound,
                                                                            bool):
            raise TypeError(f"lower_bound must be an integer frame index; got "
                            f"{self.lower_bound!r}")
        if self.lower_bound < 0:
            raise ValueError(f"lower_bound must be >= 0; got {self.lower_bound}")

    def fit(self, X=None, y=None, **fit_params):
        """Check the ensemble is fitted, or fit a clone of it on ``X``, ``y``.

        Parameters
        ----------
        X : array-like or xarray.DataArray, optional
            Training videos, only used when ``ensemble`` is not fitted.
        y : array-like, optional
            Labels, only used when ``ensemble`` is not fitted.
        **fit_params : dict
            Passed to the ensemble's ``fit``.

        Returns
        -------
        self : EmergenceTimeLocator

        Raises
        ------
        NotFittedError
            If the ensemble is not fitted and no ``X``, ``y`` are given.
        ValueError
            On invalid parameters or a ``lower_bound`` too large for the
            ensemble's videos.
        """
        self._check_params()
        ens = self.ensemble
        try:
            check_is_fitted(ens)
            _members_of(ens)
            fitted = True
        except NotFittedError:
            fitted = False
        except TypeError:  # not an estimator check_is_fitted understands
            fitted = hasattr(ens, "estimators_") or hasattr(ens, "module_")
        if fitted:
            self.ensemble_ = ens
        elif X is None or y is None:
            raise NotFittedError(
                f"the ensemble ({type(ens).__name__}) is not fitted: fit it first or pass "
                "X and y to EmergenceTimeLocator.fit to fit a clone of it"
            )
        else:
            self.ensemble_ = clone(ens).fit(X, y, **fit_params)
        members = _members_of(self.ensemble_)
        self.n_members_ = len(members)
        self.n_frames_ = _n_frames_of(self.ensemble_, members)
        if self.n_frames_ is not None:
            _check_lower_bound(self.lower_bound, self.n_frames_)
        self.threshold_ = float(getattr(self.ensemble_, "threshold_",
                                        getattr(self.ensemble_, "threshold", 0.5)))
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit (see :meth:`fit`) then :meth:`transform` ``X``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos ``(video, frame, lat, lon)`` in Gauss.
        y : array-like, optional
            Labels, only used to fit an unfitted ensemble.
        **fit_params : dict
            Passed to the ensemble's ``fit``.

        Returns
        -------
        result : xarray.Dataset
            See :meth:`transform`.
        """
        return self.fit(X, y, **fit_params).transform(X)

    def emergence_curves(self, X):
        """Probability curves of every member under masking.

        Each video is read once (lazy DataArrays one video at a time).

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos ``(video, frame, lat, lon)`` in Gauss, no NaN.

        Returns
        -------
        curves : ndarray of shape (n_members, n_videos, n_frames)
            ``curves[j, i, t]``: member ``j``'s probability of emergence for
            video ``i`` cut at frame ``t``.

        Raises
        ------
        ValueError
            On a frame count different from the ensemble's, a ``lower_bound``
            too large for the videos, or NaN/inf in a video (named).
        """
        from tqdm.auto import tqdm

        from ._masking import _CurveEngine, _Member
        from .nn._data import iter_video_batches

        check_is_fitted(self, "ensemble_")
        X = check_videos(X, allow_nan=False)
        n_videos, n_frames = X.shape[0], X.shape[1]
        if self.n_frames_ is not None and n_frames != self.n_frames_:
            raise ValueError(
                f"X has {n_frames} frames per video but the ensemble was trained on "
                f"{self.n_frames_}-frame videos; pad or resample the videos to "
                f"{self.n_frames_} frames (skflux.preprocessing)"
            )
        _check_lower_bound(self.lower_bound, n_frames)
        members = _members_of(self.ensemble_)
        modules = [m.module_ for m in members]
        curves = np.empty((len(members), n_videos, n_frames))
        with _eval_mode(modules):
            prepared = [
                _Member(m.module_, getattr(m, "field_limit", 1000.0), self.device)
                for m in members
            ]
            engine = _CurveEngine(prepared, self.lower_bound, self.method, self.batch_size)
            if _is_tensor(X):
                X = X.detach().cpu()
            batches = iter_video_batches(X, batch_size=1)
            for i, xb in enumerate(tqdm(batches, total=n_videos, desc="emergence time",
                                        disable=not self.verbose)):
                curves[:, i] = engine.curves(xb[0])
        return curves

    def transform(self, X):
        """Emergence frame and time of every video.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos ``(video, frame, lat, lon)`` in Gauss, with as many frames
            as the ensemble's training videos. A lazy DataArray is read one
            video at a time.

        Returns
        -------
        result : xarray.Dataset
            With dim ``video`` (and ``member``):

            - ``emergence_frame`` (float): median of the members' frames;
            - ``emergence_time`` (datetime64): the video's ``time`` coordinate
              (frame 0) plus ``emergence_frame`` cadences; NaT without one;
            - ``emergence_offset`` (timedelta64): ``emergence_frame`` cadences;
            - ``member_frames`` (video, member; int): each member's frame;
            - ``frame_q25``, ``frame_q75``: the members' 25th/75th percentiles;
            - ``final_probability`` (video, member): each member's probability
              for the uncut video (cut-off at the last frame);

            the per-video coordinates of ``X`` (those named like an output
            variable, e.g. the simulator's ground-truth ``emergence_frame`` and
            ``emergence_time``, prefixed ``true_``) and attributes ``lower_bound``,
            ``method``, ``cadence_minutes``, ``threshold``.

        Raises
        ------
        ValueError
            See :meth:`emergence_curves`.
        """
        import xarray as xr

        curves = self.emergence_curves(X)
        self.curves_ = curves
        frames = emergence_frames_from_curves(curves, self.lower_bound)  # (members, videos)
        self.member_frames_ = frames
        median = np.median(frames, axis=0)
        q25, q75 = np.percentile(frames, [25, 75], axis=0)
        cadence = _cadence_minutes(X)
        offset_ns = np.round(median * cadence * 60e9).astype("int64")
        offset = offset_ns.astype("timedelta64[ns]")
        n_videos = curves.shape[1]
        coords = {}
        if _is_dataarray(X):
            for name, c in X.coords.items():
                if c.dims == (VIDEO_DIM,):
                    # ground truth (emergence_frame, emergence_time, ...) -> true_<name>
                    new = f"true_{name}" if name in _OUTPUT_VARS else name
                    coords[new] = (VIDEO_DIM, c.values)
        if VIDEO_DIM not in coords:
            coords[VIDEO_DIM] = np.arange(n_videos)
        coords["member"] = np.arange(curves.shape[0])
        if "time" in coords:
            start = np.asarray(coords["time"][1]).astype("datetime64[ns]")
            time = start + offset
        else:
            time = np.full(n_videos, np.datetime64("NaT", "ns"))
        ds = xr.Dataset(
            {
                "emergence_frame": (VIDEO_DIM, median.astype(float)),
                "emergence_time": (VIDEO_DIM, time),
                "emergence_offset": (VIDEO_DIM, offset),
                "member_frames": ((VIDEO_DIM, "member"), frames.T.astype(int)),
                "frame_q25": (VIDEO_DIM, q25),
                "frame_q75": (VIDEO_DIM, q75),
                "final_probability": ((VIDEO_DIM, "member"), curves[:, :, -1].T),
            },
            coords=coords,
            attrs={"lower_bound": int(self.lower_bound), "method": self.method,
                   "cadence_minutes": float(cadence), "threshold": self.threshold_},
        )
        ds["emergence_frame"].attrs["description"] = (
            "median over members of the frame of maximum probability gradient under masking")
        return ds


def _cadence_minutes(X):
    if _is_dataarray(X):
        return float(X.attrs.get("cadence_minutes", CADENCE_MINUTES))
    return float(CADENCE_MINUTES)


def _true_frames(obj):
    """Ground-truth emergence frames from an array, a DataArray or a Dataset."""
    if hasattr(obj, "data_vars"):  # Dataset, e.g. the locator's result
        if "true_emergence_frame" in obj.variables:
            return np.asarray(obj["true_emergence_frame"].values, dtype=float)
        raise ValueError("true_frames (a Dataset) has no 'true_emergence_frame' variable")
    if hasattr(obj, "coords"):  # DataArray: videos with coordinates, or the frames themselves
        for k in ("true_emergence_frame", "emergence_frame"):
            if k in obj.coords and obj.coords[k].dims == (VIDEO_DIM,):
                return np.asarray(obj.coords[k].values, dtype=float)
        return np.asarray(obj.values, dtype=float)
    return np.asarray(obj, dtype=float)


def timing_errors_days(predicted, true_frames, *, cadence_minutes=None, per_member=False):
    """Predicted minus true emergence time, in days.

    Parameters
    ----------
    predicted : xarray.Dataset or array-like
        The output of :meth:`EmergenceTimeLocator.transform` (its
        ``emergence_frame``, or ``member_frames`` with ``per_member=True``) or
        predicted frames, shape ``(n_videos,)`` or ``(n_videos, n_members)``.
    true_frames : array-like or xarray object
        Ground-truth emergence frames, shape ``(n_videos,)``; negative values
        (``-1``: no emergence) give NaN. An xarray object with a
        ``true_emergence_frame`` or ``emergence_frame`` variable/coordinate is
        accepted (e.g. the simulator's videos or the locator's result).
    cadence_minutes : float, optional
        Minutes per frame; default: ``predicted.attrs["cadence_minutes"]`` or 96.
    per_member : bool, default=False
        With a Dataset, use every member's frame instead of the median.

    Returns
    -------
    errors : ndarray of float, shape (n_videos,) or (n_videos, n_members)
        Positive when the prediction is late.

    Raises
    ------
    ValueError
        If the numbers of videos differ.

    Examples
    --------
    >>> timing_errors_days([115, 100], [100, -1]).tolist()
    [1.0, nan]
    """
    if cadence_minutes is None:
        cadence_minutes = getattr(predicted, "attrs", {}).get("cadence_minutes", CADENCE_MINUTES)
    if hasattr(predicted, "data_vars"):
        var = "member_frames" if per_member else "emergence_frame"
        if var not in predicted:
            raise ValueError(f"predicted has no {var!r} variable")
        pred = np.asarray(predicted[var].values, dtype=float)
    else:
        pred = np.asarray(predicted, dtype=float)
    true = _true_frames(true_frames)
    if true.ndim != 1:
        raise ValueError(f"true_frames must be 1-D (one frame per video); got shape {true.shape}")
    if pred.ndim not in (1, 2) or pred.shape[0] != true.shape[0]:
        raise ValueError(
            f"predicted has shape {pred.shape} but true_frames has {true.shape[0]} videos"
        )
    true = np.where(true < 0, np.nan, true)
    diff = pred - (true if pred.ndim == 1 else true[:, None])
    return diff * float(cadence_minutes) / (24 * 60)


def timing_error_percentiles(errors, q=PERCENTILES):
    """Percentiles of timing errors (NaN ignored), as the paper reports them.

    Parameters
    ----------
    errors : array-like
        Errors in days (any shape; NaN entries, e.g. videos without a true
        emergence, are ignored).
    q : sequence of float, default=(5, 25, 50, 75, 95)
        Percentiles.

    Returns
    -------
    percentiles : dict
        ``{q: value in days}``.

    Raises
    ------
    ValueError
        If there is no finite error.

    Examples
    --------
    >>> timing_error_percentiles([-1.0, 0.0, 1.0, np.nan], q=(50,))
    {50: 0.0}
    """
    e = np.asarray(errors, dtype=float).ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        raise ValueError("no finite timing error to summarize")
    values = np.percentile(e, list(q))
    return {qq: float(v) for qq, v in zip(q, values)}


__all__ = [
    "EmergenceTimeLocator", "emergence_frames_from_curves", "timing_errors_days",
    "timing_error_percentiles", "PERCENTILES",
]
