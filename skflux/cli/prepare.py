"""``skflux prepare DATA.nc OUT.nc --fill-gaps [--resample FxLxL | --model DIR]``.

The paper's preparation of videos from the command line (``pipeline.prepare``):
fill the gaps of extracted real data, mask off-disk pixels, pad, and bring the
videos to a model's size.
"""

import argparse
import logging
import re

from .. import pipeline
from ._errors import OptionError
from ._options import positive_int
from ._paths import check_distinct, output_path, require_dir, require_file

log = logging.getLogger("skflux")


def video_size(text):
    """``--resample``: ``FRAMESxLATxLON`` with LAT = LON (e.g. 32x24x24)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected FRAMESxLATxLON, e.g. 32x24x24; got {text!r}")
    frames, lat, lon = (int(g) for g in m.groups())
    if min(frames, lat, lon) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive; got {text!r}")
    if lat != lon:
        raise argparse.ArgumentTypeError(f"patches are square (LAT = LON); got {text!r}")
    return frames, lat


def add_parser(subparsers, parents):
    p = subparsers.add_parser(
        "prepare", parents=parents,
        help="fill gaps, mask off-disk pixels, pad and resample videos (e.g. after extract)",
        description="Prepare videos for training or location (skflux.pipeline.prepare). "
                    "--fill-gaps: fill the frames missing inside each video's observed span "
                    "by linear interpolation over time, set off-disk pixels (NaN) to 0 G and "
                    "pad to --frames frames (the 'observed' coordinate keeps saying which "
                    "frames are real observations). --resample FxLxL, or --model MODEL_DIR "
                    "for the size a model was trained on: area-averaging resampling "
                    "(skflux.preprocessing.Resample). 'skflux extract' writes NaN where "
                    "nothing was observed; the other commands refuse NaN, so prepare first.")
    p.add_argument("data", metavar="DATA.nc", help="videos (NaN where unobserved)")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--fill-gaps", action="store_true",
                   help="fill gaps, mask off-disk pixels and pad (the paper's steps 1-3)")
    p.add_argument("--frames", type=positive_int, default=None,
                   help="frames per video after padding (with --fill-gaps; default: as now)")
    p.add_argument("--mode", choices=("edge", "zero"), default="edge",
                   help="padding: repeat the last observed frame (edge, the authors' code; "
                        "default) or 0 G frames (zero, the paper's text)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--resample", type=video_size, metavar="FxLxL",
                      help="resample to F frames of L x L pixels, e.g. 32x24x24")
    size.add_argument("--model", metavar="MODEL_DIR",
                      help="resample to the size the ensemble in MODEL_DIR was trained on")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def run(args):
    if not (args.fill_gaps or args.resample or args.model):
        raise OptionError("--fill-gaps", "nothing to do: give --fill-gaps, --resample FxLxL "
                                         "or --model MODEL_DIR")
    check_distinct([("OUT.nc", args.out)], [("DATA.nc", args.data), ("--model", args.model)])
    out = output_path(args.out, "OUT.nc", args.overwrite)
    require_file(args.data, "NetCDF file")
    resample = args.resample
    if args.model:
        ens = pipeline.load_ensemble(require_dir(args.model, "model directory"))
        shape = pipeline.model_video_shape(ens)
        if shape is None:
            raise ValueError(f"--model {args.model}: the model does not record the video size "
                             "it was trained on; give --resample FxLxL")
        resample = (int(shape[0]), int(shape[1]))
    summary = pipeline.prepare_file(args.data, out, fill_gaps=args.fill_gaps,
                                    n_frames=args.frames, mode=args.mode, resample=resample,
                                    overwrite=args.overwrite)
    log.info("prepared %d videos (%s -> %s frame x lat x lon; %d unobserved video frames "
             "filled or padded) -> %s", summary["n_videos"], summary["shape_in"],
             summary["shape_out"], summary["unobserved_frames"] if args.fill_gaps else 0, out)
