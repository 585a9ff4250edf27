"""The one atomic-write helper (skflux/_atomic.py) and that skflux uses no other recipe."""

import ast
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skflux import _atomic
from skflux._atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    is_temporary,
    temporary_sibling,
)

ROOT = Path(__file__).resolve().parents[1]

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1,
                max_size=20).filter(lambda s: s not in (".", "..") and not s.startswith("."))
contents = st.none() | st.binary(max_size=300)  # None: nothing at the final path


class Boom(Exception):
    pass


def _state(folder):
    """``{name: bytes or 'dir'}`` of everything in ``folder`` (recursively)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[p.relative_to(folder).as_posix()] = "dir" if p.is_dir() else p.read_bytes()
    return out


def _setup(folder, name, old):
    final = folder / name
    if old is not None:
        final.write_bytes(old)
    return final


@settings(max_examples=60, deadline=None)
@given(name=names, old=contents, new=st.binary(max_size=300))
def test_success_writes_exactly_the_content(name, old, new):
    with tempfile.TemporaryDirectory() as d:
        final = _setup(Path(d), name, old)
        assert atomic_write_bytes(final, new, overwrite=True) == final
        assert final.read_bytes() == new
        assert _state(Path(d)) == {name: new}  # no temporary left


@settings(max_examples=60, deadline=None)
@given(name=names, old=contents, text=st.text(max_size=200))
def test_text_round_trips(name, old, text):
    with tempfile.TemporaryDirectory() as d:
        final = _setup(Path(d), name, old)
        atomic_write_text(final, text, overwrite=True)
        assert final.read_bytes() == text.encode("utf-8")
        with open(final, encoding="utf-8", newline="") as f:
            assert f.read() == text
        assert [p.name for p in Path(d).iterdir()] == [name]


@settings(max_examples=60, deadline=None)
@given(name=names, old=contents, partial=st.binary(max_size=300), overwrite=st.booleans(),
       error=st.sampled_from([Boom, KeyboardInterrupt, OSError]))
def test_failure_changes_nothing_and_leaves_no_temporary(name, old, partial, overwrite, error):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        final = _setup(folder, name, old)
        before = _state(folder)
        seen = []
        refused = old is not None and not overwrite
        with pytest.raises(FileExistsError if refused else error):
            with atomic_path(final, overwrite=overwrite) as tmp:
                seen.append(tmp)
                tmp.write_bytes(partial)
                raise error("writer failed half-way")
        assert _state(folder) == before
        if refused:  # the writer never ran
            assert not seen
        else:
            assert seen[0].parent == folder and is_temporary(seen[0]) and not seen[0].exists()


@settings(max_examples=40, deadline=None)
@given(name=names, old=st.binary(max_size=100), new=st.binary(max_size=100))
def test_refuses_to_overwrite_unless_asked(name, old, new):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        final = _setup(folder, name, old)
        with pytest.raises(FileExistsError, match=f"{name}.*refusing to overwrite"):
            atomic_write_bytes(final, new)
        ran = []
        with pytest.raises(FileExistsError):
            with atomic_path(final):
                ran.append(True)  # never reached: refused before the writer runs
        assert not ran and _state(folder) == {name: old}
        atomic_write_bytes(final, new, overwrite=True)
        assert _state(folder) == {name: new}


@settings(max_examples=30, deadline=None)
@given(old=st.binary(max_size=50), new=st.binary(max_size=50))
def test_a_file_created_meanwhile_is_never_overwritten(old, new):
    """Between the check and the rename another writer creates the file: it keeps it."""
    with tempfile.TemporaryDirectory() as d:
        final = Path(d) / "result.bin"
        with pytest.raises(FileExistsError):
            with atomic_path(final) as tmp:
                tmp.write_bytes(new)
                final.write_bytes(old)  # the other writer
        assert _state(Path(d)) == {"result.bin": old}


def _make_folder(path, files):
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)


folder_files = st.dictionaries(st.sampled_from(["a", "b.nc", "c.json"]), st.binary(max_size=40),
                               max_size=3)


@settings(max_examples=40, deadline=None)
@given(old=st.none() | folder_files, new=folder_files, fail=st.booleans())
def test_folders_are_replaced_whole_or_not_at_all(old, new, fail):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        final = root / "model"
        if old is not None:
            _make_folder(final, old)
        before = _state(root)
        if fail:
            with pytest.raises(Boom):
                with atomic_path(final, overwrite=True) as tmp:
                    _make_folder(tmp, new)
                    raise Boom
            assert _state(root) == before
        else:
            with atomic_path(final, overwrite=True) as tmp:
                _make_folder(tmp, new)
            assert _state(root) == {"model": "dir", **{f"model/{k}": v for k, v in new.items()}}


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    final = tmp_path / "store.zarr"
    _make_folder(final, {"x": b"old"})
    real_rename, calls = os.rename, []

    def rename(src, dst):  # the new folder cannot be renamed into place (the first try)
        calls.append((Path(src), Path(dst)))
        if Path(dst) == final and len(calls) == 2:
            raise OSError("disk full")
        return real_rename(src, dst)

    monkeypatch.setattr(_atomic.os, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(final, overwrite=True) as tmp:
            _make_folder(tmp, {"x": b"new"})
    assert _state(tmp_path) == {"store.zarr": "dir", "store.zarr/x": b"old"}
    assert [dst == final for _, dst in calls] == [False, True, True]  # aside, new, back


def test_a_file_may_replace_a_folder_only_when_asked(tmp_path):
    final = tmp_path / "out"
    _make_folder(final, {"x": b"1"})
    with pytest.raises(FileExistsError, match="a folder"):
        atomic_write_text(final, "text")
    atomic_write_text(final, "text", overwrite=True)
    assert _state(tmp_path) == {"out": b"text"}


def test_nothing_written_and_missing_folder_are_errors(tmp_path):
    final = tmp_path / "a.txt"
    final.write_text("old")
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(final, overwrite=True):
            pass
    assert _state(tmp_path) == {"a.txt": b"old"}
    with pytest.raises(FileNotFoundError, match=r"folder .*missing"):
        atomic_write_text(tmp_path / "missing" / "a.txt", "x")
    with pytest.raises(TypeError, match="must be a str"):
        atomic_write_text(final, b"bytes", overwrite=True)
    with pytest.raises(TypeError):
        atomic_write_bytes(final, "text", overwrite=True)
    assert _state(tmp_path) == {"a.txt": b"old"}


@given(name=names)
def test_one_temporary_name_style(name):
    tmp = temporary_sibling(Path("/x") / name)
    assert tmp.parent == Path("/x") and tmp.name.startswith(f".{name}.")
    assert is_temporary(tmp) and not is_temporary(Path("/x") / name)
    assert temporary_sibling(name) != temporary_sibling(name)  # fresh each time


# ------------------------------------------------------------- no other recipe in skflux
#: Calls that rename a temporary onto a result: only skflux/_atomic.py may (a temporary
#: file alone, e.g. the command line's probe of a folder, is no atomic write).
_RECIPE_CALLS = {("os", "replace"), ("os", "rename")}


def _recipes(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in _RECIPE_CALLS:
                out.append(f"{f.value.id}.{f.attr} (line {node.lineno})")
            elif f.attr in ("rename", "replace") and len(node.args) == 1 and not (
                    isinstance(node.args[0], ast.Constant)):  # Path.rename(p), Path.replace(p)
                out.append(f".{f.attr}(...) (line {node.lineno})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value.endswith((".partial", ".tmp")) or ".partial-" in node.value):
            out.append(f"temporary name {node.value!r} (line {node.lineno})")
    return out


def test_skflux_writes_atomically_only_through_the_helper():
    found = {}
    for path in sorted((ROOT / "skflux").rglob("*.py")):
        if path.name == "_atomic.py":
            continue
        hits = _recipes(path)
        if hits:
            found[path.relative_to(ROOT).as_posix()] = hits
    assert not found, f"atomic-write recipes outside skflux/_atomic.py: {found}"


def test_the_recipe_finder_finds_recipes(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import os, tempfile\nfrom pathlib import Path\n"
                   "def f(p, t):\n    fd, tmp = tempfile.mkstemp(suffix='.partial')\n"
                   "    os.replace(tmp, p)\n    Path(t).rename(p)\n"
                   "    'a-b'.replace('-', '_')\n")
    hits = _recipes(src)
    assert any("os.replace" in h for h in hits)
    assert any(".rename(" in h for h in hits) and any("'.partial'" in h for h in hits)
    assert not any("mkstemp" in h for h in hits)  # a temporary alone is no recipe
    assert not any("line 7" in h for h in hits)  # str.replace with two arguments
