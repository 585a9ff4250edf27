"""Fitting one cross-validation member: shared by the ensemble and the relabeler.

Both :class:`skflux.MonthBlockEnsemble` and :class:`skflux.IterativeRelabeler`
train one clone of a classifier per month-block split (and seed) and validate it
on the block it did not train on, as the paper does ("train the model for each
combination until validation accuracy reaches maximum"). This module holds the
one implementation of that step: indexing videos without loading them, seeding a
clone, and telling it about its validation block.
"""

import inspect
import sys

import numpy as np

from ._schema import VIDEO_DIM
from ._validation import _is_dataarray, _is_tensor


def take(X, idx):
    """Videos ``idx`` of ``X``, keeping DataArrays lazy and tensors tensors."""
    idx = np.asarray(idx, dtype=np.intp)
    if _is_dataarray(X):
        dim = VIDEO_DIM if VIDEO_DIM in X.dims else X.dims[0]
        return X.isel({dim: idx})
    if _is_tensor(X):
        import torch

        return X[torch.as_tensor(idx)]
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, idx)


def is_skorch_net(est):
    """Whether ``est`` is a skorch ``NeuralNet`` (without importing skorch)."""
    skorch = sys.modules.get("skorch")
    return skorch is not None and isinstance(est, skorch.NeuralNet)


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


def proba1(est, X):
    """Probability of class 1 from a fitted classifier, shape (n_videos,)."""
    if not hasattr(est, "predict_proba"):
        raise TypeError(
            f"the estimator {type(est).__name__} has no predict_proba; probabilities are "
            "needed")
    P = np.asarray(est.predict_proba(X), dtype=float)
    if P.ndim == 1:
        return P
    classes = list(getattr(est, "classes_", [0, 1]))
    if 1 not in classes:
        return np.zeros(P.shape[0])
    return P[:, classes.index(1)]
