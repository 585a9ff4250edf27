"""Binary class labels: one validation for every skflux estimator (private).

Every estimator of skflux classifies videos into two classes. Their labels may be
any two values a scikit-learn classifier accepts (``0``/``1``, ``False``/``True``,
``-1``/``1``, ``"non-emergence"``/``"emergence"``...). :func:`check_binary_target`
validates them once, with scikit-learn's own target checks, and encodes them as
``1`` for the positive class (emergence) and ``0`` for the other.
"""

from typing import NamedTuple

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._validation import video_name

__all__ = ["EMERGENCE", "BinaryTarget", "check_binary_target", "decode", "default_pos_label"]

#: The label of the positive class when the labels are strings.
EMERGENCE = "emergence"


class BinaryTarget(NamedTuple):
    """Validated binary labels.

    Attributes
    ----------
    classes : ndarray of shape (2,)
        The two labels, sorted (scikit-learn's ``classes_``).
    pos_label : object
        The positive class (emergence).
    encoded : ndarray of int of shape (n_samples,)
        1 where the label is ``pos_label``, else 0.
    """

    classes: np.ndarray
    pos_label: object
    encoded: np.ndarray


def default_pos_label(classes):
    """The positive class among sorted ``classes``: ``"emergence"`` if present, else the last."""
    classes = np.asarray(classes)
    last = classes[-1]
    for c in classes:
        if isinstance(c, str) and c == EMERGENCE:
            last = c
    return last.item() if hasattr(last, "item") else last


def _as_numpy(y):
    if hasattr(y, "dims") and hasattr(y, "values"):  # xarray
        return np.asarray(y.values)
    if hasattr(y, "detach"):  # torch tensor
        return y.detach().cpu().numpy()
    return y


def _first_bad(mask, X, what):
    i = int(np.flatnonzero(mask)[0])
    return f"{video_name(X, i) if X is not None else f'video {i}'}: {what}"


def check_binary_target(y, *, pos_label=None, n_samples=None, X=None, classes=None):
    """Validate binary labels and encode them as 1 (positive class) / 0.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels: any two values (numbers, bools or strings). NaN or None are refused.
    pos_label : object, optional
        The positive class (emergence). Default: ``"emergence"`` when the labels
        are strings holding it, else the larger of the two labels (``1``, ``True``).
    n_samples : int, optional
        Expected number of labels (one per video of ``X``).
    X : array-like or xarray.DataArray, optional
        The videos, only to name a video at fault by its ``bmr_id``.
    classes : array-like of shape (2,), optional
        Known classes (e.g. a fitted estimator's ``classes_``): the labels must be
        among them, and may then hold only one of the two.

    Returns
    -------
    target : BinaryTarget
        ``(classes, pos_label, encoded)``.

    Raises
    ------
    ValueError
        If ``y`` is missing, not one label per video, holds missing values, more
        than two classes, or (without ``classes``) a single class; or if
        ``pos_label`` is not one of the classes. The message names the first
        video at fault.

    Examples
    --------
    >>> from skflux._targets import check_binary_target
    >>> t = check_binary_target(["emergence", "non-emergence", "emergence"])
    >>> t.classes.tolist(), t.pos_label, t.encoded.tolist()
    (['emergence', 'non-emergence'], 'emergence', [1, 0, 1])
    >>> check_binary_target([-1, 1, 1]).encoded.tolist()
    [0, 1, 1]
    """
    if y is None:
        raise ValueError(
            "requires y to be passed, but the target y is None: give one label per video "
            "(two classes, e.g. 0/1 or 'non-emergence'/'emergence'); for a DataArray pass "
            "e.g. X['label']"
        )
    y = column_or_1d(_as_numpy(y), warn=True)
    if n_samples is not None and y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} labels for {n_samples} videos")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(_first_bad(np.isnan(y), X, "label is NaN; every video needs a label"))
    if y.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in y])
        if missing.any():
            raise ValueError(_first_bad(missing, X, "label is missing"))
    check_classification_targets(y)
    present = np.unique(y)
    if classes is not None:
        classes = np.asarray(classes)
        unknown = ~np.isin(y, classes)
        if unknown.any():
            bad = y[np.flatnonzero(unknown)[0]]
            bad = bad.item() if hasattr(bad, "item") else bad
            raise ValueError(_first_bad(
                unknown, X, f"label {bad!r} is not one of the classes {classes.tolist()}"))
    else:
        classes = present
    if classes.size > 2:
        raise ValueError(
            "Only binary classification is supported: y must hold two classes "
            f"(emergence and non-emergence); got {classes.size} classes "
            f"{classes[:10].tolist()}"
        )
    if classes.size < 2:
        raise ValueError(
            f"y holds only one class ({classes.tolist()}); a classifier needs videos of both "
            "classes, emergence and non-emergence"
        )
    if pos_label is None:
        pos_label = default_pos_label(classes)
    elif pos_label not in classes.tolist():
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the classes {classes.tolist()}"
        )
    encoded = (y == pos_label).astype(int)
    return BinaryTarget(classes, pos_label, encoded)


def decode(encoded, target_or_classes, pos_label=None):
    """Labels in the original classes from 0/1 codes (1 = positive class).

    Parameters
    ----------
    encoded : array-like of {0, 1}
    target_or_classes : BinaryTarget or array-like of shape (2,)
    pos_label : object, optional
        Needed when ``target_or_classes`` is an array of classes.

    Returns
    -------
    labels : ndarray
        Same dtype as the classes.

    Examples
    --------
    >>> from skflux._targets import check_binary_target, decode
    >>> t = check_binary_target(["emergence", "non-emergence"])
    >>> decode([0, 1, 1], t).tolist()
    ['non-emergence', 'emergence', 'emergence']
    """
    if isinstance(target_or_classes, BinaryTarget):
        classes, pos_label = target_or_classes.classes, target_or_classes.pos_label
    else:
        classes = np.asarray(target_or_classes)
        if pos_label is None:
            pos_label = default_pos_label(classes)
    classes = np.asarray(classes)
    neg_label = classes[classes != pos_label][0]
    pos = classes[classes == pos_label][0]
    return np.where(np.asarray(encoded).astype(bool), pos, neg_label)
