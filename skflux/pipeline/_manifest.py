"""The demo folder's manifest: which files the demo created there (private).

``skflux demo --out DIR`` works in a folder of its own. It records every file it
creates in ``DIR/.skflux-demo`` (JSON), after each step and when it stops; a
later demo into the same folder removes exactly those files (and the folders it
created, once empty) and nothing else. A non-empty folder without a manifest is
refused, and so is a folder where a file the demo is about to write exists
without being listed (it is the user's).
"""

import json
import os
from pathlib import Path

from .._jsonutil import dump_json

MANIFEST = ".skflux-demo"
FORMAT = "skflux-demo-manifest"


def _files_under(folder):
    """Relative paths of the files and of the folders under ``folder`` (manifest excluded)."""
    files, dirs = set(), set()
    for root, dirnames, filenames in os.walk(folder):
        rel = Path(root).relative_to(folder)
        dirs.update((rel / d).as_posix() for d in dirnames)
        files.update((rel / f).as_posix() for f in filenames)
    files.discard(MANIFEST)
    return files, dirs


def _read(folder):
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        manifest = None
    if not (isinstance(manifest, dict) and manifest.get("format") == FORMAT
            and isinstance(manifest.get("files"), list)
            and isinstance(manifest.get("dirs"), list)):
        raise ValueError(f"{path}: not a manifest of 'skflux demo' (an older demo, or not "
                           "a demo's); remove that folder's demo files yourself or choose "
                           "another --out")
    inside = [p for p in manifest["files"] + manifest["dirs"]
              if isinstance(p, str) and not Path(p).is_absolute() and ".." not in Path(p).parts]
    if len(inside) != len(manifest["files"]) + len(manifest["dirs"]):
        raise ValueError(f"{path}: lists paths outside the demo folder; refusing to use it")
    return manifest


class Manifest:
    """The files the demo created in ``folder``; see the module docstring.

    Parameters
    ----------
    folder : str or Path
        The demo's folder.
    outputs : iterable of str
        Top-level names the demo writes (:data:`RUN_LAYOUT`): a file under one
        of them that the manifest does not list is the user's, and refused.

    Examples
    --------
    >>> import tempfile
    >>> from skflux.pipeline import RUN_LAYOUT, Manifest
    >>> with tempfile.TemporaryDirectory() as d:
    ...     m = Manifest(d, RUN_LAYOUT)
    ...     _ = m.prepare()
    ...     _ = (m.folder / "data.nc").write_bytes(b"x")
    ...     m.record()
    ...     (m.folder / MANIFEST).exists()
    True
    """

    def __init__(self, folder, outputs):
        self.folder = Path(folder)
        self.outputs = tuple(outputs)
        self.before = set()

    def prepare(self):
        """Create the folder, or clear a previous demo's files from it; returns the folder."""
        out = self.folder
        if out.exists() and not out.is_dir():
            raise ValueError(f"{out}: exists and is not a folder")
        if not out.resolve().parent.is_dir():
            raise ValueError(f"{out}: folder {out.resolve().parent} does not exist")
        out.mkdir(exist_ok=True)
        files, _ = _files_under(out)
        if (out / MANIFEST).exists():
            self._clear(_read(out), files)
        elif files or any(out.iterdir()):
            raise ValueError(f"{out}: folder is not empty and was not written by 'skflux "
                               "demo'; choose another --out")
        self.before, _ = _files_under(out)
        self.record()
        return out

    def _clear(self, manifest, files):
        ours = {f for f in manifest["files"] if f in files}
        theirs = sorted(f for f in files - ours
                        if Path(f).parts[0] in self.outputs)
        if theirs:
            raise ValueError(f"{self.folder}: {', '.join(theirs[:5])} not written by 'skflux "
                               "demo' but where the demo writes; move it or choose another "
                               "--out")
        for f in ours:
            (self.folder / f).unlink()
        for d in sorted(manifest["dirs"], key=lambda d: -len(Path(d).parts)):
            with_dir = self.folder / d
            if with_dir.is_dir() and not any(with_dir.iterdir()):
                with_dir.rmdir()

    def record(self):
        """Write the manifest: every file created since :meth:`prepare` (atomically)."""
        files, dirs = _files_under(self.folder)
        created = sorted(files - self.before)
        created_dirs = sorted({Path(f).parent.as_posix() for f in created} - {"."})
        all_dirs = set()
        for d in created_dirs:
            parts = Path(d).parts
            all_dirs.update(Path(*parts[:k]).as_posix() for k in range(1, len(parts) + 1))
        dump_json({"format": FORMAT, "files": created,
                   "dirs": sorted(d for d in all_dirs if d in dirs)}, self.folder / MANIFEST)
