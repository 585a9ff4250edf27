"""Model directories: a versioned ``config.json`` plus tensor files, never a pickle (private).

A fitted skflux model is saved as a directory: ``config.json`` says what it is
(``format``), in which version of the layout (``format_version``), with which
skflux (``skflux_version``), and holds its parameters as plain JSON; weights are
state dicts of tensors written by :func:`torch.save` and read back with
``torch.load(..., weights_only=True)``, so opening a model directory, even one
from someone else, never runs code. Foreign, corrupt or newer directories are
refused with a :class:`ModelDirectoryError` that names the file at fault.
"""

import math
import os
from numbers import Integral, Real
from pathlib import Path

from ._atomic import atomic_path
from ._jsonutil import dump_json, load_json

__all__ = [
    "CONFIG", "MAX_BATCH_BYTES", "MAX_N_JOBS", "MAX_PARAMETERS", "ModelDirectoryError",
    "check_count", "check_fraction", "load_state_dict", "read_config", "save_state_dict",
    "write_config",
]

CONFIG = "config.json"

#: Bounds on the numbers a model directory may hold. A config is data from someone
#: else: without bounds, ``n_jobs: 99999`` starts a worker process per job and
#: ``module__widths: [100000, ...]`` asks for hundreds of GB of weights.
#: Jobs and loader workers: at most four per CPU core of this machine.
MAX_N_JOBS = 4 * (os.cpu_count() or 1)
#: Weights of one network: 2**28 (1 GiB of float32; the reference VGG at full size
#: holds 2.3 million, the 3-D CNN 1.1 million).
MAX_PARAMETERS = 2 ** 28
#: Memory of one batch, videos plus the activations of a forward pass, in float32
#: bytes: 32 GiB (the 3-D CNN at full size, batch 10: 1.8 GiB).
MAX_BATCH_BYTES = 2 ** 35


class ModelDirectoryError(ValueError):
    """A model directory (or one of its files) that cannot be used: missing, corrupt,
    foreign, written by a newer skflux, or carrying something other than tensors."""


def write_config(directory, fmt, version, payload):
    """Create ``directory`` (if needed) and write its ``config.json`` atomically.

    Parameters
    ----------
    directory : str or Path
    fmt : str
        Format name, e.g. ``"skflux-classifier"``.
    version : int
        Format version.
    payload : dict
        JSON-able content; ``format``, ``format_version`` and ``skflux_version``
        are added in front.

    Returns
    -------
    path : Path
        The ``config.json`` written.
    """
    from . import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"format": fmt, "format_version": int(version), "skflux_version": __version__}
    config.update(payload)
    return dump_json(config, directory / CONFIG)


def read_config(directory, fmt, max_version, *, required=()):
    """Read and check the ``config.json`` of a model directory.

    Parameters
    ----------
    directory : str or Path
    fmt : str
        The format expected (a directory of another kind is refused).
    max_version : int
        The newest format version this skflux reads.
    required : sequence of str
        Keys the config must hold.

    Returns
    -------
    config : dict

    Raises
    ------
    ModelDirectoryError
        Missing directory or config, corrupt JSON, foreign format, newer version,
        missing keys; the message names the file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirectoryError(f"{directory}: no such model directory")
    path = directory / CONFIG
    if not path.is_file():
        raise ModelDirectoryError(f"{directory}: not a model directory (no {CONFIG})")
    try:
        config = load_json(path, "model config")
    except (ValueError, OSError) as exc:
        raise ModelDirectoryError(str(exc)) from exc
    if not isinstance(config, dict) or config.get("format") != fmt:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelDirectoryError(f"{path}: not a {fmt} config (format {found!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelDirectoryError(f"{path}: corrupt model config (format_version {version!r})")
    if version > max_version:
        raise ModelDirectoryError(
            f"{path}: written by a newer skflux ({config.get('skflux_version', '?')}, format "
            f"version {version}; this skflux reads up to {max_version}): upgrade skflux"
        )
    missing = [k for k in required if k not in config]
    if missing:
        raise ModelDirectoryError(f"{path}: corrupt model config (no {', '.join(missing)})")
    return config


def check_count(where, key, value, low, high, *, none=False, also=()):
    """An integer read from a model file, within ``[low, high]``; else refused by name.

    Parameters
    ----------
    where : str or Path
        The file read (for the message).
    key : str
        The key in that file (for the message).
    value : object
        The value read.
    low, high : int
        Inclusive bounds.
    none : bool, default=False
        Whether ``None`` (JSON null) is allowed.
    also : tuple of int
        Values allowed outside the bounds (e.g. ``-1`` for "all cores").

    Returns
    -------
    value : int or None

    Raises
    ------
    ModelDirectoryError
        Naming ``where``, ``key``, the value and the bounds.
    """
    if value is None and none:
        return None
    if isinstance(value, Integral) and not isinstance(value, bool) and (
            low <= value <= high or value in also):
        return int(value)
    allowed = f"an integer from {low} to {high}"
    if also:
        allowed += " or " + " or ".join(map(str, also))
    if none:
        allowed += " or null"
    raise ModelDirectoryError(f"{where}: {key} {value!r} is out of bounds (allowed: {allowed})")


def check_fraction(where, key, value):
    """A real number in [0, 1] read from a model file (not NaN, not a bool); else refused."""
    if (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
            and 0.0 <= value <= 1.0):
        return float(value)
    raise ModelDirectoryError(
        f"{where}: {key} {value!r} is not a number from 0 to 1; the model would predict "
        "every video the same class")


def save_state_dict(path, state_dict):
    """Write a state dict of tensors (``torch.save``) to ``path``.

    Parameters
    ----------
    path : str or Path
    state_dict : mapping of str to torch.Tensor
    """
    import torch

    bad = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(f"state dict entries {bad[:5]} are not tensors; refusing to save them")
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(dict(state_dict), tmp)
    return path


def load_state_dict(path, device=None):
    """Read a state dict of tensors with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    path : str or Path
    device : str or torch.device, optional
        ``map_location`` (default: where the tensors were saved).

    Returns
    -------
    state_dict : dict of str to torch.Tensor

    Raises
    ------
    ModelDirectoryError
        Missing or corrupt file, or a file holding anything other than tensors (a
        pickle payload is refused by the weights-only unpickler and never runs).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelDirectoryError(f"{path}: weights file missing")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, zip errors...
        text = " ".join(str(exc).split())[:300]
        raise ModelDirectoryError(f"{path}: not a file of tensors skflux can load ({text})") \
            from exc
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelDirectoryError(f"{path}: not a state dict of tensors")
    return state
