"""Oracles: whoever decides the true label of a video the models disagree on.

An oracle is any object with a ``review(request)`` method. ``request`` is a
:class:`ReviewRequest`, a sequence of :class:`ReviewItem` (the video's position,
id, current label, ensemble probability, BMR id and lazy access to its frames).
``review`` returns (or, better, *yields*) verdicts: :class:`Verdict` objects
(any order) or plain labels 0/1 (in request order). Each verdict is written to
the review log the moment the iterator produces it, so a generator that asks a
human one video at a time loses nothing when the process dies. A
:class:`Retraction` withdraws a verdict the oracle gave earlier in the same
pass (an undo): the log keeps both rows, and the video is pending again.

Raising :class:`ReviewPending` from ``review`` stops ``fit`` cleanly after the
verdicts already produced were logged; calling ``fit`` again resumes.
"""

import csv
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .._mosaic import save_frame_mosaic
from .._validation import _is_dataarray, _is_tensor

__all__ = [
    "CallbackOracle", "ConsoleOracle", "Oracle", "ReviewItem", "ReviewPending",
    "ReviewRequest", "Retraction", "SheetOracle", "TruthOracle", "Verdict",
]


class ReviewPending(Exception):
    """The oracle has no verdict (yet) for some videos: fit stops and can be resumed.

    Parameters
    ----------
    message : str
        What to do next (e.g. which sheet to fill).
    path : path-like, optional
        File the reviewer has to fill.
    n_pending : int, optional
        Videos still waiting for a verdict.
    """

    def __init__(self, message, *, path=None, n_pending=None):
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.n_pending = n_pending


@dataclass(frozen=True)
class Verdict:
    """The oracle's decision about one video.

    Parameters
    ----------
    index : int
        Position of the video in the ``X`` given to ``fit``.
    label : {0, 1}
        The correct label: 1 emergence, 0 non-emergence.
    emergence_frame : int, optional
        Frame of emergence when the reviewer marked one.
    note : str
        Free text kept in the review log.
    reviewer : str, optional
        Who gave the verdict (stored in the log's ``reviewer`` column).
    seconds : float, optional
        Seconds the reviewer spent on the video (the log's ``seconds`` column).
    """

    index: int
    label: int
    emergence_frame: int | None = None
    note: str = ""
    reviewer: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Retraction:
    """The oracle withdraws the verdict it gave on one video earlier in the same pass.

    Yielded from ``review`` like a :class:`Verdict` (an undo). The review log
    appends a row that retracts the video's verdict (nothing is deleted); the
    video is pending again, and the oracle must give it a new verdict (or
    raise :class:`ReviewPending`) before the pass can end.

    Parameters
    ----------
    index : int
        Position of the video in the ``X`` given to ``fit``.
    note : str
        Free text kept in the review log.
    reviewer : str, optional
        Who withdrew the verdict.
    """

    index: int
    note: str = ""
    reviewer: str | None = None


def _take_video(X, i):
    """One video of ``X`` as a numpy array, read lazily."""
    if _is_dataarray(X):
        return np.asarray(X.isel(video=int(i)).values)
    if _is_tensor(X):
        return X[int(i)].detach().cpu().numpy()
    return np.asarray(X[int(i)])


@dataclass(frozen=True)
class ReviewItem:
    """One video waiting for a verdict.

    Attributes
    ----------
    index : int
        Position in ``X``.
    video_id : str
        Stable identifier (the ``bmr_id`` coordinate when present, else the position).
    label : int
        Current label (the one under review).
    proba : float
        Out-of-fold ensemble probability of emergence.
    bmr_id : object or None
        The BMR identifier when ``X`` has a ``bmr_id`` coordinate.
    pass_index : int
        Relabeling pass (1-based).
    X : object
        The full video collection (kept lazy); see :attr:`video`.
    block_months : tuple of int or None
        The months of the video's month block (the block whose model, trained
        without it, gave :attr:`proba`), when the relabeler knows them.
    """

    index: int
    video_id: str
    label: int
    proba: float
    bmr_id: object
    pass_index: int
    X: object = None
    block_months: tuple = None

    @property
    def video(self):
        """The frames ``(frame, lat, lon)`` of this video as a numpy array (read on access)."""
        if self.X is None:
            raise ValueError(f"no video data attached to video {self.index} ({self.video_id})")
        return _take_video(self.X, self.index)

    @property
    def model_label(self):
        """The label the models proposed (the opposite of :attr:`label` for a disagreement)."""
        return 1 - int(self.label)

    @property
    def n_frames(self):
        """Frames of the video (None when ``X`` holds no videos ``(video, frame, ...)``)."""
        X = self.X
        if _is_dataarray(X):
            return int(X.sizes["frame"]) if "frame" in X.dims else None
        shape = getattr(X, "shape", None)
        return int(shape[1]) if shape is not None and len(shape) == 4 else None

    def check_frame(self, label, frame, where):
        """Refuse an emergence frame that cannot be (see :class:`SheetOracle`).

        Raises
        ------
        ValueError
            When ``frame`` comes with a non-emergence verdict, or lies outside
            the video's frames; the message starts with ``where``.
        """
        if frame is None:
            return
        if label == 0:
            raise ValueError(f"{where}: emergence_frame {frame} with a non-emergence verdict; "
                             "leave the frame blank or give the verdict emergence")
        n = self.n_frames
        if frame < 0 or (n is not None and frame >= n):
            span = "a frame number >= 0" if n is None else f"frames 0-{n - 1}"
            raise ValueError(f"{where}: emergence_frame {frame} is outside the video's "
                             f"{span}")


class ReviewRequest:
    """The videos of one pass that need a verdict, in review order.

    Parameters
    ----------
    indices : array-like of int
        Positions in ``X``.
    labels : array-like of {0, 1}
        Current labels of those videos.
    proba : array-like of float
        Out-of-fold probabilities of emergence of those videos.
    video_ids : sequence of str
        Identifiers of those videos.
    bmr_ids : sequence or None
        BMR ids of those videos.
    pass_index : int
        Relabeling pass (1-based).
    X : object, optional
        All videos (lazy access through :attr:`ReviewItem.video`).
    classes : array-like of shape (2,), optional
        The class labels of the ``y`` given to ``fit``, when they are not 0/1.
    pos_label : object, optional
        The positive class (emergence) among ``classes``.

    Notes
    -----
    ``labels`` and the labels of the items are codes: 1 for emergence (the
    positive class), 0 for the other. A verdict may give the label as such a
    code, as text (``"y"``, ``"emergence"``, ``"n"``, ``"non-emergence"``...) or
    as one of ``classes`` that is not a code (:meth:`encode`); the true labels of
    :class:`TruthOracle` are in ``classes`` (:meth:`encode_class`).

    Examples
    --------
    >>> req = ReviewRequest([4, 9], [0, 1], [0.8, 0.3], ["a", "b"], None, 1)
    >>> len(req), req[1].index, req[1].model_label
    (2, 9, 0)
    """

    def __init__(self, indices, labels, proba, video_ids, bmr_ids, pass_index, X=None, *,
                 classes=None, pos_label=None, block_months=None):
        self.classes = None if classes is None else list(np.asarray(classes).tolist())
        self.pos_label = pos_label
        self.indices = np.asarray(indices, dtype=int)
        self.labels = np.asarray(labels, dtype=int)
        self.proba = np.asarray(proba, dtype=float)
        self.video_ids = [str(v) for v in video_ids]
        self.bmr_ids = None if bmr_ids is None else list(bmr_ids)
        self.pass_index = int(pass_index)
        self.X = X
        self.block_months = None if block_months is None else [
            None if b is None else tuple(int(m) for m in b) for b in block_months]

    def __len__(self):
        return len(self.indices)

    def encode(self, value, where):
        """The code (1 emergence, 0 not) of a verdict label.

        Codes come first: ``0``/``1``, bools and the words ``"y"``, ``"yes"``,
        ``"emergence"``, ``"n"``, ``"no"``, ``"non-emergence"`` are codes; any
        other value must be one of :attr:`classes` (e.g. ``-1``, ``"quiet"``).

        Parameters
        ----------
        value : object
        where : str
            What gave it, for the error message.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If ``value`` is neither a code nor one of the classes.
        """
        try:
            return _as_label(value, where)
        except ValueError:
            code = self._class_code(value)
            if code is None:
                raise
            return code

    def encode_class(self, value, where):
        """The code of a label given in the classes of ``y`` (e.g. a true label).

        Like :meth:`encode`, but the classes come first: with classes ``{1, 2}``,
        ``1`` is the class 1 (code 0 when 2 is the positive class).
        """
        code = self._class_code(value)
        return _as_label(value, where) if code is None else code

    def _class_code(self, value):
        if self.classes is None or isinstance(value, (bool, np.bool_)):
            return None
        value = value.item() if isinstance(value, np.generic) else value
        for c in self.classes:
            same_kind = type(c) is type(value) or (
                isinstance(c, numbers.Number) and isinstance(value, numbers.Number))
            if same_kind and c == value:
                return int(c == self.pos_label)
        return None

    def __getitem__(self, k):
        return ReviewItem(
            index=int(self.indices[k]), video_id=self.video_ids[k], label=int(self.labels[k]),
            proba=float(self.proba[k]),
            bmr_id=None if self.bmr_ids is None else self.bmr_ids[k],
            pass_index=self.pass_index, X=self.X,
            block_months=None if self.block_months is None else self.block_months[k],
        )

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __repr__(self):
        return f"ReviewRequest(pass {self.pass_index}, {len(self)} videos)"


class Oracle:
    """Base class of oracles (subclassing it is optional: any ``review`` method works).

    Subclasses implement :meth:`review`.
    """

    def review(self, request):
        """Verdicts for the videos of ``request``.

        Parameters
        ----------
        request : ReviewRequest

        Returns
        -------
        iterable
            :class:`Verdict` objects, or labels 0/1 in request order; a generator
            is best, each verdict is logged as soon as it is yielded. A
            :class:`Retraction` withdraws a verdict given earlier in the same
            call (an undo); the video then needs a new verdict.

        Raises
        ------
        ReviewPending
            To stop the fit until the remaining verdicts exist.
        """
        raise NotImplementedError


def _as_label(value, where):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        v = value.strip().lower()
        table = {"1": 1, "y": 1, "yes": 1, "e": 1, "emergence": 1, "true": 1,
                 "0": 0, "n": 0, "no": 0, "non-emergence": 0, "false": 0}
        if v not in table:
            raise ValueError(
                f"{where}: {value!r} is not a label (use 1/y/yes/emergence or "
                "0/n/no/non-emergence)")
        return table[v]
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a label 0/1") from None
    if f not in (0.0, 1.0):
        raise ValueError(f"{where}: {value!r} is not a label 0/1")
    return int(f)


class TruthOracle(Oracle):
    """The ground truth of simulated data, as a tireless reviewer (for benchmarks).

    Parameters
    ----------
    true_labels : array-like of {0, 1} or str, default="true_label"
        One true label per video of ``X``, or the name of a coordinate of the
        DataArray ``X`` given to ``fit`` that holds them.
    emergence_frames : array-like of int or str or None, default="emergence_frame"
        True emergence frames (or a coordinate name); used when present.

    Attributes
    ----------
    n_reviewed_ : int
        Number of verdicts given so far.

    Examples
    --------
    >>> oracle = TruthOracle([0, 1, 1])
    >>> req = ReviewRequest([1, 2], [0, 0], [0.9, 0.7], ["1", "2"], None, 1)
    >>> [v.label for v in oracle.review(req)]
    [1, 1]
    """

    def __init__(self, true_labels="true_label", emergence_frames="emergence_frame"):
        self.true_labels = true_labels
        self.emergence_frames = emergence_frames
        self.n_reviewed_ = 0

    def _resolve(self, source, X, required):
        if source is None:
            return None
        if isinstance(source, str):
            if _is_dataarray(X) and source in X.coords:
                return np.asarray(X.coords[source].values)
            if required:
                raise ValueError(
                    f"TruthOracle: X has no coordinate {source!r}; pass the true labels as "
                    "an array")
            return None
        return np.asarray(source)

    def review(self, request):
        """Yield the true label (and frame) of every requested video."""
        truth = self._resolve(self.true_labels, request.X, True)
        frames = self._resolve(self.emergence_frames, request.X, False)
        for item in request:
            if item.index >= len(truth):
                raise ValueError(
                    f"TruthOracle has {len(truth)} true labels; video {item.index} requested")
            label = request.encode_class(truth[item.index],
                                         f"true label of video {item.index}")
            frame = None
            if frames is not None and label == 1 and int(frames[item.index]) >= 0:
                frame = int(frames[item.index])
            self.n_reviewed_ += 1
            yield Verdict(item.index, label, frame)


class CallbackOracle(Oracle):
    """Any function as oracle.

    Parameters
    ----------
    func : callable
        With ``batch=False``: ``func(item) -> label`` for one :class:`ReviewItem`,
        returning 0/1, a :class:`Verdict`, or ``(label, emergence_frame)``.
        With ``batch=True``: ``func(request) -> iterable`` of such answers in
        request order (or of Verdicts in any order).
    batch : bool, default=False
        Whether ``func`` takes the whole request at once.

    Examples
    --------
    >>> oracle = CallbackOracle(lambda item: item.model_label)  # always trust the model
    >>> req = ReviewRequest([5], [0], [0.9], ["5"], None, 1)
    >>> list(oracle.review(req))
    [Verdict(index=5, label=1, emergence_frame=None, note='', reviewer=None, seconds=None)]
    """

    def __init__(self, func, batch=False):
        self.func = func
        self.batch = batch

    def _verdict(self, request, item, answer):
        if isinstance(answer, Verdict):
            return answer
        if isinstance(answer, tuple):
            if len(answer) != 2:
                raise ValueError(
                    f"oracle answer for video {item.index} must be a label or "
                    f"(label, emergence_frame); got {answer!r}")
            label, frame = answer
            return Verdict(item.index, request.encode(label, f"video {item.index}"),
                           None if frame is None else int(frame))
        return Verdict(item.index,
                       request.encode(answer, f"oracle answer for video {item.index}"))

    def review(self, request):
        """Yield one verdict per requested video from ``func``."""
        if not callable(self.func):
            raise TypeError(f"CallbackOracle needs a callable; got {type(self.func).__name__}")
        if self.batch:
            answers = self.func(request)
            items = iter(request)
            for answer in answers:
                if isinstance(answer, Verdict):
                    yield answer
                else:
                    item = next(items, None)
                    if item is None:
                        raise ValueError(
                            f"oracle returned more answers than the {len(request)} videos asked")
                    yield self._verdict(request, item, answer)
        else:
            for item in request:
                yield self._verdict(request, item, self.func(item))


def _frame_figure(video, title, path):
    """Save a mosaic of about 24 frames of one video (never marks a known emergence)."""
    with atomic_path(path, overwrite=True) as tmp:  # the same figure, redrawn on resume
        save_frame_mosaic(video, tmp, title=title, n_tiles=24, ncols=8, format="png")
    return path


class ConsoleOracle(Oracle):
    """Ask a person in the terminal: a figure of the frames is written, then y/n.

    For each video a PNG of its frames is saved in ``figure_dir`` and the
    question ``emergence? [y/n/q]`` is asked with :func:`input`. Answers: ``y``
    (emergence; optionally followed by the emergence frame, e.g. ``y 120``),
    ``n`` (non-emergence), ``q`` (stop now: :class:`ReviewPending`; the verdicts
    given so far are kept in the review log and ``fit`` resumes later).

    Parameters
    ----------
    figure_dir : path-like, default="skflux_review"
        Where the frame figures are written (created).
    show_figures : bool, default=True
        Whether to write the figures (False: text only, e.g. for a second screen).
    input_func : callable, optional
        Replacement for :func:`input` (for notebooks or tests).
    print_func : callable, default=print
        Where messages go.

    Examples
    --------
    >>> answers = iter(["y"])
    >>> oracle = ConsoleOracle(show_figures=False, input_func=lambda prompt: next(answers),
    ...                        print_func=lambda *a: None)
    >>> req = ReviewRequest([0], [0], [0.9], ["0"], None, 1)
    >>> [v.label for v in oracle.review(req)]
    [1]
    """

    def __init__(self, figure_dir="skflux_review", show_figures=True, input_func=None,
                 print_func=print):
        self.figure_dir = figure_dir
        self.show_figures = show_figures
        self.input_func = input_func
        self.print_func = print_func

    def review(self, request):
        """Ask about every requested video in turn; yield each verdict at once."""
        ask = self.input_func or input
        names = {0: "non-emergence", 1: "emergence"}
        if self.show_figures:
            Path(self.figure_dir).mkdir(parents=True, exist_ok=True)
        for k, item in enumerate(request):
            where = ""
            if self.show_figures:
                path = Path(self.figure_dir) / f"pass{item.pass_index}_video{item.index}.png"
                _frame_figure(item.video, f"video {item.video_id} (current label "
                              f"{names[item.label]}, model p={item.proba:.2f})", path)
                where = f"; frames in {path}"
            self.print_func(
                f"[{k + 1}/{len(request)}] video {item.video_id}: labelled {names[item.label]}, "
                f"models say {names[item.model_label]} (p={item.proba:.2f}){where}")
            while True:
                answer = str(ask("emergence? [y/n/q, optionally 'y FRAME'] ")).strip().lower()
                parts = answer.split()
                if parts and parts[0] in ("q", "quit"):
                    raise ReviewPending(
                        f"review stopped by the reviewer with {len(request) - k} videos of "
                        f"pass {item.pass_index} left; call fit again to resume",
                        n_pending=len(request) - k)
                try:
                    if not parts or len(parts) > 2:
                        raise ValueError(answer)
                    label = request.encode(parts[0], "answer")
                    frame = int(parts[1]) if len(parts) == 2 else None
                    item.check_frame(label, frame, f"answer {answer!r}")
                except ValueError as exc:
                    self.print_func(f"please answer y, n, q, or 'y FRAME' (a frame number of "
                                    f"this video) ({exc})")
                    continue
                break
            yield Verdict(item.index, label, frame)


_SHEET_COLUMNS = ("video", "video_id", "bmr_id", "pass", "current_label", "proba",
                  "verdict", "emergence_frame", "note", "figure")


def _check_sheet_row(path, line, row, item):
    """Refuse a sheet row written for another video, label or run (a stale sheet)."""
    for column, expected in (("video_id", item.video_id), ("current_label", item.label)):
        found = (row.get(column) or "").strip()
        if column == "current_label":
            try:
                same = not found or int(float(found)) == expected
            except ValueError:
                same = False
        else:
            same = not found or found == str(expected)
        if not same:
            raise ValueError(
                f"review sheet {path}, line {line}: video {item.index} has {column} "
                f"{found!r}, but this review asks about {column} {str(expected)!r}; the "
                "sheet was written for another dataset or run. Move it away (or use another "
                "directory) and fit again.")


class SheetOracle(Oracle):
    """Review-file round trip: write a sheet to fill, stop, resume when it is filled.

    On the first call for a pass, a CSV sheet ``review_pass<N>.csv`` with one
    row per pending video (and, with ``figures=True``, a PNG of its frames) is
    written into ``directory`` and :class:`ReviewPending` is raised, which stops
    ``fit``. Fill the ``verdict`` column (1/y/emergence or 0/n/non-emergence;
    optionally ``emergence_frame``) in any spreadsheet, save as CSV, and call
    ``fit`` again with the same ``review_log``: the filled rows become verdicts
    (logged at once), and if rows are still blank the fit stops again.

    Impossible rows are refused, naming the sheet and line, before any verdict
    of the sheet is logged, as the console reviewer refuses such answers: an
    emergence frame outside the video's frames, a frame on a non-emergence
    verdict, two rows for one video, a row of another video or run.

    Parameters
    ----------
    directory : path-like
        Where sheets and figures go (created).
    figures : bool, default=True
        Whether to write a PNG of the frames of each pending video.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> oracle = SheetOracle(d, figures=False)
    >>> req = ReviewRequest([3], [0], [0.9], ["3"], None, 1)
    >>> try:
    ...     list(oracle.review(req))
    ... except ReviewPending as exc:
    ...     print(exc.path.name, exc.n_pending)
    review_pass1.csv 1
    """

    def __init__(self, directory, figures=True):
        self.directory = directory
        self.figures = figures

    def sheet_path(self, pass_index):
        """Path of the sheet of one pass."""
        return Path(self.directory) / f"review_pass{int(pass_index)}.csv"

    def _read(self, path):
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"video", "verdict"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"review sheet {path} lacks the columns {sorted(missing)}")
            rows = {}
            for line, row in enumerate(reader, start=2):
                try:
                    video = int(row["video"])
                except (TypeError, ValueError):
                    raise ValueError(
                        f"review sheet {path}, line {line}: video {row['video']!r} is not an "
                        "integer") from None
                if video in rows:
                    raise ValueError(
                        f"review sheet {path}, line {line}: a second row for video {video} "
                        f"(the first is line {rows[video][0]}); keep one row per video")
                rows[video] = (line, row)
            return rows

    def _write(self, path, request, rows):
        # the sheet is rewritten whole: the rows read from it first, then the new ones
        with atomic_path(path, overwrite=True) as tmp, open(tmp, "x", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=_SHEET_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(row)

    def review(self, request):
        """Yield verdicts from the filled rows; raise ReviewPending while rows are blank."""
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = self.sheet_path(request.pass_index)
        existing = self._read(path) if path.exists() else {}
        pending, new_rows, filled = [], [], []
        for item in request:
            if item.index in existing:
                line, row = existing[item.index]
                _check_sheet_row(path, line, row, item)
                text = (row.get("verdict") or "").strip()
                if not text:
                    pending.append(item)
                    continue
                where = f"review sheet {path}, line {line} (video {item.video_id})"
                label = request.encode(text, where)
                frame_text = (row.get("emergence_frame") or "").strip()
                try:
                    frame = None if not frame_text else float(frame_text)
                    if frame is not None and not frame.is_integer():
                        raise ValueError(frame_text)
                    frame = None if frame is None else int(frame)
                except ValueError:
                    raise ValueError(f"{where}: emergence_frame {frame_text!r} is not a frame "
                                     "number") from None
                item.check_frame(label, frame, where)
                filled.append(Verdict(item.index, label, frame, (row.get("note") or "").strip()))
            else:
                pending.append(item)
                new_rows.append(item)
        yield from filled  # every row was checked before the first verdict is logged
        if not pending:
            return
        if new_rows or not path.exists():
            rows = [r for _, r in sorted(existing.values(), key=lambda t: t[0])]
            for item in new_rows:
                figure = ""
                if self.figures and item.X is not None:
                    fpath = directory / f"pass{item.pass_index}_video{item.index}.png"
                    _frame_figure(item.video, f"video {item.video_id} (labelled "
                                  f"{item.label}, model p={item.proba:.2f})", fpath)
                    figure = fpath.name
                rows.append({
                    "video": item.index, "video_id": item.video_id,
                    "bmr_id": "" if item.bmr_id is None else item.bmr_id,
                    "pass": item.pass_index, "current_label": item.label,
                    "proba": f"{item.proba:.4f}", "verdict": "", "emergence_frame": "",
                    "note": "", "figure": figure,
                })
            self._write(path, request, [{k: r.get(k, "") for k in _SHEET_COLUMNS}
                                        for r in rows])
        raise ReviewPending(
            f"{len(pending)} videos of pass {request.pass_index} await a verdict: fill the "
            f"'verdict' column of {path} (1/y/emergence or 0/n/non-emergence), then call fit "
            "again with the same review_log",
            path=path, n_pending=len(pending))


def check_oracle(oracle):
    """Return an object with a ``review`` method (callables become CallbackOracle)."""
    if oracle is None:
        raise ValueError(
            "IterativeRelabeler needs an oracle: TruthOracle (simulated data), "
            "ConsoleOracle (ask in the terminal), SheetOracle (review file), "
            "CallbackOracle(func) or any object with a review(request) method")
    if hasattr(oracle, "review"):
        return oracle
    if callable(oracle):
        return CallbackOracle(oracle)
    raise TypeError(
        f"oracle must have a review(request) method or be callable; got {type(oracle).__name__}")
