"""Training losses for noisy binary labels.

Crude labels (e.g. the BARD catalogue rule) are wrong for a sizeable, non-random
share of the videos. Binary cross-entropy then teaches a network the *noisy* label
rate: where a third of the non-emergence videos are labelled emergence, its
probability for that kind of video settles near 1/3, and any spread around that
value pushes mislabelled videos over the decision threshold, where the
relabeling passes of :class:`skflux.IterativeRelabeler` cannot see them.

:class:`GeneralizedCrossEntropyLoss` (Zhang & Sabuncu 2018, "Generalized
cross entropy loss for training deep neural networks with noisy labels",
NeurIPS) bends the loss from cross-entropy (``q -> 0``) towards the mean
absolute error (``q = 1``), which is robust to label noise: it fits the label
most videos of a kind carry, not their mix. It is a drop-in ``criterion`` for
:class:`skflux.FluxEmergenceClassifier`::

    FluxEmergenceClassifier(criterion=GeneralizedCrossEntropyLoss, criterion__q=0.3)
"""

import torch

__all__ = ["GeneralizedCrossEntropyLoss"]


class GeneralizedCrossEntropyLoss(torch.nn.Module):
    r"""Generalized cross-entropy on logits, for binary labels that may be wrong.

    For a logit :math:`z` and a label :math:`y \in \{0, 1\}`, with
    :math:`p_y = \sigma((2y - 1) z)` the probability the network gives the
    label,

    .. math:: L_q = \frac{1 - p_y^{\,q}}{q}, \qquad 0 < q \le 1,

    which tends to binary cross-entropy :math:`-\log p_y` as :math:`q \to 0`
    and is :math:`1 - p_y` (the mean absolute error) at :math:`q = 1`.
    Computed from :math:`\log p_y` (``logsigmoid``), so large logits neither
    overflow nor lose the gradient.

    Parameters
    ----------
    q : float, default=0.3
        Robustness, in (0, 1]. Small ``q`` trains like cross-entropy; large
        ``q`` ignores noisy labels better but learns more slowly (the paper
        proposing the loss uses 0.7 on image benchmarks). On the skflux
        simulator's crude labels, first relabeling passes with q from 0.2 to
        0.5 caught about as many mislabels as each other
        (``benchmarks/bench_relabel_first_pass.py``).
    reduction : {"mean", "sum", "none"}, default="mean"

    References
    ----------
    Z. Zhang and M. R. Sabuncu, "Generalized cross entropy loss for training deep
    neural networks with noisy labels", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from skflux.nn import GeneralizedCrossEntropyLoss
    >>> loss = GeneralizedCrossEntropyLoss(q=1.0)
    >>> float(loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0])))  # 1 - 0.5
    0.5
    """

    def __init__(self, q=0.3, reduction="mean"):
        super().__init__()
        if not 0 < float(q) <= 1:
            raise ValueError(f"q must be in (0, 1]; got {q!r}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
        self.q = float(q)
        self.reduction = reduction

    def forward(self, logits, target):
        """Loss of logits of shape ``(batch,)`` against labels 0/1 of the same length."""
        logits = logits.reshape(-1)
        target = target.reshape(-1).to(logits.dtype)
        if logits.shape != target.shape:
            raise ValueError(
                f"{logits.numel()} logits for {target.numel()} labels: give one logit per video"
            )
        log_p = torch.nn.functional.logsigmoid((2 * target - 1) * logits)
        loss = -torch.expm1(self.q * log_p) / self.q
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss

    def extra_repr(self):
        return f"q={self.q}"
