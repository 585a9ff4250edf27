"""Torch modules: the reference video VGG (frames as channels) and a 3-D CNN."""

import torch
from torch import nn


def _conv_bn_swish(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.SiLU()]


class VideoVGG(nn.Module):
    """The reference VGG of Chatterjee et al.: a video's frames are input channels.

    3×3 convolutions (32, 32 | pool | 64, 64 | pool | 128, 128 | pool | 256, 256
    | pool | 512), each followed by batch norm and swish (``x·sigmoid(x)``),
    global max pooling, dense 512 → 512 with dropout 0.5, and one logit.

    Any ``(n_frames, lat, lon)`` input size works: the spatial size only has to
    survive the four 2×2 poolings (≥ 16 pixels).

    The first convolution ``conv1`` is linear in the input frames; the emergence
    time locator relies on the split ``forward = forward_after_conv1(conv1(x))``.

    Parameters
    ----------
    n_frames : int
        Frames per video (input channels).
    widths : tuple of int
        Channels of the four convolution stages.
    top : int
        Channels of the last convolution.
    dense : int
        Width of the two dense layers.
    dropout : float
        Dropout rate of the dense layers.
    """

    def __init__(self, n_frames=225, widths=(32, 64, 128, 256), top=512, dense=512,
                 dropout=0.5):
        super().__init__()
        self.n_frames = n_frames
        w = list(widths)
        self.conv1 = nn.Conv2d(n_frames, w[0], 3, padding=1)
        layers = [nn.BatchNorm2d(w[0]), nn.SiLU(), *_conv_bn_swish(w[0], w[0]), nn.MaxPool2d(2)]
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += [*_conv_bn_swish(c_in, c_out), *_conv_bn_swish(c_out, c_out),
                       nn.MaxPool2d(2)]
        layers += _conv_bn_swish(w[-1], top)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(top, dense), nn.SiLU(),
            nn.Dropout(dropout), nn.Linear(dense, 1),
        )

    def forward_after_conv1(self, z):
        """Logits from the (pre-batch-norm) output of :attr:`conv1`."""
        return self.head(self.features(z)).squeeze(-1)

    def forward(self, x):
        """Logits, shape ``(batch,)``, of scaled videos ``(batch, frame, lat, lon)``."""
        if x.ndim != 4 or x.shape[1] != self.n_frames:
            raise ValueError(
                f"expected input (batch, {self.n_frames} frames, lat, lon); got {tuple(x.shape)}"
            )
        return self.forward_after_conv1(self.conv1(x))


__all__ = ["VideoVGG"]
_ = torch  # torch is imported for type users of this module
