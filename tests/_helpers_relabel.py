"""Small synthetic videos and a cheap feature model for the relabeling tests."""

import numpy as np
import xarray as xr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


def flux_features(X):
    """Per-video features: unsigned-flux growth, final unsigned flux, peak |B| growth."""
    X = np.asarray(X, dtype=float)
    n_frames = X.shape[1]
    q = max(1, n_frames // 4)
    flux = np.abs(X).mean(axis=(2, 3))
    peak = np.abs(X).max(axis=(2, 3))
    return np.column_stack([
        flux[:, -q:].mean(1) - flux[:, :q].mean(1),
        flux[:, -q:].mean(1),
        peak[:, -q:].mean(1) - peak[:, :q].mean(1),
    ])


def feature_model(**kw):
    """A fast sklearn classifier of videos: features -> scaling -> logistic regression."""
    return make_pipeline(FunctionTransformer(flux_features), StandardScaler(),
                         LogisticRegression(**{"solver": "liblinear", **kw}))


def make_videos(n=240, n_frames=8, size=6, seed=0, crude_error=0.2, as_dataarray=True):
    """Videos with a growing bipole (emergence) or a steady one, and crude labels.

    Crude errors are biased like BARD's: weak emergences are missed (labelled 0)
    and some steady regions are labelled emergence.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    amp = rng.uniform(20, 200, n)
    t = np.linspace(0, 1, n_frames)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    bipole = np.exp(-((x - 0.3) ** 2 + (y - 0.5) ** 2) / 0.05) - np.exp(
        -((x - 0.7) ** 2 + (y - 0.5) ** 2) / 0.05)
    growth = np.where(truth[:, None] == 1, t[None, :], 0.5)  # steady at half strength
    videos = (amp[:, None, None, None] * growth[:, :, None, None] * bipole[None, None]
              + rng.normal(0, 8, (n, n_frames, size, size))).astype(np.float32)
    weak = truth == 1
    p_err = np.where(weak, crude_error * 1.5 * (amp < np.median(amp)), crude_error * 0.5)
    flip = rng.random(n) < p_err
    crude = np.where(flip, 1 - truth, truth)
    months = rng.integers(1, 13, n)
    if not as_dataarray:
        return videos, crude, truth, months
    time = np.array([f"2001-{m:02d}-15" for m in months], dtype="datetime64[ns]")
    da = xr.DataArray(
        videos, dims=("video", "frame", "lat", "lon"),
        coords={
            "label": ("video", crude), "true_label": ("video", truth),
            "month": ("video", months), "bmr_id": ("video", np.arange(1000, 1000 + n)),
            "time": ("video", time),
            "emergence_frame": ("video", np.where(truth == 1, 2, -1)),
        },
        attrs={"units": "G", "cadence_minutes": 96, "instrument": "synthetic"},
    )
    return da
