"""Torch modules: the reference video VGG (frames as channels) and a causal 3-D CNN.

Both modules take videos in Gauss, shape ``(batch, frame, lat, lon)``, and
return one logit per video, shape ``(batch,)``. Their first layer clips the
field at ``±field_limit`` and divides by ``field_limit`` (:func:`scale_field`),
so whoever runs a network passes the raw field and nothing scales it twice.
Both accept any number of frames and any patch size large enough for their
poolings, so tests run on tiny videos.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._schema import N_FRAMES, PATCH_SIZE

# Smallest patch on which the reference layout with unpadded ("valid")
# convolutions still leaves a 2x2 map for the final 2x2 convolution:
# 88 -> 44 -> 40 -> 20 -> 16 -> 8 -> 4 -> 2.
_MIN_VALID_SIZE = 88
_MIN_SAME_SIZE = 16  # four 2x2 poolings


def scale_field(x, field_limit):
    """Clip a field tensor at ``±field_limit`` Gauss and scale it to [-1, 1].

    The function of the first layer (:class:`FieldScaling`) of
    :class:`VideoVGG` and :class:`VideoCNN3D`; those modules take the raw
    field, so there is no need to call it before them.

    Parameters
    ----------
    x : torch.Tensor
        Field in Gauss.
    field_limit : float
        Clip level in Gauss.

    Returns
    -------
    scaled : torch.Tensor
        ``clamp(x, -field_limit, field_limit) / field_limit``.

    Examples
    --------
    >>> import torch
    >>> scale_field(torch.tensor([-3000.0, 250.0]), 1000.0).tolist()
    [-1.0, 0.25]
    """
    return torch.clamp(x, -field_limit, field_limit) / field_limit


class FieldScaling(nn.Module):
    """The first layer of the skflux networks: clip at ``±field_limit`` G, divide by it.

    Parameters
    ----------
    field_limit : float, default=1000.0
        Clip level in Gauss (a positive number).

    Raises
    ------
    ValueError
        If ``field_limit`` is not a positive finite number.

    Examples
    --------
    >>> import torch
    >>> FieldScaling(500.0)(torch.tensor([-900.0, 100.0])).tolist()
    [-1.0, 0.2]
    """

    def __init__(self, field_limit=1000.0):
        super().__init__()
        try:
            limit = float(field_limit)
        except (TypeError, ValueError):
            limit = math.nan
        if not (math.isfinite(limit) and limit > 0):
            raise ValueError(f"field_limit must be a positive number of Gauss; got "
                             f"{field_limit!r}")
        self.field_limit = limit

    def forward(self, x):
        return scale_field(x, self.field_limit)

    def extra_repr(self):
        return f"field_limit={self.field_limit}"


def _pair(size):
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    lat, lon = size
    return int(lat), int(lon)


class VideoVGG(nn.Module):
    """The reference VGG of Chatterjee et al.: a video's frames are input channels.

    The layout is the authors' public Keras model: 3×3 convolutions
    ``32, 32 | pool | 64, 64 | pool | 128, 128 | pool | 256, 256 | pool``, then a
    2×2 convolution to 512 channels; swish (``x·sigmoid(x)``) after every
    convolution, batch norm after the swish of the first eight convolutions,
    2×2 max pooling, then dense 512 → swish → dropout → dense 512 → swish →
    dropout → one logit (the sigmoid lives in the loss / in ``predict_proba``).
    The first two convolutions keep the patch size ("same" padding), the
    others are unpadded ("valid"), so a 90×90 patch reaches the 2×2
    convolution as a 2×2 map and leaves it as a 1×1 map: about 2.29 M
    parameters and 1.56 GFLOP per 225×90×90 video.

    Any ``(n_frames, lat, lon)`` works: a global max pooling after the
    512-channel convolution (the identity at 90×90) makes the head independent
    of the patch size, and ``padding="auto"`` switches the unpadded
    convolutions to padded ones for patches smaller than 88 pixels.

    The first layer clips the field at ``±field_limit`` Gauss and scales it
    (:meth:`scale`); the first convolution :attr:`conv1` is linear in the
    scaled frames. The emergence-time locator relies on ``forward(x) ==
    forward_after_conv1(conv1(scale(x)))``.

    Parameters
    ----------
    n_frames : int, default=225
        Frames per video (input channels).
    in_size : int or (int, int), default=90
        Patch size ``(lat, lon)`` in pixels; only used to resolve
        ``padding="auto"`` and to check that the patch survives the poolings.
    widths : tuple of 4 int, default=(32, 64, 128, 256)
        Channels of the four convolution stages.
    top : int, default=512
        Channels of the last (2×2) convolution.
    dense : int, default=512
        Width of the two dense layers.
    dropout : float, default=0.5
        Dropout rate after each dense layer.
    padding : {"auto", "valid", "same"}, default="auto"
        Padding of the convolutions after the first stage: "valid" is the
        authors' layout (needs patches of at least 88 pixels), "same" keeps
        sizes (needs at least 16 pixels), "auto" picks "valid" when the patch
        is large enough.
    field_limit : float, default=1000.0
        Clip level in Gauss of the first layer: the network sees
        ``clip(x, ±field_limit) / field_limit``.

    Attributes
    ----------
    scaling : FieldScaling
        The first layer (clip and scale).
    conv1 : torch.nn.Conv2d
        The first convolution, frames → ``widths[0]`` channels.
    padding_ : str
        The resolved padding, "valid" or "same".

    Raises
    ------
    ValueError
        If the patch is too small for the poolings or a parameter is invalid.

    Examples
    --------
    >>> import torch
    >>> from skflux.nn import VideoVGG
    >>> net = VideoVGG(n_frames=8, in_size=16, widths=(4, 4, 8, 8), top=8, dense=8).eval()
    >>> net(torch.zeros(2, 8, 16, 16)).shape
    torch.Size([2])
    """

    def __init__(self, n_frames=N_FRAMES, in_size=PATCH_SIZE, widths=(32, 64, 128, 256),
                 top=512, dense=512, dropout=0.5, padding="auto", field_limit=1000.0):
        super().__init__()
        self.scaling = FieldScaling(field_limit)
        lat, lon = _pair(in_size)
        if padding not in ("auto", "valid", "same"):
            raise ValueError(f"padding must be 'auto', 'valid' or 'same'; got {padding!r}")
        if len(tuple(widths)) != 4:
            raise ValueError(f"widths must hold 4 channel counts; got {widths!r}")
        if padding == "auto":
            padding = "valid" if min(lat, lon) >= _MIN_VALID_SIZE else "same"
        need = _MIN_VALID_SIZE if padding == "valid" else _MIN_SAME_SIZE
        if min(lat, lon) < need:
            raise ValueError(
                f"VideoVGG with padding={padding!r} needs patches of at least {need}x{need} "
                f"pixels; got {lat}x{lon}"
            )
        self.n_frames = int(n_frames)
        self.in_size = (lat, lon)
        self.padding_ = padding
        pad = 1 if padding == "same" else 0
        w = list(widths)
        self.conv1 = nn.Conv2d(self.n_frames, w[0], 3, padding=1)
        layers = [nn.SiLU(), nn.BatchNorm2d(w[0]),
                  nn.Conv2d(w[0], w[0], 3, padding=1), nn.SiLU(), nn.BatchNorm2d(w[0]),
                  nn.MaxPool2d(2)]
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=pad), nn.SiLU(), nn.BatchNorm2d(c_out),
                       nn.Conv2d(c_out, c_out, 3, padding=pad), nn.SiLU(),
                       nn.BatchNorm2d(c_out), nn.MaxPool2d(2)]
        if pad:  # "same" for the 2x2 kernel: pad one pixel after, explicitly
            layers.append(nn.ZeroPad2d((0, 1, 0, 1)))
        layers += [nn.Conv2d(w[-1], top, 2), nn.SiLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(top, dense), nn.SiLU(), nn.Dropout(dropout),
            nn.Linear(dense, dense), nn.SiLU(), nn.Dropout(dropout),
            nn.Linear(dense, 1),
        )

    def forward_after_conv1(self, z):
        """Logits from the output of :attr:`conv1`.

        Parameters
        ----------
        z : torch.Tensor, shape (batch, widths[0], lat, lon)
            ``conv1(x)`` (before any non-linearity).

        Returns
        -------
        logits : torch.Tensor, shape (batch,)
        """
        return self.head(self.features(z)).squeeze(-1)

    @property
    def field_limit(self):
        """Clip level in Gauss of the first layer."""
        return self.scaling.field_limit

    def scale(self, x):
        """The first layer: videos in Gauss clipped at ``±field_limit`` and scaled.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_frames, lat, lon)
            Videos in Gauss.

        Returns
        -------
        scaled : torch.Tensor
            The input of :attr:`conv1`, values in [-1, 1].
        """
        return self.scaling(x)

    def forward(self, x):
        """Logits of videos in Gauss.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_frames, lat, lon)
            Videos in Gauss (the first layer clips and scales them).

        Returns
        -------
        logits : torch.Tensor, shape (batch,)
        """
        _check_input(x, self.n_frames)
        return self.forward_after_conv1(self.conv1(self.scale(x)))


def _check_input(x, n_frames):
    if x.ndim != 4 or x.shape[1] != n_frames:
        raise ValueError(
            f"expected input (batch, {n_frames} frames, lat, lon); got {tuple(x.shape)}"
        )


# ----------------------------------------------------------------------------- 3-D CNN
class _PerStep(nn.Sequential):
    """Layers acting on every time step independently (kernel 1 in time)."""

    t_kernel = 1
    t_stride = 1

    def forward(self, h, start=0):
        return super().forward(h[:, :, start:] if start else h)


class _CausalTime(nn.Module):
    """A temporal operation made causal: kernel ``k``, stride ``s`` along time.

    The input is padded by ``k - s`` steps on the past side and, at the end,
    up to a multiple of ``s``; output step ``j`` then sees input steps
    ``j*s - (k - s) … j*s + s - 1``: it never depends on later steps.
    """

    def __init__(self, op, k, s, pad_value=0.0):
        super().__init__()
        self.op = op
        self.t_kernel = int(k)
        self.t_stride = int(s)
        self.pad_value = float(pad_value)

    def forward(self, h, start=0):
        """Output steps ``start, start + 1, …`` from the full-length input ``h``."""
        k, s = self.t_kernel, self.t_stride
        n_in = h.shape[2]
        n_out = -(-n_in // s)
        first = start * s - (k - s)
        left = max(0, -first)
        right = n_out * s - n_in
        h = h[:, :, max(first, 0):]
        if left or right:
            h = F.pad(h, (0, 0, 0, 0, left, right), value=self.pad_value)
        return self.op(h)


class VideoCNN3D(nn.Module):
    """A causal (2+1)-D convolutional network over ``(time, lat, lon)``.

    A true 3-D CNN (:class:`torch.nn.Conv3d` throughout) built to cost about
    twice the reference VGG rather than the ~20 GFLOP of a plain 3-D VGG:

    * stem: one 5×3×3 convolution with stride 5 in time (each output step
      summarizes 5 frames, 8 hours), swish, batch norm, 2×2 spatial max pool;
    * four factorized blocks: a 1×3×3 spatial convolution, swish, batch norm,
      a 3×1×1 temporal convolution, swish, batch norm, and a 2×2×2 max pool;
    * global max pooling over time and space, then the reference head
      (dense → swish → dropout, twice, → one logit).

    **Causality.** Every temporal convolution is padded on the past side only
    and every temporal pooling/stride groups ``s`` consecutive steps, so time
    step ``j`` of any layer depends only on input frames up to
    :meth:`last_frame_used` ``(n_frames)[layer][j]``. Spatial layers act on
    each time step independently.

    **Reusing activations of a prefix.** Because of this causality, a video
    that agrees with another one on frames ``0 … t`` shares every activation
    whose last frame used is ``≤ t``. :meth:`activations` runs the network once
    and keeps every layer's output; :meth:`forward_from_cache` then computes
    the logits of a modified video (e.g. frames after ``t`` replaced by frame
    ``t``) recomputing only the later time steps::

        net.eval()
        cache = net.activations(x)
        for t in range(n_frames):
            xt = x.clone()
            xt[:, t + 1:] = x[:, t:t + 1]
            logit_t = net.forward_from_cache(xt, cache, t)

    Both require evaluation mode (batch norm then acts per time step).

    Parameters
    ----------
    n_frames : int, default=225
        Frames per video.
    in_size : int or (int, int), default=90
        Patch size in pixels (only checked: any size of at least 1 works).
    widths : tuple of int, default=(16, 32, 64, 128, 256)
        Channels of the stem and of the four blocks.
    time_stride : int, default=5
        Frames per stem time step.
    time_kernel : int, default=3
        Kernel length of the temporal convolutions.
    dense : int, default=512
        Width of the two dense layers.
    dropout : float, default=0.5
        Dropout rate after each dense layer.
    field_limit : float, default=1000.0
        Clip level in Gauss of the first layer: the network sees
        ``clip(x, ±field_limit) / field_limit``.

    Attributes
    ----------
    scaling : FieldScaling
        The first layer (clip and scale).
    layers : torch.nn.ModuleList
        The causal layers, in order (each has ``t_kernel`` and ``t_stride``).

    Examples
    --------
    >>> import torch
    >>> from skflux.nn import VideoCNN3D
    >>> net = VideoCNN3D(n_frames=16, in_size=16, widths=(2, 4, 4, 8, 8), dense=8).eval()
    >>> x = 300 * torch.randn(1, 16, 16, 16)
    >>> cache = net.activations(x)
    >>> xt = x.clone()
    >>> xt[:, 10:] = x[:, 9:10]
    >>> torch.allclose(net(xt), net.forward_from_cache(xt, cache, 9), atol=1e-5)
    True
    """

    def __init__(self, n_frames=N_FRAMES, in_size=PATCH_SIZE, widths=(16, 32, 64, 128, 256),
                 time_stride=5, time_kernel=3, dense=512, dropout=0.5, field_limit=1000.0):
        super().__init__()
        self.scaling = FieldScaling(field_limit)
        lat, lon = _pair(in_size)
        if min(lat, lon) < 1 or int(n_frames) < 1:
            raise ValueError(f"empty video shape ({n_frames}, {lat}, {lon})")
        if len(tuple(widths)) < 2:
            raise ValueError(f"widths must hold the stem and at least one block; got {widths!r}")
        self.n_frames = int(n_frames)
        self.in_size = (lat, lon)
        w = list(widths)
        ts, tk = int(time_stride), int(time_kernel)
        layers = [
            _CausalTime(nn.Conv3d(1, w[0], (ts, 3, 3), stride=(ts, 1, 1), padding=(0, 1, 1)),
                        ts, ts),
            _PerStep(nn.SiLU(), nn.BatchNorm3d(w[0]),
                     nn.MaxPool3d((1, 2, 2), ceil_mode=True)),
        ]
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += [
                _PerStep(nn.Conv3d(c_in, c_out, (1, 3, 3), padding=(0, 1, 1)), nn.SiLU(),
                         nn.BatchNorm3d(c_out)),
                _CausalTime(nn.Conv3d(c_out, c_out, (tk, 1, 1)), tk, 1),
                _PerStep(nn.SiLU(), nn.BatchNorm3d(c_out)),
                _CausalTime(nn.MaxPool3d((2, 2, 2), ceil_mode=True), 2, 2,
                            pad_value=-math.inf),
            ]
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.Linear(w[-1], dense), nn.SiLU(), nn.Dropout(dropout),
            nn.Linear(dense, dense), nn.SiLU(), nn.Dropout(dropout),
            nn.Linear(dense, 1),
        )

    def _pool_head(self, h):
        return self.head(h.amax(dim=(2, 3, 4))).squeeze(-1)

    @property
    def field_limit(self):
        """Clip level in Gauss of the first layer."""
        return self.scaling.field_limit

    def forward(self, x):
        """Logits of videos in Gauss.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_frames, lat, lon)
            Videos in Gauss (the first layer clips and scales them).

        Returns
        -------
        logits : torch.Tensor, shape (batch,)
        """
        _check_input(x, self.n_frames)
        h = self.scaling(x).unsqueeze(1)
        for layer in self.layers:
            h = layer(h)
        return self._pool_head(h)

    def last_frame_used(self, n_frames=None):
        """Last input frame each time step of each layer depends on.

        Parameters
        ----------
        n_frames : int, optional
            Frames per video (default: ``self.n_frames``).

        Returns
        -------
        bounds : list of ndarray of int
            ``bounds[0]`` is ``arange(n_frames)`` (the input); ``bounds[l]``
            gives, for every time step of the output of ``layers[l - 1]``, the
            largest input frame index it depends on.
        """
        n = self.n_frames if n_frames is None else int(n_frames)
        bounds = [np.arange(n)]
        for layer in self.layers:
            prev = bounds[-1]
            k_s = layer.t_stride
            n_out = -(-prev.size // k_s)
            last_in = np.minimum(np.arange(n_out) * k_s + k_s - 1, prev.size - 1)
            bounds.append(prev[last_in])
        return bounds

    def _check_eval(self):
        if self.training:
            raise RuntimeError(
                "activation reuse needs evaluation mode (batch norm per time step): "
                "call .eval() first"
            )

    @torch.no_grad()
    def activations(self, x):
        """Outputs of every layer for videos ``x`` in Gauss (evaluation mode).

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_frames, lat, lon)
            Videos in Gauss.

        Returns
        -------
        cache : list of torch.Tensor
            ``cache[0]`` is the scaled input as ``(batch, 1, frame, lat, lon)``,
            ``cache[l]`` the output of ``layers[l - 1]``,
            ``(batch, channels, steps, lat', lon')``.
        """
        self._check_eval()
        _check_input(x, self.n_frames)
        cache = [self.scaling(x).unsqueeze(1)]
        for layer in self.layers:
            cache.append(layer(cache[-1]))
        return cache

    @torch.no_grad()
    def forward_from_cache(self, x, cache, t):
        """Logits of videos that agree with the cached ones on frames ``0 … t``.

        Only the time steps whose :meth:`last_frame_used` is after ``t`` are
        recomputed; the others are read from ``cache``. The result equals
        ``self(x)`` up to floating-point rounding.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_frames, lat, lon)
            Videos in Gauss, equal to the cached ones on frames ``0 … t``.
        cache : list of torch.Tensor
            Output of :meth:`activations` on the original videos.
        t : int
            Last frame shared with the cached videos.

        Returns
        -------
        logits : torch.Tensor, shape (batch,)
        """
        self._check_eval()
        _check_input(x, self.n_frames)
        if len(cache) != len(self.layers) + 1 or cache[0].shape[0] != x.shape[0]:
            raise ValueError("cache does not come from activations() on a batch of this size")
        t = int(t)
        bounds = self.last_frame_used(x.shape[1])
        new = self.scaling(x[:, t + 1:]).unsqueeze(1)
        n_prev = min(t + 1, x.shape[1])
        for i, layer in enumerate(self.layers, start=1):
            n_keep = int(np.count_nonzero(bounds[i] <= t))
            full_in = torch.cat([cache[i - 1][:, :, :n_prev], new], dim=2)
            if n_keep < bounds[i].size:
                new = layer(full_in, start=n_keep)
            else:  # nothing to recompute in this layer
                new = cache[i][:, :, n_keep:]
            n_prev = n_keep
        return self._pool_head(torch.cat([cache[-1][:, :, :n_prev], new], dim=2))


# ----------------------------------------------------------------------------- cost
def count_parameters(module, trainable_only=True):
    """Number of (trainable) parameters of a module.

    Parameters
    ----------
    module : torch.nn.Module
    trainable_only : bool, default=True

    Returns
    -------
    n : int

    Examples
    --------
    >>> from torch import nn
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def count_flops(module, input_shape, *, device="cpu"):
    """Floating-point operations of one forward pass, counted by torch.

    Uses :class:`torch.utils.flop_counter.FlopCounterMode`, which counts
    convolutions and matrix products (2 FLOP per multiply-add) and ignores
    element-wise operations, normalization and pooling.

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int
        Shape of the input, batch included, e.g. ``(1, 225, 90, 90)``.
    device : str, default="cpu"

    Returns
    -------
    flops : int
        FLOP for the whole batch.

    Examples
    --------
    >>> from torch import nn
    >>> count_flops(nn.Linear(3, 2, bias=False), (1, 3))
    12
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = module.training
    module.eval()
    try:
        x = torch.zeros(input_shape, device=device)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            module(x)
    finally:
        module.train(was_training)
    return int(counter.get_total_flops())


__all__ = ["FieldScaling", "VideoVGG", "VideoCNN3D", "count_flops", "count_parameters",
           "scale_field"]
