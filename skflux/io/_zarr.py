"""Zarr storage of videos: the same schema and int16 packing as the NetCDF files (private).

Zarr keeps each chunk in its own object, so a store lives as well in a folder
as in a cloud bucket (``s3://``, ``gs://`` through fsspec) and many processes
read it at once without a shared file handle. :func:`to_zarr` writes one
video at a time (one video per chunk of the field);
:func:`skflux.io.open_videos` opens a ``.zarr`` store lazily.
"""

import os
import warnings
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._schema import DIMS, VIDEO_DIM
from ._packing import (
    COMPRESSIONS,
    FIELD_VAR,
    FILL_INT16,
    PACK_SCALE,
    PackedRows,
    file_video_name,
    pack,
    packed_dask_array,
    unpack,
)
from ._validate import validate_videos

__all__ = ["ZarrField", "check_store", "is_zarr_store", "open_zarr_dataset", "to_zarr"]

#: Per-video coordinates are chunked this many videos at a time (few small objects).
_COORD_CHUNK = 1024
_TIME_ENCODING = {"units": "microseconds since 1970-01-01", "dtype": "int64"}
#: Root attribute recording how the field was packed: a store whose field says
#: otherwise (dtype, scale_factor... edited after writing) is refused, not rescaled.
PACKING_ATTR = "skflux_field_packing"
_PACKING = {"dtype": "int16", "scale_factor": PACK_SCALE, "add_offset": 0.0,
            "_FillValue": int(FILL_INT16)}
#: Files at the root of a Zarr store (v3, v2): what ``overwrite=True`` may replace.
_STORE_MARKERS = ("zarr.json", ".zgroup", ".zarray")


def is_zarr_store(path):
    """Whether ``path`` names a Zarr store (a ``.zarr`` name, or a folder with Zarr metadata)."""
    text = os.fspath(path) if not isinstance(path, str) else path
    if str(text).rstrip("/").endswith(".zarr"):
        return True
    p = Path(text)
    return p.is_dir() and any((p / name).exists() for name in ("zarr.json", ".zgroup"))


def _one_video_dataset(one, values, attrs):
    """A one-video Dataset: the field in float64 Gauss (packed by the encoding), coordinates.

    xarray packs with ``round(values / 0.2)`` in float64, as :func:`pack`
    (which has already refused what the packing cannot hold); strings become
    variable-length strings.
    """
    import xarray as xr

    field = xr.Variable(DIMS, values[None], {
        "units": attrs.get("units", "G"), "long_name": "line-of-sight magnetic field"})
    coords = {}
    for name, c in one.coords.items():
        v = c.variable
        if v.dtype.kind == "U":
            v = v.astype(object)
        coords[name] = v
    ds = xr.Dataset({FIELD_VAR: field}, coords=coords)
    ds.attrs = dict(attrs)
    return ds


def _compressors(compression, complevel):
    """The Zarr codecs of the field for ``compression`` (the names of ``COMPRESSIONS``)."""
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}; got {compression!r}")
    if not isinstance(complevel, (int, np.integer)) or isinstance(complevel, bool) \
            or not 0 <= complevel <= 9:
        raise ValueError(f"complevel must be an integer 0-9; got {complevel!r}")
    if complevel == 0:
        return None
    if compression == "blosc_lz4":
        return (BloscCodec(cname="lz4", clevel=int(complevel), shuffle="bitshuffle",
                           typesize=2),)
    if compression == "zstd":
        return (ZstdCodec(level=int(complevel)),)
    return (GzipCodec(level=int(complevel)),)  # zlib's deflate in Zarr v3's gzip codec


def _encoding(ds, n_frames, n_lat, n_lon, compressors):
    enc = {FIELD_VAR: {"chunks": (1, n_frames, n_lat, n_lon), "dtype": "int16",
                       "scale_factor": PACK_SCALE, "add_offset": 0.0,
                       "_FillValue": FILL_INT16, "compressors": compressors}}
    for name, c in ds.coords.items():
        if VIDEO_DIM not in c.dims:
            continue
        chunks = (_COORD_CHUNK,) if c.dims == (VIDEO_DIM,) else (64, *c.shape[1:])
        enc[name] = {"chunks": chunks}
        if c.dtype.kind == "M":
            enc[name].update(_TIME_ENCODING)
    return enc


def to_zarr(videos, store, *, overwrite=False, compression="blosc_lz4", complevel=1):
    """Write a DataArray of videos to a Zarr store, one video at a time.

    The store follows the same schema as the NetCDF files of
    :func:`skflux.io.to_netcdf`: a ``field`` variable packed as int16
    (``scale_factor=0.2``, NaN as ``_FillValue=-32768``: values come back within
    0.1 G, range ±6553.4 G, a video outside it is refused), one video per chunk,
    with every per-video coordinate, the ``observed`` mask and the attributes.
    Videos are validated first (:func:`skflux.io.validate_videos`) and appended
    one by one, so a lazy (dask-backed) DataArray is never loaded whole.
    :func:`skflux.io.open_videos` opens the store lazily.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos following the data model.
    store : str, path-like or zarr store
        A folder (conventionally named ``*.zarr``) or any store xarray's
        ``to_zarr`` accepts (e.g. an fsspec mapper on a cloud bucket).
    overwrite : bool, default=False
        Replace an existing Zarr store (or an empty folder); without it an
        existing path is refused, and even with it a path that is not a Zarr
        store (a folder of other files, a file, a link) is refused untouched.
        A local store is written beside ``store`` and swapped in when
        complete, so a failed write leaves the old store as it was (and
        videos read lazily from it can be written over it).
    compression : {"blosc_lz4", "zstd", "zlib"}, default="blosc_lz4"
        Codec of the field's chunks. "blosc_lz4" (Blosc's LZ4 with bit
        shuffle, readable by every Zarr implementation) decodes in ~2 CPU ms
        per full-size simulated video (2.16 MiB; zlib NetCDF: ~16 ms, 1.93
        MiB; ``benchmarks/bench_io.py``), the setting for inference-bound
        work (see the scaling guide); "zlib" is written with Zarr's gzip
        codec.
    complevel : int, default=1
        Compression level, 0 (no compression) to 9.

    Returns
    -------
    store : pathlib.Path or the store given
        Where the videos are.

    Raises
    ------
    VideoSchemaError
        If ``videos`` does not follow the data model.
    ValueError
        If a video lies outside the packing range or holds inf (naming the
        video), or the video dimension is empty.
    FileExistsError
        If ``store`` exists and ``overwrite`` is False, or it is not a Zarr
        store.

    Notes
    -----
    Every chunk is written, even one equal to Zarr's fill value (an all-0 G
    video, all-0 labels), and the field's packing is recorded in the root
    attribute ``skflux_field_packing``: :func:`skflux.io.open_videos` refuses
    a store with a missing chunk (which Zarr would read as the fill value)
    or a field whose dtype, ``scale_factor``, ``add_offset`` or
    ``_FillValue`` differs from the record, naming the store and variable.

    Examples
    --------
    >>> import tempfile, os
    >>> from skflux.io import open_videos, to_zarr
    >>> from skflux.io._examples import tiny_videos
    >>> videos = tiny_videos(n=3)
    >>> store = to_zarr(videos, os.path.join(tempfile.mkdtemp(), "videos.zarr"))
    >>> back = open_videos(store)
    >>> back.sizes["video"], back.chunks[0]
    (3, (1, 1, 1))
    >>> float(abs(back - videos).max()) <= 0.1
    True
    """
    compressors = _compressors(compression, complevel)
    validate_videos(videos)
    n, n_frames, n_lat, n_lon = (int(s) for s in videos.shape)
    if n == 0:
        raise ValueError("videos holds no video: nothing to write")
    if not isinstance(store, (str, os.PathLike)):
        return _write_store(videos, store, compressors)
    store = Path(os.fspath(store))
    if store.exists() or store.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{store} exists; pass overwrite=True to replace it")
        _check_replaceable(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    # written beside the store and swapped in when complete: a failure leaves the old
    # store as it was, and videos read lazily from the store itself survive the write
    with atomic_path(store, overwrite=bool(overwrite)) as tmp:
        tmp.mkdir()
        _write_store(videos, tmp, compressors, name=store)
    return store


def _check_replaceable(store):
    """``overwrite=True`` replaces a Zarr store (or an empty folder), never anything else."""
    if store.is_dir() and not store.is_symlink() and (
            any((store / m).is_file() for m in _STORE_MARKERS) or not any(store.iterdir())):
        return
    kind = "a symbolic link" if store.is_symlink() else (
        "a folder" if store.is_dir() else "a file")
    raise FileExistsError(
        f"{store}: exists and is not a Zarr store ({kind} without {_STORE_MARKERS[0]} or "
        f"{_STORE_MARKERS[1]}); overwrite=True replaces Zarr stores only: move it away or "
        "choose another path")


def _write_store(videos, store, compressors, name=None):
    """Append the videos one by one to ``store`` (every chunk written) and consolidate."""
    import zarr

    n, n_frames, n_lat, n_lon = (int(s) for s in videos.shape)
    name = store if name is None else name
    attrs = dict(videos.attrs)
    attrs[PACKING_ATTR] = dict(_PACKING)  # kept by every append (appends rewrite the attrs)
    for i in range(n):
        one = videos.isel({VIDEO_DIM: slice(i, i + 1)})
        values = np.asarray(one.values, dtype=np.float64)[0]
        pack(values, f"{name}: {file_video_name(videos, i, i)}")  # refuses what int16 cannot hold
        ds = _one_video_dataset(one, values, attrs)
        # every chunk is written, even one equal to Zarr's fill value (an all-0 G video,
        # all-0 labels): so a chunk missing from the store is always damage, never data
        if i == 0:
            ds.to_zarr(store, mode="w", consolidated=False, write_empty_chunks=True,
                       encoding=_encoding(ds, n_frames, n_lat, n_lon, compressors))
        else:
            fixed = [k for k in ds.variables if VIDEO_DIM not in ds[k].dims]
            ds.drop_vars(fixed).to_zarr(store, append_dim=VIDEO_DIM, consolidated=False,
                                        write_empty_chunks=True)
    with warnings.catch_warnings():  # Zarr v3 has no consolidated metadata in its spec yet
        warnings.simplefilter("ignore", category=UserWarning)
        zarr.consolidate_metadata(store)  # one read opens a store (in a cloud bucket too)
    return store


def _missing_chunks(array):
    """Indices (chunk grid coordinates) of the chunks of ``array`` absent from its store."""
    from zarr.core.array import _shards_initialized
    from zarr.core.sync import sync

    present = set(sync(_shards_initialized(array._async_array)))
    return [c for c in array._iter_chunk_coords()
            if array.metadata.encode_chunk_key(c) not in present]


def check_store(store):
    """Refuse a store with missing chunks or a field packed otherwise than recorded.

    Zarr reads a missing chunk as the array's fill value (0 G, label 0, time
    1970); skflux writes every chunk, so a missing one is damage (a deleted or
    lost object) and is refused, never read as data.

    Parameters
    ----------
    store : str, path-like or zarr store

    Raises
    ------
    ValueError
        Naming the store, the variable, and the videos of the missing chunks,
        or the packing attribute that differs from the one written.
    """
    import zarr

    group = zarr.open_group(store, mode="r")
    for name, array in group.arrays():
        if array.nchunks_initialized >= array.nchunks:
            continue
        try:
            missing = _missing_chunks(array)
        except Exception:  # pragma: no cover - private zarr API changed: counts only
            missing = []
        where = ""
        if missing and array.metadata.dimension_names and \
                array.metadata.dimension_names[0] == VIDEO_DIM:
            size = array.chunks[0]
            videos = sorted({i for c in missing
                             for i in range(c[0] * size, min((c[0] + 1) * size, array.shape[0]))})
            shown = ", ".join(map(str, videos[:10])) + (" ..." if len(videos) > 10 else "")
            where = f" (video {shown})" if len(videos) == 1 else f" (videos {shown})"
        n_missing = array.nchunks - array.nchunks_initialized
        raise ValueError(
            f"{store}: variable {name!r}: {n_missing} of {array.nchunks} chunk(s) missing"
            f"{where}; Zarr would read them as the fill value {array.fill_value!r}, which is "
            "not data: the store is damaged (a deleted or lost chunk): write it again")
    record = group.attrs.get(PACKING_ATTR)
    if isinstance(record, dict) and FIELD_VAR in group:
        field = group[FIELD_VAR]
        found = {"dtype": str(field.dtype), **{k: field.attrs.get(k) for k in record
                                              if k != "dtype"}}
        for key, value in record.items():
            if found.get(key) != value:
                raise ValueError(
                    f"{store}: variable {FIELD_VAR!r}: {key} is {found.get(key)!r} but the "
                    f"store was written with {key} {value!r}; its values would be read "
                    "wrongly scaled: the store was edited or damaged: write it again")


class ZarrField(PackedRows):
    """The packed field of a Zarr store as a lazily read float32 array-like.

    The Zarr counterpart of :class:`skflux.io._netcdf.PackedField`: reads the
    raw int16 chunk and unpacks it in one pass (:func:`skflux.io._packing.unpack`).
    It pickles as the store's address, so every process opens the store itself.
    """

    def __init__(self, store, array):
        self.store = store
        self._array = array
        self._pid = os.getpid()
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = np.dtype(np.float32)
        self.ndim = len(self.shape)
        attrs = dict(array.attrs)
        self.scale = np.float32(attrs.get("scale_factor", 1.0))
        self.offset = np.float32(attrs.get("add_offset", 0.0))
        fill = attrs.get("_FillValue", array.fill_value)
        self.fill = np.int16(FILL_INT16 if fill is None else fill)

    @classmethod
    def usable(cls, store):
        """A :class:`ZarrField` for ``store``'s packed int16 field, or None."""
        import zarr

        try:
            array = zarr.open_group(store, mode="r")[FIELD_VAR]
        except Exception:  # anything unreadable: xarray decodes it (and reports)
            return None
        names = set(array.attrs)
        if (array.dtype != np.int16 or array.ndim != 4 or "scale_factor" not in names
                or names & {"missing_value", "valid_range", "valid_min", "valid_max"}):
            return None
        return cls(store, array)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_array"] = state["_pid"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __getitem__(self, key):
        return unpack(np.asarray(self._read(key)), self.scale, self.offset, self.fill)

    def _raw(self, start, stop):
        """The int16 values of videos ``start:stop``: whole chunks, decoded by zarr."""
        return self._read(slice(start, stop))

    def _read(self, key):
        array = self._opened()
        try:
            return array[key]
        except Exception as exc:
            first = key[0] if isinstance(key, tuple) else key
            if isinstance(first, slice):
                start, stop, _ = first.indices(self.shape[0])
                which = (f"video {start}" if stop - start == 1
                         else f"videos {start}-{stop - 1}")
            else:
                which = f"video {first}"
            text = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            raise ValueError(
                f"{self.store}: variable {FIELD_VAR!r}, {which}: a chunk cannot be decoded "
                f"(corrupt or truncated): {text}") from exc

    def _opened(self):
        """This process's handle on the field (reopened after a fork or unpickling)."""
        import zarr

        if self._array is None or self._pid != os.getpid():
            self._array = zarr.open_group(self.store, mode="r")[FIELD_VAR]
            self._pid = os.getpid()
            if tuple(self._array.shape) != self.shape:
                raise ValueError(
                    f"{self.store}: the store changed after it was opened (field shape "
                    f"{tuple(self._array.shape)}, was {self.shape}); open it again with "
                    "skflux.io.open_videos")
        return self._array


def open_zarr_dataset(store, chunks):
    """The Dataset of a Zarr store and its field as a dask array over :class:`ZarrField`.

    Parameters
    ----------
    store : str, path-like or zarr store
    chunks : dict or None
        Passed to :func:`xarray.open_zarr`; the field is read by
        :class:`ZarrField` for ``{"video": n}`` and None (then the caller loads it).

    Returns
    -------
    ds : xarray.Dataset
    packed : dask.array.Array or None
        None when the field is not packed as skflux packs it (xarray decodes it).
    """
    import xarray as xr
    import zarr

    check_store(store)
    try:
        zarr.open_consolidated(store, mode="r")
        consolidated = True
    except Exception:  # not consolidated (written by another tool)
        consolidated = False
    # coordinates are read eagerly by the caller: no dask chunks for them
    ds = xr.open_zarr(store, chunks=None, consolidated=consolidated, decode_timedelta=False)
    ds.attrs.pop(PACKING_ATTR, None)
    if FIELD_VAR not in ds.variables:
        return ds, None

    def xarray_decoded():
        if chunks is None:
            return ds, None
        field = ds[FIELD_VAR].chunk(chunks)
        if field.dtype.kind == "f" and field.dtype != np.float32:  # JSON attrs: float64 scale
            field = field.astype(np.float32)
        return ds.assign({FIELD_VAR: field}), None

    if chunks is not None and set(chunks) - {VIDEO_DIM}:
        return xarray_decoded()
    n = 1 if chunks is None else chunks[VIDEO_DIM]  # None: the caller loads it all
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        return xarray_decoded()
    field = ZarrField.usable(store)
    if field is None or field.shape != tuple(ds[FIELD_VAR].shape):
        return xarray_decoded()
    return ds, packed_dask_array(field, n, "skflux-zarr-field-", str(store))
