"""Resuming a relabeling run from its review log: what was done, and checks that it fits."""

import hashlib
import json
import re

import numpy as np

from ._review_log import ReviewLog, ReviewLogError, labels_sha

__all__ = ["estimator_signature", "logged_verdicts", "open_log", "stored_pass",
           "stored_verdicts"]


# estimator parameters that do not change which models are trained
_RUNTIME_PARAMS = {"device", "verbose", "n_jobs", "num_workers"}


def _describe(value):
    """A JSON-able description of a parameter value, stable across processes."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = value.get_params(deep=False)
        return [type(value).__qualname__,
                {k: _describe(v) for k, v in sorted(params.items())
                 if k not in _RUNTIME_PARAMS and not k.startswith("_")
                 and not k.endswith("__verbose")}]
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, np.ndarray):
        return ["ndarray", list(value.shape), str(value.dtype),
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(_describe(v), sort_keys=True) for v in value)
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def estimator_signature(estimator):
    """Short hash of an estimator's class and parameters (runtime ones excepted).

    Two estimators with equal parameters (``device``, ``verbose``, ``n_jobs`` and
    ``num_workers`` aside) get the same signature in any process, so a review
    log can refuse to resume with another model.
    """
    text = json.dumps(_describe(estimator), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def open_log(review_log, fingerprint, config, base_seed):
    """Open (or create) the review log; None when there is none.

    Returns
    -------
    log : ReviewLog or None
        Open and locked for this process.
    base_seed : int
        The log's own base seed when it has one (a resumed fit trains the
        same models), else ``base_seed``.
    """
    if review_log is None:
        return None, base_seed
    log = review_log if isinstance(review_log, ReviewLog) else ReviewLog(review_log)
    log.open(fingerprint, config, seed=base_seed)
    return log, base_seed if log.seed is None else log.seed


def logged_verdicts(log):
    """``{pass: {video: (verdict, emergence_frame)}}`` of every verdict in the log."""
    logged = {}
    for row in [] if log is None else log.verdicts():
        logged.setdefault(row["pass"], {})[row["video"]] = (row["verdict"],
                                                            row["emergence_frame"])
    return logged


def stored_pass(log, pass_index, labels):
    """The pass as the log holds it (None if it was not trained), checked against ``labels``.

    Raises
    ------
    ReviewLogError
        When the pass started from other labels than those rebuilt from the
        verdicts, or holds probabilities for another number of videos.
    """
    stored = None if log is None else log.load_pass(pass_index)
    if stored is None:
        return None
    if stored["labels_sha"] != labels_sha(labels):
        raise ReviewLogError(
            f"review log {log.path}: pass {pass_index} started from other labels than those "
            "rebuilt from its verdicts; the log is inconsistent")
    if stored["oof_proba"].shape[0] != labels.shape[0]:
        raise ReviewLogError(f"review log {log.path}: pass {pass_index} has "
                             f"{stored['oof_proba'].shape[0]} probabilities for "
                             f"{labels.shape[0]} videos")
    return stored


def stored_verdicts(log, pass_index, stored, done, queue):
    """The pass's verdicts when the log holds all of them (a finished pass), else None.

    Raises
    ------
    ReviewLogError
        When the log has verdicts of this pass for videos it does not review
        (other settings), or a finished pass lacks some.
    """
    stray = set(done) - set(queue.tolist())
    if stray:
        raise ReviewLogError(
            f"review log has verdicts of pass {pass_index} for videos {sorted(stray)[:5]} "
            "that this pass does not review; was it written with other settings?")
    if stored is None or stored["stage"] != "done":
        return None
    if len(done) != len(queue):
        raise ReviewLogError(f"review log {log.path}: pass {pass_index} is marked finished "
                             f"but has {len(done)} of {len(queue)} verdicts")
    return done
