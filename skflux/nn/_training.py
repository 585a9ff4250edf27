"""Training pieces of the classifier: augmentation, batches, validation split (private)."""

import numpy as np
import torch
from skorch.callbacks import EarlyStopping

from .._validation import months_of
from ._data import batch_loader, is_lazy, prefetch

__all__ = ["Batches", "OptionalEarlyStopping", "four_versions", "logit_to_proba", "split_index",
           "valid_accuracy"]


class OptionalEarlyStopping(EarlyStopping):
    """EarlyStopping that stands aside when there is no validation set."""

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return
        super().on_epoch_end(net, **kwargs)


def valid_accuracy(net, X, y):
    """Validation accuracy against the 0/1-encoded labels the network trains on.

    ``net.predict`` returns the caller's labels (e.g. strings); the validation
    set holds the encoded ones (1 = ``pos_label_``), so compare there.
    """
    p = net.predict_proba(X)[:, net._pos_column()]
    return float(np.mean((p >= net.threshold) == (np.asarray(y) == 1)))


def four_versions(xb):
    """The four versions of a batch of raw videos seen in training.

    The original, the polarity flip, the latitude flip and both (the order of
    the authors' data generator).

    Parameters
    ----------
    xb : torch.Tensor, shape (batch, frame, lat, lon)

    Returns
    -------
    versions : list of 4 torch.Tensor

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[[1.0], [2.0]]]])  # one video, 1 frame, 2 lat, 1 lon
    >>> [v.flatten().tolist() for v in four_versions(x)]
    [[1.0, 2.0], [-1.0, -2.0], [2.0, 1.0], [-2.0, -1.0]]
    """
    flipped = xb.flip(-2)
    return [xb, -xb, flipped, -flipped]


class Batches:
    """Re-iterable batches of ``(raw videos, labels)`` for one fit or prediction.

    One DataLoader (with persistent workers) serves every epoch and reads
    each batch in one go; with ``augment``, each batch read is moved to the
    device once and expanded there into its four versions, so every epoch
    sees every training video four times while reading it once. Lazy
    (on-disk) videos read in this process are read and decoded by a
    background thread, two batches ahead of the network
    (:func:`~skflux.nn._data.prefetch`).
    """

    def __init__(self, dataset, *, batch_size, shuffle, augment, num_workers, seed, device):
        generator = None
        if shuffle:
            generator = torch.Generator()
            generator.manual_seed(int(seed))
        self.augment = augment
        self.device = device
        self.prefetch = num_workers == 0 and is_lazy(dataset)
        self.loader = batch_loader(
            dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
            num_workers=num_workers,
            # pinning costs a copy: worth it only when workers pin while the GPU computes
            pin_memory=num_workers > 0 and str(device).startswith("cuda"),
        )

    def __len__(self):
        return len(self.loader) * (4 if self.augment else 1)

    def __iter__(self):
        for xb, yb in (prefetch(self.loader) if self.prefetch else self.loader):
            if self.augment:
                xb = xb.to(self.device, non_blocking=True)
                for version in four_versions(xb):
                    yield version, yb
            else:
                yield xb, yb


def logit_to_proba(logits):
    """Columns P(negative class), P(positive class) from logits of shape (batch,)."""
    p = torch.sigmoid(logits.reshape(-1))
    return torch.stack((1 - p, p), dim=1)


def _no_split(n):
    return np.arange(n), np.array([], dtype=int), ()


def _held_months(X, groups, valid_months, n):
    """Months held out for validation and every video's month (None: no split)."""
    if isinstance(valid_months, str):  # "auto"
        try:
            months = months_of(X, groups, n=n)
        except ValueError:
            return None, None
        distinct = np.unique(months)
        if distinct.size < 2:
            return None, None
        return distinct[-max(1, round(distinct.size / 5)):], months
    held = np.unique(np.asarray(valid_months, dtype=int).ravel())
    bad = held[(held < 1) | (held > 12)]
    if bad.size:
        raise ValueError(f"valid_months must be calendar months 1-12; got {bad.tolist()}")
    return held, months_of(X, groups, n=n)


def split_index(X, groups, valid_months):
    """Training and validation video indices and the months held out.

    Parameters
    ----------
    X : videos (months read from their ``month``/``time`` coordinates)
    groups : array-like or None
        Month or datetime of each video.
    valid_months : "auto", None or sequence of int
        See :class:`~skflux.FluxEmergenceClassifier`.

    Returns
    -------
    train_index, valid_index : ndarray of int
    held : tuple of int
    """
    n = len(X)
    if valid_months is None:
        return _no_split(n)
    held, months = _held_months(X, groups, valid_months, n)
    if held is None:
        return _no_split(n)
    is_valid = np.isin(months, held)
    if not is_valid.any():
        raise ValueError(
            f"no video falls in the validation months {held.tolist()}; months present: "
            f"{np.unique(months).tolist()}"
        )
    if is_valid.all():
        raise ValueError(
            f"every video falls in the validation months {held.tolist()}: no training "
            "videos left; choose other valid_months or valid_months=None"
        )
    return np.flatnonzero(~is_valid), np.flatnonzero(is_valid), tuple(int(m) for m in held)
