"""Who reviews a relabeling run, and what a review log recorded about it (private).

:func:`make_oracle` builds the reviewer a relabeling run names (the simulator's
truth or any label column, the console, a review sheet, the browser page with
the ensemble's evidence); :func:`recorded_run` and :func:`record_run` keep the
options of a run in its review log, so that a resumed review (``skflux
review``) uses the same ones, the model and the reviewer's name included.
"""

import json
from pathlib import Path

from .. import __version__
from ..relabel import (
    ConsoleOracle,
    EnsembleEvidence,
    ReviewLog,
    ReviewLogError,
    ReviewPending,
    SheetOracle,
    TruthOracle,
    WebOracle,
)
from ._steps import load_ensemble

#: the review log's ``meta`` key holding the options of the run that created it
RUN_KEY = "command"

ORACLES = ("truth", "console", "sheet", "web")


def make_oracle(kind, videos=None, *, truth_coord="true_label", sheet_dir=None,
                input_func=None, host="127.0.0.1", port=0, open_browser=True,
                reviewer_name=None, model=None, device=None, print_func=None):
    """The reviewer of a relabeling run, by name.

    Parameters
    ----------
    kind : {"truth", "console", "sheet", "web"}
        ``"truth"``: a simulated reviewer that answers from the coordinate
        ``truth_coord`` of the videos (the simulator's ``true_label``, or any
        label column of real data); ``"console"``: you, in the terminal;
        ``"sheet"``: a review sheet to fill in ``sheet_dir``; ``"web"``: the
        browser page on ``host:port``.
    videos : xarray.DataArray, optional
        Checked to hold ``truth_coord`` for ``kind="truth"``.
    truth_coord : str, default="true_label"
    sheet_dir : str or Path, optional
        Folder of the sheet and figures (``"sheet"``, ``"console"``).
    input_func : callable, optional
        ``input`` of the console reviewer.
    host, port, open_browser, reviewer_name, print_func
        Of :class:`~skflux.relabel.WebOracle` (``reviewer_name`` is stored
        with every verdict; default: the user name).
    model : str or Path, optional
        A saved ensemble whose evidence (members' spread, masking curve and
        located frame) the page shows beside each video.
    device : str, optional
        Torch device for ``model``.

    Returns
    -------
    oracle : skflux.relabel.Oracle

    Raises
    ------
    ValueError
        Unknown ``kind``; videos without ``truth_coord``; a model that cannot be
        loaded (named).
    """
    if kind == "truth":
        if videos is not None and truth_coord not in videos.coords:
            raise ValueError(f"the videos have no {truth_coord!r} coordinate for the truth "
                             "oracle to read (simulated data have 'true_label'; name another "
                             "label column, or review yourself: console, sheet, web)")
        return TruthOracle(true_labels=truth_coord)
    if kind == "console":
        return ConsoleOracle(figure_dir=None if sheet_dir is None else str(sheet_dir),
                             input_func=input_func or input)
    if kind == "sheet":
        return SheetOracle(str(sheet_dir))
    if kind == "web":
        evidence = None
        if model is not None:
            try:
                evidence = EnsembleEvidence(load_ensemble(model, device=device))
            except ValueError as exc:
                raise ValueError(f"model {model}: {exc}") from exc
        return WebOracle(host=host, port=port, open_browser=open_browser,
                         reviewer_name=reviewer_name, evidence=evidence,
                         print_func=print_func or print)
    raise ValueError(f"unknown reviewer {kind!r}; one of {', '.join(ORACLES)}")


def record_run(options, command="relabel"):
    """The ``meta`` entry that records a run's options in its review log.

    Parameters
    ----------
    options : dict
        JSON-able options (paths as strings).
    command : str, default="relabel"

    Returns
    -------
    meta : dict of str to str
        ``{RUN_KEY: json}``, for :func:`relabel`'s ``log_meta``.
    """
    return {RUN_KEY: json.dumps({"command": command, "skflux_version": __version__,
                                 "options": options}, sort_keys=True, default=str)}


def recorded_run(log_path, required=(), command="relabel"):
    """The options a review log recorded for the run that created it.

    Parameters
    ----------
    log_path : str or Path
        An existing review log.
    required : iterable of str
        Options that must be present.
    command : str, default="relabel"

    Returns
    -------
    options : dict

    Raises
    ------
    ValueError
        If the log is not a review log, records no run (written from Python),
        or its record cannot be read or lacks a required option (the message
        names the log and what is missing).
    """
    path = Path(log_path)
    try:
        text = ReviewLog(path).meta.get(RUN_KEY)
    except ReviewLogError as exc:
        raise ValueError(str(exc)) from exc
    if text is None:
        raise ValueError(
            f"{log_path}: this review log does not record the 'skflux {command}' options it "
            "was written with (it was written from Python, or by an older skflux); run "
            f"'skflux {command} DATA.nc --log {log_path} --oracle web' with the training "
            "options of the run that wrote it instead")
    try:
        record = json.loads(text)
        options = record["options"]
        missing = [k for k in required if k not in options]
    except (ValueError, KeyError, TypeError):
        record, missing = None, None
    if not isinstance(record, dict) or record.get("command") != command or missing:
        what = f"lack {missing}" if missing else "cannot be read"
        raise ValueError(
            f"{log_path}: the 'skflux {command}' options recorded in this review log {what}; "
            f"run 'skflux {command} DATA.nc --log {log_path} --oracle web' with the training "
            "options of the run that wrote it instead")
    return options


__all__ = ["ORACLES", "RUN_KEY", "ReviewPending", "make_oracle", "record_run", "recorded_run"]
