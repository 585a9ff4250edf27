"""Audits of the unverified labels: the sample, the exact interval, its coverage, the stop rule."""

import numpy as np
import pytest
from _helpers_relabel import feature_model, make_videos
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import skflux
from skflux.relabel import (
    AuditResult,
    IterativeRelabeler,
    ReviewLog,
    TruthOracle,
    Verdict,
    audit,
    stratified_bounds,
)
from skflux.relabel._audit import _allocate, audit_sample


def _population(n, rate_agree, rate_disagree, n_disagree, seed):
    """Labels, truth and model probabilities with known mislabels in each stratum."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    disagree = np.zeros(n, bool)
    disagree[rng.choice(n, n_disagree, replace=False)] = True
    wrong = np.where(disagree, rng.random(n) < rate_disagree, rng.random(n) < rate_agree)
    labels = np.where(wrong, 1 - truth, truth)
    # the model agrees with the label outside ``disagree``, contradicts it inside
    model = np.where(disagree, 1 - labels, labels)
    proba = np.where(model == 1, rng.uniform(0.55, 0.95, n), rng.uniform(0.05, 0.45, n))
    return labels, truth, proba


# --------------------------------------------------------------------------- bounds
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)),
                min_size=1, max_size=3),
       st.sampled_from(["exact", "clopper-pearson"]))
def test_bounds_hold_what_the_sample_proves_and_the_estimate(strata, method):
    sizes, n_s, x_s = [], [], []
    for a, b, c in strata:  # any 0 <= x <= n <= N
        N, n, x = sorted((a, b, c), reverse=True)
        sizes.append(N), n_s.append(n), x_s.append(x)
    lo, hi, per = stratified_bounds(sizes, n_s, x_s, 0.95, method)
    # the sampled wrong ones are wrong, the sampled right ones right
    assert sum(x_s) <= lo <= hi <= sum(N - (n - x) for N, n, x in zip(sizes, n_s, x_s))
    for (l_s, h_s), N, n, x in zip(per, sizes, n_s, x_s):
        if n == N:
            assert l_s == h_s == x  # a stratum reviewed completely is known
        elif n > 0:
            assert l_s <= N * x / n <= h_s  # the stratum's estimate lies inside
    lo90, hi90, _ = stratified_bounds(sizes, n_s, x_s, 0.90, method)
    assert lo <= lo90 and hi90 <= hi  # more confidence, wider interval
    # the one-sided upper bound lies between the 90 % and the 95 % two-sided ones
    lo_u, hi_u, _ = stratified_bounds(sizes, n_s, x_s, 0.95, method, alternative="upper")
    assert lo_u == sum(x_s) and hi90 <= hi_u <= hi


def test_one_large_stratum_reduces_to_clopper_pearson():
    N, n, x = 2 * 10**5, 80, 6
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
    lo, hi, _ = stratified_bounds([N], [n], [x], 0.95, "clopper-pearson")
    assert lo / N == pytest.approx(ci.low, abs=1e-5) and hi / N == pytest.approx(ci.high,
                                                                                  abs=1e-5)
    # sampling without replacement from a huge population is binomial: same bounds
    lo_h, hi_h, _ = stratified_bounds([N], [n], [x], 0.95, "exact")
    assert lo_h / N == pytest.approx(ci.low, abs=2e-3) and hi_h / N == pytest.approx(
        ci.high, abs=2e-3)


def test_exact_bounds_are_tighter_than_binomial_in_a_small_stratum():
    lo_h, hi_h, _ = stratified_bounds([60], [40], [4], 0.95, "exact")
    lo_b, hi_b, _ = stratified_bounds([60], [40], [4], 0.95, "clopper-pearson")
    assert lo_b <= lo_h and hi_h <= hi_b and (hi_h - lo_h) < (hi_b - lo_b)


@pytest.mark.parametrize("bad", [([10], [11], [0]), ([10], [5], [6]), ([10, 3], [2], [0])])
def test_impossible_counts_are_refused(bad):
    with pytest.raises(ValueError, match="stratum|one entry"):
        stratified_bounds(*bad)


# --------------------------------------------------------------------------- sampling
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 200), st.lists(st.integers(0, 50), min_size=2, max_size=2),
       st.lists(st.floats(0, 10), min_size=2, max_size=2))
def test_allocation_spends_exactly_the_sample_and_sees_every_stratum(n, sizes, weights):
    take = _allocate(n, sizes, weights)
    assert take.sum() == min(n, sum(sizes))
    assert np.all(take <= sizes) and np.all(take >= 0)
    if n >= sum(s > 0 for s in sizes):
        assert all(t >= 1 for t, s in zip(take, sizes) if s > 0)


def test_neyman_allocation_samples_the_disagreeing_stratum_more_than_its_share():
    labels, truth, proba = _population(1000, 0.02, 0.5, 50, seed=0)
    cand = np.ones(1000, bool)
    idx, stratum_of = audit_sample(labels, proba, 100, candidates=cand, random_state=0)
    share = np.mean(stratum_of[idx] == 1)
    idx_p, _ = audit_sample(labels, proba, 100, candidates=cand, allocation="proportional",
                            random_state=0)
    assert np.mean(stratum_of[idx_p] == 1) == pytest.approx(0.05, abs=0.011)
    assert share > 0.05
    assert len(set(idx.tolist())) == 100  # without replacement


# --------------------------------------------------------------------------- audit
def test_audit_samples_only_unverified_videos_in_scope_and_corrects_nothing_itself():
    labels, truth, proba = _population(300, 0.05, 0.6, 40, seed=1)
    verified = np.zeros(300, bool)
    verified[:100] = True
    scope = np.ones(300, bool)
    scope[250:] = False
    shown = []

    def oracle(item):
        shown.append(item.index)
        return int(truth[item.index])

    res = audit(labels, proba, oracle, 50, verified=verified, scope=scope, random_state=0)
    assert isinstance(res, AuditResult)
    assert sorted(shown) == sorted(res.indices) and len(shown) == 50
    assert all(100 <= i < 250 for i in shown)
    assert res.n_population == 150 and res.n_scope == 250
    assert res.n_wrong == int((labels[res.indices] != truth[res.indices]).sum())
    assert res.verdicts == truth[res.indices].tolist()
    assert {s["stratum"] for s in res.per_stratum if s["n_sampled"]} == {"agree", "disagree"}


def test_auditing_every_unverified_video_gives_the_exact_count():
    labels, truth, proba = _population(120, 0.1, 0.5, 20, seed=2)
    res = audit(labels, proba, TruthOracle(truth), 1000, random_state=0)
    k = int((labels != truth).sum())
    assert res.n_sampled == 120 and res.n_wrong_bounds == (k, k)
    assert res.residual_error_ci == (0.0, 0.0) and res.certifies(1e-9)


def test_audit_result_round_trips_through_a_dict():
    labels, truth, proba = _population(200, 0.05, 0.5, 30, seed=3)
    res = audit(labels, proba, TruthOracle(truth), 40, random_state=1)
    back = AuditResult.from_dict(res.to_dict())
    assert back.to_dict() == res.to_dict()
    assert "audited" in repr(res)


@pytest.mark.parametrize("method", ["exact", "clopper-pearson"])
def test_interval_covers_the_true_number_of_wrong_labels_in_simulated_audits(method):
    """Coverage by simulation: >= 93 % of 200 audits at 95 % hold the truth."""
    hits, hits_upper, n_audits = 0, 0, 200
    for a in range(n_audits):
        labels, truth, proba = _population(400, 0.04, 0.45, 40, seed=100 + a)
        verified = np.zeros(400, bool)
        verified[np.random.default_rng(a).choice(400, 60, replace=False)] = True
        res = audit(labels, proba, TruthOracle(truth), 40, verified=verified, method=method,
                    random_state=a)
        k = int((labels != truth)[~verified].sum())
        lo, hi = res.n_wrong_bounds
        hits += lo <= k <= hi
        hits_upper += k <= res.n_wrong_upper <= hi
        # the residual interval is the same statement after the audit's corrections
        after = (k - res.n_wrong) / 400
        assert (res.residual_error_ci[0] <= after <= res.residual_error_ci[1]) == (
            lo <= k <= hi)
    assert hits / n_audits >= 0.93 and hits_upper / n_audits >= 0.93


def test_audit_names_what_is_wrong():
    labels, truth, proba = _population(50, 0.1, 0.5, 5, seed=4)
    with pytest.raises(ValueError, match="proba has 49 entries"):
        audit(labels, proba[:-1], TruthOracle(truth), 10)
    with pytest.raises(ValueError, match="every video in scope is verified"):
        audit(labels, proba, TruthOracle(truth), 10, verified=np.ones(50, bool))
    bad = proba.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match="video 7 has no finite out-of-fold probability"):
        audit(labels, bad, TruthOracle(truth), 10)
    with pytest.raises(ValueError, match="n_samples"):
        audit(labels, proba, TruthOracle(truth), 0)
    with pytest.raises(ValueError, match="confidence"):
        audit(labels, proba, TruthOracle(truth), 5, confidence=95)


def test_audit_is_public():
    assert skflux.audit is audit
    assert "audit" in skflux.__all__ and "audit" in skflux.relabel.__all__


# --------------------------------------------------------------------------- relabeler
@pytest.fixture(scope="module")
def videos():
    return make_videos(400, seed=3, crude_error=0.3)


class Recorder:
    def __init__(self, truth):
        self.truth, self.shown = np.asarray(truth), []

    def review(self, request):
        for item in request:
            self.shown.append((item.pass_index, item.index))
            yield Verdict(item.index, int(self.truth[item.index]))


def _rel(oracle, **kw):
    kw.setdefault("random_state", 0)
    return IterativeRelabeler(feature_model(C=0.05), oracle=oracle, **kw)


def test_audit_verdicts_are_logged_verified_counted_and_resumed(videos, tmp_path):
    truth, months = videos.true_label.values, videos.month.values
    oracle = Recorder(truth)
    log = tmp_path / "audit.sqlite"
    rel = _rel(oracle, audit_size=15, stop_ratio=0.0, max_passes=3,
               review_log=str(log)).fit(videos)
    audited = [i for p in rel.passes_ for i in p.audit["indices"]]
    reviewed = [i for p in rel.passes_ for i in p.reviewed]
    assert len(audited) == 15 * rel.n_passes_ and not set(audited) & set(reviewed)
    assert len(set(audited)) == len(audited)  # never audited twice
    assert all(months[i] <= 10 for i in audited)
    rows = ReviewLog(log).verdicts()
    assert len(rows) == len(audited) + len(reviewed) == len(oracle.shown)
    assert rel.verified_.sum() == len(audited) + len(reviewed)
    assert rel.passes_[-1].n_verified == rel.verified_.sum()
    assert np.all(rel.labels_[audited] == truth[audited])  # audit verdicts correct labels
    assert rel.audit_.to_dict() == rel.passes_[-1].audit
    # a fit resumed from the log draws the same samples and asks nobody again
    again = Recorder(truth)
    rel2 = _rel(again, audit_size=15, stop_ratio=0.0, max_passes=3,
                review_log=str(log)).fit(videos)
    assert again.shown == []
    assert [p.audit for p in rel2.passes_] == [p.audit for p in rel.passes_]
    np.testing.assert_array_equal(rel2.labels_, rel.labels_)


def test_max_error_stops_once_the_audit_certifies(videos):
    truth = videos.true_label.values
    rel = _rel(Recorder(truth), audit_size=400, max_error=0.5, max_passes=5).fit(videos)
    # auditing every unverified video makes the bound exact (0 wrong left) at once
    assert rel.n_passes_ == 1 and rel.stop_reason_.startswith("audit:")
    assert rel.audit_.residual_error_ci[1] == 0.0
    strict = _rel(Recorder(truth), audit_size=5, max_error=1e-6, max_passes=2).fit(videos)
    assert not strict.stop_reason_.startswith("audit:")  # 5 videos cannot certify that
    assert strict.audit_.residual_error_ci[1] >= 1e-6


def test_budget_counts_the_audit(videos):
    truth = videos.true_label.values
    rel = _rel(Recorder(truth), audit_size=4, budget=10, max_passes=2).fit(videos)
    for p in rel.passes_:
        assert len(p.reviewed) <= 6 and p.audit["n_sampled"] == 4


@pytest.mark.parametrize("kw, match", [({"max_error": 0.05}, "needs audit_size"),
                                       ({"audit_size": 10, "budget": 10}, "exceed")])
def test_inconsistent_audit_settings_are_refused(videos, kw, match):
    with pytest.raises(ValueError, match=match):
        _rel(Recorder(videos.true_label.values), **kw).fit(videos)


def test_audit_when_exhausted_waits_until_the_passes_run_out_of_disagreements(videos):
    truth = videos.true_label.values
    rel = _rel(Recorder(truth), priority="confidence", budget=30, audit_size=8,
               audit_when="exhausted", max_passes=8).fit(videos)
    audited = [p for p in rel.passes_ if p.audit is not None]
    skipped = [p for p in rel.passes_ if p.audit is None]
    assert audited and skipped and all(p.n_unreviewed > 0 for p in skipped)
    for p in audited:  # only after a pass that reviewed every disagreement left
        assert p.n_unreviewed == 0
        assert {s["stratum"]: s["n_population"] for s in p.audit["per_stratum"]}[
            "disagree"] == 0
    # an audit every pass spends reviews on audits from the first pass on
    every = _rel(Recorder(truth), priority="confidence", budget=12, audit_size=8,
                 max_passes=2).fit(videos)
    assert all(p.audit is not None for p in every.passes_)
