"""Simulator throughput and memory: 2,000 full-size videos streamed to NetCDF.

``skflux.datasets.write_flux_emergence`` renders full-size videos (225 frames of
90 x 90 pixels, default physics) and appends them one by one to a NetCDF4 file
(int16-packed, zlib). Measured, each in its own subprocess so that peak-RSS
figures are the run's own:

* the large run (``--videos``, default 2,000): videos per second (wall clock,
  including catalogue, rendering, preprocessing and writing) and peak RSS;
  The CPU time per video is reported too: on a shared machine it says what
  an idle one would do (two threads render ahead while the main thread
  packs, compresses and writes);
* a small run (``--small``, default 200) in the same way; the RSS ratio
  large/small shows that memory does not grow with the number of videos
  (target <= 1.2); the throughput target is >= 7 videos/s (2,000 in <= 5 min);
* the small run again with one rendering thread
  (``skflux.datasets._simulator.RENDER_THREADS = 1``, the writer before it
  had two): the speed-up of the second thread, measured side by side.

Also reported: the time to make 100 tiny test videos (16 frames of 16 x 16) in
memory, the file size per video and the crude-label confusion of the large run.

Run: ``python benchmarks/bench_simulator.py`` (several minutes on 2 cores) or
``--quick`` (a smoke run: 20 vs 5 videos; its numbers mean nothing).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, write_result


def child(n_videos, path, render_threads=None):
    """Write ``n_videos`` full-size videos to ``path``; print timing and RSS as JSON."""
    from skflux.datasets import _simulator, write_flux_emergence

    if render_threads is not None:
        _simulator.RENDER_THREADS = render_threads

    start, cpu = time.perf_counter(), time.process_time()
    write_flux_emergence(path, n_videos, random_state=2024)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"n": n_videos, "seconds": seconds, "cpu_seconds": cpu,
                      "peak_rss_mb": peak_rss_mb(), "bytes": os.path.getsize(path),
                      "load_average": os.getloadavg()}))


def run_child(n_videos, workdir, render_threads=None):
    path = Path(workdir) / f"sim_{n_videos}.nc"
    cmd = [sys.executable, __file__, "--child", str(n_videos), str(path)]
    if render_threads is not None:
        cmd += ["--render-threads", str(render_threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parent)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["n"] >= 50 or n_videos <= 20:
        from skflux.datasets import crude_label_confusion
        from skflux.io import open_videos

        videos = open_videos(path)
        report = crude_label_confusion(videos)
        result["mislabel_rate"] = report["mislabel_rate"]
        result["false_emergence_rate"] = report["false_emergence_rate"]
        result["missed_emergence_rate"] = report["missed_emergence_rate"]
        result["true_emergence_fraction"] = float(videos["true_label"].values.mean())
        videos.close() if hasattr(videos, "close") else None
    path.unlink()
    return result


def tiny_time(repeats=3):
    from skflux.datasets import make_flux_emergence

    make_flux_emergence(2, random_state=0, n_frames=16, size=16)  # imports, caches
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        make_flux_emergence(100, random_state=r, n_frames=16, size=16)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--videos", type=int, default=2000, help="videos in the large run")
    parser.add_argument("--small", type=int, default=200, help="videos in the small run")
    parser.add_argument("--child", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--render-threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.render_threads)
        return
    large, small = (20, 5) if args.quick else (args.videos, args.small)
    with tempfile.TemporaryDirectory(prefix="skflux_bench_sim_") as work:
        res_small = run_child(small, work)
        res_one = run_child(small, work, render_threads=1)
        res_large = run_child(large, work)
    t_tiny = tiny_time()
    rate = res_large["n"] / res_large["seconds"]
    ratio = res_large["peak_rss_mb"] / res_small["peak_rss_mb"]
    rate_small, rate_one = (res_small["n"] / res_small["seconds"],
                            res_one["n"] / res_one["seconds"])
    rows = [
        {"figure": f"write {large} full-size videos (225x90x90) to NetCDF",
         "value": rate, "unit": "videos/s",
         "compared_with": f"{res_large['seconds']:.0f} s in all", "target": ">= 7 videos/s",
         "passed": rate >= 7},
        {"figure": f"write {small} videos: 2 rendering threads / 1 (same run)",
         "value": rate_small / rate_one, "unit": "",
         "compared_with": f"{rate_small:.2f} vs {rate_one:.2f} videos/s", "target": "",
         "passed": None},
        {"figure": "CPU time per full-size video (render + write)",
         "value": res_large["cpu_seconds"] / res_large["n"], "unit": "s",
         "compared_with": f"load average during the run {res_large['load_average'][0]:.1f} "
                          f"on {os.cpu_count()} cores", "target": "", "passed": None},
        {"figure": f"peak RSS, {large} videos", "value": res_large["peak_rss_mb"],
         "unit": "MiB", "compared_with": f"{small} videos: {res_small['peak_rss_mb']:.0f} MiB",
         "target": "", "passed": None},
        {"figure": f"peak RSS ratio {large} / {small} videos", "value": ratio, "unit": "",
         "compared_with": f"{small} videos (separate subprocesses)", "target": "<= 1.2",
         "passed": ratio <= 1.2},
        {"figure": "100 tiny videos (16 frames of 16x16) in memory", "value": t_tiny,
         "unit": "s", "compared_with": "best of 3", "target": "<= 2 s",
         "passed": t_tiny <= 2.0},
        {"figure": "file size per full-size video", "value":
         res_large["bytes"] / res_large["n"] / 2**20, "unit": "MiB",
         "compared_with": "float32 in memory: 6.95 MiB", "target": "", "passed": None},
        {"figure": f"crude labels wrong ({large} videos)", "value":
         res_large.get("mislabel_rate", float("nan")), "unit": "",
         "compared_with": (f"false emergence {res_large.get('false_emergence_rate', 0):.2f}, "
                           f"missed emergence {res_large.get('missed_emergence_rate', 0):.2f}"),
         "target": "0.15-0.25",
         "passed": 0.15 <= res_large.get("mislabel_rate", -1) <= 0.25},
    ]
    write_result("simulator", rows, quick=args.quick,
                 extra={"large": res_large, "small": res_small, "small_one_thread": res_one,
                        "tiny_seconds": t_tiny})
    for r in rows:
        print(f"{r['figure']}: {r['value']:.4g} {r['unit']} ({r['compared_with']})")


if __name__ == "__main__":
    main()
