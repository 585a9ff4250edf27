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
    # one torch thread: these runs check behaviour, not speed, and stay light on a shared CPU
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    return subprocess.run([*SKFLUX, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout, input=input)


def cli(*args, cwd):
    """Run ``skflux`` in this process (cheaper than a subprocess: no new torch import)."""
    import contextlib
    import io

    from skflux.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(a) for a in args])
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


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


# --------------------------------------------------------------------------- tiny pipeline

TINY_NET = ["--epochs", "1", "--param", "module__widths=(2, 2, 4, 4)", "--param",
            "module__top=4", "--param", "module__dense=4"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tiny simulated dataset written by ``skflux simulate``."""
    d = tmp_path_factory.mktemp("cli")
    proc = skflux("simulate", "data.nc", "--n-videos", "84", "--seed", "3", "--frames", "16",
                  "--size", "16", cwd=d)
    assert proc.returncode == 0, proc.stderr
    return d


@pytest.fixture(scope="module")
def model(work):
    proc = skflux("fit", "data.nc", "model", "--members", "4", "--seeds", "1", *TINY_NET,
                  cwd=work)
    assert proc.returncode == 0, proc.stderr
    return work / "model"


@pytest.mark.slow
def test_simulate_writes_the_schema(work):
    from skflux.io import open_videos

    videos = open_videos(work / "data.nc")
    assert videos.sizes == {"video": 84, "frame": 16, "lat": 16, "lon": 16}
    for coord in ("label", "true_label", "emergence_frame", "month"):
        assert coord in videos.coords
    assert not list(work.glob(".*partial*"))


def test_simulate_is_deterministic(work, tmp_path):
    import xarray as xr

    proc = cli("-q", "simulate", "again.nc", "--n-videos", "3", "--seed", "3", "--frames",
               "16", "--size", "16", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # quiet: no progress lines (warnings, if any, still show)
    assert "simulating" not in proc.stderr and "wrote" not in proc.stderr, proc.stderr
    a = xr.open_dataset(tmp_path / "again.nc")
    b = xr.open_dataset(work / "data.nc").isel(video=slice(0, 3))
    np = pytest.importorskip("numpy")
    assert np.array_equal(a["field"].values, b["field"].values, equal_nan=True)
    a.close()
    b.close()


@pytest.mark.slow
def test_fit_saves_members_and_config(model):
    import json

    config = json.loads((model / "config.json").read_text())
    assert config["format"] == "skflux-month-block-ensemble"
    assert len(config["members"]) == 4
    assert 0.0 <= config["threshold"] <= 1.0
    assert config["training"]["benchmark_months"] == [9, 10]
    for member in config["members"]:
        assert (model / member["file"]).is_file()


def test_fit_refuses_existing_model_dir(work, model):
    proc = cli("fit", "data.nc", "model", *TINY_NET, cwd=work)
    assert_failure(proc, "already exists")


@pytest.fixture(scope="module")
def times(work, model):
    proc = skflux("locate", "data.nc", "model", "times.nc", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return work / "times.nc"


@pytest.mark.slow
def test_locate_writes_times(times):
    import xarray as xr

    with xr.open_dataset(times) as ds:
        assert ds.sizes["video"] == 84 and ds.sizes["member"] == 4
        assert ds["curves"].shape == (4, 84, 16)
        frames = ds["emergence_frame"].values
        assert ((frames >= ds.attrs["lower_bound"]) & (frames <= 15)).all()


@pytest.mark.slow
def test_relabel_truth_writes_a_copy_and_resumes(work):
    import hashlib
    import json

    from skflux.io import open_videos

    digest = hashlib.sha256((work / "data.nc").read_bytes()).hexdigest()
    args = ("relabel", "data.nc", "--oracle", "truth", "--log", "review.db", "--out",
            "new.nc", "--max-passes", "1", *TINY_NET)
    proc = skflux(*args, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256((work / "data.nc").read_bytes()).hexdigest() == digest
    old, new = open_videos(work / "data.nc"), open_videos(work / "new.nc")
    changed = new["label"].values != old["label"].values
    assert (new["crude_label"].values == old["label"].values).all()
    # only verified videos change, and always to the truth
    assert not (changed & ~new["verified"].values.astype(bool)).any()
    assert (new["label"].values[changed] == old["true_label"].values[changed]).all()
    record = json.loads((work / "new.json").read_text())
    assert record["summary"]["passes"] == len(record["passes"]) >= 1
    # a second run resumes from the log and gives the same labels
    first = new["label"].values.copy()
    proc = cli(*args, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    assert (open_videos(work / "new.nc")["label"].values == first).all()


def test_relabel_refuses_in_place_and_foreign_log(work):
    proc = cli("relabel", "data.nc", "--oracle", "truth", "--log", "r.db", "--out",
               "data.nc", cwd=work)
    assert_failure(proc, "refusing")
    (work / "foreign.db").write_bytes(b"this is not a review log at all")
    proc = cli("relabel", "data.nc", "--oracle", "truth", "--log", "foreign.db",
               "--out", "x.nc", *TINY_NET, cwd=work)
    assert_failure(proc, "foreign.db")
    assert (work / "foreign.db").read_bytes() == b"this is not a review log at all"
    assert not (work / "x.nc").exists()


@pytest.mark.slow
def test_relabel_sheet_round_trip(work, tmp_path):
    import pandas as pd

    from skflux.io import open_videos

    data = work / "data.nc"
    args = ("relabel", str(data), "--oracle", "sheet", "--log", "sheet.db", "--out", "s.nc",
            "--sheet", "sheets", "--max-passes", "1", *TINY_NET)
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "review pending" in proc.stderr
    assert not (tmp_path / "s.nc").exists()
    sheet_path = tmp_path / "sheets" / "review_pass1.csv"
    sheet = pd.read_csv(sheet_path)
    assert len(sheet) > 0
    truth = open_videos(data)["true_label"].values
    sheet["verdict"] = truth[sheet["video"].to_numpy()]
    sheet.to_csv(sheet_path, index=False)
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    new = open_videos(tmp_path / "s.nc")
    assert new["verified"].values.sum() == len(sheet)


@pytest.mark.slow
def test_report_of_a_run_directory(work, model, times):
    import re
    import shutil

    run = work / "run"
    run.mkdir()
    shutil.copy(work / "data.nc", run / "data.nc")
    shutil.copytree(model, run / "model")
    shutil.copy(times, run / "times.nc")
    proc = skflux("report", "run", cwd=work)
    assert proc.returncode == 0, proc.stderr
    html = (run / "report" / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 5  # Figures 1, 2, 4, 5, 6 (no relabeling in this run)
    for name in images:
        assert (run / "report" / name).is_file()
    assert "Figure 3" in html and "Not drawn" in html  # said, not silently dropped
    assert proc.stdout.strip().endswith("index.html")


# --------------------------------------------------------------------------- bad files

def test_corrupt_netcdf_exit_1(tmp_path):
    (tmp_path / "bad.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    for args in (("fit", "bad.nc", "m"), ("locate", "bad.nc", "m", "o.nc"),
                 ("relabel", "bad.nc", "--oracle", "truth", "--log", "r.db")):
        proc = cli(*args, cwd=tmp_path)
        assert_failure(proc, "bad.nc")


def test_bad_model_dir_exit_1(work, model, tmp_path):
    import shutil

    (tmp_path / "empty").mkdir()
    proc = cli("locate", str(work / "data.nc"), "empty", "o.nc", cwd=tmp_path)
    assert_failure(proc, "not a model directory")
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    (broken / "member_01.pt").write_bytes(b"not torch weights")
    proc = cli("locate", str(work / "data.nc"), "broken", "o.nc", cwd=tmp_path)
    assert_failure(proc, "member_01.pt")
    (broken / "config.json").write_text("{not json")
    proc = cli("locate", str(work / "data.nc"), "broken", "o.nc", cwd=tmp_path)
    assert_failure(proc, "corrupt")
    assert not (tmp_path / "o.nc").exists()


def test_fit_without_truth_coordinate(work, tmp_path):
    proc = cli("fit", str(work / "data.nc"), "m", "--label-coord", "nope", cwd=tmp_path)
    assert_failure(proc, "'nope'")


def test_report_of_a_folder_that_is_no_run(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    proc = cli("report", ".", cwd=tmp_path)
    assert_failure(proc, "not a run directory")


# --------------------------------------------------------------------------- ingest

def _write_fits(folder, names=("a", "b", "c"), frames=10, size=16):
    import numpy as np
    from astropy.io import fits

    folder.mkdir()
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        cube = rng.normal(0, 50, (frames, size, size)).astype("f4")
        cube[:, :2, :2] = np.nan  # off-disk corner
        dt = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 2 * frames), frames - 1,
                                                     replace=False))]) * 5760.0
        header = fits.Header()
        header["DATE-OBS"] = f"2001-{k + 3:02d}-03T00:00:00"
        fits.writeto(folder / f"{name}.fits", cube, header)
        fits.writeto(folder / f"{name}.dt.fits", dt)


@pytest.mark.slow
def test_ingest_fits_with_labels(tmp_path):
    from skflux.io import open_videos

    _write_fits(tmp_path / "fits")
    (tmp_path / "labels.csv").write_text(
        "file,label,lat0,lon0\na.fits,1,10,-30\nb.fits,0,-12,-70\nc.fits,1,5,0\n")
    proc = skflux("ingest", "fits", "out.nc", "--labels", "labels.csv", "--frames", "24",
                  "--instrument", "MDI", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    videos = open_videos(tmp_path / "out.nc")
    assert videos.sizes["video"] == 3 and videos.sizes["frame"] == 24
    assert videos["label"].values.tolist() == [1, 0, 1]
    assert videos.attrs["instrument"] == "MDI"
    assert videos.notnull().all()


@pytest.mark.parametrize("csv,fragment", [
    ("name_of_nothing,label\nx,1\n", "needs a column"),
    ("file,label\na.fits,1\nb.fits,maybe\nc.fits,0\n", "row 3"),
    ("file,label\na.fits,1\nb.fits,0\n", "c"),  # a cube without a row
])
def test_ingest_bad_labels_exit_1(tmp_path, csv, fragment):
    _write_fits(tmp_path / "fits")
    (tmp_path / "labels.csv").write_text(csv)
    proc = cli("ingest", "fits", "out.nc", "--labels", "labels.csv", cwd=tmp_path)
    assert_failure(proc, fragment)
    assert not (tmp_path / "out.nc").exists()
    assert not list(tmp_path.glob(".out.nc*"))


def test_ingest_bad_fits_exit_1(tmp_path):
    _write_fits(tmp_path / "fits", names=("a",))
    (tmp_path / "fits" / "a.dt.fits").unlink()
    proc = cli("ingest", "fits", "out.nc", cwd=tmp_path)
    assert_failure(proc, "a.fits")
    (tmp_path / "fits" / "a.dt.fits").write_bytes(b"SIMPLE  = garbage")
    proc = cli("ingest", "fits", "out.nc", cwd=tmp_path)
    assert_failure(proc, "a.dt.fits")


# --------------------------------------------------------------------------- demo

@pytest.mark.slow
def test_demo_quick_writes_a_report_with_its_figures(tmp_path):
    import json
    import re

    proc = skflux("demo", "--quick", "--out", "demo", cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    report = Path(proc.stdout.strip().splitlines()[-1])
    assert report == (tmp_path / "demo" / "report" / "index.html").resolve()
    html = report.read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 7, images  # Figures 1-5, 6 top and 6 bottom
    for name in images:
        assert (report.parent / name).is_file(), name
    assert "Not drawn" not in html

    def strict(token):
        raise ValueError(f"metrics.json holds {token}")

    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text(),
                         parse_constant=strict)
    test = metrics["test"]
    # the ensemble learned something: better than always answering the majority class
    assert test["accuracy_vs_truth"]["0.5"] > test["majority_class_accuracy"]
    assert metrics["relabel"]["fraction_corrected"] > 0


def test_demo_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    proc = cli("demo", "--quick", "--out", "mine", cwd=tmp_path)
    assert_failure(proc, "not written by 'skflux demo'")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.slow
def test_relabel_console_answers_then_stops_at_end_of_input(work, tmp_path):
    from skflux.relabel import ReviewLog

    args = ("relabel", str(work / "data.nc"), "--oracle", "console", "--log", "c.db",
            "--out", "c.nc", "--sheet", "frames", "--max-passes", "1", *TINY_NET)
    proc = skflux(*args, cwd=tmp_path, input="y\nn\n")  # two answers, then end of input
    assert proc.returncode == 0, proc.stderr
    assert "review pending" in proc.stderr and "emergence?" in proc.stdout
    assert not (tmp_path / "c.nc").exists()
    assert len(list((tmp_path / "frames").glob("*.png"))) >= 2
    verdicts = ReviewLog(tmp_path / "c.db").verdicts()
    assert [v["verdict"] for v in verdicts] == [1, 0]  # both answers kept for the resume
