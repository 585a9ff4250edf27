"""Emergence time by frame masking: speed of the exact fast path, and timing accuracy.

1. Speed at full size (videos of 225 frames of 90 x 90 pixels from the simulator,
   :func:`skflux.datasets.make_flux_emergence`, preprocessed). A
   :class:`skflux.MonthBlockEnsemble` of ``--members`` reference-VGG members
   (5 month blocks x 2 seeds by default; *untrained*: random weights re-drawn
   with a variance-preserving (He) scale so that the probability curves depend
   on the video; speed does not depend on the weight values) is run through
   :class:`skflux.EmergenceTimeLocator` with, side by side in the same run:

   * ``method="fast"``: distinct cut-offs only, first convolution for all
     cut-offs by prefix sums, the rest of the network batched;
   * ``method="naive"``: one forward pass per cut-off and member,
     ``--batch-size`` cut-offs per pass (the literal procedure, batched);
   * ``method="authors"``: one forward pass per cut-off and member with a batch
     of one video, one member after the other (the authors' procedure), on the
     first ``--authors-videos`` videos, all 225 cut-offs (nothing extrapolated).

   Seconds per video (after a warm-up: one video for ``fast``, one forward pass
   per member at the batch size used for the others), the speed-ups of
   ``fast`` (targets: >= 10x the authors' procedure, >= 3x batched naive), and
   the largest curve difference between the methods (target <= 1e-4) with the
   fraction of members x videos whose emergence frame agrees. Also the FLOP
   ratio of the authors' procedure to the fast path (the speed-up fast reaches
   if both run at the same FLOP/s): exact curves need the network after the
   first convolution once per distinct cut-off, which bounds the speed-up.
2. Timing accuracy on the simulator: an ensemble trained with a reduced
   configuration (``--q-videos`` videos of ``--q-frames`` frames of
   ``--q-size`` pixels, the uncertainty ensemble's month blocks 1-8 x
   ``--q-seeds`` seeds, trained on the *true* labels, standing for the labels
   after relabeling; threshold where precision = recall on months 9-10) locates
   the emergence of the month 11-12 test videos it classifies correctly as
   emergence. Reported: the 5/25/50/75/95th percentiles of the per-video
   median error in days (the paper: -2.1, +0.1, +0.4, +1.1, +2.7 days on MDI),
   and the same over all members' frames. The cadence of the reduced videos is
   96 x 225 / frames minutes (the same 15 days), so errors are in true days.

Run::

    python benchmarks/bench_timing.py                 # both parts (an hour or more on 2 cores)
    python benchmarks/bench_timing.py --part speed    # only the speed part
    python benchmarks/bench_timing.py --part quality --q-videos 600
    python benchmarks/bench_timing.py --quick         # smoke run: small sizes, ~a minute

``--device cuda`` runs the networks on a GPU; ``--threads N`` sets torch's CPU
threads (default: torch's choice). ``--figures`` also writes Figures 5 and 6
of the quality part to ``benchmarks/results/``.
"""

import argparse
import time

import numpy as np
from _common import RESULTS, peak_rss_mb, write_result

from skflux._schema import N_FRAMES, PATCH_SIZE


def _untrained_ensemble(n_members, n_frames, size, device):
    """A fitted ensemble (max_epochs=0) whose members keep random He-scaled weights."""
    import torch
    from torch import nn

    from skflux import FluxEmergenceClassifier, MonthBlockEnsemble, MonthBlockSplit

    n_seeds = 2 if n_members >= 4 and n_members % 2 == 0 else 1
    n_splits = n_members // n_seeds
    if not 2 <= n_splits <= 6:
        raise SystemExit(f"--members {n_members}: use 2-6, or an even number up to 12")
    months = np.arange(1, 2 * n_splits + 1)
    rng = np.random.default_rng(1)
    X = rng.normal(0, 300, (months.size, n_frames, size, size)).astype(np.float32)
    y = np.arange(months.size) % 2
    blocks = tuple((2 * k + 1, 2 * k + 2) for k in range(n_splits))
    clf = FluxEmergenceClassifier(max_epochs=0, patience=None, device=device)
    ens = MonthBlockEnsemble(clf, cv=MonthBlockSplit(blocks=blocks), n_seeds=n_seeds,
                             random_state=0).fit(X, y, groups=months)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in ens.estimators_:
            for layer in m.module_.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    std = (2.0 / layer.weight[0].numel()) ** 0.5
                    w = torch.randn(layer.weight.shape, generator=gen) * std
                    layer.weight.copy_(w.to(layer.weight.device))
    return ens


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_speed(args, rows, extra):
    from skflux import EmergenceTimeLocator
    from skflux.datasets import make_flux_emergence
    from skflux.timing import emergence_frames_from_curves
    from skflux.timing._masking import unique_cutoffs

    n_frames, size = (32, 32) if args.quick else (N_FRAMES, PATCH_SIZE)
    n_members = 2 if args.quick else args.members
    lower_bound = max(1, round(30 * n_frames / N_FRAMES))
    n_videos = 1 if args.quick else args.videos
    n_authors = min(args.authors_videos, n_videos)
    print(f"speed: {n_videos} simulated videos {n_frames}x{size}x{size}, {n_members} members, "
          f"lower_bound={lower_bound}", flush=True)
    X = make_flux_emergence(n_videos + 1, random_state=args.seed, n_frames=n_frames, size=size)
    warm, X = X.isel(video=[0]), X.isel(video=slice(1, None))
    X = X.load()
    ens = _untrained_ensemble(n_members, n_frames, size, args.device)

    import torch

    distinct = [len(unique_cutoffs(torch.from_numpy(X[i].values), lower_bound)[0])
                for i in range(n_videos)]

    def locator(method, **kw):
        return EmergenceTimeLocator(ens, lower_bound=lower_bound, method=method,
                                    batch_size=args.batch_size, **kw).fit()

    times, curves = {}, {}
    for method, videos in (("fast", X), ("naive", X), ("authors", X.isel(video=slice(0,
                                                                                 n_authors)))):
        loc = locator(method)
        if method == "fast":  # warm-up: one video (allocator, convolution primitives)
            loc.transform(warm)
        else:  # warm-up: one forward pass per member at the batch size used
            bs = 1 if method == "authors" else min(args.batch_size, n_frames)
            with torch.inference_mode():
                for m in ens.estimators_:
                    m.module_.eval()(torch.zeros(bs, n_frames, size, size,
                                                 device=next(m.module_.parameters()).device))
        seconds, _ = _timed(lambda loc=loc, v=videos: loc.transform(v))
        times[method] = seconds / len(videos)
        curves[method] = loc.curves_
        print(f"  {method:8s} {times[method]:8.2f} s/video", flush=True)

    fast, naive, authors = curves["fast"], curves["naive"], curves["authors"]
    diff_fn = float(np.abs(fast - naive).max())
    diff_an = float(np.abs(authors - naive[:, :n_authors]).max())
    f_fast = emergence_frames_from_curves(fast, lower_bound)
    f_naive = emergence_frames_from_curves(naive, lower_bound)
    agree = float(np.mean(f_fast == f_naive))  # ties within 1e-4 resolve to the earliest
    spread = float(np.median(np.ptp(naive, axis=-1)))
    # arithmetic: FLOP of the authors' procedure (every cut-off, whole network)
    # over FLOP of the fast path (first convolution once per frame, then the
    # network after it once per distinct cut-off); the speed-up fast can reach
    # when both run at the same FLOP/s
    from skflux.nn import count_flops

    net = ens.estimators_[0].module_
    f_full = count_flops(net, (1, n_frames, size, size), device=args.device)
    f_conv1 = count_flops(net.conv1, (1, n_frames, size, size), device=args.device)
    f_rest = f_full - f_conv1
    flop_bound = n_frames * f_full / (f_conv1 + float(np.mean(distinct)) * f_rest)
    r_auth = times["authors"] / times["fast"]
    r_naive = times["naive"] / times["fast"]
    cfg = f"{n_members} members, {n_frames}x{size}x{size}"
    rows += [
        {"figure": f"fast: seconds per video ({cfg})", "value": times["fast"], "unit": "s",
         "compared_with": "", "target": "", "passed": None},
        {"figure": f"naive, {args.batch_size} cut-offs per pass: seconds per video",
         "value": times["naive"], "unit": "s", "compared_with": "", "target": "",
         "passed": None},
        {"figure": "authors' procedure (batch of one, member by member): seconds per video",
         "value": times["authors"], "unit": "s",
         "compared_with": f"measured on {n_authors} video(s), all {n_frames} cut-offs",
         "target": "", "passed": None},
        {"figure": "speed-up of fast over the authors' procedure", "value": r_auth,
         "unit": "x", "compared_with": "authors' procedure, same run", "target": ">= 10",
         "passed": bool(r_auth >= 10)},
        {"figure": "FLOP ratio authors' procedure / fast (the speed-up at equal FLOP/s)",
         "value": flop_bound, "unit": "x",
         "compared_with": f"{f_full / 1e9:.3f} GFLOP per forward, of which the network after "
                          f"conv1 {f_rest / 1e9:.3f}", "target": "", "passed": None},
        {"figure": "speed-up of fast over batched naive", "value": r_naive, "unit": "x",
         "compared_with": "naive, same run", "target": ">= 3", "passed": bool(r_naive >= 3)},
        {"figure": "max |fast - naive| probability", "value": diff_fn, "unit": "",
         "compared_with": f"curves' median range over cut-offs {spread:.3g}",
         "target": "<= 1e-4", "passed": bool(diff_fn <= 1e-4)},
        {"figure": "max |authors - naive| probability", "value": diff_an, "unit": "",
         "compared_with": "", "target": "<= 1e-4", "passed": bool(diff_an <= 1e-4)},
        {"figure": "members x videos with the same emergence frame (fast vs naive)",
         "value": agree, "unit": "fraction", "compared_with": "", "target": "1",
         "passed": bool(agree == 1.0)},
        {"figure": "distinct masked videos per video (of which the fast path computes)",
         "value": float(np.mean(distinct)), "unit": f"of {n_frames} cut-offs",
         "compared_with": "", "target": "", "passed": None},
    ]
    extra["speed"] = {
        "n_videos": n_videos, "n_members": n_members, "n_frames": n_frames, "size": size,
        "lower_bound": lower_bound, "batch_size": args.batch_size, "device": args.device,
        "seconds_per_video": times, "distinct_cutoffs": distinct, "authors_videos": n_authors,
        "weights": "random (He-scaled normal), untrained",
        "gflop": {"forward": f_full / 1e9, "conv1": f_conv1 / 1e9, "after_conv1": f_rest / 1e9},
        "flop_ratio_authors_over_fast": flop_bound,
        "gflops_per_s": {"authors": n_frames * n_members * f_full / 1e9 / times["authors"],
                         "fast": n_members * (f_conv1 + float(np.mean(distinct)) * f_rest)
                         / 1e9 / times["fast"]},
    }


def bench_quality(args, rows, extra):
    from skflux import (
        EmergenceTimeLocator,
        FluxEmergenceClassifier,
        MonthBlockEnsemble,
        MonthBlockSplit,
    )
    from skflux.datasets import make_flux_emergence
    from skflux.model_selection import month_block_sets
    from skflux.timing import timing_error_percentiles, timing_errors_days

    if args.quick:
        n, frames, size, epochs, seeds = 120, 16, 16, 1, 1
        widths, top, dense = (4, 4, 8, 8), 8, 8
    else:
        n, frames, size, epochs, seeds = (args.q_videos, args.q_frames, args.q_size,
                                          args.q_epochs, args.q_seeds)
        widths, top, dense = (8, 16, 16, 32), 32, 32
    lower_bound = max(1, round(30 * frames / N_FRAMES))
    print(f"quality: {n} simulated videos {frames}x{size}x{size}, 4 blocks x {seeds} seeds, "
          f"{epochs} epochs", flush=True)
    t0 = time.perf_counter()
    X = make_flux_emergence(n, random_state=args.seed, n_frames=frames, size=size).load()
    t_sim = time.perf_counter() - t0
    y = X["true_label"].values
    sets = month_block_sets(X)
    clf = FluxEmergenceClassifier(max_epochs=epochs, lr=3e-3, batch_size=10, patience=4,
                                  device=args.device, module__widths=widths, module__top=top,
                                  module__dense=dense)
    ens = MonthBlockEnsemble(clf, cv=MonthBlockSplit.uncertainty(), n_seeds=seeds,
                             random_state=args.seed)
    train = sets.train
    t0 = time.perf_counter()
    ens.fit(X.isel(video=train), y[train])
    t_fit = time.perf_counter() - t0
    bench, test = sets.benchmark, sets.test
    ens.fit_threshold(X.isel(video=bench), y[bench])
    X_test = X.isel(video=test)
    proba = ens.predict_proba_members(X_test)
    median = np.median(proba, axis=0)
    true_frames = X_test["emergence_frame"].values
    good = (y[test] == 1) & (median >= ens.threshold_) & (true_frames >= 0)
    accuracy = float(np.mean((median >= ens.threshold_) == (y[test] == 1)))
    loc = EmergenceTimeLocator(ens, lower_bound=lower_bound, batch_size=args.batch_size)
    t0 = time.perf_counter()
    res = loc.fit().transform(X_test.isel(video=np.flatnonzero(good)))
    t_loc = time.perf_counter() - t0
    n_not_located = int(res.attrs["n_not_located"])  # NaN frames: left out of the percentiles
    e_med = timing_errors_days(res, res)
    e_all = timing_errors_days(res, res, per_member=True)
    # no located emergence at all (a tiny quick run's flat curves): percentiles undefined
    none = {q: float("nan") for q in (5, 25, 50, 75, 95)}
    p_med = timing_error_percentiles(e_med) if np.isfinite(e_med).any() else none
    p_all = timing_error_percentiles(e_all) if np.isfinite(e_all).any() else none
    paper = {5: -2.1, 25: 0.1, 50: 0.4, 75: 1.1, 95: 2.7}
    cfg = (f"{n} videos {frames}x{size}x{size}, {len(ens.estimators_)} members, "
           f"{int(good.sum())} correctly classified test emergences, {n_not_located} of "
           f"them with no emergence located")
    for q in (5, 25, 50, 75, 95):
        rows.append({"figure": f"timing error, {q}th percentile of per-video medians ({cfg})",
                     "value": p_med[q], "unit": "days",
                     "compared_with": f"paper (MDI): {paper[q]:+.1f} d; all members: "
                                      f"{p_all[q]:+.2f} d",
                     "target": "", "passed": None})
    rows.append({"figure": "test accuracy of the ensemble (median vs threshold)",
                 "value": accuracy, "unit": "", "compared_with": f"threshold "
                 f"{ens.threshold_:.2f}", "target": "", "passed": None})
    extra["quality"] = {
        "n_videos": n, "frames": frames, "size": size, "epochs": epochs, "seeds": seeds,
        "widths": list(widths), "top": top, "dense": dense, "lower_bound": lower_bound,
        "n_members": len(ens.estimators_), "threshold": float(ens.threshold_),
        "n_test": int(test.size), "n_timed": int(good.sum()), "accuracy": accuracy,
        "n_not_located": n_not_located,
        "percentiles_median_days": p_med, "percentiles_members_days": p_all,
        "seconds": {"simulate": t_sim, "fit": t_fit, "locate": t_loc},
        "labels": "true labels (standing for the labels after relabeling)",
    }
    if args.figures and good.any():
        from skflux.plotting import (
            plot_emergence_curves,
            plot_emergence_frames,
            plot_timing_errors,
        )

        RESULTS.mkdir(parents=True, exist_ok=True)
        first = 0
        truth = int(res["true_emergence_frame"][first])
        ax = plot_emergence_curves(loc, first, true_frame=truth)
        ax[0].figure.savefig(RESULTS / "timing_fig5.png", dpi=110, bbox_inches="tight")
        fig = plot_emergence_frames(X_test.isel(video=np.flatnonzero(good)[first]), loc,
                                    video_index=first, step=max(1, frames // 45),
                                    true_frame=truth)
        fig.savefig(RESULTS / "timing_fig6_top.png", dpi=110, bbox_inches="tight")
        ax = plot_timing_errors(res, highlight=first)
        ax[0].figure.savefig(RESULTS / "timing_fig6_bottom.png", dpi=110, bbox_inches="tight")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run at small sizes")
    p.add_argument("--part", choices=("all", "speed", "quality"), default="all")
    p.add_argument("--videos", type=int, default=2, help="videos timed (speed part)")
    p.add_argument("--authors-videos", type=int, default=1,
                   help="videos run with the authors' procedure (speed part)")
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32, help="cut-offs per forward pass")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--q-videos", type=int, default=600)
    p.add_argument("--q-frames", type=int, default=48)
    p.add_argument("--q-size", type=int, default=32)
    p.add_argument("--q-epochs", type=int, default=12)
    p.add_argument("--q-seeds", type=int, default=2)
    p.add_argument("--figures", action="store_true", help="write Figures 5 and 6 (quality)")
    p.add_argument("--name", default="timing", help="result file stem")
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows, extra = [], {"threads": torch.get_num_threads()}
    if args.part in ("all", "speed"):
        bench_speed(args, rows, extra)
    if args.part in ("all", "quality"):
        bench_quality(args, rows, extra)
    extra["peak_rss_mb"] = peak_rss_mb()
    payload = write_result(args.name, rows, quick=args.quick, extra=extra)
    for r in payload["rows"]:
        v = r["value"]
        print(f"{r['figure']}: {v:.4g} {r.get('unit', '')}" if isinstance(v, float)
              else f"{r['figure']}: {v}")


if __name__ == "__main__":
    main()
