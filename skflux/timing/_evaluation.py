"""Timing errors against ground truth, in days, and their percentiles (private)."""

import numpy as np

from .._schema import CADENCE_MINUTES, VIDEO_DIM

PERCENTILES = (5, 25, 50, 75, 95)


def _true_frames(obj):
    """Ground-truth emergence frames from an array, a DataArray or a Dataset."""
    if hasattr(obj, "data_vars"):  # Dataset, e.g. the locator's result
        if "true_emergence_frame" in obj.variables:
            return np.asarray(obj["true_emergence_frame"].values, dtype=float)
        raise ValueError("true_frames (a Dataset) has no 'true_emergence_frame' variable")
    if hasattr(obj, "coords"):  # DataArray: videos with coordinates, or the frames themselves
        for k in ("true_emergence_frame", "emergence_frame"):
            if k in obj.coords and obj.coords[k].dims == (VIDEO_DIM,):
                return np.asarray(obj.coords[k].values, dtype=float)
        return np.asarray(obj.values, dtype=float)
    return np.asarray(obj, dtype=float)


def timing_errors_days(predicted, true_frames, *, cadence_minutes=None, per_member=False):
    """Predicted minus true emergence time, in days.

    Parameters
    ----------
    predicted : xarray.Dataset or array-like
        The output of :meth:`EmergenceTimeLocator.transform` (its
        ``emergence_frame``, or ``member_frames`` with ``per_member=True``) or
        predicted frames, shape ``(n_videos,)`` or ``(n_videos, n_members)``.
    true_frames : array-like or xarray object
        Ground-truth emergence frames, shape ``(n_videos,)``; negative values
        (``-1``: no emergence) give NaN. An xarray object with a
        ``true_emergence_frame`` or ``emergence_frame`` variable/coordinate is
        accepted (e.g. the simulator's videos or the locator's result).
    cadence_minutes : float, optional
        Minutes per frame; default: ``predicted.attrs["cadence_minutes"]`` or 96.
    per_member : bool, default=False
        With a Dataset, use every member's frame instead of the median.

    Returns
    -------
    errors : ndarray of float, shape (n_videos,) or (n_videos, n_members)
        Positive when the prediction is late.

    Raises
    ------
    ValueError
        If the numbers of videos differ.

    Examples
    --------
    >>> timing_errors_days([115, 100], [100, -1]).tolist()
    [1.0, nan]
    """
    if cadence_minutes is None:
        cadence_minutes = getattr(predicted, "attrs", {}).get("cadence_minutes", CADENCE_MINUTES)
    if hasattr(predicted, "data_vars"):
        var = "member_frames" if per_member else "emergence_frame"
        if var not in predicted:
            raise ValueError(f"predicted has no {var!r} variable")
        pred = np.asarray(predicted[var].values, dtype=float)
    else:
        pred = np.asarray(predicted, dtype=float)
    true = _true_frames(true_frames)
    if true.ndim != 1:
        raise ValueError(f"true_frames must be 1-D (one frame per video); got shape {true.shape}")
    if pred.ndim not in (1, 2) or pred.shape[0] != true.shape[0]:
        raise ValueError(
            f"predicted has shape {pred.shape} but true_frames has {true.shape[0]} videos"
        )
    true = np.where(true < 0, np.nan, true)
    diff = pred - (true if pred.ndim == 1 else true[:, None])
    return diff * float(cadence_minutes) / (24 * 60)


def timing_error_percentiles(errors, q=PERCENTILES):
    """Percentiles of timing errors (NaN ignored), as the paper reports them.

    Parameters
    ----------
    errors : array-like
        Errors in days (any shape; NaN entries, e.g. videos without a true
        emergence, are ignored).
    q : sequence of float, default=(5, 25, 50, 75, 95)
        Percentiles.

    Returns
    -------
    percentiles : dict
        ``{q: value in days}``.

    Raises
    ------
    ValueError
        If there is no finite error.

    Examples
    --------
    >>> timing_error_percentiles([-1.0, 0.0, 1.0, np.nan], q=(50,))
    {50: 0.0}
    """
    e = np.asarray(errors, dtype=float).ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        raise ValueError("no finite timing error to summarize")
    values = np.percentile(e, list(q))
    return {qq: float(v) for qq, v in zip(q, values)}


__all__ = ["PERCENTILES", "timing_error_percentiles", "timing_errors_days"]
