"""A durable review log: every oracle verdict is on disk the moment it is given.

The log is one SQLite file (Python's standard :mod:`sqlite3`) in write-ahead
mode with ``synchronous=FULL``: each verdict is one row, committed by itself,
so killing the process (even ``SIGKILL``) or losing power loses no verdict
that was already given. Tables:

``meta``
    ``format`` (the marker ``skflux-review-log``), ``version``, ``fingerprint``
    (of the dataset: number of videos, crude labels, month-block folds and video
    ids), ``config`` (the relabeling settings that decide which videos are shown),
    ``seed`` (the base seed drawn for the fold models), ``created``, and
    ``migrated`` (when an older log was brought to this format); callers may
    add keys of their own (``extra_meta``: the ``skflux relabel`` command
    records its options under ``command``).
``verdicts``
    One row per verdict, append-only: ``seq``, ``video`` (position in ``X``),
    ``video_id``, ``pass``, ``previous_label``, ``proba``, ``verdict``,
    ``emergence_frame``, ``note``, ``time`` (UTC, ISO 8601), ``reviewer`` (who
    gave it, or NULL), ``seconds`` (seconds spent on it, or NULL) and
    ``retracts``. An *undo* deletes nothing: it appends a row whose
    ``retracts`` is the ``seq`` of the verdict it withdraws (its ``verdict``
    and ``emergence_frame`` are NULL); a verdict is retracted at most once, and
    only within its own pass. A video's effective verdict is its last verdict
    that no row retracts; a video has at most one (a new verdict on a video
    that has one is refused), so no video is reviewed twice unless its verdict
    was withdrawn. :meth:`ReviewLog.verdicts` gives the effective verdicts,
    :meth:`ReviewLog.history` every row.
``passes``
    Per pass: ``stage`` ``"trained"`` once its fold models are fitted (with the
    out-of-fold probabilities, 8 bytes per video), then ``"done"`` with the
    pass record (the numbers of Figure 3), so a resumed fit neither retrains
    nor re-reviews a finished pass.

That is all resume needs: the fold models themselves are not stored (a
resumed fit that ends on a pass read from the log retrains that pass's models,
with the same seeds, for ``predict``), so the log stays small, whatever the
network: 8 bytes per video and pass plus about 100 bytes per verdict (1,600
simulated videos, four passes: 176 kB, 113 bytes per video, measured by
``benchmarks/bench_review_log.py``) and holds
nothing that runs code. Logs
of format version 1 could hold pickled fold models; such a log is refused
(the pickle is never read) with the command that removes them.

Format versions: 3 added the ``reviewer``, ``seconds`` and ``retracts``
columns (and lifted the one-row-per-video rule, now enforced per effective
verdict). A log of version 1 or 2 is read as it is (those columns read as
NULL) and migrated in place, in one transaction, the first time a fit opens
it for writing: its rows are copied, unchanged, into the new table. A log of
a newer version is refused.

Labels and verdicts are stored as codes: 1 for emergence (the positive
class), 0 for the other.

While a fit uses the log, it holds an exclusive ``flock`` on the lock file
``<log>.lock`` (which also names its process, for the messages), keeping a
second run off the same log. The kernel drops the ``flock`` of a process that
dies (even killed), so its lock is taken over at once, by exactly one process
however many try together. A lock file that is a symbolic link or holds no
process id is refused, never followed, read through or changed.

A new log is built complete (schema and ``meta``, format marker included) in a
private sibling file and renamed into place, so a failed creation (full disk,
read-only folder) leaves no file behind; a marker-less log that an older skflux
left after such a failure is recognised and explained (it holds nothing).

A file that is not an SQLite database, an SQLite database without the format
marker, a log of a newer format, or a log of another dataset or other settings
is refused with :class:`ReviewLogError`; such a file is never modified.
"""

import datetime as _dt
import errno
import hashlib
import json
import os
import socket
import sqlite3
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, atomic_write_text
from .._jsonutil import json_default

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None

FORMAT_MARKER = "skflux-review-log"
FORMAT_VERSION = 3
_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
%(verdicts)s
CREATE TABLE IF NOT EXISTS passes (
    pass INTEGER PRIMARY KEY,
    stage TEXT NOT NULL CHECK (stage IN ('trained', 'done')),
    labels_sha TEXT NOT NULL,
    oof_proba BLOB NOT NULL,
    record TEXT,
    time TEXT NOT NULL
);
"""


_VERDICTS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    video INTEGER NOT NULL,
    video_id TEXT NOT NULL,
    pass INTEGER NOT NULL,
    previous_label INTEGER NOT NULL,
    proba REAL,
    verdict INTEGER CHECK (verdict IN (0, 1)),
    emergence_frame INTEGER,
    note TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL,
    reviewer TEXT,
    seconds REAL CHECK (seconds IS NULL OR seconds >= 0),
    retracts INTEGER UNIQUE REFERENCES {name} (seq),
    CHECK ((retracts IS NULL) = (verdict IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS {name}_video ON {name} (video);
"""
_SCHEMA = _SCHEMA % {"verdicts": _VERDICTS_TABLE.format(name="verdicts")}
# the columns of a version-2 verdict row, copied as they are by the migration
_V2_COLUMNS = ("seq, video, video_id, pass, previous_label, proba, verdict, "
               "emergence_frame, note, time")
COLUMNS = ("seq", "video", "video_id", "pass", "previous_label", "proba", "verdict",
           "emergence_frame", "note", "time", "reviewer", "seconds", "retracts")
# meta keys the log itself writes (extra_meta may not use them)
_OWN_META = {"format", "version", "fingerprint", "config", "seed", "created", "migrated"}


class ReviewLogError(ValueError):
    """A review log file that cannot be used: corrupt, foreign, or of another dataset."""


def _now():
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def labels_sha(labels):
    """SHA-256 of a 0/1 label vector (used to check that a resumed pass starts alike)."""
    return hashlib.sha256(np.asarray(labels, dtype=np.int8).tobytes()).hexdigest()


def dataset_fingerprint(labels, fold_of, video_ids):
    """SHA-256 of what identifies a dataset for the relabeling.

    Parameters
    ----------
    labels : array-like of {0, 1}
        Crude labels.
    fold_of : array-like of int
        Validation fold of every video (-1 outside every fold).
    video_ids : sequence of str
        Video identifiers.

    Returns
    -------
    str
        Hex digest. Pixel values are not hashed (the videos may be lazy and
        large); the labels, the fold of each video and the ids are.
    """
    h = hashlib.sha256()
    labels = np.asarray(labels, dtype=np.int8)
    h.update(str(labels.shape[0]).encode())
    h.update(labels.tobytes())
    h.update(np.asarray(fold_of, dtype=np.int64).tobytes())
    h.update("\x1f".join(map(str, video_ids)).encode())
    return h.hexdigest()


class ReviewLog:
    """Append-only SQLite store of oracle verdicts and finished relabeling passes.

    Pass a path (or a ``ReviewLog``) as ``review_log`` to
    :class:`~skflux.relabel.IterativeRelabeler`; calling ``fit`` again with the
    same file resumes an interrupted run: videos that already have a verdict are
    never shown again, passes already finished are not recomputed, and the
    final labels equal those of an uninterrupted run.

    Parameters
    ----------
    path : str or path-like
        The log file. Created when missing (or empty); an existing file must be
        a skflux review log.
    extra_meta : dict of str to str, optional
        Keys of your own for the ``meta`` table, written by :meth:`open` when
        the log does not have them yet (an existing value is kept, never
        overwritten). The log's own keys (``format``, ``version``...) are
        refused.

    Attributes
    ----------
    path : pathlib.Path
        The file.

    Raises
    ------
    ReviewLogError
        From :meth:`open` (and the readers) when the file is not an SQLite
        database, lacks the skflux format marker, has a newer format version, is
        damaged, holds pickled fold models, or belongs to another dataset or
        other settings; from :meth:`open` also while another process has it
        open (the message names that process).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "review.sqlite")
    >>> log = ReviewLog(path)
    >>> with log.open(fingerprint="abc", config={"threshold": 0.5}):
    ...     for label in (0, 1):  # a verdict, its undo, the new verdict
    ...         seq = log.append(video=3, video_id="bmr-7", pass_index=1, previous_label=0,
    ...                          proba=0.9, verdict=label, reviewer="ana", seconds=4.5)
    ...         if label == 0:
    ...             seq = log.retract(video=3, pass_index=1, reviewer="ana")
    >>> [(v["video"], v["verdict"], v["reviewer"]) for v in log.verdicts()]
    [(3, 1, 'ana')]
    >>> [(v["seq"], v["verdict"], v["retracts"]) for v in log.history()]
    [(1, 0, None), (2, None, 1), (3, 1, None)]
    """

    def __init__(self, path, extra_meta=None):
        self.path = Path(os.fspath(path))
        self.extra_meta = None if extra_meta is None else dict(extra_meta)
        clash = _OWN_META & set(self.extra_meta or ())
        if clash:
            raise ValueError(f"extra_meta may not set the review log's own keys {sorted(clash)}")
        if any(not isinstance(k, str) or not isinstance(v, str)
               for k, v in (self.extra_meta or {}).items()):
            raise TypeError("extra_meta must map str keys to str values")
        self._con = None
        self._locked = False
        self._lock_fd = None

    def __repr__(self):
        return f"ReviewLog({str(self.path)!r})"

    # the connection never travels with copies (sklearn.clone deep-copies parameters)
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_con"] = None
        state["_locked"] = False
        state["_lock_fd"] = None
        return state

    def __deepcopy__(self, memo):
        return ReviewLog(self.path, self.extra_meta)

    # ------------------------------------------------------------------ lock
    @property
    def lock_path(self):
        """The lock file held while a fit uses the log: ``<log>.lock``."""
        return self.path.with_name(self.path.name + ".lock")

    def _acquire_lock(self):
        """Hold ``<log>.lock``: an exclusive ``flock`` on it, with this process's id inside.

        The kernel releases the ``flock`` when its process dies, so a killed
        run's lock is free at once and exactly one process can take it over;
        the process id in the file is only for the messages. A lock file that
        is a symbolic link, or that holds no process id, is refused (never
        followed, read through or changed).
        """
        if _fcntl is None:  # pragma: no cover - no flock (Windows): O_EXCL lock file
            return self._acquire_excl_lock()
        lock = self.lock_path
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(20):
            fd = _open_lock(lock, self.path)
            try:
                try:
                    _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
                except BlockingIOError:
                    owner = _lock_owner_text(_read_lock(fd), lock, self.path, held=True)
                    raise ReviewLogError(
                        f"review log {self.path} is in use by {owner} (lock file {lock}); wait "
                        "until that run ends.") from None
                try:
                    same = os.fstat(fd).st_ino == os.stat(lock, follow_symlinks=False).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # released (and removed) meanwhile: lock the new file
                    os.close(fd)
                    fd = None
                    continue
                text = _read_lock(fd)
                if text is None or text.strip():  # a dead (or older skflux's) process's lock
                    owner = _lock_owner_text(text, lock, self.path, held=False)
                    if owner is not None:
                        raise ReviewLogError(
                            f"review log {self.path} is in use by {owner} (lock file {lock}); "
                            "wait until that run ends. If that process is gone, delete the "
                            "lock file.")
                try:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, me.encode(), 0)
                    os.fsync(fd)
                except OSError as exc:  # full disk, quota...: leave no lock behind
                    lock.unlink(missing_ok=True)
                    raise ReviewLogError(
                        f"cannot write the lock file {lock} of review log {self.path} "
                        f"({exc.strerror or exc}): is the disk full or the folder "
                        "read-only? Nothing was written.") from exc
            except BaseException:
                if fd is not None:
                    os.close(fd)
                raise
            self._lock_fd = fd
            self._locked = True
            return
        raise ReviewLogError(f"could not take the lock file {lock} of review log {self.path}: "
                             "other processes kept replacing it")

    def _acquire_excl_lock(self):  # pragma: no cover - only where flock is missing
        lock = self.lock_path
        me = f"{os.getpid()} {socket.gethostname()}\n"
        try:
            _create_with(lock, me)
        except FileExistsError:
            raise ReviewLogError(
                f"review log {self.path} is in use (lock file {lock}); wait until that run "
                "ends. If no skflux run uses it, delete the lock file.") from None
        except OSError as exc:
            raise ReviewLogError(f"cannot create the lock file {lock} of review log "
                                 f"{self.path}: {exc}") from exc
        self._lock_fd = None
        self._locked = True

    def _release_lock(self):
        if self._locked:
            self._locked = False
            try:  # removed while still held, so no other process locks a file on its way out
                self.lock_path.unlink()
            except FileNotFoundError:  # pragma: no cover - removed by hand
                pass
            fd, self._lock_fd = getattr(self, "_lock_fd", None), None
            if fd is not None:
                os.close(fd)

    # ------------------------------------------------------------------ opening
    def _check_file(self):
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        if self.path.is_dir():
            raise ReviewLogError(f"review log {self.path} is a directory")
        with open(self.path, "rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
        if head != _SQLITE_HEADER:
            raise ReviewLogError(
                f"{self.path} is not a skflux review log (not an SQLite database: corrupt "
                "or a different kind of file); refusing to use or overwrite it. "
                "Pass another path."
            )
        return True

    def _create(self, rows):
        """Write a complete new log (schema and ``meta`` ``rows``) and rename it into place.

        The log is built in a private sibling file in one transaction, synced,
        switched to write-ahead mode, and only then renamed onto :attr:`path`
        (missing or empty; the caller holds the lock): a failure (full disk,
        read-only folder) leaves no file, and never a log without its format
        marker.
        """
        con, debris = None, []
        try:  # the caller holds the lock and found no log or an empty file at the path
            with atomic_path(self.path, overwrite=True) as tmp:
                debris = [tmp.with_name(tmp.name + suffix)
                          for suffix in ("-journal", "-wal", "-shm")]
                con = sqlite3.connect(tmp, isolation_level=None)
                con.execute("PRAGMA synchronous=FULL")
                con.execute("BEGIN")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.executemany("INSERT INTO meta VALUES (?, ?)", rows)
                con.execute("COMMIT")
                if con.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                    raise sqlite3.OperationalError("cannot switch to write-ahead logging")
                con.close()
                con = None
                if any(p.exists() for p in debris):
                    raise sqlite3.OperationalError("the new log was not written out completely")
        except (sqlite3.Error, OSError) as exc:
            if con is not None:
                con.close()
            for p in debris:
                p.unlink(missing_ok=True)
            raise ReviewLogError(
                f"cannot create the review log {self.path} ({exc}): is the disk full or the "
                "folder read-only? Nothing was written.") from exc

    def _connect(self, *, create, rows=None):
        exists = self._check_file()
        if not exists and not create:
            raise ReviewLogError(f"review log {self.path} does not exist")
        if not exists:
            self._create(rows)
            exists = True
        try:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            if exists:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
                marker = None
                if "meta" in tables:
                    row = con.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                    marker = row and row[0]
                if marker is None and {"meta", "verdicts", "passes"} <= tables and not any(
                        con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                        for t in ("meta", "verdicts", "passes")):
                    con.close()
                    raise ReviewLogError(
                        f"{self.path} is a skflux review log whose creation was interrupted "
                        "(e.g. by a full disk, with skflux 0.x before issue 28) before its "
                        "format marker was written; it holds no verdict and no pass. Delete it "
                        "and rerun: a new log is created in its place.")
                if marker != FORMAT_MARKER:
                    con.close()
                    raise ReviewLogError(
                        f"{self.path} is an SQLite database but not a skflux review log "
                        f"(format marker {marker!r}, expected {FORMAT_MARKER!r}); refusing "
                        "to use or overwrite it. Pass another path."
                    )
                row = con.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                try:
                    version = int(row[0])
                except (TypeError, ValueError):
                    con.close()
                    raise ReviewLogError(
                        f"{self.path} is a damaged skflux review log: its format version is "
                        f"missing or not a number ({None if row is None else row[0]!r}); "
                        "refusing to use or overwrite it."
                    ) from None
                if version > FORMAT_VERSION:
                    con.close()
                    raise ReviewLogError(
                        f"{self.path} is a review log of format version {version}; this skflux "
                        f"reads version {FORMAT_VERSION} and older. Upgrade skflux."
                    )
                check = con.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    con.close()
                    raise ReviewLogError(f"review log {self.path} is damaged: {check}")
                missing = {"verdicts", "passes"} - tables
                if missing:
                    con.close()
                    raise ReviewLogError(
                        f"review log {self.path} lacks the tables {sorted(missing)}; damaged?")
                columns = {r[1] for r in con.execute("PRAGMA table_info(passes)")}
                if "models" in columns and con.execute(
                        "SELECT COUNT(*) FROM passes WHERE models IS NOT NULL").fetchone()[0]:
                    con.close()
                    raise ReviewLogError(
                        f"review log {self.path} holds pickled fold models (format version 1); "
                        "skflux never unpickles them, as a pickle can run code. If you trust "
                        "the file, keep its verdicts by removing the models: sqlite3 "
                        f"'{self.path}' 'UPDATE passes SET models = NULL'; then fit again "
                        "(the last pass's models are retrained)")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
        except sqlite3.OperationalError as exc:
            if "full" in str(exc) or "I/O" in str(exc) or "readonly" in str(exc):
                con.close()
                raise ReviewLogError(
                    f"cannot write the review log {self.path} ({exc}): is the disk full or "
                    "the folder read-only? The log was left as it was.") from exc
            raise ReviewLogError(
                f"{self.path} could not be read as a skflux review log ({exc}); refusing to "
                "use or overwrite it"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise ReviewLogError(
                f"{self.path} could not be read as a skflux review log ({exc}); refusing to "
                "use or overwrite it"
            ) from exc
        return con, exists

    def open(self, fingerprint, config, seed=None):
        """Open (or create) the log for a dataset and settings.

        Parameters
        ----------
        fingerprint : str
            Dataset fingerprint (see :func:`dataset_fingerprint`).
        config : dict
            JSON-serialisable settings that decide which videos are shown.
        seed : int, optional
            Base seed to record in a new log (an existing log keeps its own).

        Returns
        -------
        self : ReviewLog
            Usable as a context manager that closes the connection.

        Raises
        ------
        ReviewLogError
            See the class docstring; also when ``fingerprint`` or ``config``
            differ from those the log was created with.
        """
        self.close()
        self._acquire_lock()
        try:
            return self._open(fingerprint, config, seed)
        except BaseException:
            self._release_lock()
            raise

    def _open(self, fingerprint, config, seed):
        config_text = json.dumps(config, sort_keys=True, default=str)
        rows = [("format", FORMAT_MARKER), ("version", str(FORMAT_VERSION)),
                ("fingerprint", fingerprint), ("config", config_text), ("created", _now())]
        if seed is not None:
            rows.append(("seed", str(int(seed))))
        rows += sorted((self.extra_meta or {}).items())
        created = not self._check_file()
        con, _ = self._connect(create=True, rows=rows)
        if not created:
            meta = dict(con.execute("SELECT key, value FROM meta"))
            if meta.get("fingerprint") != fingerprint:
                con.close()
                raise ReviewLogError(
                    f"review log {self.path} belongs to another dataset (different number of "
                    "videos, crude labels, month blocks or video ids); refusing to mix "
                    "verdicts. Use a new log file for this dataset."
                )
            if meta.get("config") != config_text:
                con.close()
                old = json.loads(meta.get("config", "{}"))
                diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
                raise ReviewLogError(
                    f"review log {self.path} was written with other relabeling settings "
                    f"({', '.join(f'{k}: {old.get(k)!r} in the log' for k in diff)}); "
                    "resume with the same settings or use a new log file"
                )
            if int(meta["version"]) < FORMAT_VERSION:
                self._migrate(con, int(meta["version"]))
        if self.extra_meta and not created:
            with con:
                con.execute("BEGIN")
                con.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                                sorted(self.extra_meta.items()))
        self._con = con
        return self

    def _migrate(self, con, version):
        """Bring a log of format 1 or 2 to the current format, in one transaction.

        The verdict rows are copied unchanged into the new table (``reviewer``,
        ``seconds`` and ``retracts`` NULL); on any error nothing changes.
        """
        try:
            with con:
                con.execute("BEGIN IMMEDIATE")
                con.execute("ALTER TABLE verdicts RENAME TO verdicts_v2")
                for statement in _VERDICTS_TABLE.format(name="verdicts").split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"INSERT INTO verdicts ({_V2_COLUMNS}) "
                            f"SELECT {_V2_COLUMNS} FROM verdicts_v2 ORDER BY seq")
                con.execute("DROP TABLE verdicts_v2")
                con.execute("UPDATE meta SET value = ? WHERE key = 'version'",
                            (str(FORMAT_VERSION),))
                con.execute("INSERT OR REPLACE INTO meta VALUES ('migrated', ?)",
                            (f"from version {version} at {_now()}",))
        except sqlite3.DatabaseError as exc:
            con.close()
            raise ReviewLogError(
                f"review log {self.path} (format version {version}) could not be migrated to "
                f"version {FORMAT_VERSION} ({exc}); it was left unchanged") from exc

    def _reader(self):
        if self._con is not None:
            return self._con
        con, _ = self._connect(create=False)
        self._con = con
        return con

    def close(self):
        """Close the connection (everything is already committed) and release the lock."""
        if self._con is not None:
            self._con.close()
            self._con = None
        self._release_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ meta
    @property
    def meta(self):
        """dict of the ``meta`` table (format, version, fingerprint, config, seed, created)."""
        return dict(self._reader().execute("SELECT key, value FROM meta"))

    @property
    def seed(self):
        """The base seed recorded when the log was created, or None."""
        value = self.meta.get("seed")
        return None if value is None else int(value)

    # ------------------------------------------------------------------ verdicts
    def append(self, *, video, video_id, pass_index, previous_label, proba, verdict,
               emergence_frame=None, note="", reviewer=None, seconds=None):
        """Append one verdict and commit it to disk before returning.

        Parameters
        ----------
        video : int
            Position of the video in ``X``.
        video_id : str
        pass_index : int
        previous_label : {0, 1}
            The label under review.
        proba : float or None
            The out-of-fold probability shown.
        verdict : {0, 1}
        emergence_frame : int, optional
        note : str, default=""
        reviewer : str, optional
            Who gave the verdict.
        seconds : float, optional
            Seconds spent on it (>= 0).

        Returns
        -------
        seq : int
            The row's sequence number.

        Raises
        ------
        ReviewLogError
            When ``video`` already has an effective (not retracted) verdict: a
            video is reviewed once, unless its verdict was withdrawn.
        """
        con = self._require_open()
        if seconds is not None and not (np.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a finite number >= 0; got {seconds!r} for "
                             f"video {video} ({video_id})")
        with con:
            con.execute("BEGIN IMMEDIATE")
            if self._effective(con, video) is not None:
                raise ReviewLogError(
                    f"video {video} ({video_id}) already has a verdict in {self.path}")
            cur = con.execute(
                "INSERT INTO verdicts (video, video_id, pass, previous_label, proba, verdict, "
                "emergence_frame, note, time, reviewer, seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(video), str(video_id), int(pass_index), int(previous_label),
                 None if proba is None or not np.isfinite(proba) else float(proba),
                 int(verdict), None if emergence_frame is None else int(emergence_frame),
                 str(note or ""), _now(), None if reviewer is None else str(reviewer),
                 None if seconds is None else float(seconds)),
            )
            return cur.lastrowid

    def retract(self, *, video, pass_index, note="", reviewer=None):
        """Withdraw a video's verdict of pass ``pass_index`` (an undo); deletes nothing.

        Appends a row whose ``retracts`` is the ``seq`` of that verdict, and
        commits it before returning. The video then has no effective verdict.

        Returns
        -------
        seq : int
            The retraction row's sequence number.

        Raises
        ------
        ReviewLogError
            When the video has no effective verdict, or its verdict belongs to
            another pass (a finished pass's verdicts are final).
        """
        con = self._require_open()
        with con:
            con.execute("BEGIN IMMEDIATE")
            row = self._effective(con, video)
            if row is None:
                raise ReviewLogError(f"video {video} has no verdict to retract in {self.path}")
            seq, video_id, pass_, previous, proba = row
            if pass_ != int(pass_index):
                raise ReviewLogError(
                    f"the verdict on video {video} ({video_id}) in {self.path} was given in "
                    f"pass {pass_}, not pass {pass_index}; only a verdict of the pass under "
                    "review can be retracted")
            cur = con.execute(
                "INSERT INTO verdicts (video, video_id, pass, previous_label, proba, verdict, "
                "emergence_frame, note, time, reviewer, seconds, retracts) "
                "VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, NULL, ?)",
                (int(video), video_id, pass_, previous, proba, str(note or ""), _now(),
                 None if reviewer is None else str(reviewer), seq),
            )
            return cur.lastrowid

    @staticmethod
    def _effective(con, video):
        """``(seq, video_id, pass, previous_label, proba)`` of a video's effective verdict."""
        return con.execute(
            "SELECT v.seq, v.video_id, v.pass, v.previous_label, v.proba FROM verdicts v "
            "WHERE v.video = ? AND v.retracts IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM verdicts r WHERE r.retracts = v.seq) "
            "ORDER BY v.seq DESC LIMIT 1", (int(video),)).fetchone()

    def history(self):
        """Every row of the log, retractions included, in the order they were written.

        Returns
        -------
        list of dict
            Keys: :data:`COLUMNS` (``seq``, ``video``, ``video_id``, ``pass``,
            ``previous_label``, ``proba``, ``verdict``, ``emergence_frame``,
            ``note``, ``time``, ``reviewer``, ``seconds``, ``retracts``). A
            retraction row has ``retracts`` set and ``verdict`` None. Logs of
            format 1 or 2 not yet migrated read ``reviewer``, ``seconds`` and
            ``retracts`` as None.
        """
        cur = self._reader().execute("SELECT * FROM verdicts ORDER BY seq")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur]
        for row in rows:
            for key in ("reviewer", "seconds", "retracts"):
                row.setdefault(key, None)
        return rows

    def verdicts(self):
        """The effective verdicts (one per video at most) in the order they were given.

        A verdict withdrawn by a later retraction row is left out (see
        :meth:`history` for every row).

        Returns
        -------
        list of dict
            Keys as :meth:`history`; ``retracts`` is always None here.
        """
        rows = self.history()
        retracted = {r["retracts"] for r in rows if r["retracts"] is not None}
        return [r for r in rows if r["retracts"] is None and r["seq"] not in retracted]

    def to_frame(self, history=False):
        """The verdicts as a :class:`pandas.DataFrame`.

        Parameters
        ----------
        history : bool, default=False
            Every row, retractions included (:meth:`history`), instead of the
            effective verdicts (:meth:`verdicts`).
        """
        import pandas as pd

        return pd.DataFrame(self.history() if history else self.verdicts(),
                            columns=list(COLUMNS))

    def __len__(self):
        """Number of effective verdicts."""
        return len(self.verdicts())

    # ------------------------------------------------------------------ passes
    def save_trained(self, pass_index, labels_sha_, oof_proba):
        """Record that a pass's fold models are fitted (before any review of that pass).

        Parameters
        ----------
        pass_index : int
        labels_sha_ : str
            :func:`labels_sha` of the labels the models were trained on.
        oof_proba : ndarray of float, shape (n_videos,)
            Their out-of-fold probabilities (NaN outside the validation blocks).
        """
        con = self._require_open()
        oof = np.ascontiguousarray(oof_proba, dtype="<f8").tobytes()
        with con:
            con.execute("BEGIN")
            con.execute(
                "INSERT OR REPLACE INTO passes (pass, stage, labels_sha, oof_proba, record, "
                "time) VALUES (?, 'trained', ?, ?, NULL, ?)",
                (int(pass_index), labels_sha_, oof, _now()),
            )

    def save_done(self, pass_index, record):
        """Record that a pass is finished, with its record (a JSON-serialisable dict)."""
        con = self._require_open()
        with con:
            con.execute("BEGIN")
            cur = con.execute(
                "UPDATE passes SET stage = 'done', record = ?, time = ? WHERE pass = ?",
                (json.dumps(record, default=json_default), _now(), int(pass_index)),
            )
            if cur.rowcount != 1:
                raise ReviewLogError(f"pass {pass_index} was never trained in {self.path}")

    def load_pass(self, pass_index):
        """What the log holds about one pass.

        Returns
        -------
        dict or None
            None when the pass was not trained; else keys ``stage``,
            ``labels_sha``, ``oof_proba`` (ndarray) and ``record`` (dict or None).
        """
        row = self._reader().execute(
            "SELECT stage, labels_sha, oof_proba, record FROM passes WHERE pass = ?",
            (int(pass_index),),
        ).fetchone()
        if row is None:
            return None
        stage, sha, oof, record = row
        if not isinstance(oof, bytes) or len(oof) % 8:
            raise ReviewLogError(f"review log {self.path}: the probabilities of pass "
                                 f"{pass_index} are damaged")
        return {
            "stage": stage,
            "labels_sha": sha,
            "oof_proba": np.frombuffer(oof, dtype="<f8").copy(),
            "record": None if record is None else json.loads(record),
        }

    def _require_open(self):
        if self._con is None:
            raise ReviewLogError(f"review log {self.path} is not open; call open() first")
        return self._con


def _create_with(path, text):
    """Create ``path`` holding ``text``, atomically; FileExistsError when it exists.

    The text is written to a private file first and hard-linked to ``path``, so
    the lock file never exists without the process id in it (``O_EXCL``
    creation, then writing, where hard links are not available).
    """
    atomic_write_text(path, text, overwrite=False)  # linked into place: never clobbers


def _open_lock(lock, log_path):
    """Open (creating if missing) the lock file; never through a symbolic link."""
    if lock.is_symlink():
        raise ReviewLogError(
            f"the lock file {lock} of review log {log_path} is a symbolic link; skflux never "
            "follows it (it could point at any file). If no skflux run uses the log, delete "
            "the link.")
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                       | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link meanwhile
            raise ReviewLogError(
                f"the lock file {lock} of review log {log_path} is a symbolic link; skflux "
                "never follows it. If no skflux run uses the log, delete the link.") from None
        raise ReviewLogError(f"cannot open the lock file {lock} of review log {log_path}: "
                             f"{exc.strerror or exc}") from exc


def _read_lock(fd, limit=256):
    """The lock file's text (at most ``limit`` bytes), or None when it is not text."""
    data = os.pread(fd, limit, 0)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None


def _lock_owner_text(text, lock, log_path, held):
    """Who holds the lock ("process PID on HOST"), or None when nobody alive does.

    ``held``: another process holds the ``flock`` now (its id may still be on
    its way into the file). A lock file that does not read ``PID HOST`` is
    refused, described, never quoted.
    """
    fields = None if text is None else text.split()
    pid = None
    if fields:
        try:
            pid = int(fields[0])
        except ValueError:
            pid = None
    if fields is not None and not fields and held:
        return "another process (its lock file is being written)"
    if pid is None or pid <= 0 or len(fields) > 2:
        what = "binary content" if text is None else "text that is not 'PID HOST'"
        raise ReviewLogError(
            f"the lock file {lock} of review log {log_path} holds no process id ({what}, "
            f"{os.stat(lock, follow_symlinks=False).st_size} bytes); it was not written by "
            "skflux. If no skflux run uses the log, delete the lock file.")
    host = fields[1] if len(fields) > 1 else ""
    here = host in ("", socket.gethostname())
    if not held and here and (not _pid_alive(pid) or pid == os.getpid()):
        return None  # its process is gone (the kernel dropped its flock): take it over
    where = "" if here else f" on host {host}"
    if pid == os.getpid() and here:
        return f"this process (pid {pid})"
    return f"another process (pid {pid}{where})"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
