"""EmergenceTimeLocator: masking convention, exactness of the fast path, output, errors."""

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from torch import nn

from skflux._paper import TIE_TOLERANCE
from skflux.nn import VideoCNN3D, VideoVGG
from skflux.timing import (
    EmergenceTimeLocator,
    NoEmergenceLocatedWarning,
    emergence_frames_from_curves,
    timing_error_percentiles,
    timing_errors_days,
)
from skflux.timing._masking import _CurveEngine, _Member, masked_frame_index, unique_cutoffs

T, S, LB = 16, 16, 4  # frames, pixels, lower bound of the tiny videos
CURVE_ATOL = 3e-5  # float32 curves of equally exact paths agree to this (any CPU, any BLAS)


def assert_frames_tie_equivalent(frames, reference_curves, lower_bound, atol=CURVE_ATOL):
    """Each frame is a right answer for ``reference_curves``: its change is within the tie
    tolerance (plus the float32 disagreement of the curves) of the largest change.

    Exact equality of frames between two float32 paths is not guaranteed on every CPU
    (kernels differ): a near-tie at the edge of the tolerance may fall either way.
    """
    grad = np.gradient(np.asarray(reference_curves, float), axis=-1)[..., lower_bound:]
    frames = np.asarray(frames)
    picked = np.take_along_axis(grad, (frames - lower_bound)[..., None], axis=-1)[..., 0]
    slack = TIE_TOLERANCE + 2 * atol  # a gradient moves by at most atol when curves do
    assert (frames >= lower_bound).all()
    bad = picked < grad.max(axis=-1) - slack
    assert not bad.any(), (f"frames {frames[bad]} are not near-maxima of the change: "
                           f"{picked[bad]} vs {grad.max(axis=-1)[bad]}")


# ----------------------------------------------------------------------------- fixtures
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _randomize_bn(module, gen):
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) * 0.6 - 0.3)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) * 0.4 - 0.2)


def tiny_module(seed, kind="vgg", dtype=torch.float32, field_limit=1000.0):
    """A random tiny network whose probability curves vary visibly over the cut-off."""
    torch.manual_seed(seed)
    if kind == "vgg":
        m = VideoVGG(T, in_size=S, widths=(4, 4, 4, 4), top=8, dense=8, field_limit=field_limit)
    else:
        m = VideoCNN3D(T, in_size=S, widths=(2, 4, 4, 8, 8), time_stride=2, dense=8,
                       field_limit=field_limit)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        _randomize_bn(m, gen)
        for c in m.modules():  # variance-preserving weights: the input still matters at the end
            if isinstance(c, (nn.Conv2d, nn.Conv3d, nn.Linear)):
                fan_in = c.weight[0].numel()
                c.weight.normal_(0.0, 2.0 / fan_in**0.5, generator=gen)
        m = m.eval().double()
        # affine calibration of the logit: mean 0, spread ~3 over masked tiny videos
        x = torch.from_numpy(tiny_videos(dtype=np.float64))  # Gauss: the module scales
        idx = torch.from_numpy(masked_frame_index(T, LB))
        logits = torch.cat([m(v[idx]) for v in x])
        last = m.head[-1]
        a = 3.0 / logits.std()
        last.weight.mul_(a)
        last.bias.copy_(a * (last.bias - logits.mean()))
    return m.to(dtype)


class TinyMember:
    def __init__(self, module):
        self.module_ = module
        self.n_frames_in_ = module.n_frames


class TinyEnsemble(BaseEstimator):
    """Stands in for a MonthBlockEnsemble: members with a fitted module_."""

    def __init__(self, n_members=3, kind="vgg", dtype="float32"):
        self.n_members = n_members
        self.kind = kind
        self.dtype = dtype

    def fit(self, X, y=None):
        dtype = getattr(torch, self.dtype)
        self.estimators_ = [TinyMember(tiny_module(s, self.kind, dtype))
                            for s in range(self.n_members)]
        self.threshold_ = 0.5
        self.n_frames_in_ = np.shape(X)[1]
        return self


def tiny_videos(n=3, seed=0, dtype=np.float32):
    """Random videos with the repeated frames that padding and gap filling produce."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 600, (max(n, 3), T, S, S)).astype(dtype)
    X[0, 11:] = X[0, 10]  # edge padding after the last observation
    X[1, 13:] = 0.0  # zero padding
    X[1, 6:8] = X[1, 5]  # a repeated frame inside
    X[2, :3] = 0.0  # off-disk start (before the lower bound)
    return X[:n]


def fitted(n_members=3, kind="vgg", dtype="float32"):
    return TinyEnsemble(n_members, kind, dtype).fit(np.zeros((1, T, S, S)))


# ----------------------------------------------------------------------------- convention
@given(st.integers(2, 12), st.data())
def test_masked_frame_index_convention(n_frames, data):
    lb = data.draw(st.integers(0, n_frames - 1))
    idx = masked_frame_index(n_frames, lb)
    f = np.arange(n_frames)
    for t in range(n_frames):
        expect = np.where(f > max(t, lb), max(t, lb), np.maximum(f, lb))
        np.testing.assert_array_equal(idx[t], expect)
    # all cut-offs up to the lower bound show the same video: frame lb everywhere
    assert (idx[: lb + 1] == lb).all()
    # the last cut-off is the video itself from the lower bound on
    np.testing.assert_array_equal(idx[-1][lb:], f[lb:])


@given(st.lists(st.integers(0, 2), min_size=3, max_size=12), st.data())
def test_unique_cutoffs_give_identical_masked_videos(pattern, data):
    n = len(pattern)
    lb = data.draw(st.integers(0, n - 2))
    # frames drawn from 3 distinct images: consecutive repeats happen often
    images = torch.arange(3.0).reshape(3, 1, 1) * torch.ones(3, 2, 2)
    video = images[torch.tensor(pattern)]
    cutoffs, inverse = unique_cutoffs(video, lb)
    idx = masked_frame_index(n, lb)
    masked = video[torch.from_numpy(idx)]  # (cut-off, frame, 2, 2)
    assert cutoffs[0] == lb and np.all(np.diff(cutoffs) > 0)
    for t in range(n):
        assert torch.equal(masked[t], masked[cutoffs[inverse[t]]])
    # distinct representatives really are distinct videos
    reps = masked[torch.from_numpy(cutoffs)]
    for i in range(1, len(cutoffs)):
        assert not torch.equal(reps[i], reps[i - 1])


def test_emergence_frames_from_curves_step_and_bounds():
    c = np.full((2, 10), 0.1)
    c[0, 6:] = 0.9  # jump between 5 and 6: central gradient maximal first at 5
    c[1] = np.linspace(1, 0, 10)  # decreasing: gradient constant, first frame >= lb
    np.testing.assert_array_equal(emergence_frames_from_curves(c, 2), [5, 2])
    with pytest.raises(ValueError, match="lower_bound"):
        emergence_frames_from_curves(c, 9)
    with pytest.raises(ValueError, match="at least 2"):
        emergence_frames_from_curves([[0.5]], 0)


@given(n=st.integers(12, 60), lb=st.integers(0, 4), a=st.integers(2, 20), gap=st.integers(3, 20),
       h=st.floats(0.05, 0.45), delta=st.floats(-4e-5, 4e-5),
       noise_seed=st.integers(0, 2**32 - 1))
def test_near_ties_resolve_to_the_earliest_frame_on_any_rounding(n, lb, a, gap, h, delta,
                                                                 noise_seed):
    """Two jumps equal to within float32 rounding: the earlier one wins, whichever is larger
    and however the curves are perturbed at the 1e-6 level (another CPU's kernels)."""
    a = max(lb + 1, 2) + a % max(1, n - lb - gap - 4)  # interior: central differences
    b = a + gap
    if b >= n - 1:
        b = n - 2
    if b - a < 3:
        return
    t = np.arange(n)
    curve = 0.05 + h * (t >= a) + (h + delta) * (t >= b)
    noise = np.random.default_rng(noise_seed).uniform(-1e-6, 1e-6, n)
    for c in (curve, curve + noise, curve.astype(np.float32)):
        # central differences: the jump between a-1 and a shows at a-1 and a (h/2 each)
        assert emergence_frames_from_curves(c[None], lb)[0] == a - 1
    # with a clear difference the larger jump wins, as plain argmax
    bigger = 0.05 + h * (t >= a) + (h + 10 * TIE_TOLERANCE) * (t >= b)
    assert emergence_frames_from_curves(bigger[None], lb)[0] == b - 1
    if abs(delta) > 1e-8:  # tie_tolerance=0 is plain argmax: the larger jump wins
        assert emergence_frames_from_curves(curve[None], lb, tie_tolerance=0)[0] == (
            b - 1 if delta > 0 else a - 1)


@given(st.lists(st.floats(0, 1), min_size=3, max_size=40), st.integers(0, 2**32 - 1))
def test_located_frame_is_a_near_maximum_and_stable_under_rounding(values, seed):
    """Invariant: the frame's change is within the tolerance of the largest; a 1e-7
    perturbation changes the frame only when some change is that close to the tie edge."""
    c = np.asarray(values)
    lb = len(c) // 4
    f = emergence_frames_from_curves(c[None], lb)[0]
    grad = np.gradient(c)[lb:]
    assert grad[f - lb] >= grad.max() - TIE_TOLERANCE
    assert not (grad[: f - lb] >= grad.max() - TIE_TOLERANCE).any()  # the earliest
    eps = 1e-7
    c2 = c + np.random.default_rng(seed).uniform(-eps, eps, c.shape)
    f2 = emergence_frames_from_curves(c2[None], lb)[0]
    edge = np.abs(grad - (grad.max() - TIE_TOLERANCE)) <= 4 * eps
    if f2 != f:
        assert edge.any()


def test_emergence_frames_refuse_nan_and_negative_tolerance():
    with pytest.raises(ValueError, match="NaN"):
        emergence_frames_from_curves([[0.1, np.nan, 0.3]], 0)
    with pytest.raises(ValueError, match="tie_tolerance"):
        emergence_frames_from_curves([[0.1, 0.2, 0.3]], 0, tie_tolerance=-1)


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("kind", ["vgg", "cnn3d"])
@pytest.mark.parametrize("field_limit", [1000.0, 300.0])
def test_fast_equals_naive_and_authors_float32(kind, field_limit):
    """Exact for any clip level (300 G clips most of the tiny videos' pixels)."""
    modules = [tiny_module(s, kind, field_limit=field_limit) for s in range(3)]
    members = [_Member(m) for m in modules]
    X = torch.from_numpy(tiny_videos())
    for video in X:
        fast = _CurveEngine(members, LB, "fast", batch_size=5).curves(video)
        naive = _CurveEngine(members, LB, "naive", batch_size=7).curves(video)
        authors = _CurveEngine(members, LB, "authors").curves(video)
        assert np.ptp(naive, axis=1).min() > 1e-3  # the curves do vary
        # float32 rounding only (float64 below: ~1e-14)
        np.testing.assert_allclose(fast, naive, rtol=0, atol=3e-5)
        np.testing.assert_allclose(authors, naive, rtol=0, atol=3e-5)
        for curves in (fast, authors):
            assert_frames_tie_equivalent(emergence_frames_from_curves(curves, LB), naive, LB)


@pytest.mark.parametrize("kind", ["vgg", "cnn3d"])
@pytest.mark.parametrize("field_limit", [1000.0, 300.0])
def test_fast_equals_naive_float64_to_rounding(kind, field_limit):
    """In float64 the fast paths (prefix sums, activation reuse) match the literal one."""
    modules = [tiny_module(s, kind, torch.float64, field_limit) for s in range(2)]
    members = [_Member(m) for m in modules]
    X = torch.from_numpy(tiny_videos(dtype=np.float64))
    for bs in (1, 3, 32):
        for video in X:
            fast = _CurveEngine(members, LB, "fast", batch_size=bs).curves(video)
            naive = _CurveEngine(members, LB, "naive", batch_size=bs).curves(video)
            np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-12)


class _Opaque(nn.Module):
    """A network with no conv1/cache hooks: the fast path only deduplicates cut-offs."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


def test_fast_generic_module_deduplicates_exactly():
    members = [_Member(_Opaque(tiny_module(0)))]
    video = torch.from_numpy(tiny_videos()[0])
    calls = []
    members[0].module.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    fast = _CurveEngine(members, LB, "fast", batch_size=64).curves(video)
    n_forwarded = sum(calls)
    calls.clear()
    naive = _CurveEngine(members, LB, "naive", batch_size=64).curves(video)
    np.testing.assert_allclose(fast, naive, atol=1e-6)
    # video 0: frames 11..15 repeat frame 10 -> cut-offs LB..10 are the distinct ones
    assert n_forwarded == 10 - LB + 1
    assert sum(calls) == T


def test_curve_flat_before_lower_bound_and_constant_over_repeated_tail():
    ens = fitted()
    loc = EmergenceTimeLocator(ens, lower_bound=LB).fit()
    loc.transform(tiny_videos())
    c = loc.curves_
    assert np.all(c[:, :, :LB + 1] == c[:, :, [LB]])
    assert np.all(c[:, 0, 10:] == c[:, 0, [10]])  # video 0 repeats frame 10 to the end
    assert np.all(loc.member_frames_ >= LB)


class _LastFrameDetector(nn.Module):
    """Logit rises with the unsigned flux of the last frame: a known emergence detector."""

    n_frames = T

    def __init__(self, gain):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(gain)))

    def forward(self, x):  # takes Gauss, as every skflux network
        return self.gain * (x[:, -1].abs().mean(dim=(1, 2)) / 1000 - 0.25)


def test_locator_finds_a_known_emergence():
    """A region appearing at frame 9 is found at frame 8 or 9 (central differences)."""
    rng = np.random.default_rng(1)
    X = rng.normal(0, 20, (2, T, S, S)).astype(np.float32)
    X[0, 9:, 4:8, 4:8] += 900.0
    X[0, 9:, 8:12, 4:8] -= 900.0
    X[1, 12:, 2:10, 2:10] += 900.0

    class Ens:
        estimators_ = [TinyMember(_LastFrameDetector(g)) for g in (20.0, 40.0, 60.0)]
        threshold_ = 0.5

    res = EmergenceTimeLocator(Ens(), lower_bound=LB, method="fast").fit_transform(X)
    frames = res["member_frames"].values
    assert set(frames[0]) <= {8, 9} and set(frames[1]) <= {11, 12}
    errors = timing_errors_days(res, [9, 12])
    assert np.all(np.abs(errors) <= 96 / 1440 + 1e-12)


# ----------------------------------------------------------------------------- transform
def _as_dataarray(X):
    n = X.shape[0]
    return xr.DataArray(
        X, dims=("video", "frame", "lat", "lon"),
        coords={
            "time": ("video", np.array(["2001-03-01T00:00", "2002-05-02T12:00",
                                        "2003-07-03T06:00"], dtype="datetime64[ns]")[:n]),
            "bmr_id": ("video", np.arange(100, 100 + n)),
            "emergence_frame": ("video", np.array([9, -1, 12])[:n]),
            "observed": (("video", "frame"), np.ones(X.shape[:2], bool)),
        },
        attrs={"cadence_minutes": 96},
    )


def test_transform_dataset_contents():
    X = tiny_videos()
    da = _as_dataarray(X)
    loc = EmergenceTimeLocator(fitted(n_members=4), lower_bound=LB).fit()
    res = loc.transform(da)
    assert set(res.data_vars) >= {"emergence_frame", "emergence_time", "member_frames",
                                  "frame_q25", "frame_q75", "emergence_offset"}
    assert res["member_frames"].dims == ("video", "member")
    assert loc.curves_.shape == (4, 3, T)
    mf = res["member_frames"].values
    np.testing.assert_array_equal(mf.T, loc.member_frames_)
    np.testing.assert_allclose(res["emergence_frame"], np.median(mf, axis=1))
    np.testing.assert_allclose(res["frame_q25"], np.percentile(mf, 25, axis=1))
    expect_time = da["time"].values + (res["emergence_frame"].values * 96 * 60e9).astype(
        "timedelta64[ns]")
    np.testing.assert_array_equal(res["emergence_time"].values, expect_time)
    # per-video coordinates carried over; the ground truth renamed, per-frame ones dropped
    np.testing.assert_array_equal(res["bmr_id"], da["bmr_id"])
    np.testing.assert_array_equal(res["true_emergence_frame"], [9, -1, 12])
    assert "observed" not in res.coords
    assert res.attrs["lower_bound"] == LB
    # numpy input: same numbers, no time
    res_np = loc.transform(X)
    np.testing.assert_array_equal(res_np["member_frames"], res["member_frames"])
    assert np.isnat(res_np["emergence_time"].values).all()


class _LastFrameNet(nn.Module):
    """Logit = mean field of the last frame / 100 G: the curve steps where the field does."""

    n_frames = None

    def forward(self, x):
        return x[:, -1].mean(dim=(-1, -2)) / 100.0


class _StepEnsemble:
    def __init__(self, n_frames, n_members=3):
        self.estimators_ = [TinyMember.__new__(TinyMember) for _ in range(n_members)]
        for m in self.estimators_:
            m.module_, m.n_frames_in_ = _LastFrameNet(), n_frames
        self.threshold_ = 0.5


@pytest.mark.parametrize("n_frames", [16, 32, 225])
def test_default_lower_bound_is_scaled_and_a_clear_step_is_located(n_frames):
    """lower_bound=None gives 30/225 of the video; a field step at k is located at k - 1."""
    k = n_frames // 2
    X = np.zeros((2, n_frames, 4, 4), np.float32)
    X[0, k:] = 500.0  # emerges at k
    # video 1: flat zero field, nothing emerges: the largest change is at the lower bound
    da = _as_dataarray(X)
    loc = EmergenceTimeLocator(_StepEnsemble(n_frames)).fit()
    assert loc.lower_bound_ == round(30 * n_frames / 225)
    with pytest.warns(NoEmergenceLocatedWarning, match="1 of 2 videos"):
        res = loc.transform(da)
    assert res.attrs["lower_bound"] == loc.lower_bound_ and res.attrs["n_not_located"] == 1
    np.testing.assert_array_equal(res["located"], [True, False])
    assert res["emergence_frame"].values[0] == k - 1
    assert np.isnan(res["emergence_frame"].values[1])
    assert np.isnat(res["emergence_time"].values[1]) and np.isnat(res["emergence_offset"][1])
    assert res["emergence_time"].values[0] == da["time"].values[0] + np.timedelta64(
        (k - 1) * 96, "m")


def test_too_few_observed_frames_is_not_located():
    """One observed frame (the rest gap-filled or padded): no fabricated date."""
    n_frames, k = 32, 20
    X = np.zeros((3, n_frames, 4, 4), np.float32)
    X[:, k:] = 500.0
    da = _as_dataarray(X)
    obs = np.ones((3, n_frames), bool)
    obs[1] = False
    obs[1, k] = True  # one observed frame; the rest repeats it
    obs[2, :] = False
    obs[2, [10, 25]] = True  # two observed frames after the lower bound: enough
    da = da.assign_coords(observed=(("video", "frame"), obs))
    with pytest.warns(NoEmergenceLocatedWarning, match="1 of 3 videos"):
        res = EmergenceTimeLocator(_StepEnsemble(n_frames)).fit().transform(da)
    np.testing.assert_array_equal(res["located"], [True, False, True])
    np.testing.assert_array_equal(res["n_observed_frames"], [n_frames - 4, 1, 2])
    assert np.isnat(res["emergence_time"].values[1])
    # the members still report their raw frames, for inspection
    assert (res["member_frames"].values[1] == k - 1).all()


def test_methods_agree_through_the_estimator():
    X = tiny_videos(2)
    ens = fitted(2)
    out = {m: EmergenceTimeLocator(ens, lower_bound=LB, method=m, batch_size=4).fit()
           for m in ("fast", "naive", "authors")}
    res = {m: loc.transform(X) for m, loc in out.items()}
    np.testing.assert_allclose(out["fast"].curves_, out["naive"].curves_, atol=1e-5)
    np.testing.assert_allclose(out["authors"].curves_, out["naive"].curves_, atol=1e-5)
    for m in ("fast", "authors"):
        assert_frames_tie_equivalent(res[m]["member_frames"].values.T, out["naive"].curves_, LB)


def test_lazy_netcdf_input_matches_numpy(tmp_path):
    X = tiny_videos()
    path = tmp_path / "v.nc"
    _as_dataarray(X).rename("field").to_netcdf(path)
    with xr.open_dataarray(path, chunks={"video": 1}) as lazy:
        assert lazy.chunks is not None
        loc = EmergenceTimeLocator(fitted(), lower_bound=LB).fit()
        res = loc.transform(lazy)
    np.testing.assert_array_equal(res["member_frames"], loc.transform(X)["member_frames"])


def test_torch_input_and_fit_of_unfitted_ensemble():
    X = tiny_videos(2)
    loc = EmergenceTimeLocator(TinyEnsemble(2), lower_bound=LB)
    res = loc.fit_transform(X, np.array([1, 0]))
    assert loc.ensemble_ is not loc.ensemble and loc.n_members_ == 2
    res_t = loc.transform(torch.from_numpy(X))
    np.testing.assert_array_equal(res["member_frames"], res_t["member_frames"])


def test_prefit_ensemble_used_as_is_and_module_modes_restored():
    ens = fitted(2)
    ens.estimators_[0].module_.train()
    loc = EmergenceTimeLocator(ens, lower_bound=LB).fit()
    assert loc.ensemble_ is ens
    loc.transform(tiny_videos(1))
    assert ens.estimators_[0].module_.training and not ens.estimators_[1].module_.training


def test_clone_and_params():
    loc = EmergenceTimeLocator(TinyEnsemble(), lower_bound=3, method="naive", batch_size=8)
    c = clone(loc)
    assert c.get_params()["lower_bound"] == 3 and c.get_params()["method"] == "naive"
    assert "ensemble__n_members" in c.get_params()


# ----------------------------------------------------------------------------- errors
def test_unfitted_ensemble_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        EmergenceTimeLocator(TinyEnsemble(), lower_bound=LB).fit()
    with pytest.raises(NotFittedError):
        EmergenceTimeLocator(fitted(), lower_bound=LB).transform(tiny_videos(1))


def test_lower_bound_too_large():
    with pytest.raises(ValueError, match="lower_bound=30.*16 frames.*lower_bound=2"):
        EmergenceTimeLocator(fitted(), lower_bound=30).fit()
    with pytest.raises(ValueError, match=r"'lower_bound' parameter .* range \[0, inf\)"):
        EmergenceTimeLocator(fitted(), lower_bound=-1).fit()
    with pytest.raises(TypeError, match="'lower_bound' parameter .* must be an int"):
        EmergenceTimeLocator(fitted(), lower_bound=2.5).fit()


@pytest.mark.parametrize("shape", [(12, S, S), (T, 20, 20), (T, 12, S)])
def test_video_shape_mismatch_with_the_ensemble(shape):
    """Frames, lat and lon are all checked: a model trained on 16x16 refuses 20x20 patches."""
    loc = EmergenceTimeLocator(fitted(), lower_bound=LB).fit()
    assert loc.video_shape_ == (T, S, S)
    got = "×".join(map(str, shape))
    da = _as_dataarray(np.zeros((1, *shape), np.float32))
    with pytest.raises(ValueError, match=(
            f"X holds videos of {got} .*video 0 \\(bmr_id=.*100.*\\)\\) but the ensemble was "
            f"trained on videos of {T}×{S}×{S}: resample them with "
            f"skflux\\.preprocessing\\.Resample\\(n_frames={T}, size={S}\\) \\(command "
            f"line: --resample\\) or re-cut them to {T}×{S}×{S}")):
        loc.transform(da)


def test_nan_video_is_named():
    X = tiny_videos()
    X[2, 5, 3, 3] = np.nan
    loc = EmergenceTimeLocator(fitted(), lower_bound=LB).fit()
    with pytest.raises(ValueError, match=r"NaN or inf in videos \[2\]"):
        loc.transform(X)
    da = _as_dataarray(X)
    with pytest.raises(ValueError, match=r"video 2 \(bmr_id=np.int64\(102\)\)|bmr_id=102"):
        loc.transform(da)


@pytest.mark.parametrize("params, exc, match", [
    ({"method": "slow"}, ValueError, "'method' parameter .* among"),
    ({"batch_size": 0}, ValueError, "'batch_size' parameter"),
])
def test_bad_parameters(params, exc, match):
    with pytest.raises(exc, match=match):
        EmergenceTimeLocator(fitted(), lower_bound=LB, **params).fit()


def test_member_without_module_is_a_type_error():
    class Ens:
        estimators_ = [object()]

    with pytest.raises(TypeError, match="member 0 .* no fitted torch module"):
        EmergenceTimeLocator(Ens(), lower_bound=LB).fit()


# ----------------------------------------------------------------------------- evaluation
def test_timing_errors_and_percentiles():
    e = timing_errors_days([115.0, 100.0, 40.0], [100, -1, 55])
    np.testing.assert_allclose(e, [1.0, np.nan, -1.0])
    per_member = timing_errors_days(np.array([[100, 115], [0, 0], [55, 70]]), [100, -1, 55])
    assert per_member.shape == (3, 2)
    np.testing.assert_allclose(per_member[0], [0.0, 1.0])
    p = timing_error_percentiles(e)
    assert list(p) == [5, 25, 50, 75, 95] and p[50] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="no finite"):
        timing_error_percentiles([np.nan])
    with pytest.raises(ValueError, match="3 videos"):
        timing_errors_days([1.0, 2.0], [1, 2, 3])


def test_timing_errors_from_datasets_and_videos():
    X = tiny_videos()
    da = _as_dataarray(X)
    res = EmergenceTimeLocator(fitted(), lower_bound=LB).fit_transform(da)
    e = timing_errors_days(res, res)  # ground truth carried as true_emergence_frame
    e2 = timing_errors_days(res, da)  # or read from the videos' emergence_frame coordinate
    np.testing.assert_array_equal(e, e2)
    assert np.isnan(e[1])
    np.testing.assert_allclose(e[0], (res["emergence_frame"][0] - 9) * 96 / 1440)
    em = timing_errors_days(res, da, per_member=True)
    assert em.shape == (3, 3)
    with pytest.raises(ValueError, match="true_emergence_frame"):
        timing_errors_days(res, res.drop_vars("true_emergence_frame"))


# ----------------------------------------------------------------------------- integration
def test_with_fitted_classifier_and_month_block_ensemble(tiny_classifier, tiny_videos,
                                                          tiny_fitted_ensemble):
    """The real estimators: a FluxEmergenceClassifier and a MonthBlockEnsemble of them."""
    lb = 2
    videos = tiny_videos.isel(video=slice(0, 4))
    X, n_frames = videos.values, videos.sizes["frame"]
    clf = tiny_classifier(max_epochs=1, valid_months=None)
    with pytest.raises(NotFittedError):
        EmergenceTimeLocator(clf, lower_bound=lb).fit()
    one = EmergenceTimeLocator(clf, lower_bound=lb).fit_transform(
        tiny_videos, np.where(tiny_videos["label"].values == 1, "emergence", "non-emergence"))
    assert one.sizes["member"] == 1
    ens = tiny_fitted_ensemble
    loc = EmergenceTimeLocator(ens, lower_bound=lb, batch_size=5).fit()
    assert loc.n_members_ == 2 and loc.video_shape_ == (n_frames, 16, 16)
    assert loc.threshold_ == ens.threshold_
    res = loc.transform(videos)
    # the uncut video's probability is what the ensemble predicts
    lower_bounded = X[:, masked_frame_index(n_frames, lb)[-1]]
    np.testing.assert_allclose(loc.curves_[:, :, -1], ens.predict_proba_members(lower_bounded),
                               atol=1e-5)
    naive = EmergenceTimeLocator(ens, lower_bound=lb, method="naive").fit()
    naive.transform(videos)
    np.testing.assert_allclose(loc.curves_, naive.curves_, atol=1e-5)
    # same frames wherever the gradient maximum is not a float-rounding tie (briefly
    # trained tiny nets give nearly flat curves)
    assert_frames_tie_equivalent(res["member_frames"].values.T, naive.curves_, lb)
    with pytest.raises(ValueError, match=f"trained on videos of {n_frames}×16×16"):
        loc.transform(X[:, :, :12, :12])
