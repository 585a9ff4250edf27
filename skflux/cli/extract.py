"""``skflux extract MAPS_DIR CATALOG.csv OUT.nc``: patch videos cut from full-disk maps."""

import argparse
import logging
import math
import time

from ._options import fraction, n_jobs, positive_float, positive_int
from ._paths import (
    atomic_output,
    check_distinct,
    check_not_read,
    output_path,
    require_dir,
    require_file,
)

log = logging.getLogger("skflux")


def scale(text):
    """``--scale``: a positive factor, or ``to_hmi`` (skflux.io.TO_HMI by instrument)."""
    if text.strip().lower() == "to_hmi":
        return "to_hmi"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number or to_hmi, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number or to_hmi, got {text!r}")
    return value


def add_parser(subparsers, parents):
    from .._schema import CADENCE_MINUTES, MU_MIN, N_FRAMES, PATCH_SIZE, PIXEL_DEG

    p = subparsers.add_parser(
        "extract", parents=parents,
        help="cut patch videos of a region catalogue from full-disk magnetograms",
        description="Cut one patch video per catalogue region from the full-disk line-of-sight "
                    "magnetograms (MDI, HMI, GONG... FITS) in MAPS_DIR: a Carrington "
                    "plate-carree patch that follows the region, one frame per cadence step "
                    "(skflux.io.write_patch_videos: sunpy + reproject, one pass over the maps, "
                    "each map read once). CATALOG.csv has one row per region: bmr_id (or id), "
                    "lon0 (or lon) and lat0 (or lat) in Carrington degrees, label (0/1), "
                    "optionally start (time of frame 0) and any per-video column. Pixels "
                    "beyond the limb cut and frames without a map are NaN (unobserved): run "
                    "the preprocessing before training.")
    p.add_argument("maps_dir", metavar="MAPS_DIR", help="folder of full-disk FITS magnetograms")
    p.add_argument("catalog", metavar="CATALOG.csv", help="region catalogue")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--pattern", default="*.fits",
                   help="glob pattern of the map files in MAPS_DIR ('**/*.fits' searches "
                        "sub-folders; default %(default)s)")
    p.add_argument("--frames", type=positive_int, default=N_FRAMES,
                   help="frames per video (default %(default)s)")
    p.add_argument("--cadence-minutes", type=positive_float, default=float(CADENCE_MINUTES),
                   help="minutes between frames; each frame uses the map nearest in time "
                        "within half a cadence (default %(default)g)")
    p.add_argument("--size", type=positive_int, default=PATCH_SIZE,
                   help="pixels per side of the patch (default %(default)s)")
    p.add_argument("--pixel-deg", type=positive_float, default=PIXEL_DEG,
                   help="pixel size in degrees (default 1/6)")
    p.add_argument("--mu-min", type=fraction, default=MU_MIN,
                   help="limb cut: pixels whose mu (cosine of the heliocentric angle) is "
                        "below it are NaN (default %(default)s)")
    p.add_argument("--radial", action="store_true",
                   help="divide the line-of-sight field by mu (radial-field estimate)")
    p.add_argument("--scale", type=scale, default=1.0,
                   help="factor applied to the field, or to_hmi to bring MDI/GONG maps to "
                        "HMI's scale (skflux.io.TO_HMI; default 1)")
    p.add_argument("--n-jobs", type=n_jobs, default=1,
                   help="maps processed in parallel (joblib; -1: all cores; default "
                        "%(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def run(args):
    import xarray as xr

    from ..io import find_maps, write_patch_videos

    check_distinct([("OUT.nc", args.out)],
                   [("MAPS_DIR", args.maps_dir), ("CATALOG.csv", args.catalog)])
    maps_dir = require_dir(args.maps_dir, "maps folder")
    catalog = require_file(args.catalog, "catalogue CSV")
    out = output_path(args.out, "OUT.nc", args.overwrite)
    maps = find_maps(maps_dir, args.pattern)
    check_not_read([("OUT.nc", args.out)], "MAPS_DIR", maps, "the map")
    log.info("%d maps in %s, %s .. %s", len(maps), maps_dir, maps[0].name, maps[-1].name)
    start = time.perf_counter()
    with atomic_output(out) as tmp:
        write_patch_videos(maps, catalog, tmp, n_frames=args.frames,
                           cadence_minutes=args.cadence_minutes, size=args.size,
                           pixel_deg=args.pixel_deg, mu_min=args.mu_min, radial=args.radial,
                           scale=args.scale, n_jobs=args.n_jobs, verbose=not args.quiet)
    with xr.open_dataset(out) as ds:
        n = ds.sizes["video"]
    log.info("cut %d patch videos (%s) from %d maps -> %s in %.1f s", n, catalog, len(maps), out,
             time.perf_counter() - start)
