"""The month-block model ensemble: members, median, decision threshold, stability.

:class:`MonthBlockEnsemble` trains one clone of a classifier per month-block
split and random seed (Chatterjee et al.: models 1–5 or 6–9 × 2 realizations),
classifies with the median of the members' probabilities, sets the decision
threshold where precision and recall cross on a benchmark set, and flags
inferences whose threshold lies inside the members' 25th–75th percentile range
as unstable.
"""

import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import check_cv
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import atomic_path
from ._ensemble_members import (
    draw_base_seed,
    fit_member,
    is_skorch_net,
    is_torch_member,
    member_seeds,
    seed_mode,
    take,
)
from ._paper import STABILITY_BAND, TEST_MONTHS, THRESHOLD_FALLBACK
from ._targets import check_binary_target, decode
from ._validation import _is_dataarray, _is_tensor, check_videos, months_of
from .metrics import stable_mask
from .model_selection import MonthBlockSplit

__all__ = ["MonthBlockEnsemble", "precision_recall_threshold"]

#: ``format`` of the ``config.json`` written by :meth:`MonthBlockEnsemble.save`.
FORMAT = "skflux-month-block-ensemble"
#: Its version (1 was the command line's own layout, before the public ``save``).
FORMAT_VERSION = 2


# --------------------------------------------------------------------------- helpers
def _is_feature_matrix(X):
    """Whether ``X`` is plain tabular data (validated as scikit-learn does), not videos."""
    if _is_dataarray(X) or _is_tensor(X):
        return False
    shape = getattr(X, "shape", None)
    return shape is None or len(shape) < 3


def _n_samples(X):
    if hasattr(X, "shape") and len(X.shape):
        return int(X.shape[0])
    return len(X)


def precision_recall_threshold(y_true, score, *, pos_label=1):
    """The score threshold where the precision and recall curves intersect.

    Precision ``P(t)`` and recall ``R(t)`` of the rule ``score >= t`` are
    evaluated at every distinct score (:func:`sklearn.metrics.precision_recall_curve`).
    At the lowest threshold recall is 1, so ``P - R <= 0``; as ``t`` grows recall
    falls and precision generally rises. Let ``t_i`` be the lowest threshold
    with ``P >= R`` (ignoring thresholds without any true positive, where
    ``P = R = 0``). If ``P = R`` there, ``t_i`` is returned; otherwise the zero of
    ``P - R`` linearly interpolated between ``t_{i-1}`` and ``t_i``. When
    precision stays below recall everywhere, the threshold minimizing
    ``|P - R|`` is returned with a warning.

    Since ``P = TP / (TP + FP)`` and ``R = TP / (TP + FN)``, ``P >= R`` exactly
    when ``FP <= FN``: with distinct scores the curves meet at the score where
    the rule predicts as many positives as there are; interpolation matters
    only where tied scores make ``P - R`` jump over zero.

    Parameters
    ----------
    y_true : array-like of shape (n_videos,)
        True labels.
    score : array-like of shape (n_videos,)
        Scores, e.g. the ensemble median probability.
    pos_label : int or str, default 1
        Label of the positive class.

    Returns
    -------
    threshold : float

    Raises
    ------
    ValueError
        If ``y_true`` does not contain both classes or shapes differ.

    Examples
    --------
    >>> from skflux.ensemble import precision_recall_threshold
    >>> y = [0, 0, 0, 1, 0, 1, 1, 1]
    >>> s = [0.1, 0.2, 0.3, 0.4, 0.7, 0.75, 0.8, 0.9]
    >>> round(precision_recall_threshold(y, s), 3)  # P = R = 0.75 at 0.7
    0.7
    """
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true {y.shape} and score {s.shape} must be 1-D of equal length")
    positive = y == pos_label
    if positive.all() or not positive.any():
        raise ValueError(
            "the benchmark labels must contain both classes to define a precision-recall "
            f"threshold; got only {np.unique(y).tolist()}"
        )
    precision, recall, thresholds = precision_recall_curve(positive, s)
    # the last point (P=1, R=0) has no threshold; points with R=0 (no true positive) carry
    # no information about the crossing
    keep = recall[:-1] > 0
    precision, recall, thresholds = precision[:-1][keep], recall[:-1][keep], thresholds[keep]
    d = precision - recall  # d[0] < 0: recall is 1 and precision < 1 at the lowest threshold
    above = np.flatnonzero(d >= 0)
    if above.size == 0:
        warnings.warn(
            "precision stays below recall at every threshold on these data; using the "
            "threshold where they are closest", UserWarning, stacklevel=2,
        )
        return float(thresholds[np.argmin(np.abs(d))])
    i = above[0]
    if d[i] == 0 or i == 0:
        return float(thresholds[i])
    t0, t1 = thresholds[i - 1], thresholds[i]
    return float(t0 + (t1 - t0) * (-d[i - 1]) / (d[i] - d[i - 1]))


def _torch_proba(modules, devices, precisions, X, batch_size, verbose=0):
    """P(positive) of every network for every video, ``(n_members, n_videos)``, in this process.

    Each batch is read once (lazy videos by a background thread, ahead of the
    networks), moved once per device and given, in Gauss, to every network
    (under bfloat16 autocast for a member with ``precision="bf16"``).
    """
    import torch
    from tqdm.auto import tqdm

    from .nn._data import autocast_context, iter_video_batches

    for module in modules:
        module.eval()
    out = np.empty((len(modules), len(X)), dtype=float)
    start = 0
    with torch.no_grad():
        for xb in tqdm(iter_video_batches(X, batch_size), total=-(-len(X) // batch_size),
                       desc="ensemble inference", disable=not verbose):
            on_device = {}  # device -> the batch there: read and moved once
            stop = start + xb.shape[0]
            for i, (module, dev, precision) in enumerate(zip(modules, devices, precisions)):
                if dev not in on_device:
                    on_device[dev] = xb.to(dev)
                with autocast_context(precision, dev):
                    logits = module(on_device[dev])
                out[i, start:stop] = torch.sigmoid(logits.float()).cpu().numpy()
            start = stop
    return out


# --------------------------------------------------------------------------- estimator
class MonthBlockEnsemble(ClassifierMixin, BaseEstimator):
    """Ensemble of one classifier per month-block split and random seed.

    For every split of ``cv`` and every one of ``n_seeds`` seeds, a
    :func:`~sklearn.base.clone` of ``estimator`` is fitted on the split's
    training months and early-stopped on its own validation block (as models
    1–9 of Chatterjee et al.). The seed is set through ``random_state`` when the
    estimator has that parameter (for skorch nets without it, through
    ``torch.manual_seed`` inside the member's fit); it changes data order and
    dropout. Members fit in parallel with joblib, so
    ``with joblib.parallel_config(backend="dask"): ens.fit(...)`` runs them on a
    Dask cluster.

    How a member is told about its validation block:

    * if its ``fit`` accepts ``X_valid`` and ``y_valid``, they are passed;
    * else, for a skorch net (such as :class:`skflux.FluxEmergenceClassifier`),
      ``train_split`` is set to
      ``skorch.helper.predefined_split(net.get_dataset(X_valid, y_valid))``
      (and an internal ``valid_months`` split switched off) during the fit,
      then restored, so no validation data stay referenced; early stopping
      then monitors the member's own validation block;
    * else (any other scikit-learn classifier) the member fits on the training
      part only and the validation block is unused.

    A video's probability of ``pos_label_`` is the median of the members'
    probabilities; it is classified positive when the median is ``>= threshold_``.
    Members are trained on the codes 1 (positive class) / 0, so any two labels
    work (``0``/``1``, bools, ``-1``/``1``, ``"non-emergence"``/``"emergence"``).

    Parameters
    ----------
    estimator : classifier
        Binary classifier with ``fit`` and ``predict_proba`` (e.g.
        :class:`skflux.FluxEmergenceClassifier`, or any scikit-learn classifier).
    cv : cross-validator, int or iterable of (train, validation), optional
        Splits of the training data; default :class:`~skflux.MonthBlockSplit`
        ``()`` (five blocks of months 1–10). Use
        :meth:`MonthBlockSplit.uncertainty() <skflux.MonthBlockSplit.uncertainty>`
        for the uncertainty ensemble with months 9–10 as benchmark set.
    n_seeds : int, default 2
        Random realizations per split.
    threshold : float in [0, 1] or "benchmark", default 0.5
        Decision threshold on the median probability. ``"benchmark"``: ``fit``
        holds out the videos of ``benchmark_months``, trains the members on the
        rest and sets ``threshold_`` where precision equals recall of the median
        on the held-out videos (:func:`precision_recall_threshold`; the paper
        finds 0.6). If those videos lack a class, ``threshold_`` is 0.5 with a
        ``UserWarning``. :meth:`fit_threshold` sets it from any benchmark set
        after fitting; to set it by hand, assign ``threshold_``.
    benchmark_months : sequence of int, optional
        Months (1–12) of the benchmark videos for ``threshold="benchmark"``.
        Default: the months 1–10 in no block of a :class:`~skflux.MonthBlockSplit`
        ``cv`` (9 and 10 for :meth:`~skflux.MonthBlockSplit.uncertainty`).
    pos_label : int, bool, str or None, default None
        The positive class (emergence). None: ``"emergence"`` when the labels
        are strings holding it, else the larger label (``classes_[1]``).
    n_jobs : int, optional
        Members fitted in parallel, and blocks of videos predicted in parallel
        (joblib semantics; None means 1 unless in a :func:`joblib.parallel_config`
        context). Inside ``joblib.parallel_config(backend="dask")`` both run on
        the workers of a :class:`dask.distributed.Client`; videos opened with
        :func:`skflux.io.open_videos` travel as their file's path and each
        worker reads its own (see the scaling guide).
    random_state : int, RandomState or None
        Draws the base seed ``b``; the member of split ``k`` and seed ``s`` gets
        the seed :class:`numpy.random.SeedSequence` ``([b, k, s])`` (the scheme
        :class:`~skflux.relabel.IterativeRelabeler` shares).
    batch_size : int, optional
        Videos per inference batch for neural-network members; default the
        first member's ``batch_size`` (or 10).
    verbose : int, default 0
        Progress bars over members (fit) and video batches (inference).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members, split-major (split 0 seed 0, split 0 seed 1, ...),
        trained on the labels coded 1 (``pos_label_``) / 0.
    splits_ : list of tuple of ndarray
        ``(train, validation)`` indices into the training data, one per member
        (not kept by :meth:`save`).
    member_info_ : pandas.DataFrame
        One row per member: ``split``, ``seed_index``, ``seed``, ``n_train``,
        ``n_valid``, ``validation`` (how the validation block was used) and
        ``seeded_by``.
    threshold_ : float
        Decision threshold on the median probability.
    threshold_info_ : dict
        Where ``threshold_`` comes from: ``"source"`` (text), ``"months"``
        (benchmark months, empty when none) and ``"n_benchmark"`` (videos).
    classes_ : ndarray of shape (2,)
        Class labels, sorted.
    pos_label_ : object
        The positive class (emergence), one of ``classes_``.
    metadata_ : dict
        Only on an ensemble read by :meth:`load`: the ``metadata`` given to
        :meth:`save`.
    n_features_in_ : int
        Only set when the training data are 2-D features.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skflux import MonthBlockEnsemble, MonthBlockSplit
    >>> rng = np.random.default_rng(0)
    >>> months = np.repeat(np.arange(1, 11), 10)
    >>> y = np.tile(["non-emergence", "emergence"], 50)
    >>> X = rng.normal(size=(100, 3)) + (y == "emergence")[:, None]
    >>> ens = MonthBlockEnsemble(LogisticRegression(), cv=MonthBlockSplit.uncertainty(),
    ...                          threshold="benchmark", random_state=0)
    >>> ens = ens.fit(X, y, groups=months)
    >>> len(ens.estimators_), ens.predict_proba_members(X).shape
    (8, (8, 100))
    >>> ens.threshold_info_["months"], ens.threshold_info_["n_benchmark"]
    ([9, 10], 20)
    >>> ens.predict(X[:2]).tolist()
    ['non-emergence', 'emergence']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object"],
        "n_seeds": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, 1, closed="both"), StrOptions({"benchmark"})],
        "benchmark_months": ["array-like", None],
        "pos_label": [Real, str, "boolean", None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, cv=None, n_seeds=2, threshold=THRESHOLD_FALLBACK,
                 benchmark_months=None, pos_label=None, n_jobs=None, random_state=None,
                 batch_size=None, verbose=0):
        self.estimator = estimator
        self.cv = cv
        self.n_seeds = n_seeds
        self.threshold = threshold
        self.benchmark_months = benchmark_months
        self.pos_label = pos_label
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # binary: emergence or not
        base = get_tags(self.estimator).input_tags  # the members decide
        tags.input_tags.sparse, tags.input_tags.allow_nan = base.sparse, base.allow_nan
        return tags

    # ------------------------------------------------------------------ fit
    def _check_X(self, X, reset):
        if _is_feature_matrix(X):
            return validate_data(self, X, reset=reset, accept_sparse="csr", dtype=None,
                                 ensure_all_finite=False)
        if reset and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return X

    def _benchmark_videos(self, X, groups, n, cv):
        """Positions of the benchmark videos and their months (``threshold="benchmark"``)."""
        months = self.benchmark_months
        if months is None:
            if not isinstance(cv, MonthBlockSplit):
                raise ValueError(
                    "threshold='benchmark' needs benchmark_months when cv is not a "
                    f"MonthBlockSplit (cv={cv!r}); e.g. benchmark_months=[9, 10]")
            months = sorted(set(range(1, 13)) - set(TEST_MONTHS) - set(cv.months_used))
            if not months:
                raise ValueError(
                    f"threshold='benchmark': the blocks of cv={cv!r} cover months 1-10, so no "
                    "month is left for the benchmark; use cv=MonthBlockSplit.uncertainty() "
                    "(benchmark months 9-10) or pass benchmark_months")
        months = sorted({int(m) for m in np.ravel(months)})
        bad = [m for m in months if not 1 <= m <= 12]
        if not months or bad:
            raise ValueError(f"benchmark_months must be calendar months 1-12; got "
                             f"{self.benchmark_months!r}")
        return np.flatnonzero(np.isin(months_of(X, groups, n=n), months)), months

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **fit_params):
        """Fit one member per split × seed (and, with ``threshold="benchmark"``, the threshold).

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Training videos (or features, for generic classifiers). A lazy
            DataArray stays lazy: members read their own subsets.
        y : array-like of shape (n_videos,)
            Labels: any two classes.
        groups : array-like of int or datetime64, optional
            Month or datetime of each video, for month-block splitters and the
            benchmark months; by default taken from X's ``month``/``time``
            coordinate. Passed on (restricted to its training videos) to a
            member whose ``fit`` takes ``groups``.
        **fit_params : dict
            Passed to every member's ``fit``.

        Returns
        -------
        self : MonthBlockEnsemble

        Raises
        ------
        ValueError
            If ``y`` is not binary or its length differs from ``X``'s, the
            splitter fails (e.g. a month block without videos), or the benchmark
            months leave a split without training or validation videos.
        """
        X = self._check_X(X, reset=True)
        n = _n_samples(X)
        target = check_binary_target(y, pos_label=self.pos_label, n_samples=n, X=X)
        y01 = target.encoded
        cv = MonthBlockSplit() if self.cv is None else check_cv(self.cv, y01, classifier=True)
        splits = [(np.asarray(tr, dtype=int), np.asarray(va, dtype=int))
                  for tr, va in cv.split(X, y01, groups)]
        if not splits:
            raise ValueError(f"cv={cv!r} produced no splits")
        bench, months = np.array([], dtype=int), []
        if isinstance(self.threshold, str):  # "benchmark": hold its videos out of every split
            bench, months = self._benchmark_videos(X, groups, n, cv)
            splits = [(np.setdiff1d(tr, bench), np.setdiff1d(va, bench)) for tr, va in splits]
            for k, (tr, va) in enumerate(splits):
                if tr.size == 0 or va.size == 0:
                    raise ValueError(
                        f"split {k} of cv has no {'training' if tr.size == 0 else 'validation'}"
                        f" videos outside the benchmark months {months}")
        self._fit_splits(X, y01, splits, draw_base_seed(self.random_state), groups, fit_params,
                         classes=target.classes, pos_label=target.pos_label)
        if isinstance(self.threshold, str):
            self._set_benchmark_threshold(take(X, bench), y01[bench], months)
        return self

    def _fit_splits(self, X, y01, splits, base_seed, groups=None, fit_params=None, *,
                    classes, pos_label):
        """Fit ``n_seeds`` members per ``(train, validation)`` split on 0/1 labels.

        The step shared with :class:`~skflux.relabel.IterativeRelabeler`, which
        gives its own splits and base seed (kept in its review log). Sets every
        fitted attribute; ``threshold_`` is the ``threshold`` parameter (0.5
        for ``"benchmark"``, which :meth:`fit` then sets).
        """
        import pandas as pd
        from tqdm.auto import tqdm

        if is_skorch_net(self.estimator) and not (_is_dataarray(X) or _is_feature_matrix(X)):
            check_videos(X)  # NaN/inf named by the position in the caller's X, not a subset's
        seeds = member_seeds(base_seed, len(splits), self.n_seeds)
        if self.n_seeds > 1 and seed_mode(self.estimator) == "none":
            warnings.warn(
                f"{type(self.estimator).__name__} has no random_state parameter: the "
                f"{self.n_seeds} members of each split will be identical",
                UserWarning, stacklevel=3,
            )
        jobs = [(k, j) for k in range(len(splits)) for j in range(self.n_seeds)]
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(fit_member)(clone(self.estimator), X, y01, splits[k][0], splits[k][1],
                                seeds[k][j], fit_params or {}, groups)
            for k, j in jobs
        )
        results = list(tqdm(results, total=len(jobs), desc="fitting members",
                            disable=not self.verbose))
        self.estimators_ = [r[0] for r in results]
        self.splits_ = [splits[k] for k, _ in jobs]
        self.member_info_ = pd.DataFrame({
            "split": [k for k, _ in jobs],
            "seed_index": [j for _, j in jobs],
            "seed": [seeds[k][j] for k, j in jobs],
            "n_train": [splits[k][0].size for k, _ in jobs],
            "n_valid": [splits[k][1].size for k, _ in jobs],
            "validation": [r[1] for r in results],
            "seeded_by": [r[2] for r in results],
        })
        self.classes_, self.pos_label_ = np.asarray(classes), pos_label
        self.threshold_ = (THRESHOLD_FALLBACK if isinstance(self.threshold, str)
                           else float(self.threshold))
        self.threshold_info_ = {"source": "the threshold parameter", "months": [],
                                "n_benchmark": 0}
        return self

    def _set_benchmark_threshold(self, X_bench, y01_bench, months):
        n_bench = int(y01_bench.size)
        self.threshold_info_ = {"source": "", "months": list(months), "n_benchmark": n_bench}
        if np.unique(y01_bench).size < 2:
            warnings.warn(
                f"the benchmark months {months} hold {n_bench} videos of "
                f"{np.unique(y01_bench).size} class(es): no precision-recall crossing; "
                f"threshold_ left at {THRESHOLD_FALLBACK}", UserWarning, stacklevel=3)
            self.threshold_info_["source"] = (
                f"default {THRESHOLD_FALLBACK} (benchmark months {months} lack a class)")
            return
        med = np.median(self.predict_proba_members(X_bench), axis=0)
        self.threshold_ = precision_recall_threshold(y01_bench, med, pos_label=1)
        self.threshold_info_["source"] = (
            f"precision = recall on {n_bench} benchmark videos (months "
            f"{', '.join(map(str, months))})")

    # ------------------------------------------------------------------ inference
    def predict_proba_members(self, X):
        """Probability of the positive class from every member.

        Neural-network members (fitted skorch nets such as
        :class:`skflux.FluxEmergenceClassifier`) share one pass over the videos:
        each batch is read once (from disk by a background thread, ahead of
        the networks) and given, in Gauss, to every member's ``module_`` (eval
        mode, no gradients; the module clips and scales it itself). With
        ``n_jobs`` (or a joblib context) above one, blocks of whole batches run
        in parallel. Other members use their own ``predict_proba``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos (or features for generic members).

        Returns
        -------
        proba : ndarray of shape (n_members, n_videos)
        """
        check_is_fitted(self, "estimators_")
        X = self._check_X(X, reset=False)
        return self._member_proba(self.estimators_, X)

    def _member_proba(self, members, X):
        if all(is_torch_member(m) for m in members) and getattr(X, "ndim", None) == 4:
            return self._proba_torch(members, X)
        out = []
        for m in members:
            cols = np.flatnonzero(np.asarray(m.classes_) == 1)
            if cols.size != 1:
                raise ValueError(f"a member's classes_ {list(m.classes_)} lack the positive "
                                 "code 1 (members are trained on 1 = positive, 0 = other)")
            out.append(np.asarray(m.predict_proba(X))[:, cols[0]])
        return np.stack(out).astype(float)

    def _proba_torch(self, members, X):
        from joblib import Parallel, delayed, effective_n_jobs

        from .nn._data import check_video_shape

        X = check_videos(X, allow_nan=True)  # finiteness is checked per video while reading
        for m in members:  # as each member refuses them: a network sees its own input size
            check_video_shape(X, getattr(m, "video_shape_in_", None), model=type(m).__name__)
        batch_size = self.batch_size or getattr(members[0], "batch_size", None) or 10
        modules = [m.module_ for m in members]
        devices = [str(getattr(m, "device", "cpu") or "cpu") for m in members]
        precisions = [getattr(m, "precision", "float32") for m in members]
        n_videos = len(X)
        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs <= 1 or n_videos <= batch_size:
            return _torch_proba(modules, devices, precisions, X, batch_size, self.verbose)
        # blocks of whole batches, one per job: a lazy DataArray travels as its file's
        # path and each worker (process, dask worker) reads its own videos
        n_blocks = min(n_jobs, -(-n_videos // batch_size))
        bounds = np.linspace(0, -(-n_videos // batch_size), n_blocks + 1).astype(int) * batch_size
        blocks = [np.arange(a, min(b, n_videos)) for a, b in zip(bounds[:-1], bounds[1:])]
        parts = Parallel(n_jobs=self.n_jobs)(
            delayed(_torch_proba)(modules, devices, precisions, take(X, block), batch_size)
            for block in blocks if block.size)
        return np.concatenate(parts, axis=1)

    def out_of_fold_proba(self, X):
        """Out-of-fold probability of the positive class for the training videos.

        Each video of a validation block is predicted by the members of that
        split only (the median over its seeds), which never trained on it.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            The training data given to :meth:`fit` (same videos, same order).

        Returns
        -------
        proba : ndarray of shape (n_videos,)
            NaN for videos in no validation block (e.g. benchmark or test months).

        Raises
        ------
        ValueError
            If ``X`` is shorter than the training data or a video is in two
            validation blocks (e.g. a repeated k-fold ``cv``).
        """
        check_is_fitted(self, "splits_")
        X = self._check_X(X, reset=False)
        n = _n_samples(X)
        out = np.full(n, np.nan)
        done = np.zeros(n, bool)
        members = np.asarray(self.member_info_["split"])
        for k in np.unique(members):
            idx = np.flatnonzero(members == k)
            val = self.splits_[idx[0]][1]
            if val.size and val.max() >= n:
                raise ValueError(f"X holds {n} videos; split {k} validates on video "
                                 f"{int(val.max())}: pass the training data")
            if done[val].any():
                raise ValueError(f"video {int(val[done[val]][0])} is in two validation blocks "
                                 "(split {k} and an earlier one): no single out-of-fold model")
            done[val] = True
            if val.size:
                proba = self._member_proba([self.estimators_[i] for i in idx], take(X, val))
                out[val] = np.median(proba, axis=0)
        return out

    def _proba_columns(self, med):
        pos_first = self.classes_[0] == self.pos_label_
        return np.column_stack([med, 1.0 - med] if pos_first else [1.0 - med, med])

    def predict_proba(self, X):
        """Class probabilities from the members' median.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.

        Returns
        -------
        proba : ndarray of shape (n_videos, 2)
            Columns ordered as ``classes_``: the median probability of
            ``pos_label_`` and one minus it.
        """
        med = np.median(self.predict_proba_members(X), axis=0)
        return self._proba_columns(med)

    def quantile(self, X, q):
        """Quantile(s) of the members' positive-class probabilities.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.
        q : float or array-like of float
            Quantile(s) in [0, 1] (0.5: the median).

        Returns
        -------
        quantiles : ndarray of shape (n_videos,) or (len(q), n_videos)
        """
        return np.quantile(self.predict_proba_members(X), q, axis=0)

    def predict(self, X):
        """Class labels: ``pos_label_`` where the median probability is ``>= threshold_``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.

        Returns
        -------
        y_pred : ndarray of shape (n_videos,)
            Labels from ``classes_``.
        """
        check_is_fitted(self, "threshold_")
        med = np.median(self.predict_proba_members(X), axis=0)
        return decode((med >= self.threshold_).astype(int), self.classes_, self.pos_label_)

    def fit_threshold(self, X, y):
        """Set ``threshold_`` where precision and recall cross on a benchmark set.

        The score is the members' median probability; the intersection is
        defined in :func:`precision_recall_threshold`. ``threshold="benchmark"``
        does this within :meth:`fit`.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Benchmark videos (never used to train the members, e.g. months
            9–10 for :meth:`MonthBlockSplit.uncertainty`).
        y : array-like of shape (n_videos,)
            Their labels, from ``classes_``.

        Returns
        -------
        self : MonthBlockEnsemble
        """
        check_is_fitted(self, "estimators_")
        y01 = check_binary_target(y, pos_label=self.pos_label_, n_samples=_n_samples(X), X=X,
                                  classes=self.classes_).encoded
        med = np.median(self.predict_proba_members(X), axis=0)
        self.threshold_ = precision_recall_threshold(y01, med, pos_label=1)
        self.threshold_info_ = {
            "source": f"precision = recall on {y01.size} benchmark videos (fit_threshold)",
            "months": [], "n_benchmark": int(y01.size)}
        return self

    def stability(self, X, band=STABILITY_BAND):
        """Whether each inference is stable (threshold outside the members' band).

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.
        band : tuple of float, default (0.25, 0.75)
            Quantile range of the members' probabilities.

        Returns
        -------
        stable : ndarray of bool, shape (n_videos,)
            True where ``threshold_`` is outside the band (see
            :func:`skflux.metrics.stable_mask`).
        """
        check_is_fitted(self, "threshold_")
        return stable_mask(self.predict_proba_members(X), self.threshold_, band)

    # ------------------------------------------------------------------ persistence
    def save(self, path, *, metadata=None, overwrite=False):
        """Write the fitted ensemble to a directory (JSON and tensors, no pickle).

        Layout (format ``"skflux-month-block-ensemble"``, version 2)::

            path/config.json   ensemble parameters, threshold_ and threshold_info_,
                               classes_, pos_label_, the cv's month blocks,
                               member_info_ and metadata
            path/member_00/    one directory per member, written by
            path/member_01/    FluxEmergenceClassifier.save (config.json, weights.pt)
            ...

        The directory is written under a temporary name beside ``path`` and
        renamed into place when complete, so a crash never leaves a half-written
        model under the final name. :meth:`load` reads it back.

        Parameters
        ----------
        path : str or path-like
            The model directory to create.
        metadata : dict, optional
            JSON-able information to keep with the model (data set, command
            line...); :meth:`load` returns it as ``metadata_``.
        overwrite : bool, default False
            Replace an existing skflux ensemble directory at ``path``. Without
            it an existing ``path`` is refused; with it, anything else than an
            skflux ensemble directory is still refused.

        Returns
        -------
        path : pathlib.Path

        Raises
        ------
        TypeError
            If a member is not a :class:`~skflux.FluxEmergenceClassifier` (other
            estimators cannot be saved without pickle), or ``metadata`` is not
            JSON-able.
        FileExistsError
            If ``path`` exists (see ``overwrite``).
        """
        from ._jsonutil import json_default
        from ._model_dir import read_config, write_config
        from .nn import FluxEmergenceClassifier

        check_is_fitted(self, "estimators_")
        for i, member in enumerate(self.estimators_):
            if not isinstance(member, FluxEmergenceClassifier):
                raise TypeError(
                    f"member {i} is a {type(member).__module__}.{type(member).__qualname__}; "
                    "MonthBlockEnsemble.save writes FluxEmergenceClassifier members only "
                    "(others would need pickle, which skflux never reads back)")
        path = Path(path)
        if path.exists():
            if not overwrite:
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it, or "
                                      "choose another path")
            read_config(path, FORMAT, FORMAT_VERSION)  # refuses anything but an ensemble
        import json

        try:
            json.dumps(metadata, default=json_default)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"metadata must be JSON-able: {exc}") from None
        cv = self.cv
        cv_config = ({"blocks": [[int(m) for m in b] for b in cv.blocks],
                      "exclude": None if cv.exclude is None else [int(m) for m in cv.exclude]}
                     if isinstance(cv, MonthBlockSplit) else
                     None if cv is None else {"repr": repr(cv)})
        params = {k: getattr(self, k) for k in ("n_seeds", "threshold", "benchmark_months",
                                                 "pos_label", "batch_size")}
        params["random_state"] = (int(self.random_state)
                                  if isinstance(self.random_state, Integral) else None)
        names = [f"member_{i:02d}" for i in range(len(self.estimators_))]
        payload = {
            "params": params, "cv": cv_config, "threshold_": float(self.threshold_),
            "threshold_info": getattr(self, "threshold_info_", {}),
            "classes": list(self.classes_), "pos_label": self.pos_label_,
            "members": names,
            "member_info": self.member_info_.to_dict(orient="records"),
            "metadata": metadata or {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # an existing ensemble directory (overwrite=True) is swapped out only when complete
        with atomic_path(path, overwrite=bool(overwrite)) as tmp:
            tmp.mkdir()
            for name, member in zip(names, self.estimators_):
                member.save(tmp / name)
            write_config(tmp, FORMAT, FORMAT_VERSION, payload)
        return path

    @classmethod
    def load(cls, path, *, device=None):
        """Read an ensemble written by :meth:`save` (weights with ``weights_only=True``).

        Parameters
        ----------
        path : str or path-like
            The model directory.
        device : str or torch.device, optional
            Where the members run (default: the device they were saved from).

        Returns
        -------
        ensemble : MonthBlockEnsemble
            Fitted: ``estimators_``, ``member_info_``, ``threshold_``,
            ``threshold_info_``, ``classes_``, ``pos_label_`` and ``metadata_``
            (``splits_`` are not kept: they index the training data).

        Raises
        ------
        skflux._model_dir.ModelDirectoryError (a ValueError)
            If the directory or a file in it is missing, corrupt, of another
            format or of a newer version; if ``threshold_`` is not a number
            in [0, 1]; or if a count is out of bounds: ``n_jobs`` beyond
            ``-1`` or 1..4 x the CPU cores, ``n_seeds`` beyond 1..1000, a
            batch of videos over 32 GiB, a member's network over 2**28
            parameters (see :mod:`skflux._model_dir`). The message names the
            file and the key.
        """
        import pandas as pd

        from ._model_dir import (
            CONFIG,
            MAX_BATCH_BYTES,
            MAX_N_JOBS,
            ModelDirectoryError,
            check_count,
            check_fraction,
            read_config,
        )
        from .nn import FluxEmergenceClassifier

        path = Path(path)
        config = read_config(path, FORMAT, FORMAT_VERSION, required=(
            "params", "threshold_", "classes", "pos_label", "members", "member_info"))
        where = path / CONFIG
        if config["format_version"] < 2:
            raise ModelDirectoryError(
                f"{where}: format version {config['format_version']} (the command line's "
                "layout before MonthBlockEnsemble.save); refit and save the model again")
        names = config["members"]
        if (not isinstance(names, list) or not names
                or names != [f"member_{i:02d}" for i in range(len(names))]):
            raise ModelDirectoryError(f"{where}: corrupt model config (members {names!r})")
        members = [FluxEmergenceClassifier.load(path / name, device=device) for name in names]
        params = config["params"]
        if not isinstance(params, dict):
            raise ModelDirectoryError(f"{where}: corrupt model config (params is not an object)")
        params = dict(params)
        if "n_seeds" in params:  # a refit trains splits x n_seeds members
            params["n_seeds"] = check_count(where, "params.n_seeds", params["n_seeds"], 1, 1000)
        if "n_jobs" in params:  # not written by save; bounded where a config holds it
            params["n_jobs"] = check_count(where, "params.n_jobs", params["n_jobs"], 1,
                                           MAX_N_JOBS, none=True, also=(-1,))
        if params.get("batch_size") is not None:
            batch = check_count(where, "params.batch_size", params["batch_size"], 1,
                                MAX_BATCH_BYTES)
            video_bytes = 4 * int(np.prod(members[0].video_shape_in_))
            if batch * video_bytes > MAX_BATCH_BYTES:
                gib = batch * video_bytes / 2**30
                raise ModelDirectoryError(
                    f"{where}: params.batch_size {batch} would read {gib:,.1f} GiB of videos"
                    " per batch (at most {MAX_BATCH_BYTES / 2**30:.0f} GiB are "
                    "loaded from a file)")
            params["batch_size"] = batch
        threshold = check_fraction(where, "threshold_", config["threshold_"])
        cv = config.get("cv")
        try:
            params["cv"] = (MonthBlockSplit(blocks=tuple(map(tuple, cv["blocks"])),
                                            exclude=cv["exclude"])
                            if isinstance(cv, dict) and "blocks" in cv else None)
            ens = cls(clone(members[0]), **params)
            ens._validate_params()
            classes = np.asarray(config["classes"])
            pos_label = config["pos_label"]
            if classes.shape != (2,) or pos_label not in classes.tolist():
                raise ValueError(f"classes {config['classes']!r}, pos_label {pos_label!r}")
            info = pd.DataFrame.from_records(config["member_info"])
            if len(info) != len(members):
                raise ValueError(f"{len(info)} member_info rows for {len(members)} members")
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelDirectoryError(f"{where}: corrupt model config ({exc})") from exc
        ens.estimators_, ens.member_info_ = members, info
        ens.classes_, ens.pos_label_, ens.threshold_ = classes, pos_label, threshold
        ens.threshold_info_ = dict(config.get("threshold_info") or {})
        ens.metadata_ = dict(config.get("metadata") or {})
        return ens
