"""Issue 28, part B: the review server, the review log and its lock, Label Studio
exports, recorded options and unwritable outputs, tried with bad files and bad luck.

Every refusal is checked for its message (the file, row or option at fault) and
for leaving the disk as it was.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux.relabel import ReviewLog, WebOracle
from skflux.relabel._review_log import ReviewLogError

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


# ---------------------------------------------------------------------- the log's lock
_RACER = textwrap.dedent("""
    import glob, os, sys, time
    from skflux.relabel import ReviewLog
    from skflux.relabel._review_log import ReviewLogError
    path, holders = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        trial = line.split()[1]
        log = ReviewLog(path)
        try:
            log.open("fp", {"threshold": 0.5})
        except ReviewLogError as exc:
            print("refused", " ".join(str(exc).split()), flush=True)
            continue
        mine = os.path.join(holders, f"{trial}_{os.getpid()}")
        open(mine, "w").close()
        time.sleep(0.05)  # hold the lock a moment: overlapping holders see each other
        seen = len(glob.glob(os.path.join(holders, f"{trial}_*")))
        os.unlink(mine)
        log.close()
        print("held", seen, flush=True)
""")


def _dead_pid():
    with open("/proc/sys/kernel/pid_max") as fh:
        return int(fh.read()) + 1  # no process can have it


def test_a_stale_lock_is_taken_over_by_exactly_one_of_several_racing_processes(tmp_path):
    """Two processes could both take over the same dead process's lock (4 of 40 trials)."""
    path, holders = tmp_path / "log.sqlite", tmp_path / "holders"
    holders.mkdir()
    ReviewLog(path).open("fp", CONFIG).close()
    lock = ReviewLog(path).lock_path
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, str(path), str(holders)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, OMP_NUM_THREADS="1"))
              for _ in range(6)]
    try:
        for trial in range(40):
            lock.write_text(f"{_dead_pid()} {socket.gethostname()}\n")  # a killed run's lock
            for r in racers:
                r.stdin.write(f"go {trial}\n")
                r.stdin.flush()
            answers = [r.stdout.readline().split() for r in racers]
            held = [a for a in answers if a[0] == "held"]
            assert held, (trial, answers)  # the dead process's lock was taken over
            assert all(a[1] == "1" for a in held), (trial, answers)  # by one at a time
            assert not lock.exists()
    finally:
        for r in racers:
            r.stdin.close()
            r.wait()


_HOLDER = textwrap.dedent("""
    import sys
    from skflux.relabel import ReviewLog
    log = ReviewLog(sys.argv[1]).open("fp", {"threshold": 0.5})
    print("locked", flush=True)
    sys.stdin.readline()
    log.close()
""")


def test_a_live_holder_is_never_displaced_whatever_its_lock_file_says(tmp_path):
    """What a racing takeover does: the lock file reads as a dead process's (stale
    content read a moment earlier) while a live process holds the log."""
    path = tmp_path / "log.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        lock = ReviewLog(path).lock_path
        lock.write_text(f"{_dead_pid()} {socket.gethostname()}\n")
        with pytest.raises(ReviewLogError, match="in use by"):
            ReviewLog(path).open("fp", CONFIG)
        assert lock.exists()
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait() == 0
    ReviewLog(path).open("fp", CONFIG).close()  # free once the holder is gone


def test_a_lock_that_is_a_symlink_is_refused_and_never_followed(tmp_path):
    """A lock symlinked to another file quoted that file's content."""
    path = tmp_path / "log.sqlite"
    ReviewLog(path).open("fp", CONFIG).close()
    lock = ReviewLog(path).lock_path
    secret = tmp_path / "private.txt"
    secret.write_text("12345 the-private-content-of-another-file\n")
    for target in (secret, tmp_path / "nowhere" / "x.lock", tmp_path / "missing.lock"):
        lock.symlink_to(target)
        before = snapshot(tmp_path)
        with pytest.raises(ReviewLogError) as info:
            ReviewLog(path).open("fp", CONFIG)
        text = str(info.value)
        assert str(lock) in text and "symbolic link" in text, text
        assert "private-content" not in text and "12345" not in text
        assert snapshot(tmp_path) == before  # nothing created, nothing changed
        lock.unlink()
    ReviewLog(path).open("fp", CONFIG).close()


@pytest.mark.parametrize("content", [b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 8, b"not-a-pid here\n",
                                     b"-5 host\n"])
def test_a_lock_without_a_process_id_is_refused_naming_the_file_and_the_reason(tmp_path,
                                                                             content):
    path = tmp_path / "log.sqlite"
    ReviewLog(path).open("fp", CONFIG).close()
    lock = ReviewLog(path).lock_path
    lock.write_bytes(content)
    before = snapshot(tmp_path)
    with pytest.raises(ReviewLogError) as info:
        ReviewLog(path).open("fp", CONFIG)
    text = str(info.value)
    assert str(lock) in text and "process id" in text and "delete" in text, text
    assert "\\x" not in text and "PNG" not in text  # the content is described, not quoted
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- creating a log
_FULL_DISK = textwrap.dedent("""
    import json, os, resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    from skflux.relabel import ReviewLog
    base, limits = sys.argv[1], json.loads(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    out = []
    for limit in limits:
        folder = os.path.join(base, str(limit))
        os.mkdir(folder)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            ReviewLog(os.path.join(folder, "log.sqlite")).open("fp", {"t": 1}, seed=3).close()
            result = "ok"
        except Exception as exc:
            result = f"{type(exc).__name__}: {exc}"
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        out.append(result)
    print(json.dumps(out))
""")


def test_creating_a_log_on_a_full_disk_leaves_nothing_and_a_rerun_works(tmp_path):
    """A new log on a full disk left an SQLite file without the format marker, and
    every rerun was refused as "not a skflux review log"."""
    limits = [0, 20, 100, 600, 1024, 2000, 4096, 5000, 8192, 9000, 12288, 16384, 20000, 24576,
              28672, 32768, 40000, 49152, 65536, 1 << 20]
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path), json.dumps(limits)],
                          capture_output=True, text=True, check=True)
    results = json.loads(proc.stdout)
    assert results[-1] == "ok" and any(r != "ok" for r in results), results
    for limit, result in zip(limits, results, strict=True):
        folder = tmp_path / str(limit)
        path = folder / "log.sqlite"
        if result != "ok":  # refused, saying which file
            assert result.startswith("ReviewLogError") and str(path) in result, result
        existed = path.exists()
        if existed:  # never a log without its marker: a complete one, or nothing
            assert ReviewLog(path).meta["format"] == "skflux-review-log", (limit, result)
            assert ReviewLog(path).seed == 3
        else:
            assert sorted(p.name for p in folder.iterdir()) == [], (limit, result)
        log = ReviewLog(path).open("fp", {"t": 1}, seed=5)  # the rerun works
        assert log.meta["format"] == "skflux-review-log"
        assert log.seed == (3 if existed else 5)
        log.close()


def test_a_log_whose_creation_was_cut_short_is_explained_and_left_alone(tmp_path):
    """The marker-less file an older skflux left on a full disk: say what it is."""
    import sqlite3

    from skflux.relabel._review_log import _SCHEMA

    path = tmp_path / "review.sqlite"
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    con.close()
    before = snapshot(tmp_path)
    with pytest.raises(ReviewLogError) as info:
        ReviewLog(path).open("fp", CONFIG)
    text = str(info.value)
    assert str(path) in text and "creation was interrupted" in text and "no verdict" in text
    assert "delete it" in text.lower()
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- Label Studio exports
def _ls_tasks(tmp_path, tiny_videos, indices=(3, 4)):
    from test_web_review import make_request

    from skflux.relabel import ReviewPending
    from skflux.relabel._web import LabelStudioOracle

    oracle = LabelStudioOracle(tmp_path, media=False)
    request = make_request(tiny_videos, list(indices))
    with pytest.raises(ReviewPending):
        list(oracle.review(request))
    return oracle, request, json.loads(oracle.paths(1)[0].read_text())


def _annotated(task, name="emergence", frame=None):
    result = [{"from_name": "verdict", "to_name": "video", "type": "choices",
               "value": {"choices": [name]}}]
    if frame is not None:
        result.append({"from_name": "emergence_frame", "to_name": "video", "type": "number",
                       "value": {"number": frame}})
    return dict(task, annotations=[{"result": result, "was_cancelled": False}])


def _refused(oracle, request, export, match):
    path = oracle.paths(1)[1]
    path.write_text(json.dumps(export))
    folder = path.parent
    before = snapshot(folder)
    with pytest.raises(ValueError, match=match) as info:
        list(oracle.review(request))
    assert str(path) in str(info.value)
    assert snapshot(folder) == before
    return str(info.value)


@pytest.mark.parametrize("bad", [3.5, True, False, "3.5", -3, None, [3], {"v": 3}])
def test_label_studio_video_ids_are_never_coerced(tmp_path, tiny_videos, bad):
    oracle, request, tasks = _ls_tasks(tmp_path, tiny_videos)
    export = [_annotated(t) for t in tasks]
    export[1]["data"] = dict(export[1]["data"], skflux_video=bad)
    _refused(oracle, request, export, r"task 1: skflux_video .* is not a video position")


@pytest.mark.parametrize("bad", [2.5, True, "2.5", "seven", [2]])
def test_label_studio_frames_are_never_coerced(tmp_path, tiny_videos, bad):
    oracle, request, tasks = _ls_tasks(tmp_path, tiny_videos)
    export = [_annotated(tasks[0], frame=bad), _annotated(tasks[1])]
    _refused(oracle, request, export, r"task 0: emergence_frame .* is not a frame number")


def test_label_studio_integral_numbers_still_count(tmp_path, tiny_videos):
    oracle, request, tasks = _ls_tasks(tmp_path, tiny_videos)
    export = [_annotated(tasks[0], frame=2.0), _annotated(tasks[1], "non-emergence")]
    export[1]["data"] = dict(export[1]["data"], skflux_video=4.0)
    oracle.paths(1)[1].write_text(json.dumps(export))
    got = [(v.index, v.label, v.emergence_frame) for v in oracle.review(request)]
    assert got == [(3, 1, 2), (4, 0, None)]


def test_label_studio_rows_for_videos_never_asked_about_are_refused(tmp_path, tiny_videos):
    """Rows for unknown videos were silently ignored."""
    oracle, request, tasks = _ls_tasks(tmp_path, tiny_videos)
    stray = dict(tasks[1], data=dict(tasks[1]["data"], skflux_video=9, video_id="x9"))
    export = [_annotated(t) for t in (*tasks, stray)]
    text = _refused(oracle, request, export, r"task 2: video 9 .*not one of the videos")
    assert "x9" in text
    # rows of this pass already imported by an earlier fit are not unknown
    from test_web_review import make_request

    export = [_annotated(t) for t in tasks]
    oracle.paths(1)[1].write_text(json.dumps(export))
    assert [v.index for v in oracle.review(make_request(tiny_videos, [4]))] == [4]


@pytest.mark.parametrize("mangle, match", [
    (lambda t: dict(t, data=[1, 2]), r"task 0: 'data' is not a JSON object"),
    (lambda t: dict(t, annotations={"result": []}), r"task 0: 'annotations' is not a list"),
    (lambda t: dict(t, annotations=["x"]), r"task 0, annotation 0: not a JSON object"),
    (lambda t: dict(t, annotations=[{"result": "emergence"}]),
     r"task 0, annotation 0: 'result' is not a list"),
    (lambda t: dict(t, annotations=[{"result": ["emergence"]}]),
     r"task 0, annotation 0, result 0: not a JSON object"),
    (lambda t: dict(t, annotations=[{"result": [{"from_name": "verdict", "value": "e"}]}]),
     r"task 0, annotation 0, result 0: 'value' is not a JSON object"),
    (lambda t: dict(t, annotations=[{"result": [{"from_name": "verdict",
                                                 "value": {"choices": "emergence"}}]}]),
     r"task 0, annotation 0, result 0: 'choices' is not a list of labels"),
    (lambda t: dict(t["data"], verdict=1), r"task 0: verdict 1 is not a label name"),
])
def test_label_studio_exports_of_the_wrong_structure_say_where(tmp_path, tiny_videos, mangle,
                                                               match):
    """A wrong structure gave AttributeError."""
    oracle, request, tasks = _ls_tasks(tmp_path, tiny_videos)
    export = [mangle(_annotated(tasks[0])), _annotated(tasks[1])]
    _refused(oracle, request, export, match)


# ---------------------------------------------------------------------- unwritable outputs
TINY_NET = ["--epochs", "1", "--param", "module__widths=(2, 2, 4, 4)", "--param",
            "module__top=4", "--param", "module__dense=4"]


@pytest.fixture(scope="module")
def nc_data(tmp_path_factory, tiny_videos):
    from skflux.io import to_netcdf

    path = tmp_path_factory.mktemp("outputs") / "data.nc"
    to_netcdf(tiny_videos, path)
    return path


def _unwritable_folder():
    """A folder no one may create files in (sysfs refuses even root), or None."""
    try:
        fd = os.open("/sys/.skflux-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return "/sys"
    os.close(fd)  # pragma: no cover - a writable /sys: not Linux as we know it
    os.unlink("/sys/.skflux-probe")
    return None


def _commands(data, work, out):
    return {
        "fit": (["fit", str(data), str(out), *TINY_NET], "MODEL_DIR"),
        "relabel": (["relabel", str(data), "--oracle", "truth", "--log",
                     str(work / "r.db"), "--out", str(out), "--passes-json",
                     str(work / "p.json"), "--max-passes", "1", *TINY_NET], "--out"),
    }


@pytest.mark.parametrize("command", ["fit", "relabel"])
def test_an_output_in_a_read_only_folder_is_refused_before_training(nc_data, tmp_path, capsys,
                                                                    monkeypatch, command):
    """fit/relabel --out into a read-only folder failed only after training."""
    from skflux import pipeline
    from skflux.cli import main

    folder = _unwritable_folder()
    if folder is None:  # pragma: no cover
        pytest.skip("no folder here refuses new files")
    trained = []
    for name in ("fit", "relabel"):
        real = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda *a, _r=real, **k: trained.append(1) or
                            _r(*a, **k))
    out = os.path.join(folder, "skflux-out.nc" if command == "relabel" else "skflux-model")
    argv, option = _commands(nc_data, tmp_path, out)[command]
    before = snapshot(tmp_path)
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and trained == [], err
    assert option in err and out in err and "cannot write" in err, err
    assert ".partial" not in err and ".probe" not in err and "HDF" not in err
    assert snapshot(tmp_path) == before and not os.path.exists(out)


_LIMITED = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    from skflux.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("command", ["fit", "relabel"])
def test_an_output_on_a_full_disk_is_refused_before_training(nc_data, tmp_path, command):
    """fit/relabel --out on a full disk: found only after training, naming a temp path."""
    out = tmp_path / ("new.nc" if command == "relabel" else "model")
    argv, option = _commands(nc_data, tmp_path, out)[command]
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-c", _LIMITED, *argv], capture_output=True,
                          text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 1, proc.stderr
    assert option in proc.stderr and str(out) in proc.stderr and "full" in proc.stderr
    assert "Traceback" not in proc.stderr and ".partial" not in proc.stderr
    assert "fitting" not in proc.stderr and "training" not in proc.stderr  # nothing trained
    assert snapshot(tmp_path) == before


def test_a_disk_that_fills_while_relabeling_is_named_by_the_users_path(nc_data, tmp_path,
                                                                       capsys, monkeypatch):
    """A write that fails after training named a temp path or 'NetCDF: HDF error' only."""
    import skflux.pipeline._steps as steps
    from skflux.cli import main

    def full_disk(videos, path, *a, **k):
        with open(path, "wb") as fh:  # a partial file, then the library's error
            fh.write(b"\x89HDF\r\n")
        raise RuntimeError(f"NetCDF: HDF error: while writing {path}")

    monkeypatch.setattr(steps, "to_netcdf", full_disk)
    out = tmp_path / "new.nc"
    argv, _ = _commands(nc_data, tmp_path, out)["relabel"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"--out {out}: could not be written" in err and "disk" in err, err
    assert ".partial" not in err and "review log" in err and "again" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.db"]  # the verdicts, nothing else
    monkeypatch.undo()
    assert main(argv) == 0  # the rerun writes it from the log
    assert out.exists() and (tmp_path / "p.json").exists()


def test_a_disk_that_fills_while_saving_a_model_is_named_by_the_users_path(
        nc_data, tmp_path, capsys, monkeypatch, tiny_fitted_ensemble):
    import torch

    from skflux import pipeline
    from skflux.cli import main

    ens = tiny_fitted_ensemble[0] if isinstance(tiny_fitted_ensemble, tuple) \
        else tiny_fitted_ensemble
    monkeypatch.setattr(pipeline, "fit", lambda *a, **k: ens)

    def full_disk(obj, f, *a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "model"
    argv, _ = _commands(nc_data, tmp_path, out)["fit"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"MODEL_DIR {out}: could not be written" in err and "disk" in err, err
    assert ".partial" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**6)
                     | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


@given(video=_JSON, frame=_JSON)
@settings(max_examples=200, deadline=None)
def test_label_studio_numbers_are_read_exactly_or_refused(tmp_path_factory, video, frame):
    """Whatever JSON a task holds, a position or frame is its exact integer or an error
    naming the task: never a coerced value, never another exception type."""
    from skflux.relabel._web import read_label_studio_export

    path = tmp_path_factory.mktemp("ls") / "export.json"
    path.write_text(json.dumps([{"skflux_video": video, "verdict": "emergence",
                                 "emergence_frame": frame}]))

    def exact(value):
        if isinstance(value, bool):
            return None
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value) if value >= 0 else None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        return None

    want_video = exact(video)
    want_frame = None if frame in (None, "") else exact(frame)
    try:
        got = read_label_studio_export(path)
    except ValueError as exc:
        assert f"{path}, task 0" in str(exc)
        assert want_video is None or want_frame is None
        return
    assert want_video is not None and (frame in (None, "") or want_frame is not None)
    assert got == {want_video: ("emergence", want_frame, "", f"Label Studio export {path}, "
                                                             "task 0")}
