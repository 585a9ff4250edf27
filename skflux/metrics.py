"""Ensemble evaluation: percentile-based accuracy and stable/unstable inferences.

Chatterjee et al. classify a video with the median of the ensemble members'
probabilities and call an inference *stable* when the decision threshold lies
outside the members' 25th–75th percentile range (the classification would not
change if another percentile in that range were used), *unstable* otherwise.
They report the accuracy obtained with the median (83 %), the 25th (79 %) and
the 75th percentile (71 %) as classification metric.

Every figure ``skflux demo`` and :func:`skflux.report.build_report` quote is
computed here: :func:`accuracy_summary` (test accuracy), :func:`relabeling_summary`
(what a relabeling run corrected) and :func:`timed_emergences` (which videos
the timing errors are measured on).
"""

import numpy as np

from ._paper import STABILITY_BAND

__all__ = [
    "accuracy_summary", "ensemble_accuracy_report", "quantile_accuracy", "relabeling_summary",
    "stable_mask", "timed_emergences",
]


def _check_member_proba(member_proba):
    P = np.asarray(member_proba, dtype=float)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] == 0:
        raise ValueError(
            f"member_proba must be 2-D (members, videos) and non-empty; got shape {P.shape}"
        )
    if not np.all(np.isfinite(P)):
        raise ValueError("member_proba contains NaN or inf")
    return P


def _check_threshold(threshold):
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1]; got {threshold!r}")
    return t


def stable_mask(member_proba, threshold, band=STABILITY_BAND):
    """Which inferences are stable: the threshold lies outside the members' band.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_videos)
        Probability of the positive class from each ensemble member.
    threshold : float
        Decision threshold in [0, 1].
    band : tuple of float, default (0.25, 0.75)
        Lower and upper quantile of the members' probabilities.

    Returns
    -------
    stable : ndarray of bool, shape (n_videos,)
        True where ``threshold < q_low`` or ``threshold > q_high``; a threshold
        on the band's edge counts as inside (unstable).

    Raises
    ------
    ValueError
        On a badly shaped or non-finite ``member_proba``, a threshold outside
        [0, 1] or a band that is not increasing inside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.metrics import stable_mask
    >>> P = np.array([[0.1, 0.5, 0.9], [0.2, 0.7, 0.95], [0.3, 0.8, 0.99]])
    >>> stable_mask(P, 0.6)
    array([ True, False,  True])
    """
    P = _check_member_proba(member_proba)
    t = _check_threshold(threshold)
    lo, hi = band
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"band must be (low, high) with 0 <= low <= high <= 1; got {band!r}")
    q_lo, q_hi = np.quantile(P, [lo, hi], axis=0)
    return (t < q_lo) | (t > q_hi)


def quantile_accuracy(y_true, member_proba, threshold, q=0.5):
    """Accuracy when the members' ``q``-quantile is the classification metric.

    Parameters
    ----------
    y_true : array-like of shape (n_videos,)
        True labels, 1 (emergence) or 0 (or booleans).
    member_proba : array-like of shape (n_members, n_videos)
        Probability of the positive class from each ensemble member.
    threshold : float
        A video is positive when its quantile is ``>= threshold``.
    q : float, default 0.5
        Quantile of the members' probabilities (0.5: the median).

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from skflux.metrics import quantile_accuracy
    >>> quantile_accuracy([0, 1], [[0.2, 0.7], [0.4, 0.9]], 0.6)
    1.0
    """
    P = _check_member_proba(member_proba)
    y = _binary_truth(y_true, P.shape[1])
    pred = np.quantile(P, q, axis=0) >= _check_threshold(threshold)
    return float(np.mean(pred == y))


def _binary_truth(y_true, n, positive=1):
    y = np.asarray(y_true)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y has shape {y.shape}; expected ({n},) to match member_proba")
    return y == positive


def ensemble_accuracy_report(ensemble, X, y, *, quantiles=(0.25, 0.5, 0.75), band=STABILITY_BAND,
                             member_proba=None, threshold=None):
    """Accuracy with several percentiles as metric, and stable/unstable counts.

    Parameters
    ----------
    ensemble : MonthBlockEnsemble or None
        A fitted ensemble; its ``threshold_`` and ``classes_`` are used, and its
        :meth:`~skflux.MonthBlockEnsemble.predict_proba_members` when
        ``member_proba`` is None. May be None when ``member_proba`` and
        ``threshold`` are given (labels are then 0/1).
    X : array-like or xarray.DataArray or None
        Videos to evaluate (ignored when ``member_proba`` is given).
    y : array-like of shape (n_videos,)
        True labels.
    quantiles : sequence of float, default (0.25, 0.5, 0.75)
        Quantiles used as classification metric, one accuracy each.
    band : tuple of float, default (0.25, 0.75)
        Quantile range that defines stability (see :func:`stable_mask`).
    member_proba : array-like of shape (n_members, n_videos), optional
        Precomputed member probabilities (avoids a second pass over videos).
    threshold : float, optional
        Overrides ``ensemble.threshold_``.

    Returns
    -------
    report : dict
        ``threshold``, ``n_videos``, ``accuracy`` (dict quantile -> accuracy),
        ``n_stable``, ``n_unstable``, ``accuracy_stable``,
        ``accuracy_unstable`` (NaN when there are none), and ``outcomes``:
        ``{"TP"|"TN"|"FP"|"FN": {"stable": n, "unstable": n}}`` for the
        median classification.

    Raises
    ------
    ValueError
        If neither an ensemble nor ``member_proba`` and ``threshold`` are
        given, or on shape mismatches.

    Examples
    --------
    >>> from skflux.metrics import ensemble_accuracy_report
    >>> P = [[0.1, 0.5, 0.9, 0.7], [0.2, 0.7, 0.95, 0.4], [0.3, 0.8, 0.99, 0.3]]
    >>> r = ensemble_accuracy_report(None, None, [0, 1, 1, 0], member_proba=P, threshold=0.6)
    >>> r["accuracy"][0.5], r["n_stable"], r["outcomes"]["TP"]
    (1.0, 3, {'stable': 1, 'unstable': 1})
    """
    if threshold is None:
        if ensemble is None:
            raise ValueError("pass a fitted ensemble or threshold=")
        threshold = ensemble.threshold_
    if member_proba is None:
        if ensemble is None:
            raise ValueError("pass a fitted ensemble or member_proba=")
        member_proba = ensemble.predict_proba_members(X)
    P = _check_member_proba(member_proba)
    positive = 1 if ensemble is None else ensemble.classes_[1]
    truth = _binary_truth(y, P.shape[1], positive)
    t = _check_threshold(threshold)
    qs = np.quantile(P, list(quantiles), axis=0)
    accuracy = {float(q): float(np.mean((qv >= t) == truth)) for q, qv in zip(quantiles, qs)}
    stable = stable_mask(P, t, band)
    pred = np.median(P, axis=0) >= t
    correct = pred == truth
    outcomes = {}
    for name, mask in (("TP", pred & truth), ("TN", ~pred & ~truth),
                       ("FP", pred & ~truth), ("FN", ~pred & truth)):
        outcomes[name] = {"stable": int(np.sum(mask & stable)),
                          "unstable": int(np.sum(mask & ~stable))}
    return {
        "threshold": t,
        "n_videos": int(P.shape[1]),
        "accuracy": accuracy,
        "n_stable": int(stable.sum()),
        "n_unstable": int((~stable).sum()),
        "accuracy_stable": float(correct[stable].mean()) if stable.any() else float("nan"),
        "accuracy_unstable": float(correct[~stable].mean()) if (~stable).any() else float("nan"),
        "outcomes": outcomes,
    }


def _by_key(accuracy):
    """Quantile -> accuracy with text keys (``"0.5"``), as stored in JSON."""
    return {str(k): float(v) for k, v in accuracy.items()}


def accuracy_summary(member_proba, threshold, *, y_true=None, y_labels=None, pos_label=1):
    """Test-set accuracy of an ensemble, against the truth and against the labels.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_videos)
        Probability of the positive class from each ensemble member.
    threshold : float
        Decision threshold on the members' quantile.
    y_true : array-like of shape (n_videos,), optional
        True labels (simulated data).
    y_labels : array-like of shape (n_videos,), optional
        The (crude) labels the data came with.
    pos_label : int or str, default 1
        The positive class ("emergence") in ``y_true`` and ``y_labels``.

    Returns
    -------
    summary : dict
        ``n_videos``; with ``y_true``: ``accuracy_vs_truth`` (``{"0.25"|"0.5"|"0.75":
        accuracy}``), ``majority_class_accuracy``, ``n_stable``, ``n_unstable``,
        ``accuracy_stable``, ``accuracy_unstable``; with ``y_labels``:
        ``accuracy_vs_crude_labels``; with both: ``crude_label_accuracy_vs_truth``.

    Examples
    --------
    >>> from skflux.metrics import accuracy_summary
    >>> P = [[0.1, 0.5, 0.9, 0.7], [0.2, 0.7, 0.95, 0.4], [0.3, 0.8, 0.99, 0.3]]
    >>> s = accuracy_summary(P, 0.6, y_true=[0, 1, 1, 0], y_labels=[0, 0, 1, 0])
    >>> s["accuracy_vs_truth"]["0.5"], s["accuracy_vs_crude_labels"]["0.5"]
    (1.0, 0.75)
    >>> s["crude_label_accuracy_vs_truth"], s["majority_class_accuracy"]
    (0.75, 0.5)
    """
    P = _check_member_proba(member_proba)
    out = {"n_videos": int(P.shape[1])}
    report = {}
    for key, y in (("truth", y_true), ("labels", y_labels)):
        if y is not None:
            truth = _binary_truth(y, P.shape[1], pos_label).astype(int)
            report[key] = ensemble_accuracy_report(None, None, truth, member_proba=P,
                                                   threshold=threshold)
    if "truth" in report:
        r = report["truth"]
        truth = _binary_truth(y_true, P.shape[1], pos_label)
        out["accuracy_vs_truth"] = _by_key(r["accuracy"])
        out["majority_class_accuracy"] = float(max(truth.mean(), 1 - truth.mean()))
        out.update({k: r[k] for k in ("n_stable", "n_unstable", "accuracy_stable",
                                      "accuracy_unstable")})
    if "labels" in report:
        out["accuracy_vs_crude_labels"] = _by_key(report["labels"]["accuracy"])
    if "truth" in report and "labels" in report:
        out["crude_label_accuracy_vs_truth"] = float(np.mean(
            _binary_truth(y_labels, P.shape[1], pos_label)
            == _binary_truth(y_true, P.shape[1], pos_label)))
    return out


def relabeling_summary(relabeler, y_crude, y_true=None):
    """What a fitted :class:`~skflux.IterativeRelabeler` verified and corrected.

    Parameters
    ----------
    relabeler : IterativeRelabeler
        Fitted (``labels_``, ``verified_``, ``fold_of_``, ``n_passes_``,
        ``stop_reason_``).
    y_crude : array-like of shape (n_videos,)
        The labels before relabeling.
    y_true : array-like of shape (n_videos,), optional
        True labels (simulated data).

    Returns
    -------
    summary : dict
        ``passes``, ``stop_reason``, ``n_videos_in_blocks`` (videos in a
        validation block), ``fraction_verified`` (of those), ``labels_changed``;
        with ``y_true``: ``crude_mislabels`` and ``mislabels_left`` in the blocks,
        ``fraction_corrected`` (NaN when there was nothing to correct).
    """
    labels = np.asarray(relabeler.labels_)
    y_crude = np.asarray(y_crude)
    in_cv = np.asarray(relabeler.fold_of_) >= 0
    verified = np.asarray(relabeler.verified_, dtype=bool)
    summary = {
        "passes": int(relabeler.n_passes_),
        "stop_reason": str(relabeler.stop_reason_),
        "n_videos_in_blocks": int(in_cv.sum()),
        "fraction_verified": float(verified[in_cv].mean()) if in_cv.any() else 0.0,
        "labels_changed": int((labels != y_crude).sum()),
    }
    if y_true is not None:
        truth = np.asarray(y_true)
        before = int(((y_crude != truth) & in_cv).sum())
        after = int(((labels != truth) & in_cv).sum())
        summary.update(crude_mislabels=before, mislabels_left=after,
                       fraction_corrected=float(1 - after / before) if before else float("nan"))
    return summary


def timed_emergences(y_true, median_proba, threshold, true_frame, *, pos_label=1):
    """Which videos timing errors are measured on: true emergences classified as such.

    Parameters
    ----------
    y_true : array-like of shape (n_videos,)
    median_proba : array-like of shape (n_videos,)
        The ensemble's median probability.
    threshold : float
    true_frame : array-like of shape (n_videos,)
        True emergence frame (negative: none).
    pos_label : int or str, default 1

    Returns
    -------
    mask : ndarray of bool, shape (n_videos,)

    Examples
    --------
    >>> from skflux.metrics import timed_emergences
    >>> timed_emergences([1, 1, 0], [0.9, 0.3, 0.9], 0.6, [10, 12, -1])
    array([ True, False, False])
    """
    median = np.asarray(median_proba, dtype=float)
    truth = _binary_truth(y_true, median.shape[0], pos_label)
    return truth & (median >= _check_threshold(threshold)) & (np.asarray(true_frame) >= 0)
