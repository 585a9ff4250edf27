"""``skflux locate DATA.nc MODEL_DIR OUT.nc``: emergence time of every video."""

import logging
import time

from ._errors import CommandError
from ._options import device, nonneg_int
from ._paths import atomic_output, check_distinct, open_videos, output_path, require_dir

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "locate", parents=parents, help="emergence time of every video by frame masking",
        description="For every video, mask the frames after each cut-off, follow each ensemble "
                    "member's probability as the cut-off advances, and take the frame of "
                    "steepest rise (median over members) as the emergence frame. Writes a "
                    "NetCDF dataset with the frames, times, per-member frames and the "
                    "probability curves.")
    p.add_argument("data", metavar="DATA.nc", help="videos")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="ensemble saved by 'skflux fit'")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--lower-bound", type=nonneg_int, default=None,
                   help="frames before this are set to it (default: the library's, 30 at "
                        "full size)")
    p.add_argument("--method", choices=("fast", "naive"), default="fast",
                   help="fast (exact shortcuts) or naive (one forward pass per cut-off)")
    p.add_argument("--device", type=device, default=None,
                   help="torch device (default: as trained)")
    p.add_argument("--resample", action="store_true",
                   help="bring videos of another size to the frames x lat x lon the model was "
                        "trained on with skflux.preprocessing.Resample (area averaging; "
                        "without it such videos are refused)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def default_lower_bound(n_frames):
    """The authors' 30 of 225 frames, scaled to the video length."""
    from .._schema import N_FRAMES

    return max(1, min(n_frames - 2, round(30 * n_frames / N_FRAMES)))


def resample_to_model(videos, shape):
    """``videos`` resampled to the model's ``(frame, lat, lon)`` (unchanged when equal)."""
    from ..preprocessing import Resample

    if shape is None:
        raise CommandError("--resample: the model does not record the video size it was "
                           "trained on; resample the videos in Python with "
                           "skflux.preprocessing.Resample")
    n_frames, n_lat, n_lon = (int(s) for s in shape)
    if n_lat != n_lon:
        raise CommandError(f"--resample: the model was trained on {n_lat}x{n_lon} patches; "
                           "Resample makes square patches only")
    got = tuple(int(videos.sizes[d]) for d in ("frame", "lat", "lon"))
    if got == (n_frames, n_lat, n_lon):
        return videos
    log.info("resampling videos of %s to the model's %s (frame x lat x lon)",
             "x".join(map(str, got)), "x".join(map(str, shape)))
    return Resample(n_frames=n_frames, size=n_lat).fit_transform(videos)


def run_locate(videos, ens, *, lower_bound=None, method="fast", quiet=False, resample=False):
    """Emergence times of ``videos`` as a Dataset, with the probability curves.

    With ``resample``, videos of another size are first brought to the size the
    ensemble was trained on (:func:`resample_to_model`); frames in the output
    are then frames of the resampled videos.
    """
    from ..timing import EmergenceTimeLocator

    shape_in = tuple(int(videos.sizes[d]) for d in ("frame", "lat", "lon"))
    if resample:
        probe = EmergenceTimeLocator(ens, lower_bound=1).fit()  # reads the model's size
        videos = resample_to_model(videos, probe.video_shape_)
    if lower_bound is None:
        lower_bound = default_lower_bound(videos.sizes["frame"])
    loc = EmergenceTimeLocator(ens, lower_bound=lower_bound, method=method,
                               verbose=0 if quiet else 1)
    ds = loc.fit_transform(videos)
    ds["curves"] = (("member", "video", "frame"), loc.curves_.astype("float32"))
    ds["curves"].attrs["description"] = (
        "probability of emergence of each member with the video cut at each frame")
    if tuple(videos.shape[1:]) != shape_in:
        ds.attrs["resampled_from"] = (f"{'x'.join(map(str, shape_in))} (frame x lat x lon; "
                                      "frames here are frames of the resampled videos)")
    return ds


def write_dataset(ds, out):
    with atomic_output(out) as tmp:
        ds.to_netcdf(tmp)


def run(args):
    from ..ensemble import MonthBlockEnsemble

    check_distinct([("OUT.nc", args.out)], [("DATA.nc", args.data), ("MODEL_DIR", args.model_dir)])
    out = output_path(args.out, "OUT.nc", args.overwrite)
    videos = open_videos(args.data)
    ens = MonthBlockEnsemble.load(require_dir(args.model_dir, "model directory"),
                                  device=args.device)
    start = time.perf_counter()
    ds = run_locate(videos, ens, lower_bound=args.lower_bound, method=args.method,
                    quiet=args.quiet, resample=args.resample)
    write_dataset(ds, out)
    log.info("emergence times of %d videos (%d members) -> %s in %.1f s", ds.sizes["video"],
             ds.sizes["member"], out, time.perf_counter() - start)
