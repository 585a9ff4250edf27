"""Reading, writing and validating magnetogram patch videos.

Videos are one :class:`xarray.DataArray` of the line-of-sight field in Gauss
with dims ``("video", "frame", "lat", "lon")`` (names in
:mod:`skflux._schema`). On disk they are NetCDF4 files, CF-packed int16 with
zlib (or zstd), one video per chunk, written incrementally and opened lazily
with dask; Zarr stores (:func:`to_zarr`, for object stores and clusters) hold
the same schema and packing and open with the same :func:`open_videos`. The
authors' FITS layout (a patch cube plus a ``.dt.fits`` of seconds since the
first frame) is read onto the 96-minute grid. Real observations come in
through :func:`patch_video` and :func:`write_patch_videos` (patches cut from
full-disk MDI/HMI/GONG magnetograms with sunpy and reproject, found by
:func:`find_maps`) and :func:`read_sharp` (HMI SHARP CEA cutouts).
"""

from ._fits import find_fits_pairs, frames_to_video, read_fits_directory, read_fits_video
from ._netcdf import FIELD_VAR, PACK_LIMIT, PACK_SCALE, VideoWriter, open_videos, to_netcdf
from ._observations import TO_HMI, find_maps, patch_video, write_patch_videos
from ._sharp import read_sharp
from ._validate import VideoSchemaError, validate_videos
from ._zarr import to_zarr

__all__ = [
    "FIELD_VAR",
    "PACK_LIMIT",
    "PACK_SCALE",
    "TO_HMI",
    "VideoSchemaError",
    "VideoWriter",
    "find_fits_pairs",
    "find_maps",
    "frames_to_video",
    "open_videos",
    "patch_video",
    "read_fits_directory",
    "read_fits_video",
    "read_sharp",
    "to_netcdf",
    "to_zarr",
    "validate_videos",
    "write_patch_videos",
]
