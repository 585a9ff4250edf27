"""Reading the authors' FITS layout (cube + .dt.fits) onto the 96-minute grid."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from skflux.io import (
    VideoWriter,
    find_fits_pairs,
    frames_to_video,
    open_videos,
    read_fits_directory,
    read_fits_video,
)

CAD = 5760.0


def write_pair(folder, name, cube, dt, header=None):
    hdr = fits.Header(header or {})
    fits.writeto(folder / f"{name}.fits", np.asarray(cube), header=hdr, overwrite=True)
    fits.writeto(folder / f"{name}.dt.fits", np.asarray(dt, dtype=np.float64), overwrite=True)
    return folder / f"{name}.fits"


@pytest.fixture
def cube():
    rng = np.random.default_rng(1)
    return rng.normal(0, 50, size=(4, 5, 6)).astype(">f4")  # FITS is big-endian


def test_frames_placed_on_grid(tmp_path, cube):
    # jittered timestamps: floor(dt / 5760) gives frames 0, 1, 3, 6
    dt = [0.0, CAD + 30.0, 3 * CAD + 5759.0, 6 * CAD]
    path = write_pair(tmp_path, "bmr42", cube, dt, {"DATE-OBS": "2003-10-20T01:36:00",
                                                    "INSTRUME": "MDI", "LABEL": 1})
    v = read_fits_video(path, lat0=12.0, lon0=200.0)
    assert v.dims == ("video", "frame", "lat", "lon") and v.shape == (1, 7, 5, 6)
    assert v.dtype == np.float32
    obs = [0, 1, 3, 6]
    np.testing.assert_array_equal(np.flatnonzero(v.observed.values[0]), obs)
    np.testing.assert_array_equal(v.values[0, obs], cube.astype(np.float32))
    assert np.isnan(v.values[0, [2, 4, 5]]).all()
    assert v.bmr_id.item() == "bmr42" and v.label.item() == 1
    assert v.time.values[0] == np.datetime64("2003-10-20T01:36:00")
    assert v.month.item() == 10 and v.year.item() == 2003
    assert v.attrs["instrument"] == "MDI" and v.attrs["source"].endswith("bmr42.fits")
    assert v.attrs["cadence_minutes"] == 96 and v.attrs["units"] == "G"


def test_keywords_override_header_and_explicit_dt_path(tmp_path, cube):
    write_pair(tmp_path, "x", cube, [0, CAD, 2 * CAD, 3 * CAD], {"LABEL": 1})
    other = tmp_path / "times.fits"
    fits.writeto(other, np.array([[0.0, CAD, 2 * CAD, 4 * CAD]]))  # (1, n) is accepted
    v = read_fits_video(tmp_path / "x.fits", other, label=0, bmr_id="B7")
    assert v.label.item() == 0 and v.bmr_id.item() == "B7" and v.sizes["frame"] == 5


def test_fits_video_to_netcdf(tmp_path, cube):
    from skflux.preprocessing import make_preprocessor

    path = write_pair(tmp_path, "b1", cube, [0, CAD, 3 * CAD, 4 * CAD],
                      {"DATE-OBS": "2001-01-01T00:00:00"})
    v = read_fits_video(path, label=1, lat0=5.0, lon0=10.0, instrument="MDI")
    v = make_preprocessor(n_frames=8).fit_transform(v)
    out = tmp_path / "out.nc"
    with VideoWriter(out, n_frames=8, n_lat=5, n_lon=6) as w:
        w.write(v)
    back = open_videos(out, chunks=None)
    assert back.sizes["video"] == 1 and not np.isnan(back.values).any()
    np.testing.assert_array_equal(back.observed.values[0],
                                  [True, True, False, True, True, False, False, False])


def test_frames_to_video_from_images_and_datetimes():
    class Image:  # like sunpy.map.Map: 2-D .data
        def __init__(self, data):
            self.data = data

    t = np.array(["2005-03-01T00:00", "2005-03-01T01:36", "2005-03-01T04:48"],
                 dtype="datetime64[ns]")
    frames = [Image(np.full((3, 3), k, dtype=float)) for k in range(3)]
    v = frames_to_video(frames, t, bmr_id="A")
    assert v.sizes["frame"] == 4 and v.time.values[0] == t[0] and v.month.item() == 3
    np.testing.assert_array_equal(v.observed.values[0], [True, True, False, True])
    v2 = frames_to_video(np.stack([f.data for f in frames]), Time(t.astype(str), scale="utc"))
    np.testing.assert_array_equal(v2.values, v.values)


# ------------------------------------------------------------------- bad input


def test_mismatched_lengths(tmp_path, cube):
    path = write_pair(tmp_path, "m", cube, [0, CAD, 2 * CAD])
    with pytest.raises(ValueError, match=r"m.dt.fits: 3 timestamps for the 4 frames of .*m.fits"):
        read_fits_video(path)


@pytest.mark.parametrize(
    ("dt", "match"),
    [
        ([0, 2 * CAD, CAD, 3 * CAD], "not sorted"),
        ([0, CAD, CAD, 3 * CAD], "duplicate timestamps"),
        ([0, CAD, CAD + 60, 3 * CAD], "fall in the same 96-minute frame 1"),
        ([0, CAD, np.nan, 3 * CAD], "not finite"),
        ([-10, CAD, 2 * CAD, 3 * CAD], "negative"),
    ],
)
def test_bad_timestamps_name_the_file(tmp_path, cube, dt, match):
    path = write_pair(tmp_path, "bad_t", cube, dt)
    with pytest.raises(ValueError, match=match) as info:
        read_fits_video(path)
    assert "bad_t.fits" in str(info.value)


def test_wrong_ndim(tmp_path):
    path = write_pair(tmp_path, "flat", np.zeros((5, 6), "f4"), np.arange(5) * CAD)
    with pytest.raises(ValueError, match=r"flat.fits: expected a cube .* got 2-D"):
        read_fits_video(path)
    fits.writeto(tmp_path / "flat.fits", np.zeros((3, 4, 4), "f4"), overwrite=True)
    fits.writeto(tmp_path / "flat.dt.fits", np.zeros((2, 3)), overwrite=True)
    with pytest.raises(ValueError, match="flat.dt.fits: expected a 1-D array"):
        read_fits_video(tmp_path / "flat.fits")


def test_all_nan_frame(tmp_path, cube):
    cube = cube.copy()
    cube[2] = np.nan
    path = write_pair(tmp_path, "nanf", cube, [0, CAD, 2 * CAD, 3 * CAD])
    with pytest.raises(ValueError, match=r"nanf.fits: frames \[2\] are entirely NaN"):
        read_fits_video(path)


def test_missing_and_corrupt_files(tmp_path, cube):
    with pytest.raises(FileNotFoundError, match="nothere.fits"):
        read_fits_video(tmp_path / "nothere.fits")
    fits.writeto(tmp_path / "lonely.fits", cube)
    with pytest.raises(FileNotFoundError, match="lonely.dt.fits"):
        read_fits_video(tmp_path / "lonely.fits")
    (tmp_path / "junk.fits").write_bytes(b"SIMPLE  = garbage" * 3)
    (tmp_path / "junk.dt.fits").write_bytes(b"")
    with pytest.raises(ValueError, match="junk.fits: cannot be read as FITS"):
        read_fits_video(tmp_path / "junk.fits")


def test_truncated_file(tmp_path, cube):
    path = write_pair(tmp_path, "trunc", np.zeros((40, 30, 30), "f4"), np.arange(40) * CAD)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.fits: cannot be read as FITS.*truncated"):
        read_fits_video(path)


def test_non_numeric_frames():
    with pytest.raises(TypeError, match="must hold real numbers"):
        frames_to_video(np.array([[["a"]]]), [0.0])
    with pytest.raises(ValueError, match="1 timestamps for 2 frames"):
        frames_to_video(np.zeros((2, 3, 3)), [0.0])


# ---------------------------------------------------------------------- folders


def test_directory(tmp_path, cube):
    for name in ("b", "a"):
        write_pair(tmp_path, name, cube, [0, CAD, 2 * CAD, 3 * CAD])
    pairs = find_fits_pairs(tmp_path)
    assert [c.name for c, _ in pairs] == ["a.fits", "b.fits"]
    assert [d.name for _, d in pairs] == ["a.dt.fits", "b.dt.fits"]
    videos = list(read_fits_directory(tmp_path, coords=lambda p: {"label": int(p.stem == "a")}))
    assert [v.label.item() for v in videos] == [1, 0]
    with pytest.raises(ValueError, match=r"coords has no entry for \['b'\]"):
        list(read_fits_directory(tmp_path, coords={"a": {}}))


def test_directory_lacking_pairs(tmp_path, cube):
    write_pair(tmp_path, "ok", cube, [0, CAD, 2 * CAD, 3 * CAD])
    fits.writeto(tmp_path / "nodt.fits", cube)
    fits.writeto(tmp_path / "orphan.dt.fits", np.zeros(3))
    with pytest.raises(ValueError, match=r"without a .dt.fits timestamps file: \['nodt.fits'\]"
                       r".*without a cube: \['orphan.dt.fits'\]"):
        find_fits_pairs(tmp_path)
    with pytest.raises(FileNotFoundError, match="nofolder"):
        find_fits_pairs(tmp_path / "nofolder")
    with pytest.raises(ValueError, match="no FITS cube"):
        find_fits_pairs(tmp_path, pattern="*.fts")


def test_cubes_of_different_sizes_name_the_odd_cube(tmp_path):
    """21.9: the refusal names the odd cube (and the first one), not only the output file."""
    from skflux.io import VideoWriter
    from skflux.preprocessing import make_preprocessor

    rng = np.random.default_rng(0)
    folder = tmp_path / "cubes"
    folder.mkdir()
    dt = [0.0, 5760.0, 2 * 5760.0]
    write_pair(folder, "a_first", rng.normal(size=(3, 6, 6)), dt)
    write_pair(folder, "b_odd", rng.normal(size=(3, 8, 8)), dt)
    pre = make_preprocessor(n_frames=4)
    out = tmp_path / "out.nc"
    meta = {"label": 0, "time": "2001-03-04T05:06", "lat0": 10.0, "lon0": 20.0}
    videos = (pre.fit_transform(v) for v in read_fits_directory(folder, coords=lambda p: meta))
    with VideoWriter(out, n_frames=4, n_lat=6, n_lon=6, attrs={"instrument": "MDI"}) as writer:
        writer.write(next(videos))
        with pytest.raises(ValueError) as err:
            writer.write(next(videos))
    msg = str(err.value)
    odd = str(folder / "b_odd.fits")
    assert msg.startswith(f"video 1 (bmr_id='b_odd') from {odd} has frame/lat/lon sizes "
                          "(4, 8, 8)"), msg
    assert "(the first: video 0 (bmr_id='a_first') from" in msg and "(4, 6, 6)" in msg
    assert "cut every patch at the same size in pixels" in msg
    assert "PadFrames" not in msg  # the frames agree: padding is not the fix
