"""The state of one pass under review in the browser, and the checks on what a page sends.

The web server's threads only *read* this state (under its lock) and *queue*
actions; the oracle's ``review`` generator, running in the thread that called
``fit``, applies the actions one at a time, in arrival order. So the rule for
two tabs (or two people) on one review is simple and deterministic: the first
verdict for a video wins; any later verdict or skip for a video that is no
longer pending, and any undo of a verdict that is not the last one given (in
any tab), is answered ``409 Conflict`` and changes nothing.
"""

import concurrent.futures
import math
import numbers
import queue
import secrets
import statistics
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Action", "BadRequest", "ReviewSession", "parse_action"]

_MAX_NOTE = 500
_KINDS = {
    "verdict": {"video", "label", "emergence_frame", "seconds", "note", "client"},
    "undo": {"video", "client"},
    "skip": {"video", "client"},
    "finish": {"client"},
    "stop": {"client"},
}


class BadRequest(ValueError):
    """A malformed or out-of-range action: answered HTTP 400, nothing changes."""


@dataclass
class Action:
    """One thing a page asks for, waiting for the review generator to apply it."""

    kind: str
    video: int | None = None
    label: int | None = None
    emergence_frame: int | None = None
    seconds: float | None = None
    note: str = ""
    reply: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


def _int(value, name):
    # JSON true/false are bools, which are ints in Python: refuse them
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BadRequest(f"{name} must be an integer; got {value!r}")
    return int(value)


def parse_action(kind, body, session):
    """Check a page's action against the pass's request; an :class:`Action` or BadRequest.

    Parameters
    ----------
    kind : str
        ``verdict``, ``undo``, ``skip``, ``finish`` or ``stop``.
    body : object
        The decoded JSON body.
    session : ReviewSession
        The pass under review (its request says which videos and frames exist).
    """
    if kind not in _KINDS:
        raise BadRequest(f"unknown action {kind!r}")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    extra = set(body) - _KINDS[kind]
    if extra:
        raise BadRequest(f"unknown fields {sorted(extra)} for {kind} (allowed: "
                         f"{sorted(_KINDS[kind])})")
    action = Action(kind)
    if "video" in _KINDS[kind]:
        if "video" not in body:
            raise BadRequest(f"{kind} needs the field 'video'")
        video = _int(body["video"], "video")
        if video not in session.items:
            raise BadRequest(f"video {video} is not in the queue of pass {session.pass_index}")
        action.video = video
    if kind != "verdict":
        return action
    if "label" not in body:
        raise BadRequest("a verdict needs the field 'label' (1 emergence, 0 non-emergence)")
    label = _int(body["label"], "label")
    if label not in (0, 1):
        raise BadRequest(f"label must be 1 (emergence) or 0 (non-emergence); got {label}")
    frame = body.get("emergence_frame")
    if frame is not None:
        frame = _int(frame, "emergence_frame")
        try:
            session.items[action.video].check_frame(label, frame, f"video {action.video}")
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    seconds = body.get("seconds")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
            raise BadRequest(f"seconds must be a number; got {seconds!r}")
        seconds = float(seconds)
        if not math.isfinite(seconds) or not 0 <= seconds <= 1e6:
            raise BadRequest(f"seconds must lie in [0, 1e6]; got {seconds}")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > _MAX_NOTE:
        raise BadRequest(f"note must be a text of at most {_MAX_NOTE} characters")
    action.label, action.emergence_frame, action.seconds, action.note = (
        label, frame, seconds, note)
    return action


class ReviewSession:
    """One pass's queue: pending, skipped and committed videos, and the undo stack.

    Parameters
    ----------
    request : ReviewRequest
    seconds : list of float
        Seconds per verdict given so far through this oracle (shared across
        passes; appended to), for the estimated time left.
    """

    def __init__(self, request, seconds):
        self.request = request
        self.pass_index = request.pass_index
        self.items = {item.index: item for item in request}
        self.position = {int(i): k for k, i in enumerate(request.indices)}
        self.order = [int(i) for i in request.indices]  # review order of the pending videos
        self.skipped = set()
        self.committed = {}  # video -> Verdict, in the review log
        self.history = []  # videos committed in this review, in order (undo pops the last)
        self.seconds = seconds
        self.lock = threading.Lock()
        self.actions = queue.Queue()
        self.status = "reviewing"
        self.version = 0
        self.closed = False
        self.id = secrets.token_hex(4)

    def submit(self, action):
        """Queue an action for the review generator; False once the review has ended."""
        with self.lock:
            if self.closed:
                return False
            self.actions.put(action)
            return True

    def close(self, status, body):
        """End the review: answer every action still queued with ``(status, body)``."""
        with self.lock:
            self.closed = True
        while True:
            try:
                action = self.actions.get_nowait()
            except queue.Empty:
                return
            if not action.reply.done():
                action.reply.set_result((status, body))

    # -- read by the server threads --------------------------------------------
    def pending(self):
        """Videos without a verdict, in review order."""
        return [i for i in self.order if i not in self.committed]

    def last(self):
        """The video whose verdict an undo would retract (the last one given), or None."""
        return self.history[-1] if self.history else None

    def snapshot(self):
        """The state the page shows (JSON-able)."""
        with self.lock:
            pending = self.pending()
            n = len(self.items)
            done = n - len(pending)
            median = statistics.median(self.seconds) if self.seconds else None
            return {
                "status": self.status,
                "session": self.id,
                "pass": self.pass_index,
                "n_total": n,
                "n_done": done,
                "n_committed": len(self.committed),
                "current": pending[0] if pending else None,
                "next": pending[1] if len(pending) > 1 else None,
                "undoable": self.last(),
                "skipped": sorted(self.skipped & set(pending)),
                "median_seconds": median,
                "eta_seconds": None if median is None else median * len(pending),
                "version": self.version,
            }

    # -- applied by the review generator only -----------------------------------
    def is_pending(self, video):
        return video in self.items and video not in self.committed

    def commit(self, verdict):
        """The review log stored ``verdict``: the video leaves the queue."""
        with self.lock:
            self.committed[verdict.index] = verdict
            self.history.append(verdict.index)
            self.skipped.discard(verdict.index)
            if verdict.seconds is not None:
                self.seconds.append(verdict.seconds)
            self.version += 1

    def retract(self, video):
        """The review log stored the undo of ``video``'s verdict: it is the current one again."""
        with self.lock:
            verdict = self.committed.pop(video)
            self.history.remove(video)
            self.order.remove(video)
            self.order.insert(0, video)
            if verdict.seconds is not None and verdict.seconds in self.seconds:
                k = len(self.seconds) - 1 - self.seconds[::-1].index(verdict.seconds)
                del self.seconds[k]
            self.version += 1
            return video

    def skip(self, video):
        """Move a pending video to the end of the queue (it stays pending)."""
        with self.lock:
            self.order.remove(video)
            self.order.append(video)
            self.skipped.add(video)
            self.version += 1

    def set_status(self, status):
        with self.lock:
            self.status = status
            self.version += 1

    def n_pending(self):
        with self.lock:
            return len(self.pending())


class Clients:
    """Which pages are open (said hello and not yet goodbye), for "closing the page"."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open = set()
        self.ever = False
        self.last_close = None

    def hello(self, client):
        with self._lock:
            self._open.add(client)
            self.ever = True

    def bye(self, client):
        with self._lock:
            self._open.discard(client)
            if not self._open:
                self.last_close = time.monotonic()

    def all_closed_for(self):
        """Seconds since the last open page closed (None while one is open or none came)."""
        with self._lock:
            if self._open or not self.ever or self.last_close is None:
                return None
            return time.monotonic() - self.last_close


def _json_floats(values):
    """Floats rounded to 4 digits, NaN as None (JSON null)."""
    return [None if math.isnan(x) else round(float(x), 4) for x in values]


def evidence_json(raw, item):
    """Check and convert what an ``evidence`` callable returned for one video.

    Keys (all optional): ``member_proba`` (each member's probability),
    ``curves`` (``(n_members, n_frames)``: each member's probability against the
    cut-off frame of the frame masking), ``emergence_frame`` (the located frame),
    ``threshold``, ``located`` (False: the locator found no emergence, the
    page says so), ``lower_bound`` and ``n_observed_frames`` (the locator's).
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TypeError(f"evidence for video {item.index} ({item.video_id}) must be a dict; "
                        f"got {type(raw).__name__}")
    unknown = set(raw) - {"member_proba", "curves", "emergence_frame", "threshold", "located",
                          "lower_bound", "n_observed_frames"}
    if unknown:
        raise ValueError(f"evidence for video {item.index} ({item.video_id}) has unknown keys "
                         f"{sorted(unknown)}")
    out = {}
    if raw.get("member_proba") is not None:
        p = np.asarray(raw["member_proba"], dtype=float).ravel()
        p = p[np.isfinite(p)]
        if p.size:
            q25, q50, q75 = np.percentile(p, [25, 50, 75])
            out.update(proba_median=float(q50), proba_q25=float(q25), proba_q75=float(q75),
                       n_members=int(p.size))
    if raw.get("curves") is not None:
        c = np.asarray(raw["curves"], dtype=float)
        if c.ndim == 1:
            c = c[None]
        n = item.n_frames
        if c.ndim != 2 or (n is not None and c.shape[1] != n):
            raise ValueError(f"evidence curves for video {item.index} ({item.video_id}) must "
                             f"have shape (n_members, {n}); got {c.shape}")
        c = np.where(np.isfinite(c), c, np.nan)
        with warnings.catch_warnings():  # a frame without any finite value: no median
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(c, axis=0)
        out["curves"] = [_json_floats(row) for row in c]
        out["curve_median"] = _json_floats(median)
    if raw.get("emergence_frame") is not None:
        f = float(raw["emergence_frame"])
        out["emergence_frame"] = int(round(f)) if math.isfinite(f) else None
    if raw.get("threshold") is not None:
        out["threshold"] = float(raw["threshold"])
    if raw.get("located") is not None:
        out["located"] = bool(raw["located"])
        if not out["located"]:
            out["emergence_frame"] = None
    for key in ("lower_bound", "n_observed_frames"):
        if raw.get(key) is not None:
            out[key] = int(raw[key])
    return out
