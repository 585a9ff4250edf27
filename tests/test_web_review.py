"""The browser review app (WebOracle): HTTP rules, and a real headless Chromium.

The HTTP tests (token, malformed verdicts, two tabs) need no browser. The
browser tests drive Debian's ``chromium`` through ``chromedriver`` with
selenium (``tools/setup_env.sh`` installs both when missing and run as root);
without them they are skipped, saying so.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux.relabel import (
    IterativeRelabeler,
    Retraction,
    ReviewLog,
    ReviewPending,
    ReviewRequest,
    Verdict,
    WebOracle,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromedriver are not installed (tools/setup_env.sh installs them as "
           "root: apt-get install -y chromium chromium-driver)")

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: Longest wait for an event (a hang, not a slow machine: a loaded 2-core box must
#: not fail these tests).
WAIT = 600


def http(oracle, path, *, method="GET", body=None, token="default", raw=None):
    """(status, bytes) of one request to ``oracle``'s server."""
    base = f"http://127.0.0.1:{oracle.port_}"
    token = oracle.token_ if token == "default" else token
    sep = "&" if "?" in path else "?"
    url = base + path + ("" if token is None else f"{sep}token={token}")
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(req, timeout=WAIT) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Reviewing:
    """Run ``oracle.review(request)`` in a thread, collecting what it yields."""

    def __init__(self, oracle, request):
        self.oracle, self.request = oracle, request
        self.verdicts, self.error, self.done = [], None, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while getattr(oracle._hub, "session", None) is None:
            assert time.monotonic() < deadline, "the review did not start"
            time.sleep(0.01)

    def _run(self):
        try:
            for v in self.oracle.review(self.request):
                self.verdicts.append(v)
        except BaseException as exc:  # handed to the test
            self.error = exc
        finally:
            self.done.set()

    def join(self, timeout=WAIT):
        assert self.done.wait(timeout), "the review did not end"
        return self.verdicts


def effective(yielded):
    """``(index, label, emergence_frame)`` of the yielded verdicts no retraction withdrew."""
    out = []
    for v in yielded:
        if isinstance(v, Retraction):
            assert out and out[-1][0] == v.index, "only the last verdict can be retracted"
            out.pop()
        else:
            out.append((v.index, v.label, v.emergence_frame))
    return out


def make_request(videos, indices, labels=None, pass_index=1):
    labels = [0] * len(indices) if labels is None else labels
    proba = [0.8 if lab == 0 else 0.2 for lab in labels]
    ids = [str(videos["bmr_id"].values[i]) for i in indices]
    return ReviewRequest(indices, labels, proba, ids, None, pass_index, videos)


@pytest.fixture
def oracle():
    o = WebOracle(open_browser=False, reviewer_name="tester", close_grace=0.5,
                  print_func=lambda *a: None)
    yield o
    o.close()


# ---------------------------------------------------------------------- HTTP only
def test_every_request_needs_the_token_and_paths_never_reach_files(oracle, tiny_videos):
    rev = Reviewing(oracle, make_request(tiny_videos, [1, 2]))
    for path in ("/", "/review.js", "/review.css", "/api/state", "/api/video/1",
                 "/api/video/1/frames"):
        assert http(oracle, path, token=None)[0] == 403, path
        assert http(oracle, path, token="0" * 32)[0] == 403, path
        assert http(oracle, path)[0] == 200, path
    assert http(oracle, "/api/verdict", method="POST", token=None,
                body={"video": 1, "label": 1})[0] == 403
    status, page = http(oracle, "/")
    assert oracle.token_.encode() in page and b"review.js" in page
    for path in ("/../setup.cfg", "/static/index.html", "/index.html", "/%2e%2e/setup.cfg",
                 "/api/video/3", "/api/video/1/../../setup.cfg", "/review.js/../../x"):
        assert http(oracle, path)[0] == 404, path
    frames = http(oracle, "/api/video/2/frames")[1]
    assert len(frames) == 8 * 16 * 16  # one uint8 block: frames x lat x lon
    assert rev.verdicts == []
    oracle.stop()
    rev.join()
    assert isinstance(rev.error, ReviewPending) and rev.error.n_pending == 2


def test_a_malformed_or_out_of_range_verdict_gets_400_and_yields_nothing(oracle, tiny_videos):
    rev = Reviewing(oracle, make_request(tiny_videos, [4, 6]))
    bad = [
        {"video": 4, "label": 2}, {"video": 4, "label": "1"}, {"video": 4, "label": True},
        {"video": 4}, {"label": 1}, {"video": 5, "label": 1}, {"video": "4", "label": 1},
        {"video": 4, "label": 1, "emergence_frame": 8},
        {"video": 4, "label": 1, "emergence_frame": -1},
        {"video": 4, "label": 0, "emergence_frame": 3},
        {"video": 4, "label": 1, "seconds": -1}, {"video": 4, "label": 1, "seconds": "x"},
        {"video": 4, "label": 1, "extra": 1}, [4, 1], {"video": 4, "label": 1, "note": 5},
    ]
    for body in bad:
        status, text = http(oracle, "/api/verdict", method="POST", body=body)
        assert status == 400, (body, text)
        assert b"error" in text
    for raw in (b"{not json", b"\xff\xfe"):
        assert http(oracle, "/api/verdict", method="POST", raw=raw)[0] == 400
    assert http(oracle, "/api/verdict", method="POST", raw=b"x" * 5000)[0] == 413  # too large
    assert http(oracle, "/api/nonsense", method="POST", body={})[0] in (404, 405)
    state = json.loads(http(oracle, "/api/state")[1])
    assert state["n_done"] == 0 and state["current"] == 4 and rev.verdicts == []
    with pytest.raises(RuntimeError, match="already serving pass 1"):
        next(iter(oracle.review(make_request(tiny_videos, [7]))))
    # the review goes on: a valid verdict is taken
    ok = json.loads(http(oracle, "/api/verdict", method="POST",
                         body={"video": 4, "label": 1, "emergence_frame": 7})[1])
    assert ok["committed"] == [4] and len(rev.verdicts) == 1  # yielded before the answer
    assert ok["state"]["undoable"] == 4 and ok["state"]["current"] == 6
    oracle.stop()
    rev.join()
    assert [(v.index, v.label, v.emergence_frame) for v in rev.verdicts] == [(4, 1, 7)]
    assert isinstance(rev.error, ReviewPending) and rev.error.n_pending == 1


def test_two_tabs_first_verdict_wins_and_undo_is_only_for_the_last_one(oracle, tiny_videos):
    rev = Reviewing(oracle, make_request(tiny_videos, [10, 11, 12]))

    def post(kind, body):
        status, text = http(oracle, f"/api/{kind}", method="POST", body=body)
        return status, json.loads(text)

    assert post("verdict", {"video": 10, "label": 1, "seconds": 2.5})[0] == 200  # tab A
    assert [(v.index, v.label) for v in rev.verdicts] == [(10, 1)]  # committed at once
    status, answer = post("verdict", {"video": 10, "label": 0})  # tab B, same video
    assert status == 409 and answer["state"]["undoable"] == 10
    assert post("skip", {"video": 10})[0] == 409
    assert post("verdict", {"video": 11, "label": 0})[0] == 200
    status, answer = post("undo", {"video": 10})
    assert status == 409 and "only the last verdict" in answer["error"]
    status, answer = post("undo", {"video": 11})
    assert status == 200 and answer["retracted"] == [11]
    assert answer["state"]["current"] == 11 and answer["state"]["undoable"] == 10
    assert isinstance(rev.verdicts[-1], Retraction) and rev.verdicts[-1].index == 11
    assert post("undo", {"video": 11})[0] == 409  # no verdict left to undo on 11
    assert post("verdict", {"video": 11, "label": 1})[0] == 200
    assert post("verdict", {"video": 12, "label": 0})[0] == 200
    assert post("finish", {})[0] == 200
    rev.join()
    assert rev.error is None
    assert effective(rev.verdicts) == [(10, 1, None), (11, 1, None), (12, 0, None)]
    assert all(v.reviewer == "tester" for v in rev.verdicts)
    assert rev.verdicts[0].seconds == 2.5 and rev.verdicts[1].seconds is None


@pytest.fixture(scope="module")
def shared_oracles():
    oracles = {undo: WebOracle(open_browser=False, undo=undo, print_func=lambda *a: None)
               for undo in (False, True)}
    yield oracles
    for o in oracles.values():
        o.close()


def _expected(ops, undo, n):
    """What the review must do with ``ops``: (statuses, what it yields, n_pending at the end)."""
    order, history, done, statuses, yielded = list(range(n)), [], set(), [], []
    for kind, video, label in ops:
        if len(done) == n and not undo:
            break  # the review returned after the last verdict
        if kind == "verdict":
            ok = video not in done
            if ok:
                done.add(video)
                history.append(video)
                yielded.append(("verdict", video, label))
        elif kind == "undo":
            ok = undo and bool(history) and history[-1] == video
            if ok:
                history.pop()
                done.discard(video)
                order.remove(video)
                order.insert(0, video)
                yielded.append(("undo", video, None))
        else:
            ok = video not in done
            if ok:
                order.remove(video)
                order.append(video)
        statuses.append(200 if ok else 409)
    return statuses, yielded, n - len(done)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["verdict", "undo", "skip"]),
                              st.integers(0, 3), st.integers(0, 1)), max_size=20),
       undo=st.booleans())
def test_any_sequence_of_actions_gives_each_video_at_most_one_effective_verdict(shared_oracles,
                                                                      tiny_videos, ops, undo):
    from skflux.relabel._web._session import parse_action

    oracle = shared_oracles[undo]
    request = make_request(tiny_videos, [0, 1, 2, 3])
    rev = Reviewing(oracle, request)
    session = oracle._hub.session
    statuses = []
    for kind, k, label in ops:
        body = {"video": int(request.indices[k])}
        if kind == "verdict":
            body["label"] = label
        action = parse_action(kind, body, session)
        if not session.submit(action):
            break
        statuses.append(action.reply.result(timeout=WAIT)[0])
        if not undo and session.n_pending() == 0:
            break  # every video has its verdict: the review returns
    if not rev.done.is_set():
        stop = parse_action("stop", {}, session)
        if session.submit(stop):
            stop.reply.result(timeout=WAIT)
    rev.join()
    want_status, want_yielded, n_pending = _expected(
        [(kind, int(request.indices[k]), label) for kind, k, label in ops], undo, 4)
    assert statuses == want_status
    assert [("undo", v.index, None) if isinstance(v, Retraction) else ("verdict", v.index,
                                                                       v.label)
            for v in rev.verdicts] == want_yielded
    if n_pending:
        assert isinstance(rev.error, ReviewPending) and rev.error.n_pending == n_pending
    else:
        assert rev.error is None


def test_without_undo_every_verdict_is_yielded_at_once(tiny_videos):
    with WebOracle(open_browser=False, undo=False, print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [0, 1]))
        status, text = http(oracle, "/api/verdict", method="POST",
                            body={"video": 1, "label": 1, "seconds": 2.5})
        assert status == 200 and json.loads(text)["committed"] == [1]
        assert [v.index for v in rev.verdicts] == [1]
        status, text = http(oracle, "/api/undo", method="POST", body={"video": 1})
        assert status == 409 and "undo is off" in json.loads(text)["error"]
        http(oracle, "/api/verdict", method="POST", body={"video": 0, "label": 0})
        rev.join()
    assert rev.error is None and [v.index for v in rev.verdicts] == [1, 0]
    assert rev.verdicts[0].seconds == 2.5 and rev.verdicts[0].note == ""


def test_the_address_is_printed_with_its_token_and_copies_do_not_share_the_server():
    import copy
    import pickle

    lines = []
    oracle = WebOracle(open_browser=False, token="abc123", print_func=lines.append)
    try:
        url = oracle.start()
        first = next(line for line in lines if line.startswith("http://"))
        assert first == url == f"http://127.0.0.1:{oracle.port_}/?token=abc123"
        twin = copy.deepcopy(oracle)
        assert twin.token == "abc123" and not hasattr(twin, "url_")
        pickled = pickle.loads(pickle.dumps(oracle))
        assert pickled.token == "abc123" and pickled._server is None
        assert "serving" in repr(oracle) and "serving" not in repr(pickled)
    finally:
        oracle.close()
    with pytest.raises(ValueError, match="hex"):
        WebOracle(open_browser=False, token="no/pe", print_func=lines.append).start()
    for bad in ({"port": 70000}, {"close_grace": -1}, {"vmax": 0}, {"evidence": 3}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            WebOracle(open_browser=False, print_func=lines.append, **bad).start()


def test_connections_send_at_once_without_nagle_delay(oracle):
    """Every answer leaves at once: TCP_NODELAY on the server's connections.

    Without it, keep-alive answers (what a browser uses) wait ~40 ms for the
    client's delayed ACK: the verdict round trip would miss its 50 ms target.
    """
    import http.client
    import socket

    oracle.start()
    conn = http.client.HTTPConnection("127.0.0.1", oracle.port_, timeout=WAIT)
    try:
        for _ in range(2):  # the same connection twice (keep-alive)
            conn.request("GET", f"/api/state?token={oracle.token_}")
            assert conn.getresponse().read()
        server = oracle._server.server
        socks = [c.transport.get_extra_info("socket")
                 for c in server.server_state.connections]
        assert socks
        for sock in socks:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        conn.close()


def test_frames_are_scaled_symmetrically_in_gauss():
    from skflux.relabel._web._frames import encode_frames, video_facts

    video = np.array([[[-300.0, 0.0], [150.0, np.nan]], [[600.0, -600.0], [1.0, -1.0]]])
    data, vmax, shape = encode_frames(video, vmax=300.0)
    u = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    assert shape == (2, 2, 2) and vmax == 300.0
    assert u[0, 0, 0] == 0 and u[0, 0, 1] == 128 and u[0, 1, 1] == 128  # NaN: grey
    assert u[1, 0, 0] == 255 and u[1, 0, 1] == 0  # clipped at +-vmax
    assert u[0, 1, 0] == 191  # 150 G: 127.5 * 1.5
    auto = encode_frames(video)[1]
    assert 0 < auto <= 600
    assert video_facts(np.zeros((2, 3, 4, 4)), 0)["date"] is None


def test_frames_with_missing_pixels_and_unobserved_frames_are_flagged(oracle, tiny_videos):
    videos = tiny_videos.copy(deep=True)
    videos[2, 5, 0, :3] = np.nan  # off the disk at one corner in frame 5
    observed = videos["observed"].values.copy()
    observed[2] = True
    observed[2, [1, 6]] = False
    videos = videos.assign_coords(observed=(("video", "frame"), observed))
    Reviewing(oracle, make_request(videos, [2]))
    meta = json.loads(http(oracle, "/api/video/2")[1])
    assert meta["off_disk"] == [5] and meta["unobserved"] == [1, 6]
    frames = np.frombuffer(http(oracle, "/api/video/2/frames")[1], dtype=np.uint8)
    assert np.all(frames.reshape(8, 16, 16)[5, 0, :3] == 128)
    oracle.stop()


@given(values=st.lists(st.floats(-5000, 5000, width=32), min_size=1, max_size=50),
       vmax=st.floats(1, 1000), softening=st.sampled_from([None, 1 / 16, 0.3, 1.0]))
def test_frame_scaling_is_monotone_and_symmetric_about_zero(values, vmax, softening):
    from skflux.relabel._web._frames import encode_frames

    x = np.array(values, dtype=np.float32)
    u = np.frombuffer(encode_frames(x[None, None], vmax, softening=softening)[0],
                      dtype=np.uint8).astype(int)
    mirrored = np.frombuffer(encode_frames(-x[None, None], vmax, softening=softening)[0],
                             dtype=np.uint8)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(u[order]) >= 0)
    assert np.all(np.abs(u + mirrored.astype(int) - 255) <= 1)
    assert np.all(u[x >= vmax] == 255) and np.all(u[x <= -vmax] == 0)


@settings(deadline=None)
@given(values=st.lists(st.floats(-2000, 2000, width=32), min_size=1, max_size=50),
       vmax=st.floats(1, 1000), softening=st.sampled_from([None, 1 / 16, 0.3, 1.0]))
def test_decoded_levels_give_back_the_field_within_half_a_level(values, vmax, softening):
    from skflux.relabel._web._frames import decode_levels, encode_frames

    x = np.array(values, dtype=np.float32)
    u = np.frombuffer(encode_frames(x[None, None], vmax, softening=softening)[0],
                      dtype=np.uint8).astype(int)
    levels = decode_levels(vmax, softening)
    assert np.all(np.diff(levels) > 0) and np.allclose(levels, -levels[::-1])
    step = levels[np.minimum(u + 1, 255)] - levels[np.maximum(u - 1, 0)]  # two levels
    err = np.abs(levels[u] - np.clip(x.astype(float), -vmax, vmax))
    assert np.all(err <= step / 2 * (1 + 1e-4) + 1e-4 * vmax)


def test_the_served_frames_are_finer_than_linear_for_weak_fields():
    from skflux.relabel._web._app import SOFTENING
    from skflux.relabel._web._frames import decode_levels, encode_frames

    vmax = 1000.0
    weak = np.linspace(-vmax / 20, vmax / 20, 2001)[None, None]  # the page's top contrast
    errors = {}
    for softening in (None, SOFTENING):
        u = np.frombuffer(encode_frames(weak, vmax, softening=softening)[0], dtype=np.uint8)
        errors[softening] = np.abs(decode_levels(vmax, softening)[u] - weak.ravel()).max()
        assert len(np.unique(u)) > (12 if softening is None else 50)  # 13 vs 54
    assert errors[SOFTENING] < errors[None] / 3


def test_the_page_never_sees_ground_truth(oracle, tiny_videos):
    Reviewing(oracle, make_request(tiny_videos, [2]))
    meta = json.loads(http(oracle, "/api/video/2")[1])
    assert "true_label" not in json.dumps(meta) and "mislabel" not in json.dumps(meta)
    assert meta["month"] == int(tiny_videos["month"].values[2])
    assert meta["lat"] == pytest.approx(float(tiny_videos["lat0"].values[2]))
    assert "emergence_frame" not in meta["evidence"]
    oracle.stop()


def test_the_page_shows_the_month_block_the_relabeler_gives(oracle, tiny_videos):
    from skflux.relabel._review import make_request as relabeler_request

    # videos 2 and 3 in blocks 1 and 0; the request carries each one's block months
    fold_of = np.full(tiny_videos.sizes["video"], -1)
    fold_of[[2, 3]] = [1, 0]
    ids = [str(v) for v in tiny_videos["bmr_id"].values]
    labels, oof = np.zeros(len(ids), int), np.full(len(ids), 0.9)
    request = relabeler_request([2, 3], {}, labels, oof, ids, None, 1, tiny_videos, None,
                                blocks=(fold_of, [(1, 2), (3, 4)]))
    assert [item.block_months for item in request] == [(3, 4), (1, 2)]
    Reviewing(oracle, request)
    assert json.loads(http(oracle, "/api/video/2")[1])["block_months"] == [3, 4]
    assert json.loads(http(oracle, "/api/video/3")[1])["block_months"] == [1, 2]
    oracle.stop()


def test_evidence_is_checked_and_made_json_safe(tiny_videos):
    from skflux.relabel._web._session import evidence_json

    item = make_request(tiny_videos, [1])[0]
    curves = np.tile(np.linspace(0, 1, 8), (3, 1))
    curves[:, 2] = np.nan
    page = evidence_json({"curves": curves, "member_proba": [0.2, np.nan, 0.6],
                          "emergence_frame": 4.4}, item)
    assert page["curve_median"][2] is None and page["curves"][0][2] is None
    assert page["curve_median"][7] == 1.0 and page["emergence_frame"] == 4
    assert page["n_members"] == 2 and page["proba_median"] == pytest.approx(0.4)
    json.dumps(page, allow_nan=False)
    with pytest.raises(ValueError, match=r"video 1 .*shape \(n_members, 8\)"):
        evidence_json({"curves": np.zeros((2, 5))}, item)
    with pytest.raises(ValueError, match="unknown keys"):
        evidence_json({"truth": 1}, item)
    with pytest.raises(TypeError, match="dict"):
        evidence_json([1], item)


def test_ensemble_evidence_gives_the_spread_and_the_masking_curves(tiny_fitted_ensemble,
                                                                   tiny_videos):
    from skflux import EmergenceTimeLocator
    from skflux.relabel._web import EnsembleEvidence
    from skflux.relabel._web._session import evidence_json

    request = make_request(tiny_videos, [9, 10])
    evidence = EnsembleEvidence(tiny_fitted_ensemble, lower_bound=2)
    raw = evidence(request[1])
    n_members = len(tiny_fitted_ensemble.estimators_)
    assert raw["curves"].shape == (n_members, 8)
    expected = EmergenceTimeLocator(tiny_fitted_ensemble, lower_bound=2).fit() \
        .emergence_curves(tiny_videos.isel(video=[10]))[:, 0]
    np.testing.assert_allclose(raw["curves"], expected, atol=1e-6)
    np.testing.assert_allclose(raw["member_proba"], tiny_fitted_ensemble
                               .predict_proba_members(tiny_videos.isel(video=[10]))[:, 0],
                               atol=1e-5)
    page = evidence_json(raw, request[1])
    assert page["proba_q25"] <= page["proba_median"] <= page["proba_q75"]
    assert len(page["curve_median"]) == 8 and page["lower_bound"] == 2
    if page["located"]:  # the locator's frame, after the lower bound
        assert 2 < page["emergence_frame"] <= 7
    else:  # the largest change at the lower bound: no frame shown (issue 27)
        assert page["emergence_frame"] is None
    only_proba = EnsembleEvidence(tiny_fitted_ensemble, masking=False)(request[0])
    assert set(only_proba) == {"member_proba", "threshold"}


def test_failing_evidence_still_shows_the_video(tiny_videos):
    def broken(item):
        raise RuntimeError("no model here")

    with WebOracle(open_browser=False, evidence=broken, print_func=lambda *a: None) as oracle:
        Reviewing(oracle, make_request(tiny_videos, [2]))
        with pytest.warns(RuntimeWarning, match="video 2"):
            status, text = http(oracle, "/api/video/2")
        assert status == 200 and "no model here" in json.loads(text)["evidence"]["error"]
        oracle.stop()


# ---------------------------------------------------------------------- summary strip, axes
@settings(max_examples=60, deadline=None)
@given(field=st.lists(st.floats(-3000, 3000, width=32), min_size=12, max_size=12),
       k=st.floats(0.1, 10), pixel_deg=st.floats(0.05, 2), lat0=st.floats(-60, 60))
def test_flux_curves_are_linear_in_the_field_and_odd_in_polarity(field, k, pixel_deg, lat0):
    from skflux.relabel._web._summary import flux_curves

    video = np.array(field, dtype=np.float64).reshape(3, 2, 2)
    lats = lat0 + np.array([-pixel_deg / 2, pixel_deg / 2])
    unsigned, signed = flux_curves(video, pixel_deg=pixel_deg, latitudes=lats)
    assert np.all(unsigned >= np.abs(signed) * (1 - 1e-12))
    u2, s2 = flux_curves(k * video, pixel_deg=pixel_deg, latitudes=lats)
    tol = 1e-6 * k * unsigned.max() + 1e-3  # the field is summed in float32
    np.testing.assert_allclose(u2, k * unsigned, rtol=1e-6, atol=tol)
    np.testing.assert_allclose(s2, k * signed, rtol=1e-6, atol=tol)
    u3, s3 = flux_curves(-video, pixel_deg=pixel_deg, latitudes=lats)
    np.testing.assert_array_equal(u3, unsigned)  # exact: the same numbers, signs flipped
    np.testing.assert_array_equal(s3, -signed)


def test_flux_curves_in_maxwell_from_the_pixel_area():
    from skflux.relabel._web._summary import flux_curves

    video = np.full((2, 3, 4), 100.0)  # 100 G everywhere
    video[1, 0, 0] = np.nan  # left out of the sums
    video[1, 2, :] = -100.0
    pixel_cm = 0.5 * (6.957e10 * np.pi / 180)  # 0.5 degree of the Sun's radius, in cm
    unsigned, signed = flux_curves(video, pixel_deg=0.5)
    np.testing.assert_allclose(unsigned, [12 * 100 * pixel_cm**2, 11 * 100 * pixel_cm**2],
                               rtol=1e-9)
    np.testing.assert_allclose(signed, [12 * 100 * pixel_cm**2, 3 * 100 * pixel_cm**2],
                               rtol=1e-9)
    at60, _ = flux_curves(video[:1], pixel_deg=0.5, latitudes=[60.0, 60.0, 60.0])
    np.testing.assert_allclose(at60, unsigned[:1] / 2, rtol=1e-9)  # cos 60 deg
    empty = np.full((1, 2, 2), np.nan)
    assert np.isnan(flux_curves(empty, pixel_deg=1.0)[0]).all()
    with pytest.raises(ValueError, match="3 dimensions"):
        flux_curves(np.zeros((2, 2)), pixel_deg=1.0)
    with pytest.raises(ValueError, match="pixel_deg"):
        flux_curves(video, pixel_deg=0.0)
    with pytest.raises(ValueError, match="one value per pixel row"):
        flux_curves(video, pixel_deg=1.0, latitudes=[0.0, 1.0])


@settings(max_examples=80, deadline=None)
@given(flux=st.lists(st.one_of(st.floats(0, 1e22), st.just(float("nan"))), min_size=1,
                     max_size=40),
       n_key=st.integers(1, 9), located=st.one_of(st.none(), st.integers(0, 39)))
def test_key_frames_are_valid_sorted_and_keep_the_ends_and_the_located_frame(flux, n_key,
                                                                           located):
    from skflux.relabel._web._summary import key_frames

    u = np.array(flux)
    located = None if located is None or located >= u.size else located
    frames = key_frames(u, n_key=n_key, located=located)
    valid = np.flatnonzero(np.isfinite(u))
    assert frames == sorted(set(frames))
    if valid.size == 0:
        assert frames == []
        return
    assert set(frames) - {located} <= set(valid.tolist())
    assert valid[0] in frames and valid[-1] in frames
    if located is not None:
        assert located in frames
    assert min(n_key, valid.size) <= len(frames) <= max(n_key, 4)


def test_video_axes_give_each_frame_time_and_pixel_position(tiny_videos):
    from skflux.relabel._web._frames import video_axes

    axes = video_axes(tiny_videos, 5, (8, 16, 16))
    t0 = tiny_videos["time"].values[5].astype("datetime64[m]")
    cadence = int(tiny_videos.attrs["cadence_minutes"])
    assert axes["frame_times"] == [
        str(t0 + np.timedelta64(k * cadence, "m")).replace("T", " ") for k in range(8)]
    np.testing.assert_allclose(axes["lat_axis"], float(tiny_videos["lat0"][5])
                               + tiny_videos["lat"].values, atol=1e-4)
    np.testing.assert_allclose(axes["lon_axis"], float(tiny_videos["lon0"][5])
                               + tiny_videos["lon"].values, atol=1e-4)
    assert axes["axis_kind"] == "carrington"
    no_centre = tiny_videos.drop_vars(["lat0", "lon0"])
    offsets = video_axes(no_centre, 5, (8, 16, 16))
    assert offsets["axis_kind"] == "offset"
    np.testing.assert_allclose(offsets["lat_axis"], tiny_videos["lat"].values, atol=1e-4)
    plain = video_axes(np.zeros((1, 3, 2, 4)), 0, (3, 2, 4))
    assert plain["axis_kind"] == "pixel" and plain["lon_axis"] == [0.0, 1.0, 2.0, 3.0]
    assert plain["frame_times"] is None
    bad = tiny_videos.copy()
    bad.attrs["cadence_minutes"] = "fast"
    with pytest.raises(ValueError, match="cadence_minutes.*'fast'"):
        video_axes(bad, 0, (8, 16, 16))


def test_the_page_gets_the_summary_strip_and_axes_of_each_video(tiny_videos):
    from skflux.relabel._web._summary import flux_curves

    def evidence(item):
        return {"curves": np.tile(np.linspace(0, 1, 8), (2, 1)), "emergence_frame": 3}

    with WebOracle(open_browser=False, evidence=evidence, print_func=lambda *a: None) as oracle:
        Reviewing(oracle, make_request(tiny_videos, [6]))
        meta = json.loads(http(oracle, "/api/video/6")[1])
        summary = meta["summary"]
        lat = float(tiny_videos["lat0"][6]) + tiny_videos["lat"].values
        unsigned, signed = flux_curves(tiny_videos[6].values, pixel_deg=15 / 16, latitudes=lat)
        np.testing.assert_allclose(summary["unsigned_flux"], unsigned, rtol=1e-4)
        np.testing.assert_allclose(summary["signed_flux"], signed, rtol=1e-4, atol=1e14)
        assert 3 in summary["key_frames"] and {0, 7} <= set(summary["key_frames"])
        assert len(meta["frame_times"]) == 8 and len(meta["lat_axis"]) == 16
        json.dumps(meta, allow_nan=False)
        oracle.stop()


def test_what_several_requests_ask_for_at_once_is_made_once():
    from skflux.relabel._web._app import Hub
    from skflux.relabel._web._session import Clients

    hub = Hub(token="ab", clients=Clients(), vmax=None, evidence=None, reviewer="")
    calls, go = [], threading.Event()

    def make():
        calls.append(1)
        assert go.wait(WAIT)
        return object()

    results = [None] * 4

    def ask(k):
        results[k] = hub._cached("key", make)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while not calls:
        time.sleep(0.01)
    time.sleep(0.1)  # the others now wait for the first (or find its value)
    go.set()
    for t in threads:
        t.join(WAIT)
    assert len(calls) == 1 and all(r is results[0] for r in results)

    def broken():
        calls.append(1)
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        hub._cached("other", broken)
    with pytest.raises(OSError, match="disk"):  # not cached: tried again
        hub._cached("other", broken)
    assert len(calls) == 3


def test_resume_hint_names_the_running_command():
    from skflux.relabel._web._app import resume_hint

    cli = resume_hint(["/venv/bin/skflux", "relabel", "my videos.nc", "--oracle", "web",
                       "--log", "r.db"])
    assert cli["command"] == "skflux relabel 'my videos.nc' --oracle web --log r.db"
    assert "same command again" in cli["how"] and "token change" in cli["how"]
    module = resume_hint(["/x/skflux/__main__.py", "review", "a.nc", "--log", "r.db"])
    assert module["command"] == "skflux review a.nc --log r.db"
    python = resume_hint(["notebook.py"])
    assert python["command"] is None and "fit again with the same review_log" in python["how"]


def test_the_state_says_how_the_last_pass_ended_and_how_to_resume(tiny_videos):
    with WebOracle(open_browser=False, print_func=lambda *a: None) as oracle:
        state = json.loads(http(oracle, "/api/state")[1])
        assert state["status"] == "waiting" and state["last_pass"] is None
        rev = Reviewing(oracle, make_request(tiny_videos, [1, 2], pass_index=3))
        assert "fit again" in json.loads(http(oracle, "/api/state")[1])["resume"]["how"]
        http(oracle, "/api/verdict", method="POST", body={"video": 1, "label": 1})
        http(oracle, "/api/verdict", method="POST", body={"video": 2, "label": 0})
        assert http(oracle, "/api/finish", method="POST", body={})[0] == 200
        rev.join()
        state = json.loads(http(oracle, "/api/state")[1])
        assert state["status"] == "waiting"
        assert state["last_pass"]["status"] == "finished" and state["last_pass"]["pass"] == 3
        assert state["last_pass"]["n_committed"] == 2 and state["last_pass"]["n_total"] == 2
        rev = Reviewing(oracle, make_request(tiny_videos, [4, 5], pass_index=4))
        http(oracle, "/api/verdict", method="POST", body={"video": 4, "label": 1})
        assert http(oracle, "/api/stop", method="POST", body={})[0] == 200
        rev.join()
        assert isinstance(rev.error, ReviewPending)
        last = json.loads(http(oracle, "/api/state")[1])["last_pass"]
        assert last["status"] == "stopped" and last["n_committed"] == 1 and last["pass"] == 4


# ---------------------------------------------------------------------- the relabeler's side
def test_ask_oracle_logs_retractions_and_reviewer_columns(tmp_path, tiny_videos):
    from skflux.relabel._review import ask_oracle

    request = make_request(tiny_videos, [3, 4])
    log = ReviewLog(tmp_path / "r.db").open("fp", {})

    def answers(_):
        yield Verdict(3, 1, reviewer="ana", seconds=1.5)
        yield Retraction(3, reviewer="ana")
        yield Verdict(3, 0, reviewer="ana", seconds=0.5)
        yield Verdict(4, 1)

    got = ask_oracle(type("O", (), {"review": staticmethod(answers)})(), request, {}, log)
    assert got == {3: (0, None), 4: (1, None)}
    assert [(r["video"], r["verdict"], r["reviewer"], r["seconds"], r["retracts"])
            for r in log.history()] == [(3, 1, "ana", 1.5, None), (3, None, "ana", None, 1),
                                         (3, 0, "ana", 0.5, None), (4, 1, None, None, None)]

    def bad(_):
        yield Retraction(4)  # 4 has no verdict in this review

    with pytest.raises(ValueError, match="retracted the verdict on video 4"):
        ask_oracle(type("O", (), {"review": staticmethod(bad)})(), request, {}, None)

    def open_ended(_):
        yield Verdict(3, 1)
        yield Retraction(3)

    with pytest.raises(ValueError, match="no verdict for 2 of 2"):  # retracted: pending again
        ask_oracle(type("O", (), {"review": staticmethod(open_ended)})(), request, {}, None)
    log.close()


def test_when_the_log_refuses_a_verdict_the_oracle_generator_is_closed_at_once(tiny_videos):
    from skflux.relabel._review import ask_oracle

    events = []

    class Refusing:
        def append(self, **kw):
            raise OSError("disk full")

    def answers(_):
        try:
            yield Verdict(3, 1)
            events.append("resumed")
        finally:
            events.append("closed")

    with pytest.raises(OSError, match="disk full"):
        ask_oracle(type("O", (), {"review": staticmethod(answers)})(),
                   make_request(tiny_videos, [3]), {}, Refusing())
    assert events == ["closed"]


def test_a_page_waiting_for_a_refused_verdict_gets_its_error_at_once(tmp_path, oracle,
                                                                    tiny_videos):
    from skflux.relabel._review import ask_oracle

    class Refusing:
        def append(self, **kw):
            raise OSError("disk full")

    request = make_request(tiny_videos, [3, 4])
    out = {}

    def run():
        try:
            ask_oracle(oracle, request, {}, Refusing())
        except OSError as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while getattr(oracle._hub, "session", None) is None:
        assert time.monotonic() < deadline, "the review did not start"
        time.sleep(0.01)
    status, text = http(oracle, "/api/verdict", method="POST", body={"video": 3, "label": 1})
    thread.join(WAIT)
    assert status == 500 and "terminal" in json.loads(text)["error"]
    assert isinstance(out.get("error"), OSError)


# ---------------------------------------------------------------------- real browser
@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium/chromedriver not installed (tools/setup_env.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-proxy-server",
                "--window-size=1120,760",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def wait_js(driver, expr, timeout=WAIT):
    """Wait until the JavaScript expression ``expr`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"try {{ return ({expr}); }} catch (e) {{ return null; }}")
        if value:
            return value
        if time.monotonic() > deadline:
            state = driver.execute_script("return JSON.stringify(window.skflux && "
                                          "window.skflux.view.state)")
            raise AssertionError(f"timed out waiting for {expr}; page state {state}")
        time.sleep(0.02)


def press(driver, key, until=None):
    """Press ``key`` on the page; then wait for ``until`` (a JS expression)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()
    if until:
        wait_js(driver, until)


def showing(video):
    """JS: the page shows ``video`` (loaded, current) and is idle."""
    return (f"window.skflux.view.state && window.skflux.view.state.current === {video} && "
            f"window.skflux.view.data && window.skflux.view.data.meta.video === {video} && "
            "!window.skflux.view.busy")


def open_page(driver, oracle):
    driver.get(oracle.url_)
    wait_js(driver, "window.skflux && window.skflux.view.state")


@pytest.mark.e2e
def test_a_review_done_entirely_by_keys_yields_those_verdicts(chrome, oracle, tiny_videos):
    rev = Reviewing(oracle, make_request(tiny_videos, [3, 5, 7, 9], [0, 1, 0, 1]))
    open_page(chrome, oracle)
    answers = {3: "e", 5: "n", 7: "E", 9: "n"}
    for video, key in answers.items():
        wait_js(chrome, showing(video))
        press(chrome, key)
    wait_js(chrome, "window.skflux.view.state.current === null && "
                    "window.skflux.view.state.undoable === 9")
    assert len(rev.verdicts) == 4  # every verdict is committed when given
    press(chrome, "\n")
    rev.join()
    assert rev.error is None
    assert [(v.index, v.label, v.emergence_frame) for v in rev.verdicts] == [
        (3, 1, None), (5, 0, None), (7, 1, None), (9, 0, None)]
    assert all(v.reviewer == "tester" and v.seconds >= 0 for v in rev.verdicts)
    stats = chrome.execute_script("return window.skflux.stats")
    assert len(stats["verdictMs"]) == 4 and len(stats["firstFrameMs"]) == 3


@pytest.mark.e2e
def test_undo_skip_and_marking_the_emergence_frame_in_the_browser(chrome, oracle, tiny_videos):
    from selenium.webdriver.common.keys import Keys

    rev = Reviewing(oracle, make_request(tiny_videos, [20, 21, 22]))
    open_page(chrome, oracle)
    wait_js(chrome, showing(20))
    press(chrome, "n", until=showing(21))
    assert [(v.index, v.label) for v in rev.verdicts] == [(20, 0)]  # committed at once
    press(chrome, "u", until=showing(20))  # undo: back to video 20, a retraction logged
    assert isinstance(rev.verdicts[-1], Retraction) and rev.verdicts[-1].index == 20
    press(chrome, " ")  # pause, then walk to frame 3 and mark it
    for _ in range(8):
        press(chrome, Keys.ARROW_LEFT)
    for _ in range(3):
        press(chrome, Keys.ARROW_RIGHT)
    assert chrome.execute_script("return window.skflux.view.frame") == 3
    press(chrome, "m")
    assert chrome.execute_script("return window.skflux.view.mark") == 3
    press(chrome, "e", until=showing(21))
    press(chrome, "s", until=showing(22))  # skip 21: it comes back at the end
    assert effective(rev.verdicts) == [(20, 1, 3)]
    press(chrome, "n", until=showing(21))
    press(chrome, Keys.BACKSPACE, until=showing(22))  # Backspace undoes 22's verdict
    assert effective(rev.verdicts) == [(20, 1, 3)]
    press(chrome, "e", until=showing(21))
    press(chrome, "n", until="window.skflux.view.state.current === null")
    press(chrome, Keys.ENTER)
    rev.join()
    assert rev.error is None
    assert [type(v).__name__ for v in rev.verdicts] == [
        "Verdict", "Retraction", "Verdict", "Verdict", "Retraction", "Verdict", "Verdict"]
    assert effective(rev.verdicts) == [(20, 1, 3), (22, 1, None), (21, 0, None)]


@pytest.mark.e2e
def test_a_second_tab_answering_a_video_already_answered_gets_the_queue_as_it_is(
        chrome, tiny_videos):
    with WebOracle(open_browser=False, close_grace=5.0, undo=False,
                   print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [43, 44, 45]))
        open_page(chrome, oracle)
        first = chrome.current_window_handle
        wait_js(chrome, showing(43))
        chrome.switch_to.new_window("tab")
        second = chrome.current_window_handle
        open_page(chrome, oracle)
        wait_js(chrome, showing(43))
        # tab 2 stops polling: it keeps showing video 43 after tab 1 answered it
        chrome.execute_script(
            "const f = window.fetch; window.fetch = (u, o) => String(u).startsWith("
            "'/api/state') ? new Promise(() => {}) : f(u, o);")
        chrome.switch_to.window(first)
        press(chrome, "e", until=showing(44))
        chrome.switch_to.window(second)
        assert chrome.execute_script("return window.skflux.view.video") == 43
        press(chrome, "n", until=showing(44))  # 409: the tab shows the queue as it is
        assert "already has a verdict" in chrome.find_element("id", "message").text
        assert [(v.index, v.label) for v in rev.verdicts] == [(43, 1)]
        press(chrome, "n", until=showing(45))
        press(chrome, "e")
        rev.join()
        chrome.close()
        chrome.switch_to.window(first)
    assert rev.error is None
    assert [(v.index, v.label) for v in rev.verdicts] == [(43, 1), (44, 0), (45, 1)]


@pytest.mark.e2e
def test_closing_the_page_stops_the_review_keeping_the_verdicts(chrome, oracle, tiny_videos):
    rev = Reviewing(oracle, make_request(tiny_videos, [30, 31, 32]))
    open_page(chrome, oracle)
    wait_js(chrome, showing(30))
    press(chrome, "e", until=showing(31))
    chrome.get("about:blank")  # pagehide: the page says goodbye
    rev.join()
    assert isinstance(rev.error, ReviewPending) and rev.error.n_pending == 2
    assert [(v.index, v.label) for v in rev.verdicts] == [(30, 1)]  # committed when given


@pytest.mark.e2e
def test_reloading_the_page_mid_pass_resumes_where_it_was(chrome, tiny_videos):
    with WebOracle(open_browser=False, close_grace=5.0, print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [40, 41, 42]))
        open_page(chrome, oracle)
        wait_js(chrome, showing(40))
        press(chrome, "n", until=showing(41))
        chrome.refresh()
        wait_js(chrome, showing(41) + " && window.skflux.view.state.undoable === 40")
        press(chrome, "u", until=showing(40))  # still undoable after the reload
        press(chrome, "e", until=showing(41))
        press(chrome, "e", until=showing(42))
        press(chrome, "n", until="window.skflux.view.state.current === null")
        press(chrome, "\n")
        rev.join()
    assert rev.error is None
    assert effective(rev.verdicts) == [(40, 1, None), (41, 1, None), (42, 0, None)]


def _screenshot_dir(tmp_path):
    folder = Path(os.environ.get("SKFLUX_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.e2e
@pytest.mark.parametrize("size", ["tiny", "full"])
def test_screenshots_of_the_page(chrome, tmp_path, tiny_videos, size):
    if size == "tiny":
        videos, idx = tiny_videos, [5, 6]
    else:  # the paper's full size: 225 frames of 90 x 90
        from skflux.datasets import make_flux_emergence

        videos, idx = make_flux_emergence(2, random_state=1, n_frames=225, size=90), [0, 1]

    def evidence(item):
        n = item.n_frames
        t = np.arange(n)
        curves = 1 / (1 + np.exp(-(t[None] - 0.55 * n - np.arange(5)[:, None]) / (0.06 * n)))
        return {"member_proba": [0.6, 0.7, 0.75, 0.8, 0.9], "curves": curves,
                "emergence_frame": int(0.55 * n), "threshold": 0.5}

    with WebOracle(open_browser=False, evidence=evidence, reviewer_name="tester",
                   print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(videos, idx))
        open_page(chrome, oracle)
        wait_js(chrome, showing(idx[0]))
        press(chrome, "j")  # jump to the located frame
        n = int(videos.sizes["frame"])
        assert chrome.execute_script("return window.skflux.view.frame") == int(0.55 * n)
        # the canvas shows an image, not a flat colour
        spread = chrome.execute_script(
            "const c = document.getElementById('video');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "let lo = 255, hi = 0; for (let i = 0; i < d.length; i += 4) {"
            "lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); } return hi - lo;")
        assert spread > 50
        assert chrome.execute_script("return document.getElementById('curve-box').hidden") \
            is False
        path = _screenshot_dir(tmp_path) / f"review_page_{size}.png"
        assert chrome.save_screenshot(str(path))
        print(f"screenshot of the review page ({size}): {path}")
        assert path.stat().st_size > 10_000
        oracle.stop()
        rev.join()


def _canvas_contrast(driver):
    """Mean |pixel - 128| of the video canvas (red channel)."""
    return driver.execute_script(
        "const c = document.getElementById('video');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let s = 0; for (let i = 0; i < d.length; i += 4) s += Math.abs(d[i] - 128);"
        "return s / (d.length / 4);")


def _located_evidence(frames):
    """Evidence locating emergence at ``frames[video]`` (None: curves, nothing located)."""
    def evidence(item):
        out = {"curves": np.tile(np.linspace(0.1, 0.9, item.n_frames), (3, 1)),
               "member_proba": [0.4, 0.5, 0.6], "threshold": 0.5}
        if frames[item.index] is not None:
            out["emergence_frame"] = frames[item.index]
        return out
    return evidence


@pytest.mark.e2e
def test_contrast_keys_and_slider_change_the_pixels_on_the_canvas(chrome, tiny_videos):
    with WebOracle(open_browser=False, print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [14, 15]))
        open_page(chrome, oracle)
        wait_js(chrome, showing(14))
        press(chrome, " ")  # pause: the same frame before and after
        before = _canvas_contrast(chrome)
        label = chrome.find_element("id", "cb-max").text
        for _ in range(5):
            press(chrome, "[")  # lower saturation: more contrast
        assert chrome.execute_script("return window.skflux.view.contrast") == 50
        after = _canvas_contrast(chrome)
        assert after > before * 1.5
        sat = chrome.execute_script("return window.skflux.view.sat")
        vmax = chrome.execute_script("return window.skflux.view.data.vmax")
        assert sat == pytest.approx(vmax / 20**0.5, rel=1e-6)
        assert chrome.find_element("id", "cb-max").text == f"+{sat:.0f} G" != label
        # the key frames follow the contrast too
        assert len(chrome.find_elements("css selector", "#keyframes canvas")) >= 2
        for _ in range(5):
            press(chrome, "]")
        assert _canvas_contrast(chrome) == pytest.approx(before)
        chrome.execute_script("const s = document.getElementById('contrast'); s.value = '0';"
                              "s.dispatchEvent(new Event('input'));")
        assert _canvas_contrast(chrome) > after
        press(chrome, "e", until=showing(15))  # the contrast stays for the next video
        assert chrome.execute_script("return window.skflux.view.contrast") == 0
        oracle.stop()
        rev.join()
    assert [(v.index, v.label) for v in rev.verdicts] == [(14, 1)]


@pytest.mark.e2e
def test_playback_from_the_located_frame_and_no_emergence_located(chrome, tiny_videos):
    from selenium.webdriver.common.keys import Keys

    evidence = _located_evidence({16: 5, 17: None, 18: 6})
    with WebOracle(open_browser=False, evidence=evidence, print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [16, 17, 18]))
        open_page(chrome, oracle)
        wait_js(chrome, showing(16))
        assert chrome.find_element("id", "f-located").text.startswith("frame 5 · ")
        press(chrome, "l")  # play from the located frame: frames 5..7 loop
        assert chrome.execute_script("return window.skflux.view.loopStart") == 5
        assert chrome.execute_script("return window.skflux.view.playing") is True
        wait_js(chrome, "window.skflux.view.frame === 7")  # it plays on ...
        wait_js(chrome, "window.skflux.view.frame === 5")  # ... and loops back to 5, not 0
        press(chrome, " ")  # pause
        frame = chrome.execute_script("return window.skflux.view.frame")
        assert 5 <= frame <= 7
        assert chrome.find_element("id", "frame-label").text == f"frame {frame} / 7"
        times = chrome.execute_script("return window.skflux.view.data.meta.frame_times")
        assert chrome.find_element("id", "frame-time").text == f"{times[frame]} UT"
        press(chrome, Keys.ARROW_LEFT)
        press(chrome, "n", until=showing(17))
        # no emergence located: said so, and L plays the whole clip
        assert chrome.find_element("id", "f-located").text.startswith("no emergence located")
        press(chrome, "l")
        assert "no emergence located" in chrome.find_element("id", "message").text
        assert chrome.execute_script("return window.skflux.view.loopStart") == 0
        press(chrome, "j")
        assert "no emergence located" in chrome.find_element("id", "message").text
        # 'start at located': the next video opens at its located frame
        chrome.find_element("id", "start-located").click()
        press(chrome, "n", until=showing(18))
        assert chrome.execute_script("return window.skflux.view.loopStart") == 6
        assert chrome.execute_script("return window.skflux.view.frame") >= 6
        press(chrome, "e", until="window.skflux.view.state.current === null")
        press(chrome, Keys.ENTER)
        rev.join()
    assert rev.error is None
    assert [(v.index, v.label) for v in rev.verdicts] == [(16, 0), (17, 0), (18, 1)]


@pytest.mark.e2e
def test_summary_strip_axes_and_legends_on_the_page(chrome, tiny_videos):
    evidence = _located_evidence({19: 4})
    with WebOracle(open_browser=False, evidence=evidence, print_func=lambda *a: None) as oracle:
        rev = Reviewing(oracle, make_request(tiny_videos, [19]))
        open_page(chrome, oracle)
        wait_js(chrome, showing(19))
        meta = chrome.execute_script("return window.skflux.view.data.meta")
        assert chrome.execute_script("return document.getElementById('flux-box').hidden") \
            is False
        for curve in ("flux-unsigned", "flux-signed"):
            points = chrome.find_element("id", curve).get_attribute("points").split()
            assert len(points) == 8, curve  # one point per frame
        ys = [float(p.split(",")[1]) for p in
              chrome.find_element("id", "flux-unsigned").get_attribute("points").split()]
        u = np.array(meta["summary"]["unsigned_flux"])
        # higher flux is drawn higher up (smaller y): the curve follows the data
        assert np.array_equal(np.argsort(-u, kind="stable"), np.argsort(ys, kind="stable"))
        assert "Mx" in chrome.find_element("id", "flux-unit").text
        legend = chrome.find_element("id", "flux-legend").text
        assert "unsigned flux" in legend and "signed flux" in legend
        legend = chrome.find_element("id", "curve-legend").text
        for name in ("each member", "median of members", "threshold", "located frame",
                     "current frame"):
            assert name in legend
        keys = chrome.find_elements("css selector", "#keyframes .keyframe")
        assert [int(k.get_attribute("data-frame")) for k in keys] == \
            meta["summary"]["key_frames"]
        located = chrome.find_elements("css selector", "#keyframes .keyframe.located")
        assert [k.get_attribute("data-frame") for k in located] == ["4"]
        press(chrome, "2")  # key frame 2, by key
        second = meta["summary"]["key_frames"][1]
        assert chrome.execute_script("return window.skflux.view.frame") == second
        assert chrome.execute_script("return window.skflux.view.playing") is False
        keys[-1].click()  # and by click
        assert chrome.execute_script("return window.skflux.view.frame") == \
            meta["summary"]["key_frames"][-1]
        lat_ticks = [t.text for t in chrome.find_elements("css selector", "#axis-lat .tick")]
        lon_ticks = [t.text for t in chrome.find_elements("css selector", "#axis-lon .tick")]
        assert len(lat_ticks) >= 2 and len(lon_ticks) >= 2
        lat_values = [float(t.rstrip("°")) for t in lat_ticks]
        assert min(meta["lat_axis"]) <= min(lat_values) <= max(lat_values) <= max(
            meta["lat_axis"])
        assert "Carrington latitude" in chrome.find_element("id", "axis-lat").text
        oracle.stop()
        rev.join()


@pytest.mark.e2e
def test_after_q_the_page_says_how_to_resume_even_once_the_server_is_gone(chrome, tiny_videos):
    from skflux.relabel._web._app import resume_hint

    oracle = WebOracle(open_browser=False, print_func=lambda *a: None)
    try:
        rev = Reviewing(oracle, make_request(tiny_videos, [24, 25]))
        oracle._hub.resume = resume_hint(["skflux", "review", "v.nc", "--log", "r.db"])
        open_page(chrome, oracle)
        wait_js(chrome, showing(24))
        press(chrome, "n", until=showing(25))
        press(chrome, "q")
        rev.join()
        assert isinstance(rev.error, ReviewPending) and rev.error.n_pending == 1
        wait_js(chrome, "!document.getElementById('status-overlay').hidden")
        text = chrome.find_element("id", "status-overlay").text
        assert "Review stopped" in text and "saved in the review log" in text
        assert chrome.find_element("id", "status-command").text == \
            "skflux review v.nc --log r.db"
        assert "token change" in chrome.find_element("id", "status-detail").text
    finally:
        oracle.close()
    # the server is gone: the page keeps saying how to resume
    chrome.execute_script("window.__polls = 0; const f = window.fetch; window.fetch = (u, o) =>"
                          " { window.__polls += 1; return f(u, o); };")
    wait_js(chrome, "window.__polls >= 2")
    assert chrome.find_element("id", "status-command").text == "skflux review v.nc --log r.db"
    assert "does not answer" not in chrome.find_element("id", "status-overlay").text


@pytest.mark.e2e
def test_when_the_pass_ends_the_page_says_so(chrome, tiny_videos):
    oracle = WebOracle(open_browser=False, undo=False, print_func=lambda *a: None)
    try:
        rev = Reviewing(oracle, make_request(tiny_videos, [26, 27], pass_index=2))
        open_page(chrome, oracle)
        wait_js(chrome, showing(26))
        press(chrome, "e", until=showing(27))
        press(chrome, "n")  # the last verdict ends the pass (no undo)
        rev.join()
        assert rev.error is None
        wait_js(chrome, "document.getElementById('status-text').textContent"
                        ".startsWith('Pass 2 is over')")
        assert "2 of 2 videos have a verdict" in chrome.find_element("id", "status-text").text
        assert "next pass" in chrome.find_element("id", "status-detail").text
    finally:
        oracle.close()
    wait_js(chrome, "document.getElementById('status-detail').textContent"
                    ".includes('server has stopped')")
    assert chrome.find_element("id", "status-text").text.startswith("Pass 2 is over")


# ---------------------------------------------------------------------- through the relabeler
def _truth_keys(truth):
    return {i: ("e" if t == 1 else "n") for i, t in enumerate(truth)}


def review_all_by_keys(driver, oracle, truth, fitting, verdicts_given):
    """Answer every video the page shows with its true label, until ``fitting`` ends."""
    keys = _truth_keys(truth)
    opened = False
    while fitting.is_alive():
        if not hasattr(oracle, "url_"):
            time.sleep(0.05)
            continue
        if not opened:
            open_page(driver, oracle)
            opened = True
        state = driver.execute_script("return window.skflux.view.state")
        if not state or state["status"] != "reviewing" or driver.execute_script(
                "return window.skflux.view.busy"):
            time.sleep(0.05)
            continue
        if state["current"] is not None:
            video = state["current"]
            try:
                wait_js(driver, showing(video), timeout=10)
            except AssertionError:
                continue
            press(driver, keys[video])
            verdicts_given.append((video, int(truth[video])))
            wait_js(driver, f"window.skflux.view.state.current !== {video} && "
                            "!window.skflux.view.busy", timeout=WAIT)
        elif state["undoable"] is not None:  # every video has a verdict: finish
            press(driver, "\n")
            wait_js(driver, "!window.skflux.view.busy")
            time.sleep(0.1)
        else:
            time.sleep(0.05)


@pytest.mark.e2e
def test_relabeler_driven_from_the_browser_takes_the_verdicts(chrome, tmp_path):
    from _helpers_relabel import feature_model, make_videos

    X = make_videos(n=120, seed=3)
    truth = X["true_label"].values
    oracle = WebOracle(open_browser=False, reviewer_name="tester",
                       print_func=lambda *a: None)
    log = tmp_path / "review.db"
    rel = IterativeRelabeler(feature_model(), oracle=oracle, review_log=log, max_passes=2,
                             stop_ratio=0.0, random_state=0)
    out = {}

    def fit():
        try:
            rel.fit(X, X["label"].values)
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    fitting = threading.Thread(target=fit, daemon=True)
    given = []
    try:
        fitting.start()
        review_all_by_keys(chrome, oracle, truth, fitting, given)
        fitting.join(60)
    finally:
        oracle.close()
    assert "error" not in out, out.get("error")
    assert given, "no video was shown for review"
    assert rel.n_passes_ >= 2  # the page waited while the next pass's models trained
    rows = ReviewLog(log).verdicts()
    assert [(r["video"], r["verdict"]) for r in rows] == given
    for video, label in given:
        assert rel.labels_[video] == label
    assert all(r["reviewer"] == "tester" and r["seconds"] >= 0 for r in rows)


_KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from _helpers_relabel import feature_model, make_videos
    from skflux.relabel import IterativeRelabeler, ReviewPending
    from skflux.relabel._web import WebOracle

    X = make_videos(n=120, seed=3)
    oracle = WebOracle(open_browser=False, token="feedbeef", undo={undo},
                       print_func=lambda *a: print(*a, flush=True))
    rel = IterativeRelabeler(feature_model(), oracle=oracle, review_log={log!r},
                             max_passes=1, random_state=0)
    try:
        rel.fit(X, X["label"].values)
        print("LABELS", ",".join(map(str, rel.labels_)), flush=True)
    except ReviewPending as exc:
        print("PENDING", exc.n_pending, flush=True)
""")


def _start(script):
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    for line in proc.stdout:
        if line.startswith("http://"):
            return proc, line.strip()
    raise AssertionError(f"the review process printed no address (exit {proc.wait()})")


def _post(url, kind, body):
    base, token = url.split("/?token=")
    req = urllib.request.Request(f"{base}/api/{kind}?token={token}",
                                 data=json.dumps(body).encode(), method="POST")
    try:
        with _OPENER.open(req, timeout=WAIT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _state(url):
    base, token = url.split("/?token=")
    deadline = time.monotonic() + WAIT
    while True:
        with _OPENER.open(f"{base}/api/state?token={token}", timeout=WAIT) as r:
            state = json.loads(r.read())
        if state["status"] == "reviewing":
            return state
        assert time.monotonic() < deadline, "the review never started"
        time.sleep(0.1)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("undo", [False, True])
def test_sigkill_mid_pass_then_resume_loses_no_committed_verdict(tmp_path, undo):
    from _helpers_relabel import make_videos

    truth = make_videos(n=120, seed=3)["true_label"].values
    log = tmp_path / "review.db"
    script = tmp_path / "review_kill.py"
    script.write_text(_KILL_SCRIPT.format(tests=str(Path(__file__).parent), log=str(log),
                                          undo=undo))

    def answer_current(state, committed):
        video = state["current"]
        status, answer = _post(url, "verdict", {"video": video, "label": int(truth[video])})
        assert status == 200, answer
        # the answer comes once the verdict is in the log
        assert answer["committed"] == [video]
        committed.append((video, int(truth[video])))
        return answer["state"]

    proc, url = _start(script)
    try:
        state = _state(url)
        n_total = state["n_total"]
        assert n_total >= 4
        committed = []
        for _ in range(3):
            state = answer_current(state, committed)
        if undo:  # undo the last verdict: the log keeps it, retracted
            status, answer = _post(url, "undo", {"video": committed[-1][0]})
            assert status == 200 and answer["retracted"] == [committed.pop()[0]]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    rows = ReviewLog(log).verdicts()
    assert [(r["video"], r["verdict"]) for r in rows] == committed
    assert len(ReviewLog(log).history()) == (4 if undo else 3)

    proc, url = _start(script)  # resume: the same log
    try:
        state = _state(url)
        # committed videos are not shown again; the retracted one (undo) is shown again
        assert state["n_total"] == n_total - len(committed)
        assert state["current"] not in {v for v, _ in committed}
        while state["current"] is not None:
            state = answer_current(state, committed)
        if undo:
            status, answer = _post(url, "finish", {})
            assert status == 200 and answer["committed"] == []
        out = proc.communicate(timeout=WAIT)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    labels = next(line for line in out.splitlines() if line.startswith("LABELS"))
    labels = np.array(labels.split()[1].split(","), dtype=int)
    rows = ReviewLog(log).verdicts()
    assert [(r["video"], r["verdict"]) for r in rows] == committed
    for video, label in committed:
        assert labels[video] == label


# ---------------------------------------------------------------------- Label Studio
def _ls_export(tasks, answers, *, minimal=False):
    """Label Studio's export of ``tasks`` annotated with ``{position: (name, frame)}``."""
    out = []
    for k, task in enumerate(tasks):
        video = task["data"]["skflux_video"]
        if video not in answers:
            out.append(dict(task, id=k + 1, annotations=[]) if not minimal else
                       dict(task["data"], id=k + 1))
            continue
        name, frame = answers[video]
        if minimal:
            row = dict(task["data"], id=k + 1, verdict=name)
            if frame is not None:
                row["emergence_frame"] = frame
            out.append(row)
            continue
        result = [{"from_name": "verdict", "to_name": "video", "type": "choices",
                   "value": {"choices": [name]}}]
        if frame is not None:
            result.append({"from_name": "emergence_frame", "to_name": "video",
                           "type": "number", "value": {"number": frame}})
        cancelled = {"result": [], "was_cancelled": True}
        out.append(dict(task, id=k + 1, annotations=[{"result": result,
                                                       "was_cancelled": False}, cancelled]))
    return out


@pytest.mark.parametrize("minimal", [False, True])
def test_label_studio_round_trip_of_one_pass(tmp_path, tiny_videos, minimal):
    from PIL import Image

    from skflux.relabel._web import LabelStudioOracle

    oracle = LabelStudioOracle(tmp_path)
    request = make_request(tiny_videos, [3, 4, 5])
    with pytest.raises(ReviewPending) as info:
        list(oracle.review(request))
    assert info.value.n_pending == 3
    tasks_path, export_path = oracle.paths(1)
    tasks = json.loads(tasks_path.read_text())
    assert [t["data"]["skflux_video"] for t in tasks] == [3, 4, 5]
    assert "<Choices name=\"verdict\"" in (tmp_path / "label_studio_config.xml").read_text()
    gif = Image.open(tmp_path / "media" / "pass1_video4.gif")
    assert gif.n_frames == 8 and tasks[1]["data"]["video"].endswith("pass1_video4.gif")
    export = _ls_export(tasks, {3: ("emergence", 5), 5: ("non-emergence", None)},
                        minimal=minimal)
    export_path.write_text(json.dumps(export))
    got = []
    with pytest.raises(ReviewPending) as info:
        for v in oracle.review(request):
            got.append(v)
    assert [(v.index, v.label, v.emergence_frame) for v in got] == [(3, 1, 5), (5, 0, None)]
    assert info.value.n_pending == 1
    export = _ls_export(tasks, {3: ("emergence", 5), 4: ("emergence", None),
                                5: ("non-emergence", None)}, minimal=minimal)
    export_path.write_text(json.dumps(export))
    assert [v.index for v in oracle.review(make_request(tiny_videos, [4]))] == [4]


def test_label_studio_exports_that_cannot_be_are_refused_naming_the_task(tmp_path,
                                                                        tiny_videos):
    from skflux.relabel._web import LabelStudioOracle

    oracle = LabelStudioOracle(tmp_path, media=False)
    request = make_request(tiny_videos, [3, 4])
    with pytest.raises(ReviewPending):
        list(oracle.review(request))
    tasks = json.loads(oracle.paths(1)[0].read_text())
    cases = [
        ({3: ("maybe", None)}, "task 0.*not a label"),
        ({3: ("non-emergence", 4)}, "task 0.*non-emergence"),
        ({4: ("emergence", 99)}, "task 1.*outside"),
    ]
    for answers, match in cases:
        oracle.paths(1)[1].write_text(json.dumps(_ls_export(tasks, answers)))
        with pytest.raises(ValueError, match=match):
            list(oracle.review(request))
    stale = _ls_export(tasks, {3: ("emergence", None)})
    stale[0]["data"]["video_id"] = "someone-else"
    oracle.paths(1)[1].write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="another dataset"):
        list(oracle.review(request))
    oracle.paths(1)[1].write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read as JSON"):
        list(oracle.review(request))


def test_relabeling_through_label_studio_and_the_log_exported_back(tmp_path):
    from _helpers_relabel import feature_model, make_videos

    from skflux.relabel._web import (
        LabelStudioOracle,
        read_label_studio_export,
        review_log_tasks,
    )

    X = make_videos(n=120, seed=3)
    truth = X["true_label"].values
    oracle = LabelStudioOracle(tmp_path / "ls", media=False)
    log = tmp_path / "review.db"

    def fit():
        return IterativeRelabeler(feature_model(), oracle=oracle, review_log=log,
                                  max_passes=2, random_state=0).fit(X, X["label"].values)

    for _ in range(5):  # one round trip per pass
        try:
            rel = fit()
            break
        except ReviewPending as exc:
            tasks = json.loads(Path(exc.path).read_text())
            answers = {t["data"]["skflux_video"]: (
                "emergence" if truth[t["data"]["skflux_video"]] else "non-emergence", None)
                for t in tasks}
            export = exc.path.with_name(exc.path.name.replace("_tasks", "_export"))
            export.write_text(json.dumps(_ls_export(tasks, answers)))
    rows = ReviewLog(log).verdicts()
    assert rows and all(rel.labels_[r["video"]] == truth[r["video"]] for r in rows)
    back = review_log_tasks(log, tmp_path / "log_tasks.json")
    read = read_label_studio_export(tmp_path / "log_tasks.json")
    assert len(back) == len(rows)
    assert {v: (name, frame) for v, (name, frame, _, _) in read.items()} == {
        r["video"]: ("emergence" if r["verdict"] else "non-emergence", r["emergence_frame"])
        for r in rows}
