"""Label Studio round trip: review a pass's videos in Label Studio, bring the verdicts back.

For teams already on Label Studio (video classification): :class:`LabelStudioOracle`
writes the pass's pending videos as Label Studio tasks (JSON, with an animated
GIF per video and the labeling config), stops the fit with ``ReviewPending``, and
on the next ``fit`` reads Label Studio's JSON export of those tasks back as
verdicts. :func:`review_log_tasks` exports the verdicts already in a review log as
annotated tasks.
"""

import json
from pathlib import Path

import numpy as np

from ..._atomic import atomic_write_text
from .._oracles import Oracle, ReviewPending, Verdict
from ._frames import encode_frames

__all__ = ["LABEL_CONFIG", "LabelStudioOracle", "read_label_studio_export",
           "review_log_tasks"]

LABEL_CONFIG = """<View>
  <Header value="$video_id: labelled $current_label, models p(emergence) = $proba"/>
  <Image name="video" value="$video" zoom="true"/>
  <Choices name="verdict" toName="video" choice="single" showInline="true" required="true">
    <Choice value="emergence" hotkey="e"/>
    <Choice value="non-emergence" hotkey="n"/>
  </Choices>
  <Number name="emergence_frame" toName="video" min="0"/>
</View>
"""
_NAMES = {1: "emergence", 0: "non-emergence"}


def _write_json(obj, path):
    atomic_write_text(path, json.dumps(obj, indent=1, default=str), overwrite=True)


def write_gif(video, path, *, fps=10, zoom=3, vmax=None):
    """An animated grey-scale GIF of one video (north up), as the review page shows it."""
    from PIL import Image

    data, _, shape = encode_frames(video, vmax)
    frames = np.frombuffer(data, dtype=np.uint8).reshape(shape)[:, ::-1]
    frames = frames.repeat(zoom, axis=1).repeat(zoom, axis=2)
    images = [Image.fromarray(f, mode="L") for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=max(1, round(1000 / fps)))
    return path


def _task(item, media):
    return {"data": {
        "video": media, "skflux_video": item.index, "video_id": item.video_id,
        "bmr_id": None if item.bmr_id is None else str(item.bmr_id),
        "pass": item.pass_index, "current_label": _NAMES[item.label],
        "proba": round(float(item.proba), 4),
    }}


def _integer(value, what, where):
    """``value`` as an int >= 0 when it is one exactly (3, 3.0, "3"); else ValueError.

    Booleans, fractions and other types are refused, never coerced.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 0:
        raise ValueError(f"{where}: {what} {value!r} is not "
                         + ("a video position (an integer >= 0)" if what == "skflux_video"
                            else "a frame number (an integer >= 0)"))
    return number


def _field(mapping, key, kind, where):
    """``mapping[key]`` checked to be a ``kind`` (dict or list), or None when missing."""
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"{where}: {key!r} is not "
                         + ("a JSON object" if kind is dict else "a list"))
    return value


def _choice(result, where):
    """(label name, frame) of one annotation's result list."""
    name, frame = None, None
    for j, r in enumerate(result):
        at = f"{where}, result {j}"
        if not isinstance(r, dict):
            raise ValueError(f"{at}: not a JSON object")
        value = _field(r, "value", dict, at) or {}
        if r.get("from_name") == "verdict":
            choices = value.get("choices")
            if choices is not None and (not isinstance(choices, list) or not all(
                    isinstance(c, str) for c in choices)):
                raise ValueError(f"{at}: 'choices' is not a list of labels")
            if choices:
                name = choices[0]
        elif r.get("from_name") == "emergence_frame" and value.get("number") is not None:
            frame = value["number"]
    return name, frame


def read_label_studio_export(path):
    """``{position: (label name or None, frame or None, video_id, where)}`` of an export.

    Reads Label Studio's "JSON" export (tasks with ``annotations``; the last
    annotation that was not cancelled counts) and its "JSON_MIN" export (flat
    rows with ``verdict`` and ``emergence_frame``).

    Raises
    ------
    ValueError
        On a file that is not such an export, naming it and the task: not
        JSON, a wrong structure, a video position or frame that is not exactly
        an integer >= 0 (``True``, ``3.5`` are refused, never coerced), a
        verdict that is not a label name, or two tasks for one video.
    """
    path = Path(path)
    try:
        tasks = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"Label Studio export {path} cannot be read as JSON ({exc})") from None
    if not isinstance(tasks, list):
        raise ValueError(f"Label Studio export {path} must be a JSON list of tasks")
    out = {}
    for k, task in enumerate(tasks):
        where = f"Label Studio export {path}, task {k}"
        if not isinstance(task, dict):
            raise ValueError(f"{where}: not a JSON object")
        data = task.get("data", task)  # JSON_MIN rows are flat
        if not isinstance(data, dict):
            raise ValueError(f"{where}: 'data' is not a JSON object")
        if "skflux_video" not in data:
            raise ValueError(f"{where}: no 'skflux_video' field; export the tasks that "
                             "skflux wrote (Label Studio keeps their data fields)")
        video = _integer(data["skflux_video"], "skflux_video", where)
        if "annotations" in task:
            annotations = _field(task, "annotations", list, where) or []
            done = []
            for j, a in enumerate(annotations):
                if not isinstance(a, dict):
                    raise ValueError(f"{where}, annotation {j}: not a JSON object")
                if not a.get("was_cancelled"):
                    done.append((j, a))
            if done:
                j, last = done[-1]
                at = f"{where}, annotation {j}"
                name, frame = _choice(_field(last, "result", list, at) or [], at)
            else:
                name, frame = None, None
        else:
            name, frame = task.get("verdict"), task.get("emergence_frame")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{where}: verdict {name!r} is not a label name")
        if frame is not None and frame != "":
            frame = _integer(frame, "emergence_frame", where)
        if video in out:
            raise ValueError(f"{where}: a second task for video {video}; keep one per video")
        out[video] = (name, frame, str(data.get("video_id", "")), where)
    return out


class LabelStudioOracle(Oracle):
    """Review in Label Studio: export the pending videos as tasks, import the export.

    On the first call for a pass, ``label_studio_pass<N>_tasks.json`` (one
    task per pending video: an animated GIF of its frames, its id, current
    label and probability), ``label_studio_config.xml`` (the labeling
    interface: the choices ``emergence``/``non-emergence``, hotkeys E/N, and an
    optional emergence frame) and the GIFs in ``media/`` are written into
    ``directory``, and ``ReviewPending`` stops the fit. Import the tasks into
    a Label Studio project with that config (serve ``media/`` where Label
    Studio can read it, see ``media_url``), annotate, export as JSON (or
    JSON_MIN) to ``label_studio_pass<N>_export.json`` in ``directory``, and
    call ``fit`` again with the same ``review_log``: annotated tasks become
    verdicts; if some are still unannotated the fit stops again.

    Parameters
    ----------
    directory : path-like
    media_url : str, default="/data/local-files/?d=media/{name}"
        The address Label Studio reads a GIF from; ``{name}`` is the file name
        (the default suits Label Studio's local-files storage rooted at
        ``directory``).
    fps : float, default=10
        Frame rate of the GIFs.
    media : bool, default=True
        Write the GIFs (False: tasks without media, e.g. to check the export).
    """

    def __init__(self, directory, media_url="/data/local-files/?d=media/{name}", fps=10,
                 media=True):
        self.directory = directory
        self.media_url = media_url
        self.fps = fps
        self.media = media

    def paths(self, pass_index):
        """``(tasks, export)`` paths of one pass."""
        d = Path(self.directory)
        return (d / f"label_studio_pass{int(pass_index)}_tasks.json",
                d / f"label_studio_pass{int(pass_index)}_export.json")

    def review(self, request):
        """Yield the annotated verdicts; raise ReviewPending while tasks are unannotated."""
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        tasks_path, export_path = self.paths(request.pass_index)
        answers = read_label_studio_export(export_path) if export_path.exists() else {}
        asked = {int(i) for i in request.indices}
        if tasks_path.exists():  # every video of the pass (some answered by an earlier fit)
            try:
                asked |= {int(t["data"]["skflux_video"])
                          for t in json.loads(tasks_path.read_text())}
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"the Label Studio tasks {tasks_path} that skflux wrote "
                                 f"cannot be read ({exc}); delete it to write them "
                                 "again") from None
        for video, (_, _, video_id, where) in answers.items():
            if video not in asked:
                raise ValueError(
                    f"{where}: video {video}" + (f" ({video_id})" if video_id else "")
                    + f" is not one of the videos of pass {request.pass_index} that skflux "
                    f"asked about ({tasks_path.name}); the export belongs to another pass, "
                    "dataset or run")
        verdicts, pending = [], []
        for item in request:
            if item.index not in answers:
                pending.append(item)
                continue
            name, frame, video_id, where = answers[item.index]
            if video_id and video_id != item.video_id:
                raise ValueError(
                    f"{where}: video {item.index} is {video_id!r} in the export but "
                    f"{item.video_id!r} in this review; the export belongs to another dataset "
                    "or run")
            if name is None:
                pending.append(item)
                continue
            label = request.encode(name, where)
            frame = None if frame in (None, "") else frame
            item.check_frame(label, frame, where)
            verdicts.append(Verdict(item.index, label, frame, "via=label-studio"))
        yield from verdicts  # every task was checked before the first verdict is logged
        if not pending:
            return
        if not tasks_path.exists():
            tasks = []
            for item in request:
                media = ""
                if self.media and item.X is not None:
                    (directory / "media").mkdir(exist_ok=True)
                    name = f"pass{item.pass_index}_video{item.index}.gif"
                    write_gif(item.video, directory / "media" / name, fps=self.fps)
                    media = self.media_url.format(name=name)
                tasks.append(_task(item, media))
            _write_json(tasks, tasks_path)
            atomic_write_text(directory / "label_studio_config.xml", LABEL_CONFIG,
                              overwrite=True)
        raise ReviewPending(
            f"{len(pending)} videos of pass {request.pass_index} await a verdict: import "
            f"{tasks_path} into a Label Studio project labelled with "
            f"{directory / 'label_studio_config.xml'}, annotate, export as JSON to "
            f"{export_path}, then call fit again with the same review_log",
            path=tasks_path, n_pending=len(pending))


def review_log_tasks(log, path=None):
    """The verdicts of a review log as annotated Label Studio tasks (JSON list).

    Parameters
    ----------
    log : ReviewLog or path-like
    path : path-like, optional
        Where to write them (atomically); else only returned.

    Returns
    -------
    list of dict
    """
    from .._review_log import ReviewLog

    log = log if isinstance(log, ReviewLog) else ReviewLog(log)
    tasks = []
    for row in log.verdicts():
        result = [{"from_name": "verdict", "to_name": "video", "type": "choices",
                   "value": {"choices": [_NAMES[int(row["verdict"])]]}}]
        if row["emergence_frame"] is not None:
            result.append({"from_name": "emergence_frame", "to_name": "video",
                           "type": "number", "value": {"number": int(row["emergence_frame"])}})
        tasks.append({
            "data": {"video": "", "skflux_video": int(row["video"]),
                     "video_id": row["video_id"], "pass": int(row["pass"]),
                     "current_label": _NAMES[int(row["previous_label"])],
                     "proba": row["proba"]},
            "annotations": [{"result": result, "was_cancelled": False,
                             "created_at": row["time"], "lead_time": row["seconds"],
                             "meta": {"note": row["note"], "reviewer": row["reviewer"]}}],
        })
    if path is not None:
        _write_json(tasks, path)
    return tasks
