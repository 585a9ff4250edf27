"""Gap filling, off-limb masking and padding transformers (skflux.preprocessing)."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.interpolate import interp1d
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skflux.io._examples import tiny_videos
from skflux.preprocessing import (
    FillGaps,
    MaskOffLimb,
    PadFrames,
    make_preprocessor,
    off_limb_mask,
)

# ------------------------------------------------------------------ strategies


@st.composite
def videos_with_gaps(draw, max_videos=2, max_frames=10, size=3):
    """Numpy videos with unobserved (all-NaN) frames and at least one observed frame."""
    n = draw(st.integers(1, max_videos))
    f = draw(st.integers(1, max_frames))
    values = draw(hnp.arrays(np.float64, (n, f, size, size),
                             elements=st.floats(-5000, 5000, allow_subnormal=False)))
    observed = draw(hnp.arrays(bool, (n, f)))
    for i in range(n):
        if not observed[i].any():
            observed[i, draw(st.integers(0, f - 1))] = True
    values[~observed] = np.nan
    return values, observed


def reference_fill(values, observed):
    """The reference approach: scipy interp1d per pixel inside the observed span."""
    out = values.copy()
    for i in range(values.shape[0]):
        obs = np.flatnonzero(observed[i])
        if obs.size < 2:
            continue
        span = np.arange(obs[0], obs[-1] + 1)
        for y in range(values.shape[2]):
            for x in range(values.shape[3]):
                out[i, span, y, x] = interp1d(obs, values[i, obs, y, x])(span)
    return out


# --------------------------------------------------------------------- FillGaps


@given(videos_with_gaps())
def test_fill_gaps_properties(data):
    values, observed = data
    out = FillGaps().fit_transform(values)
    assert out.shape == values.shape and out.dtype == values.dtype
    # observed frames bit-for-bit unchanged (input untouched too)
    assert np.array_equal(out[observed], values[observed])
    assert np.isnan(values[~observed]).all()
    for i in range(values.shape[0]):
        obs = np.flatnonzero(observed[i])
        inside = np.zeros(values.shape[1], bool)
        inside[obs[0]: obs[-1] + 1] = True
        # inside the span: finite and within each pixel's observed min/max
        vid = out[i, inside]
        assert np.isfinite(vid).all()
        assert (vid >= values[i, obs].min(axis=0)).all()
        assert (vid <= values[i, obs].max(axis=0)).all()
        # outside the span: still NaN (no extrapolation)
        assert np.isnan(out[i, ~inside]).all()


@settings(max_examples=15)
@given(videos_with_gaps(max_videos=1, size=2), st.sampled_from([np.float32, np.float64]))
def test_fill_gaps_equals_interp1d(data, dtype):
    values, observed = data
    values = values.astype(dtype)
    out = FillGaps().fit_transform(values)
    np.testing.assert_allclose(out, reference_fill(values.astype(np.float64), observed)
                               .astype(dtype), rtol=0, atol=1e-6)


def test_fill_gaps_float32_and_dataarray_keeps_coords():
    v = tiny_videos(n=2, n_frames=8, size=4, missing=[2, 3, 6])
    out = FillGaps().fit_transform(v)
    assert out.dtype == np.float32 and not np.isnan(out.values).any()
    np.testing.assert_array_equal(out.observed.values, v.observed.values)  # not observations
    for name in v.coords:
        np.testing.assert_array_equal(out[name].values, v[name].values)
    assert out.attrs == v.attrs
    expected = v.values[:, 1] + (v.values[:, 4] - v.values[:, 1]) / 3  # frame 2
    np.testing.assert_allclose(out.values[:, 2], expected, rtol=1e-5, atol=1e-3)


def test_fill_gaps_uses_observed_coord_not_nan():
    v = tiny_videos(n=1, n_frames=5, size=3)
    v = v.copy()
    v.observed[0, 2] = False  # values present but flagged: replaced by interpolation
    out = FillGaps().fit_transform(v).values
    np.testing.assert_allclose(out[0, 2], (v.values[0, 1] + v.values[0, 3]) / 2, atol=1e-3)


def test_fill_gaps_nan_pixel_in_observed_frame_stays_nan():
    X = np.zeros((1, 3, 2, 2))
    X[0, 1] = np.nan
    X[0, 2, 0, 0] = np.nan  # off-disk pixel in an observed frame
    out = FillGaps().transform(X)
    assert np.isnan(out[0, 1, 0, 0]) and np.isnan(out[0, 2, 0, 0])
    assert (out[0, 1].ravel()[1:] == 0).all()


def test_fill_gaps_lazy_equals_eager(tmp_path):
    from skflux.io import open_videos, to_netcdf

    v = tiny_videos(n=3, n_frames=8, size=4, missing=[1, 5])
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    out = FillGaps().transform(lazy)
    assert out.chunks is not None  # still lazy
    np.testing.assert_array_equal(out.values, FillGaps().transform(lazy.load()).values)


# ------------------------------------------------------------------ MaskOffLimb


@given(
    hnp.arrays(np.float64, (1, 2, 5, 5),
               elements=st.sampled_from([0.0, np.nan, 1.0, -3.5, 0.0, 0.0, -1000.0])),
    st.sampled_from([0.0, -7.0, 2.0]),
    st.sampled_from([0.0, -1000.0, "auto", None]),
)
def test_mask_off_limb_idempotent(X, fill, sentinel):
    m = MaskOffLimb(fill_value=fill, sentinel=sentinel)
    once = m.fit_transform(X)
    assert not np.isnan(once).any()
    np.testing.assert_array_equal(m.transform(once), once)
    # off-limb pixels get the background; the others are unchanged
    off = off_limb_mask(X, sentinel=sentinel)
    np.testing.assert_array_equal(once[~off], X[~off])
    assert (once[off] == fill).all()
    # the mask is NaN plus pixels equal to the sentinel, never other values
    if sentinel is None:
        np.testing.assert_array_equal(off, np.isnan(X))
    elif sentinel != "auto":
        assert ((X[off] == sentinel) | np.isnan(X[off])).all()


def _limb(fill, size=12):
    """A frame of distinct on-disk values whose lower-left corner is off the disk."""
    frame = np.arange(1.0, size * size + 1).reshape(size, size)
    yy, xx = np.mgrid[:size, :size]
    off = (size - 1 - yy + xx) < size // 2
    frame[off] = fill
    return frame, off


@pytest.mark.parametrize("fill", [np.nan, 0.0, -1000.0, 12.5])
def test_off_limb_nan_zero_and_sentinels(fill):
    """NaN, 0 G, the authors' -1000 G clip floor and any constant: given or detected."""
    frame, off = _limb(fill)
    given_ = None if np.isnan(fill) else fill
    np.testing.assert_array_equal(off_limb_mask(frame, sentinel=given_), off)
    np.testing.assert_array_equal(off_limb_mask(frame, sentinel="auto"), off)
    # the default (0 G, the authors' patch files) finds NaN and 0 only
    np.testing.assert_array_equal(off_limb_mask(frame), off if fill in (0.0,) or np.isnan(fill)
                                  else np.zeros_like(off))
    X = np.stack([frame, np.fliplr(frame)])[None]  # different corners in two frames
    for sentinel in (given_, "auto"):
        out = MaskOffLimb(fill_value=0.0, sentinel=sentinel).fit_transform(X)
        np.testing.assert_array_equal(out[0, 0], np.where(off, 0.0, frame))
        np.testing.assert_array_equal(out[0, 1], np.where(np.fliplr(off), 0.0, np.fliplr(frame)))


def test_off_limb_sentinel_away_from_corners_stays():
    frame, off = _limb(-1000.0)
    frame[5:7, 5:7] = -1000.0  # the same value inside the disk: not off-limb
    for sentinel in (-1000.0, "auto"):
        mask = off_limb_mask(frame, sentinel=sentinel)
        np.testing.assert_array_equal(mask, off)
    small = np.arange(1.0, 145.0).reshape(12, 12)
    small[0, 0] = -1000.0  # one corner pixel: too small to be detected, masked when given
    assert not off_limb_mask(small, sentinel="auto").any()
    assert off_limb_mask(small, sentinel=-1000.0).sum() == 1
    assert off_limb_mask(small, sentinel="auto", min_fraction=0.0).sum() == 0  # >= 2 pixels
    with pytest.raises(ValueError, match="sentinel"):
        off_limb_mask(small, sentinel="zero")
    with pytest.raises(ValueError, match="min_fraction"):
        off_limb_mask(small, sentinel="auto", min_fraction=2)
    with pytest.raises(InvalidParameterError, match="sentinel"):
        MaskOffLimb(sentinel="zero").fit_transform(small[None, None])


def test_mask_off_limb_sentinel_lazy(tmp_path):
    from skflux.io import open_videos, to_netcdf

    v = tiny_videos(n=2, n_frames=3, size=8)
    v[:, :, :2, :2] = -1000.0
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    for sentinel in (-1000.0, "auto"):
        out = MaskOffLimb(sentinel=sentinel).transform(lazy)
        assert out.chunks is not None
        np.testing.assert_array_equal(out.values, MaskOffLimb(sentinel=sentinel).transform(
            lazy.compute()).values)
        assert (out.values[:, :, :2, :2] == 0).all()


def test_off_limb_mask_corner_regions():
    frame = np.ones((5, 5))
    frame[:2, :2] = 0  # region at the top-left corner
    frame[2, 2] = 0  # isolated interior zero: on disk
    frame[4, 4] = np.nan
    mask = off_limb_mask(frame)
    assert mask[:2, :2].all() and not mask[2, 2] and mask[4, 4]
    assert mask.sum() == 5
    out = MaskOffLimb(fill_value=-1.0).transform(frame[None, None])[0, 0]
    assert (out[:2, :2] == -1).all() and out[2, 2] == 0 and out[4, 4] == -1


def test_mask_off_limb_dataarray_and_lazy(tmp_path):
    from skflux.io import open_videos, to_netcdf

    v = tiny_videos(n=2, n_frames=4, size=5)
    v[:, :, 0, 0] = np.nan
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    for fill in (0.0, 5.0):
        out = MaskOffLimb(fill_value=fill).transform(lazy)
        assert out.chunks is not None
        assert (out.values[:, :, 0, 0] == fill).all()
        np.testing.assert_array_equal(out.values[:, :, 1:], lazy.values[:, :, 1:])
        assert set(out.coords) == set(v.coords)


# -------------------------------------------------------------------- PadFrames


@given(videos_with_gaps(max_frames=8), st.integers(8, 12), st.sampled_from(["edge", "zero"]))
def test_pad_keeps_prefix(data, n_frames, mode):
    values, observed = data
    out = PadFrames(n_frames=n_frames, mode=mode).fit_transform(values)
    assert out.shape == (values.shape[0], n_frames) + values.shape[2:]
    for i in range(values.shape[0]):
        last = np.flatnonzero(observed[i])[-1]
        np.testing.assert_array_equal(out[i, : last + 1], values[i, : last + 1])
        tail = out[i, last + 1:]
        expected = values[i, last] if mode == "edge" else 0.0
        assert (tail == expected).all()


def test_pad_dataarray_updates_observed_and_frame():
    v = tiny_videos(n=2, n_frames=5, size=3, missing=[4])
    out = PadFrames(n_frames=7).fit_transform(v)
    assert out.sizes["frame"] == 7
    np.testing.assert_array_equal(out.frame.values, np.arange(7))
    np.testing.assert_array_equal(out.observed.values[0], [1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(out.values[:, 4:], np.repeat(v.values[:, 3:4], 3, axis=1))
    np.testing.assert_array_equal(out.bmr_id.values, v.bmr_id.values)
    assert out.attrs == v.attrs


def test_pad_keeps_mu_and_refuses_other_frame_coordinates():
    """The per-frame ``mu`` of real patches is padded with NaN (and cut with crop=True)."""
    v = tiny_videos(n=2, n_frames=5, size=3)
    mu = np.linspace(0.2, 0.9, 10).reshape(2, 5)
    v = v.assign_coords(mu=(("video", "frame"), mu))
    out = make_preprocessor(n_frames=7).fit_transform(v)
    np.testing.assert_array_equal(out["mu"].values[:, :5], mu)
    assert np.isnan(out["mu"].values[:, 5:]).all()
    cut = PadFrames(n_frames=3, crop=True).fit_transform(v)
    np.testing.assert_array_equal(cut["mu"].values, mu[:, :3])
    with pytest.raises(ValueError, match="'source'.*cannot be padded"):
        PadFrames(n_frames=7).fit_transform(
            v.assign_coords(source=(("video", "frame"), np.full((2, 5), "x"))))


def test_pad_refuses_long_videos_unless_crop():
    v = tiny_videos(n=2, n_frames=6, size=3)
    with pytest.raises(ValueError, match=r"2 video\(s\) are observed beyond 4 frames: video 0 "
                       r"\(bmr_id=.*BMR0000.*\) \(6 frames\).*crop=True"):
        PadFrames(n_frames=4).transform(v)
    out = PadFrames(n_frames=4, crop=True).transform(v)
    np.testing.assert_array_equal(out.values, v.values[:, :4])
    assert out.observed.values.all()
    # extra frames that are all unobserved are dropped without loss, no crop needed
    X = np.full((1, 6, 2, 2), np.nan)
    X[0, :3] = 1.0
    assert PadFrames(n_frames=4).transform(X).shape == (1, 4, 2, 2)


def test_long_video_message_offers_the_cli_option_and_the_python_parameter():
    """21.9: the command line has no crop: the message names --frames (with the length
    that keeps every frame) for it, and crop=True for Python users."""
    v = tiny_videos(n=3, n_frames=7, size=3)
    v = v.copy()
    v.observed[0, 6] = False  # video 0: 6 frames observed, videos 1-2: 7
    with pytest.raises(ValueError) as err:
        make_preprocessor(n_frames=5).fit_transform(v)
    msg = str(err.value)
    assert "n_frames=7" in msg and "skflux ingest --frames 7" in msg
    assert "in Python, cut them with PadFrames(crop=True)" in msg
    assert msg.index("--frames") < msg.index("crop=True")  # the CLI's option is offered first


def test_pad_lazy_equals_eager(tmp_path):
    from skflux.io import open_videos, to_netcdf

    v = tiny_videos(n=3, n_frames=6, size=3, missing=[5])
    lazy = open_videos(to_netcdf(v, tmp_path / "v.nc"))
    out = PadFrames(n_frames=9, mode="zero").transform(lazy)
    assert out.chunks is not None and out.chunks[1] == (9,)
    eager = PadFrames(n_frames=9, mode="zero").transform(lazy.load())
    np.testing.assert_array_equal(out.values, eager.values)
    np.testing.assert_array_equal(out.observed.values, eager.observed.values)


# ------------------------------------------------------------------ pipeline, API


def test_make_preprocessor_pipeline():
    pipe = make_preprocessor(n_frames=10, mode="zero")
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["fill_gaps", "pad_frames", "mask_off_limb"]
    v = tiny_videos(n=2, n_frames=6, size=4, missing=[2, 5])
    v[:, :, 0, :] = np.nan  # an off-disk row
    out = pipe.fit_transform(v)
    assert out.shape == (2, 10, 4, 4) and not np.isnan(out.values).any()
    assert (out.values[:, :, 0, :] == 0).all() and (out.values[:, 5:] == 0).all()
    np.testing.assert_array_equal(out.observed.values[:, :6], v.observed.values)
    # numpy gives the same numbers
    np.testing.assert_array_equal(pipe.fit_transform(v.values), out.values)


def test_edge_pad_then_mask_equals_mask_then_pad():
    v = tiny_videos(n=1, n_frames=5, size=4, missing=[3])
    v[:, :, :, 0] = np.nan
    a = make_preprocessor(n_frames=8).fit_transform(v.values)
    b = PadFrames(n_frames=8).transform(MaskOffLimb().transform(FillGaps().transform(v)))
    np.testing.assert_array_equal(a, b.values)


def test_stateless_sklearn_api():
    for est in (FillGaps(), MaskOffLimb(fill_value=1.0), PadFrames(n_frames=3, mode="zero")):
        c = clone(est)
        assert c.get_params() == est.get_params()
        X = np.zeros((1, 2, 2, 2))
        assert est.fit(X) is est
        assert est.n_features_in_ == 2 and not hasattr(c, "n_features_in_")
        assert est.__sklearn_tags__().requires_fit is False
        assert isinstance(c.transform(X), np.ndarray)  # no fit needed


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (PadFrames(n_frames=0), "'n_frames' parameter of PadFrames must be an int in the range"),
        (PadFrames(n_frames=2.5), "'n_frames' parameter of PadFrames must be an int"),
        (PadFrames(mode="reflect"), "'mode' parameter of PadFrames must be a str among"),
        (PadFrames(crop="yes"), "'crop' parameter of PadFrames must be an instance of 'bool'"),
        (FillGaps(copy=None), "'copy' parameter of FillGaps must be an instance of 'bool'"),
        (MaskOffLimb(fill_value=np.nan), "'fill_value' parameter of MaskOffLimb must be"),
        (MaskOffLimb(fill_value=np.inf), "'fill_value' parameter of MaskOffLimb must be"),
        (MaskOffLimb(fill_value="0"), "'fill_value' parameter of MaskOffLimb must be"),
    ],
)
def test_bad_parameters(est, match):
    # scikit-learn's parameter validation, in fit and in transform (stateless: no fit needed)
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(np.zeros((1, 2, 2, 2)))
    with pytest.raises(InvalidParameterError, match=match):
        clone(est).transform(np.zeros((1, 2, 2, 2)))


@pytest.mark.parametrize("est", [FillGaps(), MaskOffLimb(), PadFrames(n_frames=4)])
def test_bad_input(est):
    for bad in (np.zeros((2, 2, 2)), np.zeros((1, 2, 2, 2, 1))):
        with pytest.raises(ValueError, match=r"must be 4-D .* or 2-D \(video, frame\)"):
            est.transform(bad)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        est.transform(np.zeros(3))
    with pytest.raises(ValueError, match="dtype='numeric' is not compatible with arrays of"):
        est.transform(np.array(["a"] * 8).reshape(1, 2, 2, 2))
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.transform(np.ones((1, 2, 2, 2), dtype=complex))
    with pytest.raises(TypeError, match="Sparse data was passed"):
        est.transform(scipy.sparse.csr_matrix(np.ones((2, 3))))
    v = tiny_videos(n=1, n_frames=3, size=2)
    with pytest.raises(ValueError, match="dims"):
        est.transform(v.transpose("video", "lat", "frame", "lon"))


def test_two_d_input_is_single_pixel_videos():
    """(video, frame) arrays: each row a single-pixel video, returned 2-D."""
    X = np.array([[0.0, np.nan, np.nan, 3.0, np.nan], [np.nan, 1.0, np.nan, 5.0, 0.0]])
    np.testing.assert_array_equal(
        FillGaps().fit_transform(X),
        [[0.0, 1.0, 2.0, 3.0, np.nan], [np.nan, 1.0, 3.0, 5.0, 0.0]])
    np.testing.assert_array_equal(
        PadFrames(n_frames=6).fit_transform(FillGaps().fit_transform(X)),
        [[0.0, 1.0, 2.0, 3.0, 3.0, 3.0], [np.nan, 1.0, 3.0, 5.0, 0.0, 0.0]])
    # off-disk: NaN (and, in a 1 x 1 frame, a 0 G pixel, which touches a corner)
    np.testing.assert_array_equal(MaskOffLimb(fill_value=-1.0).fit_transform(X[1:]),
                                  [[-1.0, 1.0, -1.0, 5.0, -1.0]])
    for est in (FillGaps(), MaskOffLimb(), PadFrames(n_frames=6)):
        assert est.fit(X).n_features_in_ == 5
        four = est.transform(X[:, :, None, None])
        np.testing.assert_array_equal(est.transform(X), four[:, :, 0, 0])
        assert est.transform(X.tolist()).shape == four.shape[:2]  # lists too


def test_no_observed_frame_named():
    v = tiny_videos(n=2, n_frames=3, size=2)
    v = v.copy()
    v.observed[1] = False
    for est in (FillGaps(), PadFrames(n_frames=4)):
        with pytest.raises(ValueError, match=r"video 1 \(bmr_id=.*BMR0001.*\) has no observed"):
            est.transform(v)
    X = np.full((2, 3, 2, 2), np.nan)
    X[0] = 0
    with pytest.raises(ValueError, match="video 1 has no observed frame"):
        FillGaps().transform(X)


def test_observed_frame_all_nan_named():
    v = tiny_videos(n=2, n_frames=4, size=2)
    v[1, 2] = np.nan  # flagged observed but empty
    with pytest.raises(ValueError, match=r"video 1 .*observed frames \[2\] are entirely NaN"):
        FillGaps().transform(v)
