"""Saving and loading a fitted FluxEmergenceClassifier as a model directory (private).

Layout (format ``"skflux-classifier"``, version 1)::

    config.json    {"format", "format_version", "skflux_version",
                    "params": {constructor parameters, JSON only},
                    "classes": [...], "pos_label": ..., "video_shape": [F, H, W],
                    "fit": {"valid_months", "seed", "train_index", "valid_index"}}
    weights.pt     the network's state dict (tensors only)
    history.json   skorch's training history

Only the parameters listed here are written and read back: a config cannot
name a callable, a custom class or how the weights are loaded
(``torch_load_kwargs``), so opening someone else's model never runs code.
Counts read back are bounded before anything is built (the bounds of
:mod:`skflux._model_dir`): ``batch_size`` 1.., ``num_workers`` up to 4 per CPU
core, ``max_epochs``/``patience`` up to 10**6, ``video_shape`` sizes up to 2**20,
and the network, built first on PyTorch's ``meta`` device (no memory), at most
2**28 parameters with a batch (videos plus activations) of at most 32 GiB.
"""

import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from .._model_dir import (
    CONFIG,
    MAX_BATCH_BYTES,
    MAX_N_JOBS,
    MAX_PARAMETERS,
    ModelDirectoryError,
    check_count,
    load_state_dict,
    read_config,
    save_state_dict,
    write_config,
)
from .losses import GeneralizedCrossEntropyLoss

FORMAT = "skflux-classifier"
FORMAT_VERSION = 1
WEIGHTS = "weights.pt"
HISTORY = "history.json"

#: Constructor parameters a model directory stores (besides module__/criterion__/optimizer__).
PARAMS = ("module", "criterion", "optimizer", "lr", "max_epochs", "batch_size", "field_limit",
          "augment", "threshold", "valid_months", "patience", "random_state", "device",
          "verbose", "num_workers", "video_shape", "pos_label", "precision")
PREFIXES = ("module__", "criterion__", "optimizer__")
CRITERIA = {"BCEWithLogitsLoss": torch.nn.BCEWithLogitsLoss,
            "GeneralizedCrossEntropyLoss": GeneralizedCrossEntropyLoss}
OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}

__all__ = ["FORMAT", "FORMAT_VERSION", "load_classifier", "save_classifier"]


def _plain(value):
    """``value`` as JSON (tuples as lists), or raise TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    raise TypeError(type(value).__name__)


def _storable(name, value):
    if name == "criterion" or name == "optimizer":
        table = CRITERIA if name == "criterion" else OPTIMIZERS
        for key, cls in table.items():
            if value is cls:
                return key
        raise TypeError(f"{name}={value!r} (storable: {', '.join(table)})")
    if name == "device" and isinstance(value, torch.device):
        return str(value)
    if name == "module" and not isinstance(value, str):
        raise TypeError(f"module={value!r} (storable: 'vgg' or 'vgg3d')")
    try:
        return _plain(value)
    except TypeError as exc:
        raise TypeError(f"{name} of type {exc}") from None


def _storable_params(clf):
    """The constructor parameters to write; refuses what JSON cannot hold, by name."""
    default = type(clf)().get_params(deep=False)
    params, refused = {}, []
    for name, value in clf.get_params(deep=False).items():
        if name.startswith("_"):
            continue
        try:
            if name in PARAMS or name.startswith(PREFIXES):
                params[name] = _storable(name, value)
            elif not _same(value, default.get(name, object())):
                refused.append(name)
        except TypeError as exc:
            refused.append(str(exc))
    if refused:
        raise TypeError(
            f"cannot save {type(clf).__name__}: parameters that a model directory does not "
            f"store: {'; '.join(refused)}. Save a classifier built from 'vgg'/'vgg3d', a "
            f"loss of {sorted(CRITERIA)}, an optimizer of {sorted(OPTIMIZERS)} and "
            "JSON-able values (callbacks and other training-only objects at their defaults)"
        )
    return params


def _same(a, b):
    try:
        return a is b or bool(a == b)
    except Exception:  # arrays, tensors...
        return False


def save_classifier(clf, path, *, overwrite=False):
    """See :meth:`FluxEmergenceClassifier.save`."""
    check_is_fitted(clf)
    params = _storable_params(clf)
    path = Path(path)
    if (path / CONFIG).exists() and not overwrite:
        raise FileExistsError(
            f"{path / CONFIG} exists: {path} already holds a model; pass overwrite=True to "
            "replace it or choose another directory"
        )
    payload = {
        "params": params,
        "classes": _plain(clf.classes_),
        "pos_label": _plain(clf.pos_label_),
        "video_shape": _plain(clf.video_shape_in_),
        "fit": {"valid_months": _plain(clf.valid_months_), "seed": int(clf.seed_),
                "train_index": _plain(clf.train_index_),
                "valid_index": _plain(clf.valid_index_)},
    }
    path.mkdir(parents=True, exist_ok=True)
    save_state_dict(path / WEIGHTS,
                    {k: v.detach().cpu() for k, v in clf.module_.state_dict().items()})
    clf.save_params(f_history=path / HISTORY)
    write_config(path, FORMAT, FORMAT_VERSION, payload)  # last: no config, no model
    return path


# ----------------------------------------------------------------------------- load
def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _loaded_param(name, value, where):
    if isinstance(value, dict):
        raise ModelDirectoryError(f"{where}: parameter {name!r} holds an object; not allowed")
    if name == "criterion" or name == "optimizer":
        table = CRITERIA if name == "criterion" else OPTIMIZERS
        if value not in table:
            raise ModelDirectoryError(
                f"{where}: {name} {value!r} is not one of {sorted(table)}")
        return table[value]
    return _tuples(value)


def _params_from_config(config, where):
    params = config["params"]
    if not isinstance(params, dict):
        raise ModelDirectoryError(f"{where}: corrupt model config (params is not an object)")
    out = {}
    for name, value in params.items():
        if not (name in PARAMS or (name.startswith(PREFIXES) and name.count("__") == 1)):
            raise ModelDirectoryError(
                f"{where}: parameter {name!r} is not one a saved classifier may set (a "
                "config must not choose callables or how weights are loaded); allowed: "
                f"{', '.join(PARAMS)} and module__*, criterion__*, optimizer__* values"
            )
        out[name] = _loaded_param(name, value, where)
    return out


def _check_counts(params, where):
    """Bounds on the counts a config sets (see :mod:`skflux._model_dir`)."""
    if "batch_size" in params:  # -1 (the whole data set at once) is not taken from a file
        params["batch_size"] = check_count(where, "params.batch_size", params["batch_size"], 1,
                                           MAX_BATCH_BYTES)
    if "num_workers" in params:
        params["num_workers"] = check_count(where, "params.num_workers", params["num_workers"],
                                            0, MAX_N_JOBS)
    shape = params.get("video_shape")
    if shape is not None:
        if not isinstance(shape, tuple) or len(shape) != 3:
            raise ModelDirectoryError(f"{where}: params.video_shape {shape!r} is not 3 "
                                      "sizes (frame, lat, lon)")
        params["video_shape"] = tuple(check_count(where, "params.video_shape", n, 1, 2 ** 20)
                                      for n in shape)
    for key in ("max_epochs", "patience"):
        if params.get(key) is not None:
            params[key] = check_count(where, f"params.{key}", params[key],
                                      0 if key == "max_epochs" else 1, 10 ** 6)


def network_size(module_class, kwargs, video_shape):
    """Parameters and per-video activations of a network, without allocating it.

    The module is built on PyTorch's ``meta`` device (shapes only, no memory) and
    run forward once on a meta video of ``video_shape``; every leaf module's
    output counts towards the activations.

    Parameters
    ----------
    module_class : type
        A :class:`torch.nn.Module` class.
    kwargs : dict
        Its constructor's arguments.
    video_shape : tuple of 3 int
        ``(frame, lat, lon)``.

    Returns
    -------
    n_parameters : int
    n_activations : int
        Values written by one forward pass over one video (input excluded).
    """
    with torch.device("meta"):
        module = module_class(**kwargs)
    n_parameters = sum(p.numel() for p in module.parameters())
    if n_parameters > MAX_PARAMETERS:  # no need to run it
        return n_parameters, 0
    count = [0]

    def hook(_, __, out):
        if isinstance(out, torch.Tensor):
            count[0] += out.numel()

    hooks = [m.register_forward_hook(hook) for m in module.modules()
             if next(m.children(), None) is None]
    try:
        module.eval()
        with torch.no_grad():
            module(torch.empty((1, *video_shape), device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return n_parameters, count[0]


#: network_size results by (module class, arguments, video shape), for this process.
_SIZES = {}


def _check_network_size(clf, where):
    """Refuse a config whose network or batch would not fit a machine, before building it."""
    module_class = clf._module_class_or_instance()
    try:
        kwargs = clf._module_kwargs(module_class)
    except (TypeError, ValueError) as exc:
        raise ModelDirectoryError(f"{where}: cannot build the network ({exc})") from exc
    shape = tuple(clf.video_shape_in_)
    named = ", ".join(f"module__{k}={v!r}" for k, v in sorted(kwargs.items())
                      if k not in ("field_limit", "n_frames", "in_size"))
    what = f"the network of {named or 'default module parameters'}, video_shape {list(shape)}"
    try:
        key = (module_class, tuple(sorted(kwargs.items())), shape)
        hash(key)
    except TypeError:  # an unhashable module argument: measured every time
        key = None
    try:
        sizes = _SIZES.get(key) if key is not None else None
        if sizes is None:  # an ensemble's members usually share one network: measured once
            sizes = network_size(module_class, kwargs, shape)
            if key is not None:
                _SIZES[key] = sizes
        n_parameters, n_activations = sizes
    except (TypeError, ValueError, RuntimeError) as exc:
        text = " ".join(str(exc).split())[:300]
        raise ModelDirectoryError(f"{where}: cannot build {what} ({text})") from exc
    if n_parameters > MAX_PARAMETERS:
        raise ModelDirectoryError(
            f"{where}: {what} would hold {n_parameters:,} parameters (at most "
            f"{MAX_PARAMETERS:,}, 1 GiB of float32, are loaded from a file)")
    batch = int(clf.batch_size)
    n_bytes = 4 * batch * (int(np.prod(shape)) + n_activations)
    if n_bytes > MAX_BATCH_BYTES:
        raise ModelDirectoryError(
            f"{where}: params.batch_size {batch} with {what} would use {n_bytes / 2**30:,.1f} "
            f"GiB per batch (at most {MAX_BATCH_BYTES / 2**30:.0f} GiB are loaded from a file)")


def _device(saved, device):
    if device is not None:
        return device
    if str(saved).startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"the model was saved on {saved!r}, which is not available here: "
                      "loading it on 'cpu'", UserWarning, stacklevel=3)
        return "cpu"
    return saved


def _fitted_attributes(clf, config, where):
    try:
        classes = np.asarray(config["classes"])
        shape = tuple(int(s) for s in config["video_shape"])
        pos_label = config["pos_label"]
        fit = config.get("fit", {})
        ok = (classes.shape == (2,) and classes[0] != classes[1]
              and pos_label in classes.tolist() and len(shape) == 3 and min(shape) > 0)
    except (TypeError, ValueError, KeyError):
        ok = False
    if not ok:
        raise ModelDirectoryError(
            f"{where}: corrupt model config (classes {config.get('classes')!r}, pos_label "
            f"{config.get('pos_label')!r}, video_shape {config.get('video_shape')!r})")
    clf.classes_, clf.pos_label_ = classes, pos_label
    clf.video_shape_in_, clf.n_frames_in_ = shape, shape[0]
    clf.n_features_in_ = int(np.prod(shape))
    clf.valid_months_ = tuple(int(m) for m in fit.get("valid_months", ()))
    clf.seed_ = int(fit.get("seed", 0))
    clf.train_index_ = np.asarray(fit.get("train_index", []), dtype=int)
    clf.valid_index_ = np.asarray(fit.get("valid_index", []), dtype=int)


def _load_weights(clf, path):
    state = load_state_dict(path / WEIGHTS, device=clf.device)
    try:
        clf.module_.load_state_dict(state)
    except RuntimeError as exc:
        text = " ".join(str(exc).split())[:300]
        raise ModelDirectoryError(
            f"{path / WEIGHTS}: the weights do not fit the network of {path / CONFIG} "
            f"({text})") from exc
    history = path / HISTORY
    if history.is_file():
        try:
            clf.load_params(f_history=history)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelDirectoryError(f"{history}: corrupt training history ({exc})") from exc


def load_classifier(cls, path, *, device=None):
    """See :meth:`FluxEmergenceClassifier.load`."""
    path = Path(path)
    where = path / CONFIG
    config = read_config(path, FORMAT, FORMAT_VERSION,
                         required=("params", "classes", "pos_label", "video_shape"))
    params = _params_from_config(config, where)
    _check_counts(params, where)
    params["device"] = _device(params.get("device", "cpu"), device)
    try:
        clf = cls(**params)
        clf._check_params()
    except (InvalidParameterError, TypeError, ValueError) as exc:
        raise ModelDirectoryError(f"{where}: invalid parameters ({exc})") from exc
    _fitted_attributes(clf, config, where)
    _check_network_size(clf, where)
    try:
        clf.initialize()
    except (TypeError, ValueError) as exc:
        raise ModelDirectoryError(f"{where}: cannot build the network ({exc})") from exc
    _load_weights(clf, path)
    clf.module_.eval()
    return clf
