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
    assert list(ens.classes_) == ["emergence", "quiet"]
    # positive class is classes_[1] = "quiet"; ShiftClassifier returns P(classes_[1])
    assert set(ens.predict(X)) <= {"emergence", "quiet"}


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
    with pytest.raises(ValueError, match="binary classifier"):
        MonthBlockEnsemble(ShiftClassifier()).fit(X, np.arange(len(y)) % 3, groups=months)
    with pytest.raises(ValueError, match="labels"):
        MonthBlockEnsemble(ShiftClassifier()).fit(X, y[:-1], groups=months)
    with pytest.raises(ValueError, match="n_seeds"):
        MonthBlockEnsemble(ShiftClassifier(), n_seeds=0).fit(X, y, groups=months)
    with pytest.raises(ValueError, match="threshold"):
        MonthBlockEnsemble(ShiftClassifier(), threshold=1.5).fit(X, y, groups=months)
    with pytest.raises(TypeError, match="predict_proba"):
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


def _tiny_classifier(**kw):
    from skflux import FluxEmergenceClassifier

    return FluxEmergenceClassifier(
        max_epochs=1, batch_size=4, lr=1e-2, module__widths=(2, 2, 4, 4), module__top=4,
        module__dense=4, **kw)


@pytest.fixture(scope="module")
def tiny_neural_ensemble():
    X, y = _tiny_videos()
    cv = MonthBlockSplit(blocks=((1,), (2,)))
    ens = MonthBlockEnsemble(_tiny_classifier(), cv=cv, n_seeds=1, random_state=0)
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
