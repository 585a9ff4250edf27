"""The browser review app: how fast the page answers a reviewer, in a real browser.

A :class:`skflux.relabel.WebOracle` serves a queue of simulated videos
(:func:`skflux.datasets.make_flux_emergence`) to headless Chromium driven by
selenium; its verdicts go through the relabeler's own review path (each one
appended to an SQLite :class:`skflux.relabel.ReviewLog`, committed with
``synchronous=FULL``) exactly as in ``IterativeRelabeler.fit``. The page itself
times, with ``performance.now()`` from the key press:

* **verdict round trip**: key press -> the server's answer, which comes only
  once the verdict is committed to the review log (every verdict commits
  at once; ``undo=False`` ends the pass at its last verdict). Target: 95th
  percentile <= 50 ms.
* **first frame of the next video**: key press -> the next video's first frame
  drawn on the canvas (the page prefetches the next video while the current
  one plays). Target: <= 300 ms (95th percentile reported; the target is
  judged on it).
* **playback**: frames drawn per second over 3 s at the 20 fps setting
  (target >= 20 fps, within 5 %) and at the 60 fps setting (the most the page
  draws).

Both at tiny size (8 frames of 16 x 16) and at the paper's full size (225
frames of 90 x 90: 1.8 MB per video on the wire).

Run::

    python benchmarks/bench_review_web.py            # 40 verdicts per size, ~1 minute
    python benchmarks/bench_review_web.py --quick    # smoke run, a few verdicts, tiny only

Needs ``chromium`` and ``chromedriver`` (``tools/setup_env.sh`` installs them as
root); without them it writes a result saying so.
"""

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, write_result

from skflux.datasets import make_flux_emergence
from skflux.relabel import ReviewLog, ReviewRequest
from skflux.relabel._web import WebOracle

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-proxy-server", "--window-size=1120,760")


def _driver(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def _wait(driver, expr, timeout=60):
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"try {{ return ({expr}); }} catch (e) {{ return null; }}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page never reached {expr}")
        time.sleep(0.005)


def _showing(video):
    return (f"window.skflux.view.state && window.skflux.view.state.current === {video} && "
            f"window.skflux.view.data && window.skflux.view.data.meta.video === {video} && "
            "!window.skflux.view.busy")


def measure(driver, n_videos, n_frames, size, log_path, seed=0):
    """Review ``n_videos`` by key presses; return the page's timings (ms) and fps."""
    from selenium.webdriver.common.action_chains import ActionChains

    from skflux.relabel._review import ask_oracle

    videos = make_flux_emergence(n_videos, random_state=seed, n_frames=n_frames, size=size)
    idx = np.arange(n_videos)
    labels = videos["label"].values.astype(int)
    request = ReviewRequest(idx, labels, np.full(n_videos, 0.5),
                            [str(b) for b in videos["bmr_id"].values], None, 1, videos)
    log = ReviewLog(log_path)
    oracle = WebOracle(open_browser=False, undo=False, print_func=lambda *a: None)
    out = {}

    def review():
        try:  # sqlite connections stay in their thread: open the log here
            with log.open(fingerprint=f"bench-{n_frames}-{size}", config={}):
                out["verdicts"] = ask_oracle(oracle, request, {}, log)
        except BaseException as exc:  # reported below
            out["error"] = exc

    thread = threading.Thread(target=review, daemon=True)
    thread.start()
    try:
        while not hasattr(oracle, "url_"):
            time.sleep(0.01)
        driver.get(oracle.url_)
        fps = {}
        for k, video in enumerate(idx):
            _wait(driver, _showing(int(video)))
            if k == 0:  # playback speed on the first video, before any verdict
                for setting in (20, 60):
                    driver.execute_script(
                        f"window.skflux.view.fps = {setting}; window.skflux.view.playing = true;")
                    d0 = driver.execute_script("return window.skflux.stats.drawn")
                    t0 = time.perf_counter()
                    time.sleep(3.0)
                    d1 = driver.execute_script("return window.skflux.stats.drawn")
                    fps[setting] = (d1 - d0) / (time.perf_counter() - t0)
                driver.execute_script("window.skflux.view.fps = 20;")
            else:
                time.sleep(0.05)  # a reviewer looks before answering
            ActionChains(driver).send_keys("e" if k % 2 else "n").perform()
        thread.join(60)
        stats = driver.execute_script("return window.skflux.stats")
    finally:
        oracle.close()
    if "error" in out:
        raise out["error"]
    assert len(out["verdicts"]) == n_videos and len(ReviewLog(log_path).verdicts()) == n_videos
    return np.array(stats["verdictMs"]), np.array(stats["firstFrameMs"]), fps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: a few tiny videos")
    p.add_argument("--videos", type=int, default=40, help="verdicts timed per size")
    args = p.parse_args(argv)
    sizes = [("tiny", 8, 16)] if args.quick else [("tiny", 8, 16), ("full", 225, 90)]
    n_videos = 4 if args.quick else args.videos
    rows, extra = [], {"videos": n_videos}
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        rows.append({"figure": "browser benchmark", "value": "not run", "unit": "",
                     "compared_with": "", "target": "chromium + chromedriver installed",
                     "passed": None})
        write_result("review_web", rows, quick=args.quick, extra=extra)
        print("chromium/chromedriver missing: nothing measured")
        return
    with tempfile.TemporaryDirectory() as tmp:
        driver = _driver(Path(tmp) / "profile")
        try:
            for name, n_frames, size in sizes:
                rt, ff, fps = measure(driver, n_videos, n_frames, size,
                                      Path(tmp) / f"review_{name}.db")
                shape = f"{n_frames}x{size}x{size}"
                extra[name] = {"verdict_ms": rt.round(2).tolist(),
                               "first_frame_ms": ff.round(2).tolist(), "fps": fps}
                rt95, ff95 = float(np.percentile(rt, 95)), float(np.percentile(ff, 95))
                rows += [
                    {"figure": f"verdict round trip p95, key -> committed ({shape})",
                     "value": rt95, "unit": "ms",
                     "compared_with": f"median {np.median(rt):.1f} ms", "target": "<= 50 ms",
                     "passed": rt95 <= 50},
                    {"figure": f"next video's first frame p95, key -> drawn ({shape})",
                     "value": ff95, "unit": "ms",
                     "compared_with": f"median {np.median(ff):.1f} ms, max {ff.max():.1f} ms",
                     "target": "<= 300 ms", "passed": ff95 <= 300},
                    {"figure": f"playback at the 20 fps setting ({shape})", "value": fps[20],
                     "unit": "fps", "compared_with": f"{fps[60]:.1f} fps at the 60 fps setting",
                     "target": ">= 20 fps (within 5 %)", "passed": fps[20] >= 19},
                ]
                print(f"{shape}: round trip p95 {rt95:.1f} ms, first frame p95 {ff95:.1f} ms, "
                      f"{fps[20]:.1f} fps (60 fps setting: {fps[60]:.1f})", flush=True)
        finally:
            driver.quit()
    extra["peak_rss_mb"] = peak_rss_mb()
    write_result("review_web", rows, quick=args.quick, extra=extra)


if __name__ == "__main__":
    main()
