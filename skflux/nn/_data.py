"""Feeding videos to torch: one Dataset for numpy, torch and lazy xarray input (private)."""

import numpy as np
import torch

from .._schema import DIMS
from .._validation import _is_dataarray, _is_tensor, video_name


class VideoDataset(torch.utils.data.Dataset):
    """Videos (and optional labels) as raw float32 tensors.

    ``dataset[i]`` is ``(video, label)`` with ``video`` of shape ``(frame,
    lat, lon)``; ``dataset[[i, j, ...]]`` reads a whole batch at once and
    returns ``(videos, labels)`` with a leading batch axis (used with a
    :class:`torch.utils.data.BatchSampler` and ``batch_size=None``). A lazy
    :class:`xarray.DataArray` (e.g. from :func:`skflux.io.open_videos`) is
    read only for the requested videos, so the whole set is never
    materialized: a batch of a skflux NetCDF file or Zarr store (or of a
    selection of whole videos from one) is one chunk-aligned read unpacked
    in one pass (:func:`packed_source`); any other DataArray is computed by
    dask.

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

    @property
    def _source(self):
        # (field, rows) of a DataArray read straight from its store (packed_source), or None
        if "_packed" not in self.__dict__:
            self._packed = packed_source(self.X) if _is_dataarray(self.X) else None
        return self._packed

    def _read(self, index):
        """``(videos, finite)``: float32 tensor, and True where known to hold no NaN/inf."""
        X = self.X
        if _is_dataarray(X):
            source = self._source
            if source is not None:  # straight from the store, one read per batch
                field, rows = source
                rows = rows[index]
                values, missing = field.read_rows(rows)
                return torch.from_numpy(values[0] if np.ndim(rows) == 0 else values), \
                    not missing
            return torch.from_numpy(read_videos(X, index)), False
        if _is_tensor(X):
            return X[index].float(), False
        return torch.from_numpy(np.asarray(X[index], dtype=np.float32)), False

    def _check(self, v, finite, index):
        if not self.check_finite or finite:
            return v
        # numpy's isfinite is many times faster than torch's on CPU tensors
        finite = (np.isfinite(v.numpy()) if v.device.type == "cpu" and not v.requires_grad
                  else torch.isfinite(v).cpu().numpy())
        if not finite.all():
            if np.ndim(index) == 0:
                bad = int(index)
            else:
                per_video = finite.reshape(len(v), -1).all(1)
                bad = int(np.asarray(index)[int(np.flatnonzero(~per_video)[0])])
            raise ValueError(
                f"{video_name(self.X, bad)} contains NaN or inf; fill gaps and off-limb pixels "
                "first (skflux.preprocessing)"
            )
        return v

    def _get(self, i):
        return self._check(*self._read(i), i)

    def __getitem__(self, i):
        if np.ndim(i) == 0:
            yi = torch.tensor(0.0) if self.y is None else torch.tensor(float(self.y[i]))
            return self._get(i), yi
        index = np.asarray(i, dtype=np.int64)
        if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
            v, finite = self._read(slice(int(index[0]), int(index[0]) + index.size))  # no copy
        else:
            v, finite = self._read(index)
        v = self._check(v, finite, index)
        if self.y is None:
            yb = torch.zeros(len(index))
        else:
            yb = torch.from_numpy(self.y[index].astype(np.float32))
        return v, yb


def autocast_context(precision, device):
    """:func:`torch.autocast` to bfloat16 for ``precision="bf16"``, else a no-op context.

    Parameters
    ----------
    precision : {"float32", "bf16"}
    device : str or torch.device
        Where the network runs (its device type picks the autocast backend).

    Examples
    --------
    >>> import torch
    >>> with autocast_context("bf16", "cpu"):
    ...     torch.ones(2, 2) @ torch.ones(2, 2)
    tensor([[2., 2.],
            [2., 2.]], dtype=torch.bfloat16)
    """
    import contextlib

    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def read_videos(X, index):
    """Videos ``index`` of a DataArray as one float32 array, read in this process.

    A dask-backed (lazy) DataArray is computed with dask's synchronous
    scheduler: the batch is read here, by the thread that asked for it (a
    reader thread, a DataLoader worker), never shipped through a thread pool
    or a distributed client that happens to be the default.
    """
    part = X[index]
    if part.chunks is not None:
        part = part.compute(scheduler="synchronous")
    return np.asarray(part.values, dtype=np.float32)


def _alias_target(task):
    """The key a dask task merely renames (a whole chunk selected as is), else None."""
    target = getattr(task, "target", None)  # dask's Alias (dask >= 2024.12)
    if type(task).__name__ != "Alias" or target is None:
        return None
    return getattr(target, "key", target)


def packed_source(X):
    """The packed field behind a lazy DataArray and the store position of each video.

    Returns ``(field, rows)`` when ``X``'s values are, untouched, whole videos
    of a field opened by :func:`skflux.io.open_videos` (a NetCDF file or Zarr
    store written by skflux): the array as opened, or any selection of whole
    chunks along ``video`` (``isel(video=slice(...))``, chunk-aligned index
    lists) -- dask graphs of only the field and pure aliases of its chunks.
    Video ``i`` of ``X`` is then video ``rows[i]`` of the store, and a batch
    is read by :meth:`~skflux.io._packing.PackedRows.read_rows` in one go,
    without building or running a dask graph. Anything else (arithmetic,
    reductions, a selection inside a chunk, other stores) returns None: the
    caller computes the DataArray with dask.

    Parameters
    ----------
    X : xarray.DataArray

    Returns
    -------
    source : tuple (PackedRows, ndarray of int64) or None
    """
    from ..io._packing import PackedRows

    data = X.data
    if tuple(X.dims) != DIMS or X.dtype != np.float32 or not hasattr(data, "__dask_graph__"):
        return None
    try:
        graph = data.__dask_graph__()
        layers = graph.layers
        name, chunks = data.name, data.chunks
        keys = [(name, i, 0, 0, 0) for i in range(len(chunks[0]))]
        if any(len(c) != 1 for c in chunks[1:]):
            return None
        while True:
            original = layers.get("original-" + name)
            if original is not None:  # reached the store's array: its chunks are videos
                field = original["original-" + name]
                if not isinstance(field, PackedRows) or \
                        set(graph.dependencies.get(name, ())) != {"original-" + name}:
                    return None
                break
            layer = layers[name]
            deps = graph.dependencies.get(name, set())
            if len(deps) != 1:
                return None
            targets = [_alias_target(layer[k]) for k in keys]
            dep = next(iter(deps))
            if any(t is None or t[0] != dep or tuple(t[2:]) != (0, 0, 0) for t in targets):
                return None
            name, keys = dep, targets
        n = int(field.video_chunk)
        rows = [np.arange(k[1] * n, min((k[1] + 1) * n, field.shape[0])) for k in keys]
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return None  # a graph of another shape: dask computes it
    if rows.size != X.shape[0] or tuple(field.shape[1:]) != tuple(X.shape[1:]):
        return None
    return field, rows.astype(np.int64)


def is_lazy(X):
    """Whether ``X`` is read from disk when indexed (a dask-backed DataArray)."""
    if isinstance(X, torch.utils.data.Subset):
        X = X.dataset
    if isinstance(X, VideoDataset):
        X = X.X
    return _is_dataarray(X) and X.chunks is not None


def prefetch(iterable, depth=2):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead.

    Reading and decoding the next batches (NetCDF/Zarr decompression, int16
    unpacking, the finiteness check: numpy and HDF5 release the GIL) overlap
    with the network's work on the current one. Items come in order; an
    exception raised while producing an item is raised here, at that item;
    stopping early (``break``, an error in the consumer) stops the thread.

    Parameters
    ----------
    iterable : iterable
    depth : int, default=2
        Items read ahead (memory: ``depth + 1`` items at most).

    Yields
    ------
    item
        The items of ``iterable``, in order.

    Examples
    --------
    >>> list(prefetch(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    import queue
    import threading

    done = object()
    q = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in iterable:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))
            return
        put((done, None))

    thread = threading.Thread(target=work, name="skflux-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


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


def iter_video_batches(X, batch_size=10, num_workers=0, prefetch_batches=2):
    """Yield float32 tensors ``(batch, frame, lat, lon)`` of raw field, in order.

    Every video is read once; ``num_workers`` DataLoader processes read ahead.
    For a lazy DataArray read in this process (``num_workers=0``), a
    background thread reads and decodes the next ``prefetch_batches`` batches
    while the caller computes on the current one.

    Parameters
    ----------
    X : ndarray, torch.Tensor or xarray.DataArray, shape (video, frame, lat, lon)
        Videos in Gauss; a lazy DataArray is read one video at a time.
    batch_size : int, default=10
    num_workers : int, default=0
        Worker processes reading ahead.
    prefetch_batches : int, default=2
        Batches a reader thread keeps ready (lazy DataArrays, ``num_workers=0``);
        0 reads in the caller's thread.

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
    loader = batch_loader(VideoDataset(X), batch_size=batch_size, num_workers=num_workers)
    batches = (xb for xb, _ in loader)
    if num_workers == 0 and prefetch_batches and is_lazy(X):
        batches = prefetch(batches, prefetch_batches)
    yield from batches


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
