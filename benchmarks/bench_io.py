"""Inference from disk at compute speed: NetCDF (zlib, zstd) and Zarr vs in-memory, side by side.

What is measured (one run, same videos, same networks, ``--repeats`` alternating pairs)
-------------------------------------------------------------------------------------
``--videos`` full-size videos (225 x 90 x 90) from the simulator are written by
:func:`skflux.datasets.write_flux_emergence` to a temporary folder (never the
repository) as NetCDF with zlib (the default), as NetCDF with zstd
(``to_netcdf(..., compression="zstd")``) and as Zarr (:func:`skflux.io.to_zarr`).
The networks are reference VGGs with random weights (``max_epochs=0``; speed does
not depend on the weights).

0. Reading and decoding alone (no network, no read-ahead), ms per video.
1. ``FluxEmergenceClassifier.predict_proba`` on ``open_videos(file)`` against the
   in-memory forward pass of the same model (``module_`` on in-memory float32
   batches of ``batch_size``, no reading at all): ratio, target >= 0.9; with
   torch's default thread count (every core) and with one torch thread (a core
   left to the reader).
2. ``MonthBlockEnsemble.predict_proba`` (``--members`` members) from each file
   against the same ensemble on the in-memory videos (the first
   ``--ensemble-videos``).
3. ``EmergenceTimeLocator`` (``method="fast"``, ``--locator-members`` members,
   ``--locator-videos`` videos) from the zlib file against in-memory videos.
4. Peak memory (resident set size of a fresh process) of ``predict_proba`` and of
   the ensemble's ``predict_proba`` from a NetCDF file of ``--mem-small`` vs
   ``--mem-large`` videos (200 vs 2,000). These files use small videos
   (``--mem-shape``, 32 x 16 x 16 by default): writing 2,000 full-size videos takes
   ~20 minutes and 4 GB on this machine; the reading path (one batch in memory
   at a time, read ahead by one thread) is the same for any size.

Profile of ``predict_proba`` from NetCDF before this benchmark's changes
--------------------------------------------------------------------------
cProfile and pieces timed alone, 24 full-size videos, batches of 10, one torch
thread (2-core AMD EPYC, 2026-11-29; ``/tmp`` scripts, figures per video):

* before: 21.9 videos/s from NetCDF vs 48.9 videos/s in-memory forward (0.45);
  reading alone 47 videos/s = 21 ms per video, of which
  - ``torch.isfinite(batch).all()`` (the NaN check): 11 ms (numpy's ``isfinite``:
    0.8 ms; torch's CPU kernel materializes several temporaries);
  - HDF5 zlib decompression of the int16 chunk: 8.5 ms (zstd: 2.4 ms,
    blosc-lz4: 2.3 ms, no compression: 0.6 ms; sizes 2.05 / 2.34 / 2.57 /
    3.65 MB per video);
  - xarray's CF decoding (int16 to float32, ``* scale_factor``, fill value to
    NaN: two full-size temporaries): 6 ms;
  - dask's threaded scheduler, graph building and the Python loop: < 1 ms
    (the thread pool only waits for the decode), ``concatenate`` of the batch:
    1.3 ms (one copy, needed to form the batch);
  - the network waited for all of it: nothing overlapped.
* after: reading alone 74 videos/s (13.5 ms per video: 9 ms zlib, 1.4 ms one-pass
  unpacking in :class:`skflux.io._netcdf.PackedField`, 1.6 ms concatenation,
  0.7 ms NaN check), done by a background thread two batches ahead of the
  network (:func:`skflux.nn._data.prefetch`), with dask's synchronous scheduler
  inside that thread (no second thread pool, never a default distributed client).

Two more findings from timing the pipeline (``/tmp`` scripts): netCDF4 and numpy
release the GIL, so the reader thread does not slow the network's Python
dispatch (forward pass with a reader looping beside it: 49.5 vs 50.2 videos/s);
and the read-ahead cannot hide the first batch (the pipeline fill: ~0.13 s for 10
zlib videos), which weighs a third of the time on 24 videos (3 batches) and a
few percent on 100, hence ``--videos 100``.

Where the 0.9 target can and cannot be met on 2 cores: reading is CPU work
(decompression), so when torch already uses both cores for the forward pass the
reader thread takes cycles from it: the ratio is then bounded by
``t_forward / (t_forward + t_read / 2)``; zlib costs 9 ms per video, zstd and
Zarr's default (zstd) ~2.5 ms, which is why they are measured side by side. On a
machine with a spare core (or a GPU doing the forward pass) reading is hidden.

Run::

    python benchmarks/bench_io.py            # full size (~10 minutes on 2 cores)
    python benchmarks/bench_io.py --quick    # smoke run, tiny sizes, seconds
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, write_result

from skflux._schema import N_FRAMES, PATCH_SIZE


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _paired(reference, candidate, repeats):
    """Times of two functions measured alternately, as ``(t_reference, t_candidate)``.

    Each repeat times one after the other, so both see the same load on a shared
    machine; the pair with the median ratio is returned (robust to a burst of
    load hitting one side of one pair).
    """
    pairs = []
    for _ in range(repeats):
        pairs.append((_best(reference, 1), _best(candidate, 1)))
    pairs.sort(key=lambda tc: tc[0] / tc[1])
    return pairs[len(pairs) // 2]


def _ensemble(n_members, shape, device="cpu"):
    """A fitted ensemble of untrained reference VGGs (max_epochs=0)."""
    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    n_seeds = 2 if n_members >= 4 and n_members % 2 == 0 else 1
    n_splits = n_members // n_seeds
    months = np.arange(1, 2 * n_splits + 1)
    rng = np.random.default_rng(1)
    X = rng.normal(0, 300, (months.size, *shape)).astype(np.float32)
    blocks = tuple((2 * k + 1, 2 * k + 2) for k in range(n_splits))
    clf = FluxEmergenceClassifier(max_epochs=0, patience=None, device=device)
    return MonthBlockEnsemble(clf, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                              random_state=0).fit(X, np.arange(months.size) % 2, groups=months)


def write_stores(folder, n_videos, shape, seed):
    """The same simulated videos as NetCDF (zlib), NetCDF (zstd) and, if available, Zarr."""
    from skflux.datasets import write_flux_emergence
    from skflux.io import open_videos, to_netcdf

    n_frames, size = shape[0], shape[1]
    stores = {"NetCDF zlib": folder / "videos.nc"}
    write_flux_emergence(stores["NetCDF zlib"], n_videos, random_state=seed,
                         n_frames=n_frames, size=size)
    videos = open_videos(stores["NetCDF zlib"])
    stores["NetCDF zstd"] = to_netcdf(videos, folder / "videos_zstd.nc", compression="zstd")
    try:
        from skflux.io import to_zarr
    except ImportError:  # pragma: no cover - before Zarr support
        return stores
    stores["Zarr"] = to_zarr(videos, folder / "videos.zarr")
    return stores


def bench_throughput(args, rows, extra, folder):
    import torch

    from skflux import EmergenceTimeLocator
    from skflux.io import open_videos
    from skflux.nn._data import iter_video_batches

    shape = (32, 32, 32) if args.quick else (N_FRAMES, PATCH_SIZE, PATCH_SIZE)
    n_videos = 6 if args.quick else args.videos
    print(f"throughput: {n_videos} videos {'x'.join(map(str, shape))}, torch threads "
          f"{torch.get_num_threads()}", flush=True)
    t0 = time.perf_counter()
    stores = write_stores(folder, n_videos, shape, args.seed)
    extra["write_seconds"] = time.perf_counter() - t0
    memory = open_videos(stores["NetCDF zlib"]).load()
    X = memory.values
    ens = _ensemble(2 if args.quick else args.members, shape)
    clf = ens.estimators_[0]
    bs = clf.batch_size

    def forward():
        with torch.inference_mode():
            for i in range(0, n_videos, bs):
                clf.module_(torch.from_numpy(X[i:i + bs]))

    forward()  # warm-up
    t_forward = _best(forward, args.repeats) / n_videos
    for name, path in stores.items():
        lazy = open_videos(path)
        # reading alone (this thread, no read-ahead): what a background reader has to hide
        t_read = _best(lambda lazy=lazy: [None for _ in iter_video_batches(
            lazy, bs, prefetch_batches=0)], args.repeats) / n_videos
        extra[f"read_ms_per_video_{name}"] = 1e3 * t_read
        rows.append({"figure": f"reading + decoding alone from {name}", "value": 1e3 * t_read,
                     "unit": "ms/video", "compared_with": f"in-memory forward pass: "
                     f"{1e3 * t_forward:.3g} ms/video ({torch.get_num_threads()} threads)",
                     "target": "", "passed": None})
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        forward()  # warm-up at this thread count
        for name, path in stores.items():
            lazy = open_videos(path)
            t_mem, t = _paired(forward, lambda lazy=lazy: clf.predict_proba(lazy), args.repeats)
            rate, rate_mem = n_videos / t, n_videos / t_mem
            extra[f"predict_proba_{name}_{threads}_threads"] = [rate, rate_mem]
            rows.append({"figure": f"predict_proba from {name} ({threads} torch thread"
                                   f"{'s' if threads > 1 else ''}): ratio to in-memory forward",
                         "value": rate / rate_mem, "unit": "",
                         "compared_with": f"{rate:.3g} vs {rate_mem:.3g} videos/s in memory",
                         "target": ">= 0.9", "passed": bool(rate / rate_mem >= 0.9)})
            print(f"  predict_proba {name}, {threads} thread(s): {rate:.2f} videos/s "
                  f"({rate / rate_mem:.2f})", flush=True)
        np.testing.assert_allclose(clf.predict_proba(lazy), clf.predict_proba(X), atol=1e-6)
    torch.set_num_threads(default_threads)

    n_ens = min(n_videos, 6 if args.quick else args.ensemble_videos)
    X = X[:n_ens]
    n_members = len(ens.estimators_)
    for name, path in stores.items():
        lazy = open_videos(path).isel(video=slice(0, n_ens))
        t_ens_mem, t = _paired(lambda: ens.predict_proba(X),
                               lambda lazy=lazy: ens.predict_proba(lazy), args.repeats)
        ratio = t_ens_mem / t
        extra[f"ensemble_{name}_seconds"] = t
        rows.append({"figure": f"MonthBlockEnsemble.predict_proba ({n_members} members) from "
                               f"{name}: ratio to in-memory", "value": ratio, "unit": "",
                     "compared_with": f"{n_ens / t:.3g} vs {n_ens / t_ens_mem:.3g} "
                                      "videos/s in memory",
                     "target": ">= 0.9", "passed": bool(ratio >= 0.9)})
        print(f"  ensemble {name}: {ratio:.2f}", flush=True)

    n_loc = min(n_videos, 2 if args.quick else args.locator_videos)
    loc_ens = _ensemble(2 if args.quick else args.locator_members, shape)
    lower_bound = max(1, round(30 * shape[0] / N_FRAMES))
    loc = EmergenceTimeLocator(loc_ens, lower_bound=lower_bound, method="fast").fit()
    loc.transform(memory.isel(video=[0]))  # warm-up
    lazy = open_videos(stores["NetCDF zlib"]).isel(video=slice(0, n_loc))
    t_mem_loc, t_disk_loc = _paired(lambda: loc.transform(memory.isel(video=slice(0, n_loc))),
                                    lambda: loc.transform(lazy), 1)
    rows.append({"figure": f"EmergenceTimeLocator fast ({len(loc_ens.estimators_)} members) "
                           "from NetCDF zlib: ratio to in-memory",
                 "value": t_mem_loc / t_disk_loc, "unit": "",
                 "compared_with": f"{t_disk_loc / n_loc:.3g} vs {t_mem_loc / n_loc:.3g} "
                                  f"s/video in memory ({n_loc} videos)",
                 "target": ">= 0.9", "passed": bool(t_mem_loc / t_disk_loc >= 0.9)})
    print(f"  locator: {t_mem_loc / t_disk_loc:.2f}", flush=True)


def _status_mb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")  # pragma: no cover - not Linux


def _reset_peak():
    """Reset the kernel's peak RSS of this process (Linux: VmHWM), so the next peak is a step's."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:  # pragma: no cover - not Linux, or not allowed
        return False


def memory_child(path, n_members):
    """Run in a fresh process: predict from ``path``; print RSS figures (MiB) as JSON.

    For each step: the resident memory before it and the peak during it (the
    kernel's high-water mark, reset before the step), so the setup (imports,
    building the networks) does not hide what prediction itself holds.
    """
    from skflux.io import open_videos

    videos = open_videos(path)
    ens = _ensemble(n_members, tuple(videos.shape[1:]))
    out = {"process_peak_before": peak_rss_mb()}
    for step, fn in (("classifier", lambda: ens.estimators_[0].predict_proba(videos)),
                     ("ensemble", lambda: ens.predict_proba(videos))):
        reset = _reset_peak()
        before = _status_mb("VmRSS")
        fn()
        peak = _status_mb("VmHWM") if reset else peak_rss_mb()
        out[step] = {"before": before, "peak": peak, "increase": peak - before}
    print(json.dumps(out))


def bench_memory(args, rows, extra, folder):
    from skflux.datasets import write_flux_emergence

    n_frames, size = args.mem_shape
    sizes = (20, 200) if args.quick else (args.mem_small, args.mem_large)
    peaks = {}
    for n in sizes:
        path = folder / f"mem_{n}.nc"
        write_flux_emergence(path, n, random_state=args.seed, n_frames=n_frames, size=size)
        proc = subprocess.run([sys.executable, __file__, "--memory-child", str(path),
                               "--members", str(2 if args.quick else args.members)],
                              capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent)
        peaks[n] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  memory {n} videos: {peaks[n]}", flush=True)
    extra["peak_rss_mb"] = {str(k): v for k, v in peaks.items()}
    small, large = sizes
    for key, what in (("classifier", "predict_proba"),
                      ("ensemble", "MonthBlockEnsemble.predict_proba")):
        lo, hi = peaks[small][key], peaks[large][key]
        ratio = hi["peak"] / lo["peak"]
        rows.append({"figure": f"peak RSS of {what} from NetCDF, {large} / {small} videos",
                     "value": ratio, "unit": "",
                     "compared_with": f"{hi['peak']:.0f} vs {lo['peak']:.0f} MiB; growth during "
                                      f"the call {hi['increase']:.1f} vs {lo['increase']:.1f} MiB "
                                      f"({n_frames}x{size}x{size} videos)",
                     "target": "<= 1.2", "passed": bool(ratio <= 1.2)})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    p.add_argument("--videos", type=int, default=100)
    p.add_argument("--ensemble-videos", type=int, default=40)
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--locator-members", type=int, default=2)
    p.add_argument("--locator-videos", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--mem-small", type=int, default=200)
    p.add_argument("--mem-large", type=int, default=2000)
    p.add_argument("--mem-shape", type=int, nargs=2, default=(32, 16), metavar=("FRAMES", "SIZE"))
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--part", choices=("all", "throughput", "memory"), default="all")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, args.members)
        return
    rows, extra = [], {"argv": sys.argv[1:]}
    with tempfile.TemporaryDirectory(prefix="skflux_bench_io_") as tmp:
        folder = Path(tmp)
        if args.part in ("all", "throughput"):
            bench_throughput(args, rows, extra, folder)
        if args.part in ("all", "memory"):
            bench_memory(args, rows, extra, folder)
    extra["note"] = (
        "same videos and networks in one run; ratios are from-disk over in-memory throughput; "
        "memory part on small videos (see the script's docstring); CPU threads: "
        f"{os.environ.get('OMP_NUM_THREADS', 'torch default')}")
    write_result("io" if args.part == "all" else f"io_{args.part}", rows, quick=args.quick,
                 extra=extra)


if __name__ == "__main__":
    main()
