"""Patch videos from real full-disk magnetograms (tests/data/observations, see PROVENANCE.md)."""

import shutil
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.time import TimeDelta

from skflux.io import (
    VideoWriter,
    find_maps,
    open_videos,
    patch_video,
    read_sharp,
    validate_videos,
    write_patch_videos,
)
from skflux.preprocessing import FillGaps, MaskOffLimb, off_limb_mask

DATA = Path(__file__).parent / "data" / "observations"
HMI_AR = DATA / "hmi_m_720s_20111217_0600_ar_bin4.fits"
HMI_FD = DATA / "hmi_m_720s_20111217_0600_fd_bin16.fits"
MDI_FD = DATA / "mdi_fd_m_96m_20090131_0803_128px.fits"
AR_LON, AR_LAT = 296.0, 23.0  # an active region of 2011-12-17 near disk centre
CRLN_OBS = 312.09  # Carrington longitude of disk centre in the HMI maps


def _map(path):
    import sunpy.map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sunpy.map.Map(path)


def _carrington(m):
    from sunpy.coordinates import frames

    return frames.HeliographicCarrington(observer=m.observer_coordinate,
                                         obstime=m.reference_date, rsun=m.rsun_meters)


def _mu_far_observer(lon, lat, m):
    """mu seen from infinitely far along the observer's direction (spherical trigonometry)."""
    b0 = np.deg2rad(m.observer_coordinate.lat.to_value(u.deg))
    l0 = np.deg2rad(m.carrington_longitude.to_value(u.deg))
    lon, lat = np.deg2rad(lon), np.deg2rad(lat)
    return np.sin(b0) * np.sin(lat) + np.cos(b0) * np.cos(lat) * np.cos(lon - l0)


def _shifted(m, hours):
    """The same map relabelled ``hours`` later (observer at the same Carrington longitude)."""
    import sunpy.map

    meta = m.meta.copy()
    t = m.date + TimeDelta(hours * 3600.0, format="sec")
    ref = m.reference_date + TimeDelta(hours * 3600.0, format="sec")
    meta["date-obs"] = t.isot
    meta["t_obs"] = ref.tai.isot.replace("-", ".").replace("T", "_") + "_TAI"
    return sunpy.map.Map(m.data, meta)


@pytest.fixture(scope="module")
def hmi_ar_patch():
    return patch_video([HMI_AR], AR_LON, AR_LAT, n_frames=1)


# -------------------------------------------------------------------------------- flux
def test_patch_holds_the_region_flux_of_the_map_pixels(hmi_ar_patch):
    """Signed and unsigned flux of the patch == flux summed over the map's pixels in the box."""
    from sunpy.map import all_coordinates_from_map

    m = _map(HMI_AR)
    rsun = m.rsun_meters.to_value(u.m)
    coords = all_coordinates_from_map(m).transform_to(_carrington(m))
    dlon = (coords.lon.to_value(u.deg) - AR_LON + 180.0) % 360.0 - 180.0
    dlat = coords.lat.to_value(u.deg) - AR_LAT
    inside = (np.abs(dlon) < 7.5) & (np.abs(dlat) < 7.5)
    assert 0.2 < inside.mean() < 0.9  # the box lies inside the crop, with margins
    metres_per_arcsec = rsun / m.rsun_obs.to_value(u.arcsec)
    area = np.prod([s.to_value(u.arcsec / u.pix) * metres_per_arcsec for s in m.scale])
    field = np.asarray(m.data, dtype=float)[inside]
    assert np.isfinite(field).all()
    signed_map, unsigned_map = field.sum() * area, np.abs(field).sum() * area

    patch = hmi_ar_patch.values[0, 0].astype(float)
    assert np.isfinite(patch).all()
    lon, lat = np.meshgrid(AR_LON + hmi_ar_patch.lon.values, AR_LAT + hmi_ar_patch.lat.values)
    step = np.deg2rad(1.0 / 6.0)
    # plane-of-sky area of each patch pixel: its area on the sphere times mu
    pix_area = rsun**2 * np.cos(np.deg2rad(lat)) * step**2 * _mu_far_observer(lon, lat, m)
    signed_patch = np.sum(patch * pix_area)
    unsigned_patch = np.sum(np.abs(patch) * pix_area)
    assert np.abs(field).sum() > 4 * abs(field.sum())  # both polarities of a bipolar region
    assert signed_patch == pytest.approx(signed_map, rel=0.02)
    assert unsigned_patch == pytest.approx(unsigned_map, rel=0.02)
    assert np.max(np.abs(patch)) > 500  # the active region is in it


def test_patch_follows_the_schema_and_round_trips_through_netcdf(hmi_ar_patch, tmp_path):
    video = hmi_ar_patch.assign_coords(label=("video", [1]))
    validate_videos(video)
    assert video.dims == ("video", "frame", "lat", "lon")
    assert video.dtype == np.float32
    assert video.lat0.item() == AR_LAT and video.lon0.item() == AR_LON
    # T_OBS 2011.12.17_05:59:52.156_TAI (the map's reference time), in UTC
    assert video.time.values[0] == np.datetime64("2011-12-17T05:59:18.156", "ns")
    assert video.month.item() == 12 and video.year.item() == 2011
    assert video.attrs["instrument"].startswith("HMI")
    assert video.attrs["source"] == HMI_AR.name
    assert "reproject_adaptive" in video.attrs["reprojection"]
    np.testing.assert_allclose(np.diff(video.lat.values), 1.0 / 6.0)
    path = tmp_path / "patch.nc"
    with VideoWriter(path, n_frames=1, n_lat=90, n_lon=90) as writer:
        writer.write(video)
    back = open_videos(path).load()
    np.testing.assert_allclose(back.values, video.values, atol=0.1)
    np.testing.assert_allclose(back.mu.values, video.mu.values)


def test_radial_option_divides_by_mu():
    los = patch_video([HMI_FD], CRLN_OBS - 50.0, 0.0, n_frames=1, size=12, pixel_deg=0.5)
    rad = patch_video([HMI_FD], CRLN_OBS - 50.0, 0.0, n_frames=1, size=12, pixel_deg=0.5,
                      radial=True)
    ratio = (los.values / rad.values)[0, 0]
    mu0 = los.mu.item()
    assert 0.55 < mu0 < 0.75
    assert np.nanmedian(ratio) == pytest.approx(mu0, abs=0.03)
    assert "radial" in rad.attrs["calibration"]


# -------------------------------------------------------------------------------- limb
def test_limb_patch_is_nan_exactly_beyond_the_limb_cut():
    m = _map(HMI_FD)
    lon0 = CRLN_OBS + 80.0  # near the west limb (Carrington longitudes grow westward)
    video = patch_video([HMI_FD], lon0, 0.0, n_frames=1, size=80, pixel_deg=0.25, mu_min=0.1)
    frame = video.values[0, 0]
    lon, lat = np.meshgrid(lon0 + video.lon.values, video.lat.values)
    mu = _mu_far_observer(lon, lat, m)
    assert (mu < 0.02).any() and (mu > 0.3).any()  # the limb cut crosses the patch
    assert np.isnan(frame[mu < 0.095]).all()  # beyond the cut: NaN
    # inside the cut, away from the input's own off-disk NaN edge by a few 8" pixels
    assert np.isfinite(frame[mu > 0.2]).all()
    assert video.observed.item()


def test_mu_decreases_toward_the_limb():
    m = _map(HMI_FD)
    offsets = [0.0, 30.0, 60.0, 75.0]
    mus = [patch_video([HMI_FD], CRLN_OBS + d, 10.0, n_frames=1, size=8, pixel_deg=0.5)
           .mu.item() for d in offsets]
    assert np.all(np.diff(mus) < 0)
    expected = _mu_far_observer(CRLN_OBS + np.array(offsets), 10.0, m)
    np.testing.assert_allclose(mus, expected, atol=0.01)


@pytest.mark.filterwarnings("ignore:CTYPE. value 'solar-")
def test_mdi_map_patch():
    m = _map(MDI_FD)
    lon0 = m.carrington_longitude.to_value(u.deg)
    video = patch_video([MDI_FD], lon0, 0.0, n_frames=1, size=20, pixel_deg=0.5)
    assert video.attrs["instrument"] == "MDI"
    assert np.isfinite(video.values).all()
    assert video.mu.item() > 0.99


@pytest.mark.filterwarnings("ignore:CTYPE. value 'solar-")
def test_cross_instrument_scale():
    from skflux.io import TO_HMI

    m = _map(MDI_FD)
    lon0 = m.carrington_longitude.to_value(u.deg)
    opts = dict(n_frames=1, size=8, pixel_deg=0.5)
    plain = patch_video([MDI_FD], lon0, 0.0, **opts)
    to_hmi = patch_video([MDI_FD], lon0, 0.0, scale="to_hmi", **opts)
    assert TO_HMI["MDI"] == pytest.approx(1 / 1.4, rel=0.03)  # MDI reads ~1.4 x HMI
    np.testing.assert_allclose(to_hmi.values, TO_HMI["MDI"] * plain.values, rtol=1e-5,
                               atol=1e-4)
    assert "scaled to HMI" in to_hmi.attrs["calibration"]
    hmi = patch_video([HMI_FD], CRLN_OBS, 0.0, scale="to_hmi", **opts)
    np.testing.assert_array_equal(hmi.values, patch_video([HMI_FD], CRLN_OBS, 0.0, **opts).values)
    twice = patch_video([HMI_FD], CRLN_OBS, 0.0, scale=2, **opts)
    np.testing.assert_allclose(twice.values, 2 * hmi.values, rtol=1e-6)
    other = _map(HMI_FD)
    other.meta["instrume"] = "SOLIS/VSM"
    other.meta["telescop"] = "SOLIS"
    with pytest.raises(ValueError, match=r"maps\[0\].*no HMI scale factor.*SOLIS"):
        patch_video([other], CRLN_OBS, 0.0, scale="to_hmi", **opts)
    for bad in (0, -1.0, "to_mdi", np.nan):
        with pytest.raises(ValueError, match="scale must be"):
            patch_video([HMI_FD], CRLN_OBS, 0.0, scale=bad, **opts)


# ---------------------------------------------------------------------------- time grid
def test_maps_of_several_dates_fill_the_right_cadence_steps():
    m = _map(HMI_FD)
    # maps at 0 min, 20 min (same step, farther: not used), 2 steps + 10 min, 5 steps - 40 min
    hours = [0.0, 20 / 60, (2 * 96 + 10) / 60, (5 * 96 - 40) / 60]
    maps = [_shifted(m, h) for h in hours]
    lon0 = CRLN_OBS - 10.0
    video = patch_video(maps, lon0, 5.0, n_frames=7, size=10, pixel_deg=0.5)
    expected = [True, False, True, False, False, True, False]
    assert video.observed.values[0].tolist() == expected
    assert video.time.values[0] == np.datetime64(m.reference_date.utc.isot, "ns")
    frames = video.values[0]
    assert np.isnan(frames[~np.array(expected)]).all()
    single = patch_video([m], lon0, 5.0, n_frames=1, size=10, pixel_deg=0.5).values[0, 0]
    for k in (0, 2, 5):  # the same image relabelled: the same patch
        np.testing.assert_allclose(frames[k], single, rtol=1e-5, atol=1e-3)
    assert np.isfinite(video.mu.values[0, [0, 2, 5]]).all()
    assert np.isnan(video.mu.values[0, [1, 3, 4, 6]]).all()
    filled = FillGaps().fit_transform(video)
    assert np.isfinite(filled.values[0, :6]).all()
    assert np.isnan(filled.values[0, 6]).all()  # no extrapolation after the last observation
    assert filled.observed.values.tolist() == video.observed.values.tolist()


def test_start_before_the_maps_leaves_leading_frames_unobserved():
    video = patch_video([HMI_FD], CRLN_OBS, 0.0, n_frames=4, size=6, pixel_deg=0.5,
                        start="2011-12-17T02:48:00")
    assert video.observed.values[0].tolist() == [False, False, True, False]


# ---------------------------------------------------------------------------- bad input
def test_map_without_field_unit_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "no_unit.fits"
    with fits.open(HMI_FD) as hdul:
        hdu = hdul[1]
        header = hdu.header.copy()
        del header["BUNIT"]
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(hdu.data, header)]).writeto(bad)
    with pytest.raises(ValueError, match=r"no_unit\.fits.*no line-of-sight field unit"):
        patch_video([bad], CRLN_OBS, 0.0, n_frames=1)


def test_intensity_map_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "intensity.fits"
    with fits.open(HMI_FD) as hdul:
        header = hdul[1].header.copy()
        header["BUNIT"] = "DN/s"
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(hdul[1].data, header)]).writeto(bad)
    with pytest.raises(ValueError, match=r"intensity\.fits.*not a magnetic field"):
        patch_video([bad], CRLN_OBS, 0.0, n_frames=1)


def test_maps_out_of_time_order_are_refused_naming_both(tmp_path):
    later = tmp_path / "later.fits"
    m = _shifted(_map(HMI_FD), 3.0)
    m.save(later)
    with pytest.raises(ValueError, match=r"not in time order.*hmi_m_720s.*earlier than.*later"):
        patch_video([later, HMI_FD], CRLN_OBS, 0.0, n_frames=1)
    with pytest.raises(ValueError, match="the same time as"):
        patch_video([HMI_FD, HMI_FD], CRLN_OBS, 0.0, n_frames=1)


def test_region_never_on_the_disk_is_refused():
    with pytest.raises(ValueError, match=r"lon 132\.0.*never on the disk"):
        patch_video([HMI_FD], 132.0, 0.0, n_frames=1)  # the far side


@pytest.mark.parametrize("lat0", [91.0, -120.0, np.nan])
def test_latitude_beyond_90_is_refused(lat0):
    with pytest.raises(ValueError, match="lat"):
        patch_video([HMI_FD], CRLN_OBS, lat0, n_frames=1)


def test_corrupt_fits_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "truncated.fits"
    raw = HMI_FD.read_bytes()
    bad.write_bytes(raw[: len(raw) - 20000])
    with pytest.raises(ValueError, match=r"truncated\.fits.*corrupt or truncated"):
        patch_video([bad], CRLN_OBS, 0.0, n_frames=1)
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not a FITS file at all" * 10)
    with pytest.raises(ValueError, match=r"junk\.fits"):
        patch_video([junk], CRLN_OBS, 0.0, n_frames=1)


def test_missing_file_and_wrong_types_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.fits"):
        patch_video([tmp_path / "absent.fits"], CRLN_OBS, 0.0, n_frames=1)
    with pytest.raises(TypeError, match=r"maps\[0\]"):
        patch_video([np.zeros((4, 4))], CRLN_OBS, 0.0, n_frames=1)
    with pytest.raises(ValueError, match="size"):
        patch_video([HMI_FD], CRLN_OBS, 0.0, size=0)


def test_fixtures_are_small_and_documented():
    total = sum(p.stat().st_size for p in DATA.glob("*.fits"))
    assert total < 400 * 1024
    provenance = (DATA / "PROVENANCE.md").read_text()
    for p in DATA.glob("*.fits"):
        assert p.name in provenance


def test_fixture_copy_reads_the_same(tmp_path):
    """A path and the sunpy map of that path give the same patch."""
    copy = tmp_path / HMI_FD.name
    shutil.copy(HMI_FD, copy)
    a = patch_video([copy], CRLN_OBS, 0.0, n_frames=1, size=8, pixel_deg=0.5)
    b = patch_video([_map(HMI_FD)], CRLN_OBS, 0.0, n_frames=1, size=8, pixel_deg=0.5)
    np.testing.assert_array_equal(a.values, b.values)


# ------------------------------------------------------------------- catalogue, one pass
@pytest.fixture(scope="module")
def dated_map_files(tmp_path_factory):
    """Three map files at 0, 1 and 3 cadence steps (the 2011-12-17 disk relabelled)."""
    folder = tmp_path_factory.mktemp("maps")
    m = _map(HMI_FD)
    paths = []
    for i, hours in enumerate([0.0, 96 / 60, 3 * 96 / 60]):
        p = folder / f"map{i}.fits"
        _shifted(m, hours).save(p)
        paths.append(p)
    return paths


def _catalog():
    import pandas as pd

    return pd.DataFrame({"id": ["AR-a", "AR-b", "AR-c"],
                         "lon": [CRLN_OBS - 10.0, CRLN_OBS + 20.0, CRLN_OBS],
                         "lat": [5.0, -12.0, 0.0], "label": [1, 0, 1],
                         "start": [None, None, "2011-12-17T04:23"], "noaa": [1, 2, 3]})


def test_write_patch_videos_matches_patch_video_and_reads_each_map_once(
        dated_map_files, tmp_path, monkeypatch):
    from skflux.io import _observations

    reads = []
    prepare = _observations._prepare
    monkeypatch.setattr(_observations, "_prepare",
                        lambda info, *a: reads.append(info.where) or prepare(info, *a))
    out = tmp_path / "patches.nc"
    options = dict(n_frames=4, size=10, pixel_deg=0.5)
    written = write_patch_videos(dated_map_files, _catalog(), out, **options)
    assert written == out and out.exists()
    assert sorted(reads) == sorted(str(p) for p in dated_map_files)  # each map read once
    assert [p.name for p in tmp_path.iterdir()] == ["patches.nc"]  # no temporary left
    videos = open_videos(out).load()
    validate_videos(videos)
    # written as completed: AR-c's window ends before the last map, then catalogue order
    assert videos.bmr_id.values.tolist() == ["AR-c", "AR-a", "AR-b"]
    assert videos.noaa.values.tolist() == [3, 1, 2]
    assert videos.label.values.tolist() == [1, 1, 0]
    for i, (lon, lat, start) in enumerate([(CRLN_OBS - 10.0, 5.0, None),
                                           (CRLN_OBS + 20.0, -12.0, None),
                                           (CRLN_OBS, 0.0, "2011-12-17T04:23")]):
        one = patch_video(dated_map_files, lon, lat, start=start, **options)
        got = videos.sel(video=videos.bmr_id == ["AR-a", "AR-b", "AR-c"][i])
        np.testing.assert_allclose(got.values, one.values, atol=0.1)
        assert got.observed.values.tolist() == one.observed.values.tolist()
        assert got.time.values[0] == one.time.values[0]
    # AR-c starts one step before the first map
    c = videos.sel(video=videos.bmr_id == "AR-c")
    assert c.observed.values[0].tolist() == [False, True, True, False]


def test_find_maps_sorts_by_observation_time(dated_map_files, tmp_path):

    folder = tmp_path / "maps"
    folder.mkdir()
    for name, src in zip(["c.fits", "a.fits", "b.fits"], dated_map_files):
        shutil.copy(src, folder / name)  # names in another order than times
    assert [p.name for p in find_maps(folder)] == ["c.fits", "a.fits", "b.fits"]
    shutil.copy(dated_map_files[0], folder / "d.fits")
    with pytest.raises(ValueError, match=r"c\.fits and .*d\.fits are both observed at"):
        find_maps(folder)
    with pytest.raises(ValueError, match="no file matches"):
        find_maps(folder, "*.fts")
    with pytest.raises(FileNotFoundError):
        find_maps(tmp_path / "absent")


def test_write_patch_videos_parallel_equals_serial(dated_map_files, tmp_path):
    import joblib

    options = dict(n_frames=4, size=8, pixel_deg=0.5)
    serial = write_patch_videos(dated_map_files, _catalog(), tmp_path / "a.nc", **options)
    with joblib.parallel_config(backend="threading"):
        parallel = write_patch_videos(dated_map_files, _catalog(), tmp_path / "b.nc",
                                      n_jobs=2, **options)
    a, b = open_videos(serial).load(), open_videos(parallel).load()
    np.testing.assert_array_equal(a.values, b.values)
    assert a.bmr_id.values.tolist() == b.bmr_id.values.tolist()


def test_write_patch_videos_on_a_dask_cluster(dated_map_files, tmp_path):
    distributed = pytest.importorskip("distributed")
    import joblib

    options = dict(n_frames=4, size=8, pixel_deg=0.5)
    serial = write_patch_videos(dated_map_files, _catalog(), tmp_path / "a.nc", **options)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            on_dask = write_patch_videos(dated_map_files, _catalog(), tmp_path / "b.nc",
                                         **options)
    np.testing.assert_array_equal(open_videos(serial).values, open_videos(on_dask).values)


def test_catalogue_csv_row_with_bad_latitude_is_refused_and_nothing_written(
        dated_map_files, tmp_path):
    cat = _catalog()
    cat.loc[1, "lat"] = 95.0
    csv = tmp_path / "regions.csv"
    cat.to_csv(csv, index=False)
    out = tmp_path / "out.nc"
    with pytest.raises(ValueError, match=r"regions\.csv row 1 \(line 3\), bmr_id 'AR-b'.*lat"):
        write_patch_videos(dated_map_files, csv, out, n_frames=2, size=6, pixel_deg=0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["regions.csv"]


def test_catalogue_problems_are_refused_naming_the_row(dated_map_files, tmp_path):
    out = tmp_path / "out.nc"
    opts = dict(n_frames=2, size=6, pixel_deg=0.5)
    with pytest.raises(ValueError, match=r"missing columns \['label'\]"):
        write_patch_videos(dated_map_files, _catalog().drop(columns="label"), out, **opts)
    dup = _catalog()
    dup.loc[2, "id"] = "AR-a"
    with pytest.raises(ValueError, match=r"'AR-a' appears in rows \[0, 2\]"):
        write_patch_videos(dated_map_files, dup, out, **opts)
    far = _catalog()
    far.loc[2, "lon"] = CRLN_OBS + 180.0
    far.loc[2, "start"] = None
    with pytest.raises(ValueError, match=r"catalog row 2, bmr_id 'AR-c'.*never on the disk"):
        write_patch_videos(dated_map_files, far, out, **opts)
    gap = _catalog()
    gap.loc[0, "label"] = None
    with pytest.raises(ValueError, match=r"row 0.*no value in column 'label'"):
        write_patch_videos(dated_map_files, gap, out, **opts)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_map_midway_leaves_nothing_behind(dated_map_files, tmp_path):
    bad = tmp_path / "maps" / "map1.fits"
    bad.parent.mkdir()
    raw = dated_map_files[1].read_bytes()
    bad.write_bytes(raw[: len(raw) - 20000])
    maps = [dated_map_files[0], bad, dated_map_files[2]]
    out = tmp_path / "out.nc"
    with pytest.raises(ValueError, match=r"map1\.fits"):
        write_patch_videos(maps, _catalog(), out, n_frames=4, size=6, pixel_deg=0.5)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["maps"]


# -------------------------------------------------------------------------------- SHARP
SHARP = DATA / "hmi_sharp_cea_720s_115_20100807_2036_bin4.fits"


def test_sharp_regridding_conserves_flux():
    from sunpy.map import all_coordinates_from_map

    video = read_sharp([SHARP], n_frames=1, size=60)
    assert video.bmr_id.item() == "HARP115" and video.harpnum.item() == 115
    m = _map(SHARP)
    lon0, lat0 = video.lon0.item(), video.lat0.item()
    assert lon0 == pytest.approx(346.517847) and lat0 == pytest.approx(14.8585)
    coords = all_coordinates_from_map(m)
    dlon = (coords.lon.to_value(u.deg) - lon0 + 180.0) % 360.0 - 180.0
    inside = (np.abs(dlon) < 5.0) & (np.abs(coords.lat.to_value(u.deg) - lat0) < 5.0)
    rsun = m.rsun_meters.to_value(u.m)
    # CEA pixels are equal-area: R^2 times the pixel's solid angle in the native frame
    cea_area = rsun**2 * np.prod([np.deg2rad(s.to_value(u.deg / u.pix)) for s in m.scale])
    field = np.asarray(m.data, dtype=float)[inside]
    patch = video.values[0, 0].astype(float)
    assert np.isfinite(patch).all()
    lat = lat0 + video.lat.values[:, None]
    area = np.broadcast_to(rsun**2 * np.cos(np.deg2rad(lat)) * np.deg2rad(1.0 / 6.0) ** 2,
                           patch.shape)
    assert np.sum(patch * area) == pytest.approx(field.sum() * cea_area, rel=0.03)
    assert np.sum(np.abs(patch) * area) == pytest.approx(np.abs(field).sum() * cea_area,
                                                         rel=0.03)
    assert np.sum(area) == pytest.approx(inside.sum() * cea_area, rel=0.01)


def test_sharp_cutouts_on_the_96_minute_grid(tmp_path):
    m = _map(SHARP)
    paths = []
    for i, minutes in enumerate([0, 12, 96 + 30, 3 * 96]):
        meta = m.meta.copy()
        t = m.reference_date + TimeDelta(minutes * 60.0, format="sec")
        meta["t_rec"] = meta["t_obs"] = t.tai.isot.replace("-", ".").replace("T", "_") + "_TAI"
        meta["date-obs"] = t.isot
        p = tmp_path / f"sharp{i}.fits"
        type(m)(m.data, meta).save(p)
        paths.append(p)
    video = read_sharp(paths, n_frames=5, size=12, pixel_deg=0.5, label=0)
    assert video.observed.values[0].tolist() == [True, True, False, True, False]
    assert video.attrs["source"] == "sharp0.fits;sharp2.fits;sharp3.fits"
    validate_videos(video)


def test_sharp_refuses_full_disk_maps_and_mixed_harps(tmp_path):
    with pytest.raises(ValueError, match=r"fd_bin16\.fits: not a SHARP CEA cutout"):
        read_sharp([HMI_FD])
    m = _map(SHARP)
    meta = m.meta.copy()
    meta["harpnum"] = 116
    meta["date-obs"] = (m.date + TimeDelta(3600.0, format="sec")).isot
    meta["t_obs"] = (m.reference_date + TimeDelta(3600.0, format="sec")).tai.isot.replace(
        "-", ".").replace("T", "_") + "_TAI"
    other = tmp_path / "harp116.fits"
    type(m)(m.data, meta).save(other)
    with pytest.raises(ValueError, match=r"different HARPs.*HARP 115.*harp116\.fits is HARP 116"):
        read_sharp([SHARP, other])


# ------------------------------------------------------------------- off-disk sentinels
def _limb_frame(fill, size=30):
    """A real quiet-Sun/active patch frame with a corner beyond the 'limb' set to ``fill``."""
    frame = patch_video([HMI_AR], AR_LON, AR_LAT, n_frames=1, size=size, pixel_deg=0.5)
    frame = frame.values[0, 0].astype(np.float64)
    yy, xx = np.mgrid[:size, :size]
    off = (yy + xx) < size // 2  # the limb cuts the lower-left corner
    frame[off] = fill
    return frame, off


@pytest.mark.parametrize("fill", [np.nan, 0.0, -1000.0, 37.5])
def test_off_disk_fill_is_found_whatever_its_value(fill):
    frame, off = _limb_frame(fill)
    np.testing.assert_array_equal(off_limb_mask(frame, sentinel="auto"), off)
    np.testing.assert_array_equal(off_limb_mask(frame, sentinel=fill if fill == fill else None),
                                  off)
    stack = np.stack([frame, np.flipud(frame)])[None]  # (video, frame, lat, lon)
    np.testing.assert_array_equal(off_limb_mask(stack, sentinel="auto"),
                                  np.stack([off, np.flipud(off)])[None])
    # MaskOffLimb puts the background exactly there, and nowhere else
    for sentinel in ("auto", fill if fill == fill else None):
        out = MaskOffLimb(fill_value=-5.0, sentinel=sentinel).fit_transform(stack)
        np.testing.assert_array_equal(out[0, 0][off], -5.0)
        np.testing.assert_array_equal(out[0, 0][~off], frame[~off])


def test_off_disk_mask_leaves_the_disk_alone():
    frame, _ = _limb_frame(0.0)
    real = patch_video([HMI_AR], AR_LON, AR_LAT, n_frames=1, size=30,
                       pixel_deg=0.5).values[0, 0]
    assert not off_limb_mask(real, sentinel="auto").any()  # measured: no constant region
    # the sentinel value inside the disk, not touching a corner: kept
    inner = real.astype(float).copy()
    inner[10:20, 10:20] = -1000.0
    assert not off_limb_mask(inner, sentinel="auto").any()
    assert not off_limb_mask(inner, sentinel=-1000.0).any()
    # a two-pixel corner region: too small to be guessed, masked when named
    tiny = real.astype(float).copy()
    tiny[0, :2] = -1000.0
    assert not off_limb_mask(tiny, sentinel="auto").any()
    assert off_limb_mask(tiny, sentinel=-1000.0).sum() == 2
    assert off_limb_mask(frame, sentinel=-1000.0).sum() == 0  # another fill value
    with pytest.raises(ValueError, match="sentinel"):
        off_limb_mask(frame, sentinel="zero")
