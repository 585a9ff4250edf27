"""Reading videos at compute speed: the packed NetCDF reader and background prefetching."""

import os
import pickle
import threading

import numpy as np
import pytest
import torch
import xarray as xr

from skflux.io import open_videos, to_netcdf
from skflux.io._examples import tiny_videos
from skflux.io._netcdf import PackedField
from skflux.io._packing import unpack
from skflux.nn._data import iter_video_batches, prefetch


@pytest.fixture
def nan_videos():
    v = tiny_videos(n=5, n_frames=6, size=5)
    data = v.values.copy()
    data[2, 1, 0, 0] = np.nan
    return v.copy(data=data)


@pytest.mark.parametrize("compression", ["zlib", "zstd"])
def test_packed_reader_equals_xarray_decoding(nan_videos, tmp_path, compression):
    path = to_netcdf(nan_videos, tmp_path / "v.nc", compression=compression)
    fast = open_videos(path)
    assert any("skflux-field" in str(k) for k in fast.data.dask)  # the packed reader is used
    with xr.open_dataset(path, engine="netcdf4") as ds:  # xarray's own CF decoding
        reference = ds["field"].values
    assert fast.dtype == np.float32 and reference.dtype == np.float32
    np.testing.assert_array_equal(fast.values, reference)  # bit for bit, NaN included
    assert np.isnan(fast.values[2, 1, 0, 0])
    np.testing.assert_array_equal(open_videos(path, chunks=2).values, reference)


def test_unpack_offset_and_fill():
    raw = np.array([[0, 10], [-32768, -5]], dtype=np.int16)
    out = unpack(raw, np.float32(0.5), np.float32(1.0), np.int16(-32768))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1.0, 6.0], [np.nan, -1.5]])


def test_packed_field_pickles_and_reopens(nan_videos, tmp_path):
    path = to_netcdf(nan_videos, tmp_path / "v.nc")
    field = PackedField(path)
    clone = pickle.loads(pickle.dumps(field))
    assert clone._nc is None  # the handle never travels: each process opens the file
    np.testing.assert_array_equal(clone[1:3], field[1:3])


def test_packed_field_refuses_a_replaced_file(nan_videos, tmp_path):
    path = to_netcdf(nan_videos, tmp_path / "v.nc")
    clone = pickle.loads(pickle.dumps(PackedField(path)))
    other = tmp_path / "w.nc"
    to_netcdf(nan_videos.isel(video=slice(0, 5)) * 0 + 1, other)
    os.replace(other, path)
    with pytest.raises(ValueError, match="replaced or modified after it was opened"):
        clone[0:1]


def test_foreign_packing_falls_back_to_xarray(nan_videos, tmp_path):
    # a file written by xarray itself with a missing_value attribute: xarray decodes it
    path = tmp_path / "x.nc"
    enc = {"field": {"dtype": "int16", "scale_factor": 0.5, "_FillValue": -999,
                     "missing_value": -999}}
    nan_videos.to_dataset(name="field").to_netcdf(path, encoding=enc)
    assert not PackedField.usable(path)
    back = open_videos(path)
    assert not any("skflux-field" in str(k) for k in back.data.dask)
    np.testing.assert_allclose(back.values, nan_videos.values, atol=0.25)


def test_lazy_batches_equal_in_memory(nan_videos, tmp_path):
    v = nan_videos.fillna(0.0)
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    eager = lazy.values
    for prefetch_batches in (0, 2):
        got = torch.cat(list(iter_video_batches(lazy, batch_size=2,
                                                prefetch_batches=prefetch_batches)))
        np.testing.assert_array_equal(got.numpy(), eager)


def test_lazy_batch_names_the_nan_video(nan_videos, tmp_path):
    lazy = open_videos(to_netcdf(nan_videos, tmp_path / "v.nc"))
    with pytest.raises(ValueError, match="video 2 .*NaN or inf"):
        list(iter_video_batches(lazy, batch_size=2))


def test_predict_proba_from_file_equals_in_memory(tiny_classifier, tmp_path, one_torch_thread):
    v = tiny_videos(n=6, n_frames=8, size=16)
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    clf = tiny_classifier(max_epochs=1, valid_months=None, batch_size=4)
    clf.fit(lazy.values, np.array([0, 1] * 3))
    np.testing.assert_array_equal(clf.predict_proba(lazy), clf.predict_proba(lazy.values))


def test_prefetch_keeps_order_and_stops_on_break():
    seen = []

    def items():
        for i in range(100):
            seen.append(i)
            yield i

    assert list(prefetch(iter(range(7)), depth=3)) == list(range(7))
    before = threading.active_count()
    for i in prefetch(items(), depth=2):
        if i == 3:
            break
    assert threading.active_count() == before  # the reader thread is gone
    assert len(seen) <= 3 + 1 + 2 + 1  # it read at most ``depth`` (+ one in hand) ahead


def test_prefetch_raises_at_the_failing_item():
    def items():
        yield 1
        yield 2
        raise KeyError("video 3 unreadable")

    got = []
    with pytest.raises(KeyError, match="video 3"):
        for i in prefetch(items()):
            got.append(i)
    assert got == [1, 2]


# ------------------------------------------------------------------ mixed precision
def test_precision_is_a_checked_saved_parameter(tiny_classifier, tmp_path, one_torch_thread):
    from sklearn.base import clone

    from skflux import FluxEmergenceClassifier

    clf = tiny_classifier(precision="bf16", max_epochs=1, valid_months=None)
    assert clone(clf).get_params()["precision"] == "bf16"
    with pytest.raises(ValueError, match="precision"):
        tiny_classifier(precision="fp8").fit(np.zeros((4, 8, 16, 16)), [0, 1, 0, 1])
    X = tiny_videos(n=4, n_frames=8, size=16).values
    clf.fit(X, [0, 1, 0, 1])
    back = FluxEmergenceClassifier.load(clf.save(tmp_path / "m"))
    assert back.precision == "bf16"
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_bf16_autocast_changes_arithmetic_not_the_result(tiny_classifier, one_torch_thread):
    from skflux import MonthBlockEnsemble, MonthBlockSplit

    X = tiny_videos(n=8, n_frames=8, size=16).values
    y = np.array([0, 1] * 4)
    f32 = tiny_classifier(max_epochs=1, valid_months=None).fit(X, y)
    bf16 = tiny_classifier(max_epochs=1, valid_months=None, precision="bf16").fit(X, y)
    p32, p16 = f32.predict_proba(X), bf16.predict_proba(X)
    assert p16.dtype == p32.dtype
    assert not np.array_equal(p16, p32)  # bfloat16 arithmetic was used ...
    np.testing.assert_allclose(p16, p32, atol=0.05)  # ... for (nearly) the same model
    # the ensemble's shared pass honours each member's precision
    ens = MonthBlockEnsemble(bf16, cv=MonthBlockSplit(blocks=((1,), (2,))), n_seeds=1)
    ens.estimators_ = [bf16]
    np.testing.assert_allclose(ens._member_proba([bf16], X)[0], p16[:, 1], atol=1e-6)


def test_collected_handles_close_under_the_hdf5_lock(nan_videos, tmp_path):
    # a garbage collection may run in any thread (e.g. while a reader thread is inside
    # HDF5): a collected reader never closes its file there, the next locked call does
    import gc

    from skflux.io import _netcdf

    path = to_netcdf(nan_videos, tmp_path / "v.nc")
    field = PackedField(path)
    handle = field._nc
    del field
    gc.collect()
    assert handle.isopen() and any(h is handle for h in _netcdf._TO_CLOSE)
    other = PackedField(path)
    other[0:1]
    assert not handle.isopen() and not any(h is handle for h in _netcdf._TO_CLOSE)
    assert other._nc.isopen()
