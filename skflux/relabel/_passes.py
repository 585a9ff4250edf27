"""Pass records: what one relabeling pass did (the numbers of the paper's Figure 3)."""

import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["RelabelPass", "pass_statistics", "stop_reason"]


# --------------------------------------------------------------------------- records
@dataclass
class RelabelPass:
    """What one relabeling pass did: the numbers behind Figure 3 of the paper.

    Every video of the validation blocks falls in exactly one of five groups,
    judged against the labels at the start of the pass and the out-of-fold
    prediction ``proba >= threshold``:

    * **A** ``n_previously_verified`` — the models disagree with a label a
      reviewer already verified in an earlier pass (not shown again; a model
      mistake, red bars);
    * **B** ``n_mislabels`` — new disagreements the reviewer found to be real
      mislabels; their labels are changed (yellow bars);
    * **C** ``n_model_mistakes`` — new disagreements where the label was right:
      the models' mistakes, the set *E* of the paper (blue bars);
    * **D** ``n_agreements`` — the models agree with the current label;
    * **U** ``n_unreviewed`` — new disagreements left for a later pass because of
      ``budget`` (always 0 with the default, which reviews them all).

    ``ratio`` is the paper's ``R = |E| / (|fp| + |fn| − |E|) = C / B`` over the
    reviewed new disagreements; ``relabel_fraction`` = B / (B + C + D) and
    ``real_fraction`` = B / (B + C) are the two bottom panels of Figure 3.

    Attributes
    ----------
    pass_index : int
        1-based pass number.
    n_videos : int
        Videos in the validation blocks (height of a bar of Figure 3).
    n_previously_verified, n_mislabels, n_model_mistakes, n_agreements, n_unreviewed : int
        A, B, C, D, U above.
    n_false_positives, n_false_negatives : int
        New disagreements (B + C + U) where the models say emergence / non-emergence.
    ratio : float
        R = C / B; ``inf`` when B = 0 < C, ``nan`` when B = C = 0.
    n_verified : int
        Videos verified so far (this and earlier passes).
    fraction_verified : float
        ``n_verified / n_videos`` (the dashed line of Figure 3).
    accuracy : float
        Out-of-fold accuracy against the labels at the start of the pass (the
        validation accuracy the models reached).
    accuracy_after : float
        Out-of-fold accuracy against the labels after this pass's verdicts.
    blocks : list of dict
        Per validation block: ``block``, ``months``, ``n``, ``A``, ``B``, ``C``,
        ``D``, ``U``, ``accuracy``, ``accuracy_after``, ``relabel_fraction``,
        ``real_fraction``.
    corr_relabel, corr_real : float
        Pearson correlation across blocks of ``relabel_fraction`` /
        ``real_fraction`` with block ``accuracy`` (``nan`` if undefined).
    reviewed, relabeled : list of int
        Positions of the videos reviewed / relabeled in this pass.
    stop_reason : str
        Why the fit stopped after this pass ("" when it went on).
    seconds : float
        Wall time of training and prediction of the pass (0 when loaded from a log).
    audit : dict or None
        The pass's audit (:meth:`AuditResult.to_dict
        <skflux.relabel.AuditResult.to_dict>`) when ``audit_size`` is set: its
        videos are not in ``reviewed``, but ``n_verified`` counts them.
    """

    pass_index: int
    n_videos: int
    n_previously_verified: int
    n_mislabels: int
    n_model_mistakes: int
    n_agreements: int
    n_unreviewed: int
    n_false_positives: int
    n_false_negatives: int
    ratio: float
    n_verified: int
    fraction_verified: float
    accuracy: float
    accuracy_after: float
    blocks: list = field(default_factory=list)
    corr_relabel: float = float("nan")
    corr_real: float = float("nan")
    reviewed: list = field(default_factory=list)
    relabeled: list = field(default_factory=list)
    stop_reason: str = ""
    seconds: float = 0.0
    audit: dict = None

    @property
    def relabel_fraction(self):
        """B / (B + C + D): share of the block (A aside) that needed a new label."""
        return _frac(self.n_mislabels,
                     self.n_mislabels + self.n_model_mistakes + self.n_agreements)

    @property
    def real_fraction(self):
        """B / (B + C): how often a new disagreement was a real mislabel."""
        return _frac(self.n_mislabels, self.n_mislabels + self.n_model_mistakes)

    def __getitem__(self, key):
        return getattr(self, key)

    def to_dict(self):
        """A JSON-serialisable dict of every field (plus the two fractions)."""
        d = asdict(self)
        d["relabel_fraction"] = self.relabel_fraction
        d["real_fraction"] = self.real_fraction
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def _frac(a, b):
    return float(a) / b if b else float("nan")


def _corr(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def pass_statistics(pass_index, oof_proba, labels, verified, reviewed, verdicts, fold_of,
                    threshold=0.5, block_months=None):
    """Count A, B, C, D, U of one pass, overall and per validation block.

    Parameters
    ----------
    pass_index : int
    oof_proba : ndarray of float, shape (n_videos,)
        Out-of-fold probabilities (NaN outside the validation blocks).
    labels : ndarray of {0, 1}
        Labels at the start of the pass.
    verified : ndarray of bool
        Verified before the pass.
    reviewed : ndarray of int
        Positions reviewed in this pass.
    verdicts : ndarray of {0, 1}
        The verdict of each reviewed video.
    fold_of : ndarray of int
        Validation block of every video, -1 outside every block.
    threshold : float
    block_months : list of list of int, optional

    Returns
    -------
    RelabelPass
        With ``n_verified`` counting ``verified`` plus ``reviewed``.
    """
    labels = np.asarray(labels, dtype=int)
    in_cv = fold_of >= 0
    pred = np.where(in_cv, np.nan_to_num(oof_proba, nan=0.0) >= threshold, labels).astype(int)
    dis = in_cv & (pred != labels)
    reviewed = np.asarray(reviewed, dtype=int)
    verdicts = np.asarray(verdicts, dtype=int)
    rev_mask = np.zeros(labels.shape[0], bool)
    rev_mask[reviewed] = True
    after = labels.copy()
    after[reviewed] = verdicts
    groups = {
        "A": dis & verified,
        "B": rev_mask & (after != labels),
        "C": rev_mask & (after == labels),
        "D": in_cv & ~dis,
        "U": dis & ~verified & ~rev_mask,
    }
    new = dis & ~verified
    n_folds = int(fold_of.max()) + 1 if in_cv.any() else 0
    blocks = []
    for k in range(n_folds):
        m = fold_of == k
        b = {g: int((mask & m).sum()) for g, mask in groups.items()}
        nk = int(m.sum())
        b.update(
            block=k, months=None if block_months is None else list(block_months[k]), n=nk,
            accuracy=_frac(int((pred[m] == labels[m]).sum()), nk),
            accuracy_after=_frac(int((pred[m] == after[m]).sum()), nk),
            relabel_fraction=_frac(b["B"], b["B"] + b["C"] + b["D"]),
            real_fraction=_frac(b["B"], b["B"] + b["C"]),
        )
        blocks.append(b)
    counts = {g: int(mask.sum()) for g, mask in groups.items()}
    n_cv = int(in_cv.sum())
    n_verified = int((verified | rev_mask).sum())
    B, C = counts["B"], counts["C"]
    ratio = C / B if B else (math.inf if C else math.nan)
    return RelabelPass(
        pass_index=int(pass_index), n_videos=n_cv,
        n_previously_verified=counts["A"], n_mislabels=B, n_model_mistakes=C,
        n_agreements=counts["D"], n_unreviewed=counts["U"],
        n_false_positives=int((new & (pred == 1)).sum()),
        n_false_negatives=int((new & (pred == 0)).sum()),
        ratio=float(ratio), n_verified=n_verified,
        fraction_verified=_frac(n_verified, n_cv),
        accuracy=_frac(int((pred[in_cv] == labels[in_cv]).sum()), n_cv),
        accuracy_after=_frac(int((pred[in_cv] == after[in_cv]).sum()), n_cv),
        blocks=blocks,
        corr_relabel=_corr([b["relabel_fraction"] for b in blocks],
                           [b["accuracy"] for b in blocks]),
        corr_real=_corr([b["real_fraction"] for b in blocks], [b["accuracy"] for b in blocks]),
        reviewed=[int(i) for i in reviewed],
        relabeled=[int(i) for i in np.flatnonzero(groups["B"])],
    )


def stop_reason(rec, stop_ratio, max_passes):
    """Why the passes stop after ``rec`` ("" when they go on).

    The paper's rule: stop once R <= ``stop_ratio``; also when a pass finds no
    new disagreement, changes no label with nothing left unreviewed, or is the
    ``max_passes``-th.
    """
    if rec.n_mislabels + rec.n_model_mistakes + rec.n_unreviewed == 0:
        return "no new disagreements"
    if rec.n_mislabels == 0 and rec.n_unreviewed == 0:
        return "no label changed (R undefined: all reviewed disagreements were model mistakes)"
    if rec.n_unreviewed == 0 and rec.ratio <= stop_ratio:
        return f"R = {rec.ratio:.3g} <= stop_ratio = {stop_ratio}"
    if rec.pass_index >= max_passes:
        return f"max_passes = {max_passes} reached"
    return ""
