"""WebOracle: review the pending videos of a pass in a browser."""

import copy
import getpass
import numbers
import queue
import secrets
import sys
import webbrowser

from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from .._oracles import Oracle, Retraction, ReviewPending, Verdict
from ._session import Clients, ReviewSession

__all__ = ["WebOracle"]


def _default_reviewer():
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in this environment
        return ""


def _show_in_notebook(url):
    """Display the page in an IFrame when running in a Jupyter kernel; True if shown."""
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None else None
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    from IPython.display import IFrame, display  # pragma: no cover - needs a kernel

    display(IFrame(url, width="100%", height=720))  # pragma: no cover
    return True  # pragma: no cover


class WebOracle(Oracle):
    """A person reviewing in the browser: keyboard verdicts on a playing video.

    ``review(request)`` serves the pass's pending videos on a local web page
    and yields each verdict as the reviewer gives it, so the relabeler's
    review log stores it at once. The page shows the video on a canvas
    (play/pause, step, scrub, speed; unobserved frames marked on the scrub
    bar), the current label, the model's probability, the video's date,
    position and month, the queue's progress with the estimated time left
    and, when ``evidence`` gives them, the ensemble's spread and the
    frame-masking curves with the located emergence frame.

    Keys: ``E`` emergence, ``N`` non-emergence, ``S`` skip (the video stays
    pending, at the end of the queue), ``U``/Backspace undo the last verdict
    (again: the one before, and so on, within this pass),
    ←/→ one frame, Space play/pause, ``J`` jump to the located emergence
    frame, ``L`` play from it, ``[``/``]`` more/less contrast, ``1``–``9``
    key frames of the summary strip (flux curves and key frames beside the
    video), ``M`` mark the current frame as the emergence frame (stored with an
    emergence verdict), Enter finish the pass, ``Q`` stop for now (the page
    says how to resume), ``?`` help.

    Parameters
    ----------
    host : str, default="127.0.0.1"
        Address to listen on. Only the local machine can reach the default.
    port : int, default=0
        Port; 0 picks a free one.
    open_browser : bool, default=True
        Open the page in the default browser when the server starts (in a
        Jupyter notebook: show it in the notebook, in an IFrame).
    token : str or None, default=None
        The secret every request must carry (``?token=``); None draws a random
        one. Hex digits only.
    reviewer_name : str or None, default=None
        Stored with every verdict (``Verdict.reviewer``, the review log's
        ``reviewer`` column); None: the operating system's user name.
    undo : bool, default=True
        Whether the reviewer can undo verdicts. Every verdict is committed
        (yielded, so the review log stores it) the moment it is given either
        way; an undo yields a :class:`~skflux.relabel.Retraction`, which the
        log stores as a row retracting that verdict (nothing is deleted), and
        the video is shown again. With undo the pass ends when the reviewer
        says so (Enter) once every video has a verdict; without, at the last
        verdict.
    vmax : float or None, default=None
        Field (Gauss) shown as full white, ``-vmax`` full black. None: the
        99.5th percentile of ``|B|`` of each video.
    evidence : callable or None, default=None
        ``evidence(item) -> dict`` for a :class:`~skflux.relabel.ReviewItem`,
        with any of ``member_proba`` (each ensemble member's probability),
        ``curves`` (``(n_members, n_frames)``: each member's probability
        against the cut-off frame of the frame masking), ``emergence_frame``
        (the located frame), ``threshold``. Shown beside the video.
    close_grace : float, default=5.0
        Seconds the review waits after the last open page was closed (a reload
        reopens it within that time) before it stops with ``ReviewPending``.
    print_func : callable, default=print
        Where the page's address is printed (the first line that starts with
        ``http://``).

    Attributes
    ----------
    url_ : str
        The page's address with its token (after the server started).
    port_ : int
        The port listened on.
    token_ : str
        The token in use.
    n_reviewed_ : int
        Verdicts committed through this oracle, less those undone.

    Notes
    -----
    *Durability.* A verdict (or an undo) is answered to the page only after
    the relabeler took it back, i.e. after the review log stored it; the page
    shows the next video only then. Killing the process loses nothing the page
    was told is done; ``fit`` with the same review log resumes at the first
    pending video. Each verdict carries the seconds the reviewer spent on it
    (``Verdict.seconds``, the log's ``seconds`` column).

    *Two tabs.* Every tab shows the same queue; the first verdict for a video
    wins, and a later verdict or skip for a video that is no longer pending,
    or an undo of any verdict but the last one given, gets HTTP 409 and
    changes nothing (the tab then shows the queue as it is). Only verdicts
    given in this review (since ``fit`` started or resumed) can be undone.

    *Security.* Every request needs the token; only the page's three files
    (by fixed names, from the package) and the queued videos are served; a
    malformed or out-of-range action gets HTTP 400 and changes nothing.

    Examples
    --------
    >>> from skflux.relabel import WebOracle
    >>> oracle = WebOracle(open_browser=False)
    >>> oracle.undo, oracle.host
    (True, '127.0.0.1')
    """

    _parameter_constraints = {
        "host": [str],
        "port": [Interval(numbers.Integral, 0, 65535, closed="both")],
        "open_browser": ["boolean"],
        "token": [str, None],
        "reviewer_name": [str, None],
        "undo": ["boolean"],
        "vmax": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "evidence": [callable, None],
        "close_grace": [Interval(numbers.Real, 0, None, closed="left")],
        "print_func": [callable],
    }

    def __init__(self, host="127.0.0.1", port=0, open_browser=True, token=None,
                 reviewer_name=None, undo=True, vmax=None, evidence=None, close_grace=5.0,
                 print_func=print):
        self.host = host
        self.port = port
        self.open_browser = open_browser
        self.token = token
        self.reviewer_name = reviewer_name
        self.undo = undo
        self.vmax = vmax
        self.evidence = evidence
        self.close_grace = close_grace
        self.print_func = print_func
        self._server = None
        self._hub = None
        self._stop = False

    # a copy (sklearn.clone deep-copies parameters) gets the settings, not the server
    def __deepcopy__(self, memo):
        params = {k: v for k, v in self.__dict__.items() if not k.startswith("_")
                  and not k.endswith("_")}
        return type(self)(**{k: copy.deepcopy(v, memo) if k not in ("evidence", "print_func")
                             else v for k, v in params.items()})

    # a pickle keeps the settings (and what was counted), never the server
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._server, self._hub, self._stop = None, None, False

    def __repr__(self):
        where = f", serving {self.url_}" if self._server is not None else ""
        return f"WebOracle(host={self.host!r}, port={self.port!r}{where})"

    # ------------------------------------------------------------------ server
    def start(self):
        """Start the server (once; it serves every later pass too) and print the address.

        Returns
        -------
        url : str
        """
        if self._server is not None:
            return self.url_
        from ._app import Hub, build_app
        from ._server import ServerThread

        validate_parameter_constraints(
            self._parameter_constraints,
            {k: getattr(self, k) for k in self._parameter_constraints}, type(self).__name__)
        token = self.token if self.token is not None else secrets.token_hex(16)
        if not token or any(c not in "0123456789abcdefABCDEF" for c in token):
            raise ValueError(f"WebOracle token must be hex digits; got {token!r}")
        reviewer = self.reviewer_name if self.reviewer_name is not None else \
            _default_reviewer()
        self._seconds = []
        self._clients = Clients()
        self._hub = Hub(token=token, clients=self._clients, vmax=self.vmax,
                        evidence=self.evidence, reviewer=reviewer)
        server = ServerThread(build_app(self._hub), self.host, self.port)
        server.start()
        self._server = server
        self.token_ = token
        self.port_ = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url_ = f"http://{host}:{server.port}/?token={token}"
        self.n_reviewed_ = getattr(self, "n_reviewed_", 0)
        self.print_func("skflux review: open this page to review (Ctrl-C stops):")
        self.print_func(self.url_)
        if self.open_browser:
            if not _show_in_notebook(self.url_):
                try:
                    webbrowser.open(self.url_)
                except Exception:  # pragma: no cover - no browser: the address was printed
                    pass
        return self.url_

    def close(self):
        """Stop the server (a later ``review`` starts a new one, on a new token)."""
        self._stop = True
        if self._server is not None:
            self._server.stop()
            self._server = None

    def stop(self):
        """Make the running ``review`` end with ReviewPending (thread-safe)."""
        self._stop = True

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _repr_html_(self):  # pragma: no cover - for notebooks
        if self._server is None:
            return f"<code>{self!r}</code>"
        return (f'<iframe src="{self.url_}" width="100%" height="720" '
                'style="border:0"></iframe>')

    # ------------------------------------------------------------------ review
    def review(self, request):
        """Serve ``request``'s videos; yield each verdict once the page gives it.

        Raises
        ------
        ReviewPending
            When the reviewer stops (``Q``), closes every page for longer than
            ``close_grace`` seconds, :meth:`stop` or :meth:`close` is called, or
            Ctrl-C is pressed, with videos still pending.
        """
        if len(request) == 0:
            return
        self.start()
        if self._hub.session is not None:
            raise RuntimeError(
                f"this WebOracle is already serving pass {self._hub.session.pass_index}; "
                "one review at a time (use another WebOracle for another review)")
        self._stop = False
        session = ReviewSession(request, self._seconds)
        self._hub.session = session
        reason = None
        action = None
        try:
            while True:
                try:
                    action = session.actions.get(timeout=0.1)
                except queue.Empty:
                    reason = self._why_stop()
                    if reason is not None:
                        break
                    continue
                if action.kind == "verdict":
                    if not session.is_pending(action.video):
                        action.reply.set_result((409, self._conflict(
                            session, f"video {action.video} already has a verdict")))
                        continue
                    verdict = Verdict(action.video, action.label, action.emergence_frame,
                                      action.note, reviewer=self._hub.reviewer or None,
                                      seconds=action.seconds)
                    yield verdict  # in the review log when the relabeler resumes us
                    session.commit(verdict)
                    self.n_reviewed_ += 1
                    action.reply.set_result((200, self._ok(session, committed=[verdict.index])))
                    if not self.undo and session.n_pending() == 0:
                        session.set_status("finished")
                        return
                elif action.kind == "undo":
                    last = session.last()
                    if not self.undo or last is None or last != action.video:
                        why = ("undo is off for this review" if not self.undo else
                               f"video {action.video} has no verdict" if
                               action.video not in session.committed else
                               f"only the last verdict given (video {last}) can be undone")
                        action.reply.set_result((409, self._conflict(session, why)))
                        continue
                    yield Retraction(action.video, reviewer=self._hub.reviewer or None)
                    session.retract(action.video)
                    self.n_reviewed_ -= 1
                    action.reply.set_result((200, self._ok(session, retracted=[action.video])))
                elif action.kind == "skip":
                    if not session.is_pending(action.video):
                        action.reply.set_result((409, self._conflict(
                            session, f"video {action.video} already has a verdict")))
                        continue
                    session.skip(action.video)
                    action.reply.set_result((200, self._ok(session)))
                elif action.kind in ("finish", "stop"):
                    if session.n_pending() == 0:
                        session.set_status("finished")
                        action.reply.set_result((200, self._ok(session)))
                        return
                    session.set_status("stopped")
                    action.reply.set_result((200, self._ok(session)))
                    reason = "the reviewer stopped"
                    break
        except KeyboardInterrupt:
            reason = "interrupted (Ctrl-C)"
        finally:
            self._hub.session = None
            ended = {"error": "the review of this pass has ended", "state": session.snapshot()}
            if action is not None and not action.reply.done():  # e.g. the log refused it
                action.reply.set_result((500, dict(ended, error="the review ended while "
                                                   "this action was applied; see the "
                                                   "terminal that runs skflux")))
            session.close(409, ended)
        n = session.n_pending()
        if n == 0:
            return
        raise ReviewPending(
            f"review of pass {request.pass_index} stopped ({reason}) with {n} of "
            f"{len(request)} videos pending; call fit again with the same review_log to "
            "resume", n_pending=n)

    def _why_stop(self):
        if self._stop:
            return "stopped"
        closed_for = self._clients.all_closed_for()
        if closed_for is not None and closed_for >= self.close_grace:
            return "every review page was closed"
        return None

    @staticmethod
    def _ok(session, committed=(), retracted=()):
        return {"ok": True, "committed": list(committed), "retracted": list(retracted),
                "state": session.snapshot()}

    @staticmethod
    def _conflict(session, message):
        return {"error": message, "state": session.snapshot()}
