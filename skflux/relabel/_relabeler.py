"""IterativeRelabeler: the paper's human-in-the-loop relabeling passes as a meta-estimator."""

import hashlib
import json
import math
import numbers
import re
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._members import fit_member
from .._members import proba1 as _proba1
from .._members import take as _take
from .._validation import _is_dataarray, months_of
from ._oracles import ReviewPending, ReviewRequest, Verdict, _as_label, check_oracle
from ._review_log import ReviewLog, ReviewLogError, dataset_fingerprint, labels_sha

__all__ = ["IterativeRelabeler", "RelabelPass"]


# --------------------------------------------------------------------------- records
@dataclass
class RelabelPass:
    """What one relabeling pass did: the numbers behind Figure 3 of the paper.

    Every video of the validation blocks falls in exactly one of five groups,
    judged against the labels at the start of the pass and the out-of-fold
    prediction ``proba >= threshold``:

    * **A** ``n_previously_verified`` — the models disagree with a label a
      reviewer already verified in an earlier pass (not shown again; a model
      mistake, red bars);
    * **B** ``n_mislabels`` — new disagreements the reviewer found to be real
      mislabels; their labels are changed (yellow bars);
    * **C** ``n_model_mistakes`` — new disagreements where the label was right:
      the models' mistakes, the set *E* of the paper (blue bars);
    * **D** ``n_agreements`` — the models agree with the current label;
    * **U** ``n_unreviewed`` — new disagreements left for a later pass because of
      ``budget`` (always 0 with the default, which reviews them all).

    ``ratio`` is the paper's ``R = |E| / (|fp| + |fn| − |E|) = C / B`` over the
    reviewed new disagreements; ``relabel_fraction`` = B / (B + C + D) and
    ``real_fraction`` = B / (B + C) are the two bottom panels of Figure 3.

    Attributes
    ----------
    pass_index : int
        1-based pass number.
    n_videos : int
        Videos in the validation blocks (height of a bar of Figure 3).
    n_previously_verified, n_mislabels, n_model_mistakes, n_agreements, n_unreviewed : int
        A, B, C, D, U above.
    n_false_positives, n_false_negatives : int
        New disagreements (B + C + U) where the models say emergence / non-emergence.
    ratio : float
        R = C / B; ``inf`` when B = 0 < C, ``nan`` when B = C = 0.
    n_verified : int
        Videos verified so far (this and earlier passes).
    fraction_verified : float
        ``n_verified / n_videos`` (the dashed line of Figure 3).
    accuracy : float
        Out-of-fold accuracy against the labels at the start of the pass (the
        validation accuracy the models reached).
    accuracy_after : float
        Out-of-fold accuracy against the labels after this pass's verdicts.
    blocks : list of dict
        Per validation block: ``block``, ``months``, ``n``, ``A``, ``B``, ``C``,
        ``D``, ``U``, ``accuracy``, ``accuracy_after``, ``relabel_fraction``,
        ``real_fraction``.
    corr_relabel, corr_real : float
        Pearson correlation across blocks of ``relabel_fraction`` /
        ``real_fraction`` with block ``accuracy`` (``nan`` if undefined).
    reviewed, relabeled : list of int
        Positions of the videos reviewed / relabeled in this pass.
    stop_reason : str
        Why the fit stopped after this pass ("" when it went on).
    seconds : float
        Wall time of training and prediction of the pass (0 when loaded from a log).
    """

    pass_index: int
    n_videos: int
    n_previously_verified: int
    n_mislabels: int
    n_model_mistakes: int
    n_agreements: int
    n_unreviewed: int
    n_false_positives: int
    n_false_negatives: int
    ratio: float
    n_verified: int
    fraction_verified: float
    accuracy: float
    accuracy_after: float
    blocks: list = field(default_factory=list)
    corr_relabel: float = float("nan")
    corr_real: float = float("nan")
    reviewed: list = field(default_factory=list)
    relabeled: list = field(default_factory=list)
    stop_reason: str = ""
    seconds: float = 0.0

    @property
    def relabel_fraction(self):
        """B / (B + C + D): share of the block (A aside) that needed a new label."""
        return _frac(self.n_mislabels,
                     self.n_mislabels + self.n_model_mistakes + self.n_agreements)

    @property
    def real_fraction(self):
        """B / (B + C): how often a new disagreement was a real mislabel."""
        return _frac(self.n_mislabels, self.n_mislabels + self.n_model_mistakes)

    def __getitem__(self, key):
        return getattr(self, key)

    def to_dict(self):
        """A JSON-serialisable dict of every field (plus the two fractions)."""
        d = asdict(self)
        d["relabel_fraction"] = self.relabel_fraction
        d["real_fraction"] = self.real_fraction
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def _frac(a, b):
    return float(a) / b if b else float("nan")


def _corr(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def pass_statistics(pass_index, oof_proba, labels, verified, reviewed, verdicts, fold_of,
                    threshold=0.5, block_months=None):
    """Count A, B, C, D, U of one pass, overall and per validation block.

    Parameters
    ----------
    pass_index : int
    oof_proba : ndarray of float, shape (n_videos,)
        Out-of-fold probabilities (NaN outside the validation blocks).
    labels : ndarray of {0, 1}
        Labels at the start of the pass.
    verified : ndarray of bool
        Verified before the pass.
    reviewed : ndarray of int
        Positions reviewed in this pass.
    verdicts : ndarray of {0, 1}
        The verdict of each reviewed video.
    fold_of : ndarray of int
        Validation block of every video, -1 outside every block.
    threshold : float
    block_months : list of list of int, optional

    Returns
    -------
    RelabelPass
        With ``n_verified`` counting ``verified`` plus ``reviewed``.
    """
    labels = np.asarray(labels, dtype=int)
    in_cv = fold_of >= 0
    pred = np.where(in_cv, np.nan_to_num(oof_proba, nan=0.0) >= threshold, labels).astype(int)
    dis = in_cv & (pred != labels)
    reviewed = np.asarray(reviewed, dtype=int)
    verdicts = np.asarray(verdicts, dtype=int)
    rev_mask = np.zeros(labels.shape[0], bool)
    rev_mask[reviewed] = True
    after = labels.copy()
    after[reviewed] = verdicts
    groups = {
        "A": dis & verified,
        "B": rev_mask & (after != labels),
        "C": rev_mask & (after == labels),
        "D": in_cv & ~dis,
        "U": dis & ~verified & ~rev_mask,
    }
    new = dis & ~verified
    n_folds = int(fold_of.max()) + 1 if in_cv.any() else 0
    blocks = []
    for k in range(n_folds):
        m = fold_of == k
        b = {g: int((mask & m).sum()) for g, mask in groups.items()}
        nk = int(m.sum())
        b.update(
            block=k, months=None if block_months is None else list(block_months[k]), n=nk,
            accuracy=_frac(int((pred[m] == labels[m]).sum()), nk),
            accuracy_after=_frac(int((pred[m] == after[m]).sum()), nk),
            relabel_fraction=_frac(b["B"], b["B"] + b["C"] + b["D"]),
            real_fraction=_frac(b["B"], b["B"] + b["C"]),
        )
        blocks.append(b)
    counts = {g: int(mask.sum()) for g, mask in groups.items()}
    n_cv = int(in_cv.sum())
    n_verified = int((verified | rev_mask).sum())
    B, C = counts["B"], counts["C"]
    ratio = C / B if B else (math.inf if C else math.nan)
    return RelabelPass(
        pass_index=int(pass_index), n_videos=n_cv,
        n_previously_verified=counts["A"], n_mislabels=B, n_model_mistakes=C,
        n_agreements=counts["D"], n_unreviewed=counts["U"],
        n_false_positives=int((new & (pred == 1)).sum()),
        n_false_negatives=int((new & (pred == 0)).sum()),
        ratio=float(ratio), n_verified=n_verified,
        fraction_verified=_frac(n_verified, n_cv),
        accuracy=_frac(int((pred[in_cv] == labels[in_cv]).sum()), n_cv),
        accuracy_after=_frac(int((pred[in_cv] == after[in_cv]).sum()), n_cv),
        blocks=blocks,
        corr_relabel=_corr([b["relabel_fraction"] for b in blocks],
                           [b["accuracy"] for b in blocks]),
        corr_real=_corr([b["real_fraction"] for b in blocks], [b["accuracy"] for b in blocks]),
        reviewed=[int(i) for i in reviewed],
        relabeled=[int(i) for i in np.flatnonzero(groups["B"])],
    )


# --------------------------------------------------------------------------- helpers
def _n_samples(X):
    if hasattr(X, "shape") and len(X.shape):
        return int(X.shape[0])
    try:
        return len(X)
    except TypeError:
        raise TypeError(f"X must be a collection of videos; got {type(X).__name__}") from None


def _confidence_scores(oof, labels, in_cv):
    """How likely each video's current label is wrong (higher: review first).

    Confident learning's per-class thresholds (Northcutt, Jiang & Chuang 2021,
    JAIR 70, 1373): ``t_k`` is the mean out-of-fold probability of class ``k``
    over the validation-block videos currently labelled ``k``; the score of a
    video labelled ``k`` is ``t_k - P(k)``, i.e. how far its self-confidence
    falls below what is typical for its label. A model trained on labels
    whose errors are one-sided (most crude mistakes are false "emergence")
    is less sure of the noisy class, and the per-class threshold corrects for
    that; within a class the order is that of the self-confidence.
    """
    self_conf = np.where(labels == 1, oof, 1.0 - oof)
    typical = np.zeros(2)
    for k in (0, 1):
        sel = in_cv & (labels == k) & np.isfinite(oof)
        typical[k] = self_conf[sel].mean() if sel.any() else 0.5
    return typical[labels] - self_conf


def _fit_member(estimator, X, y, train, test, seed, groups, fit_params):
    """Fit a clone on ``train``, validated on its block ``test``; return it and its P(1)."""
    est, _, _ = fit_member(clone(estimator), X, y, train, test, seed, fit_params, groups)
    return est, _proba1(est, _take(X, test))


def _video_ids(X, n):
    if _is_dataarray(X) and "bmr_id" in X.coords and X.coords["bmr_id"].dims == ("video",):
        bmr = np.asarray(X.coords["bmr_id"].values)
        ids = [str(b) for b in bmr]
        if len(set(ids)) == n:
            return ids, list(bmr)
        return [f"{i}:{b}" for i, b in enumerate(ids)], list(bmr)
    return [str(i) for i in range(n)], None


# estimator parameters that do not change which models are trained
_RUNTIME_PARAMS = {"device", "verbose", "n_jobs", "num_workers"}


def _describe(value):
    """A JSON-able description of a parameter value, stable across processes."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = value.get_params(deep=False)
        return [type(value).__qualname__,
                {k: _describe(v) for k, v in sorted(params.items())
                 if k not in _RUNTIME_PARAMS and not k.startswith("_")
                 and not k.endswith("__verbose")}]
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, np.ndarray):
        return ["ndarray", list(value.shape), str(value.dtype),
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(_describe(v), sort_keys=True) for v in value)
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def estimator_signature(estimator):
    """Short hash of an estimator's class and parameters (runtime ones excepted).

    Two estimators with equal parameters (``device``, ``verbose``, ``n_jobs`` and
    ``num_workers`` aside) get the same signature in any process, so a review
    log can refuse to resume with another model.
    """
    text = json.dumps(_describe(estimator), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- estimator
class IterativeRelabeler(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Refine crude labels pass by pass with out-of-fold models and a reviewer.

    The "Relabelling Algorithm" of Chatterjee et al. (Methods): in every pass

    1. train one model per cross-validation split (by default the five
       two-month blocks of months 1–10, :class:`~skflux.model_selection.MonthBlockSplit`)
       on the current labels, validated on the block it leaves out ("until
       validation accuracy reaches maximum": a skorch net, e.g.
       :class:`~skflux.FluxEmergenceClassifier`, gets the block as its
       validation set, so its early stopping and best-weight restore use it; a
       ``fit`` taking ``X_valid``/``y_valid`` gets it there; any other
       classifier trains on the training blocks only);
    2. predict every video of the validation blocks with the model that did not
       train on it (out of fold; median over ``n_seeds`` realizations);
    3. collect the false positives *fp* and false negatives *fn* against the
       current labels that were **not** examined in an earlier pass;
    4. ask the ``oracle`` about each; the label of every video it says is
       wrong is changed (a real mislabel); the others are model mistakes *E*;
    5. compute ``R = |E| / (|fp| + |fn| − |E|)`` and stop when R ≤ ``stop_ratio``
       (the paper repeats while R > 0.5), or after ``max_passes`` passes.

    When the denominator ``|fp| + |fn| − |E|`` is 0 no label changed in the pass:
    R is ``inf`` (all reviewed disagreements were model mistakes) or ``nan``
    (no new disagreement at all), and the fit stops, because another pass would
    train the same models on the same labels (the seeds do not change between
    passes) and find nothing new. The one exception is a pass that left
    disagreements unreviewed because its ``budget`` was spent: the next pass
    reviews the next ones, with the same models (not retrained, as the labels
    did not change).

    Videos outside every validation block (by default months 11–12, the test
    set) are never predicted out of fold, never sent to the oracle, and keep
    their labels. A verified video is never shown again.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier with ``predict_proba`` (e.g.
        :class:`~skflux.FluxEmergenceClassifier`); cloned for every split and seed.
    cv : cross-validator, int or iterable, default=None
        The splits; None means ``MonthBlockSplit()`` (months from ``groups`` or
        X's ``month``/``time`` coordinate). Validation sets must not overlap.
    oracle : object with ``review(request)`` or callable
        Who gives the verdicts: :class:`TruthOracle`, :class:`ConsoleOracle`,
        :class:`SheetOracle`, :class:`CallbackOracle` or your own. Required.
    stop_ratio : float, default=0.5
        Stop once R ≤ ``stop_ratio``.
    max_passes : int, default=10
        Upper bound on passes.
    n_seeds : int, default=1
        Random realizations per split; their median is the out-of-fold probability.
    review_log : str, path-like, ReviewLog or None, default=None
        SQLite file where every verdict is stored the moment it is given; with
        an existing log, ``fit`` resumes (see :class:`ReviewLog`).
    priority : {None, "confidence"} or callable, default=None
        Review order of the new disagreements. None: video order (the paper).
        "confidence": the most likely mislabels first: by how far the
        out-of-fold probability of the current label (its self-confidence)
        falls below the mean self-confidence of the videos with that label
        (confident learning's per-class thresholds, as in cleanlab). A
        callable ``priority(proba, labels) -> scores`` gets the probabilities
        and current labels of the candidates and returns scores; higher is
        reviewed first.
    budget : int, float or None, default=None
        Most videos reviewed per pass (a float in (0, 1] is a fraction of the
        pass's new disagreements). None reviews all (the paper). Unreviewed
        disagreements stay candidates for later passes. R is then computed over
        the reviewed videos, and a pass that left disagreements unreviewed does
        not stop on R (a truncated, ranked sample under-estimates R); the
        passes go on until one reviews every disagreement left and changes no
        label, finds none, or ``max_passes`` is reached.
    threshold : float, default=0.5
        Probability at or above which a model says "emergence".
    n_jobs : int, default=None
        Fold models trained in parallel (joblib).
    random_state : int, RandomState or None, default=None
        Seeds the fold models (``random_state`` of the estimator and of every
        nested step). With a ``review_log`` the base seed is stored, so a
        resumed fit uses the same seeds even when this is None.
    verbose : int, default=0
        0 silent, 1 one line per pass, 2 also progress bars.

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_videos,)
        The relabeled labels.
    verified_ : ndarray of bool, shape (n_videos,)
        Videos that received a verdict.
    emergence_frames_ : ndarray of int, shape (n_videos,)
        Emergence frames the reviewers marked, -1 where none.
    passes_ : list of RelabelPass
        One record per pass (see :class:`RelabelPass`; Figure 3).
    n_passes_ : int
        Number of passes.
    stop_reason_ : str
        Why the passes stopped.
    oof_proba_ : ndarray of float, shape (n_videos,)
        Out-of-fold probabilities of the last pass (NaN outside the validation
        blocks), e.g. for cleanlab-style ranking.
    estimators_ : list of classifiers
        The last pass's fold models (``n_splits * n_seeds``, split-major); they
        are the ensemble behind :meth:`predict_proba`.
    folds_ : list of (ndarray, ndarray)
        Training and validation positions of each split.
    fold_of_ : ndarray of int
        Validation block of every video, -1 outside every block.
    classes_ : ndarray
        ``[0, 1]``.

    See Also
    --------
    skflux.relabel.ReviewLog, skflux.plotting.plot_relabel_passes

    Notes
    -----
    The last pass's models were trained on the labels *before* that pass's
    verdicts; retrain (e.g. :class:`~skflux.MonthBlockEnsemble`) on
    ``labels_`` for the final ensemble if the last pass changed many labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skflux.relabel import IterativeRelabeler, TruthOracle
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 2, 300)
    >>> X = truth[:, None] + rng.normal(0, 0.4, (300, 2))
    >>> crude = np.where(rng.random(300) < 0.15, 1 - truth, truth)
    >>> months = rng.integers(1, 13, 300)
    >>> rel = IterativeRelabeler(LogisticRegression(), oracle=TruthOracle(truth),
    ...                          random_state=0).fit(X, crude, groups=months)
    >>> in_cv = months <= 10
    >>> bool((rel.labels_ != truth)[in_cv].sum() < (crude != truth)[in_cv].sum())
    True
    >>> bool(np.all(rel.labels_[~in_cv] == crude[~in_cv]))
    True
    """

    def __init__(self, estimator, cv=None, oracle=None, stop_ratio=0.5, max_passes=10,
                 n_seeds=1, review_log=None, priority=None, budget=None, threshold=0.5,
                 n_jobs=None, random_state=None, verbose=0):
        self.estimator = estimator
        self.cv = cv
        self.oracle = oracle
        self.stop_ratio = stop_ratio
        self.max_passes = max_passes
        self.n_seeds = n_seeds
        self.review_log = review_log
        self.priority = priority
        self.budget = budget
        self.threshold = threshold
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        def _int(name, low):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {v!r}")

        _int("max_passes", 1)
        _int("n_seeds", 1)
        if not isinstance(self.stop_ratio, numbers.Real) or not self.stop_ratio >= 0:
            raise ValueError(f"stop_ratio must be a number >= 0; got {self.stop_ratio!r}")
        if not isinstance(self.threshold, numbers.Real) or not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1); got {self.threshold!r}")
        if self.priority not in (None, "confidence") and not callable(self.priority):
            raise ValueError(
                f"priority must be None, 'confidence' or a callable; got {self.priority!r}")
        b = self.budget
        if b is not None:
            if isinstance(b, bool) or not isinstance(b, numbers.Real):
                raise ValueError(f"budget must be None, an int >= 1 or a float in (0, 1]; "
                                 f"got {b!r}")
            if isinstance(b, numbers.Integral):
                if b < 1:
                    raise ValueError(f"budget must be >= 1 video per pass; got {b}")
            elif not 0 < b <= 1:
                raise ValueError(f"a float budget is a fraction in (0, 1]; got {b}")

    def _check_labels(self, X, y, n):
        if y is None:
            if _is_dataarray(X) and "label" in X.coords:
                y = X.coords["label"].values
            else:
                raise ValueError("y (the crude labels) is required unless X is a DataArray "
                                 "with a 'label' coordinate")
        if isinstance(y, str):
            if not (_is_dataarray(X) and y in X.coords):
                raise ValueError(f"X has no coordinate {y!r} to take the labels from")
            y = X.coords[y].values
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must hold one label per video ({n}); got shape {y.shape}")
        try:
            yf = y.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"y must hold labels 0/1; got dtype {y.dtype}") from None
        bad = np.flatnonzero(~np.isin(yf, (0.0, 1.0)))
        if bad.size:
            from .._validation import video_name

            raise ValueError(
                f"y must hold labels 0/1; {video_name(X, bad[0])} has {y[bad[0]]}"
                + (f" ({bad.size} such videos)" if bad.size > 1 else ""))
        return yf.astype(int)

    def _folds(self, X, y, groups, n):
        cv = self.cv
        if cv is None:
            from ..model_selection import MonthBlockSplit

            cv = MonthBlockSplit()
        cv = check_cv(cv, y, classifier=True)
        folds = [(np.asarray(tr, dtype=int), np.asarray(te, dtype=int))
                 for tr, te in cv.split(X, y, groups)]
        if not folds:
            raise ValueError("cv produced no splits")
        fold_of = np.full(n, -1, dtype=int)
        for k, (train, test) in enumerate(folds):
            if len(train) == 0 or len(test) == 0:
                raise ValueError(f"split {k} of cv has an empty training or validation set")
            if (fold_of[test] >= 0).any():
                i = int(test[fold_of[test] >= 0][0])
                raise ValueError(
                    f"cv validation sets overlap (video {i} is in splits {fold_of[i]} and {k}); "
                    "every video must be predicted by exactly one out-of-fold model")
            fold_of[test] = k
        months = None
        try:
            m = months_of(X, groups, n=n)
            months = [sorted({int(v) for v in m[test]}) for _, test in folds]
        except (ValueError, TypeError):
            pass
        return folds, fold_of, months

    def _config(self, n_folds):
        """The settings that decide which videos are shown (kept in the review log)."""
        prio = self.priority
        if callable(prio):
            prio = getattr(prio, "__qualname__", repr(prio))
        rs = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        return {
            "estimator": type(self.estimator).__name__,
            "estimator_params": estimator_signature(self.estimator), "n_splits": n_folds,
            "n_seeds": int(self.n_seeds), "threshold": float(self.threshold),
            "priority": prio, "budget": self.budget, "random_state": rs,
        }

    def _open_log(self, fingerprint, config, base_seed):
        log = self.review_log
        if log is None:
            return None
        if not isinstance(log, ReviewLog):
            log = ReviewLog(log)
        return log.open(fingerprint, config, seed=base_seed)

    # ------------------------------------------------------------------ one pass
    def _member_seeds(self, base_seed, n_folds):
        return [[int(np.random.SeedSequence([base_seed, k, s]).generate_state(1)[0] >> 1)
                 for s in range(self.n_seeds)] for k in range(n_folds)]

    def _train(self, X, labels, folds, seeds, groups, fit_params, pass_index):
        jobs = [(k, s) for k in range(len(folds)) for s in range(self.n_seeds)]
        tasks = (delayed(_fit_member)(self.estimator, X, labels, folds[k][0], folds[k][1],
                                      seeds[k][s], groups, fit_params) for k, s in jobs)
        if self.verbose >= 2:
            from tqdm.auto import tqdm

            tasks = tqdm(tasks, total=len(jobs), desc=f"pass {pass_index}: fold models")
        out = Parallel(n_jobs=self.n_jobs)(tasks)
        models = [m for m, _ in out]
        oof = np.full(labels.shape[0], np.nan)
        for k, (_, test) in enumerate(folds):
            probas = [out[j][1] for j, (kk, _) in enumerate(jobs) if kk == k]
            oof[test] = np.median(np.vstack(probas), axis=0)
        return models, oof

    def _queue(self, oof, labels, verified, fold_of):
        in_cv = fold_of >= 0
        pred = np.nan_to_num(oof, nan=0.0) >= self.threshold
        new = np.flatnonzero(in_cv & (pred.astype(int) != labels) & ~verified)
        if self.priority is not None and new.size:
            if self.priority == "confidence":
                score = _confidence_scores(oof, labels, in_cv)[new]
            else:
                score = np.asarray(self.priority(oof[new], labels[new]), dtype=float)
                if score.shape != new.shape:
                    raise ValueError(
                        f"priority returned {score.shape} scores for {new.size} videos")
            new = new[np.argsort(-score, kind="stable")]
        if self.budget is not None:
            b = self.budget
            limit = b if isinstance(b, numbers.Integral) else math.ceil(b * new.size)
            new = new[:limit]
        return new

    def _review(self, oracle, queue, done, labels, oof, X, ids, bmr_ids, pass_index, log):
        """Ask the oracle about the queued videos without a verdict; log each answer."""
        todo = np.array([i for i in queue if i not in done], dtype=int)
        got = dict(done)
        if todo.size == 0:
            return got
        request = ReviewRequest(
            todo, labels[todo], oof[todo], [ids[i] for i in todo],
            None if bmr_ids is None else [bmr_ids[i] for i in todo], pass_index, X)
        wanted = set(todo.tolist())
        answers = oracle.review(request)
        if answers is None:
            raise TypeError(f"{type(oracle).__name__}.review returned None; it must return "
                            "or yield verdicts")
        k_plain = 0
        bar = None
        if self.verbose >= 2:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"pass {pass_index}: review")
        try:
            for answer in answers:
                if isinstance(answer, Verdict):
                    v = answer
                else:
                    if k_plain >= len(request):
                        raise ValueError(
                            f"oracle gave more verdicts than the {len(request)} videos asked")
                    v = Verdict(int(request.indices[k_plain]), answer)
                    k_plain += 1
                i = int(v.index)
                if i not in wanted:
                    raise ValueError(f"oracle gave a verdict for video {i}, which was not "
                                     f"asked for in pass {pass_index}")
                if i in got:
                    raise ValueError(f"oracle gave two verdicts for video {i} ({ids[i]})")
                label = _as_label(v.label, f"oracle verdict for video {i} ({ids[i]})")
                frame = None if v.emergence_frame is None else int(v.emergence_frame)
                if log is not None:
                    log.append(video=i, video_id=ids[i], pass_index=pass_index,
                               previous_label=int(labels[i]), proba=float(oof[i]),
                               verdict=label, emergence_frame=frame, note=v.note)
                got[i] = (label, frame)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        missing = [i for i in todo if int(i) not in got]
        if missing:
            raise ValueError(
                f"oracle gave no verdict for {len(missing)} of {len(todo)} videos, e.g. video "
                f"{missing[0]} ({ids[missing[0]]}); raise ReviewPending from the oracle to "
                "pause the review instead")
        return got

    def _stop_reason(self, rec):
        if rec.n_mislabels + rec.n_model_mistakes + rec.n_unreviewed == 0:
            return "no new disagreements"
        if rec.n_mislabels == 0 and rec.n_unreviewed == 0:
            return "no label changed (R undefined: all reviewed disagreements were model mistakes)"
        if rec.n_unreviewed == 0 and rec.ratio <= self.stop_ratio:
            return f"R = {rec.ratio:.3g} <= stop_ratio = {self.stop_ratio}"
        if rec.pass_index >= self.max_passes:
            return f"max_passes = {self.max_passes} reached"
        return ""

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, groups=None, **fit_params):
        """Run the relabeling passes (or resume them from ``review_log``).

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            The videos (any input the estimator accepts; indexed along its first axis).
        y : array-like of {0, 1}, str or None
            Crude labels, or the name of a coordinate of X; None uses X's
            ``label`` coordinate.
        groups : array-like, optional
            Passed to ``cv.split`` (months or datetimes for ``MonthBlockSplit``).
        **fit_params
            Passed to the estimator's ``fit``. When the estimator's ``fit``
            takes ``groups`` (e.g. :class:`~skflux.FluxEmergenceClassifier`, for
            its month-aware early stopping), it gets the training videos' groups.

        Returns
        -------
        self : IterativeRelabeler

        Raises
        ------
        ValueError
            On bad labels, overlapping validation sets, an oracle that skips,
            repeats or invents videos.
        ReviewLogError
            When ``review_log`` is corrupt, foreign or from another dataset.
        ReviewPending
            Raised by the oracle to pause. With a ``review_log`` every verdict
            given is kept and the next ``fit`` call resumes; without one a
            ``RuntimeWarning`` says the verdicts are not kept.
        """
        self._check_params()
        if not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"the estimator {type(self.estimator).__name__} has no predict_proba; the "
                "relabeler needs probabilities (wrap it in CalibratedClassifierCV)")
        oracle = check_oracle(self.oracle)
        n = _n_samples(X)
        y = self._check_labels(X, y, n)
        folds, fold_of, block_months = self._folds(X, y, groups, n)
        ids, bmr_ids = _video_ids(X, n)
        config = self._config(len(folds))
        fingerprint = dataset_fingerprint(y, fold_of, ids)
        base_seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        log = self._open_log(fingerprint, config, base_seed)
        try:
            if log is not None and log.seed is not None:
                base_seed = log.seed
            self._run(X, y, groups, folds, fold_of, block_months, ids, bmr_ids, oracle, log,
                      base_seed, fit_params)
        except ReviewPending:
            if log is None:
                warnings.warn(
                    "the review was paused without a review_log: the verdicts given in this "
                    "fit are not kept (a review sheet keeps its filled rows), and the next fit "
                    "starts over; pass review_log=PATH to resume where the review stopped",
                    RuntimeWarning, stacklevel=2)
            raise
        finally:
            if log is not None:
                log.close()
        self.classes_ = np.array([0, 1])
        self.folds_ = folds
        self.fold_of_ = fold_of
        return self

    def _run(self, X, y, groups, folds, fold_of, block_months, ids, bmr_ids, oracle, log,
             base_seed, fit_params):
        n = y.shape[0]
        seeds = self._member_seeds(base_seed, len(folds))
        labels = y.copy()
        verified = np.zeros(n, bool)
        frames = np.full(n, -1, dtype=int)
        logged = {}
        if log is not None:
            for row in log.verdicts():
                logged.setdefault(row["pass"], {})[row["video"]] = (
                    row["verdict"], row["emergence_frame"])
        passes, models, oof, start_labels = [], None, None, labels
        for p in range(1, self.max_passes + 1):
            start_labels = labels.copy()
            stored = log.load_pass(p) if log is not None else None
            if stored is not None and stored["labels_sha"] != labels_sha(labels):
                raise ReviewLogError(
                    f"review log {log.path}: pass {p} started from other labels than those "
                    "rebuilt from its verdicts; the log is inconsistent")
            t0 = time.perf_counter()
            if stored is not None:
                oof, models = stored["oof_proba"], stored["models"]
                if oof.shape[0] != n:
                    raise ReviewLogError(f"review log {log.path}: pass {p} has {oof.shape[0]} "
                                         f"probabilities for {n} videos")
            elif passes and passes[-1].n_mislabels == 0:
                # the last pass changed no label (it stopped short at the budget): the
                # same labels and seeds would train the same models, so reuse them
                pass
            else:
                models, oof = self._train(X, labels, folds, seeds, groups, fit_params, p)
            if stored is None and log is not None:
                log.save_trained(p, labels_sha(labels), oof, models)
            seconds = time.perf_counter() - t0
            queue = self._queue(oof, labels, verified, fold_of)
            done = logged.get(p, {})
            stray = set(done) - set(queue.tolist())
            if stray:
                raise ReviewLogError(
                    f"review log has verdicts of pass {p} for videos {sorted(stray)[:5]} that "
                    "this pass does not review; was it written with other settings?")
            if stored is not None and stored["stage"] == "done":
                got = done
                if len(got) != len(queue):
                    raise ReviewLogError(f"review log: pass {p} is marked finished but has "
                                         f"{len(got)} of {len(queue)} verdicts")
            else:
                got = self._review(oracle, queue, done, labels, oof, X, ids, bmr_ids, p, log)
            verdicts = np.array([got[int(i)][0] for i in queue], dtype=int)
            rec = pass_statistics(p, oof, labels, verified, queue, verdicts, fold_of,
                                  self.threshold, block_months)
            rec.seconds = seconds
            rec.stop_reason = self._stop_reason(rec)
            if log is not None and (stored is None or stored["stage"] != "done"):
                log.save_done(p, rec.to_dict())
            labels = labels.copy()
            labels[queue] = verdicts
            verified[queue] = True
            for i in queue:
                f = got[int(i)][1]
                if f is not None:
                    frames[int(i)] = f
            passes.append(rec)
            if self.verbose:
                print(f"pass {p}: {rec.n_false_positives + rec.n_false_negatives} new "
                      f"disagreements, {rec.n_mislabels} relabeled, {rec.n_model_mistakes} "
                      f"model mistakes, R = {rec.ratio:.3g}, verified "
                      f"{rec.fraction_verified:.1%}" + (f"; stop: {rec.stop_reason}"
                                                        if rec.stop_reason else ""))
            if rec.stop_reason:
                break
        if models is None:  # stored without models: retrain the last pass with its seeds
            models, _ = self._train(X, start_labels, folds, seeds, groups, fit_params, p)
        self.labels_ = labels
        self.verified_ = verified
        self.emergence_frames_ = frames
        self.passes_ = passes
        self.n_passes_ = len(passes)
        self.stop_reason_ = passes[-1].stop_reason
        self.oof_proba_ = oof
        self.estimators_ = models

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X):
        """Median probability of the last pass's fold models.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray

        Returns
        -------
        proba : ndarray of shape (n_videos, 2)
            Columns: non-emergence, emergence.
        """
        check_is_fitted(self, "estimators_")
        p = np.median(np.vstack([_proba1(est, X) for est in self.estimators_]), axis=0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Labels from the median probability and ``threshold``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray

        Returns
        -------
        labels : ndarray of int, shape (n_videos,)
        """
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)
