"""Saving and loading a month-block ensemble without pickle, and the run-directory layout.

A model directory holds ``config.json`` (the classifier's parameters, the month
blocks, the threshold, one entry per member) and one ``member_XX.pt`` state dict
per member, written by skorch's ``save_params`` and read back with
``torch.load(weights_only=True)``: opening a model directory never runs code.
"""

import json
import logging
import numbers
from pathlib import Path

import numpy as np

log = logging.getLogger("skflux")

FORMAT = "skflux-month-block-ensemble"
FORMAT_VERSION = 1

# run-directory layout (documented in skflux.cli)
DATA = "data.nc"
RELABELED = "relabeled.nc"
REVIEW_LOG = "review.db"
PASSES = "relabeled.json"
MODEL = "model"
TIMES = "times.nc"
PROBA = "probabilities.nc"
METRICS = "metrics.json"
REPORT = "report"


def _error(message):
    from .cli import CommandError

    return CommandError(message)


# --------------------------------------------------------------------------- classifier

def make_classifier(*, module="vgg", epochs=20, batch_size=10, lr=1e-4, device="cpu",
                    seed=0, params=()):
    """A :class:`skflux.FluxEmergenceClassifier` from command-line options."""
    from .nn import FluxEmergenceClassifier

    kwargs = dict(module=module, max_epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, random_state=seed)
    for key, value in params:
        kwargs[key] = value
    try:
        return FluxEmergenceClassifier(**kwargs)
    except TypeError as exc:
        raise _error(f"bad classifier parameter: {exc}") from exc


def _jsonable(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return items if all(i is not _SKIP for i in items) else _SKIP
    return _SKIP


_SKIP = object()


def classifier_config(clf):
    """The classifier's parameters that define it, as JSON (refuses what JSON cannot hold)."""
    from .nn import FluxEmergenceClassifier

    defaults = FluxEmergenceClassifier()
    config = {}
    for key, value in clf.get_params(deep=False).items():
        if key.startswith("_") or key in ("verbose", "callbacks"):
            continue
        converted = _jsonable(value)
        if converted is _SKIP:
            default = defaults.get_params(deep=False).get(key, _SKIP)
            if value is default:
                continue
            raise _error(
                f"cannot save classifier parameter {key}={value!r} without pickle; "
                "use the built-in modules ('vgg', 'vgg3d') and numeric or text parameters"
            )
        config[key] = converted
    return config


# --------------------------------------------------------------------------- ensemble

def save_ensemble(ens, model_dir, *, extra=None):
    """Write a fitted :class:`skflux.MonthBlockEnsemble` to ``model_dir`` (created)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    info = getattr(ens, "member_info_", None)
    members = []
    for i, member in enumerate(ens.estimators_):
        name = f"member_{i:02d}.pt"
        member.save_params(f_params=str(model_dir / name))
        entry = {"file": name, "video_shape": [int(s) for s in member.video_shape_in_]}
        if info is not None:
            row = info.iloc[i]
            entry.update(split=int(row["split"]), seed_index=int(row["seed_index"]),
                         seed=int(row["seed"]), n_train=int(row["n_train"]),
                         n_valid=int(row["n_valid"]))
        members.append(entry)
    from . import __version__

    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skflux_version": __version__,
        "classifier": classifier_config(ens.estimator),
        "n_seeds": int(ens.n_seeds),
        "threshold": float(ens.threshold_),
        "classes": [int(c) for c in ens.classes_],
        "members": members,
    }
    cv = ens.cv
    if cv is not None and hasattr(cv, "blocks"):
        config["cv"] = {"blocks": [[int(m) for m in b] for b in cv.blocks],
                        "exclude": None if cv.exclude is None else [int(m) for m in cv.exclude]}
    config.update(extra or {})
    (model_dir / "config.json").write_text(json.dumps(config, indent=2))
    return model_dir


def read_config(model_dir):
    """The ``config.json`` of a model directory, checked."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise _error(f"{model_dir}: no such model directory")
    path = model_dir / "config.json"
    if not path.is_file():
        raise _error(f"{model_dir}: not a model directory (no config.json; write one with "
                     "'skflux fit')")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _error(f"{path}: corrupt model config ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise _error(f"{path}: not an skflux ensemble config")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise _error(f"{path}: written by a newer skflux (format version "
                     f"{config['format_version']})")
    for key in ("classifier", "members", "threshold"):
        if key not in config:
            raise _error(f"{path}: corrupt model config (no {key!r})")
    if not config["members"]:
        raise _error(f"{path}: the ensemble has no members")
    return config


def load_ensemble(model_dir, *, device=None):
    """Rebuild the fitted ensemble saved by :func:`save_ensemble` (no pickle involved)."""
    import pandas as pd
    import torch

    from .ensemble import MonthBlockEnsemble
    from .model_selection import MonthBlockSplit
    from .nn import FluxEmergenceClassifier

    model_dir = Path(model_dir)
    config = read_config(model_dir)
    params = dict(config["classifier"])
    if device is not None:
        params["device"] = device
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    try:
        template = FluxEmergenceClassifier(**params)
    except TypeError as exc:
        raise _error(f"{model_dir}/config.json: bad classifier parameters ({exc})") from exc
    members = []
    for entry in config["members"]:
        path = model_dir / str(entry.get("file", ""))
        if not path.is_file():
            raise _error(f"{path}: member weights missing")
        from sklearn.base import clone

        member = clone(template)
        shape = tuple(int(s) for s in entry["video_shape"])
        member.video_shape_in_ = shape
        member.n_frames_in_ = shape[0]
        member.n_features_in_ = int(np.prod(shape))
        try:
            member.initialize()
            member.load_params(f_params=str(path))
        except (RuntimeError, OSError, EOFError, ValueError, KeyError,
                torch.serialization.pickle.UnpicklingError) as exc:
            raise _error(f"{path}: cannot load member weights "
                         f"({' '.join(str(exc).split())[:200]})") from exc
        member.module_.eval()
        members.append(member)
    cv = None
    if "cv" in config:
        blocks = [tuple(b) for b in config["cv"]["blocks"]]
        cv = MonthBlockSplit(blocks=blocks, exclude=config["cv"].get("exclude"))
    ens = MonthBlockEnsemble(template, cv=cv, n_seeds=int(config.get("n_seeds", 1)),
                             threshold=float(config["threshold"]))
    ens.estimators_ = members
    ens.classes_ = np.asarray(config.get("classes", [0, 1]))
    ens.threshold_ = float(config["threshold"])
    ens.splits_ = []
    ens.member_info_ = pd.DataFrame([
        {k: e.get(k) for k in ("split", "seed_index", "seed", "n_train", "n_valid")}
        for e in config["members"]
    ])
    return ens, config
