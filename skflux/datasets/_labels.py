"""Crude, BARD-like labels and their confusion with the truth."""

import numpy as np

from .._targets import check_binary_target
from .._validation import _is_dataarray
from . import _catalog as cat
from . import _physics as ph

__all__ = ["bard_crude_labels", "crude_label_confusion", "crude_labels"]


def crude_labels(first_longitude, west_of=ph.BARD_WEST_OF_DEG):
    """The paper's crude rule: emergence (1) when first detected west of ``west_of``.

    Parameters
    ----------
    first_longitude : array-like of float
        Central-meridian distance (degrees, negative east) of each BMR's first
        detection; NaN for a BMR never detected, which is labeled 0.
    west_of : float, default=-60
        Longitude threshold in degrees.

    Returns
    -------
    labels : ndarray of int, shape (n,)

    Raises
    ------
    ValueError
        If a longitude lies outside [-180, 180] or ``west_of`` is not finite.

    Examples
    --------
    >>> from skflux.datasets import crude_labels
    >>> crude_labels([-75.0, -61.0, -59.0, 10.0]).tolist()
    [0, 0, 1, 1]
    """
    lon = np.asarray(first_longitude, dtype=float)
    if not np.isfinite(west_of):
        raise ValueError(f"west_of must be a finite longitude; got {west_of!r}")
    bad = np.flatnonzero(np.abs(np.nan_to_num(lon)) > 180)
    if bad.size:
        raise ValueError(
            f"first_longitude must lie in [-180, 180] degrees; got {lon[bad[0]]} at index "
            f"{bad[0]}"
        )
    return (np.nan_to_num(lon, nan=-np.inf) > west_of).astype(int)


def _detect_in_videos(videos, *, thresholds, min_area, max_angle, track_back):
    """Image-based daily detection in each video (see :func:`bard_crude_labels`)."""
    from scipy import ndimage

    lo_thr, hi_thr = thresholds
    for name in ("time", "lat0", "lon0"):
        if name not in videos.coords:
            raise ValueError(f"videos lack the {name!r} coordinate needed to locate the patch")
    cadence_days = float(videos.attrs.get("cadence_minutes", 96)) / 1440.0
    lat_off = np.asarray(videos["lat"].values, dtype=float)
    lon_off = np.asarray(videos["lon"].values, dtype=float)
    pix_lat = abs(lat_off[1] - lat_off[0]) if lat_off.size > 1 else 1.0 / 6
    pix_lon = abs(lon_off[1] - lon_off[0]) if lon_off.size > 1 else 1.0 / 6
    n, n_frames = videos.sizes["video"], videos.sizes["frame"]
    t0 = ph.days_since_epoch(videos["time"].values)
    observed = (np.asarray(videos["observed"].values, dtype=bool) if "observed" in videos.coords
                else np.ones((n, n_frames), dtype=bool))
    cos_max = np.cos(np.radians(max_angle))
    first_lon = np.full(n, np.nan)
    first_time = np.full(n, np.nan)
    for i in range(n):
        midnights = np.arange(np.ceil(t0[i]), t0[i] + n_frames * cadence_days)
        frames = np.rint((midnights - t0[i]) / cadence_days).astype(int)
        ok = (frames >= 0) & (frames < n_frames)
        frames = frames[ok]
        frames = frames[observed[i, frames]]
        if frames.size == 0:
            continue
        t = t0[i] + frames * cadence_days
        lat = float(videos["lat0"].values[i]) + lat_off
        cmd = ((float(videos["lon0"].values[i]) + lon_off[None, :]
                - ph.carrington_cm_longitude(t)[:, None] + 180.0) % 360.0) - 180.0
        b0 = ph.b0_angle(t)
        mu = ph.mu_of(lat[None, :, None], cmd[:, None, :], b0[:, None, None])
        field = np.asarray(videos.isel(video=i, frame=frames).values, dtype=float)
        if not np.isfinite(field).any() and np.isnan(field).all():
            continue
        use = mu >= cos_max
        corr = np.where(use, np.nan_to_num(field) / np.where(use, mu, 1.0), 0.0)
        px_area = (pix_lat * ph.MM_PER_DEG) * (pix_lon * ph.MM_PER_DEG) * np.cos(
            np.radians(lat))[:, None]
        found = np.zeros((frames.size, 2), dtype=bool)
        lon_found = np.full((frames.size, 2), np.nan)
        for d in range(frames.size):
            for k, sign in enumerate((1.0, -1.0)):
                b = sign * corr[d]
                lab, n_lab = ndimage.label(b >= lo_thr)
                if n_lab == 0:
                    continue
                idx = np.arange(1, n_lab + 1)
                peak = ndimage.maximum(b, lab, idx)
                area = ndimage.sum(px_area * np.ones_like(b), lab, idx)
                keep = idx[(np.asarray(peak) >= hi_thr) & (np.asarray(area) >= min_area)]
                if keep.size:
                    found[d, k] = True
                    sel = np.isin(lab, keep)
                    lon_found[d, k] = np.average(np.broadcast_to(cmd[d], b.shape)[sel],
                                                 weights=b[sel])
        both = found.all(axis=1)
        if not both.any():
            continue
        j = int(np.argmax(both))
        lon_j = np.nanmean(lon_found[j])
        if track_back and j > 0 and found[j - 1].any():
            j -= 1
            lon_j = np.nanmean(lon_found[j])
        first_lon[i] = lon_j
        first_time[i] = t[j]
    return first_lon, first_time


def bard_crude_labels(videos_or_catalog, *, west_of=ph.BARD_WEST_OF_DEG,
                      thresholds=(ph.BARD_LOW_G, ph.BARD_HIGH_G),
                      min_area=ph.BARD_MIN_AREA_MM2, max_angle=ph.BARD_MAX_ANGLE_DEG,
                      track_back=1):
    """Crude labels made the way the paper made them from BARD detections.

    One observation per day (the frame nearest 00:00 UT), field divided by
    μ, pixels more than ``max_angle`` from disk centre ignored; a polarity is
    found when a connected core above ``thresholds[0]`` reaches
    ``thresholds[1]`` and covers ``min_area`` Mm²; a BMR is detected when
    both polarities are found (and, as BARD's tracking does, traced back up
    to ``track_back`` days while one polarity is still found). The first
    detection's central-meridian distance decides the label
    (:func:`crude_labels`).

    Parameters
    ----------
    videos_or_catalog : xarray.DataArray or pandas.DataFrame
        Videos (raw or preprocessed, with ``time``, ``lat0``, ``lon0``,
        ``observed`` and the ``cadence_minutes`` attribute): detection on
        their pixels. Or a catalogue from :func:`make_bmr_catalog`: the
        same detection on the BMR model, with the catalogue's data gaps and
        day-to-day detection variation: with the default settings this
        reproduces the simulator's ``label`` exactly.
    west_of : float, default=-60
        Longitude threshold of the crude rule.
    thresholds : (float, float), default=(275, 500)
        Core thresholds in G (extent, peak).
    min_area : float, default=25
        Minimum core area in Mm².
    max_angle : float, default=70
        Pixels farther from disk centre (degrees) are ignored.
    track_back : int, default=1
        Days a detection may be traced back while one polarity is found.

    Returns
    -------
    result : pandas.DataFrame
        Columns ``first_longitude`` (NaN when never detected),
        ``first_detection`` (datetime64, NaT when never) and ``label``; one
        row per video, indexed like the input (``bmr_id`` when present).

    Raises
    ------
    TypeError
        If the input is neither a DataArray nor a DataFrame.
    ValueError
        If thresholds are not increasing positive numbers or required
        coordinates/columns are missing.

    Examples
    --------
    >>> from skflux.datasets import bard_crude_labels, make_bmr_catalog
    >>> catalog = make_bmr_catalog(50, random_state=0)
    >>> result = bard_crude_labels(catalog)
    >>> bool((result["label"].values == catalog["label"].values).all())
    True
    """
    import pandas as pd

    lo, hi = (float(v) for v in thresholds)
    if not 0 < lo <= hi:
        raise ValueError(f"thresholds must be (low, high) with 0 < low <= high; got {thresholds}")
    if _is_dataarray(videos_or_catalog):
        v = videos_or_catalog
        if v.ndim != 4:
            raise ValueError(
                f"videos must have dims ('video', 'frame', 'lat', 'lon'); got {v.dims}")
        lon, t = _detect_in_videos(v, thresholds=(lo, hi), min_area=float(min_area),
                                   max_angle=float(max_angle), track_back=int(track_back))
        index = (pd.Index(v["bmr_id"].values, name="bmr_id") if "bmr_id" in v.coords else None)
    elif isinstance(videos_or_catalog, pd.DataFrame):
        c = videos_or_catalog
        need = ["t_start", "t_cm", "lat0", "peak_flux", "t_onset", "rise_time", "decay_time",
                "separation", "tilt", "bmr_lat", "dlat", "dlon", "t_ref", "drift", "gain_amp",
                "gain_period", "gain_phase", "true_label"]
        missing = [k for k in need if k not in c.columns]
        if missing:
            raise ValueError(f"catalog lacks columns {missing}; use make_bmr_catalog's output")
        rows = {k: np.asarray(c[k].values) for k in need}
        span = float(c.attrs.get("span_days", cat.SPAN_DAYS_DEFAULT))
        n_days = int(np.floor(span)) + 1
        rows["blocks"] = (np.stack(list(c["blocks"].values)) if "blocks" in c.columns
                          else np.full((len(c), 2, 2), np.nan))
        jitter = (np.stack(list(c["jitter"].values)).transpose(1, 0, 2)
                  if "jitter" in c.columns else np.ones((2, len(c), n_days)))
        tau, det, vis, lon_d = cat.daily_detection(
            rows, span, jitter=jitter, thresholds=(lo, hi), min_area=float(min_area),
            max_angle=float(max_angle), track_back=int(track_back))
        any_det = det.any(axis=1)
        j = np.argmax(det, axis=1)
        r = np.arange(len(c))
        lon = np.where(any_det, lon_d[r, j], np.nan)
        t = np.where(any_det, tau[r, j] + rows["t_cm"], np.nan)
        index = c.index
    else:
        raise TypeError(
            "bard_crude_labels expects videos (xarray.DataArray) or a catalog "
            f"(pandas.DataFrame from make_bmr_catalog); got {type(videos_or_catalog).__name__}"
        )
    times = np.where(np.isfinite(t), ph.datetime_from_days(np.nan_to_num(t)),
                     np.datetime64("NaT", "ns")).astype("datetime64[ns]")
    return pd.DataFrame({"first_longitude": lon, "first_detection": times,
                         "label": crude_labels(lon, west_of)}, index=index)


def crude_label_confusion(true_label, label=None, *, reasons=None):
    """Confusion of crude labels with the truth, and the mislabel rate and reasons.

    Parameters
    ----------
    true_label : array-like, xarray.DataArray or pandas.DataFrame
        Ground truth; or videos / a catalogue holding ``true_label``,
        ``label`` and ``mislabel_reason``, in which case ``label`` and
        ``reasons`` are taken from it.
    label : array-like, optional
        Crude labels (0/1).
    reasons : array-like of str, optional
        Mislabel reason per video.

    Returns
    -------
    report : dict
        ``confusion`` (pandas.DataFrame, rows truth, columns crude),
        ``mislabel_rate``, ``false_emergence_rate`` (non-emergences labeled
        emergence), ``missed_emergence_rate`` and ``reasons`` (counts, a
        pandas.Series).

    Raises
    ------
    ValueError
        If the labels are not 0/1 or their lengths differ.

    Examples
    --------
    >>> from skflux.datasets import crude_label_confusion
    >>> report = crude_label_confusion([0, 0, 1, 1], [0, 1, 1, 1])
    >>> report["mislabel_rate"]
    0.25
    """
    import pandas as pd

    obj = true_label
    if _is_dataarray(obj) or isinstance(obj, pd.DataFrame):
        if not (_has(obj, "true_label") and _has(obj, "label")):
            raise ValueError("videos/catalog must hold 'true_label' and 'label'")
        true_label, label = np.asarray(obj["true_label"].values), np.asarray(obj["label"].values)
        if reasons is None and _has(obj, "mislabel_reason"):
            reasons = np.asarray(obj["mislabel_reason"].values)
    if label is None:
        raise ValueError("pass the crude labels (label=...) or videos/catalog holding them")
    y, c = np.ravel(true_label), np.ravel(label)
    if y.shape != c.shape:
        raise ValueError(f"true_label has {y.size} entries, label {c.size}")
    try:  # 0/1 labels, either class possibly absent
        y, c = (check_binary_target(a, classes=(0, 1)).encoded for a in (y, c))
    except ValueError as exc:
        raise ValueError(f"true_label and label must hold 0/1 labels: {exc}") from None
    conf = pd.DataFrame([[np.sum((y == a) & (c == b)) for b in (0, 1)] for a in (0, 1)],
                        index=pd.Index(["non-emergence", "emergence"], name="truth"),
                        columns=pd.Index(["non-emergence", "emergence"], name="crude"))
    wrong = y != c
    out = {
        "confusion": conf,
        "mislabel_rate": float(wrong.mean()) if y.size else float("nan"),
        "false_emergence_rate": float(np.mean(c[y == 0] == 1)) if (y == 0).any() else np.nan,
        "missed_emergence_rate": float(np.mean(c[y == 1] == 0)) if (y == 1).any() else np.nan,
    }
    if reasons is not None:
        r = pd.Series(np.asarray(reasons)[wrong], dtype=object)
        out["reasons"] = r.value_counts()
    return out


def _has(obj, key):
    """Whether ``key`` is a coordinate/column of ``obj``."""
    return key in (obj.coords if _is_dataarray(obj) else obj.columns)

