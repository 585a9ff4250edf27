"""Review handling of one pass: which videos to show, and the oracle's answers.

Labels here are codes: 1 for the positive class (emergence), 0 for the other.
"""

import math
import numbers

import numpy as np

from ._oracles import Retraction, ReviewRequest, Verdict

__all__ = ["ask_oracle", "confidence_scores", "review_queue"]


def confidence_scores(oof, labels, in_cv):
    """How likely each video's current label is wrong (higher: review first).

    Confident learning's per-class thresholds (Northcutt, Jiang & Chuang 2021,
    JAIR 70, 1373): ``t_k`` is the mean out-of-fold probability of class ``k``
    over the validation-block videos currently labelled ``k``; the score of a
    video labelled ``k`` is ``t_k - P(k)``, i.e. how far its self-confidence
    falls below what is typical for its label. A model trained on labels
    whose errors are one-sided (most crude mistakes are false "emergence")
    is less sure of the noisy class, and the per-class threshold corrects for
    that; within a class the order is that of the self-confidence.
    """
    self_conf = np.where(labels == 1, oof, 1.0 - oof)
    typical = np.zeros(2)
    for k in (0, 1):
        sel = in_cv & (labels == k) & np.isfinite(oof)
        typical[k] = self_conf[sel].mean() if sel.any() else 0.5
    return typical[labels] - self_conf


def review_queue(oof, labels, verified, fold_of, *, threshold, priority=None, budget=None):
    """Positions of the new disagreements to review, in review order.

    A disagreement is a video of a validation block whose out-of-fold
    prediction (``oof >= threshold``) differs from its current label; it is
    new when no earlier pass verified it. ``priority`` orders them (None: video
    order; ``"confidence"``: :func:`confidence_scores`; a callable
    ``priority(proba, labels) -> scores``, higher first) and ``budget`` (an int,
    or a fraction of them) caps their number.
    """
    in_cv = fold_of >= 0
    pred = np.nan_to_num(oof, nan=0.0) >= threshold
    new = np.flatnonzero(in_cv & (pred.astype(int) != labels) & ~verified)
    if priority is not None and new.size:
        if priority == "confidence":
            score = confidence_scores(oof, labels, in_cv)[new]
        else:
            score = np.asarray(priority(oof[new], labels[new]), dtype=float)
            if score.shape != new.shape:
                raise ValueError(f"priority returned {score.shape} scores for {new.size} videos")
        new = new[np.argsort(-score, kind="stable")]
    if budget is not None:
        limit = budget if isinstance(budget, numbers.Integral) else math.ceil(budget * new.size)
        new = new[:limit]
    return new


def ask_oracle(oracle, request, done, log, *, progress=False):
    """Ask ``oracle`` about the videos of ``request``; log each answer the moment it comes.

    A :class:`Retraction` withdraws a verdict of this pass (logged as a
    retraction row; the video is pending again). When this function stops
    early (the log refuses a verdict, a bad answer), the oracle's generator is
    closed at once, so an oracle waiting on its ``yield`` (e.g. a page waiting
    for its verdict to be committed) learns it straight away.

    Parameters
    ----------
    oracle : object with ``review(request)``
    request : ReviewRequest
        The videos of the pass without a verdict yet.
    done : dict
        ``{position: (label, frame)}`` of the pass's verdicts already logged.
    log : ReviewLog or None
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``done`` plus the new verdicts.

    Raises
    ------
    ValueError
        When the oracle skips, repeats or invents videos, gives a bad label, or
        retracts a verdict it did not give in this pass.
    """
    got = dict(done)
    if len(request) == 0:
        return got
    ids, p = request.video_ids, request.pass_index
    position = {int(i): k for k, i in enumerate(request.indices)}
    answers = oracle.review(request)
    if answers is None:
        raise TypeError(f"{type(oracle).__name__}.review returned None; it must return or "
                        "yield verdicts")
    k_plain = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(request), desc=f"pass {p}: review")
    try:
        for answer in answers:
            if isinstance(answer, Retraction):
                i = int(answer.index)
                if i not in got or i not in position:
                    raise ValueError(f"oracle retracted the verdict on video {i}, which has "
                                     f"no verdict given in this review of pass {p}")
                if log is not None:
                    log.retract(video=i, pass_index=p, note=answer.note,
                                reviewer=answer.reviewer)
                del got[i]
                if bar is not None:
                    bar.update(-1)
                continue
            if not isinstance(answer, Verdict):
                if k_plain >= len(request):
                    raise ValueError(
                        f"oracle gave more verdicts than the {len(request)} videos asked")
                answer = Verdict(int(request.indices[k_plain]), answer)
                k_plain += 1
            i = int(answer.index)
            if i not in position:
                raise ValueError(f"oracle gave a verdict for video {i}, which was not asked "
                                 f"for in pass {p}")
            k = position[i]
            if i in got:
                raise ValueError(f"oracle gave two verdicts for video {i} ({ids[k]})")
            label = request.encode(answer.label, f"oracle verdict for video {i} ({ids[k]})")
            frame = None if answer.emergence_frame is None else int(answer.emergence_frame)
            if log is not None:
                log.append(video=i, video_id=ids[k], pass_index=p,
                           previous_label=int(request.labels[k]), proba=float(request.proba[k]),
                           verdict=label, emergence_frame=frame, note=answer.note,
                           reviewer=answer.reviewer, seconds=answer.seconds)
            got[i] = (label, frame)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        close = getattr(answers, "close", None)
        if close is not None:  # a generator: ends it now (runs its finally blocks)
            close()
    missing = [int(i) for i in request.indices if int(i) not in got]
    if missing:
        k = position[missing[0]]
        raise ValueError(
            f"oracle gave no verdict for {len(missing)} of {len(request)} videos, e.g. video "
            f"{missing[0]} ({ids[k]}); raise ReviewPending from the oracle to pause the "
            "review instead")
    return got


def make_request(queue, done, labels, oof, ids, bmr_ids, pass_index, X, target, blocks=None):
    """The :class:`ReviewRequest` of the queued videos that have no verdict yet.

    ``blocks`` is ``(fold_of, block_months)``: each video's month block and the
    months of every block, so that a reviewer sees which block a video is in.
    """
    todo = np.array([i for i in queue if int(i) not in done], dtype=int)
    block_months = None
    if blocks is not None and blocks[1] is not None:
        fold_of, months = blocks
        block_months = [months[fold_of[i]] if fold_of[i] >= 0 else None for i in todo]
    return ReviewRequest(
        todo, labels[todo], oof[todo], [ids[i] for i in todo],
        None if bmr_ids is None else [bmr_ids[i] for i in todo], pass_index, X,
        classes=None if target is None else target.classes,
        pos_label=None if target is None else target.pos_label, block_months=block_months)
