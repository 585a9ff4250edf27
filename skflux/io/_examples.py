"""Tiny valid videos for examples and doctests (private)."""

import numpy as np

from .._schema import CADENCE_MINUTES, DIMS, OBSERVED, PIXEL_DEG, UNITS
from .._validation import calendar_month


def tiny_videos(n=2, n_frames=8, size=6, *, seed=0, missing=()):
    """``n`` small random videos that follow the data model.

    Parameters
    ----------
    n, n_frames, size : int
        Number of videos, frames per video and pixels per side.
    seed : int
        Seed of the random field.
    missing : sequence of int
        Frames marked unobserved (and set to NaN) in every video.

    Returns
    -------
    videos : xarray.DataArray
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 100.0, size=(n, n_frames, size, size)).astype("float32")
    observed = np.ones((n, n_frames), dtype=bool)
    for f in missing:
        observed[:, f] = False
        data[:, f] = np.nan
    time = np.datetime64("2001-01-15T00:00") + np.arange(n) * np.timedelta64(40, "D")
    offsets = (np.arange(size) - (size - 1) / 2.0) * PIXEL_DEG
    return xr.DataArray(
        data,
        dims=DIMS,
        coords={
            "frame": np.arange(n_frames),
            "lat": offsets,
            "lon": offsets,
            "time": ("video", time.astype("datetime64[ns]")),
            "month": ("video", calendar_month(time)),
            "year": ("video", time.astype("datetime64[Y]").astype(int) + 1970),
            "label": ("video", np.arange(n) % 2),
            "bmr_id": ("video", [f"BMR{i:04d}" for i in range(n)]),
            "lat0": ("video", rng.uniform(-30, 30, n)),
            "lon0": ("video", rng.uniform(0, 360, n)),
            OBSERVED: (("video", "frame"), observed),
        },
        attrs={"cadence_minutes": CADENCE_MINUTES, "units": UNITS, "instrument": "example"},
        name="field",
    )
