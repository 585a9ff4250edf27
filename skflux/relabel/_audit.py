"""Audits: how many labels are still wrong, with an exact interval, at a small cost in reviews.

An audit asks the reviewer about a stratified random sample of the videos that
no one has verified yet, and turns the verdicts into an estimate, with a
confidence interval, of how many of those videos carry a wrong label. The strata
are the videos whose current label agrees with the model's out-of-fold
prediction and those whose label disagrees: mislabels gather in the second, so
sampling the strata separately spends the reviews where the errors are.

The interval
------------
Stratum ``s`` holds ``N_s`` unverified videos, ``K_s`` of them mislabelled
(unknown). The audit draws ``n_s`` of them at random *without replacement* and
finds ``x_s`` mislabelled, so ``x_s`` is hypergeometric(``N_s``, ``K_s``,
``n_s``). Its exact (Clopper-Pearson-type) bounds for ``K_s`` at tail level
``a`` are ``U_s = max{K : P(X <= x_s | K) > a}`` and
``L_s = min{K : P(X >= x_s | K) > a}``; each misses with probability at most
``a`` whatever ``K_s`` is. ``method="clopper-pearson"`` uses the binomial
Clopper-Pearson bounds on the stratum's proportion instead
(:func:`scipy.stats.binomtest`), i.e. treats the draws as if made with
replacement: wider, and also valid.

For the total ``K = sum K_s`` the bounds are summed, and the error level
``alpha = 1 - confidence`` is split evenly (Bonferroni) over the two tails and
over the strata whose count is uncertain (sampled but not exhausted; a stratum
reviewed completely is known exactly, an empty one is 0). The union bound makes
the summed interval miss ``K`` with probability at most ``alpha``: exact in
every stratum, conservative for the sum. ``bench_cost_curve.py`` checks the
coverage by simulation.

The stopping rule needs only an upper bound: "the wrong labels left are at most
``U`` with confidence ``1 - alpha``" is the one-sided bound, each uncertain
stratum at tail level ``alpha / m`` (not ``alpha / 2m``), which is tighter than
the upper end of the two-sided interval (:attr:`AuditResult.residual_error_upper`).

Labels are codes here: 1 for emergence (the positive class), 0 for the other.
"""

import numbers
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from .._targets import check_binary_target
from ._oracles import ReviewRequest, check_oracle
from ._review import ask_oracle

__all__ = ["AuditResult", "audit", "audit_sample", "stratified_bounds"]

STRATA = ("agree", "disagree")


# --------------------------------------------------------------------------- bounds
def _hypergeom_bounds(N, n, x, tail):
    """Exact bounds on the number of mislabelled videos ``K`` of one stratum."""
    if n >= N:
        return x, x
    K = np.arange(N + 1)
    upper_ok = stats.hypergeom.cdf(x, N, K, n) > tail     # P(X <= x | K) > tail
    lower_ok = stats.hypergeom.sf(x - 1, N, K, n) > tail  # P(X >= x | K) > tail
    possible = (K >= x) & (N - K >= n - x)
    upper = int(K[upper_ok & possible].max())
    lower = int(K[lower_ok & possible].min())
    return lower, upper


def _binomial_bounds(N, n, x, tail):
    """Clopper-Pearson bounds on the stratum's proportion, as counts (rounded outwards)."""
    if n >= N:
        return x, x
    ci = stats.binomtest(int(x), int(n)).proportion_ci(confidence_level=1 - 2 * tail,
                                                       method="exact")
    # the n - x sampled good and x sampled bad videos are known exactly
    lower = max(x, int(np.ceil(ci.low * N - 1e-9)))
    upper = min(N - (n - x), int(np.floor(ci.high * N + 1e-9)))
    return lower, upper


def stratified_bounds(sizes, n_sampled, n_wrong, confidence=0.95, method="exact",
                      alternative="two-sided"):
    """Confidence interval of the number of wrong labels in a stratified population.

    Parameters
    ----------
    sizes : array-like of int
        Videos per stratum (the population ``N_s``).
    n_sampled : array-like of int
        Videos reviewed per stratum (drawn at random without replacement).
    n_wrong : array-like of int
        Reviewed videos per stratum found to carry a wrong label.
    confidence : float, default=0.95
        Coverage of the two-sided interval of the total.
    method : {"exact", "clopper-pearson"}, default="exact"
        Per-stratum bounds: exact hypergeometric (sampling without
        replacement) or binomial Clopper-Pearson (as if with replacement).
    alternative : {"two-sided", "upper"}, default="two-sided"
        ``"upper"``: a one-sided upper bound at ``confidence`` (the lower bound
        returned is then the count the sample proves, ``sum(n_wrong)``).

    Returns
    -------
    lower, upper : int
        Bounds of the total number of wrong labels in the population.
    per_stratum : list of (int, int)
        The bounds of every stratum.

    Raises
    ------
    ValueError
        On a stratum with more videos sampled than it holds, or more wrong
        than sampled, or an unknown ``method``.

    Examples
    --------
    >>> stratified_bounds([100], [100], [7])[:2]
    (7, 7)
    >>> lo, hi, _ = stratified_bounds([400, 40], [40, 20], [1, 9])
    >>> 10 <= lo <= 28 <= hi
    True
    """
    sizes, n_sampled, n_wrong = (np.asarray(a, dtype=int).ravel()
                                 for a in (sizes, n_sampled, n_wrong))
    if not (sizes.shape == n_sampled.shape == n_wrong.shape):
        raise ValueError("sizes, n_sampled and n_wrong need one entry per stratum")
    for s, (N, n, x) in enumerate(zip(sizes, n_sampled, n_wrong)):
        if not 0 <= n <= N or not 0 <= x <= n:
            raise ValueError(f"stratum {s}: {x} wrong of {n} sampled of {N} videos is "
                             "impossible (need 0 <= wrong <= sampled <= size)")
    if method not in ("exact", "clopper-pearson"):
        raise ValueError(f"method must be 'exact' or 'clopper-pearson'; got {method!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence!r}")
    if alternative not in ("two-sided", "upper"):
        raise ValueError(f"alternative must be 'two-sided' or 'upper'; got {alternative!r}")
    uncertain = (n_sampled < sizes) & (n_sampled > 0)
    tails = 2 if alternative == "two-sided" else 1
    tail = (1 - confidence) / tails / max(int(uncertain.sum()), 1)
    bound = _hypergeom_bounds if method == "exact" else _binomial_bounds
    per = []
    for N, n, x in zip(sizes, n_sampled, n_wrong):
        if N == 0:
            per.append((0, 0))
        elif n == 0:  # nothing known: anything from none to all
            per.append((0, int(N)))
        else:
            lo, hi = bound(int(N), int(n), int(x), tail)
            per.append((lo if alternative == "two-sided" else int(x), hi))
    return int(sum(lo for lo, _ in per)), int(sum(hi for _, hi in per)), per


# --------------------------------------------------------------------------- sampling
def _allocate(n, sizes, weights):
    """Split ``n`` draws over strata ∝ ``weights``, at least one per non-empty stratum."""
    sizes = np.asarray(sizes, dtype=int)
    take = np.zeros(sizes.size, dtype=int)
    n = min(int(n), int(sizes.sum()))
    nonempty = np.flatnonzero(sizes > 0)
    for s in nonempty[:n]:  # one each first, so that no stratum goes unseen
        take[s] = 1
    while take.sum() < n:
        room = sizes - take
        open_ = room > 0
        w = np.where(open_, np.asarray(weights, dtype=float), 0.0)
        if w.sum() <= 0:
            w = open_.astype(float)
        share = (n - take.sum()) * w / w.sum()
        add = np.minimum(np.floor(share).astype(int), room)
        if add.sum() == 0:  # the remainder: one to the largest share with room
            add[np.argmax(np.where(open_, share, -1))] = 1
        take += add
    return take


def audit_sample(labels, proba, n_samples, *, candidates, threshold=0.5,
                 allocation="neyman", random_state=None):
    """Draw the stratified random sample of an audit (no reviewing).

    Parameters
    ----------
    labels : ndarray of {0, 1}
        Current labels (codes).
    proba : ndarray of float
        Out-of-fold probabilities of emergence (they define the strata and,
        with ``allocation="neyman"``, the share of each).
    n_samples : int
        Videos to draw (all candidates when there are fewer).
    candidates : ndarray of bool
        The audit's population: videos not yet verified, in scope.
    threshold : float, default=0.5
    allocation : {"neyman", "proportional"}, default="neyman"
        ``"proportional"``: draws ∝ stratum size. ``"neyman"``: ∝ size times
        the standard deviation ``sqrt(q(1 - q))`` of the stratum's mean
        model-estimated chance ``q`` that a label is wrong (the model only
        steers the sample sizes; the interval does not rely on it).
    random_state : int, RandomState or None

    Returns
    -------
    indices : ndarray of int
        Positions drawn, stratum by stratum.
    stratum_of : ndarray of int, shape (n_videos,)
        0 (label agrees with the model), 1 (disagrees), -1 outside the population.
    """
    rng = check_random_state(random_state)
    labels = np.asarray(labels, dtype=int)
    proba = np.asarray(proba, dtype=float)
    pred = (np.nan_to_num(proba, nan=0.0) >= threshold).astype(int)
    stratum_of = np.where(candidates, (pred != labels).astype(int), -1)
    members = [np.flatnonzero(stratum_of == s) for s in range(len(STRATA))]
    sizes = [m.size for m in members]
    if allocation == "neyman":
        p_wrong = np.where(labels == 1, 1.0 - proba, proba)
        q = [float(np.nanmean(p_wrong[m])) if m.size else 0.0 for m in members]
        q = np.clip(np.nan_to_num(q, nan=0.5), 0.01, 0.99)  # no stratum is ever certain
        weights = np.asarray(sizes) * np.sqrt(q * (1 - q))
    elif allocation == "proportional":
        weights = np.asarray(sizes, dtype=float)
    else:
        raise ValueError(f"allocation must be 'neyman' or 'proportional'; got {allocation!r}")
    take = _allocate(n_samples, sizes, weights)
    drawn = [rng.choice(m, size=k, replace=False) for m, k in zip(members, take)]
    return np.concatenate(drawn).astype(int), stratum_of


# --------------------------------------------------------------------------- result
@dataclass
class AuditResult:
    """What an audit found: the sample, its verdicts, and the interval of the wrong labels.

    Counts refer to the audit's population (the unverified videos in scope when
    it was drawn) and to its scope (all the videos it speaks for, verified ones
    included; a verdict is taken to be right).

    Attributes
    ----------
    indices : list of int
        Positions of the audited videos.
    strata : list of str
        Stratum of each: ``"agree"`` or ``"disagree"`` (label vs model).
    previous_labels, verdicts : list of int
        Label codes before the audit, and the reviewer's verdicts.
    n_scope, n_population : int
        Videos in scope; unverified ones among them (the population).
    n_sampled, n_wrong : int
        Audited videos; those whose label the reviewer changed.
    per_stratum : list of dict
        ``stratum``, ``n_population``, ``n_sampled``, ``n_wrong``, ``lower``,
        ``upper`` (bounds of the stratum's count of wrong labels).
    n_wrong_estimate : float
        Stratified estimate of the wrong labels in the population before the
        audit, ``sum N_s x_s / n_s`` (NaN if a non-empty stratum went unsampled).
    n_wrong_bounds : (int, int)
        Its interval at ``confidence``.
    error_rate, error_rate_ci
        The same as fractions of the population (the estimated fraction of
        wrong labels among the unverified videos).
    residual_error, residual_error_ci
        Fraction of the scope's labels still wrong *after* the audit corrected
        the ``n_wrong`` it found: ``(K - n_wrong) / n_scope``.
    n_wrong_upper : int
        One-sided upper bound at ``confidence`` of the wrong labels in the
        population before the audit (tighter than ``n_wrong_bounds[1]``).
    residual_error_upper : float
        ``(n_wrong_upper - n_wrong) / n_scope``: the bound of the stopping rule
        (:meth:`certifies`).
    confidence : float
    method, allocation : str
    """

    indices: list
    strata: list
    previous_labels: list
    verdicts: list
    n_scope: int
    n_population: int
    n_sampled: int
    n_wrong: int
    per_stratum: list
    n_wrong_estimate: float
    n_wrong_bounds: tuple
    confidence: float
    method: str
    allocation: str
    n_wrong_upper: int = None
    error_rate: float = field(init=False)
    error_rate_ci: tuple = field(init=False)
    residual_error: float = field(init=False)
    residual_error_ci: tuple = field(init=False)
    residual_error_upper: float = field(init=False)

    def __post_init__(self):
        lo, hi = self.n_wrong_bounds
        if self.n_wrong_upper is None:  # a record without it: the two-sided bound holds
            self.n_wrong_upper = hi
        pop, scope = max(self.n_population, 1), max(self.n_scope, 1)
        self.error_rate = self.n_wrong_estimate / pop
        self.error_rate_ci = (lo / pop, hi / pop)
        self.residual_error = (self.n_wrong_estimate - self.n_wrong) / scope
        self.residual_error_ci = ((lo - self.n_wrong) / scope, (hi - self.n_wrong) / scope)
        self.residual_error_upper = (self.n_wrong_upper - self.n_wrong) / scope

    def certifies(self, max_error):
        """The stopping rule: is the one-sided upper bound of the residual error < ``max_error``?

        Parameters
        ----------
        max_error : float
            The largest fraction of wrong labels left that is acceptable.

        Returns
        -------
        bool
            True when :attr:`residual_error_upper` is below ``max_error``.
        """
        return bool(self.residual_error_upper < max_error)

    def to_dict(self):
        """A JSON-serialisable dict of every field."""
        d = asdict(self)
        for k in ("n_wrong_bounds", "error_rate_ci", "residual_error_ci"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`."""
        names = {k for k, f in cls.__dataclass_fields__.items() if f.init}
        kw = {k: v for k, v in d.items() if k in names}
        kw["n_wrong_bounds"] = tuple(kw["n_wrong_bounds"])
        return cls(**kw)

    def __repr__(self):
        lo, hi = self.residual_error_ci
        return (f"AuditResult({self.n_wrong} wrong of {self.n_sampled} audited; "
                f"{self.n_population} unverified of {self.n_scope}; residual error "
                f"{self.residual_error:.3g} [{lo:.3g}, {hi:.3g}] at {self.confidence:.0%})")


def summarize_audit(indices, stratum_of, previous, verdicts, *, n_scope, confidence,
                    method, allocation):
    """Build the :class:`AuditResult` of a drawn sample and its verdicts (codes)."""
    indices = np.asarray(indices, dtype=int)
    previous, verdicts = np.asarray(previous, dtype=int), np.asarray(verdicts, dtype=int)
    wrong = previous != verdicts
    s_of = stratum_of[indices]
    sizes = [int((stratum_of == s).sum()) for s in range(len(STRATA))]
    n_s = [int((s_of == s).sum()) for s in range(len(STRATA))]
    x_s = [int((wrong & (s_of == s)).sum()) for s in range(len(STRATA))]
    lo, hi, per = stratified_bounds(sizes, n_s, x_s, confidence, method)
    upper = stratified_bounds(sizes, n_s, x_s, confidence, method, alternative="upper")[1]
    est = (float("nan") if any(N > 0 and n == 0 for N, n in zip(sizes, n_s))
           else float(sum(N * x / n for N, n, x in zip(sizes, n_s, x_s) if n)))
    return AuditResult(
        indices=indices.tolist(), strata=[STRATA[s] for s in s_of],
        previous_labels=previous.tolist(), verdicts=verdicts.tolist(),
        n_scope=int(n_scope), n_population=int(sum(sizes)), n_sampled=int(indices.size),
        n_wrong=int(wrong.sum()),
        per_stratum=[{"stratum": STRATA[s], "n_population": sizes[s], "n_sampled": n_s[s],
                      "n_wrong": x_s[s], "lower": per[s][0], "upper": per[s][1]}
                     for s in range(len(STRATA))],
        n_wrong_estimate=est, n_wrong_bounds=(lo, hi), confidence=float(confidence),
        method=method, allocation=allocation, n_wrong_upper=upper)


# --------------------------------------------------------------------------- public
def _check_fraction(value, name):
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not 0 < value < 1):
        raise ValueError(f"{name} must be a number in (0, 1); got {value!r}")


def audit(labels, proba, oracle, n_samples, *, verified=None, scope=None, X=None,
          video_ids=None, threshold=0.5, confidence=0.95, method="exact",
          allocation="neyman", pos_label=None, pass_index=0, random_state=None):
    """Audit the unverified labels: review a stratified random sample, bound the wrong ones.

    The videos in ``scope`` that are not ``verified`` form the population. They
    are split into two strata, current label agreeing or disagreeing with the
    model's out-of-fold prediction (``proba >= threshold``), a random sample of
    ``n_samples`` is drawn without replacement (``allocation`` splits it over
    the strata, at least one per non-empty stratum), the ``oracle`` reviews it
    like any other request, and the verdicts give an estimate and an exact
    interval (see the module notes: hypergeometric bounds per stratum,
    Bonferroni over strata) of the number of wrong labels among the unverified
    videos, and of the fraction of the scope's labels still wrong after the
    audit's own corrections.

    Parameters
    ----------
    labels : array-like of shape (n_videos,)
        Current labels (any two classes).
    proba : array-like of float, shape (n_videos,)
        Out-of-fold probabilities of emergence (e.g.
        :attr:`IterativeRelabeler.oof_proba_`); NaN only outside ``scope``.
    oracle : object with ``review(request)`` or callable
        The reviewer (see :class:`~skflux.relabel.Oracle`).
    n_samples : int
        Videos to review (every unverified one when there are fewer).
    verified : array-like of bool, optional
        Videos already verified (e.g. :attr:`IterativeRelabeler.verified_`);
        never drawn, and their labels are taken to be right.
    scope : array-like of bool, optional
        The videos the audit speaks for (default all; e.g.
        ``IterativeRelabeler.fold_of_ >= 0``, the train+validation months).
    X : videos, optional
        Handed to the oracle with the request (for reviewers who look at them).
    video_ids : sequence of str, optional
        Names of the videos for the reviewer (default their positions).
    threshold : float, default=0.5
        Probability at or above which the model says emergence (the strata).
    confidence : float, default=0.95
        Coverage of the intervals (``1 - alpha``).
    method : {"exact", "clopper-pearson"}, default="exact"
        Per-stratum bounds (see :func:`stratified_bounds`).
    allocation : {"neyman", "proportional"}, default="neyman"
        How the sample is split over the strata (see :func:`audit_sample`).
    pos_label : object, optional
        The emergence class among ``labels`` (default as in
        :class:`IterativeRelabeler`).
    pass_index : int, default=0
        The pass number shown to the reviewer.
    random_state : int, RandomState or None
        Draws the sample.

    Returns
    -------
    AuditResult
        Its ``verdicts`` are codes (1 emergence); ``residual_error_ci`` is the
        interval of the fraction of the scope's labels still wrong,
        ``residual_error_upper`` its one-sided upper bound, and
        ``certifies(epsilon)`` the stopping rule "upper bound below epsilon".

    Raises
    ------
    ValueError
        On arrays of different lengths, an empty population, a non-finite
        probability for a video of the population, or bad options.

    See Also
    --------
    IterativeRelabeler : its ``audit_size`` and ``max_error`` run an audit after
        every pass, log its verdicts and stop on this rule.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.relabel import TruthOracle, audit
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 2, 500)
    >>> labels = np.where(rng.random(500) < 0.1, 1 - truth, truth)
    >>> proba = np.clip(truth + rng.normal(0, 0.3, 500), 0, 1)
    >>> res = audit(labels, proba, TruthOracle(truth), 60, random_state=0)
    >>> lo, hi = res.n_wrong_bounds
    >>> bool(lo <= (labels != truth).sum() <= hi), res.n_sampled
    (True, 60)
    """
    oracle = check_oracle(oracle)
    target = check_binary_target(labels, pos_label=pos_label)
    codes = target.encoded
    n = codes.shape[0]
    proba = np.asarray(proba, dtype=float).ravel()
    verified = np.zeros(n, bool) if verified is None else np.asarray(verified, bool).ravel()
    scope = np.ones(n, bool) if scope is None else np.asarray(scope, bool).ravel()
    for name, arr in (("proba", proba), ("verified", verified), ("scope", scope)):
        if arr.shape[0] != n:
            raise ValueError(f"{name} has {arr.shape[0]} entries for {n} labels")
    if (not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool)
            or n_samples < 1):
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    _check_fraction(confidence, "confidence")
    _check_fraction(threshold, "threshold")
    candidates = scope & ~verified
    if not candidates.any():
        raise ValueError("nothing to audit: every video in scope is verified")
    bad = np.flatnonzero(candidates & ~np.isfinite(proba))
    if bad.size:
        raise ValueError(f"video {bad[0]} has no finite out-of-fold probability "
                         f"({proba[bad[0]]!r}); {bad.size} such videos in the audit's scope")
    idx, stratum_of = audit_sample(codes, proba, n_samples, candidates=candidates,
                                   threshold=threshold, allocation=allocation,
                                   random_state=random_state)
    ids = [str(i) for i in range(n)] if video_ids is None else [str(v) for v in video_ids]
    if len(ids) != n:
        raise ValueError(f"video_ids has {len(ids)} entries for {n} labels")
    request = ReviewRequest(idx, codes[idx], proba[idx], [ids[i] for i in idx], None,
                            pass_index, X, classes=target.classes, pos_label=target.pos_label)
    got = ask_oracle(oracle, request, {}, None)
    verdicts = np.array([got[int(i)][0] for i in idx], dtype=int)
    return summarize_audit(idx, stratum_of, codes[idx], verdicts, n_scope=int(scope.sum()),
                           confidence=confidence, method=method, allocation=allocation)
