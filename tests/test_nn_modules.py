"""Torch modules of skflux.nn: reference VGG, causal 3-D CNN, FLOP counting, data feeding."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux._schema import N_FRAMES, PATCH_SIZE
from skflux.nn import (
    FieldScaling,
    VideoCNN3D,
    VideoVGG,
    count_flops,
    count_parameters,
    iter_video_batches,
    scale_field,
)

TINY_VGG = dict(widths=(4, 4, 8, 8), top=8, dense=8)
TINY_3D = dict(widths=(2, 4, 4, 8, 8), dense=8)
FULL = (1, N_FRAMES, PATCH_SIZE, PATCH_SIZE)

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- VGG
def test_vgg_full_size_matches_the_authors_model():
    net = VideoVGG()
    # Keras model of the authors: 2,286,817 trainable weights plus 1,920
    # batch-norm scales/offsets (Keras counts them as trainable too).
    assert count_parameters(net) == 2_288_737
    assert net.padding_ == "valid"
    shapes = {}
    last_conv = [m for m in net.features if isinstance(m, torch.nn.Conv2d)][-1]
    def record(module, inputs, output):
        shapes["top"] = output.shape

    last_conv.register_forward_hook(record)
    flops = count_flops(net, FULL)
    assert shapes["top"][-2:] == (1, 1)  # 90 px reach the 2x2 convolution as 2x2
    assert 1.5e9 < flops < 1.6e9
    assert last_conv.kernel_size == (2, 2)


def _mask_after(x, t):
    out = x.clone()
    out[:, t + 1:] = x[:, t:t + 1]
    return out


def test_vgg_conv1_split_contract():
    net = VideoVGG(n_frames=8, in_size=16, **TINY_VGG).eval()
    x = 800 * torch.randn(3, 8, 16, 16)  # Gauss
    out = net(x)
    assert out.shape == (3,)
    torch.testing.assert_close(out, net.forward_after_conv1(net.conv1(net.scale(x))))
    # conv1 is linear (affine) in the frames: conv1(a) + conv1(b) - bias == conv1(a + b)
    a, b = torch.randn(2, 1, 8, 16, 16)
    bias = net.conv1.bias[:, None, None]
    torch.testing.assert_close(net.conv1(a) + net.conv1(b) - bias, net.conv1(a + b),
                               atol=1e-5, rtol=1e-5)


@settings(max_examples=8)
@given(frames=st.integers(1, 12), lat=st.integers(16, 40), lon=st.integers(16, 40))
def test_vgg_any_video_size(frames, lat, lon):
    net = VideoVGG(n_frames=frames, in_size=(lat, lon), **TINY_VGG).eval()
    assert net.padding_ == "same"
    with torch.no_grad():
        out = net(torch.randn(2, frames, lat, lon))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_vgg_valid_padding_from_88_pixels():
    assert VideoVGG(n_frames=2, in_size=88, **TINY_VGG).padding_ == "valid"
    assert VideoVGG(n_frames=2, in_size=87, **TINY_VGG).padding_ == "same"
    net = VideoVGG(n_frames=2, in_size=88, **TINY_VGG).eval()
    assert net(torch.randn(1, 2, 88, 88)).shape == (1,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_size=15), "at least 16x16"),
    (dict(in_size=60, padding="valid"), "at least 88x88"),
    (dict(padding="reflect"), "padding must be"),
    (dict(widths=(4, 4)), "widths must hold 4"),
])
def test_vgg_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoVGG(n_frames=4, **kwargs)


@pytest.mark.parametrize("cls, kw", [(VideoVGG, TINY_VGG), (VideoCNN3D, TINY_3D)])
def test_wrong_input_shape_names_expected_dims(cls, kw):
    net = cls(n_frames=8, in_size=16, **kw)
    with pytest.raises(ValueError, match=r"\(batch, 8 frames, lat, lon\)"):
        net(torch.randn(2, 7, 16, 16))
    with pytest.raises(ValueError, match="8 frames"):
        net(torch.randn(8, 16, 16))


# ----------------------------------------------------------------------------- 3-D CNN
def test_3d_cnn_full_size_cost_within_three_times_the_reference():
    ref = count_flops(VideoVGG(), FULL)
    net = VideoCNN3D()
    flops = count_flops(net, FULL)
    assert flops <= 3 * ref
    assert any(isinstance(m, torch.nn.Conv3d) for m in net.modules())
    assert not any(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    assert 0.5e6 < count_parameters(net) < 2.5e6


@settings(max_examples=8)
@given(frames=st.integers(1, 40), lat=st.integers(1, 24), lon=st.integers(1, 24))
def test_3d_cnn_any_video_size(frames, lat, lon):
    net = VideoCNN3D(n_frames=frames, in_size=(lat, lon), **TINY_3D).eval()
    with torch.no_grad():
        out = net(torch.randn(2, frames, lat, lon))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_3d_cnn_last_frame_used_is_monotone_and_complete():
    net = VideoCNN3D(n_frames=37, in_size=16, **TINY_3D)
    bounds = net.last_frame_used()
    assert len(bounds) == len(net.layers) + 1
    for b in bounds:
        assert np.all(np.diff(b) >= 0)
        assert b[-1] == 36


@settings(max_examples=8)
@given(t=st.integers(0, 22), seed=st.integers(0, 10))
def test_3d_cnn_is_causal(t, seed):
    """Changing frames after t leaves every activation whose last frame used <= t unchanged."""
    torch.manual_seed(seed)
    net = VideoCNN3D(n_frames=23, in_size=16, **TINY_3D).eval()
    x = 500 * torch.randn(2, 23, 16, 16)  # Gauss
    x2 = x.clone()
    x2[:, t + 1:] = 500 * torch.randn_like(x2[:, t + 1:])
    a, b = net.activations(x), net.activations(x2)
    for bound, ha, hb in zip(net.last_frame_used(), a, b):
        keep = int(np.count_nonzero(bound <= t))
        torch.testing.assert_close(ha[:, :, :keep], hb[:, :, :keep])
        if keep < bound.size:  # the later steps do see the change
            assert not torch.equal(ha[:, :, keep:], hb[:, :, keep:])


def test_3d_cnn_forward_from_cache_equals_forward_for_every_truncation():
    net = VideoCNN3D(n_frames=21, in_size=16, **TINY_3D).eval()
    x = 800 * torch.randn(3, 21, 16, 16)  # Gauss: clipped at 1000 G in places
    cache = net.activations(x)
    for t in range(21):
        xt = _mask_after(x, t)
        torch.testing.assert_close(net.forward_from_cache(xt, cache, t), net(xt),
                                   atol=1e-5, rtol=1e-5)


def test_3d_cnn_cache_needs_eval_mode_and_matching_cache():
    net = VideoCNN3D(n_frames=8, in_size=16, **TINY_3D)
    x = torch.randn(1, 8, 16, 16)
    with pytest.raises(RuntimeError, match="eval"):
        net.activations(x)
    net.eval()
    cache = net.activations(x)
    with pytest.raises(ValueError, match="cache"):
        net.forward_from_cache(torch.randn(2, 8, 16, 16), cache, 3)


@pytest.mark.parametrize("cls, kw", [(VideoVGG, TINY_VGG), (VideoCNN3D, TINY_3D)])
@pytest.mark.parametrize("field_limit", [1000.0, 250.0])
def test_modules_take_gauss_and_scale_in_their_first_layer(cls, kw, field_limit):
    """Scaling is the first layer: the rest of the network sees clip(x, ±limit) / limit."""
    net = cls(n_frames=8, in_size=16, field_limit=field_limit, **kw).eval()
    assert net.field_limit == field_limit and isinstance(net.scaling, FieldScaling)
    assert list(net.children())[0] is net.scaling
    seen = []
    first = net.conv1 if cls is VideoVGG else net.layers[0]
    first.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    x = 600 * torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        net(x)
    expected = torch.clamp(x, -field_limit, field_limit) / field_limit
    torch.testing.assert_close(seen[0].reshape(expected.shape), expected)
    # the parameter is part of the module's construction, not of its state dict
    assert not any("field_limit" in k or "scaling" in k for k in net.state_dict())


@pytest.mark.parametrize("bad", [0, -5.0, float("nan"), float("inf"), "big", None])
def test_field_limit_must_be_positive(bad):
    with pytest.raises(ValueError, match="field_limit must be a positive number"):
        VideoVGG(n_frames=2, in_size=16, field_limit=bad, **TINY_VGG)
    with pytest.raises(ValueError, match="field_limit must be a positive number"):
        VideoCNN3D(n_frames=2, in_size=16, field_limit=bad, **TINY_3D)


# ----------------------------------------------------------------------------- helpers
def test_count_flops_and_parameters():
    lin = torch.nn.Linear(10, 4)
    assert count_parameters(lin) == 44
    lin.bias.requires_grad_(False)
    assert count_parameters(lin) == 40
    assert count_parameters(lin, trainable_only=False) == 44
    assert count_flops(lin, (3, 10)) == 2 * 3 * 10 * 4
    conv = torch.nn.Conv2d(2, 5, 3, padding=1)
    assert count_flops(conv, (1, 2, 8, 8)) == 2 * 8 * 8 * 5 * 2 * 9
    assert conv.training  # mode restored


@given(x=st.lists(st.floats(-1e5, 1e5), min_size=1, max_size=20), limit=st.floats(1, 5000))
def test_scale_field_clips_and_scales(x, limit):
    t = torch.tensor(x, dtype=torch.float64)
    s = scale_field(t, limit)
    assert torch.all(s.abs() <= 1)
    inside = t.abs() <= limit
    torch.testing.assert_close(s[inside], t[inside] / limit)
    assert torch.all(s[~inside] == torch.sign(t[~inside]))


def test_iter_video_batches_in_order_raw_float32():
    X = np.arange(5 * 2 * 3 * 3, dtype=np.float64).reshape(5, 2, 3, 3) * 100
    batches = list(iter_video_batches(X, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    assert all(b.dtype == torch.float32 for b in batches)
    np.testing.assert_array_equal(torch.cat(batches).numpy(), X.astype(np.float32))
