"""Month-block cross-validation: split videos by calendar month, not at random.

Solar data are temporally coherent: two videos a few days apart often show the
same magnetic structures, so random train/validation splits overestimate skill.
Following Chatterjee et al. (Figure 2), videos are grouped by the calendar month
of their first frame:

* months 1–10 form the train+validation set, in five two-month blocks
  {1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}; each split validates on one block and
  trains on the four others (models 1–5 of the paper);
* months 11–12 are the test set and never appear in any split;
* the uncertainty ensemble (models 6–9) uses four blocks of months 1–8 and keeps
  months 9–10 aside as the benchmark set on which the decision threshold is set
  (:meth:`MonthBlockSplit.uncertainty`, :func:`month_block_sets`).

Months come from ``groups`` (integers 1–12 or datetimes) or, when ``groups`` is
None, from the ``month`` (else ``time``) coordinate of an xarray ``X``.
"""

import warnings
from collections import namedtuple

import numpy as np
from sklearn.model_selection import BaseCrossValidator

from ._validation import months_of

__all__ = ["MonthBlockSplit", "MonthBlockSets", "month_block_sets"]

#: The paper's five two-month blocks of the train+validation months 1–10.
DEFAULT_BLOCKS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))
#: The uncertainty ensemble's four blocks (months 9–10 are the benchmark set).
UNCERTAINTY_BLOCKS = ((1, 2), (3, 4), (5, 6), (7, 8))
#: A block holding fewer videos than this fraction of the median block warns.
SMALL_BLOCK_FRACTION = 0.5


def _check_month_list(months, what):
    """Validate an iterable of month numbers; return a tuple of ints."""
    if isinstance(months, (str, bytes)) or not np.iterable(months):
        raise TypeError(f"{what} must be an iterable of month numbers 1-12; got {months!r}")
    out = []
    for m in months:
        if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)):
            raise TypeError(f"{what} must hold integer months 1-12; got {m!r}")
        if not 1 <= int(m) <= 12:
            raise ValueError(f"{what} holds month {int(m)}, outside 1-12")
        out.append(int(m))
    if len(set(out)) != len(out):
        raise ValueError(f"{what} lists a month twice: {tuple(out)}")
    return tuple(out)


class MonthBlockSplit(BaseCrossValidator):
    """Cross-validator that validates on one block of calendar months at a time.

    Split ``k`` validates on the videos whose month is in block ``k`` and trains
    on the videos of every other block. Months no block covers (by default 11
    and 12, the test set) never appear in a split, neither in training nor in
    validation. Because of that the splits do not partition the whole data set;
    see the note on :func:`~sklearn.model_selection.cross_val_predict` below.

    Parameters
    ----------
    blocks : sequence of sequences of int, default ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))
        The month blocks, months 1–12, no month in two blocks, at least two
        blocks. One split per block.
    exclude : sequence of int, optional
        Months removed from every block (and hence from every split), e.g.
        ``exclude=(9, 10)`` on the default blocks keeps the benchmark set aside
        and leaves the four blocks of the uncertainty ensemble. A block left
        empty by the exclusion is dropped. Months that no block covers are
        excluded in any case.
    skip_single_class : bool, default=False
        What to do, when ``y`` is given to :meth:`split`, with a block whose
        videos all belong to one class (its validation scores, e.g. ROC AUC
        or the precision, are undefined: GridSearchCV would report NaN).
        False: keep the split and warn, naming the block and the missing
        class. True: skip the split (with a warning naming it);
        :meth:`get_n_splits` given the same ``y`` counts the splits kept.

    Notes
    -----
    A ``ValueError`` is raised when a block holds no videos, when months fall
    outside 1–12, or when the month of each video cannot be determined. A
    ``UserWarning`` is emitted when a block holds fewer than half as many
    videos as the median block, since its model then trains on much more and
    validates on much less data than the others, and when (``y`` given) a
    block holds only one class (see ``skip_single_class``).

    :func:`~sklearn.model_selection.cross_val_predict` requires every sample to
    be in exactly one validation block. Select the train+validation months
    first, e.g. ``idx = month_block_sets(X, train=range(1, 11), benchmark=()).train``
    and call ``cross_val_predict(clf, X[idx], y[idx], groups=months[idx], cv=cv)``:
    every train+validation video is then predicted exactly once, by the model
    that did not train on its block.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.model_selection import MonthBlockSplit
    >>> months = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    >>> cv = MonthBlockSplit()
    >>> cv.get_n_splits()
    5
    >>> for train, val in cv.split(np.zeros((12, 1)), groups=months):
    ...     print(months[val], len(train))
    [1 2] 8
    [3 4] 8
    [5 6] 8
    [7 8] 8
    [ 9 10] 8
    >>> MonthBlockSplit.uncertainty().get_n_splits()
    4
    """

    def __init__(self, blocks=DEFAULT_BLOCKS, exclude=None, skip_single_class=False):
        self.blocks = blocks
        self.exclude = exclude
        self.skip_single_class = skip_single_class

    @classmethod
    def uncertainty(cls):
        """The uncertainty ensemble's splitter (models 6–9 of the paper).

        Four blocks {1, 2}, {3, 4}, {5, 6}, {7, 8}; months 9–10 (the benchmark
        set) and 11–12 (the test set) never appear in a split.

        Returns
        -------
        cv : MonthBlockSplit
        """
        return cls(blocks=UNCERTAINTY_BLOCKS)

    def _blocks(self):
        """Validated blocks after exclusion, as a tuple of tuples."""
        if not isinstance(self.skip_single_class, (bool, np.bool_)):
            raise TypeError(
                f"skip_single_class must be True or False; got {self.skip_single_class!r}")
        blocks = self.blocks
        if isinstance(blocks, (str, bytes)) or not np.iterable(blocks):
            raise TypeError(f"blocks must be a sequence of month sequences; got {blocks!r}")
        blocks = [_check_month_list(b, f"block {k}") for k, b in enumerate(blocks)]
        seen = {}
        for k, b in enumerate(blocks):
            if not b:
                raise ValueError(f"block {k} is empty")
            for m in b:
                if m in seen:
                    raise ValueError(f"month {m} is in block {seen[m]} and block {k}")
                seen[m] = k
        exclude = () if self.exclude is None else _check_month_list(self.exclude, "exclude")
        blocks = [tuple(m for m in b if m not in exclude) for b in blocks]
        blocks = tuple(b for b in blocks if b)
        if len(blocks) < 2:
            raise ValueError(
                f"need at least 2 non-empty month blocks to cross-validate; got {blocks} "
                f"(blocks={self.blocks!r}, exclude={self.exclude!r})"
            )
        return blocks

    @property
    def months_used(self):
        """Sorted tuple of every month that appears in some split."""
        return tuple(sorted(m for b in self._blocks() for m in b))

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: one per (non-empty) month block.

        Parameters
        ----------
        X, y, groups : object, optional
            Only used with ``skip_single_class=True`` and ``y`` given: then the
            blocks holding a single class of ``y`` are not counted.

        Returns
        -------
        n_splits : int
        """
        blocks = self._blocks()
        if not self.skip_single_class or y is None:
            return len(blocks)
        block = self.block_of(X, y, groups)
        return len(blocks) - len(self._single_class_blocks(block, y, blocks))

    def _single_class_blocks(self, block, y, blocks):
        """``{block index: message}`` of the blocks whose videos hold one class of ``y``."""
        y = np.asarray(getattr(y, "values", y))
        if y.ndim != 1 or y.shape[0] != block.shape[0]:
            return {}  # not one label per video: nothing to say about classes
        classes = np.unique(y[block >= 0])
        out = {}
        for k in range(len(blocks)):
            present = np.unique(y[block == k])
            if present.size == 1 and classes.size > 1:
                missing = [c.item() if hasattr(c, "item") else c
                           for c in classes if c != present[0]]
                only = present[0].item() if hasattr(present[0], "item") else present[0]
                out[k] = (
                    f"month block {k} (months {list(blocks[k])}) holds only class {only!r} "
                    f"({int((block == k).sum())} videos): class {missing[0]!r} is missing"
                    f"{'' if len(missing) == 1 else f' (and {missing[1:]})'}, so scores such "
                    "as ROC AUC or precision on this block are undefined (GridSearchCV "
                    "reports NaN)"
                )
        return out

    def block_of(self, X=None, y=None, groups=None):
        """Index of the block of each video, ``-1`` for months in no block.

        Parameters
        ----------
        X : array-like or xarray.DataArray, optional
            Videos; its ``month``/``time`` coordinate is used when ``groups`` is None.
        y : object
            Ignored.
        groups : array-like of int or datetime64, optional
            Month (1–12) or datetime of each video.

        Returns
        -------
        block : ndarray of int, shape (n_videos,)
        """
        n = None if X is None or not hasattr(X, "__len__") else len(X)
        months = months_of(X, groups, n=n)
        lookup = np.full(13, -1, dtype=int)
        for k, b in enumerate(self._blocks()):
            lookup[list(b)] = k
        return lookup[months]

    def split(self, X=None, y=None, groups=None):
        """Generate indices of the training and validation videos of each split.

        Parameters
        ----------
        X : array-like or xarray.DataArray, optional
            Videos (only its length and, when ``groups`` is None, its
            ``month``/``time`` coordinate are used).
        y : array-like, optional
            Labels; when given, a block holding a single class is named in a
            warning (and skipped with ``skip_single_class=True``).
        groups : array-like of int or datetime64, optional
            Month (1–12) or datetime of each video.

        Yields
        ------
        train : ndarray of int
            Sorted indices of the training videos of the split.
        validation : ndarray of int
            Sorted indices of the validation videos (one month block).

        Raises
        ------
        ValueError
            If a block holds no videos, months fall outside 1–12, the month
            source is missing or its length differs from ``X``'s.
        """
        blocks = self._blocks()
        block = self.block_of(X, y, groups)
        counts = np.bincount(block[block >= 0], minlength=len(blocks))
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            k = int(empty[0])
            present = sorted(set(months_of(X, groups).tolist()))
            raise ValueError(
                f"month block {k} (months {list(blocks[k])}) holds no videos; months present: "
                f"{present}. Choose blocks that the data cover."
            )
        median = float(np.median(counts))
        small = np.flatnonzero(counts < SMALL_BLOCK_FRACTION * median)
        for k in small:
            warnings.warn(
                f"month block {int(k)} (months {list(blocks[k])}) holds {int(counts[k])} videos, "
                f"less than {SMALL_BLOCK_FRACTION:.0%} of the median block ({median:g} videos)",
                UserWarning, stacklevel=2,
            )
        single = {} if y is None else self._single_class_blocks(block, y, blocks)
        for message in single.values():
            action = ("skipped (skip_single_class=True)" if self.skip_single_class else
                      "pass skip_single_class=True to skip it, or choose other blocks")
            warnings.warn(f"{message}; {action}", UserWarning, stacklevel=2)
        if self.skip_single_class and len(single) == len(blocks):
            raise ValueError("every month block holds a single class of y; no split is left")
        for k in range(len(blocks)):
            if self.skip_single_class and k in single:
                continue
            val = np.flatnonzero(block == k)
            train = np.flatnonzero((block >= 0) & (block != k))
            yield train, val

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover - unused
        for _, val in self.split(X, y, groups):
            yield val


MonthBlockSets = namedtuple("MonthBlockSets", ["train", "benchmark", "test"])
MonthBlockSets.__doc__ = """Indices of the train+validation, benchmark and test videos.

Attributes
----------
train : ndarray of int
    Videos whose month is in the train+validation months.
benchmark : ndarray of int
    Videos of the benchmark months (threshold definition).
test : ndarray of int
    Videos of the test months.
"""


def month_block_sets(X=None, groups=None, *, train=tuple(range(1, 9)), benchmark=(9, 10),
                     test=(11, 12)):
    """Split a data set into train+validation, benchmark and test sets by month.

    The defaults follow the paper's uncertainty set-up: months 1–8 to train and
    validate the ensemble, months 9–10 to set the decision threshold, months
    11–12 to test. For the relabeling set-up use ``train=range(1, 11),
    benchmark=()``.

    Parameters
    ----------
    X : array-like or xarray.DataArray, optional
        Videos with a ``month``/``time`` coordinate, or, when ``groups`` is None
        and ``X`` has no coordinates, the month numbers (or datetimes) themselves.
    groups : array-like of int or datetime64, optional
        Month (1–12) or datetime of each video.
    train, benchmark, test : iterable of int
        Months of each set; the three must be disjoint.

    Returns
    -------
    sets : MonthBlockSets
        Named tuple ``(train, benchmark, test)`` of sorted index arrays. Videos
        whose month is in none of the three sets are in no array.

    Raises
    ------
    ValueError
        If the sets overlap, months fall outside 1–12, or the months of the
        videos cannot be determined.

    Examples
    --------
    >>> from skflux.model_selection import month_block_sets
    >>> sets = month_block_sets([1, 9, 11, 3, 10, 12])
    >>> sets.train, sets.benchmark, sets.test
    (array([0, 3]), array([1, 4]), array([2, 5]))
    """
    sets = {name: _check_month_list(months, name)
            for name, months in (("train", train), ("benchmark", benchmark), ("test", test))}
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = sorted(set(sets[a]) & set(sets[b]))
            if common:
                raise ValueError(f"months {common} are in both the {a} and the {b} set")
    if groups is None and X is not None and not hasattr(X, "coords"):
        months = months_of(groups=X)
    else:
        n = None if X is None or not hasattr(X, "__len__") else len(X)
        months = months_of(X, groups, n=n)
    return MonthBlockSets(*(np.flatnonzero(np.isin(months, sets[name])) for name in names))
