"""``skflux extract MAPS_DIR CATALOG.csv OUT.nc`` on the committed real HMI map."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_failure, assert_usage_error, cli

from skflux.io import PACK_SCALE, open_videos, patch_video
from skflux.preprocessing import make_preprocessor

DATA = Path(__file__).parent / "data" / "observations"
HMI_FD = DATA / "hmi_m_720s_20111217_0600_fd_bin16.fits"
CRLN_OBS = 312.09  # Carrington longitude of disk centre in the 2011-12-17 map
GRID = ("--frames", "2", "--size", "10", "--pixel-deg", "0.5")


@pytest.fixture
def work(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    shutil.copy(HMI_FD, maps / HMI_FD.name)
    pd.DataFrame({"bmr_id": ["A", "B"], "lon0": [CRLN_OBS - 10.0, CRLN_OBS + 15.0],
                  "lat0": [5.0, -12.0], "label": [1, 0], "noaa": [11, 12]}).to_csv(
        tmp_path / "regions.csv", index=False)
    return tmp_path


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


def test_extract_writes_the_patches_of_the_catalogue(work):
    proc = cli("-q", "extract", "maps", "regions.csv", "out.nc", *GRID, cwd=work)
    assert proc.returncode == 0, proc.stderr
    videos = open_videos(work / "out.nc")
    assert videos.sizes == {"video": 2, "frame": 2, "lat": 10, "lon": 10}
    assert sorted(videos["bmr_id"].values.tolist()) == ["A", "B"]
    assert videos.attrs["instrument"].startswith("HMI")
    # the same numbers as the library's patch_video for the same region and grid
    a = videos.isel(video=int(np.flatnonzero(videos["bmr_id"].values == "A")[0]))
    ref = patch_video([HMI_FD], CRLN_OBS - 10.0, 5.0, n_frames=2, size=10, pixel_deg=0.5)
    # (up to the file's int16 packing: half a packing step)
    np.testing.assert_allclose(a.values, ref.values[0], atol=PACK_SCALE / 2 * 1.001,
                               equal_nan=True)
    assert a["observed"].values.tolist() == [True, False]
    assert int(a["label"]) == 1 and int(a["noaa"]) == 11
    assert not _leftovers(work)
    # ready for training after the usual preparation (mu padded with NaN, no NaN left)
    prepared = make_preprocessor(n_frames=3).fit_transform(videos)
    assert not np.isnan(prepared.values).any()
    assert np.isnan(prepared["mu"].values[:, 1:]).all()


def test_extract_never_replaces_without_overwrite(work):
    (work / "out.nc").write_bytes(b"precious")
    proc = cli("extract", "maps", "regions.csv", "out.nc", *GRID, cwd=work)
    assert_failure(proc, "out.nc", "already exists", "--overwrite")
    assert (work / "out.nc").read_bytes() == b"precious"
    proc = cli("-q", "extract", "maps", "regions.csv", "out.nc", *GRID, "--overwrite", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert open_videos(work / "out.nc").sizes["video"] == 2


def test_extract_bad_catalogue_row_leaves_nothing(work):
    table = pd.read_csv(work / "regions.csv")
    table.loc[1, "lat0"] = 95.0
    table.to_csv(work / "bad.csv", index=False)
    proc = cli("extract", "maps", "bad.csv", "out.nc", *GRID, cwd=work)
    assert_failure(proc, "bad.csv row 1", "'B'")
    assert not (work / "out.nc").exists() and not _leftovers(work)


@pytest.mark.parametrize("args,fragment", [
    (("extract", "maps", "regions.csv", "out.nc", "--scale", "big"), "--scale"),
    (("extract", "maps", "regions.csv", "out.nc", "--mu-min", "2"), "--mu-min"),
    (("extract", "maps", "regions.csv", "regions.csv"), "OUT.nc"),  # output = input
])
def test_extract_usage_errors(work, args, fragment):
    proc = cli(*args, cwd=work)
    assert_usage_error(proc, fragment)
    assert not (work / "out.nc").exists()


def test_extract_missing_inputs(work):
    assert_failure(cli("extract", "nowhere", "regions.csv", "out.nc", cwd=work), "nowhere")
    assert_failure(cli("extract", "maps", "nothing.csv", "out.nc", cwd=work), "nothing.csv")
    (work / "empty").mkdir()
    assert_failure(cli("extract", "empty", "regions.csv", "out.nc", cwd=work), "empty",
                   "*.fits")
