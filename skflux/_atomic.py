"""Atomic writes: one helper for every file and folder skflux writes (private).

A writer writes into a temporary sibling of the final path, named
``.<name>.<random hex>.partial`` (the one temporary-name style of skflux), in
the same folder, so the final rename never crosses a file system. On success
the temporary is flushed to disk (``fsync``, files and folders) and renamed
onto the final path; on any failure (an exception, ``KeyboardInterrupt``) it is
removed and the final path is exactly as it was. A reader therefore sees the
old content or the new, never a half-written file, and a crash leaves at most a
``.partial`` sibling, never a truncated result.

The final path is never replaced unless ``overwrite=True``: without it an
existing file or folder is refused with :class:`FileExistsError` (files are
linked into place, so even a file created meanwhile by another process is
never overwritten). With it, a folder being replaced is first renamed aside
(another ``.partial`` sibling), so a failure puts it back.

This module imports nothing from skflux, so any module may use it.
"""

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "atomic_path", "atomic_write_bytes", "atomic_write_text",
           "is_temporary", "temporary_sibling"]

#: Suffix of every temporary sibling (``.<name>.<hex>.partial``).
TEMP_SUFFIX = ".partial"


def temporary_sibling(final):
    """A fresh temporary path next to ``final`` (not created): ``.<name>.<hex>.partial``.

    Parameters
    ----------
    final : str or Path

    Returns
    -------
    path : Path

    Examples
    --------
    >>> p = temporary_sibling("/data/run/model.pt")
    >>> p.parent.as_posix(), p.name.startswith(".model.pt."), p.name.endswith(".partial")
    ('/data/run', True, True)
    """
    final = Path(final)
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temporary(path):
    """Whether ``path`` is named like a temporary sibling of :func:`temporary_sibling`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    bool

    Examples
    --------
    >>> is_temporary(temporary_sibling("a.nc")), is_temporary("a.nc")
    (True, False)
    """
    name = Path(path).name
    parts = name[1:-len(TEMP_SUFFIX)].rsplit(".", 1) if name.endswith(TEMP_SUFFIX) else ()
    return (name.startswith(".") and len(parts) == 2 and len(parts[1]) == 12
            and all(c in "0123456789abcdef" for c in parts[1]))


def _exists(path):
    return path.exists() or path.is_symlink()


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems refusing fsync on folders
        pass
    finally:
        os.close(fd)


def _fsync_tree(path):
    if path.is_dir() and not path.is_symlink():
        for root, _dirs, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root) / name)
            _fsync_dir(root)
    elif path.is_file():
        _fsync_file(path)


def _refuse(final):
    kind = "a folder" if final.is_dir() else "a file"
    return FileExistsError(errno.EEXIST, f"{final} exists ({kind}); refusing to overwrite it "
                                         "(ask for overwrite to replace it)", str(final))


def _commit(tmp, final, overwrite):
    """Rename ``tmp`` onto ``final``; see the module documentation."""
    if not overwrite:
        if tmp.is_file() and not tmp.is_symlink():
            try:
                os.link(tmp, final)  # fails if final exists: never clobbers
            except FileExistsError:
                raise _refuse(final) from None
            except OSError as exc:  # no hard links here (some network/FAT file systems)
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP,
                                     errno.EXDEV, errno.EMLINK):
                    raise
            else:
                tmp.unlink()
                return
        if _exists(final):
            raise _refuse(final)
        os.rename(tmp, final)
        return
    if _exists(final) and ((final.is_dir() and not final.is_symlink()) or tmp.is_dir()):
        aside = temporary_sibling(final)
        os.rename(final, aside)
        try:
            os.rename(tmp, final)
        except BaseException:
            os.rename(aside, final)
            raise
        _remove(aside)
        return
    os.replace(tmp, final)


@contextlib.contextmanager
def atomic_path(final, *, overwrite=False, fsync=True):
    """Yield a temporary sibling of ``final`` to write; rename it onto ``final`` on success.

    The yielded path does not exist yet: the writer creates a file or a
    folder there (``to_netcdf(tmp)``, ``torch.save(..., tmp)``,
    ``tmp.mkdir()``...). When the block ends without an exception, the
    temporary is flushed to disk and renamed onto ``final``; when it raises,
    or nothing was written, the temporary is removed and ``final`` is left as
    it was.

    Parameters
    ----------
    final : str or Path
        Where the result belongs; its folder must exist.
    overwrite : bool, default=False
        Replace an existing file or folder at ``final``. False: an existing
        one is refused (before the block runs, and again at the rename).
    fsync : bool, default=True
        Flush the written file (or every file of the written folder) and the
        folder holding ``final`` to disk.

    Yields
    ------
    tmp : Path
        ``.<name>.<hex>.partial`` next to ``final``.

    Raises
    ------
    FileExistsError
        If ``final`` exists and ``overwrite`` is False.
    FileNotFoundError
        If the folder of ``final`` does not exist, or the block wrote nothing.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("new")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('new', ['a.txt'])
    """
    final = Path(final)
    if not final.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {final.parent} of {final} does not "
                                              "exist", str(final.parent))
    if not overwrite and _exists(final):
        raise _refuse(final)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        if not _exists(tmp):
            raise FileNotFoundError(errno.ENOENT, f"nothing was written for {final}", str(final))
        if fsync:
            _fsync_tree(tmp)
        _commit(tmp, final, overwrite)
        if fsync:
            _fsync_dir(final.parent)
    finally:
        if _exists(tmp):
            _remove(tmp)


def atomic_write_bytes(path, data, *, overwrite=False, fsync=True):
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or Path
    data : bytes-like
    overwrite : bool, default=False
        Replace an existing file; False: refuse it (``FileExistsError``).
    fsync : bool, default=True

    Returns
    -------
    path : Path

    Examples
    --------
    >>> import tempfile
    >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "b.bin", b"\\x00\\x01")
    >>> p.read_bytes()
    b'\\x00\\x01'
    """
    path = Path(path)
    data = memoryview(data).tobytes()  # refuses str and other non-bytes early
    with atomic_path(path, overwrite=overwrite, fsync=fsync) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)
    return path


def atomic_write_text(path, text, *, overwrite=False, encoding="utf-8", fsync=True):
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or Path
    text : str
        Written as is (no newline translation).
    overwrite : bool, default=False
        Replace an existing file; False: refuse it (``FileExistsError``).
    encoding : str, default="utf-8"
    fsync : bool, default=True

    Returns
    -------
    path : Path

    Raises
    ------
    TypeError
        If ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text for {path} must be a str; got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite, fsync=fsync)
