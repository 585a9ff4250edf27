"""Zarr stores of videos: the same schema, validation and int16 packing as NetCDF."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skflux.io import (
    PACK_LIMIT,
    VideoSchemaError,
    open_videos,
    to_netcdf,
    to_zarr,
)
from skflux.io._examples import tiny_videos
from skflux.io._zarr import ZarrField, is_zarr_store


@pytest.fixture
def videos():
    v = tiny_videos(n=3, n_frames=8, size=6, missing=[3])
    return v.assign_coords(
        true_label=("video", [1, 0, 1]),
        emergence_frame=("video", [4, -1, 2]),
        mislabel_reason=("video", ["", "limb", "east of -60"]),
        n_spots=("video", np.array([1, 2, 3], dtype=np.int32)),
        simulated=("video", [True, False, True]),
    )


def _assert_same(back, videos):
    assert back.dims == videos.dims and back.dtype == np.float32
    assert np.array_equal(np.isnan(back.values), np.isnan(videos.values))
    ok = ~np.isnan(videos.values)
    assert np.all(np.abs(back.values[ok].astype(np.float64) - videos.values[ok]) <= 0.1 + 5e-4)
    for name, coord in videos.coords.items():
        np.testing.assert_array_equal(back.coords[name].values, coord.values, err_msg=name)
    assert back.attrs == videos.attrs


def test_round_trip_is_lazy_one_video_per_chunk(videos, tmp_path):
    store = to_zarr(videos, tmp_path / "v.zarr")
    assert is_zarr_store(store)
    back = open_videos(store)
    assert back.chunks[0] == (1, 1, 1)
    _assert_same(back, videos)
    assert any("skflux-zarr-field" in str(k) for k in back.data.dask)  # one-pass unpacking


def test_zarr_equals_netcdf_bit_for_bit(videos, tmp_path):
    z = open_videos(to_zarr(videos, tmp_path / "v.zarr"))
    n = open_videos(to_netcdf(videos, tmp_path / "v.nc"))
    np.testing.assert_array_equal(z.values, n.values)
    np.testing.assert_array_equal(open_videos(tmp_path / "v.zarr", chunks=None).values, n.values)


def test_other_chunkings_decode_to_float32(videos, tmp_path):
    store = to_zarr(videos, tmp_path / "v.zarr")
    back = open_videos(store, chunks={"video": 2, "frame": 4})
    assert back.dtype == np.float32 and back.chunks[1] == (4, 4)
    np.testing.assert_allclose(back.values, open_videos(store).values, atol=1e-4)


def test_store_is_written_video_by_video(videos, tmp_path):
    import zarr

    store = to_zarr(videos, tmp_path / "v.zarr")
    field = zarr.open_group(store, mode="r")["field"]
    assert field.dtype == np.int16 and field.chunks == (1, 8, 6, 6)
    assert field.shape[0] == 3


def test_no_unstable_zarr_dtype_warning(videos, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_videos(to_zarr(videos, tmp_path / "v.zarr")).load()


def test_existing_store_is_not_overwritten(videos, tmp_path):
    store = to_zarr(videos, tmp_path / "v.zarr")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        to_zarr(videos, store)
    to_zarr(videos.isel(video=[0]), store, overwrite=True)
    assert open_videos(store).sizes["video"] == 1


def test_invalid_videos_are_refused(videos, tmp_path):
    with pytest.raises(VideoSchemaError):
        to_zarr(videos.drop_vars("bmr_id"), tmp_path / "a.zarr")
    big = videos.copy(data=np.where(np.isnan(videos.values), np.nan, PACK_LIMIT + 1))
    with pytest.raises(ValueError, match="video 0 .*outside the int16 packing range"):
        to_zarr(big, tmp_path / "b.zarr")


def test_open_missing_and_foreign_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such store"):
        open_videos(tmp_path / "none.zarr")
    import xarray as xr
    import zarr

    xr.Dataset({"x": ("a", [1, 2])}).to_zarr(tmp_path / "other.zarr")
    with pytest.raises(ValueError, match="other.zarr: no 'field' variable"):
        open_videos(tmp_path / "other.zarr")
    zarr.open_group(tmp_path / "raw.zarr", mode="w").create_array("x", shape=(2,), dtype="i4")
    with pytest.raises(ValueError, match="raw.zarr: cannot be read as a Zarr store of videos"):
        open_videos(tmp_path / "raw.zarr")


def test_zarr_field_pickles_without_its_handle(videos, tmp_path):
    store = to_zarr(videos, tmp_path / "v.zarr")
    field = ZarrField.usable(store)
    clone = pickle.loads(pickle.dumps(field))
    assert clone._array is None
    np.testing.assert_array_equal(clone[0:2], field[0:2])


@settings(max_examples=15)
@given(
    data=hnp.arrays(np.float32, (2, 3, 4, 4), elements=st.one_of(
        st.floats(-6553.0, 6553.0, width=32), st.just(np.float32(np.nan)))),
    reason=st.lists(st.text(st.characters(exclude_characters="\x00",
                                          exclude_categories=("Cs",)), max_size=5),
                    min_size=2, max_size=2),
)
def test_round_trip_property(tmp_path_factory, data, reason):
    v = tiny_videos(n=2, n_frames=3, size=4).copy(data=data)
    v = v.assign_coords(mislabel_reason=("video", reason))
    store = to_zarr(v, tmp_path_factory.mktemp("z") / "v.zarr")
    _assert_same(open_videos(store, chunks=None), v)


@pytest.mark.parametrize("compression, complevel", [("blosc_lz4", 1), ("zstd", 3), ("zlib", 1),
                                                    ("blosc_lz4", 0)])
def test_every_codec_round_trips_to_the_same_videos(videos, tmp_path, compression, complevel):
    import zarr

    store = to_zarr(videos, tmp_path / "v.zarr", compression=compression, complevel=complevel)
    codecs = zarr.open_array(store, path="field", mode="r").compressors
    if complevel == 0:
        assert codecs == ()
    else:
        codec = {"blosc_lz4": "BloscCodec", "zstd": "ZstdCodec", "zlib": "GzipCodec"}[compression]
        assert [type(c).__name__ for c in codecs] == [codec]
    back = open_videos(store)
    _assert_same(back, videos)
    np.testing.assert_array_equal(back.values, open_videos(to_netcdf(videos, tmp_path / "v.nc"))
                                  .values)


def test_default_codec_is_blosc_lz4_with_bit_shuffle(videos, tmp_path):
    import zarr

    (codec,) = zarr.open_array(to_zarr(videos, tmp_path / "v.zarr"), path="field").compressors
    assert (codec.cname.value, codec.shuffle.value, codec.typesize) == ("lz4", "bitshuffle", 2)


def test_bad_codec_is_refused_before_writing(videos, tmp_path):
    with pytest.raises(ValueError, match="compression must be one of"):
        to_zarr(videos, tmp_path / "v.zarr", compression="lzma")
    with pytest.raises(ValueError, match="complevel must be an integer 0-9"):
        to_zarr(videos, tmp_path / "v.zarr", complevel=12)
    assert not (tmp_path / "v.zarr").exists()


def test_zarr_store_converts_to_netcdf(videos, tmp_path):
    # strings come back from Zarr as numpy's variable-width StringDType, ints as "<i8"
    z = open_videos(to_zarr(videos, tmp_path / "v.zarr"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = open_videos(to_netcdf(z, tmp_path / "v.nc"))
    _assert_same(back, videos)
