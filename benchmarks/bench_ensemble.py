"""Ensemble speed: batched inference of a 10-member ensemble, and parallel member fitting.

1. Inference at full size (videos of 225 frames of 90 x 90 pixels, float32, in
   memory). A :class:`skflux.MonthBlockEnsemble` of 10 reference-VGG members
   (5 month blocks x 2 seeds; untrained weights, which cost the same as trained
   ones) predicts ``--videos`` videos with ``predict_proba_members``: each
   batch is read and scaled once and fed to every member. Side by side in the
   same run: one :class:`skflux.FluxEmergenceClassifier` predicting the same
   videos with its own ``predict_proba`` (the single-model figure), and the
   naive ensemble that calls every member's ``predict_proba`` in turn (videos
   read and scaled once per member). FLOP per video forward are counted by
   torch (:func:`skflux.nn.count_flops`); achieved GFLOP/s = videos x members x
   GFLOP per video / seconds. Target: the ensemble's GFLOP/s within 10 % of the
   single model's (i.e. ratio >= 0.9). Each timing is the best of
   ``--repeats`` runs (the machine may be shared).
2. Fitting 4 members (``MonthBlockSplit.uncertainty()``, one seed) of a small
   VGG on tiny videos with ``n_jobs=2`` vs ``n_jobs=1``: wall-time ratio
   (speed-up). One untimed fit of each kind comes first (the first parallel
   fit starts the worker processes, each importing torch; its time is kept as
   ``fit_cold_n_jobs2_s``).

Run: ``python benchmarks/bench_ensemble.py`` (full: 40 videos, 10 members, about
two minutes on 2 CPU cores) or ``--quick`` (2 videos, 2 members, tiny fit: a
smoke run of seconds to a minute). ``--device cuda`` runs the inference part on a GPU.
"""

import argparse
import os
import time

import numpy as np
from _common import peak_rss_mb, write_result

from skflux._schema import N_FRAMES, PATCH_SIZE


def _videos(n, n_frames=N_FRAMES, size=PATCH_SIZE, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 300.0, size=(n, n_frames, size, size)).astype(np.float32)


def _cores():
    """CPU cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count()


def _best(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


def _untrained_ensemble(n_splits, n_seeds, n_frames, size, device):
    """An ensemble fitted with max_epochs=0: members keep their random initial weights."""
    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    months = np.arange(1, 2 * n_splits + 1)
    X = _videos(months.size, n_frames, size, seed=1)
    y = np.arange(months.size) % 2
    blocks = tuple((2 * k + 1, 2 * k + 2) for k in range(n_splits))
    clf = FluxEmergenceClassifier(max_epochs=0, patience=None, device=device)
    ens = MonthBlockEnsemble(clf, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                             random_state=0)
    return ens.fit(X, y, groups=months)


def bench_inference(args):
    import torch

    from skflux.nn import count_flops

    n_frames, size = (N_FRAMES, PATCH_SIZE)
    n_splits, n_seeds = (2, 1) if args.quick else (5, 2)
    ens = _untrained_ensemble(n_splits, n_seeds, n_frames, size, args.device)
    members = ens.estimators_
    n_members = len(members)
    X = _videos(args.videos, n_frames, size)
    gflop = count_flops(members[0].module_, (1, n_frames, size, size),
                        device=args.device) / 1e9
    single = members[0]

    def run_single():
        return single.predict_proba(X)[:, 1]

    def run_ensemble():
        return ens.predict_proba_members(X)

    def run_naive():
        return np.stack([m.predict_proba(X)[:, 1] for m in members])

    run_single()  # warm-up (allocations, kernels)
    t_single, ts_single, p_single = _best(run_single, args.repeats)
    t_ens, ts_ens, p_ens = _best(run_ensemble, args.repeats)
    t_naive, ts_naive, p_naive = _best(run_naive, 1)
    assert np.allclose(p_ens[0], p_single, atol=1e-5), "batched inference disagrees"
    assert np.allclose(p_ens, p_naive, atol=1e-5), "batched inference disagrees"
    n = args.videos
    single_gflops = n * gflop / t_single
    ens_gflops = n * n_members * gflop / t_ens
    naive_gflops = n * n_members * gflop / t_naive
    ratio = ens_gflops / single_gflops
    where = args.device if args.device != "cpu" else f"cpu, {_cores()} cores"
    rows = [
        {"figure": f"ensemble inference ({n_members} members, full size, {where})",
         "value": n / t_ens, "unit": "videos/s",
         "compared_with": f"single model {n / t_single:.3g} videos/s", "target": "",
         "passed": None},
        {"figure": "ensemble achieved GFLOP/s", "value": ens_gflops, "unit": "GFLOP/s",
         "compared_with": f"single model {single_gflops:.3g} GFLOP/s; naive member loop "
                          f"{naive_gflops:.3g} GFLOP/s",
         "target": "ensemble/single >= 0.9", "passed": bool(ratio >= 0.9)},
        {"figure": "ensemble/single GFLOP/s ratio", "value": ratio, "unit": "",
         "compared_with": "single model, same run", "target": ">= 0.9",
         "passed": bool(ratio >= 0.9)},
    ]
    extra = {"videos": n, "members": n_members, "gflop_per_video": gflop,
             "batch_size": getattr(single, "batch_size", None), "device": args.device,
             "single_s": ts_single, "ensemble_s": ts_ens, "naive_s": ts_naive,
             "torch_threads": torch.get_num_threads(), "cpu_affinity": _cores()}
    return rows, extra


def bench_fit(args):
    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    per_month, size, width = (1, 16, 4) if args.quick else (6, 32, 8)
    months = np.repeat(np.arange(1, 9), per_month)
    X = _videos(months.size, n_frames=16, size=size, seed=2)
    y = np.arange(months.size) % 2
    X[y == 1, 8:, size // 4:size // 2, size // 4:size // 2] += 600.0
    clf = FluxEmergenceClassifier(
        max_epochs=1 if args.quick else 3, batch_size=4, lr=1e-2,
        module__widths=(width, width, 2 * width, 2 * width), module__top=2 * width,
        module__dense=2 * width, patience=None)

    def fit(n_jobs):
        ens = MonthBlockEnsemble(clf, cv=MonthBlockSplit.uncertainty(), n_seeds=1,
                                 n_jobs=n_jobs, random_state=0)
        return ens.fit(X, y, groups=months)

    # untimed warm-ups: the first fit imports torch's optimizer machinery, the first
    # parallel fit starts the joblib worker processes (each imports torch and skflux)
    cold1 = cold2 = None
    if not args.quick:  # a smoke run skips them (its timings mean nothing anyway)
        cold1, _, _ = _best(lambda: fit(1), 1)
        cold2, _, _ = _best(lambda: fit(2), 1)
    t1, ts1, e1 = _best(lambda: fit(1), args.repeats)
    t2, ts2, e2 = _best(lambda: fit(2), args.repeats)
    p1, p2 = e1.predict_proba_members(X), e2.predict_proba_members(X)
    speedup = t1 / t2
    rows = [{"figure": f"fit 4 members, n_jobs=2 speed-up ({_cores()} cores)", "value": speedup,
             "unit": "x",
             "compared_with": f"n_jobs=1: {t1:.3g} s; n_jobs=2: {t2:.3g} s",
             "target": "> 1 (2 cores)", "passed": bool(speedup > 1.0)}]
    extra = {"fit_videos": int(months.size), "fit_video_shape": [16, size, size],
             "fit_cold_n_jobs1_s": cold1, "fit_cold_n_jobs2_s": cold2,
             "fit_epochs": clf.max_epochs, "n_jobs1_s": ts1, "n_jobs2_s": ts2,
             "same_members": bool(np.allclose(p1, p2, atol=1e-5))}
    return rows, extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--videos", type=int, default=None,
                        help="full-size videos for inference (default 40, quick 2)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timings per figure, best kept (default 2, quick 1)")
    parser.add_argument("--device", default="cpu",
                        help="torch device for inference (results go to ensemble_<device>)")
    parser.add_argument("--no-fit", action="store_true", help="skip the parallel-fit part")
    args = parser.parse_args(argv)
    if args.videos is None:
        args.videos = 2 if args.quick else 40
    if args.repeats is None:
        args.repeats = 1 if args.quick else 2
    t0 = time.perf_counter()
    rows, extra = bench_inference(args)
    fit_rows, fit_extra = ([], {}) if args.no_fit else bench_fit(args)
    extra.update(fit_extra)
    extra["peak_rss_mb"] = peak_rss_mb()
    extra["wall_s"] = time.perf_counter() - t0
    name = "ensemble" if args.device == "cpu" else f"ensemble_{args.device.split(':')[0]}"
    payload = write_result(name, rows + fit_rows, quick=args.quick, extra=extra)
    for r in payload["rows"]:
        print(f"{r['figure']}: {r['value']:.4g} {r.get('unit', '')}  "
              f"[{r['compared_with']}]  target {r['target']}  pass={r['passed']}")
    print(f"wall {extra['wall_s']:.1f} s, peak RSS {extra['peak_rss_mb']:.0f} MiB")


if __name__ == "__main__":
    main()
