"""Feeding videos to torch: one Dataset for numpy, torch and lazy xarray input (private)."""

import numpy as np
import torch

from .._validation import _is_dataarray, _is_tensor, video_name


def scale_field(x, field_limit):
    """Clip a field tensor at ``±field_limit`` Gauss and scale it to [-1, 1]."""
    return torch.clamp(x, -field_limit, field_limit) / field_limit


class VideoDataset(torch.utils.data.Dataset):
    """Videos (and optional labels) as float32 tensors of shape (frame, lat, lon).

    A lazy :class:`xarray.DataArray` (e.g. from :func:`skflux.io.open_videos`)
    is read one video at a time, so the whole set is never materialized.
    Non-finite values raise a ``ValueError`` naming the video.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = None if y is None else np.asarray(y)

    def __len__(self):
        return len(self.X)

    def _get(self, i):
        X = self.X
        if _is_dataarray(X):
            v = torch.from_numpy(np.asarray(X[i].values, dtype=np.float32))
        elif _is_tensor(X):
            v = X[i].float()
        else:
            v = torch.from_numpy(np.asarray(X[i], dtype=np.float32))
        if not bool(torch.isfinite(v).all()):
            raise ValueError(
                f"{video_name(X, i)} contains NaN or inf; fill gaps and off-limb pixels "
                "first (skflux.preprocessing)"
            )
        return v

    def __getitem__(self, i):
        yi = torch.tensor(0.0) if self.y is None else torch.tensor(float(self.y[i]))
        return self._get(i), yi


def iter_video_batches(X, batch_size=10, num_workers=0):
    """Yield float32 tensors ``(batch, frame, lat, lon)`` of raw field, in order.

    Every video is read once; ``num_workers`` DataLoader processes read ahead.
    """
    loader = torch.utils.data.DataLoader(
        VideoDataset(X), batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    for xb, _ in loader:
        yield xb
