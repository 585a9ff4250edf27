"""The ``skflux`` command, run as a user runs it: through a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("skflux")
SKFLUX = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "skflux.cli"]
SUBCOMMANDS = ("simulate", "ingest", "fit", "relabel", "locate", "report", "demo")


def skflux(*args, cwd=None, timeout=300, input=None):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    return subprocess.run([*SKFLUX, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout, input=input)


def assert_failure(proc, *fragments):
    """Exit status 1, one line on stderr naming the problem, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    last = lines[-1]
    assert last.startswith("skflux: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in last, (fragment, last)


# --------------------------------------------------------------------------- usage

def test_help_lists_every_subcommand():
    proc = skflux("--help")
    assert proc.returncode == 0, proc.stderr
    for name in SUBCOMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name):
    proc = skflux(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: skflux {name}")
    assert "--quiet" in proc.stdout and "--debug" in proc.stdout


def test_version():
    proc = skflux("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("skflux ")


@pytest.mark.parametrize("args", [
    (),                                                   # no subcommand
    ("frobnicate",),                                      # unknown subcommand
    ("simulate", "out.nc"),                               # missing --n-videos
    ("simulate", "out.nc", "--n-videos", "0"),            # not positive
    ("simulate", "out.nc", "--n-videos", "many"),         # not a number
    ("simulate", "out.nc", "--n-videos", "3", "--bogus"),  # unknown option
    ("relabel", "data.nc", "--log", "r.db"),              # missing --oracle
    ("relabel", "data.nc", "--oracle", "crystal-ball", "--log", "r.db"),
    ("relabel", "data.nc", "--oracle", "truth", "--log", "r.db", "--stop-ratio", "2"),
    ("fit", "data.nc"),                                   # missing MODEL_DIR
    ("fit", "data.nc", "m", "--param", "not-a-pair"),
    ("locate", "data.nc", "model"),                       # missing OUT.nc
])
def test_usage_errors_exit_2(args, tmp_path):
    proc = skflux(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "usage:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_common_options_before_or_after_subcommand(tmp_path):
    for args in (("-q", "report", "missing"), ("report", "missing", "-q")):
        proc = skflux(*args, cwd=tmp_path)
        assert_failure(proc, "missing")


# --------------------------------------------------------------------------- bad paths

@pytest.mark.parametrize("args,fragment", [
    (("simulate", "no/such/folder/out.nc", "--n-videos", "2"), "does not exist"),
    (("ingest", "no-such-dir", "out.nc"), "no-such-dir"),
    (("fit", "missing.nc", "model"), "missing.nc"),
    (("relabel", "missing.nc", "--oracle", "truth", "--log", "r.db"), "missing.nc"),
    (("locate", "missing.nc", "model", "out.nc"), "missing.nc"),
    (("report", "no-such-run"), "no-such-run"),
])
def test_missing_paths_exit_1(args, fragment, tmp_path):
    proc = skflux(*args, cwd=tmp_path)
    assert_failure(proc, fragment)


def test_debug_shows_traceback(tmp_path):
    proc = skflux("--debug", "fit", "missing.nc", "model", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("skflux: error: ")


def test_refuses_to_overwrite(tmp_path):
    (tmp_path / "out.nc").write_bytes(b"precious")
    proc = skflux("simulate", "out.nc", "--n-videos", "2", cwd=tmp_path)
    assert_failure(proc, "already exists", "--overwrite")
    assert (tmp_path / "out.nc").read_bytes() == b"precious"


def test_main_returns_status_in_process(capsys):
    from skflux.cli import main

    assert main(["--version"]) == 0
    assert main(["simulate"]) == 2
    assert main(["report", str(Path("definitely") / "missing")]) == 1
