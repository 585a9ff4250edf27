import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _helpers_relabel import feature_model, make_videos
from _relabel_kill_script import setup as kill_setup
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

import skflux
from skflux import ensemble as ensemble_module
from skflux.model_selection import MonthBlockSplit
from skflux.plotting import plot_relabel_passes
from skflux.relabel import (
    CallbackOracle,
    IterativeRelabeler,
    RelabelPass,
    ReviewLog,
    ReviewLogError,
    ReviewPending,
    SheetOracle,
    TruthOracle,
    Verdict,
    pass_statistics,
)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def videos():
    return make_videos(400, seed=3, crude_error=0.3)


class Recorder:
    """Truth oracle that remembers what it was shown, pass by pass."""

    def __init__(self, truth, answer=None):
        self.truth = np.asarray(truth)
        self.answer = answer
        self.shown = []

    def review(self, request):
        for item in request:
            self.shown.append((item.pass_index, item.index, item.label, item.proba))
            yield (Verdict(item.index, int(self.truth[item.index])) if self.answer is None
                   else self.answer(item))


def _same(passes_a, passes_b):
    """Pass records equal (NaN equal to NaN), ignoring wall times."""
    def dump(passes):
        return json.dumps([p.to_dict() | {"seconds": 0} for p in passes], sort_keys=True)

    return dump(passes_a) == dump(passes_b)


def _relabeler(oracle, **kw):
    kw.setdefault("random_state", 0)
    return IterativeRelabeler(feature_model(C=0.05), oracle=oracle, **kw)


def test_relabeling_reaches_the_truth_and_keeps_test_months(videos):
    truth, crude, months = (videos.true_label.values, videos.label.values,
                            videos.month.values)
    oracle = Recorder(truth)
    rel = _relabeler(oracle, stop_ratio=0.0).fit(videos)
    in_cv = months <= 10
    assert (rel.labels_ != truth)[in_cv].sum() < 0.35 * (crude != truth)[in_cv].sum()
    np.testing.assert_array_equal(rel.labels_[~in_cv], crude[~in_cv])
    assert not rel.verified_[~in_cv].any()
    shown = [i for _, i, _, _ in oracle.shown]
    assert len(shown) == len(set(shown)) == rel.verified_.sum()  # nobody seen twice
    assert all(months[i] <= 10 for i in shown)
    # verified videos carry the truth; the others keep their crude label
    np.testing.assert_array_equal(rel.labels_[rel.verified_], truth[rel.verified_])
    np.testing.assert_array_equal(rel.labels_[~rel.verified_], crude[~rel.verified_])
    assert rel.n_passes_ == len(rel.passes_) >= 2
    assert rel.stop_reason_ == rel.passes_[-1].stop_reason != ""
    assert all(p.stop_reason == "" for p in rel.passes_[:-1])
    assert np.isnan(rel.oof_proba_[~in_cv]).all() and np.isfinite(rel.oof_proba_[in_cv]).all()
    assert len(rel.estimators_) == 5 and rel.fold_of_.max() == 4
    np.testing.assert_array_equal(rel.emergence_frames_, np.full(len(truth), -1))


def test_pass_records_are_consistent(videos):
    truth = videos.true_label.values
    oracle = Recorder(truth)
    rel = _relabeler(oracle, stop_ratio=0.0).fit(videos)
    n_cv = int((videos.month.values <= 10).sum())
    verified = 0
    for p in rel.passes_:
        assert p.n_videos == n_cv
        total = (p.n_previously_verified + p.n_mislabels + p.n_model_mistakes
                 + p.n_agreements + p.n_unreviewed)
        assert total == n_cv
        assert p.n_unreviewed == 0  # no budget: every new disagreement is reviewed
        assert p.n_false_positives + p.n_false_negatives == p.n_mislabels + p.n_model_mistakes
        shown = [i for q, i, _, _ in oracle.shown if q == p.pass_index]
        assert sorted(shown) == sorted(p.reviewed)
        verified += len(shown)
        assert p.n_verified == verified
        assert p.fraction_verified == pytest.approx(verified / n_cv)
        if p.n_mislabels:
            assert p.ratio == pytest.approx(p.n_model_mistakes / p.n_mislabels)
        assert len(p.blocks) == 5
        assert sum(b["B"] for b in p.blocks) == p.n_mislabels
        assert [b["months"] for b in p.blocks] == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]
        assert p.relabel_fraction == pytest.approx(
            p.n_mislabels / (p.n_mislabels + p.n_model_mistakes + p.n_agreements))
        assert -1 <= p.corr_relabel <= 1 or math.isnan(p.corr_relabel)
        d = p.to_dict()
        assert _same([RelabelPass.from_dict(d)], [p])
        assert d["real_fraction"] == p["real_fraction"]
    first = rel.passes_[0]
    assert first.n_previously_verified == 0
    assert first.ratio > 0.5  # this dataset needs a second pass ...
    assert rel.passes_[1].n_previously_verified > 0  # ... which meets verified videos again


def test_first_pass_is_out_of_fold(videos):
    """Each video's probability comes from the model that did not train on its block."""
    rel = _relabeler(Recorder(videos.true_label.values), max_passes=1).fit(videos)
    y = videos.label.values
    X = videos.values
    for k, (train, test) in enumerate(MonthBlockSplit().split(videos)):
        model = rel.estimators_[k]
        assert set(np.flatnonzero(rel.fold_of_ == k)) == set(test)
        ref = clone(feature_model(C=0.05)).fit(X[train], y[train])
        np.testing.assert_allclose(rel.oof_proba_[test], ref.predict_proba(X[test])[:, 1])
        np.testing.assert_allclose(model.predict_proba(X[test])[:, 1], rel.oof_proba_[test])
    assert rel.n_passes_ == 1 and "max_passes" in rel.stop_reason_


def test_disagreements_are_exactly_the_reviewed_videos(videos):
    oracle = Recorder(videos.true_label.values)
    rel = _relabeler(oracle, max_passes=1).fit(videos)
    pred = (rel.oof_proba_ >= 0.5).astype(int)
    in_cv = rel.fold_of_ >= 0
    dis = np.flatnonzero(in_cv & (pred != videos.label.values))
    assert sorted(i for _, i, _, _ in oracle.shown) == dis.tolist()
    assert all(lab == videos.label.values[i] for _, i, lab, _ in oracle.shown)


def test_stops_when_no_label_changes(videos):
    rel = _relabeler(Recorder(None, answer=lambda item: item.label)).fit(videos)
    assert rel.n_passes_ == 1 and rel.passes_[0].ratio == math.inf
    assert rel.passes_[0].n_mislabels == 0 and "no label changed" in rel.stop_reason_
    np.testing.assert_array_equal(rel.labels_, videos.label.values)


def test_stops_without_disagreements():
    X, y, _, months = make_videos(120, seed=1, crude_error=0.0, as_dataarray=False)
    oracle = Recorder(y)
    rel = IterativeRelabeler(LogisticRegression(), oracle=oracle, random_state=0).fit(
        X[:, :, 0, 0] * 0 + y[:, None] * 10.0, y, groups=months)
    assert rel.n_passes_ == 1 and oracle.shown == []
    assert math.isnan(rel.passes_[0].ratio) and rel.stop_reason_ == "no new disagreements"


def test_stop_ratio_and_max_passes(videos):
    truth = videos.true_label.values
    one = _relabeler(Recorder(truth), stop_ratio=10.0).fit(videos)
    assert one.n_passes_ == 1 and "stop_ratio" in one.stop_reason_
    capped = _relabeler(Recorder(truth), stop_ratio=0.0, max_passes=2).fit(videos)
    assert capped.n_passes_ == 2


def test_budget_and_confidence_priority(videos):
    truth = videos.true_label.values
    oracle = Recorder(truth)
    rel = _relabeler(oracle, priority="confidence", budget=7, max_passes=3,
                     stop_ratio=0.0).fit(videos)
    for p in rel.passes_:
        shown = [(i, lab, pr) for q, i, lab, pr in oracle.shown if q == p.pass_index]
        assert len(shown) <= 7
        for c in (0, 1):  # within a label: least confident in it first
            conf = [pr if lab == 1 else 1 - pr for _, lab, pr in shown if lab == c]
            assert conf == sorted(conf)
        if p.n_unreviewed:
            assert len(shown) == 7
    assert rel.passes_[0].n_unreviewed > 0
    # the unreviewed ones come back in the next pass
    assert rel.passes_[1].n_mislabels + rel.passes_[1].n_model_mistakes > 0
    frac = _relabeler(Recorder(truth), budget=0.5, max_passes=1).fit(videos)
    p = frac.passes_[0]
    assert len(p.reviewed) == math.ceil(0.5 * (len(p.reviewed) + p.n_unreviewed))


def test_confidence_order_uses_per_class_thresholds(videos):
    """First pass: the order is t_k - P(k) with t_k the mean self-confidence of label k."""
    oracle = Recorder(videos.true_label.values)
    rel = _relabeler(oracle, priority="confidence", max_passes=1).fit(videos)
    labels = videos.label.values
    in_cv = videos.month.values <= 10
    conf = np.where(labels == 1, rel.oof_proba_, 1 - rel.oof_proba_)
    t = [conf[in_cv & (labels == k)].mean() for k in (0, 1)]
    shown = [i for _, i, _, _ in oracle.shown]
    score = np.array([t[labels[i]] - conf[i] for i in shown])
    assert len(shown) > 5 and set(labels[shown]) == {0, 1}
    assert np.all(np.diff(score) <= 1e-12)
    # not the plain self-confidence order here (the per-class shift matters)
    assert shown != [i for i in sorted(shown, key=lambda i: conf[i])]


def test_confidence_finds_mislabels_first(videos):
    truth = videos.true_label.values
    plain = _relabeler(Recorder(truth), budget=10, max_passes=1).fit(videos)
    ranked = _relabeler(Recorder(truth), budget=10, max_passes=1,
                        priority="confidence").fit(videos)
    assert ranked.passes_[0].real_fraction > plain.passes_[0].real_fraction


def test_callable_priority(videos):
    oracle = Recorder(videos.true_label.values)
    _relabeler(oracle, priority=lambda proba, labels: np.arange(len(proba)),
               max_passes=1).fit(videos)
    order = [i for _, i, _, _ in oracle.shown]
    assert order == sorted(order, reverse=True)
    with pytest.raises(ValueError, match="priority returned"):
        _relabeler(Recorder(videos.true_label.values), priority=lambda p, lab: [1.0]).fit(
            videos)


def test_predict_through_last_pass_models(videos):
    rel = _relabeler(TruthOracle(), n_seeds=2).fit(videos)
    assert len(rel.estimators_) == 10
    proba = rel.predict_proba(videos)
    members = np.vstack([m.predict_proba(videos.values)[:, 1] for m in rel.estimators_])
    np.testing.assert_allclose(proba[:, 1], np.median(members, axis=0))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(rel.predict(videos), (proba[:, 1] >= 0.5).astype(int))
    assert rel.score(videos, videos.true_label.values) > 0.8
    np.testing.assert_array_equal(rel.classes_, [0, 1])


def test_seeds_reach_nested_estimators_and_runs_repeat(videos):
    from _helpers_relabel import flux_features
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    est = make_pipeline(FunctionTransformer(flux_features),
                        RandomForestClassifier(n_estimators=5))
    a = IterativeRelabeler(est, oracle=TruthOracle(), random_state=3, max_passes=1).fit(videos)
    b = IterativeRelabeler(est, oracle=TruthOracle(), random_state=3, max_passes=1).fit(videos)
    c = IterativeRelabeler(est, oracle=TruthOracle(), random_state=4, max_passes=1).fit(videos)
    np.testing.assert_array_equal(a.oof_proba_, b.oof_proba_)
    assert not np.array_equal(a.oof_proba_, c.oof_proba_)
    seeds = {m.get_params()["randomforestclassifier__random_state"] for m in a.estimators_}
    assert len(seeds) == 5


def test_numpy_tensor_and_other_cv():
    X, crude, truth, months = make_videos(200, seed=2, as_dataarray=False)
    rel = _relabeler(TruthOracle(truth), max_passes=1).fit(X, crude, groups=months)
    assert not rel.verified_[months > 10].any()
    # a torch tensor behaves like numpy
    rel_t = _relabeler(TruthOracle(truth), max_passes=1).fit(torch.from_numpy(X), crude,
                                                             groups=months)
    np.testing.assert_allclose(rel_t.oof_proba_, rel.oof_proba_)
    # any disjoint cross-validator works; with KFold every video is a candidate
    kf = _relabeler(TruthOracle(truth), cv=KFold(4), max_passes=1).fit(X, crude)
    assert np.isfinite(kf.oof_proba_).all() and kf.fold_of_.min() == 0


def test_labels_from_coordinate_names(videos):
    oracle = TruthOracle()
    rel = _relabeler(oracle, max_passes=1).fit(videos, "label")
    assert oracle.n_reviewed_ == rel.verified_.sum() > 0


def test_clone_params_and_lazy_export(videos):
    rel = IterativeRelabeler(feature_model(), oracle=TruthOracle(), budget=5, review_log="x")
    twin = clone(rel)
    assert twin.get_params()["budget"] == 5 and twin.review_log == "x"
    assert skflux.IterativeRelabeler is IterativeRelabeler
    with pytest.raises(Exception, match="not fitted"):
        rel.predict(videos)


@pytest.mark.parametrize("kw, match", [
    (dict(budget=0), r"'budget' .* an int in the range \[1, inf\)"),
    (dict(budget=1.5), r"'budget' .* a float in the range \(0.0, 1.0\]"),
    (dict(budget="all"), "'budget' parameter"), (dict(threshold=1.0), "'threshold'"),
    (dict(priority="random"), "'priority'"), (dict(max_passes=0), "'max_passes'"),
    (dict(n_seeds=1.5), "'n_seeds'"), (dict(stop_ratio=-1), "'stop_ratio'"),
    (dict(pos_label=7), "pos_label=7 is not one of the classes"),
])
def test_bad_parameters(videos, kw, match):
    with pytest.raises(ValueError, match=match):
        _relabeler(TruthOracle(), **kw).fit(videos)


def test_bad_labels_name_the_video(videos):
    y = videos.label.values.astype(float)
    y[7] = 2
    with pytest.raises(ValueError, match=r"two classes .* got 3 classes \[0.0, 1.0, 2.0\]"):
        _relabeler(TruthOracle()).fit(videos, y)
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"video 7 \(bmr_id=.*1007.*label is NaN"):
        _relabeler(TruthOracle()).fit(videos, y)
    with pytest.raises(ValueError, match="399 labels for 400 videos"):
        _relabeler(TruthOracle()).fit(videos, y[:-1])
    with pytest.raises(ValueError, match="crude labels"):
        _relabeler(TruthOracle()).fit(videos.values)
    with pytest.raises(ValueError, match="no coordinate 'crude'"):
        _relabeler(TruthOracle()).fit(videos, "crude")


def test_overlapping_cv_and_missing_oracle(videos):
    overlapping = [(np.arange(100, 400), np.arange(0, 100)), (np.arange(50, 300),
                                                               np.arange(0, 50))]
    with pytest.raises(ValueError, match="overlap"):
        _relabeler(TruthOracle(), cv=overlapping).fit(videos)
    with pytest.raises(ValueError, match="needs an oracle"):
        IterativeRelabeler(feature_model()).fit(videos)
    with pytest.raises(ValueError, match="'estimator' .*predict_proba"):
        from sklearn.svm import LinearSVC

        IterativeRelabeler(LinearSVC(), oracle=TruthOracle()).fit(
            videos.values.reshape(400, -1), videos.label.values, groups=videos.month.values)


@pytest.mark.parametrize("answer, match", [
    (lambda req: [Verdict(10**6, 1)], "not asked for"),
    (lambda req: [Verdict(req.indices[0], 1), Verdict(req.indices[0], 0)], "two verdicts"),
    (lambda req: [1], "no verdict for"),
    (lambda req: [1] * (len(req) + 1), "more verdicts"),
    (lambda req: None, "returned None"),
])
def test_misbehaving_oracles(videos, answer, match):
    class Bad:
        def review(self, request):
            return answer(request)

    with pytest.raises((ValueError, TypeError), match=match):
        _relabeler(Bad()).fit(videos)


def test_emergence_frames_are_kept(videos):
    rel = _relabeler(CallbackOracle(lambda item: (1, 9) if item.label == 0 else 0),
                     max_passes=1).fit(videos)
    reviewed = rel.passes_[0].reviewed
    frames = rel.emergence_frames_[reviewed]
    assert set(frames.tolist()) <= {9, -1} and (frames == 9).sum() == (
        videos.label.values[reviewed] == 0).sum()


# ----------------------------------------------------------------------- resume
def _fits(monkeypatch):
    calls = []
    real = ensemble_module.fit_member

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ensemble_module, "fit_member", counting)
    return calls


def test_pause_and_resume_equals_uninterrupted(videos, tmp_path, monkeypatch):
    truth = videos.true_label.values
    ref = _relabeler(Recorder(truth), stop_ratio=0.0,
                     review_log=tmp_path / "ref.sqlite").fit(videos)

    class Pausing(Recorder):
        def __init__(self, truth, after):
            super().__init__(truth)
            self.after = after

        def review(self, request):
            for v in super().review(request):
                if len(self.shown) > self.after:
                    raise ReviewPending("coffee break")
                yield v

    calls = _fits(monkeypatch)
    first = Pausing(truth, after=25)
    with pytest.raises(ReviewPending, match="coffee"):
        _relabeler(first, stop_ratio=0.0, review_log=tmp_path / "run.sqlite").fit(videos)
    assert len(ReviewLog(tmp_path / "run.sqlite")) == 25 and len(calls) == 5
    calls.clear()
    second = Recorder(truth)
    rel = _relabeler(second, stop_ratio=0.0, review_log=tmp_path / "run.sqlite").fit(videos)
    before = {i for _, i, _, _ in first.shown[:25]}
    assert not before & {i for _, i, _, _ in second.shown}
    assert len(calls) == 5 * (rel.n_passes_ - 1)  # pass 1's models came from the log
    np.testing.assert_array_equal(rel.labels_, ref.labels_)
    np.testing.assert_array_equal(rel.verified_, ref.verified_)
    assert _same(rel.passes_, ref.passes_)
    # resuming a finished run asks nobody and retrains only the last pass's models
    # (for predict: the log keeps no models)
    calls.clear()
    third = Recorder(truth)
    again = _relabeler(third, stop_ratio=0.0, review_log=tmp_path / "run.sqlite").fit(videos)
    assert len(calls) == 5 and third.shown == []
    np.testing.assert_array_equal(again.labels_, ref.labels_)
    np.testing.assert_allclose(again.predict_proba(videos), ref.predict_proba(videos))


def test_resume_retrains_only_what_is_needed(videos, tmp_path, monkeypatch):
    truth = videos.true_label.values
    log = ReviewLog(tmp_path / "lean.sqlite")
    ref = _relabeler(Recorder(truth), stop_ratio=0.0, review_log=log).fit(videos)
    calls = _fits(monkeypatch)
    again = _relabeler(Recorder(truth), stop_ratio=0.0, review_log=log).fit(videos)
    assert len(calls) == 5  # only the last pass's fold models, for predict
    np.testing.assert_array_equal(again.labels_, ref.labels_)
    np.testing.assert_allclose(again.oof_proba_, ref.oof_proba_)
    np.testing.assert_allclose(again.predict_proba(videos), ref.predict_proba(videos))


def test_resume_with_changed_stop_ratio_reuses_finished_passes(videos, tmp_path, monkeypatch):
    truth = videos.true_label.values
    path = tmp_path / "log.sqlite"
    one = _relabeler(Recorder(truth), stop_ratio=10.0, review_log=path).fit(videos)
    assert one.n_passes_ == 1
    calls = _fits(monkeypatch)
    oracle = Recorder(truth)
    more = _relabeler(oracle, stop_ratio=0.0, review_log=path).fit(videos)
    assert more.n_passes_ > 1 and len(calls) == 5 * (more.n_passes_ - 1)
    assert {q for q, _, _, _ in oracle.shown} <= set(range(2, more.n_passes_ + 1))


def test_log_of_other_data_or_settings_is_refused(videos, tmp_path):
    path = tmp_path / "log.sqlite"
    _relabeler(TruthOracle(), max_passes=1, review_log=path).fit(videos)
    before = path.read_bytes()
    other = videos.copy()
    other.coords["label"] = ("video", 1 - videos.label.values)
    with pytest.raises(ReviewLogError, match="another dataset"):
        _relabeler(TruthOracle(), review_log=path).fit(other)
    with pytest.raises(ReviewLogError, match="threshold"):
        _relabeler(TruthOracle(), review_log=path, threshold=0.6).fit(videos)
    assert path.read_bytes() == before
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00\x01not a database" * 100)
    with pytest.raises(ReviewLogError, match="refusing"):
        _relabeler(TruthOracle(), review_log=junk).fit(videos)
    assert junk.read_bytes() == b"\x00\x01not a database" * 100


def test_sheet_oracle_round_trip_through_fit(videos, tmp_path):
    truth = videos.true_label.values
    sheet_dir = tmp_path / "sheets"
    log = tmp_path / "log.sqlite"
    ref = _relabeler(TruthOracle(), stop_ratio=0.0).fit(videos)
    n_stops = 0
    while True:
        try:
            rel = _relabeler(SheetOracle(sheet_dir, figures=False), stop_ratio=0.0,
                             review_log=log).fit(videos)
            break
        except ReviewPending as exc:
            n_stops += 1
            assert exc.path.exists() and n_stops < 10
            text = exc.path.read_text().splitlines()
            header = text[0].split(",")
            rows = [line.split(",") for line in text[1:]]
            for row in rows:
                row[header.index("verdict")] = str(truth[int(row[0])])
            exc.path.write_text("\n".join([text[0]] + [",".join(r) for r in rows]) + "\n")
    assert n_stops == sum(1 for p in ref.passes_ if p.reviewed)
    np.testing.assert_array_equal(rel.labels_, ref.labels_)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["mid-pass-1", "start-of-pass-2"])
def test_sigkill_mid_fit_then_resume(tmp_path, where, monkeypatch):
    """Kill a fitting process with SIGKILL, resume, and get the uninterrupted result."""
    truth = {}
    da, ref = kill_setup(tmp_path / "ref.sqlite", lambda item: truth[item.index])
    truth.update(enumerate(int(v) for v in da.true_label.values))
    ref.fit(da)
    n1 = len(ref.passes_[0].reviewed)
    assert ref.n_passes_ >= 2 and n1 > 20
    kill_after = n1 // 2 if where == "mid-pass-1" else n1
    log, shown = tmp_path / "run.sqlite", tmp_path / "shown.txt"
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, str(HERE / "_relabel_kill_script.py"), str(log),
                           str(kill_after), str(shown)], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    before = [int(s) for s in shown.read_text().split()]
    assert len(before) == kill_after == len(ReviewLog(log))
    calls = _fits(monkeypatch)
    after = []

    def answer(item):
        after.append(item.index)
        return truth[item.index]

    _, resumed = kill_setup(log, answer)
    resumed.fit(da)
    assert not set(before) & set(after)  # no video shown twice
    assert len(before) + len(after) == len(ReviewLog(tmp_path / "ref.sqlite"))
    trained_before_kill = 1 if where == "mid-pass-1" else 2
    # the passes not trained before the kill, plus, when the run ends on a pass read from
    # the log, that pass's models again for predict (the log keeps no models)
    assert len(calls) == 5 * (max(ref.n_passes_ - trained_before_kill, 0)
                              + (ref.n_passes_ <= trained_before_kill))
    np.testing.assert_allclose(resumed.predict_proba(da), ref.predict_proba(da))
    np.testing.assert_array_equal(resumed.labels_, ref.labels_)
    np.testing.assert_array_equal(resumed.verified_, ref.verified_)
    assert [(r["video"], r["pass"], r["verdict"]) for r in ReviewLog(log).verdicts()] == [
        (r["video"], r["pass"], r["verdict"]) for r in ReviewLog(tmp_path / "ref.sqlite")
        .verdicts()]


# ----------------------------------------------------------------------- statistics
@given(st.integers(0, 2**32 - 1), st.integers(5, 60), st.floats(0.05, 0.95))
def test_pass_statistics_partition_the_videos(seed, n, threshold):
    rng = np.random.default_rng(seed)
    fold_of = rng.integers(-1, 3, n)
    oof = np.where(fold_of >= 0, rng.random(n), np.nan)
    labels = rng.integers(0, 2, n)
    verified = rng.random(n) < 0.3
    pred = (np.nan_to_num(oof) >= threshold).astype(int)
    new = np.flatnonzero((fold_of >= 0) & (pred != labels) & ~verified)
    reviewed = rng.permutation(new)[: rng.integers(0, new.size + 1)]
    verdicts = rng.integers(0, 2, reviewed.size)
    rec = pass_statistics(2, oof, labels, verified, reviewed, verdicts, fold_of, threshold)
    n_cv = int((fold_of >= 0).sum())
    assert (rec.n_previously_verified + rec.n_mislabels + rec.n_model_mistakes
            + rec.n_agreements + rec.n_unreviewed) == rec.n_videos == n_cv
    assert rec.n_mislabels == int((verdicts != labels[reviewed]).sum())
    assert rec.n_unreviewed == new.size - reviewed.size
    assert sorted(rec.relabeled) == sorted(reviewed[verdicts != labels[reviewed]].tolist())
    assert rec.n_verified == int(verified.sum()) + reviewed.size
    for key in ("A", "B", "C", "D", "U"):
        assert sum(b[key] for b in rec.blocks) == {
            "A": rec.n_previously_verified, "B": rec.n_mislabels, "C": rec.n_model_mistakes,
            "D": rec.n_agreements, "U": rec.n_unreviewed}[key]
    if rec.n_mislabels:
        assert rec.ratio == pytest.approx(rec.n_model_mistakes / rec.n_mislabels)
    else:
        assert math.isinf(rec.ratio) if rec.n_model_mistakes else math.isnan(rec.ratio)
    for b in rec.blocks:
        if b["n"]:
            assert b["accuracy"] == pytest.approx((b["D"]) / b["n"])
            assert b["accuracy_after"] == pytest.approx((b["D"] + b["B"]) / b["n"])


# ----------------------------------------------------------------------- Figure 3
def test_figure_3(videos):
    rel = _relabeler(TruthOracle(), stop_ratio=0.0, budget=20).fit(videos)
    fig = plot_relabel_passes(rel)
    top, left, right = fig.axes[:3]
    heights = {}
    for patch in top.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        heights[x] = heights.get(x, 0) + patch.get_height()
    assert len(heights) == rel.n_passes_
    assert all(h == pytest.approx(1.0) for h in heights.values())
    line = top.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [p.fraction_verified for p in rel.passes_])
    assert [t.get_text() for t in top.get_xticklabels()][:2] == ["Pass I", "Pass II"]
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert any("unreviewed" in s for s in labels)
    assert len(left.collections) == len(right.collections) == rel.n_passes_
    np.testing.assert_allclose(left.collections[0].get_offsets()[:, 0],
                               [b["accuracy"] for b in rel.passes_[0].blocks])
    np.testing.assert_allclose(
        right.collections[0].get_offsets()[:, 1],
        [b["real_fraction"] for b in rel.passes_[0].blocks if np.isfinite(b["real_fraction"])])
    assert "r = " in left.get_legend().get_texts()[0].get_text()
    # dicts (e.g. from the review log) and the "after" accuracy work too
    fig2 = plot_relabel_passes([p.to_dict() for p in rel.passes_], accuracy="after")
    np.testing.assert_allclose(fig2.axes[1].collections[0].get_offsets()[:, 0],
                               [b["accuracy_after"] for b in rel.passes_[0].blocks])


def test_figure_3_errors():
    with pytest.raises(ValueError, match="not fitted"):
        plot_relabel_passes(IterativeRelabeler(LogisticRegression()))
    with pytest.raises(ValueError, match="no relabeling passes"):
        plot_relabel_passes([])
    with pytest.raises(TypeError, match="list of RelabelPass"):
        plot_relabel_passes([3])
    rec = pass_statistics(1, np.array([0.9, 0.1]), np.array([0, 0]), np.zeros(2, bool),
                          np.array([0]), np.array([1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="accuracy"):
        plot_relabel_passes([rec], accuracy="best")


# ----------------------------------------------------------------------- CNN
@pytest.mark.slow
def test_with_a_tiny_flux_emergence_classifier(tiny_classifier, one_torch_thread):
    clf = tiny_classifier(max_epochs=1, batch_size=20, patience=None, valid_months=None,
                          augment=False)
    da = make_videos(40, n_frames=8, size=16, seed=4)
    rel = IterativeRelabeler(clf, oracle=TruthOracle(), max_passes=1, random_state=0).fit(da)
    assert len(rel.estimators_) == 5 and rel.n_passes_ == 1
    # out of fold: each video from the fold model that left its block out (module on Gauss)
    for model, (_, block) in zip(rel.estimators_, rel.folds_):
        np.testing.assert_allclose(rel.oof_proba_[block],
                                   model.predict_proba(da.isel(video=block))[:, 1], rtol=1e-5)
    in_cv = da.month.values <= 10
    assert np.isfinite(rel.oof_proba_[in_cv]).all()
    proba = rel.predict_proba(da)
    assert proba.shape == (40, 2)
    # the fold models got distinct seeds through the skorch random_state parameter
    assert len({m.random_state for m in rel.estimators_}) == 5
    assert rel.verified_.sum() == ((rel.oof_proba_ >= 0.5) != da.label.values)[in_cv].sum()
    # as in the paper, each fold model is validated on the block it leaves out
    # (the skorch net's validation set; its early stopping would use it)
    for model, (_, block) in zip(rel.estimators_, rel.folds_):
        last = model.history[-1]
        assert "valid_acc" in last
        assert sum(b["valid_batch_size"] for b in last["batches"] if "valid_batch_size" in b) \
            == block.size


def test_parallel_fold_models_give_the_same_result(videos):
    from joblib import parallel_config

    one = _relabeler(TruthOracle(), max_passes=2, stop_ratio=0.0).fit(videos)
    with parallel_config(backend="threading"):
        two = _relabeler(TruthOracle(), max_passes=2, stop_ratio=0.0, n_jobs=2).fit(videos)
    np.testing.assert_allclose(two.oof_proba_, one.oof_proba_)
    np.testing.assert_array_equal(two.labels_, one.labels_)


def test_verbose_reports_every_pass(videos, capsys):
    rel = _relabeler(TruthOracle(), stop_ratio=0.0, verbose=2).fit(videos)
    out = capsys.readouterr()
    lines = [s for s in out.out.splitlines() if s.startswith("pass ")]
    assert len(lines) == rel.n_passes_ and "stop:" in lines[-1]
    assert "fitting members" in out.err


def test_video_ids_stay_unique_with_repeated_bmr_ids(videos, tmp_path):
    dup = videos.copy()
    dup.coords["bmr_id"] = ("video", np.repeat(np.arange(200), 2))
    oracle = Recorder(videos.true_label.values)
    log = tmp_path / "log.sqlite"
    _relabeler(oracle, max_passes=1, review_log=log).fit(dup)
    ids = ReviewLog(log).to_frame()["video_id"]
    assert ids.is_unique and all(":" in s for s in ids)


def test_budget_pass_without_relabel_goes_on_with_the_same_models(videos, monkeypatch):
    """A pass that spent its budget on model mistakes leaves the rest for the next one."""
    calls = _fits(monkeypatch)
    oracle = Recorder(None, answer=lambda item: Verdict(item.index, item.label))
    rel = _relabeler(oracle, budget=5, max_passes=3).fit(videos)
    first = rel.passes_[0]
    assert first.n_mislabels == 0 and first.n_unreviewed > 0
    # not stopped while disagreements were left: every pass reviewed 5 new videos
    assert rel.n_passes_ == 3 and "max_passes" in rel.stop_reason_
    shown = [i for _, i, _, _ in oracle.shown]
    assert len(shown) == len(set(shown)) == 15
    # the labels never changed, so the fold models were trained once
    assert len(calls) == 5
    np.testing.assert_array_equal(rel.labels_, videos.label.values)
    # and when no disagreement is left unreviewed, a pass without relabel stops
    total = first.n_model_mistakes + first.n_unreviewed
    all_seen = _relabeler(Recorder(None, answer=lambda item: Verdict(item.index, item.label)),
                          budget=total).fit(videos)
    assert all_seen.n_passes_ == 1 and "no label changed" in all_seen.stop_reason_


def test_stale_review_sheet_is_refused(videos, tmp_path):
    sheet_dir = tmp_path / "sheets"
    with pytest.raises(ReviewPending) as info:
        _relabeler(SheetOracle(sheet_dir, figures=False), max_passes=1,
                   review_log=tmp_path / "log.sqlite").fit(videos)
    text = info.value.path.read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("video_id")] = "a-video-of-another-run"
    row[header.index("verdict")] = "1"
    info.value.path.write_text("\n".join([text[0], ",".join(row)] + text[2:]) + "\n")
    with pytest.raises(ValueError, match="video_id 'a-video-of-another-run'.*another dataset"):
        _relabeler(SheetOracle(sheet_dir, figures=False), max_passes=1,
                   review_log=tmp_path / "log.sqlite").fit(videos)
    row = text[1].split(",")
    row[header.index("current_label")] = str(1 - int(row[header.index("current_label")]))
    row[header.index("verdict")] = "1"
    info.value.path.write_text("\n".join([text[0], ",".join(row)] + text[2:]) + "\n")
    with pytest.raises(ValueError, match="current_label"):
        _relabeler(SheetOracle(sheet_dir, figures=False), max_passes=1,
                   review_log=tmp_path / "log.sqlite").fit(videos)


def test_resume_with_another_estimator_is_refused(videos, tmp_path):
    path = tmp_path / "log.sqlite"
    _relabeler(TruthOracle(), max_passes=1, review_log=path).fit(videos)
    before = path.read_bytes()
    with pytest.raises(ReviewLogError, match="estimator_params"):
        IterativeRelabeler(feature_model(C=10.0), oracle=TruthOracle(), max_passes=1,
                           random_state=0, review_log=path).fit(videos)
    assert path.read_bytes() == before
    # runtime settings are not part of the model: resuming with them is fine
    slow = feature_model(C=0.05)
    slow.set_params(verbose=False)
    again = IterativeRelabeler(slow, oracle=TruthOracle(), max_passes=1, random_state=0,
                               review_log=path, n_jobs=1).fit(videos)
    assert again.n_passes_ == 1


def test_damaged_log_without_version_is_refused(videos, tmp_path):
    import sqlite3

    path = tmp_path / "log.sqlite"
    _relabeler(TruthOracle(), max_passes=1, review_log=path).fit(videos)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM meta WHERE key='version'")
    con.close()
    before = path.read_bytes()
    with pytest.raises(ReviewLogError, match="damaged.*version"):
        _relabeler(TruthOracle(), max_passes=1, review_log=path).fit(videos)
    assert path.read_bytes() == before


def _unpicklable_model():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(lambda X: feature_model()[0].func(X)),
                         LogisticRegression(C=0.05))


def test_unpicklable_models_work_with_a_log(videos, tmp_path, monkeypatch):
    import warnings

    truth = videos.true_label.values
    path = tmp_path / "log.sqlite"
    kw = dict(oracle=TruthOracle(truth), stop_ratio=0.0, max_passes=2, random_state=0)
    ref = IterativeRelabeler(_unpicklable_model(), **kw).fit(videos)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logged = IterativeRelabeler(_unpicklable_model(), review_log=path, **kw).fit(videos)
    np.testing.assert_array_equal(logged.labels_, ref.labels_)
    calls = _fits(monkeypatch)
    again = IterativeRelabeler(_unpicklable_model(), review_log=path, **kw).fit(videos)
    assert len(calls) == 5  # the last pass's models are retrained for predict
    np.testing.assert_array_equal(again.labels_, ref.labels_)
    np.testing.assert_allclose(again.predict_proba(videos), ref.predict_proba(videos))


def test_pause_without_log_warns_that_verdicts_are_lost(videos):
    def pause(request):
        raise ReviewPending("a person went for coffee")

    with pytest.warns(RuntimeWarning, match="not kept"), pytest.raises(ReviewPending):
        _relabeler(CallbackOracle(pause), max_passes=1).fit(videos)


# ----------------------------------------------------------------------- labels and locking
@pytest.mark.parametrize("classes", [("non-emergence", "emergence"), (-1, 1), (False, True)])
def test_any_two_labels_give_the_same_relabeling(videos, classes):
    truth = videos.true_label.values
    ref = _relabeler(TruthOracle(truth), max_passes=2, stop_ratio=0.0).fit(videos)
    table = np.array(classes)
    crude = table[videos.label.values]
    rel = _relabeler(TruthOracle(table[truth]), max_passes=2, stop_ratio=0.0).fit(videos, crude)
    assert rel.classes_.tolist() == sorted(table.tolist()) and rel.pos_label_ == table[1]
    np.testing.assert_array_equal(rel.labels_, table[ref.labels_])
    assert _same(rel.passes_, ref.passes_)
    np.testing.assert_array_equal(rel.predict(videos), table[ref.predict(videos)])
    col = rel.classes_.tolist().index(table[1])
    np.testing.assert_allclose(rel.predict_proba(videos)[:, col], ref.predict_proba(videos)[:, 1])


_HOLD_LOG = """
import sys
from skflux.relabel import ReviewLog
log = ReviewLog(sys.argv[1]).open("fp", {})
print("locked", flush=True)
sys.stdin.readline()
log.close()
"""


def test_second_run_on_a_log_in_use_is_refused_at_once(videos, tmp_path, monkeypatch):
    path = tmp_path / "log.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOG, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(HERE.parent)))
    calls = _fits(monkeypatch)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ReviewLogError, match=rf"in use by another process \(pid "
                                                 rf"{holder.pid}\)"):
            _relabeler(TruthOracle(), review_log=path).fit(videos)
        assert calls == []  # refused before any training
    finally:
        holder.stdin.close()
        holder.wait()
    assert not ReviewLog(path).lock_path.exists()  # released when the holder closed
