"""What a fitted ensemble saw in a video, for the review page (``WebOracle(evidence=...)``).

Nothing here computes a probability or a frame itself: the members'
probabilities come from ``ensemble.predict_proba_members`` and the masking
curves, the located frame and the ``located`` flag from
:class:`~skflux.EmergenceTimeLocator` for the same ensemble, so the page shows
exactly what the library returns for the video.
"""

import threading
import warnings

import numpy as np

from ..._schema import VIDEO_DIM
from ..._validation import _is_dataarray
from ...timing import EmergenceTimeLocator, NoEmergenceLocatedWarning

__all__ = ["EnsembleEvidence"]


class EnsembleEvidence:
    """``evidence`` for :class:`WebOracle` from a fitted ensemble: spread and masking curves.

    Called with a :class:`~skflux.relabel.ReviewItem`, it returns every
    member's probability for the video, ``ensemble.predict_proba_members``
    on the unmasked video (the page shows their median and 25–75 % spread)
    and, with ``masking=True``, what :class:`~skflux.EmergenceTimeLocator`
    returns for the video: each member's probability against the cut-off
    frame (``curves_``), the located emergence frame and the ``located`` flag
    (False: the largest change sits at the lower bound or too few frames are
    observed, and the page says "no emergence located" instead of a frame).

    Parameters
    ----------
    ensemble : fitted MonthBlockEnsemble
        E.g. ``MonthBlockEnsemble.load(path)``.
    masking : bool, default=True
        Compute the frame-masking curves (one video at a time, when the page
        asks for it); False: only the members' probabilities.
    lower_bound : int or None, default=None
        The locator's ``lower_bound``. ``None``: its default, the authors' 30
        of 225 frames scaled to the video's length
        (:func:`skflux.pipeline.lower_bound_for`: 4 for 32 frames).
    device : str or None, default=None
        Torch device for the masking curves.

    Examples
    --------
    >>> from skflux.relabel import EnsembleEvidence, WebOracle
    >>> oracle = WebOracle(evidence=EnsembleEvidence(ensemble))  # doctest: +SKIP
    """

    def __init__(self, ensemble, masking=True, lower_bound=None, device=None):
        self.ensemble = ensemble
        self.masking = masking
        self.lower_bound = lower_bound
        self.device = device
        self._locator = None
        self._lock = threading.Lock()  # the page may ask for two videos at once

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_lock", None)
        state["_locator"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _fitted_locator(self):
        if self._locator is None:
            self._locator = EmergenceTimeLocator(self.ensemble, lower_bound=self.lower_bound,
                                                 device=self.device).fit()
        return self._locator

    def __call__(self, item):
        """The evidence dict of one video (see ``WebOracle``'s ``evidence``).

        Parameters
        ----------
        item : ReviewItem
            The video under review.

        Returns
        -------
        evidence : dict
            ``member_proba`` (n_members,), ``threshold`` when the ensemble has
            one and, with ``masking``: ``curves`` (n_members, n_frames),
            ``emergence_frame`` (NaN where not located), ``located``,
            ``lower_bound`` and ``n_observed_frames``.

        Raises
        ------
        ValueError
            From the ensemble or the locator, e.g. for a video with NaN or of
            another shape than the ensemble's, or a ``lower_bound`` too large
            for the video.
        """
        video = _one_video(item)
        threshold = getattr(self.ensemble, "threshold_", None)
        out = {} if threshold is None else {"threshold": float(threshold)}
        # one video at a time: the members' modules switch to eval mode and back, and
        # the locator keeps the last curves in curves_
        with self._lock:
            out["member_proba"] = np.asarray(self.ensemble.predict_proba_members(video))[:, 0]
            if not self.masking:
                return out
            with warnings.catch_warnings():  # the page says it, for this video
                warnings.simplefilter("ignore", NoEmergenceLocatedWarning)
                locator = self._fitted_locator()
                result = locator.transform(video)
                curves = np.array(locator.curves_[:, 0])
        out.update(curves=curves,
                   emergence_frame=float(result["emergence_frame"].values[0]),
                   located=bool(result["located"].values[0]),
                   lower_bound=int(result.attrs["lower_bound"]),
                   n_observed_frames=int(result["n_observed_frames"].values[0]))
        return out


def _one_video(item):
    """The item's video as a 1-video batch; a DataArray keeps its coordinates (``observed``)."""
    X = item.X
    if _is_dataarray(X):
        return X.isel({VIDEO_DIM: [item.index]})
    return np.asarray(item.video, dtype=np.float32)[None]
