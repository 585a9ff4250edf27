"""Issue 28, part B: the review server, the review log and its lock, Label Studio
exports, recorded options and unwritable outputs, tried with bad files and bad luck.

Every refusal is checked for its message (the file, row or option at fault) and
for leaving the disk as it was.
"""

import json
import os
import socket
import urllib.error
import urllib.request
import warnings

import pytest

from skflux.relabel import WebOracle

CONFIG = {"threshold": 0.5}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
WAIT = 600  # longest wait for an event: a hang, never a measure of speed


def snapshot(folder):
    """``{relative path: bytes}`` of every file under ``folder`` (symlinks as their target)."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, folder)
            out[rel] = ("->", os.readlink(p)) if os.path.islink(p) else open(p, "rb").read()
    return out


# ---------------------------------------------------------------------- the review server
@pytest.fixture
def oracle():
    o = WebOracle(open_browser=False, reviewer_name="tester", close_grace=0.5,
                  print_func=lambda *a: None)
    o.start()
    yield o
    o.close()


def raw_request(oracle, head, chunks=(), cap=None):
    """Send ``head`` then ``chunks`` on one connection; stop as soon as an answer comes.

    Returns ``(status, body text, bytes of body sent before the answer came)``.
    """
    import select

    sock = socket.create_connection(("127.0.0.1", oracle.port_), timeout=WAIT)
    sent = 0
    try:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:  # the server answered already
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                break
            data += more
        head_, _, body = data.partition(b"\r\n\r\n")
        length = [int(line.split(b":")[1]) for line in head_.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        while length and len(body) < length[0]:
            more = sock.recv(65536)
            if not more:
                break
            body += more
    finally:
        sock.close()
    return int(head_.split()[1]), body.decode("utf-8", "replace"), sent


def test_a_huge_chunked_post_is_refused_with_413_before_it_is_read(oracle):
    """400 MB sent chunked (no Content-Length) was buffered whole before the answer."""
    path = f"/api/hello?token={oracle.token_}"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    block = b"x" * 65536
    chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    n_chunks = 2048  # 128 MiB offered; the kernel's socket buffers take a few MiB at most
    chunks = [chunk] * n_chunks + [b"0\r\n\r\n"]
    status, body, sent = raw_request(oracle, head, chunks)
    assert status == 413, body
    assert "at most 4096 bytes" in body
    # the answer came before the body ended (read whole, all 128 MiB went in first)
    assert sent < n_chunks * len(chunk) // 2, f"{sent} bytes were taken in before the refusal"


def test_a_declared_oversized_body_gets_413_and_small_bodies_still_work(oracle):
    path = f"/api/hello?token={oracle.token_}"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 400000000\r\n"
            "Content-Type: application/json\r\n\r\n").encode()
    status, body, sent = raw_request(oracle, head, [b"x" * 65536] * 1024)
    assert status == 413 and sent < 1024 * 65536 // 2, (body, sent)
    ok = urllib.request.Request(f"http://127.0.0.1:{oracle.port_}{path}", method="POST",
                                data=json.dumps({"client": "abc"}).encode())
    with _OPENER.open(ok, timeout=WAIT) as r:
        assert r.status == 200 and json.loads(r.read()) == {"ok": True}


@pytest.mark.parametrize("opener", ["[", '{"a":'])
@pytest.mark.parametrize("depth", [1, 40, 600, 2040])
@pytest.mark.parametrize("route", ["/api/hello", "/api/verdict"])
def test_deeply_nested_json_gets_400_never_500(oracle, tiny_videos, route, depth, opener):
    """2,040 nested brackets gave HTTP 500 and a RecursionError traceback."""
    from test_web_review import Reviewing, make_request

    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "1" + closer * depth).encode()
    rev = Reviewing(oracle, make_request(tiny_videos, [4])) if route == "/api/verdict" else None
    req = urllib.request.Request(f"http://127.0.0.1:{oracle.port_}{route}"
                                 f"?token={oracle.token_}", data=raw, method="POST")
    try:
        with _OPENER.open(req, timeout=WAIT) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    assert status == (413 if len(raw) > 4096 else 400), text
    assert "Traceback" not in text and "RecursionError" not in text
    if len(raw) <= 4096 and depth > 32:
        assert "nested" in text
    if rev is not None:
        assert rev.verdicts == []
        oracle.stop()
        rev.join()


def test_a_page_open_to_the_network_is_warned_about():
    o = WebOracle(host="0.0.0.0", open_browser=False, print_func=lambda *a: None)
    try:
        with pytest.warns(UserWarning, match=r"0\.0\.0\.0.*reachable from (the )?network"):
            o.start()
    finally:
        o.close()
    local = WebOracle(open_browser=False, print_func=lambda *a: None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            local.start()
    finally:
        local.close()
