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
from skflux.nn import VideoCNN3D, VideoVGG, iter_video_batches, scale_field

SMALL = dict(module__widths=(4, 4, 8, 8), module__top=8, module__dense=8)
N, FRAMES, SIZE = 20, 8, 16


def _clf(**kw):
    params = dict(max_epochs=2, random_state=0, valid_months=None, lr=0.01, **SMALL)
    params.update(kw)
    return FluxEmergenceClassifier(**params)


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
def test_fit_predict_numpy(toy):
    X, y = toy
    clf = _clf().fit(X, y)
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
def test_learns_a_separable_problem():
    X, y = _toy(n=40, seed=1)
    clf = _clf(max_epochs=12, lr=0.02, batch_size=8).fit(X, y)
    Xt, yt = _toy(n=40, seed=2)
    assert (clf.predict(Xt) == yt).mean() >= 0.9


def test_reproducible_and_seed_dependent(toy):
    X, y = toy
    p0 = _clf().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p0, _clf().fit(X, y).predict_proba(X))
    assert not np.allclose(p0, _clf(random_state=1).fit(X, y).predict_proba(X))
    # the user's global torch RNG is left alone
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    _clf(max_epochs=1).fit(X, y)
    assert torch.equal(torch.rand(1), expected)


def test_threshold_drives_predict(toy):
    X, y = toy
    clf = _clf(max_epochs=1).fit(X, y)
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
    with pytest.raises(ValueError, match="module must be one of"):
        FluxEmergenceClassifier("resnet").fit(X, y)


def test_torch_tensor_input(toy):
    X, y = toy
    clf = _clf(max_epochs=1).fit(torch.from_numpy(X), torch.from_numpy(y))
    np.testing.assert_allclose(clf.predict_proba(torch.from_numpy(X)), clf.predict_proba(X))


# ----------------------------------------------------------------------------- training details
def test_augmentation_four_versions_per_epoch(toy):
    X, y = toy
    rec = _Record()
    clf = _clf(max_epochs=1, batch_size=7, callbacks=[("rec", rec)]).fit(X, y)
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


def test_no_augmentation_when_off_and_at_predict(toy):
    X, y = toy
    rec = _Record()
    clf = _clf(max_epochs=1, batch_size=7, augment=False, callbacks=[("rec", rec)]).fit(X, y)
    assert clf.history[-1, "train_batch_count"] == 3
    batches = list(clf.get_iterator(clf.get_dataset(X), training=False))
    assert len(batches) == 3
    np.testing.assert_array_equal(torch.cat([b[0] for b in batches]).numpy(), X)


def test_inputs_clipped_and_scaled_inside(toy):
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
    np.testing.assert_allclose(seen[0].numpy(), np.clip(X, -500, 500) / 500, rtol=1e-6)
    assert seen[0].abs().max() <= 1


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
def test_month_split_holds_out_whole_months(videos):
    months = videos["month"].values
    clf = _clf(valid_months=[1, 2]).fit(videos, videos["label"])
    np.testing.assert_array_equal(clf.valid_index_, np.flatnonzero(np.isin(months, [1, 2])))
    assert clf.valid_months_ == (1, 2)
    assert "valid_acc" in clf.history[-1]
    auto = _clf(valid_months="auto").fit(videos, videos["label"])
    distinct = np.unique(months)
    assert auto.valid_months_ == tuple(distinct[-round(distinct.size / 5):])


def test_month_split_from_groups_with_numpy(toy):
    X, y = toy
    groups = np.repeat([3, 4, 5, 6, 7], 4)
    clf = _clf(valid_months=[7]).fit(X, y, groups=groups)
    np.testing.assert_array_equal(clf.valid_index_, np.arange(16, 20))
    assert _clf(valid_months="auto").fit(X, y).valid_months_ == ()  # no months: no split


@pytest.mark.parametrize("valid_months, match", [
    ([11], r"no video falls in the validation months \[11\]"),
    ([13], "calendar months 1-12"),
    ("some", "valid_months must be"),
])
def test_month_split_errors(videos, valid_months, match):
    first = videos.isel(video=slice(0, 8))  # January to October
    assert 11 not in first["month"].values
    with pytest.raises(ValueError, match=match):
        _clf(valid_months=valid_months).fit(first, first["label"])


def test_month_split_needs_months(toy, videos):
    X, y = toy
    with pytest.raises(ValueError, match="month"):
        _clf(valid_months=[1]).fit(X, y)
    bare = videos.drop_vars(["month", "time"])
    with pytest.raises(ValueError, match="month"):
        _clf(valid_months=[1]).fit(bare, y)
    every = np.unique(videos["month"].values).tolist()
    with pytest.raises(ValueError, match="no training videos left"):
        _clf(valid_months=every).fit(videos, y)


# ----------------------------------------------------------------------------- lazy NetCDF
def test_lazy_netcdf_never_materialized(nc_path, toy, never_materialized):
    X, y = toy
    lazy = open_videos(nc_path)
    assert lazy.chunks is not None
    clf = _clf(valid_months=[1, 2]).fit(lazy, lazy["label"])
    p_lazy = clf.predict_proba(lazy)
    p_mem = clf.predict_proba(np.round(X / 0.2) * 0.2)  # the file's int16 packing, step 0.2 G
    np.testing.assert_allclose(p_lazy, p_mem, atol=1e-4)


@pytest.mark.slow
def test_lazy_netcdf_with_worker_processes(nc_path, never_materialized):
    lazy = open_videos(nc_path)
    clf0 = _clf(max_epochs=1).fit(lazy, lazy["label"])
    clf2 = _clf(max_epochs=1, num_workers=2).fit(lazy, lazy["label"])
    np.testing.assert_allclose(clf2.predict_proba(lazy), clf0.predict_proba(lazy), atol=1e-5)


@pytest.mark.slow
def test_grid_search_and_cross_val_predict_on_lazy_netcdf(nc_path, never_materialized):
    lazy = open_videos(nc_path)
    y = lazy["label"].values
    search = GridSearchCV(_clf(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=2).fit(lazy, y)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    assert search.predict_proba(lazy).shape == (N, 2)
    proba = cross_val_predict(_clf(max_epochs=1), lazy, y, cv=2, method="predict_proba")
    assert proba.shape == (N, 2)


def test_members_over_one_batch_contract(videos):
    """What ensembles do: raw batches, scale_field, module_ -> same as predict_proba."""
    clf = _clf(max_epochs=1).fit(videos, videos["label"])
    logits = []
    with torch.no_grad():
        for xb in iter_video_batches(videos, batch_size=7):
            logits.append(clf.module_(scale_field(xb, clf.field_limit)))
    p = torch.sigmoid(torch.cat(logits)).numpy()
    np.testing.assert_allclose(p, clf.predict_proba(videos)[:, 1], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- bad input
def test_nan_and_inf_name_the_video(toy, videos):
    X, y = toy
    Xn = X.copy()
    Xn[3, 2, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf in videos \[3\]"):
        _clf().fit(Xn, y)
    Xi = X.copy()
    Xi[5, 0, 0, 0] = np.inf
    clf = _clf(max_epochs=1).fit(X, y)
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
def test_wrong_shape(X_shape, match):
    X = np.zeros(X_shape, dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        _clf().fit(X, np.arange(X_shape[0]) % 2)


@pytest.mark.parametrize("y, match", [
    (np.arange(N - 1) % 2, f"y has {N - 1} labels for {N} videos"),
    (np.arange(N) % 2 * 2, r"binary labels 0 \(non-emergence\) and 1"),
    (np.arange(N) % 3, "Only binary classification"),
    (np.ones(N), "only one class"),
    (np.linspace(0, 1, N), "Unknown label type"),
    (None, "requires y"),
])
def test_bad_labels(toy, y, match):
    X, _ = toy
    with pytest.raises(ValueError, match=match):
        _clf().fit(X, y)


def test_bad_other_input(toy, videos):
    X, y = toy
    with pytest.raises(TypeError, match="real numbers"):
        _clf().fit(X.astype(str), y)
    with pytest.raises(ValueError, match="field_limit must be a positive"):
        _clf(field_limit=0).fit(X, y)
    with pytest.raises(ValueError, match="dims"):
        _clf().fit(videos.transpose("video", "lat", "lon", "frame"), y)
    clf = _clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=f"fitted on videos of {FRAMES} frames"):
        clf.predict(X[:, :-1])


def test_not_fitted(toy):
    with pytest.raises(NotFittedError):
        _clf().predict_proba(toy[0])


# ----------------------------------------------------------------------------- sklearn API
def test_clone_get_set_params(toy):
    X, y = toy
    clf = _clf(module__dense=4, optimizer__momentum=0.5)
    cloned = clone(clf)
    assert cloned.get_params()["module__dense"] == 4
    cloned.set_params(module__dense=6, optimizer__nesterov=False).fit(X, y)
    assert cloned.module_.head[0].out_features == 6
    group = cloned.optimizer_.param_groups[0]
    assert group["momentum"] == 0.5 and group["nesterov"] is False and group["lr"] == 0.01
    assert "module__dense" not in FluxEmergenceClassifier().get_params()


def test_pickle_round_trip(toy):
    X, y = toy
    clf = _clf().fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.n_frames_in_ == FRAMES


def test_save_load_params_weights_only(toy, tmp_path, monkeypatch):
    X, y = toy
    clf = _clf().fit(X, y)
    f = tmp_path / "params.pt"
    clf.save_params(f_params=f)
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    new = _clf(module__n_frames=FRAMES, module__in_size=SIZE).initialize()
    new.load_params(f_params=f)
    assert calls and all(c.get("weights_only") is True for c in calls)
    new.module_.eval()
    np.testing.assert_allclose(new.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_partial_fit_continues(toy):
    X, y = toy
    clf = _clf(max_epochs=1).fit(X, y)
    before = copy.deepcopy(clf.module_.state_dict())
    clf.partial_fit(X, y)
    assert len(clf.history) == 2
    assert any(not torch.equal(clf.module_.state_dict()[k], v) for k, v in before.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
def test_cuda(toy):
    X, y = toy
    clf = _clf(device="cuda").fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    p = clf.predict_proba(X)
    assert p.shape == (N, 2) and np.isfinite(p).all()
