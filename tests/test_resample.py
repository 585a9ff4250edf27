"""Resample: flux-conserving area averaging of videos in time and space."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skflux._resample import area_weights
from skflux.io._examples import tiny_videos
from skflux.preprocessing import Resample

DATA = Path(__file__).parent / "data" / "observations"

finite = st.floats(-3000, 3000, allow_nan=False, width=64)


@given(n_in=st.integers(1, 40), n_out=st.integers(1, 40))
def test_area_weights_rows_average_and_columns_conserve(n_in, n_out):
    w = area_weights(n_in, n_out)
    assert w.shape == (n_out, n_in) and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)  # each output is a weighted mean
    np.testing.assert_allclose(w.sum(axis=0), n_out / n_in)  # each input counted by its area


@given(data=st.data(), shape=st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 9),
                                      st.integers(1, 9)),
       n_frames=st.integers(1, 12), size=st.integers(1, 12))
def test_mean_field_is_conserved(data, shape, n_frames, size):
    if shape[2] != shape[3]:
        shape = shape[:3] + (shape[2],)
    X = data.draw(arrays(np.float64, shape, elements=finite))
    Xt = Resample(n_frames=n_frames, size=size).fit_transform(X)
    assert Xt.shape == (shape[0], n_frames, size, size)
    np.testing.assert_allclose(Xt.mean(axis=(1, 2, 3)), X.mean(axis=(1, 2, 3)), atol=1e-9,
                               rtol=1e-9)


@given(data=st.data(), f_t=st.integers(1, 4), f_s=st.integers(1, 4),
       n_t=st.integers(1, 6), n_s=st.integers(1, 6))
def test_integer_factors_round_trip(data, f_t, f_s, n_t, n_s):
    X = data.draw(arrays(np.float64, (1, n_t, n_s, n_s), elements=finite))
    big = Resample(n_frames=n_t * f_t, size=n_s * f_s).fit_transform(X)
    # growing by an integer factor repeats every value f times
    np.testing.assert_array_equal(big, X.repeat(f_t, 1).repeat(f_s, 2).repeat(f_s, 3))
    back = Resample(n_frames=n_t, size=n_s).fit_transform(big)
    np.testing.assert_allclose(back, X, rtol=1e-12, atol=1e-9)


def test_integer_shrink_is_a_block_mean():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 6, 8, 8)).astype(np.float32)
    Xt = Resample(n_frames=3, size=4).fit_transform(X)
    expected = X.reshape(2, 3, 2, 4, 2, 4, 2).mean(axis=(2, 4, 6))
    assert Xt.dtype == np.float32
    np.testing.assert_allclose(Xt, expected, rtol=1e-5, atol=1e-6)


def test_dataarray_coords_kept_and_lazy_stays_lazy(tmp_path):
    from skflux.io import open_videos, to_netcdf

    videos = tiny_videos(n=3)  # 8 frames of 6 x 6
    observed = videos.observed.values.copy()
    observed[:, 2:4] = False
    mu = np.linspace(1, 0.2, 8)[None].repeat(3, 0)
    videos = videos.assign_coords(observed=(("video", "frame"), observed),
                                  mu=(("video", "frame"), mu))
    res = Resample(n_frames=4, size=3)
    eager = res.fit_transform(videos)
    assert eager.dims == videos.dims and eager.shape == (3, 4, 3, 3)
    assert eager.observed.values.tolist() == [[True, False, True, True]] * 3
    np.testing.assert_allclose(eager.mu.values[0], [0.942857, 0.714286, 0.485714, 0.257143],
                               atol=1e-5)
    assert eager.attrs["cadence_minutes"] == 2 * videos.attrs["cadence_minutes"]
    np.testing.assert_allclose(np.diff(eager.lat.values), 2 * np.diff(videos.lat.values)[0])
    assert eager.lat.values.mean() == pytest.approx(videos.lat.values.mean())
    for name in ("time", "label", "bmr_id", "lat0", "lon0"):
        assert (eager[name].values == videos[name].values).all()
    np.testing.assert_allclose(eager.values, res.transform(videos.values), rtol=1e-6)

    path = to_netcdf(videos.drop_vars("mu"), tmp_path / "v.nc")
    lazy = open_videos(path)
    out = res.transform(lazy)
    assert out.chunks is not None  # still lazy
    np.testing.assert_allclose(out.compute().values, res.transform(lazy.load()).values,
                               rtol=1e-6)


def test_nan_propagates_and_params_are_validated():
    X = np.ones((1, 4, 4, 4))
    X[0, 1, 0, 0] = np.nan
    Xt = Resample(n_frames=2, size=2).fit_transform(X)
    assert np.isnan(Xt[0, 0, 0, 0]) and np.isfinite(Xt).sum() == 7
    with pytest.raises(InvalidParameterError, match="size"):
        Resample(size=0).fit(X)
    with pytest.raises(ValueError, match="4-D"):
        Resample(size=2).fit_transform(np.ones((3, 4)))
    with pytest.raises(ValueError, match="4-D"):
        Resample().fit_transform(np.ones((3, 4, 2)))


def test_two_dimensional_input_is_single_pixel_videos():
    """(video, frame) curves are resampled in time, as 1 x 1-pixel videos, and stay 2-D."""
    X = np.arange(12.0).reshape(2, 6)
    Xt = Resample(n_frames=3).fit_transform(X)
    np.testing.assert_array_equal(Xt, X.reshape(2, 3, 2).mean(axis=2))
    np.testing.assert_array_equal(Resample(n_frames=3, size=1).fit_transform(X), Xt)
    np.testing.assert_array_equal(
        Xt, Resample(n_frames=3).fit_transform(X[:, :, None, None])[:, :, 0, 0])
    assert clone(Resample(n_frames=3)).get_params() == {"n_frames": 3, "size": None}


def test_resampled_real_patch_keeps_its_flux():
    from skflux.io import patch_video

    video = patch_video([DATA / "hmi_m_720s_20111217_0600_ar_bin4.fits"], 296.0, 23.0,
                        n_frames=1, size=90)
    small = Resample(size=30).fit_transform(video)
    assert small.shape == (1, 1, 30, 30)
    np.testing.assert_allclose(float(small.mean()), float(video.mean()), rtol=1e-5)
    np.testing.assert_allclose(small.lat.values, video.lat.values.reshape(30, 3).mean(1))
    assert small.lat0.item() == 23.0
    assert isinstance(small, xr.DataArray)


def test_resampled_real_patch_goes_through_a_model_trained_small(
        tiny_classifier, tiny_videos, one_torch_thread):
    """A full-size real HMI patch, resampled to the model's 8 x 16 x 16, is classified."""
    from skflux.io import patch_video

    clf = tiny_classifier().fit(tiny_videos, tiny_videos["label"].values)
    video = patch_video([DATA / "hmi_m_720s_20111217_0600_ar_bin4.fits"], 296.0, 23.0,
                        n_frames=1, size=90)
    n_frames, size = tiny_videos.shape[1], tiny_videos.shape[2]
    small = Resample(n_frames=n_frames, size=size).fit_transform(video)
    assert small.shape == (1, n_frames, size, size)
    proba = clf.predict_proba(small)
    assert proba.shape == (1, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@given(n_in=st.integers(2, 40), n_out=st.integers(1, 40), data=st.data())
def test_emergence_frame_moves_to_the_output_frame_holding_its_start(n_in, n_out, data):
    """A ground-truth frame number follows the resampling in time (-1 stays -1) and the
    result still validates: its output frame covers the start of the input frame."""
    frames = data.draw(st.lists(st.integers(-1, n_in - 1), min_size=1, max_size=4))
    n = len(frames)
    da = xr.DataArray(np.zeros((n, n_in, 2, 2), np.float32),
                      dims=("video", "frame", "lat", "lon"),
                      coords={"emergence_frame": ("video", np.array(frames))})
    out = Resample(n_frames=n_out).fit_transform(da)["emergence_frame"].values
    for f, g in zip(frames, out):
        if f < 0:
            assert g == -1
        else:  # output frame g spans [g, g + 1) * n_in / n_out in input frames
            assert 0 <= g < n_out
            assert g * n_in / n_out <= f < (g + 1) * n_in / n_out + 1e-9
