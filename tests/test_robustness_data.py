"""Issue 28, part A: bad files and bad luck on the data side.

Model directories whose numbers would exhaust the machine or predict nonsense,
commands that would write over their own inputs, Zarr stores that would delete
a user's folder or read missing chunks as data, and ``skflux extract`` on bad
maps and catalogues. Each case is refused with a message naming the file, key,
row or option at fault, and nothing on disk changes where a run is refused.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skflux import FluxEmergenceClassifier, MonthBlockEnsemble
from skflux._model_dir import MAX_N_JOBS, ModelDirectoryError


def _edit_config(directory, section=None, **changes):
    path = Path(directory) / "config.json"
    config = json.loads(path.read_text())
    (config[section] if section else config).update(changes)
    path.write_text(json.dumps(config))


def _snapshot(folder):
    """Every file under ``folder`` with its bytes: proof that nothing changed."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def saved_ensemble(tiny_fitted_ensemble, tmp_path):
    return tiny_fitted_ensemble.save(tmp_path / "model")


# --------------------------------------------------------------------------- BAD 1: numbers
@pytest.mark.parametrize("n_jobs", [99999, MAX_N_JOBS + 1, 0, -2, 1.5, "8", True])
def test_ensemble_config_n_jobs_out_of_bounds_is_refused(saved_ensemble, n_jobs):
    _edit_config(saved_ensemble, "params", n_jobs=n_jobs)
    with pytest.raises(ModelDirectoryError, match=r"config\.json.*n_jobs") as info:
        MonthBlockEnsemble.load(saved_ensemble)
    assert str(saved_ensemble) in str(info.value)


@pytest.mark.parametrize("n_jobs", [None, -1, 1, MAX_N_JOBS])
def test_ensemble_config_n_jobs_within_bounds_loads(saved_ensemble, n_jobs):
    _edit_config(saved_ensemble, "params", n_jobs=n_jobs)
    assert MonthBlockEnsemble.load(saved_ensemble).n_jobs == n_jobs


@pytest.mark.parametrize("key, value", [
    ("module__widths", [100000, 2, 4, 4]),   # a first convolution of ~1e9 weights
    ("module__widths", [2, 2, 4, 100000]),
    ("module__dense", 10 ** 9),
    ("module__top", 10 ** 8),
])
def test_member_config_network_too_large_is_refused_before_building(saved_ensemble, key, value):
    member = saved_ensemble / "member_01"
    _edit_config(member, "params", **{key: value})
    with pytest.raises(ModelDirectoryError, match=key.split("__")[1]) as info:
        MonthBlockEnsemble.load(saved_ensemble)
    text = str(info.value)
    assert str(member / "config.json") in text and "parameters" in text


@pytest.mark.parametrize("section, key, value", [
    ("params", "batch_size", 10 ** 9),       # one batch of ~1 TB of videos
    ("params", "batch_size", -1),            # the whole data set at once
    ("params", "num_workers", 99999),
    ("params", "num_workers", -3),
    (None, "video_shape", [8, 16, 10 ** 7]),
])
def test_member_config_numbers_out_of_bounds_are_refused(saved_ensemble, section, key, value):
    member = saved_ensemble / "member_00"
    _edit_config(member, section, **{key: value})
    with pytest.raises(ModelDirectoryError, match=key) as info:
        FluxEmergenceClassifier.load(member)
    assert str(member / "config.json") in str(info.value)


def test_ensemble_config_batch_size_out_of_bounds_is_refused(saved_ensemble):
    _edit_config(saved_ensemble, "params", batch_size=10 ** 9)
    with pytest.raises(ModelDirectoryError, match=r"config\.json.*batch_size"):
        MonthBlockEnsemble.load(saved_ensemble)


def test_loaded_bounds_keep_a_saved_model_usable(saved_ensemble, tiny_fitted_ensemble,
                                                 tiny_videos):
    back = MonthBlockEnsemble.load(saved_ensemble)
    X = tiny_videos.values[:4]
    np.testing.assert_array_equal(back.predict_proba_members(X),
                                  tiny_fitted_ensemble.predict_proba_members(X))


# --------------------------------------------------------------------------- BAD 2: threshold
@pytest.mark.parametrize("threshold", ["NaN", 5.0, -1e308, "Infinity", True, "0.6", None])
def test_ensemble_config_threshold_outside_0_1_is_refused(saved_ensemble, threshold):
    path = saved_ensemble / "config.json"
    text = path.read_text()
    config = json.loads(text)
    config["threshold_"] = threshold
    path.write_text(json.dumps(config))  # json writes NaN / Infinity as Python reads them
    with pytest.raises(ModelDirectoryError, match=r"config\.json.*threshold_") as info:
        MonthBlockEnsemble.load(saved_ensemble)
    assert str(saved_ensemble) in str(info.value)


@given(st.floats(0.0, 1.0))
def test_property_any_threshold_in_0_1_round_trips(tiny_fitted_ensemble, tmp_path_factory,
                                                   threshold):
    path = tiny_fitted_ensemble.save(tmp_path_factory.mktemp("m") / "model")
    _edit_config(path, threshold_=threshold)
    assert MonthBlockEnsemble.load(path).threshold_ == threshold


# --------------------------------------------------------------------------- BAD 6: shapes
def test_ensemble_refuses_videos_of_another_shape_as_its_members_do(tiny_fitted_ensemble):
    from skflux.datasets import make_flux_emergence

    X = make_flux_emergence(3, random_state=1, n_frames=8, size=24).values
    member = tiny_fitted_ensemble.estimators_[0]
    with pytest.raises(ValueError) as from_member:
        member.predict_proba(X)
    for method in (tiny_fitted_ensemble.predict_proba, tiny_fitted_ensemble.predict,
                   tiny_fitted_ensemble.predict_proba_members):
        with pytest.raises(ValueError) as from_ensemble:
            method(X)
        assert str(from_ensemble.value) == str(from_member.value)
    assert "8×24×24" in str(from_member.value) and "8×16×16" in str(from_member.value)


def test_ensemble_refuses_videos_of_another_length(tiny_fitted_ensemble):
    from skflux.datasets import make_flux_emergence

    X = make_flux_emergence(2, random_state=1, n_frames=12, size=16)
    with pytest.raises(ValueError, match="12×16×16"):
        tiny_fitted_ensemble.predict_proba(X)
    with pytest.raises(ValueError, match="12×16×16"):
        tiny_fitted_ensemble.quantile(X, 0.5)


# --------------------------------------------------------------------------- BAD 3: inputs
def test_extract_refuses_to_write_over_one_of_its_maps(tmp_path):
    import shutil

    from test_cli import assert_usage_error, cli
    from test_cli_extract import GRID, HMI_FD

    maps = tmp_path / "maps"
    maps.mkdir()
    shutil.copy(HMI_FD, maps / HMI_FD.name)
    (tmp_path / "regions.csv").write_text("bmr_id,lon0,lat0,label\nA,302.0,5.0,1\n")
    before = _snapshot(tmp_path)
    for out in (f"maps/{HMI_FD.name}", f"maps/../maps/./{HMI_FD.name}"):
        proc = cli("-q", "extract", "maps", "regions.csv", out, *GRID, "--overwrite",
                   cwd=tmp_path)
        assert_usage_error(proc, "OUT.nc", HMI_FD.name, "MAPS_DIR")
        assert _snapshot(tmp_path) == before
    os.link(maps / HMI_FD.name, tmp_path / "hard.fits")  # the same file by another name
    before = _snapshot(tmp_path)
    proc = cli("-q", "extract", "maps", "regions.csv", "hard.fits", *GRID, "--overwrite",
               cwd=tmp_path)
    assert_usage_error(proc, "OUT.nc", HMI_FD.name)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["fits/a.fits", "fits/b.dt.fits", "link.fits"])
def test_ingest_refuses_to_write_over_one_of_its_fits_files(tmp_path, target):
    from test_cli import _write_fits, assert_usage_error, cli

    _write_fits(tmp_path / "fits", names=("a", "b"), frames=4, size=8)
    (tmp_path / "link.fits").symlink_to(tmp_path / "fits" / "a.dt.fits")
    before = _snapshot(tmp_path)
    proc = cli("-q", "ingest", "fits", target, "--frames", "4", "--overwrite", cwd=tmp_path)
    assert_usage_error(proc, "OUT.nc", "FITS_DIR")
    assert _snapshot(tmp_path) == before
    assert not list(tmp_path.rglob("*partial*"))
