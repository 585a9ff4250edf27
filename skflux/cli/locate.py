"""``skflux locate DATA.nc MODEL_DIR OUT.nc``: emergence time of every video."""

import logging
import time

from .. import pipeline
from .._paper import LOWER_BOUND_FRAMES, MIN_OBSERVED_FRAMES
from .._schema import N_FRAMES
from ._options import device, nonneg_int
from ._paths import check_distinct, open_videos, output_path, require_dir

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "locate", parents=parents, help="emergence time of every video by frame masking",
        description="For every video, mask the frames after each cut-off, follow each ensemble "
                    "member's probability as the cut-off advances, and take the frame of "
                    "steepest rise (median over members) as the emergence frame. Writes a "
                    "NetCDF dataset with the frames, times, per-member frames, the 'located' "
                    "flag and the probability curves. Where the largest change sits at the "
                    "lower bound, or fewer than "
                    f"{MIN_OBSERVED_FRAMES} frames from it on are observed, no emergence is "
                    "located: the frame is NaN, the time NaT, and the count is reported.")
    p.add_argument("data", metavar="DATA.nc", help="videos")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="ensemble saved by 'skflux fit'")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--lower-bound", type=nonneg_int, default=None,
                   help=f"frames before this are set to it (default: the library's, "
                        f"{LOWER_BOUND_FRAMES} of {N_FRAMES} frames scaled to the videos' "
                        "length: skflux.pipeline.lower_bound_for)")
    p.add_argument("--method", choices=("fast", "naive"), default="fast",
                   help="fast (exact shortcuts) or naive (one forward pass per cut-off)")
    p.add_argument("--device", type=device, default=None,
                   help="torch device (default: as trained)")
    p.add_argument("--resample", action="store_true",
                   help="bring videos of another size to the frames x lat x lon the model was "
                        "trained on with skflux.preprocessing.Resample (area averaging; "
                        "without it such videos are refused)")
    p.add_argument("--list", action="store_true",
                   help="print one line per video: its bmr_id and emergence frame and time, "
                        "or 'no emergence located' and why")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def run(args):
    check_distinct([("OUT.nc", args.out)], [("DATA.nc", args.data), ("MODEL_DIR", args.model_dir)])
    out = output_path(args.out, "OUT.nc", args.overwrite)
    videos = open_videos(args.data)
    ens = pipeline.load_ensemble(require_dir(args.model_dir, "model directory"),
                                 device=args.device)
    start = time.perf_counter()
    ds = pipeline.locate(videos, ens, lower_bound=args.lower_bound, method=args.method,
                         resample=args.resample, verbose=0 if args.quiet else 1)
    pipeline.write_times(ds, out, overwrite=args.overwrite)
    n, n_not = ds.sizes["video"], int(ds.attrs["n_not_located"])
    log.info("emergence times of %d videos (%d members, lower bound frame %d) -> %s in %.1f s",
             n, ds.sizes["member"], ds.attrs["lower_bound"], out, time.perf_counter() - start)
    if n_not:
        log.warning("no emergence located in %d of %d videos (largest change at the lower "
                    "bound, frame %d, or fewer than %d observed frames from it on): their "
                    "emergence_time is NaT, 'located' False", n_not, n, ds.attrs["lower_bound"],
                    MIN_OBSERVED_FRAMES)
    if args.list:
        for line in pipeline.located_lines(ds):
            print(line)
