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
from hypothesis import given, settings
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
    ("params", "video_shape", [0, 16, 16]),
    ("params", "video_shape", [8, 16]),
    ("params", "max_epochs", 10 ** 12),
])
def test_member_config_numbers_out_of_bounds_are_refused(saved_ensemble, section, key, value):
    member = saved_ensemble / "member_00"
    _edit_config(member, section, **{key: value})
    with pytest.raises(ModelDirectoryError, match=key) as info:
        FluxEmergenceClassifier.load(member)
    assert str(member / "config.json") in str(info.value)


@pytest.mark.parametrize("key, value", [("batch_size", 10 ** 9), ("batch_size", 0),
                                        ("n_seeds", 10 ** 9), ("n_seeds", 0)])
def test_ensemble_config_counts_out_of_bounds_are_refused(saved_ensemble, key, value):
    _edit_config(saved_ensemble, "params", **{key: value})
    with pytest.raises(ModelDirectoryError, match=rf"config\.json.*params\.{key}"):
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


@settings(max_examples=15)
@given(st.floats(0.0, 1.0))
def test_property_any_threshold_in_0_1_round_trips(saved_ensemble, threshold):
    _edit_config(saved_ensemble, threshold_=threshold)  # the same directory, edited each time
    assert MonthBlockEnsemble.load(saved_ensemble).threshold_ == threshold


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


# --------------------------------------------------------------------------- BAD 4, 5: Zarr
@pytest.fixture
def zvideos():
    from skflux.io._examples import tiny_videos

    return tiny_videos(n=3, n_frames=8, size=6, missing=[3])


def test_to_zarr_overwrite_refuses_a_folder_that_is_not_a_store(zvideos, tmp_path):
    from skflux.io import to_zarr

    folder = tmp_path / "thesis"
    (folder / "chapters").mkdir(parents=True)
    (folder / "notes.txt").write_text("years of work")
    (folder / "chapters" / "1.tex").write_text("\\section{Intro}")
    before = _snapshot(folder)
    with pytest.raises(FileExistsError, match="thesis.*not a Zarr store"):
        to_zarr(zvideos, folder, overwrite=True)
    assert _snapshot(folder) == before
    (tmp_path / "a.zarr").write_text("a file named like a store")
    with pytest.raises(FileExistsError, match="a.zarr.*not a Zarr store"):
        to_zarr(zvideos, tmp_path / "a.zarr", overwrite=True)
    assert (tmp_path / "a.zarr").read_text() == "a file named like a store"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr", "thesis"]  # no leftovers


def test_to_zarr_overwrite_replaces_a_store_even_one_it_reads(zvideos, tmp_path):
    from skflux.io import open_videos, to_zarr

    store = to_zarr(zvideos, tmp_path / "v.zarr")
    back = open_videos(store)  # lazy: reads the store it is written over
    to_zarr(back.isel(video=[2, 0]), store, overwrite=True)
    again = open_videos(store, chunks=None)
    np.testing.assert_allclose(again.values, zvideos.isel(video=[2, 0]).values, atol=0.1 + 5e-4)
    assert again["bmr_id"].values.tolist() == zvideos["bmr_id"].values[[2, 0]].tolist()
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    assert open_videos(to_zarr(zvideos, empty, overwrite=True)).sizes["video"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.zarr", "v.zarr"]


def _chunk(store, variable, *index):
    return Path(store) / variable / "c" / "/".join(map(str, index))


@pytest.mark.parametrize("variable, index, name", [
    ("field", (1, 0, 0, 0), "video 1"),
    ("label", (0,), "label"),
    ("observed", (0, 0), "observed"),
    ("time", (0,), "time"),
])
def test_missing_zarr_chunk_reads_as_missing_not_as_data(zvideos, tmp_path, variable, index,
                                                         name):
    from skflux.io import open_videos, to_zarr

    store = to_zarr(zvideos, tmp_path / "v.zarr")
    _chunk(store, variable, *index).unlink()
    for chunks in ("video", None):
        with pytest.raises(ValueError, match=f"v.zarr.*{variable}") as info:
            open_videos(store, chunks=chunks).load()
        assert "missing" in str(info.value) and name in str(info.value)


def test_zero_valued_chunks_are_written_and_read_back(zvideos, tmp_path):
    """An all-0 G video, all-0 labels and an all-False mask equal Zarr's fill values:
    they are written anyway, so a store never lacks a chunk for a good reason."""
    from skflux.io import open_videos, to_zarr

    v = zvideos.copy(data=zvideos.values.copy())
    v[1] = 0.0
    v = v.assign_coords(label=("video", [0, 0, 0]))
    store = to_zarr(v, tmp_path / "v.zarr")
    assert _chunk(store, "field", 1, 0, 0, 0).is_file() and _chunk(store, "label", 0).is_file()
    back = open_videos(store, chunks=None)
    assert back["label"].values.tolist() == [0, 0, 0]
    assert (back.values[1] == 0).all()


@settings(max_examples=12)
@given(st.lists(st.sampled_from([0.0, np.nan, 0.2, -1000.0]), min_size=3, max_size=3),
       st.lists(st.integers(0, 1), min_size=3, max_size=3))
def test_property_any_constant_videos_and_labels_round_trip(tmp_path_factory, values, labels):
    from skflux.io import open_videos, to_zarr
    from skflux.io._examples import tiny_videos

    v = tiny_videos(n=3, n_frames=4, size=6)
    data = np.broadcast_to(np.asarray(values)[:, None, None, None], v.shape).copy()
    v = v.copy(data=data).assign_coords(label=("video", labels))
    try:
        store = to_zarr(v, tmp_path_factory.mktemp("z") / "v.zarr")
    except ValueError:  # an all-NaN video may be refused by the schema: then nothing is written
        return
    back = open_videos(store, chunks=None)
    np.testing.assert_array_equal(back.values, v.values.astype(np.float32))
    assert back["label"].values.tolist() == labels


def test_truncated_zarr_chunk_names_store_variable_and_video(zvideos, tmp_path):
    from skflux.io import open_videos, to_zarr

    store = to_zarr(zvideos, tmp_path / "v.zarr")
    chunk = _chunk(store, "field", 2, 0, 0, 0)
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    videos = open_videos(store)
    intact = videos.isel(video=[0, 1]).values  # the other videos still read
    np.testing.assert_allclose(intact, zvideos.values[:2], atol=0.1 + 5e-4)
    with pytest.raises(ValueError, match=r"v\.zarr.*field.*video 2") as info:
        videos.load()
    assert "corrupt" in str(info.value) or "truncated" in str(info.value)


@pytest.mark.parametrize("edit, attribute", [
    (lambda meta: meta.update(data_type="int32"), "dtype"),
    (lambda meta: meta["attributes"].update(scale_factor=200.0), "scale_factor"),
    (lambda meta: meta["attributes"].update(add_offset=5.0), "add_offset"),
    (lambda meta: meta["attributes"].update(_FillValue=0), "_FillValue"),
    (lambda meta: meta["attributes"].pop("scale_factor"), "scale_factor"),
])
def test_changed_zarr_packing_is_refused(zvideos, tmp_path, edit, attribute):
    from skflux.io import open_videos, to_zarr

    store = to_zarr(zvideos, tmp_path / "v.zarr")
    for meta_path in (Path(store) / "field" / "zarr.json", Path(store) / "zarr.json"):
        meta = json.loads(meta_path.read_text())
        target = meta if meta_path.parent.name == "field" else (
            meta.get("consolidated_metadata", {}).get("metadata", {}).get("field"))
        if target is not None:
            edit(target)
        meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"v.zarr.*field.*{attribute}"):
        open_videos(store).load()


# --------------------------------------------------------------------------- WEAK: extract
@pytest.fixture
def maps_work(tmp_path):
    """A maps folder with the committed HMI map, a catalogue of two regions, and a
    copy of the map 96 minutes later whose data are all NaN (``nan_map``)."""
    import shutil

    from astropy.io import fits
    from test_cli_extract import CRLN_OBS, HMI_FD

    maps = tmp_path / "maps"
    maps.mkdir()
    shutil.copy(HMI_FD, maps / HMI_FD.name)
    with fits.open(HMI_FD) as hdul:
        hdu = hdul[1]
        data = np.full_like(hdu.data, np.nan)
        header = hdu.header.copy()
    header["T_OBS"] = "2011.12.17_07:35:52.156_TAI"
    header["T_REC"] = "2011.12.17_07:36:00.000_TAI"
    header["DATE-OBS"] = "2011-12-17T07:34:10.700"
    nan_dir = tmp_path / "nan_maps"
    nan_dir.mkdir()
    fits.CompImageHDU(data, header).writeto(nan_dir / "hmi_nan.fits")
    (tmp_path / "regions.csv").write_text(
        f"bmr_id,lon0,lat0,label\nA,{CRLN_OBS - 10.0},5.0,1\nB,{CRLN_OBS + 15.0},-12.0,0\n")
    return tmp_path


def _leftovers(folder):
    return sorted(str(p) for p in Path(folder).rglob("*") if "partial" in p.name)


def test_extract_all_nan_map_gives_unobserved_frames(maps_work):
    import shutil

    from test_cli import cli
    from test_cli_extract import GRID

    from skflux.io import open_videos

    shutil.copy(maps_work / "nan_maps" / "hmi_nan.fits", maps_work / "maps")
    proc = cli("-q", "extract", "maps", "regions.csv", "out.nc", *GRID, cwd=maps_work)
    assert proc.returncode == 0, proc.stderr
    videos = open_videos(maps_work / "out.nc", chunks=None)
    assert videos["observed"].values.tolist() == [[True, False], [True, False]]
    assert np.isnan(videos.values[:, 1]).all() and np.isfinite(videos.values[:, 0]).any()


def test_extract_only_all_nan_maps_is_refused_naming_the_row_and_map(maps_work):
    from test_cli import assert_failure, cli
    from test_cli_extract import GRID

    before = _snapshot(maps_work)
    proc = cli("extract", "nan_maps", "regions.csv", "out.nc", *GRID, cwd=maps_work)
    assert_failure(proc, "regions.csv row 0", "'A'", "hmi_nan.fits", "NaN")
    assert _snapshot(maps_work) == before and not _leftovers(maps_work)


@pytest.mark.parametrize("column", ["time", "field", "observed", "frame", "month", "year",
                                    "mu", "video"])
def test_extract_catalogue_column_that_extract_sets_is_refused(maps_work, column):
    from test_cli import assert_failure, cli
    from test_cli_extract import GRID

    text = (maps_work / "regions.csv").read_text().splitlines()
    rows = [f"{text[0]},{column}"] + [f"{line},3" for line in text[1:]]
    (maps_work / "bad.csv").write_text("\n".join(rows) + "\n")
    before = _snapshot(maps_work)
    proc = cli("extract", "maps", "bad.csv", "out.nc", *GRID, cwd=maps_work)
    assert_failure(proc, "bad.csv", f"column {column!r}")
    assert _snapshot(maps_work) == before and not _leftovers(maps_work)


@pytest.mark.parametrize("label", ["maybe", "2", "0.5", "-1", "True", "1e308"])
def test_extract_bad_label_is_refused_before_cutting_naming_the_row(maps_work, label):
    from test_cli import assert_failure, cli
    from test_cli_extract import GRID

    text = (maps_work / "regions.csv").read_text().replace(",0\n", f",{label}\n")
    (maps_work / "bad.csv").write_text(text)
    before = _snapshot(maps_work)
    proc = cli("extract", "maps", "bad.csv", "out.nc", *GRID, cwd=maps_work)
    assert_failure(proc, "bad.csv row 1", "'B'", "label")
    assert "partial" not in proc.stderr
    assert _snapshot(maps_work) == before and not _leftovers(maps_work)


@pytest.mark.parametrize("column, value", [("lon0", "1e308"), ("lon0", "-1e308"),
                                           ("lon0", "-721"), ("lon0", "inf"),
                                           ("lat0", "-1e308")])
def test_extract_coordinate_out_of_range_is_refused_naming_the_row(maps_work, column, value):
    import pandas as pd
    from test_cli import assert_failure, cli
    from test_cli_extract import GRID

    table = pd.read_csv(maps_work / "regions.csv")
    table[column] = table[column].astype(object)
    table.loc[1, column] = value
    table.to_csv(maps_work / "bad.csv", index=False)
    before = _snapshot(maps_work)
    proc = cli("extract", "maps", "bad.csv", "out.nc", *GRID, cwd=maps_work)
    assert_failure(proc, "bad.csv row 1", "'B'", column)
    assert _snapshot(maps_work) == before and not _leftovers(maps_work)


@given(st.floats(-720.0, 720.0), st.floats(-90.0, 90.0))
def test_property_catalogue_centres_within_range_are_read(lon, lat):
    import pandas as pd

    from skflux.io._observations import _read_catalog

    df, _ = _read_catalog(pd.DataFrame({"bmr_id": ["a"], "lon0": [lon], "lat0": [lat],
                                        "label": [1]}))
    assert float(df["lon0"].iloc[0]) == lon and df["label"].tolist() == [1]


# --------------------------------------------------------------------------- through the CLI
@pytest.mark.parametrize("section, key, value", [
    ("params", "n_jobs", 99999),
    (None, "threshold_", float("nan")),
    (None, "threshold_", 5.0),
])
def test_locate_refuses_a_model_with_bad_numbers_naming_file_and_key(
        saved_ensemble, tiny_videos, tmp_path, section, key, value):
    from test_cli import assert_failure, cli

    from skflux.io import to_netcdf

    to_netcdf(tiny_videos.isel(video=slice(0, 2)), tmp_path / "v.nc")
    _edit_config(saved_ensemble, section, **{key: value})
    before = _snapshot(tmp_path)
    proc = cli("locate", "v.nc", saved_ensemble, "times.nc", cwd=tmp_path)
    assert_failure(proc, "config.json", key)
    assert _snapshot(tmp_path) == before
