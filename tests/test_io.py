"""NetCDF storage and schema validation of videos (skflux.io)."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skflux.io import (
    PACK_LIMIT,
    PACK_SCALE,
    VideoSchemaError,
    VideoWriter,
    open_videos,
    to_netcdf,
    validate_videos,
)
from skflux.io._examples import tiny_videos


@pytest.fixture
def videos():
    v = tiny_videos(n=3, n_frames=8, size=6, missing=[3])
    return v.assign_coords(
        true_label=("video", [1, 0, 1]),
        emergence_frame=("video", [4, -1, 2]),
        mislabel_reason=("video", ["", "limb", "east of -60"]),
        flux_max=("video", [1e21, 2.5e21, 0.0]),
        n_spots=("video", np.array([1, 2, 3], dtype=np.int32)),
        simulated=("video", [True, False, True]),
    )


# ---------------------------------------------------------------- validate_videos


def test_validate_accepts_valid(videos):
    assert validate_videos(videos, require_truth=True) is videos


def test_validate_not_dataarray():
    assert issubclass(VideoSchemaError, ValueError) and issubclass(VideoSchemaError, TypeError)
    with pytest.raises(TypeError, match="xarray.DataArray"):
        validate_videos(np.zeros((1, 2, 3, 3)))


def test_validate_lists_every_missing_coord(videos):
    bad = videos.drop_vars(["label", "bmr_id", "observed"])
    with pytest.raises(ValueError, match="missing coordinates: 'bmr_id', 'label'|'label', "
                       "'bmr_id', 'observed'"):
        validate_videos(bad)


def test_validate_require_truth(videos):
    with pytest.raises(ValueError, match="'true_label', 'emergence_frame'"):
        validate_videos(videos.drop_vars(["true_label", "emergence_frame"]), require_truth=True)


def test_validate_dims_order(videos):
    with pytest.raises(ValueError, match="only the order differs"):
        validate_videos(videos.transpose("video", "lat", "frame", "lon"))


def test_validate_dtype(videos):
    with pytest.raises(TypeError, match="floating point"):
        validate_videos(videos.fillna(0).astype(np.int16))


def test_validate_months(videos):
    bad = videos.assign_coords(month=("video", [1, 13, 0]))
    with pytest.raises(ValueError, match=r"'month' must lie in 1-12; got 13 at video 1 "
                       r"\(bmr_id=.*BMR0001.*\), video 2"):
        validate_videos(bad)


def test_validate_month_disagrees_with_time(videos):
    bad = videos.assign_coords(month=("video", [1, 2, 5]))
    with pytest.raises(ValueError, match="'month' disagrees with the month of 'time' at video 2"):
        validate_videos(bad)


def test_validate_labels(videos):
    with pytest.raises(ValueError, match="'label' must be 0 or 1; got 2"):
        validate_videos(videos.assign_coords(label=("video", [0, 2, 1])))
    with pytest.raises(ValueError, match="'true_label' must hold 0/1 integers"):
        validate_videos(videos.assign_coords(true_label=("video", ["a", "b", "c"])))


def test_validate_emergence_frame(videos):
    with pytest.raises(ValueError, match="'emergence_frame' must be -1"):
        validate_videos(videos.assign_coords(emergence_frame=("video", [0, 8, 1])))


def test_validate_observed_shape_and_dtype(videos):
    with pytest.raises(ValueError, match="'observed' must have dims"):
        validate_videos(videos.assign_coords(observed=("video", [True] * 3)))
    with pytest.raises(ValueError, match="'observed' must be boolean"):
        validate_videos(videos.assign_coords(observed=videos.observed.astype(int)))


def test_validate_time_dtype_and_nat(videos):
    with pytest.raises(ValueError, match="'time' must be datetime64"):
        validate_videos(videos.assign_coords(time=("video", [1, 2, 3])))
    t = videos.time.values.copy()
    t[1] = np.datetime64("NaT")
    with pytest.raises(ValueError, match="'time' is NaT for video 1"):
        validate_videos(videos.assign_coords(time=("video", t)))


def test_validate_attrs(videos):
    bad = videos.copy()
    bad.attrs = {"units": "T"}
    with pytest.raises(ValueError) as info:
        validate_videos(bad)
    msg = str(info.value)
    assert "missing attributes: 'cadence_minutes', 'instrument'" in msg
    assert "'units' must be 'G'" in msg


def test_validate_frame_coord_and_lat0(videos):
    bad = videos.assign_coords(frame=np.arange(8) * 2, lat0=("video", [0.0, 95.0, np.nan]))
    with pytest.raises(ValueError) as info:
        validate_videos(bad)
    assert "'frame' must be 0, 1, ..., 7" in str(info.value)
    assert "'lat0' must be finite degrees" in str(info.value)


def test_validate_per_video_coord_dims(videos):
    with pytest.raises(ValueError, match="'label' must have dims"):
        validate_videos(videos.assign_coords(label=videos.observed.astype(int)))


# ------------------------------------------------------------------ NetCDF round trip


def test_round_trip(videos, tmp_path):
    path = to_netcdf(videos, tmp_path / "v.nc")
    back = open_videos(path)
    # lazy, one video per chunk
    assert back.chunks == ((1, 1, 1), (8,), (6,), (6,))
    assert back.dims == videos.dims and back.dtype == np.float32
    # values within the documented packing precision, NaN preserved
    diff = np.abs(back.values - videos.values)
    assert np.array_equal(np.isnan(back.values), np.isnan(videos.values))
    assert np.nanmax(diff) <= PACK_SCALE / 2 + 1e-3
    # every coordinate round-trips, strings, datetimes, bools and extra numeric ones included
    for name, coord in videos.coords.items():
        np.testing.assert_array_equal(back.coords[name].values, coord.values, err_msg=name)
        assert back.coords[name].dims == coord.dims
    assert back.time.dtype.kind == "M" and back.observed.dtype == bool
    assert back.simulated.dtype == bool and back.n_spots.dtype == np.int32
    assert back.attrs == videos.attrs
    assert validate_videos(back, require_truth=True) is back


def test_open_eager_and_int_chunks(videos, tmp_path):
    path = to_netcdf(videos, tmp_path / "v.nc")
    assert open_videos(path, chunks=None).chunks is None
    assert open_videos(path, chunks=2).chunks[0] == (2, 1)
    with pytest.raises(ValueError, match="chunks must be"):
        open_videos(path, chunks="frame")


def test_packing_precision_documented_limits(tmp_path):
    """Max error is half the step, and the range edge ±6553.4 G is representable."""
    v = tiny_videos(n=1, n_frames=4, size=5)
    grid = np.linspace(-PACK_LIMIT, PACK_LIMIT, v.size).reshape(v.shape)
    grid = grid + 0.0999 * np.sign(np.sin(np.arange(v.size))).reshape(v.shape)  # worst case
    grid = np.clip(grid, -PACK_LIMIT, PACK_LIMIT)
    v = v.copy(data=grid.astype(np.float64))
    back = open_videos(to_netcdf(v, tmp_path / "p.nc"), chunks=None)
    err = np.abs(back.values.astype(np.float64) - grid).max()
    assert 0.09 < err <= 0.1 + 5e-4
    assert back.dtype == np.float32


def test_out_of_range_is_refused(tmp_path):
    v = tiny_videos(n=2, n_frames=4, size=5)
    v[1, 0, 0, 0] = 7000.0
    with pytest.raises(ValueError, match=r"video 1 \(bmr_id='BMR0001'\) reaches 7000.0 G"):
        to_netcdf(v, tmp_path / "o.nc")


def test_nul_in_string_is_refused(tmp_path):
    v = tiny_videos(n=2, n_frames=4, size=5).assign_coords(bmr_id=("video", ["a", "b\x00c"]))
    with pytest.raises(ValueError, match="'bmr_id' of video 1 .* NUL character"):
        to_netcdf(v, tmp_path / "s.nc")


def test_lone_surrogate_in_string_is_refused(tmp_path):
    v = tiny_videos(n=2, n_frames=4, size=5).assign_coords(bmr_id=("video", ["a", "\ud800"]))
    with pytest.raises(ValueError, match="'bmr_id' of video 1 .* surrogate"):
        to_netcdf(v, tmp_path / "s.nc")


def test_inf_is_refused(tmp_path):
    v = tiny_videos(n=1, n_frames=4, size=5)
    v[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        to_netcdf(v, tmp_path / "o.nc")


def test_round_trip_lazy_input(videos, tmp_path):
    a = open_videos(to_netcdf(videos, tmp_path / "a.nc"))
    b = open_videos(to_netcdf(a, tmp_path / "b.nc"), chunks=None)
    np.testing.assert_array_equal(a.values, b.values)  # re-packing packed values is exact


@given(
    data=hnp.arrays(
        np.float32, (2, 3, 4, 4),
        elements=st.one_of(
            st.floats(-6553.0, 6553.0, width=32), st.just(np.float32(np.nan))
        ),
    ),
    label=st.lists(st.integers(0, 1), min_size=2, max_size=2),
    reason=st.lists(st.text(st.characters(exclude_characters="\x00",
                                          exclude_categories=("Cs",)), max_size=5),
                    min_size=2, max_size=2),
)
def test_round_trip_property(tmp_path_factory, data, label, reason):
    v = tiny_videos(n=2, n_frames=3, size=4).copy(data=data)
    v = v.assign_coords(label=("video", label), mislabel_reason=("video", reason))
    path = tmp_path_factory.mktemp("rt") / "v.nc"
    back = open_videos(to_netcdf(v, path), chunks=None)
    assert np.array_equal(np.isnan(back.values), np.isnan(data))
    ok = ~np.isnan(data)
    assert np.all(np.abs(back.values[ok].astype(np.float64) - data[ok]) <= 0.1 + 5e-4)
    for name, coord in v.coords.items():
        np.testing.assert_array_equal(back.coords[name].values, coord.values, err_msg=name)


# ---------------------------------------------------------------------- VideoWriter


def test_writer_single_3d_videos(videos, tmp_path):
    path = tmp_path / "w.nc"
    with VideoWriter(path, n_frames=8, n_lat=6, n_lon=6, attrs={"source": "test"}) as w:
        for i in range(3):
            w.write(videos.isel(video=i))  # 3-D, scalar coords
        assert w.n_written == 3
    back = open_videos(path, chunks=None)
    assert back.attrs["source"] == "test" and back.attrs["instrument"] == "example"
    np.testing.assert_array_equal(back.bmr_id.values, videos.bmr_id.values)
    np.testing.assert_array_equal(back.observed.values, videos.observed.values)
    assert np.nanmax(np.abs(back.values - videos.values)) <= 0.1 + 1e-3


def test_writer_wrong_shape(videos, tmp_path):
    with VideoWriter(tmp_path / "w.nc", n_frames=9, n_lat=6, n_lon=6) as w:
        with pytest.raises(ValueError, match=r"video 0 \(bmr_id='BMR0000'\) has frame/lat/lon "
                           r"sizes \(8, 6, 6\), but .*w.nc was opened for \(9, 6, 6\); pad or "
                           r"crop it .*PadFrames"):
            w.write(videos.isel(video=[0]))


def test_writer_inconsistent_coords(videos, tmp_path):
    with VideoWriter(tmp_path / "w.nc", n_frames=8, n_lat=6, n_lon=6) as w:
        w.write(videos.isel(video=[0]))
        with pytest.raises(ValueError, match=r"missing \['flux_max'\]"):
            w.write(videos.isel(video=[1]).drop_vars("flux_max"))
        with pytest.raises(ValueError, match="'lat' offsets differ"):
            w.write(videos.isel(video=[1]).assign_coords(lat=videos.lat.values + 1))
        w.write(videos.isel(video=[2]))
    assert open_videos(tmp_path / "w.nc").sizes["video"] == 2


def test_writer_validates_each_video(videos, tmp_path):
    with VideoWriter(tmp_path / "w.nc", n_frames=8, n_lat=6, n_lon=6) as w:
        with pytest.raises(ValueError, match="(?s)w.nc: cannot write.*'label' must be 0 or 1"):
            w.write(videos.isel(video=[0]).assign_coords(label=("video", [3])))


def test_writer_bad_arguments(tmp_path, videos):
    with pytest.raises(ValueError, match="n_frames must be a positive integer"):
        VideoWriter(tmp_path / "w.nc", n_frames=0, n_lat=6, n_lon=6)
    with pytest.raises(ValueError, match="lat must have 6 values"):
        VideoWriter(tmp_path / "w.nc", n_frames=8, n_lat=6, n_lon=6, lat=[0, 1])
    with VideoWriter(tmp_path / "w.nc", n_frames=8, n_lat=6, n_lon=6) as w:
        with pytest.raises(TypeError, match="expects an xarray.DataArray"):
            w.write(videos.values[0])
        with pytest.raises(ValueError, match="a single video must have dims"):
            w.write(videos.isel(video=0).transpose("lat", "frame", "lon"))
    with pytest.raises(ValueError, match="was closed"):
        w.write(videos.isel(video=[0]))


def test_writer_unstorable_attr(videos, tmp_path):
    with pytest.raises(TypeError, match="attribute 'meta'"):
        with VideoWriter(tmp_path / "w.nc", n_frames=8, n_lat=6, n_lon=6,
                         attrs={"meta": {"a": 1}}) as w:
            w.write(videos.isel(video=[0]))


# -------------------------------------------------------------------- bad files


def test_open_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        open_videos(tmp_path / "nope.nc")


def test_open_corrupt_file(tmp_path):
    path = tmp_path / "garbage.nc"
    path.write_bytes(b"this is not a netcdf file" * 100)
    with pytest.raises(ValueError, match="garbage.nc: cannot be read"):
        open_videos(path)


def test_open_truncated_file(videos, tmp_path):
    path = to_netcdf(videos, tmp_path / "t.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="t.nc"):
        open_videos(path, chunks=None)


def test_open_file_written_by_xarray(videos, tmp_path):
    videos.to_netcdf(tmp_path / "xr.nc")
    back = open_videos(tmp_path / "xr.nc")
    assert back.chunks[0] == (1, 1, 1) and back.attrs == videos.attrs
    np.testing.assert_array_equal(back.values, videos.values)
    np.testing.assert_array_equal(back.observed.values, videos.observed.values)


def test_open_empty_writer_file(tmp_path):
    with VideoWriter(tmp_path / "empty.nc", n_frames=8, n_lat=6, n_lon=6):
        pass
    with pytest.raises(ValueError, match="empty.nc: holds no videos"):
        open_videos(tmp_path / "empty.nc")


def test_open_foreign_netcdf(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"temperature": ("x", np.arange(3.0))}).to_netcdf(path)
    with pytest.raises(ValueError, match="foreign.nc: no 'field' variable"):
        open_videos(path)


def test_open_missing_coords(videos, tmp_path):
    path = tmp_path / "m.nc"
    ds = videos.drop_vars(["label", "time"]).to_dataset(name="field")
    ds.to_netcdf(path)
    with pytest.raises(ValueError, match=r"(?s)m.nc: .*missing coordinates: 'time', 'label'"):
        open_videos(path)


def test_writer_attrs_complete_a_video_without_them(tmp_path):
    from skflux.io import VideoWriter, open_videos, to_netcdf
    from skflux.io._examples import tiny_videos

    v = tiny_videos(n=2).copy()
    v.attrs.pop("instrument")
    with pytest.raises(ValueError, match="instrument"):
        to_netcdf(v, tmp_path / "a.nc")
    with VideoWriter(tmp_path / "b.nc", n_frames=v.sizes["frame"], n_lat=v.sizes["lat"],
                     n_lon=v.sizes["lon"], attrs={"instrument": "MDI"}, complevel=0) as w:
        w.write(v)
    assert open_videos(tmp_path / "b.nc").attrs["instrument"] == "MDI"
    with pytest.raises(ValueError, match="complevel"):
        VideoWriter(tmp_path / "c.nc", n_frames=2, n_lat=2, n_lon=2, complevel=12)


def test_check_videos_takes_object_arrays_of_numbers():
    from skflux._validation import check_videos

    X = np.arange(8.0).reshape(1, 2, 2, 2)
    out = check_videos(X.astype(object))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, X)
    bad = X.astype(object)
    bad[0, 1, 0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="real numbers .* not one: float.. argument must be"):
        check_videos(bad)
    with pytest.raises(TypeError, match="got dtype <U1"):
        check_videos(np.array(["a"] * 8).reshape(1, 2, 2, 2))


@pytest.mark.parametrize("compression, complevel", [("zstd", 1), ("zlib", 0), ("zlib", 9)])
def test_every_compression_gives_the_same_videos(videos, tmp_path, compression, complevel):
    reference = open_videos(to_netcdf(videos, tmp_path / "zlib.nc")).values
    path = to_netcdf(videos, tmp_path / "v.nc", compression=compression, complevel=complevel)
    np.testing.assert_array_equal(open_videos(path).values, reference)  # NaN included
    with xr.open_dataset(path) as ds:
        filters = ds["field"].encoding
    assert bool(filters.get(compression)) == (complevel > 0)


def test_blosc_is_refused_for_netcdf_with_the_fix(videos, tmp_path):
    with pytest.raises(ValueError, match="Blosc is offered for Zarr stores"):
        to_netcdf(videos, tmp_path / "v.nc", compression="blosc_lz4")


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=6),
                  elements=st.one_of(st.floats(-PACK_LIMIT - 0.09, PACK_LIMIT + 0.09),
                                     st.just(np.nan))))
def test_pack_is_elementwise_rounding_with_fill(values):
    """pack() equals its definition element by element: rint(B / 0.2), NaN -> fill."""
    from skflux.io._packing import FILL_INT16, pack

    packed = pack(values, "v")
    assert packed.dtype == np.int16 and packed.shape == values.shape
    for b, p in zip(values.ravel(), packed.ravel()):
        assert p == (FILL_INT16 if np.isnan(b) else int(np.rint(b / PACK_SCALE)))


@pytest.mark.parametrize("bad, message", [(-np.inf, "infinite"), (PACK_LIMIT + 0.2, "reaches")])
def test_pack_refuses_with_nan_present(bad, message):
    from skflux.io._packing import pack

    values = np.array([[np.nan, 1.0], [bad, np.nan]])
    with pytest.raises(ValueError, match=message):
        pack(values, "v")
