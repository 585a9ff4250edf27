"""Public entry points of the simulator: catalogue, in-memory videos, streaming writer."""

import numbers
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from .. import __version__
from .._schema import CADENCE_MINUTES, DIMS, N_FRAMES, OBSERVED, PATCH_SIZE, PIXEL_DEG, UNITS
from .._validation import calendar_month
from . import _catalog as cat
from . import _physics as ph
from ._render import emergence_frame, pixel_offsets, preprocess, render_video

__all__ = ["make_bmr_catalog", "make_flux_emergence", "write_flux_emergence"]

INSTRUMENT = "simulated MDI-like"
PATCH_DEG = PATCH_SIZE * PIXEL_DEG  # 15 degrees
SPAN_DAYS = N_FRAMES * CADENCE_MINUTES / 1440.0  # 15 days
#: Background rendering threads of write_flux_emergence (with prefetch): two keep both
#: cores of a small machine busy while the main thread compresses and writes.
RENDER_THREADS = 2
MIN_SPAN_DAYS, MAX_SPAN_DAYS = 14.0, 30.0


def _check_int(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _options(n_frames, size, years, emergence_fraction, noise, cadence_minutes, patch_deg):
    n_frames = _check_int("n_frames", n_frames, 2)
    size = _check_int("size", size, 4)
    try:
        y0, y1 = (int(y) for y in years)
    except (TypeError, ValueError):
        raise TypeError(f"years must be a pair of integers (first, last); got {years!r}") from None
    if y1 < y0:
        raise ValueError(f"years must be (first, last) with first <= last; got {years!r}")
    if not 0.0 <= float(emergence_fraction) <= 1.0:
        raise ValueError(f"emergence_fraction must lie in [0, 1]; got {emergence_fraction!r}")
    if noise is None:
        noise = 0.0
    if float(noise) < 0:
        raise ValueError(f"noise must be >= 0 (Gauss); got {noise!r}")
    if cadence_minutes is None:
        cadence_minutes = SPAN_DAYS * 1440.0 / n_frames
    if float(cadence_minutes) <= 0:
        raise ValueError(f"cadence_minutes must be positive; got {cadence_minutes!r}")
    if not 0 < float(patch_deg) <= 40:
        raise ValueError(f"patch_deg must lie in (0, 40] degrees; got {patch_deg!r}")
    span = n_frames * float(cadence_minutes) / 1440.0
    if not MIN_SPAN_DAYS <= span <= MAX_SPAN_DAYS:
        raise ValueError(
            f"{n_frames} frames at a cadence of {cadence_minutes} minutes span {span:.1f} days; "
            f"videos must span the disk passage, {MIN_SPAN_DAYS:.0f}-{MAX_SPAN_DAYS:.0f} days "
            "(leave cadence_minutes=None for 15 days at any n_frames)"
        )
    cadence_minutes = float(cadence_minutes)
    if cadence_minutes.is_integer():
        cadence_minutes = int(cadence_minutes)
    return {
        "n_frames": n_frames, "size": size, "years": (y0, y1),
        "emergence_fraction": float(emergence_fraction), "noise": float(noise),
        "cadence_minutes": cadence_minutes, "cadence_days": cadence_minutes / 1440.0,
        "patch_deg": float(patch_deg), "span": n_frames * cadence_minutes / 1440.0,
    }


def make_bmr_catalog(n_videos, *, random_state=None, years=(1996, 2011),
                     emergence_fraction=0.5, span_days=SPAN_DAYS):
    """Catalogue of the BMRs behind ``make_flux_emergence`` videos, without rendering.

    Drawing the catalogue is cheap (about a millisecond per video); it holds
    every physical parameter, the ground truth and the crude BARD-like label
    of each video. ``make_flux_emergence`` with the same ``random_state``,
    ``years`` and ``emergence_fraction`` (and a video span of ``span_days``)
    renders exactly these BMRs.

    Parameters
    ----------
    n_videos : int
        Number of videos (BMRs).
    random_state : int, numpy.random.Generator or None
        Seed. Video ``i`` depends only on the seed and ``i``.
    years : (int, int)
        First and last year of the videos' dates (inside the MDI era
        1996-05 … 2011-04; counts follow the solar cycle and skip the 1998
        SOHO gaps).
    emergence_fraction : float
        Fraction of videos whose BMR truly emerges on the visible disk.
    span_days : float
        Duration of the videos in days (15 for 225 frames of 96 minutes).

    Returns
    -------
    catalog : pandas.DataFrame
        One row per video: ``time`` (frame 0), ``t_cm`` (central-meridian
        passage of the patch centre), ``lat0``, ``lon0``, ``true_label``,
        ``label`` (crude), ``first_longitude``, ``mislabel_reason``,
        ``peak_flux``, ``tilt``, ``separation``, ``rise_time``,
        ``decay_time``, ``leading_polarity``, ``hale``, ``cycle``,
        ``emergence_time``, the surrounding activity (``nest_flux``,
        ``secondary_flux``, ``small_emergences``, rendered when
        ``activity=True``) and the internal parameters.

    Examples
    --------
    >>> from skflux.datasets import make_bmr_catalog
    >>> catalog = make_bmr_catalog(200, random_state=0)
    >>> sorted(catalog["true_label"].unique().tolist())
    [0, 1]
    >>> bool(0.10 < (catalog["label"] != catalog["true_label"]).mean() < 0.30)
    True
    """

    n_videos = _check_int("n_videos", n_videos, 0)
    opts = _options(2, 4, years, emergence_fraction, 0.0, span_days * 1440.0 / 2, 15.0)
    entropy = cat.root_entropy(random_state)
    rows = _sample(entropy, np.arange(n_videos), opts["emergence_fraction"], opts["years"],
                   float(span_days))
    return _catalog_frame(rows, entropy, span_days)


def _sample(entropy, indices, emergence_fraction, years, span):
    """Catalogue rows of the videos ``indices`` with their surrounding activity."""
    rows = cat.sample_catalog(entropy, indices, emergence_fraction, years, span)
    rows.update(cat.sample_context(entropy, indices, rows, span))
    return rows


def _catalog_frame(rows, entropy, span_days):
    import pandas as pd

    d = {k: v for k, v in rows.items()
         if k not in ("blocks", "jitter") and not k.startswith("ctx_")}
    df = pd.DataFrame(d)
    df["blocks"] = list(rows["blocks"])  # data gaps (start day, length) of each video
    df["jitter"] = list(rows["jitter"])  # day-to-day detection variation of each video
    df.insert(0, "bmr_id", [_bmr_id(entropy, i) for i in range(len(df))])
    df["time"] = ph.datetime_from_days(rows["t_start"])
    df["emergence_time"] = np.where(
        rows["true_label"] == 1, ph.datetime_from_days(rows["t_cm"] + rows["tau10"]),
        np.datetime64("NaT", "ns"))
    df["leading_polarity"] = rows["leading_sign"]
    df.attrs["entropy"] = str(entropy)
    df.attrs["span_days"] = float(span_days)
    return df


def _bmr_id(entropy, i):
    return f"SIM{entropy % 100000:05d}-{int(i):06d}"


def _render_one(j, rows, entropy, indices, opts, missing, preprocessed, quiet_sun, activity,
                data, observed, ef):
    row = {k: v[j] for k, v in rows.items()}
    seed = cat.video_seeds(entropy, indices[j])[1]
    field, obs = render_video(
        row, seed, n_frames=opts["n_frames"], size=opts["size"],
        cadence_days=opts["cadence_days"], patch_deg=opts["patch_deg"], noise=opts["noise"],
        missing=missing, quiet_sun=quiet_sun, activity=activity,
        context_seed=cat.context_seeds(entropy, indices[j])[1])
    if preprocessed:
        field = preprocess(field, obs)
    data[j] = field
    observed[j] = obs
    ef[j] = emergence_frame(row, opts["n_frames"], opts["cadence_days"])


def _build(entropy, indices, opts, *, missing, preprocessed, quiet_sun, activity=True,
           verbose=0, rows=None):
    """Render videos ``indices`` into one DataArray."""
    import xarray as xr

    if rows is None:
        rows = _sample(entropy, indices, opts["emergence_fraction"], opts["years"],
                       opts["span"])
    n, nf, s = len(indices), opts["n_frames"], opts["size"]
    data = np.empty((n, nf, s, s), dtype=np.float32)
    observed = np.empty((n, nf), dtype=bool)
    ef = np.empty(n, dtype=np.int64)
    iterator = range(n)
    if verbose and n > 1:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="simulating videos", unit="video")
    with threadpool_limits(1, user_api="blas"):  # small GEMMs: threads only contend
        for j in iterator:
            _render_one(j, rows, entropy, indices, opts, missing, preprocessed, quiet_sun,
                        activity, data, observed, ef)
    time = ph.datetime_from_days(rows["t_start"])
    em_time = np.where(rows["true_label"] == 1,
                       ph.datetime_from_days(rows["t_cm"] + rows["tau10"]),
                       np.datetime64("NaT", "ns")).astype("datetime64[ns]")
    off = pixel_offsets(s, opts["patch_deg"])
    coords = {
        "frame": np.arange(nf),
        "lat": off,
        "lon": off,
        "time": ("video", time),
        "month": ("video", calendar_month(time)),
        "year": ("video", time.astype("datetime64[Y]").astype(int) + 1970),
        "label": ("video", rows["label"].astype(np.int64)),
        "bmr_id": ("video", np.array([_bmr_id(entropy, i) for i in indices], dtype=object)),
        "lat0": ("video", rows["lat0"].astype(float)),
        "lon0": ("video", rows["lon0"].astype(float)),
        "true_label": ("video", rows["true_label"].astype(np.int64)),
        "emergence_frame": ("video", ef),
        "mislabel_reason": ("video", np.array(rows["mislabel_reason"], dtype=object)),
        "first_longitude": ("video", rows["first_longitude"].astype(float)),
        "peak_flux": ("video", rows["peak_flux"].astype(float)),
        "tilt": ("video", rows["tilt"].astype(float)),
        "separation": ("video", rows["separation"].astype(float)),
        "rise_time": ("video", rows["rise_time"].astype(float)),
        "decay_time": ("video", rows["decay_time"].astype(float)),
        "leading_polarity": ("video", rows["leading_sign"].astype(np.int64)),
        "hale": ("video", rows["hale"].astype(bool)),
        "cycle": ("video", rows["cycle"].astype(np.int64)),
        "emergence_time": ("video", em_time),
        "nest_flux": ("video", rows["nest_flux"] * bool(activity)),
        "secondary_flux": ("video", rows["secondary_flux"] * bool(activity)),
        "small_emergences": ("video", rows["small_emergences"] * int(bool(activity))),
        OBSERVED: (("video", "frame"), observed),
    }
    attrs = {
        "cadence_minutes": opts["cadence_minutes"],
        "units": UNITS,
        "instrument": INSTRUMENT,
        "pixel_deg": opts["patch_deg"] / s,
        "preprocessed": int(bool(preprocessed)),
        "off_disk": "0 G (gaps filled)" if preprocessed else "NaN",
        "provenance": (
            f"skflux {__version__} skflux.datasets.make_flux_emergence(random_state entropy="
            f"{entropy}, years={opts['years']}, emergence_fraction="
            f"{opts['emergence_fraction']}, noise={opts['noise']}, missing={bool(missing)}, "
            f"quiet_sun={bool(quiet_sun)}, activity={bool(activity)}, "
            f"patch_deg={opts['patch_deg']})"
        ),
    }
    return xr.DataArray(data, dims=DIMS, coords=coords, attrs=attrs, name="field")


def make_flux_emergence(n_videos, *, random_state=None, n_frames=N_FRAMES, size=PATCH_SIZE,
                        years=(1996, 2011), emergence_fraction=0.5, noise=ph.NOISE_96MIN_G,
                        missing=True, preprocessed=True, quiet_sun=True, activity=True,
                        cadence_minutes=None, patch_deg=PATCH_DEG, verbose=0):
    """Simulated MDI-like magnetic-patch videos with ground truth and BARD-like crude labels.

    Each video follows one bipolar magnetic region (BMR) in a 15°×15°
    Carrington patch as it crosses the visible disk: either the BMR emerges
    on the disk (``true_label=1``) or it emerged before the patch rotated into
    view, then grows to its peak if it has not yet reached it and decays
    (``true_label=0``). The field is the line-of-sight field
    an MDI-like instrument records (foreshortening, resolution, noise, gain,
    saturation, missing frames) over a quiet-Sun network with ephemeral
    regions, with the activity that surrounds real BMRs (older regions of
    the same nest, new flux emerging into regions, sub-BMR emergences), so
    the task is not trivially separable. The crude label imitates the
    paper's BARD-based labels (first daily detection west of −60° →
    emergence), so its mistakes arise for physical reasons, recorded in
    ``mislabel_reason``. The laws and numbers, with their sources, are
    listed in :mod:`skflux.datasets`.

    Parameters
    ----------
    n_videos : int
        Number of videos.
    random_state : int, numpy.random.Generator or None
        Seed. Video ``i`` depends only on the seed, ``i`` and the physical
        options: ``make_flux_emergence(10, ...)`` is the first ten videos of
        ``make_flux_emergence(100, ...)``, and ``write_flux_emergence`` writes
        the same videos.
    n_frames : int, default=225
        Frames per video.
    size : int, default=90
        Pixels per side.
    years : (int, int), default=(1996, 2011)
        First and last year of the videos' dates (the MDI era); counts
        follow the solar cycle and skip the 1998 SOHO gaps.
    emergence_fraction : float, default=0.5
        Fraction of videos that are true emergences. With the default, 19 %
        of the crude labels are wrong on average (16–23 % over sets of 400),
        mostly non-emergences first detected west of −60°.
    noise : float, default=10.0
        Standard deviation of the noise in G for a native 1/6° pixel at disk
        centre: the level of MDI 96-minute magnetograms remapped to 1/6°
        pixels, as measured on real HMI maps degraded to MDI quality
        (``benchmarks/bench_realism.py``); about 20 for MDI 1-minute
        magnetograms; 0 for none. Like remapped noise it is correlated
        between neighbouring pixels (more east-west toward the limb) and
        grows toward the limb (×1.2 at μ = 0.35). Coarser pixels average it
        down.
    missing : bool, default=True
        Drop frames like MDI did (2–5 % at random, 1–3-day blocks, the SOHO
        gaps). ``observed`` records which frames are real observations of
        the patch either way: taken by the instrument with at least part of
        the patch on the disk (frames with the patch wholly behind the limb
        are unobserved).
    preprocessed : bool, default=True
        Return videos ready for the estimators, passed through
        :func:`skflux.preprocessing.make_preprocessor` (the paper's steps):
        unobserved frames inside the observed span filled by linear
        interpolation in time, frames after the last observation padded
        with it (``mode="edge"``), off-disk pixels and frames before the
        first observation set to 0 G; no NaN remains. With False, the raw
        data: NaN off-disk and on unobserved frames.
    quiet_sun : bool, default=True
        Include the quiet-Sun network and ephemeral regions (False, with
        ``activity=False``, leaves only the BMR, for tests and figures).
    activity : bool, default=True
        Include the activity around the BMR, as in real active-latitude
        patches: an older neighbour region of the same activity nest in
        45 % of the videos, sub-BMR new flux emerging into the tracked
        region in 35 %, and on average 2 sub-BMR bipoles
        (5×10¹⁹–3×10²⁰ Mx) emerging elsewhere in the patch (per-video
        ``nest_flux``, ``secondary_flux``, ``small_emergences``; sources in
        :mod:`skflux.datasets`). Labels are unchanged. False gives the BMR
        alone in the quiet Sun: the same videos otherwise, and a nearly
        separable task.
    cadence_minutes : float, optional
        Time between frames. Default: ``96 * 225 / n_frames``, so every
        video spans the same 15 days whatever ``n_frames`` (96 minutes for
        225 frames; small test videos keep emergences, limb passages and
        crude mistakes). Recorded in the ``cadence_minutes`` attribute. The
        video must span 14–30 days (a disk passage takes 13.6 days).
    patch_deg : float, default=15.0
        Patch side in degrees; the pixel size is ``patch_deg / size``
        (1/6° by default).
    verbose : int, default=0
        Show a progress bar when positive.

    Returns
    -------
    videos : xarray.DataArray
        Dims ``("video", "frame", "lat", "lon")``, float32 Gauss, following
        :mod:`skflux._schema`: per-video ``time`` (frame 0), ``month``,
        ``year``, ``label`` (crude), ``bmr_id``, ``lat0``, ``lon0``,
        ``true_label``, ``emergence_frame`` (the first frame at which the
        BMR's flux has reached 10 % of its peak; -1 for non-emergences),
        ``mislabel_reason`` ("" when the crude label is right) and the BMR
        parameters ``first_longitude``, ``peak_flux``, ``tilt``,
        ``separation``, ``rise_time``, ``decay_time``, ``leading_polarity``,
        ``hale``, ``cycle``, ``emergence_time``, and the surrounding
        activity ``nest_flux``, ``secondary_flux``, ``small_emergences``
        (0 with ``activity=False``); per frame ``observed``;
        attributes ``cadence_minutes``, ``units``, ``instrument``,
        ``pixel_deg``, ``preprocessed``, ``provenance``.

    Raises
    ------
    TypeError
        If a size is not an integer or ``random_state`` has a wrong type.
    ValueError
        If a size, ``years``, ``emergence_fraction``, ``noise`` or the
        cadence is out of range.

    See Also
    --------
    write_flux_emergence : the same videos streamed to NetCDF.
    make_bmr_catalog : the BMR parameters and labels without rendering.

    Examples
    --------
    >>> from skflux.datasets import make_flux_emergence
    >>> videos = make_flux_emergence(4, random_state=0, n_frames=16, size=16)
    >>> videos.sizes["video"], videos.sizes["frame"], videos.attrs["cadence_minutes"]
    (4, 16, 1350)
    >>> bool(videos.notnull().all())
    True
    """
    n_videos = _check_int("n_videos", n_videos, 1)
    opts = _options(n_frames, size, years, emergence_fraction, noise, cadence_minutes, patch_deg)
    entropy = cat.root_entropy(random_state)
    return _build(entropy, np.arange(n_videos), opts, missing=missing,
                  preprocessed=preprocessed, quiet_sun=quiet_sun, activity=activity,
                  verbose=verbose)


def write_flux_emergence(path, n_videos, *, random_state=None, chunk=1, prefetch=True, verbose=0,
                         **kwargs):
    """Stream ``make_flux_emergence`` videos to a NetCDF file, ``chunk`` videos in memory.

    The catalogue of all videos is drawn first (cheap), then each video is
    rendered from its own seed and appended with :class:`skflux.io.VideoWriter`,
    so memory does not grow with ``n_videos`` and the file holds exactly the
    videos ``make_flux_emergence(n_videos, random_state=random_state,
    **kwargs)`` returns (up to the 0.2 G int16 packing).

    Parameters
    ----------
    path : str or path-like
        Output file (overwritten).
    n_videos : int
        Number of videos.
    random_state : int, numpy.random.Generator or None
        Seed (see :func:`make_flux_emergence`). ``None`` draws a fresh one;
        it is recorded in the file's ``provenance`` attribute.
    chunk : int, default=1
        Videos rendered and written per step.
    prefetch : bool, default=True
        Render the next chunks in ``RENDER_THREADS`` (2) background threads
        while the current one is compressed and written (at most three
        chunks in memory); the file is identical either way, since every
        video is rendered from its own seed.
    verbose : int, default=0
        Show a progress bar when positive.
    **kwargs
        Any other parameter of :func:`make_flux_emergence`.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> from skflux.datasets import write_flux_emergence
    >>> from skflux.io import open_videos
    >>> path = write_flux_emergence(os.path.join(tempfile.mkdtemp(), "sim.nc"), 3,
    ...                             random_state=0, n_frames=16, size=16)
    >>> open_videos(path).sizes["video"]
    3
    """
    from pathlib import Path

    from ..io import VideoWriter

    n_videos = _check_int("n_videos", n_videos, 1)
    chunk = _check_int("chunk", chunk, 1)
    unknown = set(kwargs) - {"n_frames", "size", "years", "emergence_fraction", "noise",
                             "missing", "preprocessed", "quiet_sun", "activity",
                             "cadence_minutes", "patch_deg"}
    if unknown:
        raise TypeError(f"write_flux_emergence got unexpected parameters {sorted(unknown)}")
    missing = kwargs.pop("missing", True)
    preprocessed = kwargs.pop("preprocessed", True)
    quiet_sun = kwargs.pop("quiet_sun", True)
    activity = kwargs.pop("activity", True)
    opts = _options(kwargs.get("n_frames", N_FRAMES), kwargs.get("size", PATCH_SIZE),
                    kwargs.get("years", (1996, 2011)), kwargs.get("emergence_fraction", 0.5),
                    kwargs.get("noise", ph.NOISE_96MIN_G), kwargs.get("cadence_minutes"),
                    kwargs.get("patch_deg", PATCH_DEG))
    entropy = cat.root_entropy(random_state)
    rows = _sample(entropy, np.arange(n_videos), opts["emergence_fraction"], opts["years"],
                   opts["span"])
    path = Path(os.fspath(path))
    s = opts["size"]
    off = pixel_offsets(s, opts["patch_deg"])
    starts = range(0, n_videos, chunk)
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="simulating videos", unit="chunk" if chunk > 1 else "video")
    def render(a):
        idx = np.arange(a, min(a + chunk, n_videos))
        sub = {k: v[idx] for k, v in rows.items()}
        return _build(entropy, idx, opts, missing=missing, preprocessed=preprocessed,
                      quiet_sun=quiet_sun, activity=activity, rows=sub)

    with VideoWriter(path, n_frames=opts["n_frames"], n_lat=s, n_lon=s, lat=off,
                     lon=off) as writer:
        if not prefetch:
            for a in starts:
                writer.write(render(a))
            return path
        # render the next chunks in background threads while this one is compressed and
        # written (rendering and compression spend most of their time outside the GIL);
        # each video has its own seed, so the file does not depend on the threads
        with ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
            pending = deque()
            for a in starts:
                pending.append(pool.submit(render, a))
                if len(pending) > RENDER_THREADS:
                    writer.write(pending.popleft().result())
            while pending:
                writer.write(pending.popleft().result())
    return path
