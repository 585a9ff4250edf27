"""Reading videos at compute speed: the packed NetCDF reader and background prefetching."""

import os
import pickle
import threading

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux.io import open_videos, to_netcdf
from skflux.io._examples import tiny_videos
from skflux.io._netcdf import PackedField
from skflux.io._packing import unpack
from skflux.nn._data import VideoDataset, iter_video_batches, packed_source, prefetch


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
    other = PackedField(path)
    handle = field._nc
    assert other._nc is handle  # one handle per file in a process, shared
    del field
    gc.collect()
    assert handle.isopen()  # still used by the other reader
    other[0:1]
    assert handle.isopen()
    del other
    gc.collect()
    assert handle.isopen()  # never closed by the collection itself
    with _netcdf._HDF5Lock():
        pass
    assert not handle.isopen()


def test_reopening_a_file_many_times_keeps_one_handle(nan_videos, tmp_path):
    # netCDF-C 4.10 / HDF5 2.2 crash (segmentation fault) when several handles on one
    # file are opened and closed in turn: every open_videos of a file shares one handle
    import gc

    from skflux.io import _netcdf

    paths = [to_netcdf(nan_videos, tmp_path / f"v{i}.nc") for i in range(2)]
    kept = []
    for round_ in range(3):
        for path in paths:
            lazy = open_videos(path)
            assert lazy[0:2].values.shape[0] == 2
            kept.append(open_videos(path, chunks=None))
            again = open_videos(path)
            np.testing.assert_array_equal(again.values, kept[-1].values)
            mine = [h for (p, _), h in _netcdf._HANDLES.items() if p == str(path)]
            assert len(mine) == 1, round_
        del lazy, again
        gc.collect()
    np.testing.assert_array_equal(open_videos(paths[0]).values, kept[0].values)


# ------------------------------------------------------------ the batch reader (packed_source)
STORES = [("nc", "zlib", 1), ("nc", "zstd", 1), ("nc", "zlib", 0),
          ("zarr", "blosc_lz4", 1), ("zarr", "zstd", 1), ("zarr", "zlib", 1), ("zarr", "zlib", 0)]


def _write(videos, tmp_path, kind, compression, complevel):
    from skflux.io import to_zarr

    if kind == "nc":
        return to_netcdf(videos, tmp_path / "v.nc", compression=compression,
                         complevel=complevel)
    return to_zarr(videos, tmp_path / "v.zarr", compression=compression, complevel=complevel)


def _xarray_decoded(path, kind):
    """The field as xarray's own CF decoding gives it (no skflux reader).

    xarray decodes NetCDF's float32 ``scale_factor`` in float32 and Zarr's
    (a JSON number) in float64: for Zarr the float32 values are those of the
    same videos' NetCDF file (bit for bit) and within float32 rounding of
    xarray's float64 decoding.
    """
    if kind == "nc":
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds["field"].values
    videos = open_videos(path)
    reference = _xarray_decoded(to_netcdf(videos, path.parent / "same.nc"), "nc")
    with xr.open_zarr(path, chunks=None) as ds:
        np.testing.assert_allclose(reference, ds["field"].values, rtol=2e-7, atol=0)
    return reference


@pytest.mark.parametrize("kind, compression, complevel", STORES)
def test_batch_reader_equals_xarray_decoding(nan_videos, tmp_path, kind, compression,
                                             complevel):
    path = _write(nan_videos, tmp_path, kind, compression, complevel)
    lazy = open_videos(path)
    source = packed_source(lazy)
    assert source is not None  # the batch reader is used, not dask
    np.testing.assert_array_equal(source[1], np.arange(5))
    reference = _xarray_decoded(path, kind)
    assert np.isnan(reference[2, 1, 0, 0])
    ds = VideoDataset(lazy, check_finite=False)
    for index in ([0, 1, 2, 3, 4], [4, 0, 2], [3, 3, 1]):  # order and repeats kept
        got, _ = ds[index]
        assert got.dtype == torch.float32
        np.testing.assert_array_equal(got.numpy(), reference[index])  # bit for bit, NaN too
    np.testing.assert_array_equal(ds[2][0].numpy(), reference[2])


@pytest.mark.parametrize("kind", ["nc", "zarr"])
def test_selections_use_the_reader_only_when_untouched(nan_videos, tmp_path, kind):
    path = _write(nan_videos.fillna(1.0), tmp_path, kind, "zstd", 1)
    lazy = open_videos(path)
    cases = {
        "slice": (lazy.isel(video=slice(1, 4)), [1, 2, 3]),
        "slice of slice": (lazy.isel(video=slice(1, 5)).isel(video=slice(2, None)), [3, 4]),
        "times one": (lazy * 1, None),
        "fillna": (lazy.fillna(0.0), None),
        "lat reversed": (lazy.isel(lat=slice(None, None, -1)), None),
        "index list": (lazy.isel(video=[4, 1]), None),
        "float64": (lazy.astype(np.float64), None),
    }
    for what, (X, rows) in cases.items():
        source = packed_source(X)
        if rows is None:
            assert source is None, what
        else:
            np.testing.assert_array_equal(source[1], rows, err_msg=what)
        got = torch.cat(list(iter_video_batches(X, batch_size=2))).numpy()
        np.testing.assert_array_equal(got, X.values.astype(np.float32), err_msg=what)
    chunked = open_videos(path, chunks=2)
    np.testing.assert_array_equal(packed_source(chunked)[1], np.arange(5))
    np.testing.assert_array_equal(packed_source(chunked.isel(video=slice(2, 4)))[1], [2, 3])
    assert packed_source(chunked.isel(video=slice(1, 3))) is None  # inside chunks: dask


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 4), min_size=1, max_size=8))
def test_read_rows_returns_the_rows_asked_in_order(tmp_path_factory, rows):
    v = tiny_videos(n=5, n_frames=3, size=4)
    path = to_netcdf(v, tmp_path_factory.mktemp("r") / "v.nc", compression="zstd")
    field = PackedField(path)
    values, missing = field.read_rows(rows)
    assert not missing
    np.testing.assert_array_equal(values, open_videos(path).values[rows])


@pytest.fixture
def counted_reads(monkeypatch):
    """Every video the NetCDF batch reader decodes, in order."""
    rows = []
    raw = PackedField._raw

    def counting(self, start, stop):
        rows.extend(range(start, stop))
        return raw(self, start, stop)

    monkeypatch.setattr(PackedField, "_raw", counting)
    return rows


def test_ensemble_reads_each_video_once(tiny_classifier, tmp_path, one_torch_thread,
                                        counted_reads):
    from skflux import MonthBlockEnsemble, MonthBlockSplit

    v = tiny_videos(n=8, n_frames=8, size=16)
    X = v.values
    months = np.arange(1, 9)
    ens = MonthBlockEnsemble(
        tiny_classifier(max_epochs=1, batch_size=3, valid_months=None),
        cv=MonthBlockSplit(blocks=((1, 2), (3, 4), (5, 6))), n_seeds=1, random_state=0,
    ).fit(X, np.arange(8) % 2, groups=months)
    assert len(ens.estimators_) == 3
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    del counted_reads[:]
    proba = ens.predict_proba(lazy)
    assert counted_reads == list(range(8))  # once, for all three members, in order
    np.testing.assert_allclose(proba, ens.predict_proba(X), atol=1e-6)
    del counted_reads[:]
    ens.estimators_[0].predict_proba(lazy.isel(video=slice(2, 7)))
    assert counted_reads == [2, 3, 4, 5, 6]
