"""Paths of the ``skflux`` commands: inputs that must exist, outputs that must not (private).

Rules every writing command follows: an output's folder must exist; an existing
output is replaced only with ``--overwrite``; no output may be an input or another
output of the same command; outputs are written to a temporary sibling and renamed
into place when complete, so a crash never leaves a half-written file under the
final name.
"""

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path

from .._atomic import atomic_path
from ._errors import CommandError, OptionError


def require_file(path, what="file"):
    """Path of an existing regular file, else a one-line failure."""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{path}: no such {what}")
    if p.is_dir():
        raise CommandError(f"{path}: is a directory, expected a {what}")
    return p


def require_dir(path, what="directory"):
    """Path of an existing directory, else a one-line failure."""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{path}: no such {what}")
    if not p.is_dir():
        raise CommandError(f"{path}: not a directory")
    return p


def check_folder(path, option):
    """The folder that will hold ``path`` exists (else a usage error naming ``option``)."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise OptionError(option, f"{path}: folder {parent} does not exist")
    return Path(path)


_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def check_writable(path, option):
    """The folder that will hold ``path`` takes a new file now: found before any work.

    A probe file is created in that folder, written, synced and removed. A
    folder that refuses it (read-only, no permission) is a usage error naming
    ``option`` (exit status 2, as a missing folder); a full disk or quota is a
    failure (exit status 1) naming ``option`` and ``path``. Nothing is left behind.
    """
    parent = Path(path).resolve().parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".skflux-write-probe-", dir=parent)
    except OSError as exc:
        _unwritable(path, option, parent, exc)
    try:
        try:
            os.write(fd, b"skflux checks that this folder takes new files\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _unwritable(path, option, parent, exc)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return Path(path)


def _unwritable(path, option, parent, exc):
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _DISK_FULL:
        raise CommandError(f"{option} {path}: cannot write in folder {parent} ({reason}): is "
                           "the disk full or over quota? Nothing was written.") from None
    raise OptionError(option, f"{path}: cannot write in folder {parent} ({reason}); choose "
                              "a folder you may write in") from None


_TEMPORARY = re.compile(r"""[^\s'"]*\.partial[^\s'"]*""")


@contextlib.contextmanager
def writing(path, option, note=""):
    """Name ``option`` and ``path`` (never a temporary name) when writing them fails.

    ``OSError`` and ``RuntimeError`` (netCDF4's "NetCDF: HDF error", torch's
    writer on a full disk) raised in the block become a :class:`CommandError`
    naming the option and the user's path, with ``note`` (what is safe, how to
    go on) appended.
    """
    try:
        yield
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            " ".join(str(exc).split()) or type(exc).__name__
        reason = _TEMPORARY.sub(str(path), reason)
        raise CommandError(f"{option} {path}: could not be written ({reason}); is the disk "
                           "full or the folder read-only? Nothing was left under that name."
                           + (f" {note}" if note else "")) from exc


def output_path(path, option, overwrite=False, what="file"):
    """Check that ``path`` may be written: its folder exists, and it is new or ``overwrite``."""
    p = check_folder(path, option)
    if p.exists() and not overwrite:
        raise CommandError(f"{path}: already exists (use --overwrite to replace it)")
    if p.exists() and p.is_dir() != (what == "directory"):
        raise CommandError(f"{path}: exists and is not a {what}")
    return p


def check_distinct(outputs, inputs=()):
    """No output is an input or another output (usage error naming the option).

    Parameters
    ----------
    outputs : sequence of (option, path)
        What the command writes, each with the option that names it.
    inputs : sequence of (option, path)
        What it reads (and must never write over).
    """
    seen = {}
    for option, path in [*inputs, *outputs]:
        if path is None:
            continue
        key = Path(path).resolve()
        if key in seen:
            raise OptionError(option, f"{path} is also {seen[key]}; give each input and output "
                                      "its own path")
        seen[key] = f"{option} ({path})"


def check_not_read(outputs, option, files, what="input"):
    """No output is one of the files a command reads from a folder (usage error).

    :func:`check_distinct` compares an output with the folder given on the
    command line; this compares it with the files found in that folder (the
    maps of ``extract``, the cubes of ``ingest``), through symlinks and hard links.

    Parameters
    ----------
    outputs : sequence of (option, path)
        What the command writes, each with the option that names it.
    option : str
        The argument naming the folder read (for the message).
    files : iterable of path-like
        The files the command will read.
    what : str
        What those files are (for the message).
    """
    files = [Path(f) for f in files]
    resolved = {f.resolve(): f for f in files}
    for out_option, path in outputs:
        if path is None:
            continue
        out = Path(path)
        hit = resolved.get(out.resolve())
        if hit is None and out.is_file():
            hit = next((f for f in files if f.is_file() and os.path.samefile(f, out)), None)
        if hit is not None:
            raise OptionError(out_option, f"{path} is {what} {hit} of {option}; the command "
                                          "never writes over what it reads: choose another "
                                          "path")


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary sibling of ``path``; rename it onto ``path`` when the block succeeds.

    :func:`skflux._atomic.atomic_path` with ``overwrite=True`` (the command
    refused an existing ``path`` without ``--overwrite`` before any work): on
    failure the temporary file (or folder) is removed, and error messages name
    ``path``, not the temporary name. An existing folder at ``path`` is replaced.
    """
    path = Path(path)
    tmp = None
    try:
        with atomic_path(path, overwrite=True) as tmp:
            yield tmp
    except Exception as exc:
        text = str(exc)
        if tmp is not None and (str(tmp) in text or tmp.name in text):
            text = text.replace(str(tmp), str(path)).replace(tmp.name, path.name)
            raise CommandError(" ".join(text.split())) from exc
        raise


def open_videos(path):
    """Open a NetCDF file of videos lazily, with a one-line failure for bad files."""
    from ..io import open_videos as open_

    require_file(path, "NetCDF file")
    try:
        return open_(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise CommandError(f"{path}: cannot read videos: {' '.join(str(exc).split())}") from exc


def labels_of(videos, coord, path):
    """The values of the label coordinate ``coord`` of ``videos`` (read from ``path``)."""
    import numpy as np

    if coord not in videos.coords:
        raise CommandError(f"{path}: no {coord!r} coordinate to train on")
    return np.asarray(videos[coord].values)
