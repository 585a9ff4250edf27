"""From real HMI maps to the report through the command line (issue 27).

``extract -> prepare -> relabel (a simulated reviewer reading a label column)
-> fit -> locate -> report``, every step through ``skflux``, on the committed
real full-disk HMI map (tests/data/observations, see PROVENANCE.md) and its
derived region catalogue ``hmi_20111217_regions.csv``.

The fixtures hold one date; month-block cross-validation needs months 1-12.
The test therefore dates copies of the one real map: for every month of the
catalogue, three copies two cadences apart (frames 0, 2 and 4 of a 6-frame
video; frames 1 and 3 are gaps, frame 5 is after the last map), the observer's
Carrington longitude advanced at the Carrington rate so that the patches move
across the disk as regions do. The pixels are real; the time series is not.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_cli import cli

from skflux.io import PACK_SCALE, open_videos
from skflux.pipeline import lower_bound_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DATA = Path(__file__).parent / "data" / "observations"
HMI_FD = DATA / "hmi_m_720s_20111217_0600_fd_bin16.fits"
CATALOG = DATA / "hmi_20111217_regions.csv"
CADENCE_MIN = 96
N_FRAMES = 6
MAP_FRAMES = (0, 2, 4)  # frames of each month's video that have a map
CARRINGTON_DEG_PER_DAY = 360.0 / 27.2753
TINY_NET = ["--epochs", "1", "--param", "module__widths=(2, 2, 4, 4)", "--param",
            "module__top=4", "--param", "module__dense=4", "--lr", "0.01", "--batch-size", "8"]
GRID = ["--frames", str(N_FRAMES), "--size", "16", "--pixel-deg", "0.5"]


def _dated_copies(folder):
    """The real map dated at every month start of the catalogue (+0, +2, +4 cadences)."""
    from astropy.io import fits

    folder.mkdir()
    starts = sorted({t for t in pd.read_csv(CATALOG)["start"] if t.endswith("06:00:00")})
    with fits.open(HMI_FD) as hdul:
        crln0 = float(hdul[1].header["CRLN_OBS"])
    for start in starts:
        for k in MAP_FRAMES:
            t = np.datetime64(start) + np.timedelta64(k * CADENCE_MIN, "m")
            iso = str(t.astype("datetime64[ms]"))
            with fits.open(HMI_FD) as hdul:
                h = hdul[1].header
                h["DATE-OBS"] = iso
                h["T_OBS"] = h["T_REC"] = iso.replace("-", ".").replace("T", "_") + "_TAI"
                days = k * CADENCE_MIN / 1440.0
                h["CRLN_OBS"] = (crln0 - CARRINGTON_DEG_PER_DAY * days) % 360.0
                hdul.writeto(folder / f"hmi_{iso.replace(':', '')}.fits")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The run directory after every step, and the stdout of each command."""
    work = tmp_path_factory.mktemp("e2e_real")
    _dated_copies(work / "maps")
    shutil.copy(CATALOG, work / "regions.csv")
    out = {}

    def step(name, *args):
        proc = cli("-q", *args, cwd=work)
        assert proc.returncode == 0, (name, proc.stderr)
        out[name] = proc

    (work / "run").mkdir()
    step("extract", "extract", "maps", "regions.csv", "run/data.nc", *GRID)
    step("prepare", "prepare", "run/data.nc", "run/prepared.nc", "--fill-gaps")
    step("relabel", "relabel", "run/prepared.nc", "--oracle", "truth", "--truth-coord",
         "reviewed_label", "--log", "run/review.db", "--out", "run/relabeled.nc",
         "--passes-json", "run/relabeled.json", "--max-passes", "2", *TINY_NET)
    step("fit", "fit", "run/relabeled.nc", "run/model", "--members", "4", "--seeds", "1",
         *TINY_NET)
    step("locate", "locate", "run/relabeled.nc", "run/model", "run/times.nc", "--list")
    step("report", "report", "run")
    return work / "run", out


def test_extract_leaves_gaps_and_limb_unobserved(run):
    run_dir, _ = run
    data = open_videos(run_dir / "data.nc")
    catalog = pd.read_csv(CATALOG)
    assert data.sizes == {"video": len(catalog), "frame": N_FRAMES, "lat": 16, "lon": 16}
    observed = data["observed"].values.astype(bool)
    ids = data["bmr_id"].values
    regular = np.array([not i.endswith("once") for i in ids])
    expected = np.isin(np.arange(N_FRAMES), MAP_FRAMES)
    assert (observed[regular] == expected).all()
    assert observed[~regular].tolist() == [[True] + [False] * (N_FRAMES - 1)]
    values = data.values
    assert np.isnan(values[:, ~expected]).all()  # frames without a map are NaN
    limb = np.array([i.endswith("limb") for i in ids])
    assert np.isnan(values[limb][:, 0]).any()  # pixels beyond the limb cut, by design
    assert not np.isnan(values[regular & ~limb][:, 0]).any()


def test_prepare_fills_what_the_observed_span_allows(run):
    run_dir, _ = run
    data = open_videos(run_dir / "data.nc").load()
    prepared = open_videos(run_dir / "prepared.nc").load()
    assert prepared.sizes == data.sizes
    assert not np.isnan(prepared.values).any()
    assert (prepared["observed"].values == data["observed"].values).all()
    assert (prepared["bmr_id"].values == data["bmr_id"].values).all()
    # frames 1 and 3 lie inside the observed span: the mean of their neighbours (linear
    # interpolation, pixels observed on both sides), up to the file's int16 packing
    v, p = data.values, prepared.values
    ok = ~np.isnan(v[:, 0]) & ~np.isnan(v[:, 2]) & ~np.isnan(v[:, 4])
    for gap, (a, b) in ((1, (0, 2)), (3, (2, 4))):
        np.testing.assert_allclose(p[:, gap][ok], ((v[:, a] + v[:, b]) / 2)[ok],
                                   atol=2 * PACK_SCALE)
    # frame 5 is after the last map: the last observed frame repeated (edge padding)
    np.testing.assert_allclose(p[:, 5], p[:, 4], atol=PACK_SCALE)
    # pixels beyond the limb cut in an observed frame are 0 G (off-disk background)
    off = np.isnan(v) & data["observed"].values.astype(bool)[:, :, None, None]
    assert off.any() and (p[off] == 0).all()


def test_relabel_takes_the_reviewed_label_column(run):
    run_dir, _ = run
    new = open_videos(run_dir / "relabeled.nc")
    crude, truth = new["crude_label"].values, new["reviewed_label"].values
    changed = new["label"].values != crude
    assert (crude != truth).sum() == 4  # the catalogue's four crude mistakes
    assert not (changed & ~new["verified"].values.astype(bool)).any()
    assert (new["label"].values[changed] == truth[changed]).all()
    assert (run_dir / "relabeled.json").is_file() and (run_dir / "review.db").is_file()


def test_locate_says_no_emergence_located_instead_of_a_date(run):
    run_dir, out = run
    with xr.open_dataset(run_dir / "times.nc") as ds:
        assert ds.attrs["lower_bound"] == lower_bound_for(N_FRAMES)
        located = ds["located"].values.astype(bool)
        ids = ds["bmr_id"].values
        assert ds.attrs["n_not_located"] == int((~located).sum())
        once = ids == "m12once"
        assert not located[once].any()  # one observed frame: never a time
        assert np.isnat(ds["emergence_time"].values[~located]).all()
        assert np.isnan(ds["emergence_frame"].values[~located]).all()
        assert not np.isnat(ds["emergence_time"].values[located]).any()
    lines = dict(line.split("\t") for line in out["locate"].stdout.splitlines())
    assert set(lines) == set(ids)
    for vid, ok in zip(ids, located):
        text = lines[vid]
        assert ("no emergence located" in text) == (not ok), text
        assert (re.search(r"\d{4}-\d\d-\d\d", text) is not None) == ok, text
    assert "observed frame" in lines["m12once"]


def test_report_shows_every_figure_or_a_note(run):
    run_dir, _ = run
    html = (run_dir / "report" / "index.html").read_text()
    for n in range(1, 7):
        section = html.split(f'<figure id="fig{n}"')[1].split("</figure>")[0]
        shown = re.findall(r'<img src="([^"]+)"', section)
        assert shown or "Not drawn:" in section or "Drawing failed:" in section, n
        for name in shown:
            assert (run_dir / "report" / name).is_file()
    with xr.open_dataset(run_dir / "times.nc") as ds:
        n_not = int(ds.attrs["n_not_located"])
        n = ds.sizes["video"]
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td[^>]*>([^<]+)</td>", html))
    assert rows["videos located"] == str(n)
    assert rows["no emergence located"] == str(n_not)
    assert rows["emergence located"] == str(n - n_not)
    # the report wrote nothing into the run directory but its own folder
    assert not (run_dir / "probabilities.nc").exists()
