"""Lazy, checked access to what a run directory holds (private).

Every file is read at most once; a file that is present but unreadable or of the
wrong shape is refused with a :class:`RunFileError` (a ``ValueError``) naming it,
never a raw parser error. The report only reads: nothing here writes to the run
directory (probabilities missing from it are computed in memory).
"""

import logging
from pathlib import Path

import numpy as np

from .. import _layout as layout

log = logging.getLogger("skflux")


class RunFileError(ValueError):
    """A file of the run directory that is present but cannot be used (named in the message)."""


def _load_json(path, what, kind):
    from .._jsonutil import load_json

    try:
        payload = load_json(path, what)
    except RunFileError:
        raise
    except ValueError as exc:
        raise RunFileError(str(exc)) from exc
    if not isinstance(payload, kind):
        raise RunFileError(f"{path}: corrupt {what} (expected a JSON "
                         f"{'object' if kind is dict else 'list or object'}, found "
                         f"{type(payload).__name__})")
    return payload


def _load_dataset(path, what, variables):
    import xarray as xr

    try:
        ds = xr.load_dataset(path)
    except Exception as exc:
        raise RunFileError(f"{path}: corrupt {what} ({' '.join(str(exc).split())[:200]})") \
            from exc
    missing = [v for v in variables if v not in ds]
    if missing:
        raise RunFileError(f"{path}: corrupt {what} (no variable {', '.join(missing)})")
    return ds


class RunDirectory:
    """The files of one run directory, each loaded on first use."""

    def __init__(self, run_dir):
        self.dir = Path(run_dir)
        self._cache = {}

    def path(self, name):
        p = self.dir / name
        return p if p.exists() else None

    def _get(self, key, loader):
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]

    @property
    def videos(self):
        def load():
            from ..io import open_videos

            for name in layout.VIDEO_FILES:
                p = self.path(name)
                if p is not None:
                    try:
                        return open_videos(p)
                    except (ValueError, OSError, KeyError, TypeError) as exc:
                        raise RunFileError(f"{p}: cannot read videos "
                                         f"({' '.join(str(exc).split())[:200]})") from exc
            return None

        return self._get("videos", load)

    @property
    def metrics(self):
        p = self.path(layout.METRICS)
        return self._get("metrics", lambda: None if p is None else
                         _load_json(p, "metrics file", dict))

    @property
    def passes_record(self):
        """``{"passes": [...], "summary": {...}}`` from relabeled.json, or None."""

        def load():
            p = self.path(layout.PASSES)
            if p is None:
                return None
            payload = _load_json(p, "relabeling record", (dict, list))
            if isinstance(payload, list):
                payload = {"passes": payload, "summary": {}}
            passes = payload.get("passes")
            if not isinstance(passes, list) or not all(isinstance(r, dict) for r in passes):
                raise RunFileError(f"{p}: corrupt relabeling record ('passes' must be a list of "
                                 "objects, one per pass)")
            if not isinstance(payload.get("summary", {}), dict):
                raise RunFileError(f"{p}: corrupt relabeling record ('summary' must be an "
                                 "object)")
            return payload

        return self._get("passes", load)

    @property
    def passes(self):
        record = self.passes_record
        return None if record is None else record["passes"]

    @property
    def ensemble(self):
        def load():
            p = self.path(layout.MODEL)
            if p is None:
                return None
            from ..ensemble import MonthBlockEnsemble

            try:
                return MonthBlockEnsemble.load(p)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise RunFileError(f"{p}: cannot load the ensemble "
                                   f"({' '.join(str(exc).split())[:200]})") from exc

        return self._get("ensemble", load)

    @property
    def times(self):
        p = self.path(layout.TIMES)
        return self._get("times", lambda: None if p is None else _load_dataset(
            p, "emergence-time file", ("emergence_frame", "final_probability")))

    @property
    def probabilities(self):
        """``(member_proba, threshold, test positions)`` on the test months, or None."""
        return self._get("proba", self._load_probabilities)

    def _load_probabilities(self):
        p = self.path(layout.PROBA)
        test = self.test_index
        if p is not None:
            ds = _load_dataset(p, "probability file", ("member_proba",))
            if "threshold" not in ds.attrs:
                raise RunFileError(f"{p}: corrupt probability file (no 'threshold' attribute)")
            return ds["member_proba"].values, float(ds.attrs["threshold"]), test
        if self.ensemble is None or test is None or not test.size:
            return None
        log.info("computing the ensemble's probabilities on %d test videos (in memory; "
                 "the report writes nothing into the run directory)", test.size)
        X = _to_model_size(self.videos.isel(video=test), self.ensemble)
        P = self.ensemble.predict_proba_members(X)
        return P, float(self.ensemble.threshold_), test

    @property
    def test_index(self):
        def load():
            from ..model_selection import month_block_sets

            return None if self.videos is None else month_block_sets(self.videos).test

        return self._get("test", load)

    def coord(self, name, index=None):
        v = self.videos
        if v is None or name not in v.coords:
            return None
        values = np.asarray(v[name].values)
        return values if index is None else values[index]



def _to_model_size(X, ensemble):
    """The videos ``X`` resampled (in memory) to the size the ensemble was trained on.

    A report works on videos of any size: videos of another size than the
    model's are brought to it by area averaging, as ``skflux locate --resample``
    does; videos of the model's size, or a model that does not record its
    size, are returned as they are.
    """
    from ..preprocessing import Resample
    from ..timing import EmergenceTimeLocator

    shape = EmergenceTimeLocator(ensemble, lower_bound=0).fit().video_shape_
    got = tuple(int(X.sizes[d]) for d in ("frame", "lat", "lon"))
    if shape is None or tuple(int(s) for s in shape) == got or shape[1] != shape[2]:
        return X
    log.info("resampling the test videos of %s to the model's %s (frame x lat x lon)",
             "x".join(map(str, got)), "x".join(map(str, shape)))
    return Resample(n_frames=int(shape[0]), size=int(shape[1])).fit_transform(X)
