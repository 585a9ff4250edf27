"""Fitting and running the members of a :class:`skflux.MonthBlockEnsemble` (private).

The ensemble trains one clone of a classifier per month-block split and seed,
validated on the block it did not train on, as the paper does ("train the model
for each combination until validation accuracy reaches maximum"); the
relabeler's passes are ensembles too. This module holds the steps: indexing
videos without loading them, seeding a clone, telling it about its validation
block, and the seeds themselves.
"""

import inspect
import sys

import numpy as np

from ._schema import VIDEO_DIM
from ._validation import POSITION, _is_dataarray, _is_tensor


def take(X, idx):
    """Videos ``idx`` of ``X``, keeping DataArrays lazy and tensors tensors."""
    idx = np.asarray(idx, dtype=np.intp)
    if _is_dataarray(X):
        dim = VIDEO_DIM if VIDEO_DIM in X.dims else X.dims[0]
        # keep each video's position in the caller's X, so messages name that one
        position = X[POSITION].values[idx] if POSITION in X.coords else idx
        return X.isel({dim: idx}).assign_coords({POSITION: (dim, position)})
    if _is_tensor(X):
        import torch

        return X[torch.as_tensor(idx)]
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, idx)


def member_seeds(base_seed, n_splits, n_seeds):
    """Seeds of the members: ``seeds[k][s]`` for split ``k`` and realization ``s``.

    Each is drawn by :class:`numpy.random.SeedSequence` from ``(base_seed, k,
    s)``, so a member's seed depends only on the base seed and its place, not
    on how many splits or seeds there are.
    """
    return [[int(np.random.SeedSequence([int(base_seed), k, s]).generate_state(1)[0] >> 1)
             for s in range(n_seeds)] for k in range(n_splits)]


def draw_base_seed(random_state):
    """The base seed of :func:`member_seeds`, drawn from ``random_state``."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def is_skorch_net(est):
    """Whether ``est`` is a skorch ``NeuralNet`` (without importing skorch)."""
    skorch = sys.modules.get("skorch")
    return skorch is not None and isinstance(est, skorch.NeuralNet)


def is_torch_member(m):
    """Whether ``m`` is a fitted net whose ``module_`` maps Gauss videos to logits."""
    return is_skorch_net(m) and callable(getattr(getattr(m, "module_", None), "forward", None))


def validation_mode(est):
    """How a member is told about its validation block.

    ``"fit_kwargs"``: ``fit`` accepts ``X_valid``/``y_valid``;
    ``"train_split"``: a skorch net, validated through ``predefined_split``;
    ``"none"``: any other classifier, which trains on the training part only.
    """
    try:
        params = inspect.signature(est.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = {}
    if "X_valid" in params and "y_valid" in params:
        return "fit_kwargs"
    if is_skorch_net(est) and "train_split" in est.get_params(deep=False):
        return "train_split"
    return "none"


def _random_state_keys(est):
    """``random_state`` parameters of ``est`` and of its nested estimators."""
    return [k for k in est.get_params(deep=True)
            if k == "random_state" or k.endswith("__random_state")]


def seed_mode(est):
    """How a member is seeded: ``"random_state"``, ``"torch.manual_seed"`` or ``"none"``.

    ``"random_state"`` sets every ``random_state`` parameter, nested ones (e.g.
    the steps of a :class:`~sklearn.pipeline.Pipeline`) included.
    """
    if _random_state_keys(est):
        return "random_state"
    if is_skorch_net(est):
        return "torch.manual_seed"
    return "none"


def _accepts_groups(est):
    try:
        return "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def fit_member(est, X, y, train, val, seed, fit_params, groups=None):
    """Fit ``est`` (a clone) on ``train``, validating on ``val`` where it can.

    Parameters
    ----------
    est : estimator
        An unfitted clone; fitted in place.
    X : array-like, tensor or DataArray of videos
    y : ndarray of shape (n_videos,)
    train, val : ndarray of int
        Positions of the training videos and of the validation block.
    seed : int
        The member's seed (``random_state`` parameters, or torch's global seed
        for a skorch net without ``random_state``).
    fit_params : dict
        Passed to ``fit``.
    groups : array-like of shape (n_videos,), optional
        Passed (restricted to ``train``) to a ``fit`` that takes ``groups``.

    Returns
    -------
    est : estimator
        The fitted member.
    mode : str
        How it was validated (:func:`validation_mode`).
    seeded_by : str
        How it was seeded (:func:`seed_mode`).
    """
    mode = validation_mode(est)
    how = seed_mode(est)
    if how == "random_state":
        est.set_params(**{k: int(seed) for k in _random_state_keys(est)})
    params = dict(fit_params)
    if groups is not None and "groups" not in params and _accepts_groups(est):
        params["groups"] = np.asarray(groups)[train]
    X_tr, y_tr = take(X, train), y[train]

    def fit():
        if mode == "fit_kwargs":
            est.fit(X_tr, y_tr, X_valid=take(X, val), y_valid=y[val], **params)
        elif mode == "train_split":
            from skorch.helper import predefined_split

            # the validation block replaces any internal split (e.g. the skflux
            # classifier's ``valid_months``) for this fit only
            original = {"train_split": est.train_split}
            if "valid_months" in est.get_params(deep=False):
                original["valid_months"] = est.valid_months
                est.valid_months = None
            est.train_split = predefined_split(est.get_dataset(take(X, val), y[val]))
            try:
                est.fit(X_tr, y_tr, **params)
            finally:
                for key, value in original.items():  # keep no validation data alive
                    setattr(est, key, value)
        else:
            est.fit(X_tr, y_tr, **params)

    if how == "torch.manual_seed":
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            fit()
    else:
        fit()
    return est, mode, how
