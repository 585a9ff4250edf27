"""Feeding videos to torch: one Dataset for numpy, torch and lazy xarray input (private)."""

import numpy as np
import torch

from .._validation import _is_dataarray, _is_tensor, video_name


def scale_field(x, field_limit):
    """Clip a field tensor at ``±field_limit`` Gauss and scale it to [-1, 1].

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


def worker_init(worker_id):
    """Make a forked DataLoader worker safe for lazy (dask/NetCDF) DataArrays.

    A forked process inherits dask's thread pool without its threads (reading
    would hang) and the parent's open NetCDF handles: use dask's synchronous
    scheduler and let xarray reopen files in the worker.
    """
    import sys

    if "dask" in sys.modules:
        import dask

        dask.config.set(scheduler="synchronous")
    if "xarray" in sys.modules:
        from xarray.backends import file_manager

        file_manager.FILE_CACHE.clear()


def iter_video_batches(X, batch_size=10, num_workers=0):
    """Yield float32 tensors ``(batch, frame, lat, lon)`` of raw field, in order.

    Every video is read once; ``num_workers`` DataLoader processes read ahead.

    Parameters
    ----------
    X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
        Videos in Gauss; a lazy DataArray is read one video at a time.
    batch_size : int, default=10
    num_workers : int, default=0
        Worker processes reading ahead.

    Yields
    ------
    xb : torch.Tensor, shape (batch, frame, lat, lon)
        Raw (unscaled) float32 field; scale with :func:`scale_field`.

    Examples
    --------
    >>> import numpy as np
    >>> [tuple(b.shape) for b in iter_video_batches(np.zeros((3, 2, 4, 4)), batch_size=2)]
    [(2, 2, 4, 4), (1, 2, 4, 4)]
    """
    loader = torch.utils.data.DataLoader(
        VideoDataset(X), batch_size=batch_size, shuffle=False, num_workers=num_workers,
        worker_init_fn=worker_init if num_workers else None,
    )
    for xb, _ in loader:
        yield xb
