"""Preprocessing speed: skflux's vectorized pipeline vs a per-pixel interp1d loop.

Input: full-size videos (225 frames of 90 x 90 pixels, float32 as read from
NetCDF or FITS; ``--dtype float64`` also works) with ~10 % of the frames missing
(NaN, unobserved) inside the observed span and a NaN off-disk corner. Both sides
do the same three steps -- fill the gaps by linear interpolation per pixel over
time, set off-disk pixels to 0 G, pad to 225 frames -- on the same input:

* skflux: ``make_preprocessor()`` (FillGaps -> PadFrames -> MaskOffLimb);
* reference: for every pixel, ``scipy.interpolate.interp1d`` over the observed
  frames (in float64, as skflux computes) evaluated on the observed span (the
  usual approach), stored in the input dtype, then the same masking and
  padding (vectorized, a negligible part of its time).

The two are timed alternately, round after round (skflux ``--repeats`` times
on ``--videos`` videos, the reference once on one whole video), so both see
the same load of a shared machine; the best timing of each is kept. In ``--quick`` mode the
reference's per-pixel loop runs on 300 of the 8,100 pixels of one video and
its time is scaled up to the whole video (stated in the output). Outputs are
compared on the pixels the reference computed: the targets are a maximum
absolute difference <= 1e-6 G and a speed-up >= 100x.

Run: ``python benchmarks/bench_preprocessing.py`` (full, a few minutes on
2 cores) or ``--quick`` (seconds, a smoke test).
"""

import argparse
import time

import numpy as np
from _common import peak_rss_mb, write_result
from scipy.interpolate import interp1d

from skflux._schema import N_FRAMES, PATCH_SIZE
from skflux.preprocessing import MaskOffLimb, PadFrames, make_preprocessor


def make_videos(n, n_frames=N_FRAMES, size=PATCH_SIZE, missing=0.10, seed=0, dtype="float32"):
    """Full-size videos with ~``missing`` of interior frames unobserved."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 150.0, size=(n, n_frames, size, size)).astype(dtype)
    n_missing = int(round(missing * n_frames))
    for i in range(n):
        gone = rng.choice(np.arange(1, n_frames - 1), size=n_missing, replace=False)
        X[i, gone] = np.nan
        r = rng.integers(5, size // 3)  # an off-disk corner
        yy, xx = np.mgrid[:size, :size]
        X[i, :, yy + xx < r] = np.nan
    return X


def reference(X, pixels=None):
    """Per-pixel interp1d gap filling, then the same masking and padding.

    Returns the output, the seconds spent in the per-pixel loop and the seconds
    spent masking and padding.
    """
    out = X.copy()
    n, f, h, w = X.shape
    flat_in = X.reshape(n, f, h * w)
    flat_out = out.reshape(n, f, h * w)
    pix = np.arange(h * w) if pixels is None else pixels
    t0 = time.perf_counter()
    for i in range(n):
        observed = ~np.isnan(flat_in[i]).all(axis=1)
        obs = np.flatnonzero(observed)
        span = np.arange(obs[0], obs[-1] + 1)
        for p in pix:  # the reference approach: one interpolator per pixel
            y = flat_in[i, obs, p].astype(np.float64)
            flat_out[i, span, p] = interp1d(obs, y)(span)
    t1 = time.perf_counter()
    out = MaskOffLimb().transform(PadFrames(n_frames=N_FRAMES).transform(out))
    return out, t1 - t0, time.perf_counter() - t1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--videos", type=int, default=None, help="videos per skflux timing")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds; each times skflux on all videos and the reference on one "
                        "video, alternately, so both see the same machine load; best kept")
    parser.add_argument("--repeats", type=int, default=3,
                        help="skflux timings per round (each a fraction of a second)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    quick = args.quick
    n_videos = args.videos or (4 if quick else 16)
    rounds = args.rounds or (1 if quick else 3)

    X = make_videos(max(n_videos, rounds), dtype=args.dtype)
    pipe = make_preprocessor(n_frames=N_FRAMES)
    pipe.fit_transform(X[:1])  # warm-up (imports)
    n_pix = PATCH_SIZE * PATCH_SIZE
    pixels = None
    if quick:
        pixels = np.random.default_rng(1).choice(n_pix, size=300, replace=False)
    t_ours, t_ref, max_diff = [], [], 0.0
    for r in range(rounds):
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pipe.fit_transform(X[:n_videos])
            t_ours.append((time.perf_counter() - t0) / n_videos)
        ref, t_loop, t_post = reference(X[r: r + 1], pixels)
        scale = 1.0 if pixels is None else n_pix / pixels.size
        t_ref.append(t_loop * scale + t_post)
        mine = pipe.fit_transform(X[r: r + 1]).reshape(1, N_FRAMES, -1)
        theirs = ref.reshape(1, N_FRAMES, -1)
        if pixels is not None:
            mine, theirs = mine[:, :, pixels], theirs[:, :, pixels]
        max_diff = max(max_diff, float(np.abs(mine - theirs).max()))
    ours_vps = 1.0 / min(t_ours)
    ref_vps = 1.0 / min(t_ref)
    ratio = ours_vps / ref_vps
    if quick:
        ref_note = (f"1 video, per-pixel loop on {pixels.size} of {n_pix} pixels scaled to the "
                    "whole video")
    else:
        ref_note = f"{rounds} whole videos, best of {rounds}"
    ours_note = f"{n_videos} {args.dtype} videos per timing, best of {len(t_ours)}"

    rows = [
        {"figure": "skflux make_preprocessor throughput", "value": ours_vps,
         "unit": "videos/s", "compared_with": ours_note, "target": "", "passed": None},
        {"figure": "per-pixel interp1d reference throughput", "value": ref_vps,
         "unit": "videos/s", "compared_with": ref_note, "target": "", "passed": None},
        {"figure": "speed-up", "value": ratio, "unit": "x",
         "compared_with": "reference, same input, timed alternately in the same run",
         "target": ">= 100x", "passed": bool(ratio >= 100)},
        {"figure": "max |skflux - reference|", "value": max_diff, "unit": "G",
         "compared_with": ref_note, "target": "<= 1e-6", "passed": bool(max_diff <= 1e-6)},
    ]
    extra = {"videos": n_videos, "rounds": rounds, "shape": list(X.shape[1:]),
             "dtype": str(X.dtype), "missing_fraction": 0.10,
             "skflux_seconds_per_video": t_ours, "reference_seconds_per_video": t_ref,
             "peak_rss_mb": peak_rss_mb()}
    payload = write_result("preprocessing", rows, quick=quick, extra=extra)
    for r in payload["rows"]:
        print(f"{r['figure']}: {r['value']:.4g} {r['unit']} ({r['compared_with']}); "
              f"target {r['target'] or '-'}")


if __name__ == "__main__":
    main()
