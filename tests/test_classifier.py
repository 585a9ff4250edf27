"""FluxEmergenceClassifier: training, augmentation, month split, lazy NetCDF input, sklearn API."""

import copy
import os
import pickle

import numpy as np
import pytest
import torch
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_predict
from skorch.callbacks import Callback

from skflux import FluxEmergenceClassifier
from skflux.io import open_videos, to_netcdf
from skflux.io._examples import tiny_videos
from skflux.nn import VideoCNN3D, VideoVGG, iter_video_batches

SMALL = dict(module__widths=(4, 4, 8, 8), module__top=8, module__dense=8)
N, FRAMES, SIZE = 20, 8, 16


@pytest.fixture
def make_clf(tiny_classifier):
    """The shared tiny classifier (conftest), without a validation split unless asked."""
    return lambda **kw: tiny_classifier(**{"valid_months": None, **kw})


def _toy(n=N, seed=0):
    """Videos whose label is whether a bipolar pair appears in the second half."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 50, size=(n, FRAMES, SIZE, SIZE)).astype(np.float32)
    y = np.arange(n) % 2
    X[y == 1, FRAMES // 2:, 5:8, 4:7] += 900
    X[y == 1, FRAMES // 2:, 5:8, 9:12] -= 900
    return X, y


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy():
    return _toy()


@pytest.fixture(scope="module")
def videos(toy):
    """The toy videos as a DataArray following the data model."""
    X, y = toy
    da = tiny_videos(n=N, n_frames=FRAMES, size=SIZE)
    return da.copy(data=X).assign_coords(label=("video", y))


@pytest.fixture(scope="module")
def nc_path(videos, tmp_path_factory):
    return to_netcdf(videos, tmp_path_factory.mktemp("nc") / "videos.nc")


@pytest.fixture
def never_materialized(monkeypatch):
    """Make loading more than a batch (10 videos) of a DataArray an error."""
    orig_values = xr.DataArray.values
    orig_array = xr.DataArray.__array__

    def guard(da):
        if da.ndim == 4 and da.shape[0] > 10:  # more than a batch
            raise AssertionError(f"a DataArray of {da.shape[0]} videos was materialized")

    def values(self):
        guard(self)
        return orig_values.fget(self)

    def array(self, *args, **kwargs):
        guard(self)
        return orig_array(self, *args, **kwargs)

    monkeypatch.setattr(xr.DataArray, "values", property(values, orig_values.fset))
    monkeypatch.setattr(xr.DataArray, "__array__", array)
    for name in ("load", "compute", "to_numpy"):
        orig = getattr(xr.DataArray, name)

        def wrapped(self, *a, _orig=orig, **k):
            guard(self)
            return _orig(self, *a, **k)

        monkeypatch.setattr(xr.DataArray, name, wrapped)


class _Record(Callback):
    """Keeps the module's weights at each epoch end and the training inputs."""

    def initialize(self):
        self.weights, self.inputs = [], []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.inputs.append(batch[0].clone())

    def on_epoch_end(self, net, **kwargs):
        self.weights.append(copy.deepcopy(net.module_.state_dict()))


# ----------------------------------------------------------------------------- basics
def test_fit_predict_numpy(toy, make_clf):
    X, y = toy
    clf = make_clf().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (N, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_frames_in_ == FRAMES and clf.video_shape_in_ == (FRAMES, SIZE, SIZE)
    assert isinstance(clf.module_, VideoVGG) and not clf.module_.training
    assert clf.valid_months_ == () and len(clf.history) == 2


def test_paper_defaults():
    clf = FluxEmergenceClassifier()
    p = clf.get_params()
    assert (p["lr"], p["batch_size"], p["max_epochs"]) == (1e-4, 10, 20)
    assert p["optimizer"] is torch.optim.SGD
    assert p["optimizer__momentum"] == 0.9 and p["optimizer__nesterov"] is True
    assert p["criterion"] is torch.nn.BCEWithLogitsLoss
    assert (p["field_limit"], p["augment"], p["threshold"], p["patience"]) == (1000.0, True,
                                                                                0.5, 5)
    assert p["device"] == "cpu" and p["module"] == "vgg"
    es = p["callbacks__early_stopping"]
    assert (es.monitor, es.patience, es.load_best, es.lower_is_better) == ("valid_acc", 5,
                                                                           True, False)


@pytest.mark.slow
def test_learns_a_separable_problem(make_clf):
    X, y = _toy(n=40, seed=1)
    clf = make_clf(max_epochs=12, lr=0.02, batch_size=8).fit(X, y)
    Xt, yt = _toy(n=40, seed=2)
    assert (clf.predict(Xt) == yt).mean() >= 0.9


def test_reproducible_and_seed_dependent(toy, make_clf):
    X, y = toy
    p0 = make_clf().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p0, make_clf().fit(X, y).predict_proba(X))
    assert not np.allclose(p0, make_clf(random_state=1).fit(X, y).predict_proba(X))
    # the user's global torch RNG is left alone
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    make_clf(max_epochs=1).fit(X, y)
    assert torch.equal(torch.rand(1), expected)


def test_threshold_drives_predict(toy, make_clf):
    X, y = toy
    clf = make_clf(max_epochs=1).fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    for thr in (0.0, 1.0, float(np.median(p))):
        clf.set_params(threshold=thr)
        np.testing.assert_array_equal(clf.predict(X), (p > thr).astype(int))


def test_module_choices(toy):
    X, y = toy
    clf = FluxEmergenceClassifier("vgg3d", max_epochs=1, valid_months=None, random_state=0,
                                  module__widths=(2, 4, 4, 8, 8), module__dense=8).fit(X, y)
    assert isinstance(clf.module_, VideoCNN3D) and clf.module_.n_frames == FRAMES
    inst = VideoVGG(n_frames=FRAMES, in_size=SIZE, widths=(4, 4, 8, 8), top=8, dense=8)
    clf = FluxEmergenceClassifier(inst, max_epochs=1, valid_months=None).fit(X, y)
    assert clf.predict_proba(X).shape == (N, 2)
    with pytest.raises(ValueError, match="'module' parameter .* among .*'vgg'"):
        FluxEmergenceClassifier("resnet").fit(X, y)


def test_torch_tensor_input(toy, make_clf):
    X, y = toy
    clf = make_clf(max_epochs=1).fit(torch.from_numpy(X), torch.from_numpy(y))
    np.testing.assert_allclose(clf.predict_proba(torch.from_numpy(X)), clf.predict_proba(X))


# ----------------------------------------------------------------------------- training details
def test_augmentation_four_versions_per_epoch(toy, make_clf):
    X, y = toy
    rec = _Record()
    clf = make_clf(max_epochs=1, batch_size=7, callbacks=[("rec", rec)]).fit(X, y)
    assert clf.history[-1, "train_batch_count"] == 4 * 3  # ceil(20 / 7) reads, 4 versions
    seen = rec.inputs
    for k in range(0, len(seen), 4):
        x = seen[k]
        torch.testing.assert_close(seen[k + 1], -x)
        torch.testing.assert_close(seen[k + 2], x.flip(-2))
        torch.testing.assert_close(seen[k + 3], -x.flip(-2))
    originals = torch.cat(seen[0::4])
    assert originals.shape[0] == N  # every video once per epoch, shuffled
    order = [int(np.flatnonzero((X == v.numpy()).all(axis=(1, 2, 3)))[0]) for v in originals]
    assert sorted(order) == list(range(N)) and order != list(range(N))


def test_no_augmentation_when_off_and_at_predict(toy, make_clf):
    X, y = toy
    rec = _Record()
    clf = make_clf(max_epochs=1, batch_size=7, augment=False, callbacks=[("rec", rec)]).fit(X, y)
    assert clf.history[-1, "train_batch_count"] == 3
    batches = list(clf.get_iterator(clf.get_dataset(X), training=False))
    assert len(batches) == 3
    np.testing.assert_array_equal(torch.cat([b[0] for b in batches]).numpy(), X)


@pytest.mark.parametrize("module", ["vgg", "vgg3d"])
def test_field_limit_is_the_modules_first_layer(toy, module):
    """The classifier passes raw Gauss to the module, which clips and scales (once)."""
    X, y = toy
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self, n_frames=1):
            super().__init__()
            self.lin = torch.nn.Linear(n_frames, 1)

        def forward(self, x):
            seen.append(x.detach().clone())
            return self.lin(x.mean(dim=(2, 3))).squeeze(-1)

    clf = FluxEmergenceClassifier(Spy, max_epochs=1, field_limit=500.0, augment=False,
                                  valid_months=None, batch_size=N).fit(X, y)
    seen.clear()
    clf.predict_proba(X)
    np.testing.assert_array_equal(seen[0].numpy(), X)  # the classifier does not scale
    kw = SMALL if module == "vgg" else dict(module__widths=(2, 4, 4, 8, 8), module__dense=8)
    clf = FluxEmergenceClassifier(module, max_epochs=1, field_limit=500.0, augment=False,
                                  valid_months=None, batch_size=N, **kw).fit(X, y)
    assert clf.module_.field_limit == 500.0
    first = clf.module_.conv1 if module == "vgg" else clf.module_.layers[0]
    first.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    seen.clear()
    clf.predict_proba(X)
    np.testing.assert_allclose(seen[0].reshape(X.shape).numpy(), np.clip(X, -500, 500) / 500,
                               rtol=1e-6)


def test_field_limit_conflicts_are_refused(toy, make_clf):
    X, y = toy
    with pytest.raises(ValueError, match="module__field_limit=300.0 disagrees with field_limit"):
        make_clf(module__field_limit=300.0).fit(X, y)
    inst = VideoVGG(n_frames=FRAMES, in_size=SIZE, field_limit=300.0, widths=(4, 4, 8, 8),
                    top=8, dense=8)
    with pytest.raises(ValueError, match="instance clips at field_limit=300.0"):
        FluxEmergenceClassifier(inst, max_epochs=1, valid_months=None).fit(X, y)


def test_early_stopping_restores_best_weights_in_memory(videos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rec = _Record()
    clf = FluxEmergenceClassifier(max_epochs=6, patience=2, valid_months=[1, 2], lr=0.05,
                                  random_state=0, callbacks=[("rec", rec)], **SMALL)
    clf.fit(videos, videos["label"])
    acc = clf.history[:, "valid_acc"]
    best = int(np.argmax(acc))  # first epoch with the best accuracy
    n_run = len(acc)
    assert n_run == min(6, best + 1 + 2)  # stopped after `patience` epochs without gain
    final = clf.module_.state_dict()
    for k, v in rec.weights[best].items():
        torch.testing.assert_close(final[k], v)
    if best != n_run - 1:
        assert any(not torch.equal(final[k], v) for k, v in rec.weights[-1].items())
    assert os.listdir(tmp_path) == []  # no checkpoint file anywhere


# ----------------------------------------------------------------------------- month split
def test_month_split_holds_out_whole_months(videos, make_clf):
    months = videos["month"].values
    clf = make_clf(valid_months=[1, 2]).fit(videos, videos["label"])
    np.testing.assert_array_equal(clf.valid_index_, np.flatnonzero(np.isin(months, [1, 2])))
    assert clf.valid_months_ == (1, 2)
    assert "valid_acc" in clf.history[-1]
    auto = make_clf(valid_months="auto").fit(videos, videos["label"])
    distinct = np.unique(months)
    assert auto.valid_months_ == tuple(distinct[-round(distinct.size / 5):])


def test_month_split_from_groups_with_numpy(toy, make_clf):
    X, y = toy
    groups = np.repeat([3, 4, 5, 6, 7], 4)
    clf = make_clf(valid_months=[7]).fit(X, y, groups=groups)
    np.testing.assert_array_equal(clf.valid_index_, np.arange(16, 20))
    assert make_clf(valid_months="auto").fit(X, y).valid_months_ == ()  # no months: no split


@pytest.mark.parametrize("valid_months, match", [
    ([11], r"no video falls in the validation months \[11\]"),
    ([13], "calendar months 1-12"),
    ("some", "'valid_months' parameter .* among {'auto'}"),
])
def test_month_split_errors(videos, valid_months, match, make_clf):
    first = videos.isel(video=slice(0, 8))  # January to October
    assert 11 not in first["month"].values
    with pytest.raises(ValueError, match=match):
        make_clf(valid_months=valid_months).fit(first, first["label"])


def test_month_split_needs_months(toy, videos, make_clf):
    X, y = toy
    with pytest.raises(ValueError, match="month"):
        make_clf(valid_months=[1]).fit(X, y)
    bare = videos.drop_vars(["month", "time"])
    with pytest.raises(ValueError, match="month"):
        make_clf(valid_months=[1]).fit(bare, y)
    every = np.unique(videos["month"].values).tolist()
    with pytest.raises(ValueError, match="no training videos left"):
        make_clf(valid_months=every).fit(videos, y)


# ----------------------------------------------------------------------------- lazy NetCDF
def test_lazy_netcdf_never_materialized(nc_path, toy, never_materialized, make_clf):
    X, y = toy
    lazy = open_videos(nc_path)
    assert lazy.chunks is not None
    clf = make_clf(valid_months=[1, 2]).fit(lazy, lazy["label"])
    p_lazy = clf.predict_proba(lazy)
    p_mem = clf.predict_proba(np.round(X / 0.2) * 0.2)  # the file's int16 packing, step 0.2 G
    np.testing.assert_allclose(p_lazy, p_mem, atol=1e-4)


@pytest.mark.slow
def test_lazy_netcdf_with_worker_processes(nc_path, never_materialized, make_clf):
    lazy = open_videos(nc_path)
    clf0 = make_clf(max_epochs=1).fit(lazy, lazy["label"])
    clf2 = make_clf(max_epochs=1, num_workers=2).fit(lazy, lazy["label"])
    np.testing.assert_allclose(clf2.predict_proba(lazy), clf0.predict_proba(lazy), atol=1e-5)


@pytest.mark.slow
def test_grid_search_and_cross_val_predict_on_lazy_netcdf(nc_path, never_materialized, make_clf):
    lazy = open_videos(nc_path)
    y = lazy["label"].values
    search = GridSearchCV(make_clf(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=2).fit(lazy, y)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    assert search.predict_proba(lazy).shape == (N, 2)
    proba = cross_val_predict(make_clf(max_epochs=1), lazy, y, cv=2, method="predict_proba")
    assert proba.shape == (N, 2)


def test_members_over_one_batch_contract(videos, make_clf):
    """What ensembles do (contract C1): raw batches in Gauss -> module_ -> predict_proba."""
    clf = make_clf(max_epochs=1, field_limit=400.0).fit(videos, videos["label"])
    logits = []
    with torch.no_grad():
        for xb in iter_video_batches(videos, batch_size=7):
            logits.append(clf.module_(xb))
    p = torch.sigmoid(torch.cat(logits)).numpy()
    np.testing.assert_allclose(p, clf.predict_proba(videos)[:, 1], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- bad input
def test_nan_and_inf_name_the_video(toy, videos, make_clf):
    X, y = toy
    Xn = X.copy()
    Xn[3, 2, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf in videos \[3\]"):
        make_clf().fit(Xn, y)
    Xi = X.copy()
    Xi[5, 0, 0, 0] = np.inf
    clf = make_clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"NaN or inf in videos \[5\]"):
        clf.predict_proba(Xi)
    bad = videos.copy(data=Xn)
    with pytest.raises(ValueError, match=r"video 3 \(bmr_id='BMR0003'\) contains NaN or inf"):
        clf.predict_proba(bad)


@pytest.mark.parametrize("X_shape, match", [
    ((N, FRAMES, SIZE), r"must be 4-D with dims \('video', 'frame', 'lat', 'lon'\)"),
    ((N,), "Reshape your data"),
    ((0, FRAMES, SIZE, SIZE), "holds no videos"),
])
def test_wrong_shape(X_shape, match, make_clf):
    X = np.zeros(X_shape, dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        make_clf().fit(X, np.arange(X_shape[0]) % 2)


@pytest.mark.parametrize("y, match", [
    (np.arange(N - 1) % 2, f"y has {N - 1} labels for {N} videos"),
    (np.where(np.arange(N) == 4, np.nan, np.arange(N) % 2), "video 4: label is NaN"),
    (np.arange(N) % 3, "Only binary classification"),
    (np.ones(N), "only one class"),
    (np.linspace(0, 1, N), "Unknown label type"),
    (None, "requires y"),
])
def test_bad_labels(toy, y, match, make_clf):
    X, _ = toy
    with pytest.raises(ValueError, match=match):
        make_clf().fit(X, y)


def test_bad_other_input(toy, videos, make_clf):
    X, y = toy
    with pytest.raises(TypeError, match="real numbers"):
        make_clf().fit(X.astype(str), y)
    with pytest.raises(ValueError, match="'field_limit' parameter .* range \\(0.0, inf\\)"):
        make_clf(field_limit=0).fit(X, y)
    with pytest.raises(ValueError, match="dims"):
        make_clf().fit(videos.transpose("video", "lat", "lon", "frame"), y)
    clf = make_clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=f"trained on videos of {FRAMES}×{SIZE}×{SIZE}"):
        clf.predict(X[:, :-1])


def test_not_fitted(toy, make_clf):
    with pytest.raises(NotFittedError):
        make_clf().predict_proba(toy[0])


# ----------------------------------------------------------------------------- sklearn API
def test_clone_get_set_params(toy, make_clf):
    X, y = toy
    clf = make_clf(module__dense=4, optimizer__momentum=0.5)
    cloned = clone(clf)
    assert cloned.get_params()["module__dense"] == 4
    cloned.set_params(module__dense=6, optimizer__nesterov=False).fit(X, y)
    assert cloned.module_.head[0].out_features == 6
    group = cloned.optimizer_.param_groups[0]
    assert group["momentum"] == 0.5 and group["nesterov"] is False and group["lr"] == 0.01
    assert "module__dense" not in FluxEmergenceClassifier().get_params()


def test_pickle_round_trip(toy, make_clf):
    X, y = toy
    clf = make_clf().fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.n_frames_in_ == FRAMES


def test_partial_fit_continues(toy, make_clf):
    X, y = toy
    clf = make_clf(max_epochs=1).fit(X, y)
    before = copy.deepcopy(clf.module_.state_dict())
    clf.partial_fit(X, y)
    assert len(clf.history) == 2
    assert any(not torch.equal(clf.module_.state_dict()[k], v) for k, v in before.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
def test_cuda(toy, make_clf):
    X, y = toy
    clf = make_clf(device="cuda").fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    p = clf.predict_proba(X)
    assert p.shape == (N, 2) and np.isfinite(p).all()


# ----------------------------------------------------------------------------- labels
LABELS = {
    "strings": (np.array(["non-emergence", "emergence"]), "emergence"),
    "bools": (np.array([False, True]), True),
    "minus_one_one": (np.array([-1, 1]), 1),
    "zero_one": (np.array([0, 1]), 1),
    "zero_two": (np.array([0, 2]), 2),
}


@pytest.mark.parametrize("kind", sorted(LABELS))
def test_any_two_labels(toy, kind, make_clf):
    """Any two labels go through classes_; same network as with 0/1 (the encoding is 0/1)."""
    X, y01 = toy
    values, pos = LABELS[kind]
    y = values[y01]
    clf = make_clf(max_epochs=1).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(values))
    assert clf.pos_label_ == pos
    ref = make_clf(max_epochs=1).fit(X, y01).predict_proba(X)
    proba = clf.predict_proba(X)
    col = list(clf.classes_).index(pos)
    np.testing.assert_array_equal(proba[:, col], ref[:, 1])  # columns follow classes_
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype and set(pred) <= set(values)
    np.testing.assert_array_equal(pred == pos, ref[:, 1] >= 0.5)
    dec = clf.decision_function(X)  # scikit-learn's convention: > 0 means classes_[1]
    np.testing.assert_array_equal(dec > 0, pred == clf.classes_[1])
    np.testing.assert_allclose(1 / (1 + np.exp(-dec)), proba[:, 1], rtol=1e-5)
    assert clf.score(X, y) == pytest.approx(np.mean(pred == y))


def test_pos_label_is_settable(toy, make_clf):
    X, y01 = toy
    y = np.array(["non-emergence", "emergence"])[y01]
    clf = make_clf(max_epochs=1, pos_label="non-emergence").fit(X, y)
    assert clf.pos_label_ == "non-emergence"
    ref = make_clf(max_epochs=1).fit(X, 1 - y01).predict_proba(X)  # the other class as 1
    np.testing.assert_array_equal(clf.predict_proba(X)[:, 1], ref[:, 1])
    with pytest.raises(ValueError, match=r"pos_label='flux' is not one of the classes"):
        make_clf(pos_label="flux").fit(X, y)


@pytest.mark.slow
def test_string_labels_through_grid_search_with_month_blocks(tiny_videos, tiny_classifier):
    from skflux import MonthBlockSplit

    y = np.where(tiny_videos["label"].values == 1, "emergence", "non-emergence")
    search = GridSearchCV(tiny_classifier(max_epochs=1, valid_months=None),
                          {"lr": [0.01, 0.02]}, cv=MonthBlockSplit())
    search.fit(tiny_videos, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert set(search.predict(tiny_videos)) <= {"emergence", "non-emergence"}
    np.testing.assert_array_equal(search.best_estimator_.classes_,
                                  ["emergence", "non-emergence"])


def test_sample_weight_is_refused_by_name(toy, make_clf):
    X, y = toy
    with pytest.raises(TypeError, match="does not support sample_weight"):
        make_clf().fit(X, y, sample_weight=np.ones(N))
    clf = make_clf(max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="does not support sample_weight"):
        clf.partial_fit(X, y, sample_weight=np.ones(N))


def test_nan_video_named_by_position_in_X_and_bmr_id(tiny_videos, tiny_classifier):
    """The training subset (months 1-10 here) is not where the number comes from."""
    X = tiny_videos.copy(deep=True)
    months = X["month"].values
    bad = int(np.flatnonzero(months == 6)[1])
    X.values[bad, 3, 2, 2] = np.nan
    bmr_id = X["bmr_id"].values[bad]
    clf = tiny_classifier(valid_months=[1, 2])
    assert bad not in np.flatnonzero(np.isin(months, [1, 2]))
    with pytest.raises(ValueError, match=rf"video {bad} \(bmr_id='{bmr_id}'\) contains NaN"):
        clf.fit(X, X["label"].values)


@pytest.mark.parametrize("shape", [(FRAMES, 20, 20), (FRAMES, 12, 12), (FRAMES - 2, SIZE, SIZE)])
def test_videos_of_another_shape_are_refused(videos, shape, make_clf):
    """A model trained on 16x16 patches refuses 20x20 ones (not p ~ 0.5) and 12x12 ones."""
    clf = make_clf(max_epochs=1).fit(videos, videos["label"])
    other = tiny_videos(n=3, n_frames=shape[0], size=shape[1])
    got, want = "×".join(map(str, shape)), f"{FRAMES}×{SIZE}×{SIZE}"
    expected = (rf"X holds videos of {got} \(frame×lat×lon; first: video 0 "
                rf"\(bmr_id='BMR0000'\)\) but FluxEmergenceClassifier was trained on videos "
                rf"of {want}: resample them with skflux\.preprocessing\.Resample\("
                rf"n_frames={FRAMES}, size={SIZE}\) \(command line: --resample\) or re-cut "
                rf"them to {want}")
    for method in (clf.predict_proba, clf.predict, clf.decision_function):
        with pytest.raises(ValueError, match=expected):
            method(other)


# ----------------------------------------------------------------------------- save / load
_LOAD_SCRIPT = """
import sys
import numpy as np
from skflux import FluxEmergenceClassifier
clf = FluxEmergenceClassifier.load(sys.argv[1])
X = np.load(sys.argv[2])
np.save(sys.argv[3], clf.predict_proba(X))
np.save(sys.argv[4], clf.predict(X))
"""


@pytest.fixture
def saved(toy, tmp_path_factory, make_clf):
    X, y01 = toy
    y = np.array(["non-emergence", "emergence"])[y01]
    clf = make_clf(field_limit=700.0, pos_label="emergence").fit(X, y)
    path = tmp_path_factory.mktemp("model") / "clf"
    clf.save(path)
    return clf, path


def test_save_load_in_a_fresh_process(saved, toy, tmp_path):
    import subprocess
    import sys

    clf, path = saved
    X, _ = toy
    np.save(tmp_path / "X.npy", X)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(path), str(tmp_path / "X.npy"),
                    str(tmp_path / "p.npy"), str(tmp_path / "y.npy")], check=True, env=env)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X))
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), clf.predict(X))
    assert sorted(os.listdir(path)) == ["config.json", "history.json", "weights.pt"]


def test_loaded_classifier_is_fitted_and_weights_only(saved, toy, monkeypatch):
    clf, path = saved
    X, _ = toy
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    back = FluxEmergenceClassifier.load(path)
    assert calls and all(c.get("weights_only") is True for c in calls)
    assert not back.module_.training and back.module_.field_limit == 700.0
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.pos_label_ == "emergence" and back.video_shape_in_ == clf.video_shape_in_
    assert back.get_params()["module__widths"] == clf.get_params()["module__widths"]
    assert len(back.history) == len(clf.history)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    refit = clone(back).fit(X, np.array(["non-emergence", "emergence"])[toy[1]])
    assert refit.field_limit == 700.0  # a loaded classifier clones and refits


def _corrupt(path, name, edit):
    import json

    f = path / name
    if name == "config.json" and callable(edit):
        config = json.loads(f.read_text())
        edit(config)
        f.write_text(json.dumps(config))
    else:
        f.write_bytes(edit)


@pytest.mark.parametrize("name, edit, match", [
    ("config.json", b"{not json", "config.json"),
    ("config.json", lambda c: c.update(format="skflux-month-block-ensemble"),
     "config.json: not a skflux-classifier"),
    ("config.json", lambda c: c.update(format_version=99), "config.json: written by a newer"),
    ("config.json", lambda c: c["params"].update(torch_load_kwargs={"weights_only": False}),
     "config.json: parameter 'torch_load_kwargs' is not one a saved classifier may set"),
    ("config.json", lambda c: c["params"].update(callbacks="print"),
     "config.json: parameter 'callbacks'"),
    ("config.json", lambda c: c["params"].update(criterion="os.system"),
     "config.json: criterion 'os.system' is not one of"),
    ("config.json", lambda c: c["params"].update(lr="fast"), "config.json: invalid parameters"),
    ("config.json", lambda c: c.update(video_shape=[8, 20]), "config.json: corrupt"),
    ("config.json", lambda c: c["params"].update(module__widths=[2, 2, 2, 2]),
     "weights.pt: the weights do not fit the network of .*config.json"),
    ("weights.pt", b"PK\x03\x04 truncated", "weights.pt: not a file of tensors"),
])
def test_load_refuses_bad_directories_naming_the_file(saved, tmp_path, name, edit, match):
    import shutil

    from skflux._model_dir import ModelDirectoryError

    path = tmp_path / "copy"
    shutil.copytree(saved[1], path)
    _corrupt(path, name, edit)
    with pytest.raises(ModelDirectoryError, match=match):
        FluxEmergenceClassifier.load(path)


def test_load_refuses_missing_directories(tmp_path):
    from skflux._model_dir import ModelDirectoryError

    with pytest.raises(ModelDirectoryError, match="no such model directory"):
        FluxEmergenceClassifier.load(tmp_path / "nowhere")
    with pytest.raises(ModelDirectoryError, match="no config.json"):
        FluxEmergenceClassifier.load(tmp_path)


class _Payload:
    """Unpickling this creates a marker file: the code a crafted weights file would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("via_config", [False, True])
def test_pickle_payload_in_weights_never_runs(saved, tmp_path, via_config):
    """A crafted weights.pt is refused; a config cannot switch weights_only off (issue 21.3)."""
    import shutil

    from skflux._model_dir import ModelDirectoryError

    path = tmp_path / "copy"
    shutil.copytree(saved[1], path)
    marker = tmp_path / "payload_ran"
    torch.save({"conv1.weight": _Payload(marker)}, path / "weights.pt")
    match = "weights.pt: not a file of tensors"
    if via_config:
        _corrupt(path, "config.json",
                 lambda c: c["params"].update(torch_load_kwargs={"weights_only": False}))
        match = "config.json: parameter 'torch_load_kwargs'"
    with pytest.raises(ModelDirectoryError, match=match):
        FluxEmergenceClassifier.load(path)
    assert not marker.exists()


def test_save_refuses_what_it_cannot_store_and_existing_models(saved, toy, tmp_path, make_clf):
    X, y = toy

    class Net(torch.nn.Module):
        def __init__(self, n_frames=1):
            super().__init__()
            self.lin = torch.nn.Linear(n_frames, 1)

        def forward(self, x):
            return self.lin(x.mean(dim=(2, 3))).squeeze(-1)

    custom = FluxEmergenceClassifier(Net, max_epochs=1, valid_months=None).fit(X, y)
    with pytest.raises(TypeError, match="module=.*Net.*storable: 'vgg' or 'vgg3d'"):
        custom.save(tmp_path / "a")
    with_cb = make_clf(max_epochs=1, callbacks=[("rec", _Record())]).fit(X, y)
    with pytest.raises(TypeError, match="does not store: callbacks"):
        with_cb.save(tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    clf, path = saved
    with pytest.raises(FileExistsError, match="config.json exists"):
        clf.save(path)
    with pytest.raises(NotFittedError):
        make_clf().save(tmp_path / "c")
    again = tmp_path / "again"
    clf.save(again)
    clf.save(again, overwrite=True)
    np.testing.assert_array_equal(FluxEmergenceClassifier.load(again).predict_proba(X),
                                  clf.predict_proba(X))


@pytest.mark.parametrize("params, name", [
    (dict(lr=float("nan")), "lr"), (dict(module="resnet"), "module"),
    (dict(field_limit=-1.0), "field_limit"), (dict(threshold=1.5), "threshold"),
    (dict(batch_size=0), "batch_size"), (dict(patience=0), "patience"),
    (dict(augment="yes"), "augment"), (dict(pos_label=[1]), "pos_label"),
])
def test_parameters_checked_before_any_training(params, name):
    """_parameter_constraints run in initialize() (what a CLI calls before training)."""
    with pytest.raises(ValueError, match=f"The '{name}' parameter of FluxEmergenceClassifier"):
        FluxEmergenceClassifier(**params).initialize()


def test_save_load_keeps_every_stored_parameter(toy, tmp_path):
    from skflux.nn import GeneralizedCrossEntropyLoss

    X, y = toy
    clf = FluxEmergenceClassifier(
        "vgg3d", criterion=GeneralizedCrossEntropyLoss, criterion__q=0.3,
        optimizer__momentum=0.5, device=torch.device("cpu"), max_epochs=1, lr=0.01,
        valid_months=None, random_state=3, threshold=0.4, module__widths=(2, 4, 4, 8, 8),
        module__dense=8)
    clf.fit(X, 2 * y - 1)  # labels -1 / 1
    back = FluxEmergenceClassifier.load(clf.save(tmp_path / "m"))
    p, q = clf.get_params(deep=False), back.get_params(deep=False)
    for name in ("module", "criterion", "criterion__q", "optimizer__momentum", "lr", "threshold",
                 "random_state", "module__widths", "valid_months"):
        assert q[name] == p[name], name
    assert q["device"] == "cpu"
    np.testing.assert_array_equal(back.classes_, [-1, 1])
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_another_optimizer_gets_no_sgd_momentum(tiny_classifier, tiny_videos):
    # SGD's momentum/nesterov defaults used to be injected for any optimizer, so Adam failed
    import torch
    from sklearn.base import clone

    clf = tiny_classifier(optimizer=torch.optim.Adam, max_epochs=1)
    assert "optimizer__momentum" not in clf.get_params()
    clf = clone(clf).fit(tiny_videos, tiny_videos["label"].values)
    assert isinstance(clf.optimizer_, torch.optim.Adam)
    assert np.isfinite(clf.predict_proba(tiny_videos[:4])).all()
    sgd = tiny_classifier()
    assert sgd.get_params()["optimizer__momentum"] == 0.9
    assert sgd.get_params()["optimizer__nesterov"] is True
