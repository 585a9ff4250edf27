"""``skflux simulate OUT.nc --n-videos N``: a simulated dataset with ground truth."""

import logging
import time

from .. import pipeline
from .._schema import N_FRAMES, PATCH_SIZE
from ._options import nonneg_int, positive_int
from ._paths import output_path

log = logging.getLogger("skflux")


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "simulate", parents=parents, help="write a simulated dataset of patch videos to NetCDF",
        description="Simulate MDI-like magnetogram patch videos with ground truth (true label, "
                    "emergence frame) and BARD-like crude labels, streamed to a NetCDF file one "
                    "video at a time.")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--n-videos", type=positive_int, required=True, metavar="N",
                   help="number of videos")
    p.add_argument("--seed", type=nonneg_int, default=0, metavar="S",
                   help="random seed (default 0)")
    p.add_argument("--frames", type=positive_int, default=N_FRAMES,
                   help="frames per video (default %(default)s, 96-minute cadence)")
    p.add_argument("--size", type=positive_int, default=PATCH_SIZE,
                   help="pixels per side of the 15-degree patch (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def run(args):
    out = output_path(args.out, "OUT.nc", args.overwrite)
    start = time.perf_counter()
    log.info("simulating %d videos (%d frames of %dx%d px, seed %d) -> %s",
             args.n_videos, args.frames, args.size, args.size, args.seed, out)
    pipeline.simulate(out, args.n_videos, n_frames=args.frames, size=args.size,
                      random_state=args.seed, verbose=0 if args.quiet else 1,
                      overwrite=args.overwrite)
    log.info("wrote %s in %.1f s", out, time.perf_counter() - start)
    try:
        log.info("%s", pipeline.label_summary(out))
    except (ValueError, OSError) as exc:  # a summary must not turn success into failure
        log.debug("no label summary: %s", exc)
