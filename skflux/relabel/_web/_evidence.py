"""What a fitted ensemble saw in a video, for the review page (``WebOracle(evidence=...)``)."""

import numpy as np

__all__ = ["EnsembleEvidence"]


class EnsembleEvidence:
    """``evidence`` for :class:`WebOracle` from a fitted ensemble: spread and masking curves.

    Called with a :class:`~skflux.relabel.ReviewItem`, it returns every
    member's probability for the video (shown as the median and 25–75 %
    spread) and, with ``masking=True``, the frame-masking curves of
    :class:`~skflux.EmergenceTimeLocator` (each member's probability against
    the cut-off frame) with the located emergence frame (median over members
    of the frame of steepest rise) and the ensemble's threshold.

    Parameters
    ----------
    ensemble : fitted MonthBlockEnsemble
        E.g. ``MonthBlockEnsemble.load(path)``.
    masking : bool, default=True
        Compute the frame-masking curves (one video at a time, when the page
        asks for it); False: only the members' probabilities.
    lower_bound : int, default=30
        First cut-off frame of the masking (see ``EmergenceTimeLocator``);
        clipped to the video's frames.
    device : str or None, default=None
        Torch device for the members.
    """

    def __init__(self, ensemble, masking=True, lower_bound=30, device=None):
        self.ensemble = ensemble
        self.masking = masking
        self.lower_bound = lower_bound
        self.device = device
        self._locators = {}

    def _locator(self, lower_bound):
        from ...timing import EmergenceTimeLocator

        if lower_bound not in self._locators:
            self._locators[lower_bound] = EmergenceTimeLocator(
                self.ensemble, lower_bound=lower_bound, device=self.device).fit()
        return self._locators[lower_bound]

    def __call__(self, item):
        """The evidence dict of one video (see ``WebOracle``'s ``evidence``)."""
        video = np.asarray(item.video, dtype=np.float32)[None]
        threshold = getattr(self.ensemble, "threshold_", None)
        out = {} if threshold is None else {"threshold": float(threshold)}
        if not self.masking:
            out["member_proba"] = self.ensemble.predict_proba_members(video)[:, 0]
            return out
        from ...timing import emergence_frames_from_curves

        lower_bound = int(min(self.lower_bound, max(video.shape[1] - 2, 0)))
        curves = self._locator(lower_bound).emergence_curves(video)  # (members, 1, frames)
        frames = emergence_frames_from_curves(curves, lower_bound)[:, 0]
        out.update(member_proba=curves[:, 0, -1], curves=curves[:, 0],
                   emergence_frame=float(np.median(frames)))
        return out
