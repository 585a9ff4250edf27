"""``skflux ingest FITS_DIR OUT.nc``: the authors' FITS layout to the NetCDF schema."""

import contextlib
import logging
import time
from pathlib import Path

from ._errors import CommandError
from ._options import positive_int
from ._paths import (
    atomic_output,
    check_distinct,
    check_not_read,
    output_path,
    require_dir,
    require_file,
)

log = logging.getLogger("skflux")

LABEL_KEYS = ("file", "video", "name", "bmr_id")


def add_parser(subparsers, parents):
    from .._schema import N_FRAMES

    p = subparsers.add_parser(
        "ingest", parents=parents,
        help="convert a directory of FITS patch videos to the NetCDF schema",
        description="Read the authors' FITS layout (a patch cube NAME.fits plus NAME.dt.fits of "
                    "seconds since the first frame) for every video in FITS_DIR, place the "
                    "frames on the 96-minute grid, fill gaps, zero off-limb pixels, pad to a "
                    "fixed length, and append the videos one by one to OUT.nc.")
    p.add_argument("fits_dir", metavar="FITS_DIR", help="directory of FITS cubes")
    p.add_argument("out", metavar="OUT.nc", help="NetCDF file to write")
    p.add_argument("--labels", metavar="CSV",
                   help="CSV with a 'video' (or 'file') column naming each cube and columns for "
                        "the per-video coordinates (label, time, bmr_id, lat0, lon0...)")
    p.add_argument("--pad-mode", choices=("zero", "edge"), default=None,
                   help="how to bring videos to the fixed length (default: the library's)")
    p.add_argument("--frames", type=positive_int, default=N_FRAMES,
                   help="frames per video after padding (default %(default)s)")
    p.add_argument("--instrument", default=None,
                   help="instrument attribute (default: from the FITS headers, else unknown)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.nc if it exists")
    return p


def run(args):
    from ..io import VideoWriter, read_fits_directory
    from ..io._fits import find_fits_pairs
    from ..preprocessing import make_preprocessor

    check_distinct([("OUT.nc", args.out)],
                   [("FITS_DIR", args.fits_dir), ("--labels", args.labels)])
    fits_dir = require_dir(args.fits_dir, "FITS directory")
    try:
        pairs = find_fits_pairs(fits_dir)
    except (ValueError, OSError) as exc:
        raise CommandError(" ".join(str(exc).split())) from exc
    check_not_read([("OUT.nc", args.out)], "FITS_DIR", [f for pair in pairs for f in pair],
                   "the FITS file")
    out = output_path(args.out, "OUT.nc", args.overwrite)
    coords = None
    if args.labels is not None:
        coords = read_labels_csv(require_file(args.labels, "labels CSV"))
    pad = {} if args.pad_mode is None else {"mode": args.pad_mode}
    pre = make_preprocessor(n_frames=args.frames, **pad)
    start = time.perf_counter()
    attrs = {"source_directory": str(fits_dir), "preprocessing": _describe_pipeline(pre)}
    if args.instrument:
        attrs["instrument"] = args.instrument
    with atomic_output(out) as tmp, contextlib.ExitStack() as stack:
        writer = None
        for video in read_fits_directory(fits_dir, coords=coords, verbose=not args.quiet):
            video = pre.fit_transform(video)
            video.attrs.pop("source", None)
            video.attrs.update(attrs)
            video.attrs.setdefault("instrument", "unknown")
            if writer is None:
                writer = stack.enter_context(VideoWriter(
                    tmp, n_frames=video.sizes["frame"], n_lat=video.sizes["lat"],
                    n_lon=video.sizes["lon"], attrs=attrs))
            writer.write(video)
        if writer is None:
            raise CommandError(f"{fits_dir}: no FITS cubes found")
        n = writer.n_written
    log.info("ingested %d videos from %s -> %s in %.1f s", n, fits_dir, out,
             time.perf_counter() - start)


def _describe_pipeline(pipeline):
    steps = []
    for name, step in pipeline.steps:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(step.get_params().items())
                           if k != "copy")
        steps.append(f"{name}({params})")
    return " -> ".join(steps)


def read_labels_csv(path):
    """Per-video coordinates from a CSV: ``{file stem: {column: value}}``."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise CommandError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from exc
    key = next((k for k in LABEL_KEYS if k in table.columns), None)
    if key is None:
        raise CommandError(f"{path}: needs a column naming each cube, one of {list(LABEL_KEYS)}; "
                           f"found {list(table.columns)}")
    stems = table[key].astype(str).map(lambda s: Path(s).name.split(".")[0])
    duplicated = stems[stems.duplicated()].tolist()
    if duplicated:
        raise CommandError(f"{path}: videos listed twice: {duplicated[:10]}")
    if "label" in table.columns:
        bad = ~pd.to_numeric(table["label"], errors="coerce").isin([0, 1])
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise CommandError(f"{path}: row {row + 2}: label {table['label'].iloc[row]!r} is "
                               "not 0 or 1")
    columns = [c for c in table.columns if c != key or key == "bmr_id"]
    coords = {}
    for stem, (_, row) in zip(stems, table[columns].iterrows()):
        coords[stem] = {c: (v.item() if hasattr(v, "item") else v)
                        for c, v in row.items() if not (isinstance(v, float) and v != v)}
    return coords
