"""The steps of the paper's run as library functions (private; see :mod:`skflux.pipeline`).

simulate / extract -> prepare -> relabel -> fit -> evaluate (the test step) ->
locate -> report. Each step takes and returns library objects; the ``write_*``
helpers write a step's result atomically under its name of the run layout.
Every default that is a number comes from :mod:`skflux._paper`; every default
that depends on the video length is computed from the videos the step meets.
"""

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .._atomic import atomic_path
from .._jsonutil import dump_json
from .._paper import ENSEMBLE_BLOCKS, RELABEL_BLOCKS, RELABEL_R_STOP, THRESHOLD_FALLBACK
from .._schema import N_FRAMES, PATCH_SIZE
from ..datasets import write_flux_emergence
from ..ensemble import MonthBlockEnsemble
from ..io import find_maps, open_videos, to_netcdf, write_patch_videos
from ..metrics import accuracy_summary, relabeling_summary
from ..model_selection import MonthBlockSplit, month_block_sets
from ..preprocessing import FillGaps, MaskOffLimb, PadFrames, Resample
from ..relabel import IterativeRelabeler, ReviewLog
from ..report import build_report
from ..timing import EmergenceTimeLocator, NoEmergenceLocatedWarning

log = logging.getLogger("skflux")

#: blocks of the uncertainty ensemble (the paper's models 6-9)
N_ENSEMBLE_BLOCKS = len(ENSEMBLE_BLOCKS)

#: per-video coordinates copied into the probability file of the test videos
_PROBA_COORDS = ("bmr_id", "label", "true_label", "month", "year", "time")


# ----------------------------------------------------------------------------- writing
def _sizes(videos):
    return tuple(int(videos.sizes[d]) for d in ("frame", "lat", "lon"))


def _shape_text(shape):
    return "x".join(map(str, shape))


# ------------------------------------------------------------------------- data steps
def simulate(path, n_videos, *, n_frames=N_FRAMES, size=PATCH_SIZE, random_state=0,
             verbose=0, overwrite=False):
    """Write a simulated dataset with ground truth and BARD-like crude labels.

    Parameters
    ----------
    path : str or Path
        NetCDF file to write (renamed into place when complete).
    n_videos : int
        Number of videos.
    n_frames : int, default=225
        Frames per video (96-minute cadence).
    size : int, default=90
        Pixels per side of the 15-degree patch.
    random_state : int, default=0
        Seed.
    verbose : int, default=0
        Progress bar when positive.
    overwrite : bool, default=False
        Replace an existing file (else ``FileExistsError``).

    Returns
    -------
    path : Path

    See Also
    --------
    skflux.datasets.write_flux_emergence : what writes the videos.
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        write_flux_emergence(tmp, n_videos, random_state=random_state, n_frames=n_frames,
                             size=size, verbose=verbose)
    return path


def label_summary(videos):
    """One line on the labels of videos (or of a NetCDF file): crude vs truth when known.

    Parameters
    ----------
    videos : xarray.DataArray, str or Path

    Returns
    -------
    line : str
    """
    if isinstance(videos, (str, os.PathLike)):
        videos = open_videos(videos)
    label = np.asarray(videos["label"].values)
    line = f"{label.size} videos, {label.mean():.0%} labeled emergence"
    if "true_label" in videos.coords:
        truth = np.asarray(videos["true_label"].values)
        line += (f", {truth.mean():.0%} truly emergence, "
                 f"{np.mean(label != truth):.0%} crude labels wrong")
    return line


def extract(maps, catalog, path, *, pattern="*.fits", **options):
    """Cut the patch video of every catalogue region from full-disk magnetograms.

    Parameters
    ----------
    maps : str, Path or sequence of path-like
        A folder of FITS maps (searched with ``pattern``) or the map files in
        time order.
    catalog : str, Path or pandas.DataFrame
        One row per region (see :func:`skflux.io.write_patch_videos`).
    path : str or Path
        NetCDF file to write (renamed into place when complete).
    pattern : str, optional
        Glob pattern of the maps inside a folder (default ``"*.fits"``).
    **options
        ``n_frames``, ``cadence_minutes``, ``size``, ``pixel_deg``, ``mu_min``,
        ``radial``, ``scale``, ``n_jobs``, ``verbose`` of
        :func:`skflux.io.write_patch_videos`.

    Returns
    -------
    path : Path
        The file written. Pixels beyond the limb cut and frames without a map
        are NaN (``observed`` False): run :func:`prepare` before training.
    """
    if isinstance(maps, (str, os.PathLike)) and Path(maps).is_dir():
        maps = find_maps(maps, pattern)
    return write_patch_videos(maps, catalog, path, **options)


def prepare(videos, *, fill_gaps=True, n_frames=None, mode="edge", resample=None,
            fill_value=0.0, sentinel=0.0):
    """The paper's preparation of videos (its steps 1-3), with optional resampling.

    Gaps inside each video's observed span are filled by linear interpolation
    over time (:class:`~skflux.preprocessing.FillGaps`), videos are padded to
    ``n_frames`` (:class:`~skflux.preprocessing.PadFrames`), off-disk pixels set
    to ``fill_value`` (:class:`~skflux.preprocessing.MaskOffLimb`), then, when
    asked, resampled (:class:`~skflux.preprocessing.Resample`, area averaging).
    The ``observed`` coordinate keeps saying which frames are real observations.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos ``(video, frame, lat, lon)`` in Gauss, NaN where unobserved (as
        :func:`extract` writes them).
    fill_gaps : bool, default=True
        Fill gaps, pad and mask off-disk pixels. Without it, videos holding NaN
        are refused (naming the first one).
    n_frames : int, optional
        Frames after padding; default: the videos' own length.
    mode : {"edge", "zero"}, default="edge"
        Padding: repeat the last observed frame (the authors' code) or 0 G
        frames (the paper's text).
    resample : tuple of int ``(n_frames, size)``, optional
        Bring the videos to ``n_frames`` frames of ``size`` x ``size`` pixels
        after filling (e.g. a model's input size).
    fill_value : float, default=0.0
        Off-disk background in Gauss.
    sentinel : float, "auto" or None, default=0.0
        Off-disk fill value of the input besides NaN (see ``MaskOffLimb``).

    Returns
    -------
    prepared : xarray.DataArray
        Lazy where ``videos`` is.

    Raises
    ------
    ValueError
        If a video has no observed frame, or holds NaN with ``fill_gaps=False``,
        or ``resample`` is not two positive integers.

    Examples
    --------
    >>> import numpy as np
    >>> from skflux.datasets import make_flux_emergence
    >>> from skflux.pipeline import prepare
    >>> X = make_flux_emergence(2, n_frames=6, size=8, random_state=0)
    >>> X = X.drop_vars("emergence_frame")  # (a frame index: not resampled)
    >>> X = X.where(X.frame != 2)  # a missing frame, marked unobserved:
    >>> X = X.assign_coords(observed=X.observed & (X.frame != 2))
    >>> out = prepare(X, resample=(3, 4))
    >>> out.shape, bool(np.isnan(out.values).any())
    ((2, 3, 4, 4), False)
    """
    out = videos
    if fill_gaps:
        n = int(videos.sizes["frame"]) if n_frames is None else int(n_frames)
        for step in (FillGaps(), PadFrames(n_frames=n, mode=mode, copy=False),
                     MaskOffLimb(fill_value=fill_value, sentinel=sentinel, copy=False)):
            out = step.fit_transform(out)
    else:
        bad = np.flatnonzero(np.asarray(
            videos.isnull().any(dim=("frame", "lat", "lon")).values))
        if bad.size:
            name = (f" (bmr_id {str(videos['bmr_id'].values[bad[0]])!r})"
                    if "bmr_id" in videos.coords else "")
            raise ValueError(f"video {int(bad[0])}{name} holds NaN (unobserved frames or "
                             f"off-disk pixels; {bad.size} videos in all): fill the gaps "
                             "(fill_gaps=True, skflux prepare --fill-gaps)")
    if resample is not None:
        try:
            frames, size = (int(v) for v in resample)
        except (TypeError, ValueError):
            raise ValueError(f"resample must be (n_frames, size); got {resample!r}") from None
        if frames < 1 or size < 1:
            raise ValueError(f"resample must be two positive integers; got {resample!r}")
        if _sizes(out) != (frames, size, size):
            out = Resample(n_frames=frames, size=size).fit_transform(out)
    return out


def prepare_file(src, dst, *, overwrite=False, **options):
    """:func:`prepare` the videos of a NetCDF file into another, atomically.

    Parameters
    ----------
    src, dst : str or Path
        Input and output NetCDF files (distinct).
    overwrite : bool, default=False
        Replace an existing ``dst`` (else ``FileExistsError``).
    **options
        As in :func:`prepare`.

    Returns
    -------
    summary : dict
        ``n_videos``, ``shape_in`` and ``shape_out`` (frames x lat x lon),
        ``unobserved_frames`` (video frames that were not observations: now
        filled, padded or, outside the observed span, repeated) and ``path``.
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"{dst}: the prepared copy must not replace its input")
    videos = open_videos(src)
    shape_in = _sizes(videos)
    observed = (np.asarray(videos["observed"].values).astype(bool) if "observed" in
                videos.coords else np.ones(videos.shape[:2], dtype=bool))
    out = prepare(videos, **options)
    with atomic_path(dst, overwrite=overwrite) as tmp:
        to_netcdf(out, tmp)
    return {"n_videos": int(videos.sizes["video"]), "shape_in": _shape_text(shape_in),
            "shape_out": _shape_text(_sizes(out)),
            "unobserved_frames": int((~observed).sum()), "path": dst}


# ---------------------------------------------------------------------- relabeling
def relabel(videos, y, classifier, *, oracle, review_log, max_passes=10,
            stop_ratio=RELABEL_R_STOP, n_jobs=1, random_state=0, verbose=1, log_meta=None):
    """The paper's iterative relabeling with a reviewer, resumable from its review log.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos with ``month`` (or ``time``) coordinates; months 1-10 are relabeled
        in the blocks of :data:`RELABEL_BLOCKS`.
    y : array-like of shape (n_videos,)
        Current (crude) labels.
    classifier : FluxEmergenceClassifier
        Unfitted classifier trained per block.
    oracle : skflux.relabel.Oracle
        The reviewer (``TruthOracle("label_column")`` reads a coordinate).
    review_log : str or Path
        The durable log of every verdict (created or resumed).
    max_passes : int, default=10
    stop_ratio : float, default=RELABEL_R_STOP (0.5)
        Stop when ``R = |E| / (|fp| + |fn| - |E|)`` is at most this.
    n_jobs : int, default=1
        Models trained in parallel.
    random_state : int, default=0
    verbose : int, default=1
        1: one line per pass; 2: progress bars too.
    log_meta : dict of str to str, optional
        Keys written into a new review log's ``meta`` table (e.g. the command
        line that started it, for ``skflux review``).

    Returns
    -------
    relabeler : IterativeRelabeler
        Fitted: ``labels_``, ``verified_``, ``passes_``.

    Raises
    ------
    skflux.relabel.ReviewPending
        When the reviewer stopped before the end (nothing is lost: rerun).
    """
    rel = IterativeRelabeler(
        classifier, oracle=oracle,
        review_log=str(review_log) if not log_meta else ReviewLog(review_log,
                                                                  extra_meta=log_meta),
        max_passes=max_passes, stop_ratio=stop_ratio, n_jobs=n_jobs,
        random_state=random_state, verbose=verbose)
    return rel.fit(videos, y)


def write_relabeled(videos, relabeler, path, y_crude=None, *, overwrite=False):
    """A copy of the videos with the new labels, written atomically.

    The crude labels stay in ``crude_label`` (``y_crude``, default the
    videos' ``label``), the verified videos are flagged in ``verified``. An
    existing file at ``path`` is replaced only with ``overwrite``.

    Returns
    -------
    path : Path
    """
    y_crude = np.asarray(videos["label"].values if y_crude is None else y_crude)
    new = videos.assign_coords(label=("video", relabeler.labels_.astype(videos["label"].dtype)),
                               verified=("video", relabeler.verified_.astype(bool)))
    if "crude_label" not in videos.coords:
        new = new.assign_coords(crude_label=("video", y_crude))
    new.attrs = dict(videos.attrs)
    new.attrs["relabeled_passes"] = int(relabeler.n_passes_)
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        to_netcdf(new, tmp)
    return path


def write_passes(relabeler, path, summary=None):
    """The per-pass record (Figure 3) and a summary as JSON, written atomically."""
    return dump_json({"passes": [p.to_dict() for p in relabeler.passes_],
                      "summary": summary or {}}, path)


def relabel_summary(relabeler, y_crude, y_true=None):
    """:func:`skflux.metrics.relabeling_summary` (what the per-pass record's summary holds)."""
    return relabeling_summary(relabeler, y_crude, y_true)


# ------------------------------------------------------------------------ the ensemble
def make_ensemble(classifier, *, n_blocks=N_ENSEMBLE_BLOCKS, n_seeds=2, n_jobs=1,
                  random_state=0, verbose=0):
    """An unfitted month-block ensemble whose threshold is fit on the months left.

    Parameters
    ----------
    classifier : FluxEmergenceClassifier
    n_blocks : int, default=4
        The first ``n_blocks`` two-month blocks of :data:`RELABEL_BLOCKS`, one
        member each per seed. 4 (the default): the paper's models 6-9, months
        9-10 (:data:`BENCHMARK_MONTHS`) set the threshold; 5: every block,
        threshold :data:`THRESHOLD_FALLBACK`.
    n_seeds : int, default=2
    n_jobs, random_state, verbose
        Of :class:`~skflux.ensemble.MonthBlockEnsemble`.

    Returns
    -------
    ensemble : MonthBlockEnsemble
    """
    if not 1 <= int(n_blocks) <= len(RELABEL_BLOCKS):
        raise ValueError(f"n_blocks must be 1-{len(RELABEL_BLOCKS)}; got {n_blocks!r}")
    blocks = [tuple(b) for b in RELABEL_BLOCKS[:int(n_blocks)]]
    threshold = "benchmark" if int(n_blocks) < len(RELABEL_BLOCKS) else THRESHOLD_FALLBACK
    return MonthBlockEnsemble(classifier, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                              threshold=threshold, n_jobs=n_jobs, random_state=random_state,
                              verbose=verbose)


def fit(videos, y, classifier, *, n_blocks=N_ENSEMBLE_BLOCKS, n_seeds=2, n_jobs=1,
        random_state=0, verbose=0):
    """Train the uncertainty ensemble (:func:`make_ensemble`) and its threshold.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos with ``month`` (or ``time``) coordinates.
    y : array-like of shape (n_videos,)
        Training labels (e.g. the relabeled ones).
    classifier, n_blocks, n_seeds, n_jobs, random_state, verbose
        As in :func:`make_ensemble`.

    Returns
    -------
    ensemble : MonthBlockEnsemble
        Fitted; save it with ``ensemble.save(path)``.
    """
    ens = make_ensemble(classifier, n_blocks=n_blocks, n_seeds=n_seeds, n_jobs=n_jobs,
                        random_state=random_state, verbose=verbose)
    log.info("training %d members (%d month blocks x %d seeds) on %d videos",
             int(n_blocks) * n_seeds, n_blocks, n_seeds, len(videos))
    start = time.perf_counter()
    ens.fit(videos, y)
    log.info("trained in %.0f s", time.perf_counter() - start)
    source = (getattr(ens, "threshold_info_", None) or {}).get("source", "fixed")
    log.info("decision threshold %.3f (%s)", ens.threshold_, source)
    return ens


def evaluate(ensemble, videos, *, y_true=None, y_labels=None):
    """The test step: the members' probabilities of the test months (11-12) and accuracy.

    Parameters
    ----------
    ensemble : MonthBlockEnsemble
        Fitted.
    videos : xarray.DataArray
        All videos; those of :data:`TEST_MONTHS` are scored.
    y_true, y_labels : array-like of shape (n_videos,), optional
        True and crude labels of all videos (see
        :func:`skflux.metrics.accuracy_summary`).

    Returns
    -------
    test : ndarray of int
        Positions of the test videos in ``videos``.
    member_proba : ndarray of shape (n_members, n_test)
    summary : dict
        :func:`skflux.metrics.accuracy_summary` of the test videos.

    Raises
    ------
    ValueError
        If no video lies in the test months.
    """
    test = month_block_sets(videos).test
    if test.size == 0:
        raise ValueError("no test videos (months 11-12): nothing to evaluate; simulate or "
                         "extract more videos")
    P = ensemble.predict_proba_members(videos.isel(video=test))
    summary = accuracy_summary(
        P, ensemble.threshold_, y_true=None if y_true is None else np.asarray(y_true)[test],
        y_labels=None if y_labels is None else np.asarray(y_labels)[test])
    return test, P, summary


def write_probabilities(path, member_proba, threshold, videos, *, overwrite=False):
    """Members' probabilities of the test videos (Figure 4) as NetCDF, written atomically.

    Parameters
    ----------
    path : str or Path
    member_proba : ndarray of shape (n_members, n_videos)
    threshold : float
    videos : xarray.DataArray
        The scored videos (their ``bmr_id``, labels, month... are kept).
    overwrite : bool, default=False
        Replace an existing file (else ``FileExistsError``).

    Returns
    -------
    path : Path
    """
    coords = {"member": np.arange(member_proba.shape[0])}
    for name in _PROBA_COORDS:
        if name in videos.coords:
            coords[name] = ("video", videos[name].values)
    ds = xr.Dataset({"member_proba": (("member", "video"),
                                      np.asarray(member_proba, dtype="float32"))},
                    coords=coords, attrs={"threshold": float(threshold)})
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        ds.to_netcdf(tmp)
    return path


# ------------------------------------------------------------------------------ timing
def load_ensemble(path, *, device=None):
    """:meth:`MonthBlockEnsemble.load` with errors that name the model directory.

    Parameters
    ----------
    path : str or Path
        A folder written by ``MonthBlockEnsemble.save`` (``skflux fit``).
    device : str, optional
        Torch device (default: as trained).

    Returns
    -------
    ensemble : MonthBlockEnsemble

    Raises
    ------
    ValueError
        If the folder cannot be loaded (the message names it).
    """
    try:
        return MonthBlockEnsemble.load(path, device=device)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        text = " ".join(str(exc).split())
        raise ValueError(text if str(path) in text else f"{path}: cannot load the ensemble: "
                         f"{text}") from exc


def model_video_shape(ensemble):
    """``(frames, lat, lon)`` the ensemble was trained on, or None when it does not say."""
    return EmergenceTimeLocator(ensemble, lower_bound=0).fit().video_shape_


def resample_to_model(videos, ensemble):
    """``videos`` resampled to the ensemble's ``(frame, lat, lon)`` (unchanged when equal).

    Raises
    ------
    ValueError
        If the model does not record its input size, or its patches are not square.
    """
    shape = model_video_shape(ensemble)
    if shape is None:
        raise ValueError("the model does not record the video size it was trained on; "
                         "resample the videos with skflux.preprocessing.Resample")
    n_frames, n_lat, n_lon = (int(s) for s in shape)
    if n_lat != n_lon:
        raise ValueError(f"the model was trained on {n_lat}x{n_lon} patches; Resample makes "
                         "square patches only")
    if _sizes(videos) == (n_frames, n_lat, n_lon):
        return videos
    log.info("resampling videos of %s to the model's %s (frame x lat x lon)",
             _shape_text(_sizes(videos)), _shape_text(shape))
    return Resample(n_frames=n_frames, size=n_lat).fit_transform(videos)


def locate(videos, ensemble, *, lower_bound=None, method="fast", resample=False, verbose=0):
    """Emergence frame and time of every video by frame masking, with the curves.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos (no NaN).
    ensemble : MonthBlockEnsemble
        Fitted.
    lower_bound : int, optional
        Default: the authors' 30 of 225 frames scaled to the videos' length
        (:func:`lower_bound_for`), computed by the locator from the videos.
    method : {"fast", "naive", "authors"}, default="fast"
    resample : bool, default=False
        Bring videos of another size to the ensemble's first
        (:func:`resample_to_model`); frames in the output are then frames of
        the resampled videos (attribute ``resampled_from``).
    verbose : int, default=0

    Returns
    -------
    times : xarray.Dataset
        :meth:`EmergenceTimeLocator.transform`'s dataset (``emergence_frame``,
        ``emergence_time``, ``located``... and the attribute ``n_not_located``)
        plus ``curves`` (member, video, frame). Where ``located`` is False the
        frame is NaN and the time NaT: no emergence time is made up.
    """
    shape_in = _sizes(videos)
    if resample:
        videos = resample_to_model(videos, ensemble)
    loc = EmergenceTimeLocator(ensemble, lower_bound=lower_bound, method=method,
                               verbose=verbose)
    with warnings.catch_warnings():
        # counted in the result (attribute n_not_located); callers report it
        warnings.simplefilter("ignore", NoEmergenceLocatedWarning)
        ds = loc.fit_transform(videos)
    ds["curves"] = (("member", "video", "frame"), loc.curves_.astype("float32"))
    ds["curves"].attrs["description"] = (
        "probability of emergence of each member with the video cut at each frame")
    if _sizes(videos) != shape_in:
        ds.attrs["resampled_from"] = (f"{_shape_text(shape_in)} (frame x lat x lon; frames "
                                      "here are frames of the resampled videos)")
    return ds


def write_times(times, path, *, overwrite=False):
    """The dataset of :func:`locate` as NetCDF, written atomically; returns the path.

    An existing file is replaced only with ``overwrite`` (else ``FileExistsError``).
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        times.to_netcdf(tmp)
    return path


def located_lines(times):
    """One line per video: its id and emergence time, or "no emergence located".

    Parameters
    ----------
    times : xarray.Dataset
        From :func:`locate`.

    Returns
    -------
    lines : list of str
    """
    ids = (times["bmr_id"].values if "bmr_id" in times.coords
           else np.arange(times.sizes["video"]))
    located = np.asarray(times["located"].values).astype(bool)
    frames = np.asarray(times["emergence_frame"].values, dtype=float)
    stamps = np.asarray(times["emergence_time"].values)
    n_obs = np.asarray(times["n_observed_frames"].values)
    lb = int(times.attrs.get("lower_bound", 0))
    lines = []
    for i, vid in enumerate(ids):
        if located[i]:
            when = "" if np.isnat(stamps[i]) else f" {np.datetime_as_string(stamps[i], 'm')}"
            lines.append(f"{vid}\tframe {frames[i]:g}{when}")
        else:
            why = (f"only {int(n_obs[i])} observed frame(s) from the lower bound on"
                   if n_obs[i] < 2 else f"largest change at the lower bound, frame {lb}")
            lines.append(f"{vid}\tno emergence located ({why})")
    return lines


# ------------------------------------------------------------------------------ report
def report(run_dir, out=None, *, fmt="png", quiet=False):
    """The HTML report of a run directory (:func:`skflux.report.build_report`).

    The report only reads the run directory; a figure that cannot be drawn is
    a note in the page, not the end of the report.

    Returns
    -------
    path : Path
        ``out/index.html``.
    """
    return build_report(run_dir, out, fmt=fmt, quiet=quiet)


__all__ = [
    "atomic_path", "evaluate", "extract", "fit", "label_summary", "load_ensemble", "locate",
    "located_lines", "make_ensemble", "model_video_shape", "prepare", "prepare_file",
    "relabel", "relabel_summary", "report", "resample_to_model", "simulate", "write_passes",
    "write_probabilities", "write_relabeled", "write_times",
]
