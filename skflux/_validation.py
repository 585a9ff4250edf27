"""Input checks shared by every estimator and transformer (private).

Errors name the video (index and, for DataArrays, ``bmr_id``), file or
coordinate at fault, so a user with thousands of videos can find the culprit.
"""

import sys

import numpy as np

from ._schema import DIMS


def _is_dataarray(X):
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a hard dependency
        return False
    return isinstance(X, xr.DataArray)


def _is_tensor(X):
    # an object cannot be a tensor unless torch was imported: don't import it here
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(X, torch.Tensor)


#: Coordinate that subsets taken by skflux (an ensemble member's training videos)
#: carry: each video's position in the caller's X, so messages name that position.
POSITION = "skflux_position"


def video_name(X, i):
    """Human-readable name of video ``i`` of ``X`` for error messages.

    The position is the one in the caller's ``X``: for a subset that skflux took
    (e.g. an ensemble member's training videos) it is read from the
    :data:`POSITION` coordinate. The ``bmr_id`` is added when ``X`` carries it.
    """
    if not _is_dataarray(X):
        return f"video {i}"
    position = int(X[POSITION].values[i]) if POSITION in X.coords else i
    if "bmr_id" in X.coords:
        value = X["bmr_id"].values[i]
        value = value.item() if hasattr(value, "item") else value
        return f"video {position} (bmr_id={value!r})"
    return f"video {position}"


def check_videos(X, *, name="X", allow_nan=False, n_frames=None):
    """Check that ``X`` is a batch of videos ``(video, frame, lat, lon)``.

    Parameters
    ----------
    X : numpy.ndarray, torch.Tensor or xarray.DataArray
        The videos. A DataArray must have dims exactly ``("video", "frame",
        "lat", "lon")``; it is not loaded (finiteness is then checked per batch
        by the readers).
    name : str
        Name of the argument, used in messages.
    allow_nan : bool
        Whether NaN/inf values are acceptable (in-memory inputs only).
    n_frames : int, optional
        Required number of frames.

    Returns
    -------
    X : same type as input
        Unchanged (numpy inputs of non-float dtype are converted to float32;
        object arrays of numbers to float64).

    Raises
    ------
    TypeError
        If ``X`` is not array-like or not numeric.
    ValueError
        On a wrong number of dimensions, wrong dims order, an empty batch, a
        wrong frame count or non-finite values.
    """
    if _is_dataarray(X):
        if tuple(X.dims) != DIMS:
            raise ValueError(
                f"{name} has dims {tuple(X.dims)}; expected {DIMS} "
                "(use X.transpose('video', 'frame', 'lat', 'lon') if only the order differs)"
            )
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers (Gauss); got dtype {X.dtype}")
        shape = X.shape
    elif _is_tensor(X):
        if X.is_complex() or not (X.is_floating_point() or X.dtype in _torch_int_dtypes()):
            raise TypeError(f"{name} must hold real numbers; got torch dtype {X.dtype}")
        shape = tuple(X.shape)
        if not allow_nan and X.ndim == 4 and X.numel() and not bool(X.isfinite().all()):
            bad = (~X.isfinite()).flatten(1).any(1).nonzero().flatten().tolist()
            raise ValueError(f"{name} contains NaN or inf in videos {bad[:10]}")
    else:
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") and not hasattr(X, "shape"):
            raise TypeError(
                f"{name} must be a numpy array, torch tensor or xarray.DataArray of videos; "
                f"got {type(X).__name__}"
            )
        try:
            X = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} could not be converted to an array: {exc}") from exc
        if X.dtype == object:  # numbers in an object array (e.g. from pandas) are fine
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{name} must hold real numbers (Gauss); its object array holds a value "
                    f"that is not one: {exc}") from exc
        if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
            raise TypeError(f"{name} must hold real numbers (Gauss); got dtype {X.dtype}")
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float32)
        shape = X.shape
        if not allow_nan and X.ndim == 4 and X.size:
            finite = np.isfinite(X).reshape(X.shape[0], -1).all(axis=1)
            if not finite.all():
                bad = np.flatnonzero(~finite)
                raise ValueError(
                    f"{name} contains NaN or inf in videos {bad[:10].tolist()}"
                    + (" ..." if bad.size > 10 else "")
                    + "; fill gaps and off-limb pixels first (skflux.preprocessing)"
                )
    if len(shape) != 4:
        raise ValueError(
            f"{name} must be 4-D with dims {DIMS}; got {len(shape)}-D array of shape {shape}"
        )
    if shape[0] == 0:
        raise ValueError(f"{name} holds no videos (shape {shape})")
    if min(shape[1:]) == 0:
        raise ValueError(f"{name} has an empty frame/lat/lon axis (shape {shape})")
    if n_frames is not None and shape[1] != n_frames:
        raise ValueError(f"{name} has {shape[1]} frames per video; expected {n_frames}")
    return X


def _torch_int_dtypes():
    import torch

    return (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def calendar_month(times):
    """Calendar month (1–12) of datetime64 values (array or scalar)."""
    return np.asarray(times).astype("datetime64[M]").astype(int) % 12 + 1


def months_of(X=None, groups=None, *, n=None):
    """Calendar month (1–12) of every video.

    Parameters
    ----------
    X : array-like or xarray object, optional
        Used when ``groups`` is None: its ``month`` coordinate, else the month
        of its ``time`` coordinate.
    groups : array-like of int or datetime64, optional
        Month numbers 1–12, or datetimes whose month is taken.
    n : int, optional
        Expected number of videos.

    Returns
    -------
    months : ndarray of int, shape (n_videos,)

    Raises
    ------
    ValueError
        When no month source exists, months fall outside 1–12, or the length
        does not match.
    """
    if groups is not None:
        g = np.asarray(groups)
        source = "groups"
    elif X is not None and hasattr(X, "coords") and "month" in X.coords:
        g = np.asarray(X.coords["month"].values)
        source = "X's 'month' coordinate"
    elif X is not None and hasattr(X, "coords") and "time" in X.coords:
        g = np.asarray(X.coords["time"].values)
        source = "X's 'time' coordinate"
    else:
        raise ValueError(
            "cannot determine the month of each video: pass groups= (months 1-12 or "
            "datetimes) or X as an xarray.DataArray with a 'month' or 'time' coordinate"
        )
    if g.ndim != 1:
        raise ValueError(f"{source} must be 1-D (one month per video); got shape {g.shape}")
    if np.issubdtype(g.dtype, np.datetime64):
        months = calendar_month(g)
    elif g.dtype == object and g.size and hasattr(g[0], "month"):
        months = np.array([d.month for d in g])
    else:
        if not np.issubdtype(g.dtype, np.number):
            raise ValueError(f"{source} must hold month numbers 1-12 or datetimes; got {g.dtype}")
        if np.issubdtype(g.dtype, np.floating) and not np.all(np.mod(g, 1) == 0):
            raise ValueError(f"{source} holds non-integer months")
        months = g.astype(int)
        bad = np.flatnonzero((months < 1) | (months > 12))
        if bad.size:
            raise ValueError(
                f"{source} holds months outside 1-12, e.g. {months[bad[0]]} at video {bad[0]}"
            )
    if n is not None and months.shape[0] != n:
        raise ValueError(f"{source} has {months.shape[0]} entries for {n} videos")
    return months
