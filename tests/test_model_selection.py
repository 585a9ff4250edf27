import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_predict, cross_validate

import skflux
from skflux.model_selection import MonthBlockSplit, month_block_sets


def _balanced_months(per_month=4, months=range(1, 13)):
    return np.repeat(np.array(list(months)), per_month)


def _toy(per_month=6, seed=0):
    """Separable 2-feature data with a month for every sample."""
    rng = np.random.default_rng(seed)
    months = _balanced_months(per_month)
    y = np.tile([0, 1], months.size // 2)
    X = rng.normal(size=(months.size, 2)) + 2.0 * y[:, None]
    return X, y, months


# --------------------------------------------------------------------------- basics
def test_default_blocks_and_exclusion_of_test_months():
    months = _balanced_months(3)
    cv = MonthBlockSplit()
    splits = list(cv.split(groups=months))
    assert len(splits) == cv.get_n_splits() == 5
    for k, (train, val) in enumerate(splits):
        assert set(months[val]) == {2 * k + 1, 2 * k + 2}
        assert set(months[train]) == set(range(1, 11)) - {2 * k + 1, 2 * k + 2}
        assert not np.isin(months[np.r_[train, val]], [11, 12]).any()
        assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


def test_uncertainty_preset_keeps_benchmark_aside():
    months = _balanced_months(2)
    cv = MonthBlockSplit.uncertainty()
    assert cv.get_n_splits() == 4
    used = np.concatenate([np.r_[t, v] for t, v in cv.split(groups=months)])
    assert set(months[used]) == set(range(1, 9))
    # the same through exclude=
    cv2 = MonthBlockSplit(exclude=(9, 10))
    for (t1, v1), (t2, v2) in zip(cv.split(groups=months), cv2.split(groups=months)):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(v1, v2)
    assert cv2.months_used == tuple(range(1, 9))


def test_exclude_inside_block_shrinks_it():
    months = _balanced_months(2)
    cv = MonthBlockSplit(exclude=(2,))
    train, val = next(cv.split(groups=months))
    assert set(months[val]) == {1}
    assert 2 not in set(months[train])


def test_months_from_xarray_coords_and_datetimes():
    months = _balanced_months(2)
    times = np.array([f"2001-{m:02d}-15" for m in months], dtype="datetime64[ns]")
    da = xr.DataArray(np.zeros((months.size, 3)), dims=("video", "feature"),
                      coords={"month": ("video", months)})
    da_time = xr.DataArray(np.zeros((months.size, 3)), dims=("video", "feature"),
                           coords={"time": ("video", times)})
    cv = MonthBlockSplit()
    ref = list(cv.split(groups=months))
    for kwargs in ({"X": da}, {"X": da_time}, {"groups": times},
                   {"groups": times.astype("datetime64[s]").astype(object)}):
        got = list(cv.split(**kwargs))
        for (t1, v1), (t2, v2) in zip(ref, got):
            np.testing.assert_array_equal(t1, t2)
            np.testing.assert_array_equal(v1, v2)


def test_clone_repr_and_lazy_export():
    cv = MonthBlockSplit(blocks=((1, 2, 3), (4, 5, 6)), exclude=(3,))
    c = clone(cv, safe=False)
    assert c.blocks == cv.blocks and c.exclude == cv.exclude
    assert "MonthBlockSplit(blocks=" in repr(cv)
    assert skflux.MonthBlockSplit is MonthBlockSplit
    assert skflux.month_block_sets is month_block_sets


# --------------------------------------------------------------------------- errors
def test_error_block_without_videos():
    months = np.array([1, 2, 3, 4, 5, 6, 7, 8])
    with pytest.raises(ValueError, match=r"block 4 \(months \[9, 10\]\) holds no videos"):
        list(MonthBlockSplit().split(groups=months))


def test_error_months_outside_range():
    with pytest.raises(ValueError, match="outside 1-12"):
        list(MonthBlockSplit().split(groups=np.array([1, 2, 13])))
    with pytest.raises(ValueError, match="outside 1-12"):
        MonthBlockSplit(blocks=((0, 1), (2, 3))).get_n_splits()
    with pytest.raises(ValueError, match="outside 1-12"):
        MonthBlockSplit(exclude=(14,)).get_n_splits()


def test_error_unknown_month_source():
    with pytest.raises(ValueError, match="cannot determine the month"):
        list(MonthBlockSplit().split(np.zeros((10, 2))))
    with pytest.raises(ValueError, match="entries for 10 videos"):
        list(MonthBlockSplit().split(np.zeros((10, 2)), groups=_balanced_months(1)))


@pytest.mark.parametrize("blocks, match", [
    (((1, 2), (2, 3)), "month 2 is in block 0 and block 1"),
    (((1, 2),), "at least 2"),
    (((1, 2), ()), "block 1 is empty"),
    ("12", "sequence of month sequences"),
    ((1, 2, 3), "block 0 must be an iterable of month"),
    (((1.5, 2), (3, 4)), "integer months"),
])
def test_error_bad_blocks(blocks, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MonthBlockSplit(blocks=blocks).get_n_splits()


def test_warning_small_block():
    months = np.r_[_balanced_months(10, range(1, 9)), [9, 10]]
    with pytest.warns(UserWarning, match=r"month block 4 \(months \[9, 10\]\) holds 2 videos"):
        list(MonthBlockSplit().split(groups=months))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(MonthBlockSplit().split(groups=_balanced_months(3)))


# --------------------------------------------------------------------------- properties
month_lists = st.lists(st.integers(1, 12), min_size=1, max_size=80)


@given(extra=month_lists, seed=st.integers(0, 2**16))
def test_property_partition_and_disjoint(extra, seed):
    # every block present at least once, plus arbitrary further months, shuffled
    months = np.random.default_rng(seed).permutation(np.r_[np.arange(1, 11), extra])
    cv = MonthBlockSplit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        splits = list(cv.split(groups=months))
    vals = np.concatenate([v for _, v in splits])
    trainval = np.flatnonzero(months <= 10)
    # validation blocks partition the train+validation videos
    np.testing.assert_array_equal(np.sort(vals), trainval)
    for train, val in splits:
        assert not set(months[train]) & set(months[val])          # no month on both sides
        assert not np.isin(months[np.r_[train, val]], [11, 12]).any()  # excluded never used
        np.testing.assert_array_equal(np.sort(np.r_[train, val]), trainval)


@given(extra=month_lists, seed=st.integers(0, 2**16))
def test_property_independent_of_order(extra, seed):
    months = np.r_[np.arange(1, 11), extra]
    perm = np.random.default_rng(seed).permutation(months.size)
    cv = MonthBlockSplit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = list(cv.split(groups=months))
        b = list(cv.split(groups=months[perm]))
    for (t1, v1), (t2, v2) in zip(a, b):
        # the same videos (identified by original index) land on the same side
        assert set(t1) == set(perm[t2])
        assert set(v1) == set(perm[v2])


@given(months=st.lists(st.integers(1, 12), min_size=0, max_size=60))
def test_property_month_block_sets(months):
    months = np.asarray(months, dtype=int)
    if months.size == 0:
        months = np.array([5])
    sets = month_block_sets(months)
    allidx = np.concatenate(sets)
    np.testing.assert_array_equal(np.sort(allidx), np.arange(months.size))
    assert np.all(months[sets.train] <= 8)
    assert np.isin(months[sets.benchmark], [9, 10]).all()
    assert np.isin(months[sets.test], [11, 12]).all()


# --------------------------------------------------------------------------- month_block_sets
def test_month_block_sets_sources_and_errors():
    months = _balanced_months(1)
    da = xr.DataArray(np.zeros((12, 2)), dims=("video", "f"), coords={"month": ("video", months)})
    a = month_block_sets(da)
    b = month_block_sets(np.zeros((12, 2)), groups=months)
    c = month_block_sets(months, train=range(1, 11), benchmark=())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(c.train, np.arange(10))
    assert c.benchmark.size == 0
    with pytest.raises(ValueError, match=r"months \[9\] are in both the train and the benchmark"):
        month_block_sets(months, train=range(1, 10))
    with pytest.raises(ValueError, match="cannot determine the month"):
        month_block_sets()
    with pytest.raises(ValueError, match="must be 1-D"):
        month_block_sets(np.zeros((12, 2)))


# --------------------------------------------------------------------------- sklearn tools
def test_grid_search_and_cross_validate():
    X, y, months = _toy()
    cv = MonthBlockSplit()
    gs = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(X, y, groups=months)
    assert len(gs.cv_results_["split4_test_score"]) == 2
    assert gs.best_score_ > 0.7
    res = cross_validate(LogisticRegression(), X, y, groups=months, cv=cv,
                         return_indices=True)
    assert len(res["test_score"]) == 5
    for val in res["indices"]["test"]:
        assert not np.isin(months[val], [11, 12]).any()


def test_grid_search_months_from_dataarray():
    X, y, months = _toy()
    da = xr.DataArray(X, dims=("video", "feature"), coords={"month": ("video", months)})
    gs = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=MonthBlockSplit()).fit(da, y)
    assert gs.n_splits_ == 5


def test_cross_val_predict_on_train_validation_subset():
    X, y, months = _toy()
    cv = MonthBlockSplit()
    # the full set is not a partition (months 11-12 are never validated): sklearn refuses
    with pytest.raises(ValueError, match="partition"):
        cross_val_predict(LogisticRegression(), X, y, groups=months, cv=cv)
    idx = month_block_sets(months, train=range(1, 11), benchmark=()).train
    pred = cross_val_predict(LogisticRegression(), X[idx], y[idx], groups=months[idx], cv=cv,
                             method="predict_proba")
    assert pred.shape == (idx.size, 2)
    # every train+validation video predicted exactly once, by the model not trained on it
    expected = np.empty(idx.size)
    for train, val in cv.split(groups=months[idx]):
        m = LogisticRegression().fit(X[idx][train], y[idx][train])
        expected[val] = m.predict_proba(X[idx][val])[:, 1]
    np.testing.assert_allclose(pred[:, 1], expected)


# --------------------------------------------------------------------------- one-class blocks
def _one_class_block(label="non-emergence", other="emergence"):
    """String labels; block 2 (months 5-6) holds only ``label``."""
    X, y, months = _toy()
    y = np.where(y == 1, other, label).astype(object)
    in_block = np.isin(months, (5, 6))
    y[in_block] = label
    X[in_block] = np.random.default_rng(1).normal(size=(in_block.sum(), 2))
    return X, y, months


def test_single_class_block_is_named_in_a_warning():
    """21.10: which block, which class is missing, and what to do."""
    X, y, months = _one_class_block()
    with pytest.warns(UserWarning) as record:
        folds = list(MonthBlockSplit().split(X, y, groups=months))
    assert len(folds) == 5
    messages = [str(w.message) for w in record]
    assert len(messages) == 1, messages
    assert "month block 2 (months [5, 6]) holds only class 'non-emergence' (12 videos)" \
        in messages[0]
    assert "class 'emergence' is missing" in messages[0]
    assert "skip_single_class=True" in messages[0]
    # no y, or two classes in every block: no such warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(MonthBlockSplit().split(X, groups=months))
        X2, y2, m2 = _toy()
        list(MonthBlockSplit().split(X2, y2, groups=m2))


def test_grid_search_warns_and_skip_single_class_gives_finite_scores():
    X, y, months = _one_class_block(label=0, other=1)
    y = y.astype(int)
    grid = {"C": [0.1, 1.0]}
    with pytest.warns(UserWarning, match="month block 2 .* holds only class 0"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        gs = GridSearchCV(LogisticRegression(), grid, cv=MonthBlockSplit(),
                          scoring="roc_auc").fit(X, y, groups=months)
    assert np.isnan(gs.cv_results_["split2_test_score"]).all()  # what the warning explains
    cv = MonthBlockSplit(skip_single_class=True)
    assert cv.get_n_splits(X, y, groups=months) == 4
    assert cv.get_n_splits() == 5  # without y nothing is known about classes
    with pytest.warns(UserWarning, match=r"month block 2 .*; skipped \(skip_single_class=True\)"):
        gs = GridSearchCV(LogisticRegression(), grid, cv=cv, scoring="roc_auc").fit(
            X, y, groups=months)
    assert gs.n_splits_ == 4
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    with pytest.warns(UserWarning, match="month block 2"):
        folds = list(cv.split(X, y, groups=months))
    assert len(folds) == 4
    for _train, val in folds:
        assert not np.isin(months[val], (5, 6)).any()


def test_skip_single_class_errors():
    X, y, months = _toy()
    with pytest.raises(TypeError, match="skip_single_class must be True or False"):
        MonthBlockSplit(skip_single_class="yes").get_n_splits()
    y = np.zeros_like(y)
    y[np.isin(months, (1, 2))] = 1
    y[np.isin(months, (3, 4, 5, 6, 7, 8, 9, 10))] = 0
    cv = MonthBlockSplit(blocks=((1, 2), (3, 4)), skip_single_class=True)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="every month block holds a "
                                                                    "single class"):
        list(cv.split(X, y, groups=months))


@given(extra=month_lists, seed=st.integers(0, 2**16), skip=st.booleans())
def test_property_single_class_blocks(extra, seed, skip):
    """The warned blocks are exactly those of one class; skipping keeps exactly the others,
    and get_n_splits(X, y, groups) agrees with the splits made."""
    rng = np.random.default_rng(seed)
    months = np.r_[np.arange(1, 11), extra]
    y = rng.integers(0, 2, months.size)
    y[:2] = (0, 1)  # both classes present
    blocks = np.array([(m - 1) // 2 if m <= 10 else -1 for m in months])
    one_class = {k for k in range(5) if np.unique(y[blocks == k]).size == 1}
    cv = MonthBlockSplit(skip_single_class=skip)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            splits = list(cv.split(groups=months, y=y))
        except ValueError:
            assert skip and len(one_class) == 5
            return
    named = {int(str(w.message).split()[2]) for w in record
             if "holds only class" in str(w.message)}
    assert named == one_class
    kept = [k for k in range(5) if not (skip and k in one_class)]
    assert [set(np.unique(blocks[v])) for _, v in splits] == [{k} for k in kept]
    assert cv.get_n_splits(groups=months, y=y) == len(splits)
