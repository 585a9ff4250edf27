"""IterativeRelabeler: the paper's human-in-the-loop relabeling passes as a meta-estimator.

Each pass fits a :class:`~skflux.MonthBlockEnsemble`; pass records live in
:mod:`._passes`, review handling in :mod:`._review`, resuming from the review
log in :mod:`._resume`.
"""

import numbers
import os
import time
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
)
from sklearn.model_selection import check_cv
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._ensemble_members import draw_base_seed
from .._targets import check_binary_target, decode
from .._validation import _is_dataarray, months_of
from ..ensemble import MonthBlockEnsemble, _is_feature_matrix, _n_samples
from ._audit import audit_sample, summarize_audit
from ._oracles import ReviewPending, check_oracle
from ._passes import pass_statistics, stop_reason
from ._resume import (
    estimator_signature,
    logged_verdicts,
    open_log,
    stored_pass,
    stored_verdicts,
)
from ._review import ask_oracle, make_request, review_queue
from ._review_log import ReviewLog, dataset_fingerprint, labels_sha

__all__ = ["IterativeRelabeler"]


def _video_ids(X, n):
    if _is_dataarray(X) and "bmr_id" in X.coords and X.coords["bmr_id"].dims == ("video",):
        bmr = np.asarray(X.coords["bmr_id"].values)
        ids = [str(b) for b in bmr]
        if len(set(ids)) == n:
            return ids, list(bmr)
        return [f"{i}:{b}" for i, b in enumerate(ids)], list(bmr)
    return [str(i) for i in range(n)], None


# --------------------------------------------------------------------------- estimator
class IterativeRelabeler(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Refine crude labels pass by pass with out-of-fold models and a reviewer.

    The "Relabelling Algorithm" of Chatterjee et al. (Methods): in every pass

    1. fit a :class:`~skflux.MonthBlockEnsemble`: one model per cross-validation
       split and seed (by default the five
       two-month blocks of months 1–10, :class:`~skflux.model_selection.MonthBlockSplit`)
       on the current labels, validated on the block it leaves out ("until
       validation accuracy reaches maximum": a skorch net, e.g.
       :class:`~skflux.FluxEmergenceClassifier`, gets the block as its
       validation set, so its early stopping and best-weight restore use it; a
       ``fit`` taking ``X_valid``/``y_valid`` gets it there; any other
       classifier trains on the training blocks only);
    2. predict every video of the validation blocks with the model that did not
       train on it (out of fold, :meth:`MonthBlockEnsemble.out_of_fold_proba
       <skflux.MonthBlockEnsemble.out_of_fold_proba>`; median over ``n_seeds``
       realizations);
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
        Random realizations per split (the paper: one model per block
        combination); their median is the out-of-fold probability.
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
    audit_size : int or None, default=None
        After every pass, also review a stratified random sample of this many
        videos of the validation blocks that no one has verified (label
        agreeing vs disagreeing with the pass's out-of-fold prediction; see
        :func:`skflux.relabel.audit`) and bound the fraction of wrong labels
        left with an exact interval (``passes_[k].audit``, ``audit_``). Audit
        verdicts are asked in the same request as the pass's, go to the review
        log like any other, correct labels, mark videos verified, and count in
        ``n_verified``/``fraction_verified``; an integer ``budget`` counts them
        too (the pass then reviews ``budget - audit_size`` disagreements; a
        fractional ``budget`` applies to the disagreements alone). None: no audit.
    audit_confidence : float, default=0.95
        Coverage ``1 - alpha`` of the audit's interval.
    audit_when : {"every_pass", "exhausted"}, default="every_pass"
        ``"exhausted"`` audits only after a pass that left no disagreement
        unreviewed (with a ``budget``, once the ranked reviews have run out of
        disagreements; without one, every pass): the audit then samples the
        videos the models agree with, where the passes cannot look, and no
        reviews go to audits while the passes still find mislabels.
    max_error : float or None, default=None
        The stopping rule of the audit: stop after the first pass whose audit's
        one-sided upper bound (at ``audit_confidence``) on the fraction of the
        validation blocks' labels still wrong is below ``max_error``. Needs
        ``audit_size``.
        It replaces the R rule (``stop_ratio`` is then not used); the passes
        also stop on ``max_passes``, or when a pass finds no new disagreement
        and changes no label, its audit included.
    pos_label : int, bool, str or None, default=None
        The positive class (emergence) among the labels ``y``. None:
        ``"emergence"`` when the labels are strings holding it, else the larger
        label. Oracles and the review log speak in codes: 1 for it, 0 for the
        other class (a verdict may also be given as one of the labels).
    n_jobs : int, default=None
        Fold models trained in parallel (joblib).
    random_state : int, RandomState or None, default=None
        Draws the base seed of the fold models (the seeding scheme of
        :class:`~skflux.MonthBlockEnsemble`: ``random_state`` of the estimator
        and of every nested step). With a ``review_log`` the base seed is
        stored, so a resumed fit uses the same seeds even when this is None.
    verbose : int, default=0
        0 silent, 1 one line per pass, 2 also progress bars.

    Attributes
    ----------
    labels_ : ndarray of shape (n_videos,)
        The relabeled labels, from ``classes_``.
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
    ensemble_ : MonthBlockEnsemble
        The last pass's fold models, behind :meth:`predict_proba`.
    estimators_ : list of classifiers
        ``ensemble_.estimators_`` (``n_splits * n_seeds``, split-major; trained
        on the codes 1 = ``pos_label_``, 0 = the other class).
    folds_ : list of (ndarray, ndarray)
        Training and validation positions of each split.
    fold_of_ : ndarray of int
        Validation block of every video, -1 outside every block.
    classes_ : ndarray of shape (2,)
        The two labels of ``y``, sorted.
    pos_label_ : object
        The positive class (emergence).
    n_features_in_ : int
        Only set when ``X`` holds 2-D features.
    audit_ : AuditResult or None
        The last pass's audit (None without ``audit_size``).

    See Also
    --------
    skflux.relabel.ReviewLog, skflux.plotting.plot_relabel_passes

    Notes
    -----
    The last pass's models were trained on the labels *before* that pass's
    verdicts. A fit resumed from a ``review_log`` that ends on a pass read from
    the log retrains that pass's models (same seeds) for :meth:`predict_proba`:
    the log keeps no models. Retrain (e.g. :class:`~skflux.MonthBlockEnsemble`) on
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

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object"],
        "oracle": [HasMethods(["review"]), callable, None],
        "stop_ratio": [Interval(numbers.Real, 0, None, closed="left")],
        "max_passes": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_seeds": [Interval(numbers.Integral, 1, None, closed="left")],
        "review_log": [str, os.PathLike, ReviewLog, None],
        "priority": [StrOptions({"confidence"}), callable, None],
        "budget": [Interval(numbers.Integral, 1, None, closed="left"),
                   Interval(RealNotInt, 0, 1, closed="right"), None],
        "threshold": [Interval(numbers.Real, 0, 1, closed="neither")],
        "audit_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "audit_confidence": [Interval(numbers.Real, 0, 1, closed="neither")],
        "audit_when": [StrOptions({"every_pass", "exhausted"})],
        "max_error": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "pos_label": [numbers.Real, str, "boolean", None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, cv=None, oracle=None, stop_ratio=0.5, max_passes=10,
                 n_seeds=1, review_log=None, priority=None, budget=None, threshold=0.5,
                 audit_size=None, audit_confidence=0.95, audit_when="every_pass",
                 max_error=None,
                 pos_label=None, n_jobs=None, random_state=None, verbose=0):
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
        self.audit_size = audit_size
        self.audit_confidence = audit_confidence
        self.audit_when = audit_when
        self.max_error = max_error
        self.pos_label = pos_label
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # binary: emergence or not
        base = get_tags(self.estimator).input_tags  # the fold models decide
        tags.input_tags.sparse, tags.input_tags.allow_nan = base.sparse, base.allow_nan
        return tags

    # ------------------------------------------------------------------ checks
    def _check_target(self, X, y, n):
        if y is None:
            if not (_is_dataarray(X) and "label" in X.coords):
                raise ValueError("requires y to be passed, but the target y is None: give the "
                                 "crude labels, or X as a DataArray with a 'label' coordinate")
            y = X.coords["label"].values
        if isinstance(y, str):
            if not (_is_dataarray(X) and y in X.coords):
                raise ValueError(f"X has no coordinate {y!r} to take the labels from")
            y = X.coords[y].values
        return check_binary_target(y, pos_label=self.pos_label, n_samples=n, X=X)

    def _folds(self, X, y, groups, n):
        cv = self.cv
        if cv is None:
            from ..model_selection import MonthBlockSplit

            cv = MonthBlockSplit()
        cv = check_cv(cv, y, classifier=True)
        with warnings.catch_warnings():  # a block of one class is fine here: nothing is scored
            warnings.filterwarnings("ignore", r"month block \d+ .* holds only class",
                                    UserWarning)
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
        config = {
            "estimator": type(self.estimator).__name__,
            "estimator_params": estimator_signature(self.estimator), "n_splits": n_folds,
            "n_seeds": int(self.n_seeds), "threshold": float(self.threshold),
            "priority": prio, "budget": self.budget, "random_state": rs,
        }
        if self.audit_size is not None:  # logs written without an audit keep their config
            config["audit_size"] = int(self.audit_size)
            if self.audit_when != "every_pass":
                config["audit_when"] = self.audit_when
        return config

    def _check_audit(self):
        if self.max_error is not None and self.audit_size is None:
            raise ValueError("max_error needs audit_size: the stopping rule reads the upper "
                             "bound of an audit after every pass")
        if (self.audit_size is not None and isinstance(self.budget, numbers.Integral)
                and self.budget <= self.audit_size):
            raise ValueError(f"budget={self.budget} counts the audit's videos too, so it must "
                             f"exceed audit_size={self.audit_size}")

    def _audit_pass(self, p, base_seed, oof, labels, verified, fold_of, queue):
        """The audit sample of pass ``p``: same draw when a fit resumes from its log."""
        if self.audit_size is None:
            return np.zeros(0, dtype=int), None
        candidates = (fold_of >= 0) & ~verified
        candidates[queue] = False
        if not candidates.any():
            return np.zeros(0, dtype=int), None
        if self.audit_when == "exhausted":
            pred = (np.nan_to_num(oof, nan=0.0) >= self.threshold).astype(int)
            if (candidates & (pred != labels)).any():  # disagreements left for the passes
                return np.zeros(0, dtype=int), None
        rng = np.random.default_rng(np.random.SeedSequence([int(base_seed), int(p), 29]))
        sample, stratum_of = audit_sample(
            labels, oof, self.audit_size, candidates=candidates, threshold=self.threshold,
            random_state=np.random.RandomState(rng.integers(2**31)))
        return sample, stratum_of

    def _stop(self, rec, audit_result):
        """Why the passes stop after ``rec`` (the audit's rule when ``max_error`` is set)."""
        if self.max_error is None:
            return stop_reason(rec, self.stop_ratio, self.max_passes)
        if audit_result is not None and audit_result.certifies(self.max_error):
            hi = audit_result.residual_error_upper
            return (f"audit: residual error <= {hi:.3g} < max_error = {self.max_error} "
                    f"at {self.audit_confidence:.0%}")
        reason = stop_reason(rec, float("-inf"), self.max_passes)
        audit_changed = audit_result is not None and audit_result.n_wrong > 0
        if reason.startswith("no ") and audit_changed and rec.pass_index < self.max_passes:
            return ""  # the audit changed labels: the next pass trains on them
        return reason

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, groups=None, **fit_params):
        """Run the relabeling passes (or resume them from ``review_log``).

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray
            The videos (any input the estimator accepts; indexed along its first axis).
        y : array-like, str or None
            Crude labels (any two classes), or the name of a coordinate of X;
            None uses X's ``label`` coordinate.
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
            When ``review_log`` is corrupt, foreign, from another dataset, or in
            use by another run (the message names its process).
        ReviewPending
            Raised by the oracle to pause. With a ``review_log`` every verdict
            given is kept and the next ``fit`` call resumes; without one a
            ``RuntimeWarning`` says the verdicts are not kept.
        """
        oracle = check_oracle(self.oracle)
        self._check_audit()
        if _is_feature_matrix(X):
            X = validate_data(self, X, accept_sparse="csr", dtype=None, ensure_all_finite=False)
        n = _n_samples(X)
        target = self._check_target(X, y, n)
        folds, fold_of, block_months = self._folds(X, target.encoded, groups, n)
        ids, bmr_ids = _video_ids(X, n)
        log, base_seed = open_log(self.review_log, dataset_fingerprint(target.encoded, fold_of,
                                                                       ids),
                                  self._config(len(folds)), draw_base_seed(self.random_state))
        try:
            self._run(X, target, groups, (folds, fold_of, block_months), (ids, bmr_ids),
                      oracle, log, base_seed, fit_params)
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
        self.classes_, self.pos_label_ = target.classes, target.pos_label
        self.labels_ = decode(self.labels_, target)
        self.folds_, self.fold_of_ = folds, fold_of
        return self

    def _fit_ensemble(self, X, labels, target, folds, base_seed, groups, fit_params):
        ens = MonthBlockEnsemble(self.estimator, cv=folds, n_seeds=self.n_seeds,
                                 threshold=self.threshold, pos_label=target.pos_label,
                                 n_jobs=self.n_jobs, verbose=int(self.verbose >= 2))
        if hasattr(self, "n_features_in_"):
            ens.n_features_in_ = self.n_features_in_
        return ens._fit_splits(X, labels, folds, base_seed, groups, fit_params,
                               classes=target.classes, pos_label=target.pos_label)

    def _run(self, X, target, groups, cv, names, oracle, log, base_seed, fit_params):
        (folds, fold_of, block_months), n = cv, target.encoded.shape[0]
        labels, verified, frames = target.encoded.copy(), np.zeros(n, bool), np.full(n, -1)
        logged, passes = logged_verdicts(log), []
        ens, ens_labels, oof, oof_labels = None, None, None, None
        budget = self.budget
        if self.audit_size is not None and isinstance(budget, numbers.Integral):
            budget = budget - self.audit_size  # the audit's videos count in the budget
        last_audit = None
        for p in range(1, self.max_passes + 1):
            t0, start_labels = time.perf_counter(), labels
            stored = stored_pass(log, p, labels)
            if stored is not None:
                oof, oof_labels = stored["oof_proba"], labels
            elif oof is None or not np.array_equal(oof_labels, labels):  # else: same models
                ens = self._fit_ensemble(X, labels, target, folds, base_seed, groups, fit_params)
                ens_labels = oof_labels = labels
                oof = ens.out_of_fold_proba(X)
            if stored is None and log is not None:
                log.save_trained(p, labels_sha(labels), oof)
            seconds = time.perf_counter() - t0
            queue = review_queue(oof, labels, verified, fold_of, threshold=self.threshold,
                                 priority=self.priority, budget=budget)
            sample, stratum_of = self._audit_pass(p, base_seed, oof, labels, verified,
                                                  fold_of, queue)
            asked = np.concatenate([queue, sample]).astype(int)
            done = logged.get(p, {})
            got = stored_verdicts(log, p, stored, done, asked)
            if got is None:
                request = make_request(asked, done, labels, oof, *names, p, X, target,
                                       blocks=(fold_of, block_months))
                got = ask_oracle(oracle, request, done, log, progress=self.verbose >= 2)
            answers = np.array([got[int(i)][0] for i in asked], dtype=int)
            verdicts = answers[:queue.size]
            rec = pass_statistics(p, oof, labels, verified, queue, verdicts, fold_of,
                                  self.threshold, block_months)
            rec.seconds = seconds
            audit_result = None
            if stratum_of is not None:
                audit_result = summarize_audit(
                    sample, stratum_of, labels[sample], answers[queue.size:],
                    n_scope=int((fold_of >= 0).sum()), confidence=self.audit_confidence,
                    method="exact", allocation="neyman")
                rec.audit = audit_result.to_dict()
                rec.n_verified += int(sample.size)
                rec.fraction_verified = rec.n_verified / rec.n_videos if rec.n_videos else 0.0
                last_audit = audit_result
            rec.stop_reason = self._stop(rec, audit_result)
            if log is not None and (stored is None or stored["stage"] != "done"):
                log.save_done(p, rec.to_dict())
            labels = labels.copy()
            labels[asked], verified[asked] = answers, True
            frames[asked] = [-1 if got[int(i)][1] is None else got[int(i)][1] for i in asked]
            passes.append(rec)
            self._report(rec)
            if rec.stop_reason:
                break
        if ens is None or not np.array_equal(ens_labels, start_labels):  # read from the log
            ens = self._fit_ensemble(X, start_labels, target, folds, base_seed, groups,
                                     fit_params)
        self.labels_, self.verified_, self.emergence_frames_ = labels, verified, frames
        self.passes_, self.n_passes_ = passes, len(passes)
        self.audit_ = last_audit
        self.stop_reason_ = passes[-1].stop_reason
        self.oof_proba_, self.ensemble_, self.estimators_ = oof, ens, ens.estimators_

    def _report(self, rec):
        if self.verbose:
            print(f"pass {rec.pass_index}: {rec.n_false_positives + rec.n_false_negatives} new "
                  f"disagreements, {rec.n_mislabels} relabeled, {rec.n_model_mistakes} model "
                  f"mistakes, R = {rec.ratio:.3g}, verified {rec.fraction_verified:.1%}"
                  + (f", audit: residual error {rec.audit['residual_error']:.3g} "
                     f"[{rec.audit['residual_error_ci'][0]:.3g}, "
                     f"{rec.audit['residual_error_ci'][1]:.3g}]" if rec.audit else "")
                  + (f"; stop: {rec.stop_reason}" if rec.stop_reason else ""))

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X):
        """Class probabilities from the median of the last pass's fold models.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray

        Returns
        -------
        proba : ndarray of shape (n_videos, 2)
            Columns ordered as ``classes_``.
        """
        check_is_fitted(self, "ensemble_")
        if _is_feature_matrix(X):
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=None,
                              ensure_all_finite=False)
        return self.ensemble_.predict_proba(X)

    def predict(self, X):
        """Labels: ``pos_label_`` where the median probability is ``>= threshold``.

        Parameters
        ----------
        X : array-like, torch.Tensor or xarray.DataArray

        Returns
        -------
        labels : ndarray of shape (n_videos,)
            Labels from ``classes_``.
        """
        check_is_fitted(self, "ensemble_")
        if _is_feature_matrix(X):
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=None,
                              ensure_all_finite=False)
        return self.ensemble_.predict(X)
