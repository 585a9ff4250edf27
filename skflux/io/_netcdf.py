"""NetCDF4 storage of videos: an incremental writer and a lazy reader."""

import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._schema import (
    CADENCE_MINUTES,
    DIMS,
    FRAME_DIM,
    LAT_DIM,
    LON_DIM,
    OBSERVED,
    PIXEL_DEG,
    UNITS,
    VIDEO_DIM,
)
from .._validation import _is_dataarray
from ._packing import (
    FIELD_VAR,
    FILL_INT16,
    NETCDF_COMPRESSIONS,
    PACK_LIMIT,
    PACK_SCALE,
    PackedRows,
    file_video_name,
    pack,
    packed_dask_array,
    unpack,
)
from ._validate import VideoSchemaError, validate_videos

__all__ = ["FIELD_VAR", "PACK_SCALE", "PACK_LIMIT", "VideoWriter", "open_videos", "to_netcdf"]

_FILL_INT16 = FILL_INT16
_TIME_UNITS = "microseconds since 1970-01-01T00:00:00"


def _hdf5_filter(compression, complevel):
    """netCDF4 ``createVariable`` arguments of the field's filter (``NETCDF_COMPRESSIONS``)."""
    if complevel == 0:
        return {"compression": None, "shuffle": False}
    return {"compression": compression, "complevel": complevel, "shuffle": True}


def _described(batch, i, k):
    """The name of a video (``file_video_name``) plus the file it came from (``source``)."""
    source = batch.attrs.get("source")
    return file_video_name(batch, i, k) + (f" from {source}" if source else "")


def _default_offsets(n):
    """Pixel-centre offsets in degrees from the patch centre."""
    return (np.arange(n) - (n - 1) / 2.0) * PIXEL_DEG


def _clean_attr(key, value):
    if isinstance(value, (bool, np.bool_)):
        return np.int8(value)
    if isinstance(value, (str, int, float, np.number)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.ndim == 1 and (np.issubdtype(arr.dtype, np.number) or arr.dtype.kind in "US"):
            return arr if np.issubdtype(arr.dtype, np.number) else [str(v) for v in arr]
    raise TypeError(
        f"attribute {key!r} has type {type(value).__name__}, which NetCDF cannot store; "
        "use a string, a number or a 1-D list of numbers"
    )


def _as_video_batch(video):
    """Bring a single video (3-D, scalar coords) to the 4-D batch layout."""
    if not _is_dataarray(video):
        raise TypeError(
            "VideoWriter.write expects an xarray.DataArray (one video with its coordinates); "
            f"got {type(video).__name__}"
        )
    if video.ndim == 3:
        if tuple(video.dims) != DIMS[1:]:
            raise ValueError(
                f"a single video must have dims {DIMS[1:]}; got {tuple(video.dims)}"
            )
        if VIDEO_DIM in video.coords:
            video = video.drop_vars(VIDEO_DIM) if video.coords[VIDEO_DIM].ndim == 0 else video
        scalars = {k: ((VIDEO_DIM,), [v.values[()]]) for k, v in video.coords.items()
                   if v.ndim == 0}
        obs = video.coords.get(OBSERVED)
        video = video.drop_vars(list(scalars) + ([OBSERVED] if obs is not None else []))
        video = video.expand_dims(VIDEO_DIM)
        video = video.assign_coords(scalars)
        if obs is not None:
            if obs.dims != (FRAME_DIM,):
                raise ValueError(
                    f"the 'observed' coordinate of a single video must have dims ('frame',); "
                    f"got {obs.dims}"
                )
            video = video.assign_coords({OBSERVED: ((VIDEO_DIM, FRAME_DIM), obs.values[None])})
        return video
    if video.ndim != 4:
        raise ValueError(
            f"expected one video with dims {DIMS[1:]} or videos with dims {DIMS}; "
            f"got {video.ndim}-D dims {tuple(video.dims)}"
        )
    return video


class VideoWriter:
    """Write videos one at a time to a NetCDF4 file readable by :func:`open_videos`.

    The file has an unlimited ``video`` dimension and is chunked one video per
    HDF5 chunk, so only the video being written is held in memory and readers
    fetch one video per chunk. The field is stored CF-packed as int16 with zlib
    compression: ``packed = round(field / 0.2)``, ``scale_factor=0.2``,
    ``add_offset=0``, and NaN stored as ``_FillValue=-32768``.

    **Precision.** The quantization step is 0.2 G, so every value read back
    differs from the value written by at most 0.1 G (half a step; readers
    decode to float32, which adds < 0.0005 G of rounding at the range limit).
    NaN round-trips as NaN. The representable range is ±6553.4 G
    (``32767 * 0.2``), which covers MDI's and HMI's line-of-sight range
    (saturation ≈ ±5000 G); a video outside it is refused, never clipped.

    Per-video coordinates (any coordinate along ``video``: the schema's
    ``time``, ``label``, ``bmr_id``, ... and any extra ones, e.g. simulation
    parameters), the ``observed`` mask and attributes are stored alongside.
    Datetimes are stored as int64 microseconds since 1970-01-01, strings as
    variable-length strings, booleans as int8 flagged ``dtype="bool"``.
    The first video written fixes which coordinates the file holds; later
    videos must carry the same ones. The file is flushed to disk after every
    video.

    Parameters
    ----------
    path : str or path-like
        File to create (overwritten if it exists).
    n_frames, n_lat, n_lon : int
        Size of every video.
    attrs : dict, optional
        Attributes of the DataArray (``cadence_minutes``, ``units``,
        ``instrument``, provenance). Merged over the first video's attributes;
        ``cadence_minutes`` defaults to 96 and ``units`` to ``"G"``.
    lat, lon : array-like, optional
        Patch offsets in degrees. Default: those of the first video written.
    complevel : int, default=1
        Compression level (0 = no compression). Instrument noise at the 0.2 G
        packing step barely compresses, so higher levels cost CPU time for
        little gain.
    compression : {"zlib", "zstd"}, default="zlib"
        HDF5 filter of the field. "zlib" is readable by every NetCDF4 tool
        and gives the smallest files (1.9 MiB per full-size simulated
        video). "zstd" decodes about seven times faster (~2 instead of ~16
        CPU ms per video) for ~13 % more bytes and needs a netCDF-C/HDF5 with
        the zstd plugin (the netCDF4 wheels have it; other HDF5 tools may
        need ``hdf5plugin``). For
        inference-bound work (decoding zlib, not the network, then limits
        the throughput on a few cores) use "zstd", ``complevel=0`` (no
        compression: fastest, 3.5 MiB per video) or a Zarr store (Blosc
        LZ4); see ``benchmarks/bench_io.py`` and the scaling guide.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    n_written : int
        Number of videos written so far.

    Raises
    ------
    ValueError
        On writing a video of the wrong shape, with coordinates that differ
        from the first video's, outside the packing range, or not following
        the data model (see :func:`validate_videos`).

    See Also
    --------
    to_netcdf : write a whole DataArray (uses this writer).
    open_videos : open the file lazily.

    Examples
    --------
    >>> import tempfile, os
    >>> from skflux.io import VideoWriter, open_videos
    >>> from skflux.io._examples import tiny_videos
    >>> videos = tiny_videos(n=3)
    >>> path = os.path.join(tempfile.mkdtemp(), "videos.nc")
    >>> with VideoWriter(path, n_frames=8, n_lat=6, n_lon=6) as writer:
    ...     for i in range(videos.sizes["video"]):
    ...         writer.write(videos.isel(video=i))
    >>> open_videos(path).sizes["video"]
    3
    """

    def __init__(self, path, *, n_frames, n_lat, n_lon, attrs=None, lat=None, lon=None,
                 complevel=1, compression="zlib"):
        if not isinstance(complevel, (int, np.integer)) or not 0 <= complevel <= 9:
            raise ValueError(f"complevel must be an integer 0-9; got {complevel!r}")
        if compression not in NETCDF_COMPRESSIONS:
            hint = (" (Blosc is offered for Zarr stores: skflux.io.to_zarr)"
                    if compression == "blosc_lz4" else "")
            raise ValueError(f"compression must be one of {NETCDF_COMPRESSIONS}; got "
                             f"{compression!r}{hint}")
        self.complevel = int(complevel)
        self.compression = compression
        for name, n in (("n_frames", n_frames), ("n_lat", n_lat), ("n_lon", n_lon)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{name} must be a positive integer; got {n!r}")
        self.path = Path(os.fspath(path))
        self.n_frames, self.n_lat, self.n_lon = int(n_frames), int(n_lat), int(n_lon)
        self.attrs = dict(attrs or {})
        self._lat = None if lat is None else np.asarray(lat, dtype=float)
        self._lon = None if lon is None else np.asarray(lon, dtype=float)
        for name, v, n in (("lat", self._lat, self.n_lat), ("lon", self._lon, self.n_lon)):
            if v is not None and v.shape != (n,):
                raise ValueError(f"{name} must have {n} values; got shape {v.shape}")
        self.n_written = 0
        self._nc = None
        self._coords = None  # name -> kind of per-video coordinate
        self._first_name = None  # the first video written, named in size errors
        self._closed = False

    # context manager -------------------------------------------------------------
    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def open(self):
        """Create the file (called by ``with``)."""
        import netCDF4

        if self._nc is not None:
            return self
        if self._closed:
            raise ValueError(f"{self.path}: this VideoWriter was closed; create a new one")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _HDF5Lock():
            nc = netCDF4.Dataset(self.path, "w", format="NETCDF4")
            nc.set_auto_maskandscale(False)
            nc.createDimension(VIDEO_DIM, None)
            nc.createDimension(FRAME_DIM, self.n_frames)
            nc.createDimension(LAT_DIM, self.n_lat)
            nc.createDimension(LON_DIM, self.n_lon)
        self._nc = nc
        return self

    def close(self):
        """Finish the file; it is then readable by :func:`open_videos`."""
        if self._nc is not None:
            with _HDF5Lock():
                if self._coords is None:  # nothing written: still leave a valid empty skeleton
                    self._nc.setncattr("skflux_n_videos", 0)
                self._nc.close()
            self._nc = None
        self._closed = True

    # writing -----------------------------------------------------------------------
    def _init_file(self, video):
        nc = self._nc
        attrs = {"cadence_minutes": CADENCE_MINUTES, "units": UNITS}
        attrs.update(video.attrs)
        attrs.update(self.attrs)
        self.attrs = attrs
        for key, value in attrs.items():
            nc.setncattr(key, _clean_attr(key, value))
        for name, given in ((LAT_DIM, self._lat), (LON_DIM, self._lon)):
            values = given
            if values is None:
                values = (np.asarray(video.coords[name].values, dtype=float)
                          if name in video.coords else _default_offsets(video.sizes[name]))
            v = nc.createVariable(name, "f8", (name,))
            v[:] = values
            v.setncattr("units", "degree")
            v.setncattr("long_name", f"{'latitude' if name == LAT_DIM else 'longitude'} "
                        "offset from the patch centre")
            setattr(self, f"_{name}", np.asarray(values, dtype=float))
        v = nc.createVariable(FRAME_DIM, "i8", (FRAME_DIM,))
        v[:] = np.arange(self.n_frames)
        v.setncattr("long_name", f"frame index on the {attrs['cadence_minutes']}-minute grid")

        f = nc.createVariable(
            FIELD_VAR, "i2", DIMS, **_hdf5_filter(self.compression, self.complevel),
            chunksizes=(1, self.n_frames, self.n_lat, self.n_lon), fill_value=_FILL_INT16,
        )
        f.set_auto_maskandscale(False)  # packing is done here, explicitly
        f.setncattr("scale_factor", np.float32(PACK_SCALE))
        f.setncattr("add_offset", np.float32(0.0))
        f.setncattr("units", attrs["units"])
        f.setncattr("long_name", "line-of-sight magnetic field")

        coords = {}
        for name, c in video.coords.items():
            if name in (FRAME_DIM, LAT_DIM, LON_DIM):
                continue
            if c.dims not in ((VIDEO_DIM,), (VIDEO_DIM, FRAME_DIM)):
                raise ValueError(
                    f"coordinate {name!r} has dims {c.dims}; only coordinates along 'video' "
                    "(per video) or ('video', 'frame') can be stored"
                )
            values = np.asarray(c.values)
            kind = values.dtype.kind
            chunks = (1,) if c.dims == (VIDEO_DIM,) else (1, self.n_frames)
            if kind == "b":
                v = nc.createVariable(name, "i1", c.dims, chunksizes=chunks)
                v.setncattr("dtype", "bool")
            elif kind == "M":
                v = nc.createVariable(name, "i8", c.dims, chunksizes=chunks,
                                      fill_value=np.iinfo(np.int64).min)
                v.setncattr("units", _TIME_UNITS)
                v.setncattr("calendar", "proleptic_gregorian")
            elif kind in "UST" or (kind == "O" and all(isinstance(x, str) for x in values.flat)):
                v = nc.createVariable(name, str, c.dims, chunksizes=chunks)
                kind = "U"
            elif kind in "iuf":
                v = nc.createVariable(name, values.dtype.newbyteorder("="), c.dims,
                                      chunksizes=chunks)  # "<i8" from Zarr: native order
            else:
                raise TypeError(
                    f"coordinate {name!r} has dtype {values.dtype}, which cannot be stored; "
                    "use numbers, booleans, strings or datetime64"
                )
            v.set_auto_maskandscale(False)
            for key, value in c.attrs.items():
                v.setncattr(key, _clean_attr(key, value))
            coords[name] = (kind, c.dims)
        names = [n for n in coords if n != VIDEO_DIM]
        if names:
            f.setncattr("coordinates", " ".join(names))
        self._coords = coords

    def write(self, video):
        """Append one video (or each video of a small batch) to the file.

        Parameters
        ----------
        video : xarray.DataArray
            Dims ``("video", "frame", "lat", "lon")`` with its per-video
            coordinates and ``observed`` mask, or dims ``("frame", "lat",
            "lon")`` with per-video coordinates as scalars and ``observed``
            along ``frame``. Loaded into memory one video at a time.

        Raises
        ------
        ValueError
            Wrong shape, a field outside ±6553.4 G, coordinates or lat/lon
            offsets that differ from the first video's, or a video that does
            not follow the data model.
        """
        if self._nc is None:
            self.open()
        video = _as_video_batch(video)
        name = _described(video, 0, self.n_written)  # before the file's attrs are merged in
        if self.attrs:  # the writer's attributes complete the video's own
            video = video.assign_attrs({**video.attrs, **self.attrs})
        try:
            validate_videos(video)
        except VideoSchemaError as exc:
            raise VideoSchemaError(
                f"{self.path}: cannot write {name}"
                f"{' (and the others of its batch)' if video.sizes[VIDEO_DIM] > 1 else ''}: "
                f"{exc}") from None
        expected = (self.n_frames, self.n_lat, self.n_lon)
        if tuple(video.shape[1:]) != expected:
            raise ValueError(self._size_message(name, tuple(video.shape[1:]), expected))
        for i in range(video.sizes[VIDEO_DIM]):
            # read first (a lazy video reads its file under the HDF5 lock), then write
            # holding that lock: another thread may be reading a file, and HDF5 is not
            # thread-safe
            one = video.isel({VIDEO_DIM: slice(i, i + 1)}).load()
            with _HDF5Lock():
                if self._coords is None:
                    self._init_file(one)
                    self._first_name = name
                self._check_coords(one)
                self._write_one(one, video, i)
        with _HDF5Lock():
            self._nc.sync()

    def _size_message(self, name, got, expected):
        """The refusal of a video of another size: the video first, then the file."""
        first = self._first_name
        held = (f"the videos already written to {self.path} (the first: {first}) have"
                if first else f"{self.path} was opened for")
        fix = ("pad or crop it to the file's frame count with skflux.preprocessing.PadFrames"
               if got[1:] == expected[1:] else
               "cut every patch at the same size in pixels, or write this one to another file")
        return (f"{name} has frame/lat/lon sizes {got}, but "
                f"{held} {expected}; {fix}")

    def _check_coords(self, video):
        have = {n for n in video.coords if n not in (FRAME_DIM, LAT_DIM, LON_DIM)}
        missing = sorted(set(self._coords) - have)
        extra = sorted(have - set(self._coords))
        if missing or extra:
            raise ValueError(
                f"{self.path}: every video must carry the same coordinates as the first one; "
                f"missing {missing}, unexpected {extra}"
            )
        for name in (LAT_DIM, LON_DIM):
            if name in video.coords:
                mine = getattr(self, f"_{name}")
                if not np.allclose(video.coords[name].values, mine, rtol=0, atol=1e-9):
                    raise ValueError(
                        f"{self.path}: the video's {name!r} offsets differ from the file's"
                    )

    def _write_one(self, one, batch, i):
        nc = self._nc
        k = self.n_written
        packed = pack(np.asarray(one.values)[0], f"{self.path}: {file_video_name(batch, i, k)}")
        nc.variables[FIELD_VAR][k] = packed
        for name, (kind, dims) in self._coords.items():
            values = np.asarray(one.coords[name].values)[0]
            var = nc.variables[name]
            if kind == "b":
                var[k] = np.asarray(values, dtype=np.int8)
            elif kind == "M":
                t = np.asarray(values, dtype="datetime64[ns]")
                us = t.astype("datetime64[us]")
                if np.any((us != t) & ~np.isnat(t)):
                    raise ValueError(
                        f"{self.path}: coordinate {name!r} of {file_video_name(batch, i, k)} has "
                        "sub-microsecond precision, which is not stored"
                    )
                ints = us.astype(np.int64)
                var[k] = ints
            elif kind == "U":
                if any("\x00" in str(x) for x in np.ravel(values)):
                    raise ValueError(
                        f"{self.path}: coordinate {name!r} of {file_video_name(batch, i, k)} "
                        "contains a NUL character, which NetCDF strings cannot hold"
                    )
                if not all(_utf8(str(x)) for x in np.ravel(values)):
                    raise ValueError(
                        f"{self.path}: coordinate {name!r} of {file_video_name(batch, i, k)} "
                        "is not valid Unicode text (a lone surrogate), which NetCDF strings "
                        "(UTF-8) cannot hold"
                    )
                if dims == (VIDEO_DIM,):
                    var[k] = str(values)
                else:
                    for j, s in enumerate(values):
                        var[k, j] = str(s)
            else:
                var[k] = values
        self.n_written += 1


def _utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_netcdf(videos, path, *, complevel=1, compression="zlib"):
    """Write a DataArray of videos to a NetCDF4 file, one video at a time.

    Uses :class:`VideoWriter`, so the packing and its precision are the same
    (int16, step 0.2 G: values come back within 0.1 G; range ±6553.4 G). A
    lazy (dask-backed) DataArray is loaded one video at a time.

    Parameters
    ----------
    videos : xarray.DataArray
        Videos following the data model (see :func:`validate_videos`).
    path : str or path-like
        File to create (overwritten if it exists).
    complevel : int, default=1
        Compression level (see :class:`VideoWriter`).
    compression : {"zlib", "zstd"}, default="zlib"
        HDF5 filter (see :class:`VideoWriter`).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    VideoSchemaError
        If ``videos`` does not follow the data model.
    ValueError
        If a video lies outside the packing range.

    Examples
    --------
    >>> import tempfile, os
    >>> from skflux.io import open_videos, to_netcdf
    >>> from skflux.io._examples import tiny_videos
    >>> videos = tiny_videos(n=2)
    >>> path = to_netcdf(videos, os.path.join(tempfile.mkdtemp(), "v.nc"))
    >>> back = open_videos(path)
    >>> float(abs(back - videos).max()) <= 0.1
    True
    """
    validate_videos(videos)
    _, n_frames, n_lat, n_lon = videos.shape
    path = Path(os.fspath(path))
    # written beside the file and renamed onto it when complete: a failure leaves an
    # existing file as it was, and videos read lazily from it survive the write
    with atomic_path(path, overwrite=True) as tmp, VideoWriter(
            tmp, n_frames=n_frames, n_lat=n_lat, n_lon=n_lon,
            lat=videos.coords[LAT_DIM].values, lon=videos.coords[LON_DIM].values,
            complevel=complevel, compression=compression) as w:
        for i in range(videos.sizes[VIDEO_DIM]):
            w.write(videos.isel({VIDEO_DIM: slice(i, i + 1)}))
    return path


def _normalize_chunks(chunks):
    if chunks is None:
        return None
    if isinstance(chunks, str):
        if chunks != "video":
            raise ValueError(f"chunks must be 'video', an int, a dict or None; got {chunks!r}")
        return {VIDEO_DIM: 1}
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        if chunks < 1:
            raise ValueError(f"chunks must be a positive number of videos; got {chunks}")
        return {VIDEO_DIM: int(chunks)}
    if isinstance(chunks, dict):
        return chunks
    raise TypeError(f"chunks must be 'video', an int, a dict or None; got {chunks!r}")


class PackedField(PackedRows):
    """The int16-packed field of a NetCDF file as a lazily read, float32 array-like.

    The array behind :func:`open_videos`' dask array (one task per chunk of
    videos) and its batch reader (:meth:`read_rows`). Each read takes the raw
    int16 values from the file (the HDF5 chunk decode, under xarray's HDF5
    lock) and unpacks them in one pass into float32 Gauss, ``raw *
    scale_factor + add_offset`` with NaN where the file holds ``_FillValue``:
    the same values as xarray's CF decoding, at a fraction of its cost (no
    intermediate arrays, no masked arrays).

    Every reader of one file in a process shares one netCDF4 handle on it
    (netCDF-C 4.10 / HDF5 2.2 crash when several handles on the same file
    are opened and closed in turn); the handle is closed, under the HDF5
    lock, once no reader uses it. It pickles as the path and the file's
    identity (device, inode, size and modification time), so each process
    (a DataLoader worker, a dask worker) opens the file itself; a process
    that finds the file replaced since it was opened refuses to read it
    instead of returning other videos.

    Parameters
    ----------
    path : str or path-like
        A NetCDF4 file with an int16 ``field`` variable.
    """

    def __init__(self, path):
        import netCDF4

        self.path = Path(os.fspath(path))
        self.identity = self._stat()
        self._nc = self._pid = None
        nc = self._open()
        with _HDF5Lock():
            var = nc.variables[FIELD_VAR]
            self.shape = tuple(int(n) for n in var.shape)
            self.raw_dtype = np.dtype(var.dtype)
            attrs = {k: var.getncattr(k) for k in var.ncattrs()}
        self.dtype = np.dtype(np.float32)
        self.ndim = len(self.shape)
        self.attr_names = frozenset(attrs)
        self.scale = np.float32(attrs.get("scale_factor", 1.0))
        self.offset = np.float32(attrs.get("add_offset", 0.0))
        fill = attrs.get("_FillValue", netCDF4.default_fillvals["i2"])
        self.fill = np.int16(fill) if self.raw_dtype == np.int16 else None

    @classmethod
    def open_usable(cls, path):
        """A :class:`PackedField` on ``path`` if its field is int16 packed as skflux writes it.

        Returns None otherwise (no field, another type or packing: xarray decodes it).
        """
        try:
            field = cls(path)
        except (OSError, RuntimeError, KeyError, ValueError):
            field = None
        if field is not None:
            names = field.attr_names
            if (field.raw_dtype == np.int16 and field.ndim == 4 and "scale_factor" in names
                    and not names & {"missing_value", "valid_range", "valid_min", "valid_max"}):
                return field
        field = None
        with _HDF5Lock():  # close the probe now: xarray opens the file next
            pass
        return None

    @staticmethod
    def usable(path):
        """Whether ``path``'s field is int16 packed as skflux writes it (else: xarray decodes)."""
        return PackedField.open_usable(path) is not None

    def _stat(self):
        st = self.path.stat()
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _open(self):
        """This process's shared handle on the file (reopened after a fork or unpickling)."""
        if self._nc is None or self._pid != os.getpid():
            with _HDF5Lock():
                self._nc = _shared_handle(self.path, self.identity, self)
                self._pid = os.getpid()
        return self._nc

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_nc"] = state["_pid"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def _reopen_checked(self):
        if self._nc is not None and self._pid == os.getpid():
            return self._nc
        try:
            now = self._stat()
        except OSError as exc:
            raise FileNotFoundError(
                f"{self.path}: the videos' file is gone ({exc}); open it again with "
                "skflux.io.open_videos") from exc
        if now != self.identity:
            raise ValueError(
                f"{self.path} was replaced or modified after it was opened; open it again with "
                "skflux.io.open_videos (this process would otherwise read other videos)")
        return self._open()

    def __getitem__(self, key):
        nc = self._reopen_checked()
        with _HDF5Lock():
            raw = np.asarray(nc.variables[FIELD_VAR][key])
        return unpack(raw, self.scale, self.offset, self.fill)

    def _raw(self, start, stop):
        """The int16 values of videos ``start:stop``: one hyperslab, whole chunks."""
        nc = self._reopen_checked()
        with _HDF5Lock():
            return nc.variables[FIELD_VAR][start:stop]


class _Handle:
    """One netCDF4 handle on a file, shared by this process's readers of that file."""

    __slots__ = ("nc", "pid", "users")

    def __init__(self, nc):
        import weakref

        self.nc, self.pid, self.users = nc, os.getpid(), weakref.WeakSet()


#: (path, identity) -> :class:`_Handle`; entries of another pid were inherited through fork.
_HANDLES = {}
#: Handles inherited through fork: closing them would touch the parent's HDF5 state.
_INHERITED = []


def _shared_handle(path, identity, user):
    """The handle on ``path`` (as of ``identity``) for ``user``; call under the HDF5 lock."""
    import netCDF4

    key = (str(path), identity)
    handle = _HANDLES.get(key)
    if handle is None or handle.pid != os.getpid() or not handle.nc.isopen():
        if handle is not None and handle.pid != os.getpid():
            _INHERITED.append(handle.nc)  # the parent's: never touched here
        nc = netCDF4.Dataset(path, "r")
        nc.set_auto_maskandscale(False)
        handle = _HANDLES[key] = _Handle(nc)
    handle.users.add(user)
    return handle.nc


def _close_unused():
    """Close this process's handles that no reader uses any more (under the HDF5 lock).

    A garbage collection may run in any thread at any time (e.g. while a
    reader thread decompresses), so readers never close anything when
    collected; the next locked call does.
    """
    for key, handle in list(_HANDLES.items()):
        if handle.pid == os.getpid() and not handle.users:
            del _HANDLES[key]
            try:
                handle.nc.close()
            except RuntimeError:  # already closed
                pass


class _HDF5Lock:
    """xarray's process-wide HDF5 lock, closing unused handles once it is held.

    HDF5 (as built in the netCDF4 wheels) is not thread-safe: every call into
    it, skflux's and xarray's, holds this lock.
    """

    def __enter__(self):
        from xarray.backends.locks import HDF5_LOCK

        self._lock = HDF5_LOCK
        self._lock.acquire()
        _close_unused()
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False


def _open_netcdf(path, chunks):
    """``(ds, packed)``: the Dataset of a NetCDF file and its field as a dask array, or None.

    A file written by skflux (int16 packing, chunks along ``video`` only or
    None) is read through one shared handle (:class:`PackedField`): xarray
    reads the coordinates through it and the field is a dask array over
    :class:`PackedField`. Any other file is opened by xarray, which decodes it
    (``packed`` is None).
    """
    import xarray as xr
    from xarray.backends import NetCDF4DataStore

    n = 1 if chunks is None else chunks.get(VIDEO_DIM)
    video_only = chunks is None or not set(chunks) - {VIDEO_DIM}
    usable = (video_only and isinstance(n, (int, np.integer)) and not isinstance(n, bool)
              and n >= 1)
    field = PackedField.open_usable(path) if usable else None
    if field is None:
        return xr.open_dataset(path, engine="netcdf4", chunks=chunks,
                               decode_timedelta=False), None
    # never closed here: the handle is the readers' (closed once none uses it)
    ds = xr.open_dataset(NetCDF4DataStore(field._reopen_checked()), decode_timedelta=False)
    return ds, packed_dask_array(field, n, "skflux-field-", (str(path), field.identity))


def open_videos(path, *, chunks="video"):
    """Open a NetCDF file or a Zarr store of videos lazily, as a validated DataArray.

    The int16-packed field of files written by skflux is read by each chunk's
    task straight from the file and unpacked in one pass (the same float32
    values as xarray's CF decoding, several times faster); other packings are
    decoded by xarray.

    Parameters
    ----------
    path : str, path-like or zarr store
        A file written by :func:`to_netcdf` or :class:`VideoWriter` (or any
        NetCDF file with a ``field`` variable following the data model), or a
        Zarr store written by :func:`to_zarr` (a ``*.zarr`` folder, a folder
        holding Zarr metadata, a ``scheme://`` address or a store object).
    chunks : "video", int, dict or None, default="video"
        ``"video"``: a dask array with one video per chunk; an int: that many
        videos per chunk; a dict: passed to xarray; None: load everything
        into memory (numpy). Coordinates are always loaded (they are small).

    Returns
    -------
    videos : xarray.DataArray
        Dims ``("video", "frame", "lat", "lon")``, float32 Gauss (NaN where
        the file holds the fill value), with all coordinates and attributes.

    Raises
    ------
    FileNotFoundError
        If the file or store does not exist.
    ValueError
        If the file is not a readable NetCDF4/HDF5 file or Zarr store (corrupt, truncated or
        foreign), has no ``field`` variable, or does not follow the data model
        (the message names the file and the missing coordinates); for a Zarr
        store, also if a chunk is missing (Zarr would read the fill value as
        data) or the field's packing differs from the one written, naming the
        store and the variable. A chunk that cannot be decoded is reported,
        with the store and the video, when it is read.

    Examples
    --------
    >>> import tempfile, os
    >>> from skflux.io import open_videos, to_netcdf
    >>> from skflux.io._examples import tiny_videos
    >>> path = to_netcdf(tiny_videos(n=4), os.path.join(tempfile.mkdtemp(), "v.nc"))
    >>> videos = open_videos(path)
    >>> videos.chunks[0]
    (1, 1, 1, 1)
    """

    from ._zarr import is_zarr_store

    local = isinstance(path, (str, os.PathLike)) and "://" not in os.fspath(path)
    zarr = not local or is_zarr_store(path)
    if local:
        path = Path(os.fspath(path))
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such {'store' if zarr else 'file'}")
    chunks = _normalize_chunks(chunks)
    packed = None
    try:
        if zarr:
            from ._zarr import open_zarr_dataset

            ds, packed = open_zarr_dataset(path, chunks)
        else:
            ds, packed = _open_netcdf(path, chunks)
    except Exception as exc:
        what = "a Zarr store" if zarr else "a NetCDF4 file"
        raise ValueError(
            f"{path}: cannot be read as {what} of videos (corrupt, truncated or not "
            f"{'Zarr' if zarr else 'NetCDF'}): {type(exc).__name__}: {exc}"
        ) from exc
    if FIELD_VAR not in ds.variables and ds.attrs.get("skflux_n_videos") == 0:
        ds.close()
        raise ValueError(f"{path}: holds no videos (its writer was closed before writing any)")
    if FIELD_VAR not in ds.variables:
        ds.close()
        raise ValueError(
            f"{path}: no {FIELD_VAR!r} variable; variables present: {sorted(ds.variables)} "
            "(was it written by skflux.io.to_netcdf?)"
        )
    da = ds[FIELD_VAR]
    if packed is not None:  # unpacked in one pass per read (see PackedField)
        da = da.copy(data=packed)
    # Promote other per-video variables to coordinates (files not written by skflux).
    extra = [n for n in ds.data_vars if n != FIELD_VAR and set(ds[n].dims) <= set(DIMS)]
    if extra:
        da = da.assign_coords({n: ds[n] for n in extra})
    try:
        da = da.assign_coords({n: c.load() for n, c in da.coords.items()})
    except Exception as exc:
        raise ValueError(f"{path}: coordinates cannot be read: {type(exc).__name__}: {exc}") \
            from exc
    attrs = dict(ds.attrs)
    for key, value in da.attrs.items():  # files written by DataArray.to_netcdf
        if key != "long_name":
            attrs.setdefault(key, value)
    da.attrs = attrs
    da.encoding["source"] = str(path)
    if packed is not None and zarr:
        ds.close()  # coordinates are loaded and the field reads through its own handle
    if chunks is None:
        try:
            da = da.load()
        except Exception as exc:
            raise ValueError(f"{path}: data cannot be read: {type(exc).__name__}: {exc}") \
                from exc
    try:
        validate_videos(da)
    except VideoSchemaError as exc:
        raise VideoSchemaError(f"{path}: {exc}") from None
    return da
