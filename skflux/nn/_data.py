"""Feeding videos to torch: one Dataset for numpy, torch and lazy xarray input (private)."""

import numpy as np
import torch

from .._validation import _is_dataarray, _is_tensor, video_name


class VideoDataset(torch.utils.data.Dataset):
    """Videos (and optional labels) as raw float32 tensors.

    ``dataset[i]`` is ``(video, label)`` with ``video`` of shape ``(frame,
    lat, lon)``; ``dataset[[i, j, ...]]`` reads a whole batch at once and
    returns ``(videos, labels)`` with a leading batch axis (used with a
    :class:`torch.utils.data.BatchSampler` and ``batch_size=None``). A lazy
    :class:`xarray.DataArray` (e.g. from :func:`skflux.io.open_videos`) is
    read only for the requested videos, so the whole set is never
    materialized.

    Parameters
    ----------
    X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
        Videos in Gauss.
    y : array-like of shape (video,), optional
        Labels (returned as float32; 0 when absent).
    check_finite : bool, default=True
        Raise on NaN/inf in the videos read (skip for input already checked).

    Raises
    ------
    ValueError
        When a video read holds NaN or inf (the message names the video).

    Examples
    --------
    >>> import numpy as np
    >>> ds = VideoDataset(np.zeros((3, 2, 4, 4)), y=[0, 1, 1])
    >>> video, label = ds[1]
    >>> tuple(video.shape), float(label)
    ((2, 4, 4), 1.0)
    >>> videos, labels = ds[[2, 0]]
    >>> tuple(videos.shape), labels.tolist()
    ((2, 2, 4, 4), [1.0, 0.0])
    """

    def __init__(self, X, y=None, check_finite=True):
        self.X = X
        self.y = None if y is None else np.asarray(y)
        self.check_finite = check_finite

    def __len__(self):
        return len(self.X)

    def _read(self, index):
        X = self.X
        if _is_dataarray(X):
            return torch.from_numpy(np.asarray(X[index].values, dtype=np.float32))
        if _is_tensor(X):
            return X[index].float()
        return torch.from_numpy(np.asarray(X[index], dtype=np.float32))

    def _check(self, v, index):
        if self.check_finite and not bool(torch.isfinite(v).all()):
            if np.ndim(index) == 0:
                bad = int(index)
            else:
                per_video = torch.isfinite(v).flatten(1).all(1)
                bad = int(np.asarray(index)[int((~per_video).nonzero()[0, 0])])
            raise ValueError(
                f"{video_name(self.X, bad)} contains NaN or inf; fill gaps and off-limb pixels "
                "first (skflux.preprocessing)"
            )
        return v

    def _get(self, i):
        return self._check(self._read(i), i)

    def __getitem__(self, i):
        if np.ndim(i) == 0:
            yi = torch.tensor(0.0) if self.y is None else torch.tensor(float(self.y[i]))
            return self._get(i), yi
        index = np.asarray(i, dtype=np.int64)
        if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
            v = self._read(slice(int(index[0]), int(index[0]) + index.size))  # a view: no copy
        else:
            v = self._read(index)
        v = self._check(v, index)
        if self.y is None:
            yb = torch.zeros(len(index))
        else:
            yb = torch.from_numpy(self.y[index].astype(np.float32))
        return v, yb


def batch_loader(dataset, *, batch_size, shuffle=False, generator=None, num_workers=0,
                 pin_memory=False):
    """A DataLoader yielding ``(videos, labels)`` batches read in one go.

    Datasets that accept a list of indices (:class:`VideoDataset` and its
    :class:`torch.utils.data.Subset`) are read batch by batch (one indexing
    operation and one copy per batch); others video by video.
    """
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    common = dict(num_workers=num_workers, pin_memory=pin_memory,
                  persistent_workers=num_workers > 0,
                  worker_init_fn=worker_init if num_workers else None)
    if isinstance(base, VideoDataset):
        sampler = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
                   else torch.utils.data.SequentialSampler(dataset))
        batches = torch.utils.data.BatchSampler(sampler, batch_size, drop_last=False)
        return torch.utils.data.DataLoader(dataset, batch_size=None, sampler=batches, **common)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       generator=generator, **common)


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
        Raw float32 field in Gauss, as the modules take it (their first layer
        clips and scales).

    Examples
    --------
    >>> import numpy as np
    >>> [tuple(b.shape) for b in iter_video_batches(np.zeros((3, 2, 4, 4)), batch_size=2)]
    [(2, 2, 4, 4), (1, 2, 4, 4)]
    """
    for xb, _ in batch_loader(VideoDataset(X), batch_size=batch_size, num_workers=num_workers):
        yield xb


def _shape_text(shape):
    return "×".join(str(int(s)) for s in shape)


def check_video_shape(X, expected, *, name="X", model="the model"):
    """Refuse videos whose ``(frame, lat, lon)`` differ from a model's input shape.

    Parameters
    ----------
    X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
        Checked videos (4-D).
    expected : tuple of 3 int or None
        The model's input shape ``(frame, lat, lon)``; None skips the check.
    name : str, default="X"
        Name of the argument, for the message.
    model : str, default="the model"
        What the shape belongs to, for the message.

    Raises
    ------
    ValueError
        Naming both shapes, the first video and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> check_video_shape(np.zeros((2, 8, 20, 20)), (8, 16, 16))
    Traceback (most recent call last):
    ...
    ValueError: X holds videos of 8×20×20 (frame×lat×lon; first: video 0) but the model ...
    """
    if expected is None:
        return
    shape = tuple(int(s) for s in X.shape[1:])
    expected = tuple(int(s) for s in expected)
    if shape != expected:
        raise ValueError(
            f"{name} holds videos of {_shape_text(shape)} (frame×lat×lon; first: "
            f"{video_name(X, 0)}) but {model} was trained on videos of "
            f"{_shape_text(expected)}: {resample_hint(expected)}"
        )


def resample_hint(expected):
    """The fix for videos of the wrong shape: how to bring them to ``expected``.

    Parameters
    ----------
    expected : tuple of int
        The model's input shape ``(frame,)`` or ``(frame, lat, lon)``.

    Returns
    -------
    hint : str

    Examples
    --------
    >>> resample_hint((48, 32, 32))
    'resample them with skflux.preprocessing.Resample(n_frames=48, size=32) (command line: ...'
    """
    expected = tuple(int(s) for s in expected)
    if len(expected) == 3 and expected[1] == expected[2]:
        call = f"Resample(n_frames={expected[0]}, size={expected[1]})"
    else:  # frames only, or a non-square patch (Resample's size is square)
        call = f"Resample(n_frames={expected[0]})"
    return (f"resample them with skflux.preprocessing.{call} (command line: --resample) or "
            f"re-cut them to {_shape_text(expected)}")
