"""The Starlette app of the review page: a fixed set of routes behind a token.

Routes (every one needs ``?token=...`` or the header ``X-Skflux-Token``; 403 otherwise):

``GET /``, ``/review.js``, ``/review.css``
    The page, from the package's resources, by fixed names (no request path
    reaches the file system).
``GET /api/state``
    The queue of the pass under review (or ``status: "waiting"`` between passes,
    with ``last_pass``: how the previous pass ended), and ``resume``: how to
    resume a stopped review.
``GET /api/video/{video}``
    The facts of one queued video (label, probability, date, position, evidence,
    each frame's time and each pixel's position, the summary strip: flux curves
    and key frames).
``GET /api/video/{video}/frames``
    Its frames: one uint8 block, ``n_frames * height * width`` bytes, scaled on
    the server with a symmetric asinh scale of the field (headers
    ``X-Skflux-Shape``, ``X-Skflux-Vmax``, ``X-Skflux-Softening``: see
    ``encode_frames``), fine near 0 G for the page's contrast control.
``POST /api/verdict | undo | skip | finish | stop``
    Actions (JSON, at most 4096 bytes: 413 otherwise, refused as soon as the
    limit is passed, chunked or not). Malformed, nested more than 32 levels or
    out-of-range: 400 and nothing changes; no longer
    possible (another tab was first): 409. A verdict is answered only once the
    verdict it commits is in the review log.
``POST /api/hello | bye``
    A page opened / closed (closing every page stops the review after a grace).
"""

import asyncio
import collections
import concurrent.futures
import json
import os
import secrets
import shlex
import sys
import threading
import warnings
from importlib import resources
from urllib.parse import parse_qs

import numpy as np

from ._frames import encode_frames, video_axes, video_facts
from ._session import BadRequest, evidence_json, parse_action
from ._summary import summary_strip, video_flux

__all__ = ["Hub", "build_app", "resume_hint"]

_STATIC = {  # URL path -> (resource name, media type): the only files ever served
    "/": ("index.html", "text/html; charset=utf-8"),
    "/review.js": ("review.js", "text/javascript; charset=utf-8"),
    "/review.css": ("review.css", "text/css; charset=utf-8"),
}
_MAX_BODY = 4096
#: asinh scale of the served frames: linear below vmax / 16 (see ``encode_frames``)
SOFTENING = 1 / 16
_MAX_DEPTH = 32  # actions are flat objects; deeper JSON is refused (400), never recursed into
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'self' http://localhost:* http://127.0.0.1:*")


class _TooLarge(BadRequest):
    """A body over ``_MAX_BODY`` bytes: answered 413, refused before it is read whole."""

    status = 413


def _depth(value):
    """Nesting depth of parsed JSON (iterative: never a RecursionError)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > _MAX_DEPTH:
                break
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
    return deepest


def _static_files(token):
    root = resources.files(__package__) / "static"
    files = {}
    for route, (name, media) in _STATIC.items():
        data = (root / name).read_bytes()
        if name == "index.html":  # the token is hex: safe inside the page
            data = data.replace(b"{{TOKEN}}", token.encode())
        files[route] = (data, media)
    return files


def resume_hint(argv=None):
    """How to resume a stopped review, for the page: ``{"command": str or None, "how": str}``.

    Run from the ``skflux`` command line (``skflux relabel``, ``skflux review``,
    ``skflux demo``), the command is the one that is running, which resumes from
    its review log at the first pending video; otherwise (Python), ``fit``
    again with the same ``review_log``.

    Examples
    --------
    >>> resume_hint(["/usr/bin/skflux", "review", "a b.nc", "--log", "r.db"])["command"]
    "skflux review 'a b.nc' --log r.db"
    >>> resume_hint(["script.py"])["command"] is None
    True
    """
    argv = list(sys.argv if argv is None else argv)
    program = os.path.basename(argv[0]) if argv else ""
    from_cli = program == "skflux" or (program == "__main__.py" and os.path.basename(
        os.path.dirname(argv[0])) == "skflux")
    new_address = ("It prints a new address: the port and the token change (unless fixed), "
                   "so this address will not work again.")
    if from_cli and len(argv) > 1:
        return {"command": shlex.join(["skflux", *argv[1:]]),
                "how": "Run the same command again: it resumes from the review log at the "
                       "first pending video (skflux review DATA.nc --log REVIEW.db does too). "
                       + new_address}
    return {"command": None,
            "how": "Call fit again with the same review_log (or run skflux review DATA.nc "
                   "--log REVIEW.db): it resumes at the first pending video. " + new_address}


class Hub:
    """What the app reads and where it sends actions; owned by one :class:`WebOracle`.

    Attributes
    ----------
    session : ReviewSession or None
        The pass under review (set by the oracle's ``review``).
    last_pass : dict or None
        The state of the last pass whose review ended (its ``status`` says how:
        ``finished``, ``stopped``, or ``reviewing`` when it ended otherwise).
    resume : dict
        How to resume (see :func:`resume_hint`).
    clients : Clients
    """

    def __init__(self, *, token, clients, vmax, evidence, reviewer, cache_size=8):
        self.token = token
        self.clients = clients
        self.vmax = vmax
        self.evidence = evidence
        self.reviewer = reviewer
        self._session = None
        self.last_pass = None
        self.resume = resume_hint()
        self._cache = collections.OrderedDict()
        self._cache_size = cache_size
        self._making = {}  # key -> Future of a value being made
        self._lock = threading.Lock()

    @property
    def session(self):
        return self._session

    @session.setter
    def session(self, value):
        old = self._session
        if value is None and old is not None:  # a pass's review ended: the page says how
            self.last_pass = old.snapshot()
        self._session = value

    def _cached(self, key, make):
        """``make()``, once per key: a request that finds it under way waits for it."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            future = self._making.get(key)
            mine = future is None
            if mine:
                future = self._making[key] = concurrent.futures.Future()
        if not mine:  # e.g. the page asked for a video's facts and frames at once
            return future.result()
        try:
            value = make()
        except BaseException as exc:
            with self._lock:
                del self._making[key]
            future.set_exception(exc)
            raise
        with self._lock:
            self._cache[key] = value
            del self._making[key]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        future.set_result(value)
        return value

    def frames(self, session, video):
        """``(data, vmax, shape)``: the uint8 block of the video's frames."""
        item = session.items[video]

        def make():
            return encode_frames(np.asarray(item.video, dtype=np.float32), self.vmax,
                                 softening=SOFTENING)

        return self._cached(("frames", session.pass_index, video), make)

    def meta(self, session, video):
        item = session.items[video]

        def make():
            facts = video_facts(item.X, item.index)
            # its own read of the video: made while another thread encodes the frames
            v = np.asarray(item.video, dtype=np.float32)
            # frames with missing (NaN) pixels: off the disk, unless masked already
            nan_frames = np.flatnonzero(~np.isfinite(v).reshape(len(v), -1).all(axis=1))
            flux = video_flux(v, item.X, item.index)
            facts.update(video_axes(item.X, item.index, v.shape))
            del v
            facts["off_disk"] = sorted(set(facts["off_disk"]) | set(nan_frames.tolist()))
            try:
                evidence = {} if self.evidence is None else evidence_json(
                    self.evidence(item), item)
            except Exception as exc:  # the page still shows the video; the terminal says why
                message = (f"evidence for video {item.index} ({item.video_id}) failed: "
                           f"{type(exc).__name__}: {exc}")
                warnings.warn(message, RuntimeWarning, stacklevel=1)
                evidence = {"error": message}
            located = evidence.get("emergence_frame")
            if evidence.get("located") is False:
                located = None
            summary = summary_strip(located=located, flux=flux)
            return {
                "video": item.index, "video_id": item.video_id, "label": item.label,
                "model_label": item.model_label, "proba": item.proba,
                "pass": item.pass_index, "n_frames": item.n_frames, **facts,
                "block_months": None if item.block_months is None else list(item.block_months),
                "evidence": evidence, "summary": summary,
            }

        return self._cached(("meta", session.pass_index, video), make)


def _authorised(scope, token):
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    given = query.get("token", [""])[0]
    if not given:
        for name, value in scope.get("headers", ()):
            if name == b"x-skflux-token":
                given = value.decode("latin-1")
    return secrets.compare_digest(given.encode("utf-8", "replace"), token.encode())


def build_app(hub):
    """The Starlette application serving ``hub``'s review."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    files = _static_files(hub.token)

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status, headers=_HEADERS)

    async def static(request):
        data, media = files[request.url.path]
        headers = dict(_HEADERS, **{"Content-Security-Policy": _CSP})
        return Response(data, media_type=media, headers=headers)

    async def state(request):
        client = request.query_params.get("client", "")
        if 0 < len(client) <= 64:  # the page polls: it is open
            hub.clients.hello(client)
        session = hub.session
        if session is None:
            return JSONResponse({"status": "waiting", "reviewer": hub.reviewer,
                                 "last_pass": hub.last_pass, "resume": hub.resume},
                                headers=_HEADERS)
        return JSONResponse(dict(session.snapshot(), reviewer=hub.reviewer,
                                 resume=hub.resume), headers=_HEADERS)

    def queued(request):
        session = hub.session
        video = request.path_params["video"]
        if session is None or video not in session.items:
            return session, None, error(404, f"video {video} is not in the queue under review")
        return session, video, None

    async def video_meta(request):
        session, video, err = queued(request)
        if err is not None:
            return err
        return JSONResponse(await run_in_threadpool(hub.meta, session, video), headers=_HEADERS)

    async def video_frames(request):
        session, video, err = queued(request)
        if err is not None:
            return err
        data, vmax, shape = await run_in_threadpool(hub.frames, session, video)
        headers = dict(_HEADERS, **{"X-Skflux-Shape": ",".join(map(str, shape)),
                                    "X-Skflux-Vmax": repr(vmax),
                                    "X-Skflux-Softening": repr(SOFTENING)})
        return Response(data, media_type="application/octet-stream", headers=headers)

    async def read_json(request):
        # read as it streams in (chunked bodies have no Content-Length): refuse at the
        # first byte over the limit, never buffer more
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > _MAX_BODY):
            raise _TooLarge(f"the body must be at most {_MAX_BODY} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                raise _TooLarge(f"the body must be at most {_MAX_BODY} bytes")
        try:
            value = json.loads(body.decode("utf-8")) if body else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"the body is not JSON ({exc})") from None
        except RecursionError:
            value = None
        if value is None or _depth(value) > _MAX_DEPTH:
            raise BadRequest(f"the body's JSON is nested more than {_MAX_DEPTH} levels deep")
        return value

    async def client_event(request):
        try:
            body = await read_json(request)
            client = body.get("client") if isinstance(body, dict) else None
            if not isinstance(client, str) or not 0 < len(client) <= 64:
                raise BadRequest("give the page's 'client' id (a text of 1-64 characters)")
        except BadRequest as exc:
            return error(getattr(exc, "status", 400), str(exc))
        if request.url.path == "/api/hello":
            hub.clients.hello(client)
        else:
            hub.clients.bye(client)
        return JSONResponse({"ok": True}, headers=_HEADERS)

    async def act(request):
        kind = request.url.path.rsplit("/", 1)[-1]
        session = hub.session
        if session is None:
            return error(409, "no pass is under review now (the models may be training)")
        try:
            action = parse_action(kind, await read_json(request), session)
        except BadRequest as exc:
            return error(getattr(exc, "status", 400), str(exc))
        if not session.submit(action):
            return error(409, "this pass's review has ended")
        try:
            status, body = await asyncio.wait_for(asyncio.wrap_future(action.reply), 30)
        except TimeoutError:
            return error(503, "the review did not answer within 30 s; see the terminal that "
                              "runs skflux")
        return JSONResponse(body, status_code=status, headers=_HEADERS)

    routes = [Route(path, static) for path in _STATIC]
    routes += [
        Route("/api/state", state),
        Route("/api/video/{video:int}", video_meta),
        Route("/api/video/{video:int}/frames", video_frames),
    ]
    routes += [Route(f"/api/{event}", client_event, methods=["POST"])
               for event in ("hello", "bye")]
    for kind in ("verdict", "undo", "skip", "finish", "stop"):
        routes.append(Route(f"/api/{kind}", act, methods=["POST"]))

    app = Starlette(routes=routes)

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and not _authorised(scope, hub.token):
            response = PlainTextResponse(
                "403 Forbidden: open the address printed by skflux, with its ?token=...",
                status_code=403, headers=_HEADERS)
            await response(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded
