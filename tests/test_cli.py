"""The ``skflux`` command, run as a user runs it: through a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skflux.pipeline import lower_bound_for

_SCRIPT = Path(sys.executable).with_name("skflux")
SKFLUX = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "skflux.cli"]
SUBCOMMANDS = ("simulate", "ingest", "extract", "prepare", "fit", "relabel", "review", "locate",
               "report", "demo")


def skflux(*args, cwd=None, input=None):
    # one torch thread: these runs check behaviour, not speed, and stay light on a shared CPU
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    return subprocess.run([*SKFLUX, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, input=input)


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


def assert_usage_error(proc, *fragments):
    """Exit status 2, the usage line, and a message naming the option; no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "error: argument" in last, proc.stderr
    for fragment in fragments:
        assert fragment in last, (fragment, last)


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
    ("fit", "data.nc", "m", "--lr", "nan"),               # 21.8: checked when parsed
    ("fit", "data.nc", "m", "--module", "resnet"),
    ("relabel", "data.nc", "--oracle", "truth", "--log", "r.db", "--device", "nonsense"),
    ("simulate", "no/such/folder/out.nc", "--n-videos", "2"),  # output in a missing folder
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
    assert np.array_equal(a["field"].values, b["field"].values, equal_nan=True)
    a.close()
    b.close()


@pytest.mark.slow
def test_fit_saves_an_ensemble_the_library_loads(model):
    from skflux import MonthBlockEnsemble

    ens = MonthBlockEnsemble.load(model)
    assert len(ens.estimators_) == 4
    assert 0.0 <= ens.threshold_ <= 1.0
    assert list(ens.threshold_info_["months"]) == [9, 10]  # threshold="benchmark"
    assert ens.metadata_["training"]["label_coord"] == "label"


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
        assert ds.attrs["lower_bound"] == lower_bound_for(16) == 2  # scaled, not 30
        _assert_located_consistent(ds, n_frames=16)


def _assert_located_consistent(ds, n_frames):
    """Located videos have a frame after the lower bound and a time; the others NaN/NaT,
    and the count in the attribute says how many."""
    import numpy as np

    located = ds["located"].values.astype(bool)
    frames = ds["emergence_frame"].values
    assert ds.attrs["n_not_located"] == int((~located).sum())
    assert ((frames[located] > ds.attrs["lower_bound"]) & (frames[located] <= n_frames - 1)).all()
    assert np.isnan(frames[~located]).all()
    assert np.isnat(ds["emergence_time"].values[~located]).all()
    assert not np.isnat(ds["emergence_time"].values[located]).any()


def test_locate_refuses_another_size_unless_resampled(work, model, tmp_path):
    """Videos of 20 frames of 24 x 24 against a model of 16 x 16 x 16: refused, naming
    both sizes and the fix; with --resample, located on the model's grid."""
    import xarray as xr

    proc = cli("-q", "simulate", "big.nc", "--n-videos", "3", "--seed", "5", "--frames", "20",
               "--size", "24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    args = ("locate", "big.nc", str(model), "times.nc")
    proc = cli(*args, cwd=tmp_path)
    assert_failure(proc, "20×24×24", "16×16×16", "Resample(n_frames=16, size=16)",
                   "--resample")
    assert not (tmp_path / "times.nc").exists()
    proc = skflux("-q", *args, "--resample", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(tmp_path / "times.nc") as ds:
        assert ds.sizes["video"] == 3 and ds["curves"].shape == (4, 3, 16)
        assert ds.attrs["resampled_from"].startswith("20x24x24")
        _assert_located_consistent(ds, n_frames=16)


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
    # a second run resumes from the log and gives the same labels (replacing its outputs
    # only when told to)
    first = new["label"].values.copy()
    proc = cli(*args, cwd=work)
    assert_failure(proc, "new.nc", "already exists", "--overwrite")
    proc = cli(*args, "--overwrite", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    assert (open_videos(work / "new.nc")["label"].values == first).all()


def test_relabel_refuses_in_place_and_foreign_log(work):
    proc = cli("relabel", "data.nc", "--oracle", "truth", "--log", "r.db", "--out",
               "data.nc", cwd=work)
    assert_usage_error(proc, "--out", "data.nc")
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
    assert proc.returncode == 3, proc.stderr  # waiting for the reviewer
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
    weights = sorted(broken.rglob("*.pt"))[1]
    weights.write_bytes(b"not torch weights")
    proc = cli("locate", str(work / "data.nc"), "broken", "o.nc", cwd=tmp_path)
    assert_failure(proc, weights.name)
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
@pytest.mark.e2e
def test_demo_quick_writes_a_report_with_its_figures(tmp_path):
    import json
    import re

    proc = skflux("demo", "--quick", "--out", "demo", cwd=tmp_path)
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
    # the manifest lists exactly the files the demo wrote (what a rerun may remove)
    manifest = json.loads((tmp_path / "demo" / ".skflux-demo").read_text())
    written = {p.relative_to(tmp_path / "demo").as_posix()
               for p in (tmp_path / "demo").rglob("*") if p.is_file()} - {".skflux-demo"}
    assert set(manifest["files"]) == written


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
    assert proc.returncode == 3, proc.stderr
    assert "review pending" in proc.stderr and "emergence?" in proc.stdout
    assert not (tmp_path / "c.nc").exists()
    assert len(list((tmp_path / "frames").glob("*.png"))) >= 2
    verdicts = ReviewLog(tmp_path / "c.db").verdicts()
    assert [v["verdict"] for v in verdicts] == [1, 0]  # both answers kept for the resume


# --------------------------------------------------------------------------- issue 21: safety
# In-process runs with the training replaced by a recorder: these tests check what the
# command does around the library (paths, exit statuses), and that it stops before training.

@pytest.fixture(scope="module")
def small_data(tmp_path_factory, tiny_videos):
    """A data file of 12 tiny simulated videos (with true labels)."""
    from skflux.io import to_netcdf

    path = tmp_path_factory.mktemp("small") / "data.nc"
    to_netcdf(tiny_videos.isel(video=slice(0, 12)), path)
    return path


@pytest.fixture
def no_training(monkeypatch):
    """Replace IterativeRelabeler.fit and MonthBlockEnsemble.fit; returns the list of calls.

    The fake relabeler keeps the labels, verifies nothing and records no pass.
    """
    import numpy as np

    from skflux import IterativeRelabeler, MonthBlockEnsemble

    calls = []

    def fake_relabel(self, X, y, **kw):
        calls.append("relabel")
        y = np.asarray(y)
        self.labels_, self.verified_ = y.copy(), np.zeros(y.size, bool)
        self.fold_of_, self.passes_ = np.zeros(y.size, int), []
        self.n_passes_, self.stop_reason_ = 0, "fake"
        return self

    def fake_ensemble(self, X, y, **kw):
        calls.append("ensemble")
        raise RuntimeError("training reached")

    monkeypatch.setattr(IterativeRelabeler, "fit", fake_relabel)
    monkeypatch.setattr(MonthBlockEnsemble, "fit", fake_ensemble)
    return calls


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


RELABEL = ("relabel", "data.nc", "--oracle", "truth", "--log", "review.db")


@pytest.mark.parametrize("extra,exists,status,fragments", [
    (("--out", "mine.nc"), ["mine.nc"], 1, ("mine.nc", "already exists", "--overwrite")),
    (("--out", "review.db"), ["review.db"], 2, ("--out", "review.db", "--log")),
    (("--out", "review.db", "--overwrite"), ["review.db"], 2, ("--out", "--log")),
    (("--out", "x.nc", "--passes-json", "data.nc"), [], 2, ("--passes-json", "DATA.nc")),
    (("--out", "x.nc", "--passes-json", "review.db"), ["review.db"], 2, ("--passes-json",)),
    (("--out", "new.json"), [], 2, ("--passes-json", "new.json", "--out")),
    (("--out", "x.nc", "--passes-json", "x.nc", "--overwrite"), [], 2, ("--passes-json",)),
])
def test_relabel_never_writes_over_its_inputs_or_outputs(small_data, tmp_path, no_training,
                                                         extra, exists, status, fragments):
    """21.1: refused before any training, every file left as it was."""
    import shutil

    shutil.copy(small_data, tmp_path / "data.nc")
    for name in exists:
        (tmp_path / name).write_bytes(b"precious " + name.encode())
    before = _snapshot(tmp_path)
    proc = cli(*RELABEL, *extra, cwd=tmp_path)
    if status == 2:
        assert_usage_error(proc, *fragments)
    else:
        assert_failure(proc, *fragments)
    assert no_training == []
    assert _snapshot(tmp_path) == before


def test_relabel_overwrite_replaces_only_its_outputs(small_data, tmp_path, no_training):
    import shutil

    shutil.copy(small_data, tmp_path / "data.nc")
    for name in ("new.nc", "new.json", "review.db"):
        (tmp_path / name).write_bytes(b"old")
    before = _snapshot(tmp_path)
    proc = cli(*RELABEL, "--out", "new.nc", "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = _snapshot(tmp_path)
    assert {k for k in before if after.get(k) != before[k]} == {"new.nc", "new.json"}
    assert not [p for p in after if "partial" in p]  # no temporary file left behind


POOL = ("data.nc", "a.nc", "b.nc", "a.json", "b.json", "review.db", "notes.txt")


@pytest.mark.slow
def test_property_no_existing_file_modified_without_overwrite(small_data, no_training):
    """For random output options and existing files, nothing existing changes without
    --overwrite; DATA.nc and the review log never change; exit 0, 1 or 2 only."""
    import shutil
    import tempfile

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None)
    @given(out=st.sampled_from((None, "a.nc", "b.nc", "a.json", "review.db", "data.nc")),
           passes=st.sampled_from((None, "a.json", "b.json", "missing/x.json", "a.nc",
                                   "review.db", "data.nc")),
           log=st.sampled_from(("review.db", "r2.db", "a.nc", "data.nc")),
           existing=st.sets(st.sampled_from(POOL[1:])), overwrite=st.booleans())
    def check(out, passes, log, existing, overwrite):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            shutil.copy(small_data, d / "data.nc")
            for name in existing:
                (d / name).write_bytes(f"user file {name}".encode())
            args = ["relabel", "data.nc", "--oracle", "truth", "--log", log]
            args += ["--out", out] if out else []
            args += ["--passes-json", passes] if passes else []
            args += ["--overwrite"] if overwrite else []
            before = _snapshot(d)
            proc = cli(*args, cwd=d)
            after = _snapshot(d)
            assert proc.returncode in (0, 1, 2), proc.stderr
            changed = {k for k in before if after.get(k) != before[k]}
            if not overwrite:
                assert not changed, (args, changed, proc.stderr)
            assert "data.nc" not in changed and log not in changed, (args, proc.stderr)
            if proc.returncode == 0:
                written = {out or "data.relabeled.nc"}
                written.add(passes or str(Path(out or "data.relabeled.nc").with_suffix(".json")))
                assert changed <= written and written <= set(after)

    check()


def test_demo_rerun_removes_only_its_own_files(tmp_path):
    """21.2: a previous demo's files go, the user's files stay."""
    from skflux.pipeline import RUN_LAYOUT, Manifest
    from skflux.pipeline._manifest import MANIFEST

    folder = tmp_path / "demo"
    first = Manifest(folder, RUN_LAYOUT)
    first.prepare()
    (folder / "data.nc").write_bytes(b"demo")
    (folder / "report").mkdir()
    (folder / "report" / "index.html").write_text("demo")
    (folder / "review.db-lock").write_text("demo")  # any file the demo made
    first.record()
    (folder / "notes.txt").write_text("mine")
    (folder / "mine").mkdir()
    (folder / "mine" / "thesis.tex").write_text("mine")
    Manifest(folder, RUN_LAYOUT).prepare()
    left = {p.relative_to(folder).as_posix() for p in folder.rglob("*")}
    assert left == {MANIFEST, "notes.txt", "mine", "mine/thesis.tex"}


def test_demo_refuses_user_files_where_it_writes(tmp_path):
    from skflux.pipeline import RUN_LAYOUT, Manifest

    folder = tmp_path / "demo"
    first = Manifest(folder, RUN_LAYOUT)
    first.prepare()
    (folder / "data.nc").write_bytes(b"demo")
    first.record()
    (folder / "report").mkdir()
    (folder / "report" / "mine.txt").write_text("mine")  # the user's, in the demo's way
    before = _snapshot(folder)
    proc = cli("demo", "--quick", "--out", "demo", cwd=tmp_path)
    assert_failure(proc, "report/mine.txt", "not written by 'skflux demo'")
    assert _snapshot(folder) == before


def test_demo_refuses_a_folder_without_manifest(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / ".skflux-demo").write_text("written by 'skflux demo'; rerunning replaces it\n")
    (folder / "notes.txt").write_text("mine")
    proc = cli("demo", "--quick", "--out", "old", cwd=tmp_path)
    assert_failure(proc, ".skflux-demo", "not a manifest")
    assert (folder / "notes.txt").read_text() == "mine"


def test_review_pending_exits_3(small_data, tmp_path, monkeypatch):
    """21.7: a run waiting for the reviewer has its own documented status."""
    from skflux import IterativeRelabeler
    from skflux.relabel import ReviewPending

    def pending(self, X, y, **kw):
        raise ReviewPending("fill the sheet", path=tmp_path / "sheet.csv", n_pending=2)

    monkeypatch.setattr(IterativeRelabeler, "fit", pending)
    proc = cli("relabel", str(small_data), "--oracle", "truth", "--log", "r.db",
               "--out", "new.nc", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "review pending" in proc.stderr and "sheet.csv" in proc.stderr
    assert not (tmp_path / "new.nc").exists()
    assert "3    stopped to wait for a review" in skflux("--help").stdout


@pytest.mark.parametrize("command", ["fit", "relabel"])
@pytest.mark.parametrize("extra,option", [
    (("--lr", "nan"), "--lr"),
    (("--module", "resnet"), "--module"),
    (("--device", "nonsense"), "--device"),
    (("--param", "bogus=1"), "--param"),
    (("--param", "module__bogus=1"), "--param"),
    (("--n-jobs", "0"), "--n-jobs"),
    (("--seed", "-1"), "--seed"),
])
def test_options_checked_before_training(small_data, tmp_path, no_training, command, extra,
                                         option):
    """21.8: exit 2 naming the option, nothing trained, nothing written."""
    args = (("fit", str(small_data), "model") if command == "fit" else
            ("relabel", str(small_data), "--oracle", "truth", "--log", "r.db"))
    proc = cli(*args, *extra, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"argument {option}" in proc.stderr, proc.stderr
    assert no_training == []
    assert not list(tmp_path.iterdir())


def test_passes_json_in_missing_folder_before_training(small_data, tmp_path, no_training):
    proc = cli("relabel", str(small_data), "--oracle", "truth", "--log", "r.db",
               "--passes-json", "missing/p.json", cwd=tmp_path)
    assert_usage_error(proc, "--passes-json", "does not exist")
    assert no_training == []


@pytest.mark.parametrize("name,content", [
    ("metrics.json", b"{not json"),
    ("metrics.json", b"[1, 2]"),
    ("relabeled.json", b"\x00\x01garbage"),
    ("relabeled.json", b'{"passes": 3}'),
    ("times.nc", b"\x89HDF\r\n\x1a\n" + b"garbage" * 50),
])
def test_report_refuses_corrupt_run_files(tmp_path, name, content):
    """21.9: the message names the corrupt file; no report is left behind."""
    run = tmp_path / "run"
    run.mkdir()
    if name != "metrics.json":
        (run / "metrics.json").write_text("{}")
    (run / name).write_bytes(content)
    proc = cli("report", "run", cwd=tmp_path)
    assert_failure(proc, str(Path("run") / name), "corrupt")
    assert not (run / "report").exists()


@pytest.mark.parametrize("out", [".", "..", "data.nc", "model"])
def test_report_out_never_a_run_file(tmp_path, out):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    proc = cli("report", "run", "--out", str(Path("run") / out), "--overwrite", cwd=tmp_path)
    assert_usage_error(proc, "--out")
    assert (run / "metrics.json").read_text() == "{}"


def test_python_dash_m_skflux_runs_the_command_line():
    # `python -m skflux` is the same command as `skflux` (it had no __main__ module)
    proc = subprocess.run([sys.executable, "-m", "skflux", "--version"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from skflux import __version__

    assert proc.stdout.strip() == f"skflux {__version__}"


# --------------------------------------------------------------------------- issue 27

class _FakeOracle:
    def close(self):
        pass


@pytest.fixture
def web_runs(monkeypatch):
    """Record what ``pipeline.make_oracle`` is asked for; the relabeling opens its log
    (writing the recorded options, as a real run does) and stops as a reviewer would."""
    import skflux.pipeline
    from skflux import IterativeRelabeler
    from skflux.relabel import ReviewLog, ReviewPending

    calls = []

    def make_oracle(kind, videos=None, **kw):
        calls.append(dict(kw, kind=kind))
        return _FakeOracle()

    def stop(self, X, y, **kw):
        log = self.review_log if isinstance(self.review_log, ReviewLog) else ReviewLog(
            self.review_log)
        log.open("fingerprint", {}).close()
        raise ReviewPending("the reviewer stopped")

    monkeypatch.setattr(skflux.pipeline, "make_oracle", make_oracle)
    monkeypatch.setattr(IterativeRelabeler, "fit", stop)
    return calls


def test_review_keeps_the_model_and_reviewer_name_of_the_run_it_resumes(small_data, tmp_path,
                                                                        web_runs):
    """Finding 4 of issue 27: 'skflux review' dropped --model and --reviewer-name, so
    resumed verdicts lost the evidence and were logged under the OS user."""
    (tmp_path / "model").mkdir()
    proc = cli("relabel", str(small_data), "--oracle", "web", "--log", "r.db", "--out",
               "new.nc", "--model", "model", "--reviewer-name", "ann", "--no-browser",
               cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    first = web_runs[-1]
    assert first["kind"] == "web" and first["reviewer_name"] == "ann"
    assert (tmp_path / first["model"]).resolve() == (tmp_path / "model").resolve()
    # resumed from another folder, with no option but the log: the same evidence and name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = cli("review", str(small_data), "--log", str(tmp_path / "r.db"), cwd=elsewhere)
    assert proc.returncode == 3, proc.stderr
    resumed = web_runs[-1]
    assert resumed["reviewer_name"] == "ann" and resumed["open_browser"] is False
    assert Path(resumed["model"]) == (tmp_path / "model").resolve()  # recorded absolute
    # an option given to review replaces the recorded one
    proc = cli("review", str(small_data), "--log", "r.db", "--reviewer-name", "bo",
               cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert web_runs[-1]["reviewer_name"] == "bo"
    assert Path(web_runs[-1]["model"]) == (tmp_path / "model").resolve()


def _gappy(tiny_videos, path):
    """Tiny videos with frames 2-3 missing (NaN, unobserved) and a NaN off-disk corner."""
    from skflux.io import to_netcdf

    # (no simulator truth: Resample keeps 'emergence_frame' in the old frames, see the report)
    v = tiny_videos.isel(video=slice(0, 6)).load().drop_vars("emergence_frame").copy()
    observed = np.ones(v.shape[:2], dtype=bool)
    observed[:, 2:4] = False
    values = v.values.copy()
    values[:, 2:4] = np.nan
    values[:, :, :2, :2] = np.nan  # beyond the limb in every frame
    v = v.copy(data=values).assign_coords(observed=(("video", "frame"), observed))
    to_netcdf(v, path)
    return v


def test_prepare_fills_gaps_masks_and_resamples(tiny_videos, tmp_path):
    """Finding 3: extracted videos hold NaN; 'skflux prepare' makes them usable."""
    from skflux.io import PACK_SCALE, open_videos

    src = _gappy(tiny_videos, tmp_path / "gappy.nc")
    proc = cli("-q", "prepare", "gappy.nc", "filled.nc", "--fill-gaps", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    filled = open_videos(tmp_path / "filled.nc").load()
    assert filled.shape == src.shape and not np.isnan(filled.values).any()
    v, p = src.values, filled.values
    # gaps inside the observed span: linear interpolation between frames 1 and 4
    np.testing.assert_allclose(p[:, 2, 2:, 2:], (2 * v[:, 1, 2:, 2:] + v[:, 4, 2:, 2:]) / 3,
                               atol=2 * PACK_SCALE)
    assert (p[:, :, :2, :2] == 0).all()  # off-disk: 0 G
    assert (filled["observed"].values == src["observed"].values).all()
    proc = cli("-q", "prepare", "filled.nc", "small.nc", "--resample", "4x8x8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert open_videos(tmp_path / "small.nc").sizes == {"video": 6, "frame": 4, "lat": 8,
                                                        "lon": 8}


@pytest.mark.parametrize("args,fragment", [
    (("prepare", "gappy.nc", "out.nc"), "--fill-gaps"),  # nothing to do
    (("prepare", "gappy.nc", "out.nc", "--resample", "4x8x9"), "--resample"),
    (("prepare", "gappy.nc", "out.nc", "--resample", "big"), "--resample"),
    (("prepare", "gappy.nc", "gappy.nc", "--fill-gaps"), "OUT.nc"),
    (("prepare", "gappy.nc", "out.nc", "--resample", "4x8x8", "--model", "m"), "--model"),
])
def test_prepare_usage_errors(tiny_videos, tmp_path, args, fragment):
    _gappy(tiny_videos, tmp_path / "gappy.nc")
    assert_usage_error(cli(*args, cwd=tmp_path), fragment)
    assert not (tmp_path / "out.nc").exists()


def test_prepare_without_fill_gaps_refuses_nan_naming_the_video(tiny_videos, tmp_path):
    v = _gappy(tiny_videos, tmp_path / "gappy.nc")
    proc = cli("prepare", "gappy.nc", "out.nc", "--resample", "4x8x8", cwd=tmp_path)
    assert_failure(proc, "video 0", repr(str(v["bmr_id"].values[0])), "--fill-gaps")
    assert not (tmp_path / "out.nc").exists()


def test_report_shows_a_failed_figure_as_a_note(tmp_path, monkeypatch):
    """Finding 3: one failing figure aborted the whole report."""
    import skflux.report._build as build

    def boom(run):
        raise RuntimeError("cannot draw this one")

    figures = [(k, boom if k == "fig3" else f) for k, f in build.FIGURES]
    monkeypatch.setattr(build, "FIGURES", figures)
    run = tmp_path / "run"
    run.mkdir()
    (run / "relabeled.json").write_text('{"passes": [], "summary": {}}')
    proc = cli("report", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (run / "report" / "index.html").read_text()
    fig3 = html.split('<figure id="fig3"')[1].split("</figure>")[0]
    assert "Drawing failed: RuntimeError: cannot draw this one" in fig3
    assert '<figure id="fig2"' in html and 'src="fig2.png"' in html  # the others go on
    assert "Figure 3 failed" in proc.stderr
    assert sorted(p.name for p in run.iterdir()) == ["relabeled.json", "report"]


@pytest.mark.slow
def test_report_on_videos_of_another_size_than_the_model(model, tmp_path):
    """Finding 3: a report works at any video size (the test videos are brought to the
    model's size in memory for Figure 4; nothing is written into the run)."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    proc = cli("-q", "simulate", "run/data.nc", "--n-videos", "40", "--seed", "7", "--frames",
               "20", "--size", "24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(model, run / "model")
    proc = cli("report", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (run / "report" / "index.html").read_text()
    fig4 = html.split('<figure id="fig4"')[1].split("</figure>")[0]
    assert 'src="fig4.png"' in fig4, fig4
    assert "Test accuracy" in html
    assert sorted(p.name for p in run.iterdir()) == ["data.nc", "model", "report"]
