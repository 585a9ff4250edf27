import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.neighbors import KNeighborsClassifier

import skflux
from skflux.ensemble import MonthBlockEnsemble, precision_recall_threshold
from skflux.model_selection import MonthBlockSplit


# --------------------------------------------------------------------------- test doubles
class ShiftClassifier(ClassifierMixin, BaseEstimator):
    """P(1) = clip(X[:, 0] + offset): the offset is drawn from random_state.

    Records the ids (column 1 of X) it trained on and the validation data it got.
    """

    def __init__(self, spread=0.05, random_state=None):
        self.spread = spread
        self.random_state = random_state

    def fit(self, X, y, X_valid=None, y_valid=None):
        X = np.asarray(X)
        self.classes_ = np.unique(y)
        self.train_ids_ = X[:, 1].astype(int)
        self.valid_ids_ = None if X_valid is None else np.asarray(X_valid)[:, 1].astype(int)
        self.y_valid_ = y_valid
        self.offset_ = np.random.default_rng(self.random_state).uniform(-1, 1) * self.spread
        return self

    def predict_proba(self, X):
        p = np.clip(np.asarray(X)[:, 0] + self.offset_, 0, 1)
        return np.column_stack([1 - p, p])


class DataArrayRecorder(ClassifierMixin, BaseEstimator):
    """Remembers the type and months of the X it was fitted on."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.input_type_ = type(X)
        self.months_ = set(np.asarray(X["month"].values).tolist())
        return self

    def predict_proba(self, X):
        p = np.full(len(X), 0.5)
        return np.column_stack([1 - p, p])


def _data(per_month=4, months=range(1, 11), seed=0):
    rng = np.random.default_rng(seed)
    months = np.repeat(np.array(list(months)), per_month)
    n = months.size
    y = np.tile([0, 1], n // 2 + 1)[:n]
    score = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.15, n), 0, 1)
    X = np.column_stack([score, np.arange(n)])
    return X, y, months


# --------------------------------------------------------------------------- fitting
def test_members_per_split_and_seed_train_and_validate_on_their_blocks():
    X, y, months = _data()
    ens = MonthBlockEnsemble(ShiftClassifier(), n_seeds=2, random_state=0).fit(
        X, y, groups=months)
    cv_splits = list(MonthBlockSplit().split(groups=months))
    assert len(ens.estimators_) == len(ens.splits_) == 10
    info = ens.member_info_
    assert info["split"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert info["seed_index"].tolist() == [0, 1] * 5
    assert set(info["validation"]) == {"fit_kwargs"}
    assert set(info["seeded_by"]) == {"random_state"}
    for m, (train, val), k in zip(ens.estimators_, ens.splits_, info["split"]):
        np.testing.assert_array_equal(train, cv_splits[k][0])
        np.testing.assert_array_equal(val, cv_splits[k][1])
        np.testing.assert_array_equal(m.train_ids_, train)      # trained on its train part
        np.testing.assert_array_equal(m.valid_ids_, val)        # validated on its own block
        np.testing.assert_array_equal(m.y_valid_, y[val])
    # seeds: distinct within a split, reproducible with random_state
    assert ens.estimators_[0].random_state != ens.estimators_[1].random_state
    again = MonthBlockEnsemble(ShiftClassifier(), n_seeds=2, random_state=0).fit(
        X, y, groups=months)
    assert again.member_info_["seed"].tolist() == info["seed"].tolist()
    assert ens.estimators_[0] is not ens.estimator  # clones


def test_generic_sklearn_classifier_and_uncertainty_preset():
    X, y, months = _data(months=range(1, 13))
    ens = MonthBlockEnsemble(LogisticRegression(), cv=MonthBlockSplit.uncertainty(),
                             random_state=1).fit(X[:, :1], y, groups=months)
    assert len(ens.estimators_) == 8
    assert set(ens.member_info_["validation"]) == {"none"}
    used = np.unique(np.concatenate([np.r_[t, v] for t, v in ens.splits_]))
    assert set(months[used]) == set(range(1, 9))  # benchmark 9-10 and test 11-12 unused
    P = ens.predict_proba_members(X[:, :1])
    assert P.shape == (8, months.size)
    assert ens.n_features_in_ == 1
    assert (ens.predict(X[:, :1]) == y).mean() > 0.8


def test_warns_when_seeds_cannot_differ():
    X, y, months = _data()
    with pytest.warns(UserWarning, match="no random_state parameter"):
        MonthBlockEnsemble(KNeighborsClassifier(1), n_seeds=2).fit(X, y, groups=months)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MonthBlockEnsemble(KNeighborsClassifier(1), n_seeds=1).fit(X, y, groups=months)


def test_dataarray_members_get_lazy_subsets_months_from_coords():
    X, y, months = _data()
    da = xr.DataArray(X, dims=("video", "feature"), coords={"month": ("video", months)})
    ens = MonthBlockEnsemble(DataArrayRecorder(), n_seeds=1, random_state=0).fit(da, y)
    for m, k in zip(ens.estimators_, ens.member_info_["split"]):
        assert m.input_type_ is xr.DataArray
        assert m.months_ == set(range(1, 11)) - {2 * k + 1, 2 * k + 2}


def test_cv_iterable_and_string_labels():
    X, y, months = _data()
    labels = np.array(["quiet", "emergence"])[y]
    splits = list(MonthBlockSplit(blocks=((1, 2, 3, 4, 5), (6, 7, 8, 9, 10))).split(
        groups=months))
    ens = MonthBlockEnsemble(ShiftClassifier(), cv=splits, n_seeds=1, random_state=0)
    ens.fit(X, labels)
    assert len(ens.estimators_) == 2
    assert list(ens.classes_) == ["emergence", "quiet"] and ens.pos_label_ == "emergence"
    # the members learn 1 = "emergence"; its column comes first, as classes_ says
    proba = ens.predict_proba(X)
    np.testing.assert_allclose(proba[:, 0], np.median(ens.predict_proba_members(X), 0))
    np.testing.assert_array_equal(ens.predict(X) == "emergence", proba[:, 0] >= 0.5)
    assert (ens.predict(X) == labels).mean() > 0.8


# --------------------------------------------------------------------------- inference
def _fitted(n_seeds=2, spread=0.2):
    X, y, months = _data()
    ens = MonthBlockEnsemble(ShiftClassifier(spread=spread), n_seeds=n_seeds,
                             random_state=0).fit(X, y, groups=months)
    return ens, X, y


def test_median_quantile_predict_and_stability():
    ens, X, y = _fitted()
    P = ens.predict_proba_members(X)
    offsets = np.array([m.offset_ for m in ens.estimators_])
    np.testing.assert_allclose(P, np.clip(X[:, 0][None] + offsets[:, None], 0, 1))
    proba = ens.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], np.median(P, axis=0))
    np.testing.assert_allclose(proba.sum(1), 1)
    np.testing.assert_allclose(ens.quantile(X, [0.25, 0.75]), np.quantile(P, [0.25, 0.75], 0))
    ens.threshold_ = 0.6
    np.testing.assert_array_equal(ens.predict(X), (np.median(P, 0) >= 0.6).astype(int))
    stable = ens.stability(X)
    lo, hi = np.quantile(P, [0.25, 0.75], axis=0)
    np.testing.assert_array_equal(stable, (0.6 < lo) | (0.6 > hi))
    assert stable.any() and (~stable).any()


def test_fit_threshold_is_precision_recall_intersection():
    ens, X, y = _fitted(spread=0.1)
    ens.fit_threshold(X, y)
    med = np.median(ens.predict_proba_members(X), 0)
    assert ens.threshold_ == pytest.approx(precision_recall_threshold(y, med))
    p, r, t = precision_recall_curve(y, med)
    # just below the threshold recall >= precision, above precision > recall
    below = t <= ens.threshold_
    assert np.all(p[:-1][below][-1:] <= r[:-1][below][-1:])
    assert np.all(p[:-1][~below][:1] > r[:-1][~below][:1])


def _pr(y, s, t):
    pred = s >= t
    tp = np.sum(pred & (y == 1))
    return tp / max(pred.sum(), 1), tp / np.sum(y == 1)


def test_precision_recall_threshold_manual_interpolation():
    # tied scores make P - R jump over zero: interpolate between 0.5 and 0.7
    s = np.array([0.1, 0.2, 0.3, 0.5, 0.5, 0.7, 0.9])
    y = np.array([0, 0, 1, 0, 0, 1, 1])
    (p0, r0), (p1, r1) = _pr(y, s, 0.5), _pr(y, s, 0.7)
    assert p0 - r0 < 0 < p1 - r1
    expected = 0.5 + 0.2 * (r0 - p0) / ((p1 - r1) - (p0 - r0))
    t = precision_recall_threshold(y, s)
    assert t == pytest.approx(expected) and 0.5 < t < 0.7
    # distinct scores: P = R exactly where FP = FN, returned as is (P = R = 0.75 at 0.7)
    assert precision_recall_threshold([0, 0, 0, 1, 0, 1, 1, 1],
                                      [0.1, 0.2, 0.3, 0.4, 0.7, 0.75, 0.8, 0.9]) == 0.7


def test_precision_recall_threshold_no_crossing_warns():
    # the only positive has the lowest score: P < R wherever R > 0
    with pytest.warns(UserWarning, match="precision stays below recall"):
        t = precision_recall_threshold([1, 0, 0], [0.1, 0.5, 0.9])
    assert t == 0.1


@given(data=st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=60))
def test_property_threshold_is_first_crossing(data):
    y = np.array([d[0] for d in data], dtype=int)
    s = np.array([d[1] for d in data])
    if y.min() == y.max():
        with pytest.raises(ValueError, match="both classes"):
            precision_recall_threshold(y, s)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = precision_recall_threshold(y, s)
    assert s.min() <= t <= s.max()
    grid = np.unique(s)
    pr = np.array([_pr(y, s, g) for g in grid])
    d = pr[:, 0] - pr[:, 1]
    valid = pr[:, 1] > 0
    if np.any(valid & (d >= 0)):
        # t lies between the last score with P < R and the first with P >= R (R > 0)
        i = np.flatnonzero(valid & (d >= 0))[0]
        assert t <= grid[i]
        if d[i] > 0:
            assert grid[i - 1] <= t


def test_errors():
    X, y, months = _data()
    with pytest.raises(ValueError, match="Only binary classification"):
        MonthBlockEnsemble(ShiftClassifier()).fit(X, np.arange(len(y)) % 3, groups=months)
    with pytest.raises(ValueError, match="labels for"):
        MonthBlockEnsemble(ShiftClassifier()).fit(X, y[:-1], groups=months)
    with pytest.raises(ValueError, match="n_seeds"):
        MonthBlockEnsemble(ShiftClassifier(), n_seeds=0).fit(X, y, groups=months)
    with pytest.raises(ValueError, match="threshold"):
        MonthBlockEnsemble(ShiftClassifier(), threshold=1.5).fit(X, y, groups=months)
    with pytest.raises(ValueError, match="threshold"):
        MonthBlockEnsemble(ShiftClassifier(), threshold="paper").fit(X, y, groups=months)
    with pytest.raises(ValueError, match="pos_label=2 is not one of the classes"):
        MonthBlockEnsemble(ShiftClassifier(), pos_label=2).fit(X, y, groups=months)
    with pytest.raises(ValueError, match="predict_proba"):
        MonthBlockEnsemble(object()).fit(X, y, groups=months)
    with pytest.raises(ValueError, match=r"block 4 \(months \[9, 10\]\) holds no videos"):
        keep = months < 9
        MonthBlockEnsemble(ShiftClassifier()).fit(X[keep], y[keep], groups=months[keep])
    with pytest.raises(NotFittedError):
        MonthBlockEnsemble(ShiftClassifier()).predict(X)
    with pytest.raises(ValueError, match="both classes"):
        _fitted()[0].fit_threshold(X, np.zeros(len(y), int))


def test_clone_params_and_export():
    ens = MonthBlockEnsemble(ShiftClassifier(spread=0.3), cv=MonthBlockSplit.uncertainty(),
                             n_seeds=3, threshold=0.6, n_jobs=2, random_state=4)
    c = clone(ens)
    assert c.get_params()["estimator__spread"] == 0.3
    assert c.n_seeds == 3 and c.cv.blocks == ens.cv.blocks
    assert skflux.MonthBlockEnsemble is MonthBlockEnsemble


def test_pickle_round_trip():
    import pickle

    ens, X, y = _fitted()
    ens.threshold_ = 0.55
    back = pickle.loads(pickle.dumps(ens))
    np.testing.assert_array_equal(back.predict_proba_members(X), ens.predict_proba_members(X))
    assert back.threshold_ == 0.55 and back.member_info_.equals(ens.member_info_)


# --------------------------------------------------------------------------- parallel
def _coefs(ens):
    return np.array([np.r_[m.coef_.ravel(), m.intercept_] for m in ens.estimators_])


def _lr_ensemble(**kw):
    return MonthBlockEnsemble(LogisticRegression(C=0.5), n_seeds=2, random_state=3, **kw)


@pytest.mark.slow
def test_parallel_joblib_matches_sequential():
    X, y, months = _data()
    seq = _lr_ensemble(n_jobs=1).fit(X[:, :1], y, groups=months)
    par = _lr_ensemble(n_jobs=2).fit(X[:, :1], y, groups=months)
    np.testing.assert_allclose(_coefs(seq), _coefs(par))
    assert par.member_info_.equals(seq.member_info_)


def test_parallel_on_dask_cluster():
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y, months = _data()
    seq = _lr_ensemble(n_jobs=1).fit(X[:, :1], y, groups=months)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"):
            par = _lr_ensemble().fit(X[:, :1], y, groups=months)
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(_coefs(seq), _coefs(par))


# --------------------------------------------------------------------------- neural members
def _tiny_videos(n_per_month=4, months=(1, 2), seed=0):
    rng = np.random.default_rng(seed)
    months = np.repeat(np.asarray(months), n_per_month)
    n = months.size
    y = np.tile([0, 1], n)[:n]
    X = rng.normal(0, 50, size=(n, 8, 16, 16)).astype("float32")
    X[y == 1, 4:, 6:10, 6:10] += 800.0  # a bright emerging blob in positives
    da = xr.DataArray(X, dims=("video", "frame", "lat", "lon"),
                      coords={"month": ("video", months)})
    return da, y


@pytest.fixture
def tiny_neural_ensemble(tiny_classifier):
    X, y = _tiny_videos()
    cv = MonthBlockSplit(blocks=((1,), (2,)))
    ens = MonthBlockEnsemble(tiny_classifier(max_epochs=1, batch_size=4), cv=cv, n_seeds=1,
                             random_state=0)
    return ens.fit(X, y), X, y


@pytest.mark.slow
def test_neural_members_validate_on_their_own_block(tiny_neural_ensemble):
    ens, X, y = tiny_neural_ensemble
    assert len(ens.estimators_) == 2
    assert set(ens.member_info_["validation"]) == {"train_split"}
    assert set(ens.member_info_["seeded_by"]) == {"random_state"}
    for m, (train, val) in zip(ens.estimators_, ens.splits_):
        # early stopping monitored this member's block: valid_acc is recorded each epoch
        assert "valid_acc" in m.history[-1]
        assert m.train_split is None and m.valid_months == "auto"  # restored after fit
        # trained on the training part (4 augmented versions), validated on its block
        batches = m.history[-1]["batches"]
        assert sum(b.get("train_batch_size", 0) for b in batches) == 4 * train.size
        assert sum(b.get("valid_batch_size", 0) for b in batches) == val.size
    seeds = [m.random_state for m in ens.estimators_]
    assert len(set(seeds)) == 2


@pytest.mark.slow
def test_neural_batched_inference_matches_members(tiny_neural_ensemble):
    ens, X, y = tiny_neural_ensemble
    fast = ens.predict_proba_members(X)
    slow = np.stack([m.predict_proba(X)[:, 1] for m in ens.estimators_])
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-6)
    # members differ (different seeds / splits), so the ensemble is not degenerate
    assert np.ptp(fast, axis=0).max() > 1e-4
    ens.batch_size = 4
    np.testing.assert_allclose(ens.predict_proba_members(X.values), fast, rtol=1e-5,
                               atol=1e-6)
    ens.batch_size = None


def test_verbose_progress_bar(capsys):
    X, y, months = _data()
    MonthBlockEnsemble(ShiftClassifier(), n_seeds=1, verbose=1).fit(X, y, groups=months)
    assert "fitting members" in capsys.readouterr().err


# --------------------------------------------------------------------------- labels
@pytest.mark.parametrize("classes, pos", [
    (np.array([0, 1]), 1), (np.array([False, True]), True), (np.array([-1, 1]), 1),
    (np.array(["non-emergence", "emergence"]), "emergence"), (np.array(["a", "b"]), "b"),
])
def test_any_two_labels_through_classes(classes, pos):
    X, y, months = _data()
    labels = classes[y]
    ens = MonthBlockEnsemble(LogisticRegression(), n_seeds=1, random_state=0)
    ens.fit(X[:, :1], labels, groups=months)
    assert sorted(ens.classes_.tolist()) == sorted(classes.tolist())
    assert ens.pos_label_ == pos and ens.predict(X[:, :1]).dtype == labels.dtype
    col = ens.classes_.tolist().index(pos)
    med = np.median(ens.predict_proba_members(X[:, :1]), axis=0)
    np.testing.assert_allclose(ens.predict_proba(X[:, :1])[:, col], med)
    assert (ens.predict(X[:, :1]) == labels).mean() > 0.8
    # the same members as with 0/1 labels (1 = the positive class)
    ref = MonthBlockEnsemble(LogisticRegression(), n_seeds=1, random_state=0).fit(
        X[:, :1], (labels == pos).astype(int), groups=months)
    np.testing.assert_allclose(ref.predict_proba_members(X[:, :1]), ens.predict_proba_members(
        X[:, :1]))


def test_pos_label_settable():
    X, y, months = _data()
    labels = np.array(["non-emergence", "emergence"])[y]
    ens = MonthBlockEnsemble(LogisticRegression(), n_seeds=1, pos_label="non-emergence")
    ens.fit(X[:, :1], labels, groups=months)
    assert ens.pos_label_ == "non-emergence"
    proba = ens.predict_proba(X[:, :1])  # columns: emergence, non-emergence
    assert (proba[y == 0, 1] > 0.5).mean() > 0.8


def test_string_labels_through_grid_search():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    X, y, months = _data()
    labels = np.array(["non-emergence", "emergence"])[y]
    ens = MonthBlockEnsemble(LogisticRegression(), cv=StratifiedKFold(3), n_seeds=1)
    search = GridSearchCV(ens, {"estimator__C": [0.01, 1.0]}, cv=StratifiedKFold(3))
    search.fit(X[:, :1], labels)
    assert set(search.predict(X[:, :1])) <= {"emergence", "non-emergence"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.7


# --------------------------------------------------------------------------- benchmark threshold
def test_benchmark_threshold_holds_out_the_benchmark_months():
    X, y, months = _data(per_month=6, months=range(1, 13))
    ens = MonthBlockEnsemble(ShiftClassifier(spread=0.0), cv=MonthBlockSplit.uncertainty(),
                             n_seeds=1, threshold="benchmark", random_state=0)
    ens.fit(X, y, groups=months)
    trained = np.concatenate([np.r_[t, v] for t, v in ens.splits_])
    assert set(months[trained]) == set(range(1, 9))
    bench = np.isin(months, [9, 10])
    expected = precision_recall_threshold(y[bench], X[bench, 0])
    assert ens.threshold_ == pytest.approx(expected)
    assert ens.threshold_ != 0.5
    assert ens.threshold_info_["months"] == [9, 10]
    assert ens.threshold_info_["n_benchmark"] == int(bench.sum())
    assert "precision = recall" in ens.threshold_info_["source"]


def test_benchmark_months_inside_the_blocks_are_held_out():
    X, y, months = _data(per_month=6, months=range(1, 13))
    ens = MonthBlockEnsemble(ShiftClassifier(spread=0.0), n_seeds=1, threshold="benchmark",
                             cv=MonthBlockSplit(blocks=((1, 2, 3), (4, 5, 6))),
                             benchmark_months=[3, 6], random_state=0)
    ens.fit(X, y, groups=months)
    for m in ens.estimators_:
        assert not np.isin(months[m.train_ids_], [3, 6]).any()
        assert not np.isin(months[m.valid_ids_], [3, 6]).any()
    assert ens.threshold_info_["months"] == [3, 6]


@pytest.mark.filterwarnings("ignore:month block 4:UserWarning",
                            "ignore:The groups parameter is ignored:UserWarning")
def test_benchmark_threshold_warns_when_a_class_is_missing_and_refuses_no_months():
    X, y, months = _data(per_month=6, months=range(1, 13))
    y = y.copy()
    y[np.isin(months, [9, 10])] = 1
    ens = MonthBlockEnsemble(ShiftClassifier(), cv=MonthBlockSplit.uncertainty(), n_seeds=1,
                             threshold="benchmark")
    with pytest.warns(UserWarning, match=r"benchmark months \[9, 10\]"):
        ens.fit(X, y, groups=months)
    assert ens.threshold_ == 0.5 and "lack a class" in ens.threshold_info_["source"]
    with pytest.raises(ValueError, match="no month is left for the benchmark"):
        MonthBlockEnsemble(ShiftClassifier(), threshold="benchmark").fit(X, y, groups=months)
    from sklearn.model_selection import KFold

    with pytest.raises(ValueError, match="needs benchmark_months"):
        MonthBlockEnsemble(ShiftClassifier(), cv=KFold(3), threshold="benchmark").fit(
            X, y, groups=months)


def test_fixed_threshold_info():
    ens, X, y = _fitted()
    assert ens.threshold_ == 0.5 and ens.threshold_info_["n_benchmark"] == 0
    ens.fit_threshold(X, y)
    assert ens.threshold_info_["n_benchmark"] == len(y)


def test_out_of_fold_proba_comes_from_the_members_of_the_videos_block():
    X, y, months = _data(months=range(1, 13))
    ens = MonthBlockEnsemble(ShiftClassifier(spread=0.3), n_seeds=3, random_state=0).fit(
        X, y, groups=months)
    oof = ens.out_of_fold_proba(X)
    assert np.isnan(oof[months > 10]).all()
    for k in range(5):
        idx = np.flatnonzero(ens.member_info_["split"] == k)
        val = ens.splits_[idx[0]][1]
        expect = np.median([ens.estimators_[i].predict_proba(X[val])[:, 1] for i in idx], 0)
        np.testing.assert_allclose(oof[val], expect)
    with pytest.raises(ValueError, match="pass the training data"):
        ens.out_of_fold_proba(X[:10])


# --------------------------------------------------------------------------- save / load
def test_save_refuses_members_that_need_pickle(tmp_path):
    ens, X, y = _fitted()
    with pytest.raises(TypeError, match="ShiftClassifier"):
        ens.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


_LOAD_SCRIPT = """
import sys, numpy as np, torch
torch.set_num_threads(1)
from skflux import MonthBlockEnsemble
ens = MonthBlockEnsemble.load(sys.argv[1])
X = np.load(sys.argv[2])
np.save(sys.argv[3], ens.predict_proba_members(X))
print(ens.threshold_, ens.metadata_["note"], ens.predict(X[:3]).tolist())
"""


def test_save_load_in_a_fresh_process_gives_identical_probabilities(
        tiny_fitted_ensemble, tiny_videos, tmp_path):
    import subprocess
    import sys

    ens = tiny_fitted_ensemble
    X = np.asarray(tiny_videos.values[:10], dtype="float32")
    path = ens.save(tmp_path / "model", metadata={"note": "tiny"})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "member_00", "member_01"]
    np.save(tmp_path / "X.npy", X)
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(path), str(tmp_path / "X.npy"),
         str(tmp_path / "P.npy")], capture_output=True, text=True, check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "P.npy"), ens.predict_proba_members(X))
    assert out.stdout.split()[1] == "tiny"
    back = MonthBlockEnsemble.load(path)
    assert back.threshold_ == ens.threshold_ and back.metadata_ == {"note": "tiny"}
    assert back.classes_.tolist() == ens.classes_.tolist()
    assert back.member_info_["seed"].tolist() == ens.member_info_["seed"].tolist()
    assert back.cv.blocks == ens.cv.blocks and back.n_seeds == ens.n_seeds
    # nothing is overwritten silently
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ens.save(path)
    (tmp_path / "notes").mkdir()
    with pytest.raises(ValueError, match="no config.json"):
        ens.save(tmp_path / "notes", overwrite=True)
    ens.save(path, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("damage, match", [
    (lambda d: (d / "config.json").write_text("{not json"), "config.json"),
    (lambda d: (d / "config.json").write_text('{"format": "other", "format_version": 1}'),
     "config.json"),
    (lambda d: _edit_config(d, format_version=99), "newer skflux"),
    (lambda d: _edit_config(d, members=["../elsewhere"]), "config.json"),
    (lambda d: _edit_config(d, classes=[0, 1, 2]), "config.json"),
    (lambda d: (d / "member_01" / "weights.pt").write_bytes(b"junk"), "member_01"),
])
def test_load_refuses_foreign_corrupt_or_newer_directories(
        tiny_fitted_ensemble, tmp_path, damage, match):
    path = tiny_fitted_ensemble.save(tmp_path / "model")
    damage(path)
    with pytest.raises(ValueError, match=match):
        MonthBlockEnsemble.load(path)


def _edit_config(directory, **changes):
    import json

    config = json.loads((directory / "config.json").read_text())
    config.update(changes)
    (directory / "config.json").write_text(json.dumps(config))


@given(st.lists(st.integers(-5, 5), min_size=2, max_size=2, unique=True), st.booleans())
def test_property_labels_are_only_names(pair, flip):
    """Any two labels (and either as pos_label) train the same members as their 0/1 codes."""
    X, y, months = _data()
    classes = np.array(sorted(pair))
    pos = classes[0] if flip else classes[1]
    codes = y if not flip else 1 - y
    labels = np.where(codes == 1, pos, classes[classes != pos][0])
    ens = MonthBlockEnsemble(ShiftClassifier(spread=0.2), n_seeds=1, pos_label=int(pos),
                             random_state=0).fit(X, labels, groups=months)
    ref = MonthBlockEnsemble(ShiftClassifier(spread=0.2), n_seeds=1, random_state=0).fit(
        X, codes, groups=months)
    np.testing.assert_array_equal(ens.predict_proba_members(X), ref.predict_proba_members(X))
    np.testing.assert_array_equal(ens.predict(X) == pos, ref.predict(X) == 1)
    col = ens.classes_.tolist().index(pos)
    np.testing.assert_array_equal(ens.predict_proba(X)[:, col], ref.predict_proba(X)[:, 1])


class _Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_member_file_carrying_a_pickle_is_refused_and_never_runs(tiny_fitted_ensemble,
                                                                     tmp_path):
    import torch

    path = tiny_fitted_ensemble.save(tmp_path / "model")
    marker = tmp_path / "payload-ran"
    torch.save({"weights": _Payload(marker)}, path / "member_00" / "weights.pt")
    with pytest.raises(ValueError, match=r"member_00.weights\.pt"):
        MonthBlockEnsemble.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("lazy", [True, False])
def test_nan_video_named_by_position_in_callers_X(tiny_videos, tiny_classifier, lazy):
    # Issue 21.9: members train on subsets; the message must name the video by its
    # position in the X given to fit (and its bmr_id), not by its place in a subset.
    from skflux import MonthBlockEnsemble, MonthBlockSplit

    videos = tiny_videos.load().copy()
    k = int(np.flatnonzero(videos["month"].values == 4)[-1])  # not its place in a subset
    data = videos.values.copy()
    data[k, 3, 2, 2] = np.nan
    videos = videos.copy(data=data)
    ens = MonthBlockEnsemble(tiny_classifier(max_epochs=1),
                             cv=MonthBlockSplit(blocks=[(1, 2, 3, 4), (5, 6, 7, 8)]),
                             n_seeds=1, random_state=0)
    X = videos if lazy else videos.values
    with pytest.raises(ValueError, match=rf"videos? \[?{k}\b") as info:
        ens.fit(X, videos["label"].values, groups=videos["month"].values)
    if lazy:
        assert repr(str(videos["bmr_id"].values[k])) in str(info.value)
