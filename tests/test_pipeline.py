"""skflux.pipeline: the paper's run as a library (issue 27)."""

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import skflux._paper as paper
from skflux import pipeline
from skflux.pipeline import RUN_LAYOUT, Manifest

# --------------------------------------------------------------------------- defaults


def test_defaults_are_the_papers_in_one_place():
    for name in paper.__all__:
        assert getattr(pipeline, name) is getattr(paper, name), name
    # the report and the pipeline name the run's files from the same table
    from skflux.report import RUN_LAYOUT as report_layout

    assert report_layout is RUN_LAYOUT
    assert pipeline.DATA in RUN_LAYOUT and pipeline.PREPARED in RUN_LAYOUT


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, skflux.pipeline as p; p.lower_bound_for(32); p.RUN_LAYOUT; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 400))
def test_lower_bound_scales_with_the_video(n_frames):
    lb = pipeline.lower_bound_for(n_frames)
    assert 0 <= lb <= n_frames - 2
    assert abs(lb - 30 * n_frames / 225) <= 0.5 or lb in (0, n_frames - 2)


def test_make_ensemble_blocks_and_threshold():
    from skflux import FluxEmergenceClassifier

    clf = FluxEmergenceClassifier()
    ens = pipeline.make_ensemble(clf)
    assert [tuple(b) for b in ens.cv.blocks] == list(paper.ENSEMBLE_BLOCKS)
    assert ens.threshold == "benchmark"
    every = pipeline.make_ensemble(clf, n_blocks=len(paper.RELABEL_BLOCKS))
    assert [tuple(b) for b in every.cv.blocks] == list(paper.RELABEL_BLOCKS)
    assert every.threshold == paper.THRESHOLD_FALLBACK
    with pytest.raises(ValueError, match="n_blocks"):
        pipeline.make_ensemble(clf, n_blocks=6)


# --------------------------------------------------------------------------- prepare

def _with_gaps(values, observed):
    """Videos (numpy) with NaN where not observed, as an extracted DataArray."""
    n, t = values.shape[:2]
    v = np.where(observed[:, :, None, None], values, np.nan)
    return xr.DataArray(v, dims=("video", "frame", "lat", "lon"),
                        coords={"observed": (("video", "frame"), observed),
                                "bmr_id": ("video", [f"r{i}" for i in range(n)])})


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(3, 9), st.data())
def test_prepare_keeps_observations_and_leaves_no_nan(n, t, data):
    """Invariant: observed frames are unchanged, nothing is NaN afterwards, gaps inside
    the span lie between their neighbours, and the observed mask is kept."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    observed = np.array([data.draw(st.lists(st.booleans(), min_size=t, max_size=t))
                         for _ in range(n)])
    observed[:, 0] = True  # every video has an observation (else refused, see below)
    values = rng.normal(0, 100, size=(n, t, 4, 4))
    X = _with_gaps(values, observed)
    out = pipeline.prepare(X)
    assert out.shape == X.shape and not np.isnan(out.values).any()
    np.testing.assert_array_equal(out.values[observed], values[observed])
    assert (out["observed"].values == observed).all()
    for i in range(n):
        seen = np.flatnonzero(observed[i])
        for f in range(seen[0], seen[-1] + 1):
            if not observed[i, f]:
                a, b = seen[seen < f][-1], seen[seen > f][0]
                lo = np.minimum(values[i, a], values[i, b]) - 1e-9
                hi = np.maximum(values[i, a], values[i, b]) + 1e-9
                assert ((out.values[i, f] >= lo) & (out.values[i, f] <= hi)).all()


def test_prepare_pads_and_resamples():
    observed = np.array([[True, False, True, False]])
    X = _with_gaps(np.ones((1, 4, 4, 4)), observed)
    out = pipeline.prepare(X, n_frames=6, resample=(3, 2))
    assert out.shape == (1, 3, 2, 2) and np.allclose(out.values, 1.0)


def test_prepare_without_filling_refuses_nan_naming_the_video():
    observed = np.array([[True, True, True], [True, False, True]])
    X = _with_gaps(np.ones((2, 3, 4, 4)), observed)
    with pytest.raises(ValueError, match=r"video 1 \(bmr_id 'r1'\).*fill_gaps=True"):
        pipeline.prepare(X, fill_gaps=False, resample=(3, 2))
    with pytest.raises(ValueError, match="resample"):
        pipeline.prepare(X, resample=(3, 0))


def test_prepare_file_never_replaces_its_input(tmp_path):
    with pytest.raises(ValueError, match="must not replace its input"):
        pipeline.prepare_file(tmp_path / "a.nc", tmp_path / "." / "a.nc")


# --------------------------------------------------------------------------- writing

def test_writers_never_replace_without_overwrite(tmp_path):
    """The step writers go through skflux._atomic: an existing file is refused unless
    asked, and a failed write leaves the old file and no temporary behind."""
    X = xr.DataArray(np.zeros((2, 2, 2, 2)), dims=("video", "frame", "lat", "lon"),
                     coords={"bmr_id": ("video", ["a", "b"])})
    P = np.array([[0.1, 0.6]])
    path = pipeline.write_probabilities(tmp_path / "p.nc", P, 0.5, X)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        pipeline.write_probabilities(path, P, 0.7, X)
    with pytest.raises(ValueError):
        pipeline.write_probabilities(path, np.array([[0.1]]), 0.7, X, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.nc"]
    pipeline.write_probabilities(path, P, 0.7, X, overwrite=True)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["threshold"] == 0.7


def test_write_probabilities_round_trip(tmp_path):
    X = xr.DataArray(np.zeros((3, 2, 2, 2)), dims=("video", "frame", "lat", "lon"),
                     coords={"bmr_id": ("video", ["a", "b", "c"]), "month": ("video", [11] * 3)})
    P = np.array([[0.1, 0.6, 0.9], [0.2, 0.7, 0.8]])
    path = pipeline.write_probabilities(tmp_path / pipeline.PROBA, P, 0.55, X)
    with xr.open_dataset(path) as ds:
        np.testing.assert_allclose(ds["member_proba"].values, P, rtol=1e-6)
        assert ds.attrs["threshold"] == 0.55
        assert ds["bmr_id"].values.tolist() == ["a", "b", "c"]


def test_evaluate_refuses_data_without_test_months(tiny_videos):
    train_only = tiny_videos.isel(video=np.flatnonzero(tiny_videos["month"].values <= 10))
    with pytest.raises(ValueError, match="no test videos"):
        pipeline.evaluate(None, train_only)


# --------------------------------------------------------------------------- locating

def _times(frames, located, n_observed, lower_bound=2):
    frames = np.where(located, frames, np.nan)
    t0 = np.datetime64("2011-12-15T06:00", "ns")
    stamps = np.where(located, t0 + (np.nan_to_num(frames) * 96).astype("timedelta64[m]"),
                      np.datetime64("NaT", "ns"))
    return xr.Dataset({"emergence_frame": ("video", frames),
                       "emergence_time": ("video", stamps.astype("datetime64[ns]")),
                       "located": ("video", np.asarray(located)),
                       "n_observed_frames": ("video", np.asarray(n_observed))},
                      coords={"bmr_id": ("video", [f"v{i}" for i in range(len(frames))])},
                      attrs={"lower_bound": lower_bound})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(3, 20), st.booleans(), st.integers(0, 5)), min_size=1,
                max_size=8))
def test_located_lines_never_print_a_date_without_a_location(rows):
    frames, located, n_obs = (np.array(c) for c in zip(*rows))
    located = located & (n_obs >= 2)
    lines = pipeline.located_lines(_times(frames.astype(float), located, n_obs))
    assert len(lines) == len(rows)
    for line, ok, n in zip(lines, located, n_obs):
        vid, text = line.split("\t")
        assert ("no emergence located" in text) == (not ok)
        assert ("2011-12" in text) == bool(ok)
        if not ok:
            assert ("observed frame" in text) == (n < 2)


# --------------------------------------------------------------------------- manifest

def test_manifest_lists_what_the_demo_wrote(tmp_path):
    folder = tmp_path / "demo"
    m = Manifest(folder, RUN_LAYOUT)
    m.prepare()
    (folder / pipeline.DATA).write_bytes(b"x")
    (folder / pipeline.REPORT).mkdir()
    (folder / pipeline.REPORT / "index.html").write_text("x")
    m.record()
    listed = json.loads((folder / ".skflux-demo").read_text())
    assert sorted(listed["files"]) == ["data.nc", "report/index.html"]
    (folder / "mine.txt").write_text("keep")
    Manifest(folder, RUN_LAYOUT).prepare()
    assert sorted(p.name for p in folder.iterdir()) == [".skflux-demo", "mine.txt"]
    with pytest.raises(ValueError, match="not written by 'skflux demo'"):
        Manifest(tmp_path, RUN_LAYOUT).prepare()  # a folder of other files


def test_demo_config_overrides():
    cfg = pipeline.demo_config(quick=True, n_videos=60, epochs=None)
    assert cfg["n_videos"] == 60 and cfg["epochs"] == pipeline.DEMO_CONFIGS["quick"]["epochs"]
    with pytest.raises(ValueError, match="unknown demo settings"):
        pipeline.demo_config(bogus=1)


def test_make_oracle_truth_reads_a_label_column(tiny_videos):
    from skflux.relabel import TruthOracle

    oracle = pipeline.make_oracle("truth", tiny_videos.assign_coords(
        reviewed=("video", tiny_videos["true_label"].values)), truth_coord="reviewed")
    assert isinstance(oracle, TruthOracle) and oracle.true_labels == "reviewed"
    with pytest.raises(ValueError, match="'nothing'"):
        pipeline.make_oracle("truth", tiny_videos, truth_coord="nothing")
    with pytest.raises(ValueError, match="unknown reviewer"):
        pipeline.make_oracle("crystal-ball")


def test_recorded_run_round_trip(tmp_path):
    from skflux.relabel import ReviewLog

    meta = pipeline.record_run({"model": "/m", "reviewer_name": "ann", "max_passes": 2})
    ReviewLog(tmp_path / "r.db", extra_meta=meta).open("fp", {}).close()
    options = pipeline.recorded_run(tmp_path / "r.db", required=("max_passes",))
    assert options == {"model": "/m", "reviewer_name": "ann", "max_passes": 2}
    with pytest.raises(ValueError, match=r"lack \['seed'\]"):
        pipeline.recorded_run(tmp_path / "r.db", required=("seed",))
    ReviewLog(tmp_path / "bare.db").open("fp", {}).close()
    with pytest.raises(ValueError, match="does not record"):
        pipeline.recorded_run(tmp_path / "bare.db")
