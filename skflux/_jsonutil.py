"""JSON for skflux's own files: one serialiser, atomic writes, reads that name the file."""

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from ._atomic import atomic_write_text

__all__ = ["dump_json", "json_default", "load_json"]


def json_default(obj):
    """``default=`` for :func:`json.dumps`: numpy scalars and arrays, dates, paths.

    Examples
    --------
    >>> import json, numpy as np
    >>> json.dumps({"n": np.int64(3), "a": np.arange(2)}, default=json_default)
    '{"n": 3, "a": [0, 1]}'
    """
    if isinstance(obj, np.generic):
        if isinstance(obj, np.datetime64):
            return str(obj)
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dump_json(obj, path, *, indent=2):
    """Write ``obj`` as JSON to ``path`` atomically.

    The text goes to a temporary file in the same folder, which is renamed onto
    ``path`` only when complete: a crash never leaves a half-written file under
    the final name.

    Parameters
    ----------
    obj : object
        JSON-able (numpy values allowed, see :func:`json_default`).
    path : str or Path

    Returns
    -------
    path : Path
    """
    path = Path(path)
    text = json.dumps(obj, indent=indent, default=json_default, allow_nan=True)
    return atomic_write_text(path, text + "\n", overwrite=True)


def load_json(path, what="JSON file"):
    """Read a JSON file; any failure is a ``ValueError`` that names the file.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for the message (e.g. ``"metrics file"``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        If it is not readable JSON.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: corrupt {what} ({' '.join(str(exc).split())})") from exc
