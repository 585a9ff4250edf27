"""The month-block model ensemble: members, median, decision threshold, stability.

:class:`MonthBlockEnsemble` trains one clone of a classifier per month-block
split and random seed (Chatterjee et al.: models 1–5 or 6–9 × 2 realizations),
classifies with the median of the members' probabilities, sets the decision
threshold where precision and recall cross on a benchmark set, and flags
inferences whose threshold lies inside the members' 25th–75th percentile range
as unstable.
"""

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._members import fit_member as _fit_member
from ._members import seed_mode as _seed_mode
from ._validation import check_videos
from .metrics import stable_mask
from .model_selection import MonthBlockSplit

__all__ = ["MonthBlockEnsemble", "precision_recall_threshold"]


# --------------------------------------------------------------------------- helpers
def _is_torch_member(m):
    """Whether ``m`` is a fitted FluxEmergenceClassifier-like net (module_ + field_limit)."""
    return (
        hasattr(m, "module_")
        and hasattr(m, "field_limit")
        and callable(getattr(m.module_, "forward", None))
    )


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

    A video's probability is the median of the members' probabilities; it is
    classified positive when the median is ``>= threshold_``.

    Parameters
    ----------
    estimator : classifier
        Binary classifier with ``predict_proba`` (e.g.
        :class:`skflux.FluxEmergenceClassifier`, or any scikit-learn classifier).
    cv : cross-validator or iterable of (train, validation), optional
        Splits of the training data; default :class:`~skflux.MonthBlockSplit`
        ``()`` (five blocks of months 1–10). Use
        :meth:`MonthBlockSplit.uncertainty() <skflux.MonthBlockSplit.uncertainty>`
        for the uncertainty ensemble with months 9–10 as benchmark set.
    n_seeds : int, default 2
        Random realizations per split.
    threshold : float, default 0.5
        Initial decision threshold on the median probability; replaced by
        :meth:`fit_threshold` (the paper finds 0.6). To set it by hand after
        fitting, assign ``threshold_``.
    n_jobs : int, optional
        Members fitted in parallel (joblib semantics; None means 1 unless in a
        :func:`joblib.parallel_config` context).
    random_state : int, RandomState or None
        Draws the members' seeds.
    batch_size : int, optional
        Videos per inference batch for neural-network members; default the
        first member's ``batch_size`` (or 10).
    verbose : int, default 0
        Progress bars over members (fit) and video batches (inference).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members, split-major (split 0 seed 0, split 0 seed 1, ...).
    splits_ : list of tuple of ndarray
        ``(train, validation)`` indices into the training data, one per member.
    member_info_ : pandas.DataFrame
        One row per member: ``split``, ``seed_index``, ``seed``, ``n_train``,
        ``n_valid``, ``validation`` (how the validation block was used) and
        ``seeded_by``.
    threshold_ : float
        Decision threshold on the median probability.
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the positive class (emergence).
    n_features_in_ : int
        Only set when the training data are 2-D features.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skflux import MonthBlockEnsemble, MonthBlockSplit
    >>> rng = np.random.default_rng(0)
    >>> months = np.repeat(np.arange(1, 9), 10)
    >>> y = np.tile([0, 1], 40)
    >>> X = rng.normal(size=(80, 3)) + y[:, None]
    >>> ens = MonthBlockEnsemble(LogisticRegression(), cv=MonthBlockSplit.uncertainty(),
    ...                          random_state=0).fit(X, y, groups=months)
    >>> len(ens.estimators_), ens.predict_proba_members(X).shape
    (8, (8, 80))
    >>> ens.predict(X[:4]).tolist()
    [0, 1, 0, 1]
    """

    def __init__(self, estimator, cv=None, n_seeds=2, threshold=0.5, n_jobs=None,
                 random_state=None, batch_size=None, verbose=0):
        self.estimator = estimator
        self.cv = cv
        self.n_seeds = n_seeds
        self.threshold = threshold
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"estimator must be a classifier with fit and predict_proba; got "
                f"{type(self.estimator).__name__}"
            )
        if isinstance(self.n_seeds, bool) or not isinstance(self.n_seeds, (int, np.integer)) \
                or self.n_seeds < 1:
            raise ValueError(f"n_seeds must be a positive integer; got {self.n_seeds!r}")
        try:
            t = float(self.threshold)
        except (TypeError, ValueError):
            raise TypeError(f"threshold must be a number; got {self.threshold!r}") from None
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1]; got {self.threshold!r}")
        return t

    def fit(self, X, y, groups=None, **fit_params):
        """Fit one member per split × seed.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Training videos (or features, for generic classifiers). A lazy
            DataArray stays lazy: members read their own subsets.
        y : array-like of shape (n_videos,)
            Binary labels.
        groups : array-like of int or datetime64, optional
            Month or datetime of each video, for month-block splitters; by
            default taken from X's ``month``/``time`` coordinate.
        **fit_params : dict
            Passed to every member's ``fit``.

        Returns
        -------
        self : MonthBlockEnsemble

        Raises
        ------
        ValueError
            If ``y`` is not binary or its length differs from ``X``'s, or the
            splitter fails (e.g. a month block without videos).
        """
        import pandas as pd
        from tqdm.auto import tqdm

        threshold = self._check_params()
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per video); got shape {y.shape}")
        if len(X) != y.shape[0]:
            raise ValueError(f"X holds {len(X)} videos but y holds {y.shape[0]} labels")
        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(
                f"MonthBlockEnsemble is a binary classifier; y holds classes {classes.tolist()}"
            )
        cv = MonthBlockSplit() if self.cv is None else check_cv(self.cv, y, classifier=True)
        splits = [(np.asarray(tr), np.asarray(va)) for tr, va in cv.split(X, y, groups)]
        if not splits:
            raise ValueError("cv produced no splits")
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=(len(splits), self.n_seeds))
        if self.n_seeds > 1 and _seed_mode(self.estimator) == "none":
            warnings.warn(
                f"{type(self.estimator).__name__} has no random_state parameter: the "
                f"{self.n_seeds} members of each split will be identical",
                UserWarning, stacklevel=2,
            )
        jobs = [(k, j) for k in range(len(splits)) for j in range(self.n_seeds)]
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_fit_member)(clone(self.estimator), X, y, splits[k][0], splits[k][1],
                                 seeds[k, j], fit_params)
            for k, j in jobs
        )
        results = list(tqdm(results, total=len(jobs), desc="fitting members",
                            disable=not self.verbose))
        self.estimators_ = [r[0] for r in results]
        self.splits_ = [splits[k] for k, _ in jobs]
        self.member_info_ = pd.DataFrame({
            "split": [k for k, _ in jobs],
            "seed_index": [j for _, j in jobs],
            "seed": [int(seeds[k, j]) for k, j in jobs],
            "n_train": [splits[k][0].size for k, _ in jobs],
            "n_valid": [splits[k][1].size for k, _ in jobs],
            "validation": [r[1] for r in results],
            "seeded_by": [r[2] for r in results],
        })
        self.classes_ = classes
        self.threshold_ = threshold
        if getattr(X, "ndim", None) == 2:
            self.n_features_in_ = X.shape[1]
        return self

    # ------------------------------------------------------------------ inference
    def predict_proba_members(self, X):
        """Probability of the positive class from every member.

        Neural-network members (fitted skflux classifiers: ``module_`` and
        ``field_limit``) share one pass over the videos: each batch is read
        and scaled once and fed to every member's module (eval mode, no
        gradients). Other members use their own ``predict_proba``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos (or features for generic members).

        Returns
        -------
        proba : ndarray of shape (n_members, n_videos)
        """
        check_is_fitted(self, "estimators_")
        members = self.estimators_
        if all(_is_torch_member(m) for m in members) and getattr(X, "ndim", None) == 4:
            return self._proba_torch(X)
        pos = self.classes_[1]
        out = []
        for m in members:
            cols = np.flatnonzero(np.asarray(m.classes_) == pos)
            if cols.size != 1:
                raise ValueError(
                    f"a member's classes_ {list(m.classes_)} lack the positive class {pos!r}"
                )
            out.append(np.asarray(m.predict_proba(X))[:, cols[0]])
        return np.stack(out).astype(float)

    def _proba_torch(self, X):
        import torch
        from tqdm.auto import tqdm

        from .nn._data import iter_video_batches, scale_field

        X = check_videos(X, allow_nan=True)  # finiteness is checked per video while reading
        members = self.estimators_
        batch_size = self.batch_size or getattr(members[0], "batch_size", None) or 10
        devices = [torch.device(getattr(m, "device", "cpu") or "cpu") for m in members]
        for m in members:
            m.module_.eval()
        n = len(X)
        out = np.empty((len(members), n), dtype=float)
        start = 0
        n_batches = -(-n // batch_size)
        with torch.no_grad():
            for xb in tqdm(iter_video_batches(X, batch_size), total=n_batches,
                           desc="ensemble inference", disable=not self.verbose):
                scaled = {}  # (device, field_limit) -> scaled batch: read and scale once
                stop = start + xb.shape[0]
                for i, (m, dev) in enumerate(zip(members, devices)):
                    key = (str(dev), float(m.field_limit))
                    if key not in scaled:
                        scaled[key] = scale_field(xb.to(dev), m.field_limit)
                    logits = m.module_(scaled[key])
                    out[i, start:stop] = torch.sigmoid(logits.float()).cpu().numpy()
                start = stop
        return out

    def predict_proba(self, X):
        """Class probabilities from the members' median.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.

        Returns
        -------
        proba : ndarray of shape (n_videos, 2)
            ``[1 - median, median]``, columns ordered as ``classes_``.
        """
        med = np.median(self.predict_proba_members(X), axis=0)
        return np.column_stack([1.0 - med, med])

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
        """Class labels: positive where the median probability is ``>= threshold_``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Videos.

        Returns
        -------
        y_pred : ndarray of shape (n_videos,)
        """
        check_is_fitted(self, "threshold_")
        med = np.median(self.predict_proba_members(X), axis=0)
        return self.classes_[(med >= self.threshold_).astype(int)]

    def fit_threshold(self, X, y):
        """Set ``threshold_`` where precision and recall cross on a benchmark set.

        The score is the members' median probability; the intersection is
        defined in :func:`precision_recall_threshold`.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            Benchmark videos (never used to train the members, e.g. months
            9–10 for :meth:`MonthBlockSplit.uncertainty`).
        y : array-like of shape (n_videos,)
            Their labels.

        Returns
        -------
        self : MonthBlockEnsemble
        """
        check_is_fitted(self, "estimators_")
        med = np.median(self.predict_proba_members(X), axis=0)
        self.threshold_ = precision_recall_threshold(y, med, pos_label=self.classes_[1])
        return self

    def stability(self, X, band=(0.25, 0.75)):
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
