import copy
import json
import os
import pickle
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux.relabel import ReviewLog, ReviewLogError
from skflux.relabel._review_log import FORMAT_VERSION, dataset_fingerprint, labels_sha

CONFIG = {"threshold": 0.5, "budget": None}


def _log(tmp_path, name="log.sqlite", **kw):
    return ReviewLog(tmp_path / name, **kw).open("fp", CONFIG, seed=7)


def _append(log, video, verdict=1, pass_index=1):
    log.append(video=video, video_id=f"v{video}", pass_index=pass_index, previous_label=0,
               proba=0.8, verdict=verdict)


def test_append_is_committed_before_returning(tmp_path):
    log = _log(tmp_path)
    _append(log, 3)
    _append(log, 1, verdict=0, pass_index=2)
    # a second, independent connection sees both rows while the first is still open
    other = sqlite3.connect(tmp_path / "log.sqlite")
    rows = other.execute("SELECT video, pass, verdict FROM verdicts ORDER BY seq").fetchall()
    other.close()
    assert rows == [(3, 1, 1), (1, 2, 0)]
    assert log._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log._con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    log.close()


def test_verdict_fields_and_frame(tmp_path):
    log = _log(tmp_path)
    log.append(video=5, video_id="bmr-5", pass_index=2, previous_label=1, proba=0.25,
               verdict=0, emergence_frame=None, note="weak")
    log.append(video=6, video_id="bmr-6", pass_index=2, previous_label=0, proba=float("nan"),
               verdict=1, emergence_frame=40)
    v = log.verdicts()
    assert [r["video"] for r in v] == [5, 6]
    assert v[0]["previous_label"] == 1 and v[0]["proba"] == pytest.approx(0.25)
    assert v[0]["note"] == "weak" and v[1]["emergence_frame"] == 40
    assert v[1]["proba"] is None
    assert v[0]["time"] < v[1]["time"]
    frame = log.to_frame()
    assert list(frame["video_id"]) == ["bmr-5", "bmr-6"] and len(log) == 2
    log.close()


def test_a_video_gets_one_verdict_only(tmp_path):
    log = _log(tmp_path)
    _append(log, 3)
    with pytest.raises(ReviewLogError, match="video 3 .*already has a verdict"):
        _append(log, 3, verdict=0, pass_index=2)
    assert len(log) == 1
    log.close()


def test_reopen_keeps_seed_and_rows(tmp_path):
    log = _log(tmp_path)
    _append(log, 0)
    log.close()
    again = ReviewLog(tmp_path / "log.sqlite").open("fp", CONFIG, seed=99)
    assert again.seed == 7  # the log keeps the seed it was created with
    assert [r["video"] for r in again.verdicts()] == [0]
    assert again.meta["format"] == "skflux-review-log"
    assert int(again.meta["version"]) == FORMAT_VERSION
    again.close()


def test_reading_without_open(tmp_path):
    log = _log(tmp_path)
    _append(log, 2)
    log.close()
    reader = ReviewLog(tmp_path / "log.sqlite")
    assert len(reader) == 1
    reader.close()
    with pytest.raises(ReviewLogError, match="does not exist"):
        ReviewLog(tmp_path / "missing.sqlite").verdicts()
    with pytest.raises(ReviewLogError, match="not open"):
        _append(ReviewLog(tmp_path / "log.sqlite"), 9)


def _unchanged(path, action):
    before = path.read_bytes()
    action()
    assert path.read_bytes() == before


def test_foreign_text_file_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("my precious notes\n" * 20)

    def go():
        with pytest.raises(ReviewLogError, match="not an SQLite database.*refusing"):
            ReviewLog(path).open("fp", CONFIG)

    _unchanged(path, go)


def test_foreign_sqlite_database_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE things (x INTEGER)")
    con.execute("INSERT INTO things VALUES (42)")
    con.commit()
    con.close()

    def go():
        with pytest.raises(ReviewLogError, match="not a skflux review log"):
            ReviewLog(path).open("fp", CONFIG)

    _unchanged(path, go)


def test_corrupt_log_refused_and_untouched(tmp_path):
    log = _log(tmp_path)
    for i in range(50):
        _append(log, i)
    log.close()
    path = tmp_path / "log.sqlite"
    data = bytearray(path.read_bytes())
    data[100:len(data)] = b"\xff" * (len(data) - 100)  # keep the header, smash the rest
    path.write_bytes(bytes(data))

    def go():
        with pytest.raises(ReviewLogError, match=str(path.name)):
            ReviewLog(path).open("fp", CONFIG)

    _unchanged(path, go)


def test_other_dataset_or_settings_refused(tmp_path):
    log = _log(tmp_path)
    _append(log, 1)
    log.close()
    path = tmp_path / "log.sqlite"
    with pytest.raises(ReviewLogError, match="another dataset"):
        ReviewLog(path).open("other-fp", CONFIG)
    with pytest.raises(ReviewLogError, match="budget: None in the log"):
        ReviewLog(path).open("fp", {"threshold": 0.5, "budget": 10})
    assert len(ReviewLog(path)) == 1


def test_newer_version_refused(tmp_path):
    _log(tmp_path).close()
    path = tmp_path / "log.sqlite"
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(FORMAT_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(ReviewLogError, match="Upgrade skflux"):
        ReviewLog(path).open("fp", CONFIG)


def test_directory_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ReviewLogError, match="directory"):
        ReviewLog(tmp_path / "d").open("fp", CONFIG)


def test_empty_file_becomes_a_log(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    log = ReviewLog(path).open("fp", CONFIG)
    _append(log, 0)
    log.close()
    assert len(ReviewLog(path)) == 1


def test_passes_round_trip_without_models(tmp_path):
    log = _log(tmp_path)
    y = (np.arange(20) > 9).astype(int)
    oof = np.linspace(0, 1, 20)
    oof[3] = np.nan
    assert log.load_pass(1) is None
    log.save_trained(1, labels_sha(y), oof)
    got = log.load_pass(1)
    assert got["stage"] == "trained" and got["record"] is None and "models" not in got
    np.testing.assert_array_equal(got["oof_proba"], oof)
    log.save_done(1, {"pass_index": 1, "n": np.int64(4), "r": np.float64(0.5)})
    log.save_trained(2, labels_sha(1 - y), oof)
    assert log.load_pass(1)["record"] == {"pass_index": 1, "n": 4, "r": 0.5}
    assert log.load_pass(2)["stage"] == "trained"
    with pytest.raises(ReviewLogError, match="never trained"):
        log.save_done(5, {})
    log.close()
    columns = {r[1] for r in sqlite3.connect(tmp_path / "log.sqlite").execute(
        "PRAGMA table_info(passes)")}
    assert "models" not in columns


class _Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _v1_log_with_pickled_models(tmp_path, marker):
    """A review log as skflux 0.x (format 1) wrote it: passes.models holds a pickle."""
    path = tmp_path / "shared.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE verdicts (seq INTEGER PRIMARY KEY AUTOINCREMENT, video INTEGER NOT NULL
            UNIQUE, video_id TEXT NOT NULL, pass INTEGER NOT NULL, previous_label INTEGER NOT
            NULL, proba REAL, verdict INTEGER NOT NULL, emergence_frame INTEGER, note TEXT NOT
            NULL DEFAULT '', time TEXT NOT NULL);
        CREATE TABLE passes (pass INTEGER PRIMARY KEY, stage TEXT NOT NULL, labels_sha TEXT
            NOT NULL, oof_proba BLOB NOT NULL, models BLOB, record TEXT, time TEXT NOT NULL);
    """)
    con.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", "skflux-review-log"), ("version", "1"), ("fingerprint", "fp"),
        ("config", json.dumps(CONFIG, sort_keys=True)), ("seed", "7")])
    con.execute("INSERT INTO passes VALUES (1, 'trained', 'x', ?, ?, NULL, 'now')",
                (np.zeros(4).tobytes(), pickle.dumps([_Payload(marker)])))
    con.commit()
    con.close()
    return path


def test_a_log_carrying_a_pickle_is_refused_and_the_payload_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    path = _v1_log_with_pickled_models(tmp_path, marker)
    before = path.read_bytes()
    with pytest.raises(ReviewLogError, match=r"shared.sqlite holds pickled fold models.*never "
                                             r"unpickles.*UPDATE passes SET models = NULL"):
        ReviewLog(path).open("fp", CONFIG)
    with pytest.raises(ReviewLogError, match="pickled"):
        ReviewLog(path).load_pass(1)
    assert not marker.exists() and path.read_bytes() == before
    assert not ReviewLog(path).lock_path.exists()
    # the fix the message gives keeps the verdicts and makes the log usable
    con = sqlite3.connect(path)
    con.execute("UPDATE passes SET models = NULL")
    con.commit()
    con.close()
    log = ReviewLog(path).open("fp", CONFIG)
    assert log.load_pass(1)["stage"] == "trained" and log.seed == 7
    log.close()
    assert not marker.exists()


_HOLD_SCRIPT = """
import sys, time
from skflux.relabel import ReviewLog
log = ReviewLog(sys.argv[1]).open("fp", {"threshold": 0.5, "budget": None})
print("locked", flush=True)
sys.stdin.readline()
"""


def test_second_open_is_refused_naming_the_process_and_stale_locks_are_taken_over(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "log.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_SCRIPT, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ReviewLogError, match=rf"in use by another process \(pid "
                                                 rf"{holder.pid}\).*log.sqlite.lock"):
            ReviewLog(path).open("fp", CONFIG)
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind
        holder.wait()
    assert ReviewLog(path).lock_path.read_text().split()[0] == str(holder.pid)
    log = ReviewLog(path).open("fp", CONFIG)  # the dead process's lock is taken over
    assert log.lock_path.read_text().split()[0] == str(os.getpid())
    with pytest.raises(ReviewLogError, match=rf"in use by this process \(pid {os.getpid()}"):
        ReviewLog(path).open("fp", CONFIG)
    log.close()
    assert not log.lock_path.exists()
    ReviewLog(path).open("fp", CONFIG).close()


def test_copy_and_pickle_drop_the_connection(tmp_path):
    log = _log(tmp_path)
    _append(log, 0)
    dup = copy.deepcopy(log)
    assert dup._con is None and dup.path == log.path
    restored = pickle.loads(pickle.dumps(log))
    assert restored._con is None and len(restored) == 1
    assert "log.sqlite" in repr(log)
    log.close()


def test_fingerprint_sees_labels_folds_and_ids():
    y = np.array([0, 1, 1, 0])
    fold = np.array([0, 1, 0, -1])
    ids = ["a", "b", "c", "d"]
    base = dataset_fingerprint(y, fold, ids)
    assert base == dataset_fingerprint(y.copy(), fold.copy(), list(ids))
    assert base != dataset_fingerprint(1 - y, fold, ids)
    assert base != dataset_fingerprint(y, np.array([0, 1, 1, -1]), ids)
    assert base != dataset_fingerprint(y, fold, ["a", "b", "d", "c"])


@settings(max_examples=15)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 9), st.integers(0, 1),
                          st.integers(0, 1), st.one_of(st.none(), st.integers(0, 224)),
                          st.text(max_size=20)),
                unique_by=lambda t: t[0], max_size=25))
def test_any_verdict_sequence_round_trips(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("h") / "log.sqlite"
    log = ReviewLog(path).open("fp", CONFIG)
    for video, p, prev, verdict, frame, note in rows:
        log.append(video=video, video_id=str(video), pass_index=p, previous_label=prev,
                   proba=0.5, verdict=verdict, emergence_frame=frame, note=note)
    log.close()
    back = ReviewLog(path).verdicts()
    assert [(r["video"], r["pass"], r["previous_label"], r["verdict"], r["emergence_frame"],
             r["note"]) for r in back] == rows


# ---------------------------------------------------------------------- format 3
def test_reviewer_and_seconds_are_stored_in_their_columns(tmp_path):
    log = _log(tmp_path)
    log.append(video=2, video_id="v2", pass_index=1, previous_label=0, proba=0.7, verdict=1,
               reviewer="ana", seconds=3.25)
    _append(log, 4)
    rows = log.verdicts()
    assert (rows[0]["reviewer"], rows[0]["seconds"]) == ("ana", 3.25)
    assert (rows[1]["reviewer"], rows[1]["seconds"]) == (None, None)
    assert list(log.to_frame().columns[-3:]) == ["reviewer", "seconds", "retracts"]
    with pytest.raises(ValueError, match="seconds .*video 5"):
        log.append(video=5, video_id="v5", pass_index=1, previous_label=0, proba=0.5,
                   verdict=1, seconds=-1.0)
    assert len(log) == 2
    log.close()


def test_an_undo_appends_a_retraction_and_the_last_unretracted_verdict_counts(tmp_path):
    log = _log(tmp_path)
    _append(log, 3, verdict=1)
    _append(log, 4, verdict=0)
    log.retract(video=3, pass_index=1, reviewer="ana", note="wrong key")
    assert [r["video"] for r in log.verdicts()] == [4] and len(log) == 1
    with pytest.raises(ReviewLogError, match="video 3 has no verdict to retract"):
        log.retract(video=3, pass_index=1)
    _append(log, 3, verdict=0)  # the new verdict after the undo
    with pytest.raises(ReviewLogError, match="video 3 .*already has a verdict"):
        _append(log, 3, verdict=1)
    with pytest.raises(ReviewLogError, match="pass 1, not pass 2"):
        log.retract(video=4, pass_index=2)
    history = log.history()
    assert [(r["seq"], r["video"], r["verdict"], r["retracts"]) for r in history] == [
        (1, 3, 1, None), (2, 4, 0, None), (3, 3, None, 1), (4, 3, 0, None)]
    assert history[2]["note"] == "wrong key" and history[2]["reviewer"] == "ana"
    assert [(r["video"], r["verdict"]) for r in log.verdicts()] == [(4, 0), (3, 0)]
    assert len(log.to_frame(history=True)) == 4
    # nothing is ever deleted or changed: the database refuses a second retraction too
    with pytest.raises(sqlite3.IntegrityError):
        log._con.execute("INSERT INTO verdicts (video, video_id, pass, previous_label, note, "
                         "time, retracts) VALUES (3, 'v3', 1, 0, '', 'now', 1)")
    log.close()


def _v2_log(tmp_path):
    """A review log as the previous skflux (format 2) wrote it: one row per video."""
    path = tmp_path / "v2.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE verdicts (seq INTEGER PRIMARY KEY AUTOINCREMENT, video INTEGER NOT NULL
            UNIQUE, video_id TEXT NOT NULL, pass INTEGER NOT NULL, previous_label INTEGER NOT
            NULL, proba REAL, verdict INTEGER NOT NULL CHECK (verdict IN (0, 1)),
            emergence_frame INTEGER, note TEXT NOT NULL DEFAULT '', time TEXT NOT NULL);
        CREATE TABLE passes (pass INTEGER PRIMARY KEY, stage TEXT NOT NULL, labels_sha TEXT
            NOT NULL, oof_proba BLOB NOT NULL, record TEXT, time TEXT NOT NULL);
    """)
    con.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", "skflux-review-log"), ("version", "2"), ("fingerprint", "fp"),
        ("config", json.dumps(CONFIG, sort_keys=True)), ("seed", "7")])
    con.executemany("INSERT INTO verdicts (video, video_id, pass, previous_label, proba, "
                    "verdict, emergence_frame, note, time) VALUES (?, ?, 1, 0, 0.9, ?, ?, "
                    "'reviewer=bo; seconds=2.00', ?)",
                    [(5, "v5", 1, 12, "t1"), (2, "v2", 0, None, "t2")])
    con.commit()
    con.close()
    return path


def test_a_format_2_log_is_read_as_it_is_and_migrated_when_opened_for_writing(tmp_path):
    path = _v2_log(tmp_path)
    old = ReviewLog(path).verdicts()  # reading does not migrate
    assert [(r["video"], r["verdict"], r["emergence_frame"], r["reviewer"]) for r in old] == [
        (5, 1, 12, None), (2, 0, None, None)]
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("2",)
    con.close()
    log = ReviewLog(path).open("fp", CONFIG)
    assert int(log.meta["version"]) == FORMAT_VERSION == 3
    assert log.meta["migrated"].startswith("from version 2")
    assert log.verdicts() == [dict(r) for r in old]  # every row kept, unchanged
    log.retract(video=2, pass_index=1)
    log.append(video=2, video_id="v2", pass_index=1, previous_label=0, proba=0.9, verdict=1,
               reviewer="ana", seconds=1.5)
    assert [(r["seq"], r["retracts"]) for r in log.history()] == [
        (1, None), (2, None), (3, 2), (4, None)]
    log.close()
    again = ReviewLog(path).open("fp", CONFIG)  # a migrated log opens as any other
    assert [(r["video"], r["verdict"]) for r in again.verdicts()] == [(5, 1), (2, 1)]
    again.close()


def test_extra_meta_is_written_once_and_never_overwritten(tmp_path):
    log = _log(tmp_path, extra_meta={"command": "first"})
    log.close()
    log = _log(tmp_path, extra_meta={"command": "second", "other": "x"})
    assert log.meta["command"] == "first" and log.meta["other"] == "x"
    log.close()
    assert copy.deepcopy(log).extra_meta == {"command": "second", "other": "x"}
    with pytest.raises(ValueError, match="own keys.*version"):
        ReviewLog(tmp_path / "x.sqlite", extra_meta={"version": "9"})


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["verdict", "undo"]), st.integers(0, 3),
                          st.integers(1, 2), st.integers(0, 1)), max_size=30))
def test_any_sequence_of_verdicts_and_undos_keeps_one_effective_verdict_per_video(
        tmp_path_factory, ops):
    """The log against a dict model: refusals change nothing, rows are never lost."""
    path = tmp_path_factory.mktemp("u") / "log.sqlite"
    log = ReviewLog(path).open("fp", CONFIG)
    model, n_rows = {}, 0  # video -> (pass, verdict) of its effective verdict
    for kind, video, p, verdict in ops:
        if kind == "verdict":
            ok = video not in model
            try:
                _append(log, video, verdict=verdict, pass_index=p)
            except ReviewLogError:
                assert not ok
            else:
                assert ok
                model[video] = (p, verdict)
        else:
            ok = video in model and model[video][0] == p
            try:
                log.retract(video=video, pass_index=p)
            except ReviewLogError:
                assert not ok
            else:
                assert ok
                del model[video]
        n_rows += ok
    log.close()
    back = ReviewLog(path)
    assert {r["video"]: (r["pass"], r["verdict"]) for r in back.verdicts()} == model
    assert len(back) == len(model) and len(back.history()) == n_rows
