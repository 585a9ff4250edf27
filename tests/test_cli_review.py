"""``skflux relabel --oracle web`` and ``skflux review``: a subprocess answered over HTTP.

The page itself is tested in a real browser in test_web_review.py; here the
command's side: the address it prints, verdicts posted with its token ending
up in the review log (reviewer and seconds in their columns), exit status 3
when the reviewer stops, and ``skflux review`` resuming from the options the
log recorded.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from skflux.relabel import ReviewLog

TINY_NET = ["--epochs", "1", "--param", "module__widths=(2, 2, 4, 4)", "--param",
            "module__top=4", "--param", "module__dense=4"]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: Longest wait for an event (a hang, not a slow machine: a loaded 2-core box must
#: not fail these tests).
WAIT = 600


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_videos):
    from skflux.io import to_netcdf

    path = tmp_path_factory.mktemp("review") / "data.nc"
    to_netcdf(tiny_videos, path)
    return path


def start(*args, cwd):
    """Start ``skflux ARGS``; return the process and the first line that starts with http://."""
    proc = subprocess.Popen([sys.executable, "-m", "skflux", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("http://"):
            return proc, line.strip()
    raise AssertionError(f"no address printed (exit {proc.wait()}):\n{''.join(seen)}")


def call(url, kind, body=None, token=True):
    base, tok = url.split("/?token=")
    path = f"{base}/api/{kind}" + (f"?token={tok}" if token else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(path, data=data, method="GET" if body is None else "POST")
    try:
        with _OPENER.open(req, timeout=WAIT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def reviewing(url):
    import time

    deadline = time.monotonic() + WAIT
    while True:
        status, state = call(url, "state")
        assert status == 200
        if state["status"] == "reviewing":
            return state
        assert time.monotonic() < deadline, "the review never started"
        time.sleep(0.1)


def finish(proc):
    out = proc.communicate(timeout=WAIT)[0]
    return proc.returncode, out


def test_relabel_with_the_web_oracle_then_skflux_review_resumes(data, tiny_videos):
    work = data.parent
    truth = tiny_videos["true_label"].values
    proc, url = start("relabel", data, "--oracle", "web", "--no-browser", "--log", "r.db",
                      "--out", "new.nc", "--max-passes", "1", "--reviewer-name", "ana",
                      *TINY_NET, cwd=work)
    try:
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        assert call(url, "state", token=False)[0] == 403
        state = reviewing(url)
        n_total = state["n_total"]
        assert n_total >= 3
        given = []
        for _ in range(2):
            video = state["current"]
            status, answer = call(url, "verdict", {"video": video, "label": int(truth[video]),
                                                   "seconds": 1.25})
            assert status == 200 and answer["committed"] == [video]
            given.append((video, int(truth[video])))
            state = answer["state"]
        status, answer = call(url, "undo", {"video": given[-1][0]})  # logged, not deleted
        assert status == 200 and answer["retracted"] == [given.pop()[0]]
        assert call(url, "stop", {})[0] == 200
        status, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert status == 3, out
    assert "review pending" in out and not (work / "new.nc").exists()
    log = ReviewLog(work / "r.db")
    rows = log.verdicts()
    assert [(r["video"], r["verdict"]) for r in rows] == given
    assert all(r["reviewer"] == "ana" and r["seconds"] == 1.25 for r in rows)
    assert [r["retracts"] is not None for r in log.history()] == [False, False, True]
    recorded = json.loads(log.meta["command"])["options"]
    assert recorded["max_passes"] == 1 and recorded["out"] == "new.nc"

    # skflux review: the same options, from the log; only what is pending is shown
    proc, url = start("review", data, "--log", "r.db", "--no-browser", "--reviewer-name",
                      "bo", cwd=work)
    try:
        state = reviewing(url)
        assert state["n_total"] == n_total - len(given)
        assert state["current"] not in {v for v, _ in given}
        while state["current"] is not None:
            video = state["current"]
            status, answer = call(url, "verdict", {"video": video, "label": int(truth[video])})
            assert status == 200, answer
            given.append((video, int(truth[video])))
            state = answer["state"]
        assert call(url, "finish", {})[0] == 200
        status, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert status == 0, out
    rows = ReviewLog(work / "r.db").verdicts()
    assert [(r["video"], r["verdict"]) for r in rows] == given
    assert {r["reviewer"] for r in rows[1:]} == {"bo"}
    from skflux.io import open_videos

    labels = open_videos(work / "new.nc")["label"].values
    for video, label in given:
        assert labels[video] == label


def test_review_refuses_a_log_without_recorded_options(data, tmp_path):
    from skflux.cli import main

    log = ReviewLog(tmp_path / "api.db").open("fp", {"threshold": 0.5})
    log.close()
    assert main(["review", str(data), "--log", str(tmp_path / "api.db"),
                 "--no-browser"]) == 1
    assert main(["review", str(data), "--log", str(tmp_path / "missing.db"),
                 "--no-browser"]) == 1


def test_review_names_the_missing_options(data, tmp_path, capsys):
    from skflux.cli import main

    log = ReviewLog(tmp_path / "api.db").open("fp", {"threshold": 0.5})
    log.close()
    main(["review", str(data), "--log", str(tmp_path / "api.db"), "--no-browser"])
    err = capsys.readouterr().err
    assert "does not record the 'skflux relabel' options" in err and "--oracle web" in err
    broken = ReviewLog(tmp_path / "b.db", extra_meta={"command": json.dumps(
        {"command": "relabel", "options": {"out": None}})}).open("fp", {})
    broken.close()
    main(["review", str(data), "--log", str(tmp_path / "b.db"), "--no-browser"])
    assert "lack ['passes_json'" in capsys.readouterr().err


def test_bad_web_options_are_usage_errors(data, tmp_path):
    from skflux.cli import main

    base = ["relabel", str(data), "--oracle", "web", "--log", str(tmp_path / "r.db")]
    assert main(base + ["--port", "70000"]) == 2
    assert main(base + ["--model", str(tmp_path / "nope"), "--no-browser"]) == 1


def _log_recording(tmp_path, data, **changes):
    """A review log whose recorded 'skflux relabel' options have ``changes``."""
    from skflux.cli import build_parser
    from skflux.cli import relabel as cli_relabel

    log = tmp_path / "r.db"
    args = build_parser().parse_args(["relabel", str(data), "--oracle", "web", "--log",
                                      str(log), "--out", str(tmp_path / "new.nc")])
    for key, value in changes.items():
        setattr(args, key, value)
    ReviewLog(log, extra_meta=cli_relabel.recorded_options(args)).open("fp", {}).close()
    return log


def _files(folder):
    import gc

    gc.collect()  # SQLite's -wal/-shm files of a connection read from go with it
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("changes, flag, shown", [
    ({"device": "cuda:7"}, "--device", "cuda:7"),
    ({"device": "tpu"}, "--device", "tpu"),
    ({"module": "resnet"}, "--module", "resnet"),
    ({"param": [("module__widths", (2, "x"))]}, "--param", "module__widths"),
    ({"param": [("no_such_parameter", 3)]}, "--param", "no_such_parameter"),
    ({"epochs": 0}, "--epochs", "0"),
    ({"batch_size": 2.5}, "--batch-size", "2.5"),
    ({"port": 70000}, "--port", "70000"),
    ({"stop_ratio": 3}, "--stop-ratio", "3"),
])
def test_review_blames_a_bad_recorded_option_on_the_log_not_on_a_flag(data, tmp_path, capsys,
                                                                      changes, flag, shown):
    """Options recorded in a review log were blamed on flags the user never typed."""
    from skflux.cli import main

    log = _log_recording(tmp_path, data, **changes)
    before = _files(tmp_path)
    assert main(["review", str(data), "--log", str(log), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert f"argument {flag}" not in err  # not a usage error of this command line
    assert str(log) in err and "recorded" in err and flag in err and shown in err, err
    assert "Traceback" not in err
    assert _files(tmp_path) == before  # refused before anything was written


def test_review_says_a_recorded_host_opens_the_page_to_the_network(data, tmp_path, capsys):
    from skflux.cli import main

    log = _log_recording(tmp_path, data, host="0.0.0.0")
    missing = tmp_path / "gone.nc"  # the run stops right after the options are checked
    assert main(["review", str(missing), "--log", str(log), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "warning" in err and "0.0.0.0" in err and "reachable from the network" in err
    assert main(["review", str(missing), "--log", str(log), "--no-browser", "--host",
                 "127.0.0.1"]) == 1
    assert "reachable from the network" not in capsys.readouterr().err
    assert main(["review", str(missing), "--log", str(log), "--no-browser", "--host",
                 "::"]) == 1
    assert "reachable from the network" in capsys.readouterr().err
