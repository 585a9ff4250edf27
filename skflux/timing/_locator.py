"""EmergenceTimeLocator: emergence frame and time by frame masking (private)."""

import contextlib
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._paper import MIN_OBSERVED_FRAMES, THRESHOLD_FALLBACK, TIE_TOLERANCE, lower_bound_for
from .._schema import CADENCE_MINUTES, OBSERVED, VIDEO_DIM
from .._validation import _is_dataarray, _is_tensor, check_videos
from ..nn._data import check_video_shape, resample_hint
from ._masking import masked_curves

_OUTPUT_VARS = ("emergence_frame", "emergence_time", "emergence_offset", "member_frames",
                "frame_q25", "frame_q75", "final_probability", "located", "n_observed_frames")
_METHODS = ("fast", "naive", "authors")


def emergence_frames_from_curves(curves, lower_bound, *, tie_tolerance=TIE_TOLERANCE):
    """Frame of maximum probability gradient along the last axis, ties to the earliest.

    Parameters
    ----------
    curves : array-like of shape (..., n_frames)
        Probability curves over the cut-off frame.
    lower_bound : int
        First frame that can be returned (frames before it are masked).
    tie_tolerance : float, default=1e-4
        Gradients within ``tie_tolerance`` of the largest one are ties, and the
        earliest of them is returned. Curves computed in float32 by different
        but equally exact paths (the fast and the literal masking, another CPU
        or BLAS kernel) differ by ~1e-5; without a tolerance a near-tie could
        pick a different frame on another machine. ``0`` gives plain
        ``argmax`` (first exact maximum).

    Returns
    -------
    frames : ndarray of int, shape (...)
        The first frame ``t >= lower_bound`` with
        ``grad[t] >= max(grad[lower_bound:]) - tie_tolerance``, where
        ``grad = numpy.gradient(curves, axis=-1)``.

    Raises
    ------
    ValueError
        If ``lower_bound`` is not in ``[0, n_frames - 1]``, a curve is shorter
        than 2 frames, a curve holds NaN/inf, or ``tie_tolerance`` is negative.

    Examples
    --------
    >>> emergence_frames_from_curves([[0.1, 0.1, 0.1, 0.2, 0.8, 0.9]], 1)
    array([3])

    Two changes equal to within float32 rounding: the earlier frame wins on any CPU.

    >>> emergence_frames_from_curves([[0, 0, 0, 0.5, 0.5, 0.5, 1 + 1e-6, 1 + 1e-6]], 0)
    array([2])
    """
    curves = np.asarray(curves, dtype=float)
    n = curves.shape[-1]
    if n < 2:
        raise ValueError(f"curves need at least 2 frames; got {n}")
    _check_lower_bound(lower_bound, n)
    if not (np.isfinite(tie_tolerance) and tie_tolerance >= 0):
        raise ValueError(f"tie_tolerance must be a finite number >= 0; got {tie_tolerance!r}")
    if not np.isfinite(curves).all():
        raise ValueError("curves hold NaN or inf: no emergence frame can be located")
    grad = np.gradient(curves, axis=-1)[..., lower_bound:]
    near_max = grad >= grad.max(axis=-1, keepdims=True) - tie_tolerance
    return lower_bound + np.argmax(near_max, axis=-1)


def _check_lower_bound(lower_bound, n_frames):
    if not isinstance(lower_bound, numbers.Integral) or isinstance(lower_bound, bool):
        raise TypeError(f"lower_bound must be an integer frame index; got {lower_bound!r}")
    if not 0 <= lower_bound < n_frames - 1:
        raise ValueError(
            f"lower_bound={lower_bound} must satisfy 0 <= lower_bound < n_frames - 1 = "
            f"{n_frames - 1} for videos of {n_frames} frames (30 of 225 in the paper; "
            f"for {n_frames} frames the same fraction is lower_bound="
            f"{lower_bound_for(max(n_frames, 2))}, the default with lower_bound=None)"
        )


class NoEmergenceLocatedWarning(UserWarning):
    """Some videos have no located emergence (see ``EmergenceTimeLocator.transform``)."""


def _members_of(ensemble):
    members = list(ensemble.estimators_) if hasattr(ensemble, "estimators_") else [ensemble]
    for i, m in enumerate(members):
        if not (hasattr(m, "module_") and callable(getattr(m.module_, "forward", None))):
            raise TypeError(
                f"member {i} of the ensemble ({type(m).__name__}) has no fitted torch module "
                "(module_); EmergenceTimeLocator needs skflux.FluxEmergenceClassifier members"
            )
    return members


def _input_shape_of(ensemble, members):
    """``(frame, lat, lon)`` the members were trained on, ``(frame,)`` or None if unknown."""
    for obj in (ensemble, *members):
        shape = getattr(obj, "video_shape_in_", None)
        if shape is not None:
            return tuple(int(s) for s in shape)
    for m in members:
        n, size = getattr(m.module_, "n_frames", None), getattr(m.module_, "in_size", None)
        if n is not None and size is not None:
            return (int(n), *(int(s) for s in size))
    for obj in (ensemble, *members):
        n = getattr(obj, "n_frames_in_", None)
        if n is not None:
            return (int(n),)
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
        ``module_`` taking videos in Gauss) or a single fitted classifier (one
        member). An unfitted one is cloned and fitted by :meth:`fit` when
        ``X`` and ``y`` are given.
    lower_bound : int or None, default=None
        Frames before it are replaced by it, and no emergence is located at or
        before it. ``None``: the authors' 30 of 225 frames scaled to the video
        length (:func:`skflux.pipeline.lower_bound_for`: 30 at 225 frames, 4 at
        32). Must be below ``n_frames - 1``.
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
    video_shape_ : tuple of 3 int or None
        ``(frame, lat, lon)`` the ensemble was trained on (None when unknown);
        :meth:`transform` refuses videos of another shape.
    lower_bound_ : int
        The lower bound in use (``lower_bound`` or its scaled default); set by
        :meth:`fit` when the ensemble records its video length, else by
        :meth:`transform` from the videos.
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
    >>> class Ensemble:
    ...     estimators_ = [Member(0), Member(1), Member(2)]
    ...     threshold_ = 0.5
    >>> X = np.random.default_rng(0).normal(0, 300, (2, 16, 16, 16)).astype("float32")
    >>> result = EmergenceTimeLocator(Ensemble(), lower_bound=4).fit_transform(X)
    >>> result["member_frames"].shape
    (2, 3)
    >>> bool((result["member_frames"] >= 4).all())
    True
    >>> result["located"].dtype  # False where no emergence can be located: NaN frame
    dtype('bool')
    """

    _parameter_constraints = {
        "ensemble": "no_validation",  # a fitted ensemble need not be an estimator
        "lower_bound": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "method": [StrOptions(set(_METHODS))],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": "no_validation",  # str, torch.device or None: torch checks it
        "verbose": ["verbose"],
    }

    def __init__(self, ensemble, lower_bound=None, method="fast", batch_size=32, device=None,
                 verbose=0):
        self.ensemble = ensemble
        self.lower_bound = lower_bound
        self.method = method
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    def _fitted_ensemble(self, X, y, fit_params):
        ens = self.ensemble
        try:
            check_is_fitted(ens)
            _members_of(ens)
            return ens
        except NotFittedError:
            pass
        except TypeError:  # not an estimator check_is_fitted understands
            if hasattr(ens, "estimators_") or hasattr(ens, "module_"):
                return ens
        if X is None or y is None:
            raise NotFittedError(
                f"the ensemble ({type(ens).__name__}) is not fitted: fit it first or pass "
                "X and y to EmergenceTimeLocator.fit to fit a clone of it"
            )
        return clone(ens).fit(X, y, **fit_params)

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
        self._validate_params()
        self.ensemble_ = self._fitted_ensemble(X, y, fit_params)
        members = _members_of(self.ensemble_)
        self.n_members_ = len(members)
        shape = _input_shape_of(self.ensemble_, members)
        self.video_shape_ = shape if shape is not None and len(shape) == 3 else None
        self.n_frames_ = None if shape is None else shape[0]
        if self.n_frames_ is not None:
            self.lower_bound_ = self._resolve_lower_bound(self.n_frames_)
        self.threshold_ = float(getattr(self.ensemble_, "threshold_",
                                        getattr(self.ensemble_, "threshold", THRESHOLD_FALLBACK)))
        return self

    def _resolve_lower_bound(self, n_frames):
        """``lower_bound`` checked against ``n_frames``, or its default scaled to them."""
        if self.lower_bound is None:
            return lower_bound_for(int(n_frames))
        _check_lower_bound(self.lower_bound, n_frames)
        return int(self.lower_bound)

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

        Each video is read once (lazy DataArrays one video at a time, by a
        background thread while the networks run). Inside
        ``joblib.parallel_config(backend="dask")`` (or any joblib backend with
        more than one job), blocks of videos run in parallel, each worker
        reading its own videos from the file.

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
            On videos of another shape than the ensemble's (frames, lat, lon),
            a ``lower_bound`` too large for the videos, or NaN/inf in a video
            (named).
        """
        check_is_fitted(self, "ensemble_")
        X = self._check_X(X)
        members = _members_of(self.ensemble_)
        modules = [m.module_ for m in members]
        if _is_tensor(X):
            X = X.detach().cpu()
        with _eval_mode(modules):
            return masked_curves(modules, X, lower_bound=self.lower_bound_, method=self.method,
                                 batch_size=self.batch_size, device=self.device,
                                 verbose=self.verbose)

    def _check_X(self, X):
        X = check_videos(X, allow_nan=False)
        if self.video_shape_ is not None:
            check_video_shape(X, self.video_shape_, model="the ensemble")
        elif self.n_frames_ is not None and X.shape[1] != self.n_frames_:
            raise ValueError(
                f"X has {X.shape[1]} frames per video but the ensemble was trained on "
                f"{self.n_frames_}-frame videos: {resample_hint((self.n_frames_,))}"
            )
        self.lower_bound_ = self._resolve_lower_bound(X.shape[1])
        return X

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
              NaN where ``located`` is False;
            - ``emergence_time`` (datetime64): the video's ``time`` coordinate
              (frame 0) plus ``emergence_frame`` cadences; NaT without one or
              where ``located`` is False;
            - ``emergence_offset`` (timedelta64): ``emergence_frame`` cadences
              (NaT where not located);
            - ``located`` (bool): False when no emergence can be located: the
              members' median frame sits at the lower bound (the largest change
              is where the masking starts, or the curves are flat), or the video
              has fewer than 2 observed frames from the lower bound on (its
              ``observed`` coordinate, when it has one);
            - ``n_observed_frames`` (int): observed frames from the lower bound
              on (all frames without an ``observed`` coordinate);
            - ``member_frames`` (video, member; int): each member's frame;
            - ``frame_q25``, ``frame_q75``: the members' 25th/75th percentiles;
            - ``final_probability`` (video, member): each member's probability
              for the uncut video (cut-off at the last frame);

            the per-video coordinates of ``X`` (those named like an output
            variable, e.g. the simulator's ground-truth ``emergence_frame`` and
            ``emergence_time``, prefixed ``true_``) and attributes ``lower_bound``,
            ``method``, ``cadence_minutes``, ``threshold``, ``n_not_located``.

        Warns
        -----
        NoEmergenceLocatedWarning
            When some videos have no located emergence; the message counts them.

        Raises
        ------
        ValueError
            See :meth:`emergence_curves`.
        """
        import xarray as xr

        curves = self.emergence_curves(X)
        self.curves_ = curves
        lb = self.lower_bound_
        frames = emergence_frames_from_curves(curves, lb)  # (members, videos)
        self.member_frames_ = frames
        median = np.median(frames, axis=0)
        q25, q75 = np.percentile(frames, [25, 75], axis=0)
        n_videos = curves.shape[1]
        n_observed = _observed_from(X, lb, n_videos, curves.shape[2])
        located = (median > lb) & (n_observed >= MIN_OBSERVED_FRAMES)
        median = np.where(located, median, np.nan)
        cadence = _cadence_minutes(X)
        offset = np.full(n_videos, np.timedelta64("NaT", "ns"))
        offset[located] = np.round(median[located] * cadence * 60e9).astype(
            "int64").astype("timedelta64[ns]")
        coords = _video_coords(X, n_videos)
        coords["member"] = np.arange(curves.shape[0])
        if "time" in coords:
            start = np.asarray(coords["time"][1]).astype("datetime64[ns]")
            time = start + offset  # NaT stays NaT
        else:
            time = np.full(n_videos, np.datetime64("NaT", "ns"))
        n_not = int((~located).sum())
        if n_not:
            warnings.warn(
                f"{n_not} of {n_videos} videos: no emergence located (the largest change "
                f"sits at the lower bound, frame {lb}, or fewer than {MIN_OBSERVED_FRAMES} "
                f"frames from it on are observed); their emergence_frame is NaN and "
                f"emergence_time NaT (see the 'located' variable)",
                NoEmergenceLocatedWarning, stacklevel=2)
        ds = xr.Dataset(
            {
                "emergence_frame": (VIDEO_DIM, median.astype(float)),
                "emergence_time": (VIDEO_DIM, time),
                "emergence_offset": (VIDEO_DIM, offset),
                "member_frames": ((VIDEO_DIM, "member"), frames.T.astype(int)),
                "frame_q25": (VIDEO_DIM, q25),
                "frame_q75": (VIDEO_DIM, q75),
                "final_probability": ((VIDEO_DIM, "member"), curves[:, :, -1].T),
                "located": (VIDEO_DIM, located),
                "n_observed_frames": (VIDEO_DIM, n_observed.astype(int)),
            },
            coords=coords,
            attrs={"lower_bound": int(lb), "method": self.method,
                   "cadence_minutes": float(cadence), "threshold": self.threshold_,
                   "n_not_located": n_not},
        )
        ds["emergence_frame"].attrs["description"] = (
            "median over members of the frame of maximum probability gradient under masking "
            "(NaN: no emergence located)")
        ds["located"].attrs["description"] = (
            "False: the members' median frame is at the lower bound or too few frames from "
            "it on are observed; no emergence time is given")
        return ds


def _video_coords(X, n_videos):
    """Per-video coordinates of ``X``; ground truth named like an output gets ``true_``."""
    coords = {}
    if _is_dataarray(X):
        for name, c in X.coords.items():
            if c.dims == (VIDEO_DIM,):
                new = f"true_{name}" if name in _OUTPUT_VARS else name
                coords[new] = (VIDEO_DIM, c.values)
    if VIDEO_DIM not in coords:
        coords[VIDEO_DIM] = np.arange(n_videos)
    return coords


def _observed_from(X, lower_bound, n_videos, n_frames):
    """Observed frames of each video from ``lower_bound`` on (all without ``observed``)."""
    if _is_dataarray(X) and OBSERVED in X.coords:
        obs = np.asarray(X.coords[OBSERVED].values, dtype=bool)
        if obs.shape == (n_videos, n_frames):
            return obs[:, lower_bound:].sum(axis=1)
    return np.full(n_videos, n_frames - lower_bound)


def _cadence_minutes(X):
    if _is_dataarray(X):
        return float(X.attrs.get("cadence_minutes", CADENCE_MINUTES))
    return float(CADENCE_MINUTES)


__all__ = ["EmergenceTimeLocator", "NoEmergenceLocatedWarning", "emergence_frames_from_curves"]
