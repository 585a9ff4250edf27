"""FluxEmergenceClassifier at full size: training and inference speed, memory.

The reference VGG (:class:`skflux.nn.VideoVGG`, 225 frames of 90 x 90 pixels)
on simulated videos from :func:`skflux.datasets.write_flux_emergence`, written
to NetCDF and opened lazily with :func:`skflux.io.open_videos`.

(a) Training throughput, side by side in one run, alternating ``--repeats``
    times (best of each kept): ``FluxEmergenceClassifier.fit`` for one epoch
    on ``--train-videos`` videos read lazily from NetCDF, with augmentation
    (each read batch of 10 gives 4 optimizer steps), versus a plain PyTorch
    loop over the same videos held in memory as one tensor, same model, same
    optimizer, same clipping/scaling and the same four versions per batch.
    Figure: training samples (video versions) per second, ratio skflux/plain,
    target >= 0.9.
(b) Inference: videos per second of ``predict_proba`` on ``--infer-videos``
    videos from NetCDF, and the achieved GFLOP/s of the network's forward pass
    on in-memory batches (FLOPs counted by torch's FlopCounterMode: 1.56 GFLOP
    per video) versus the GFLOP/s of a large float32 matrix product
    (``--matmul-n``) on the same device, target >= 50 %. Both arms of (a) get
    an untimed warm-up run first.
(c) Peak resident memory of a training run on 200 versus 2,000 videos from
    NetCDF, each in a fresh subprocess; both runs stop after ``--rss-batches``
    read batches of one epoch (shuffled over all the videos); target ratio
    <= 1.2. The 2,000-video set is the 200 simulated videos opened from their
    NetCDF file and concatenated ten times lazily (xarray), so each video is
    still read from the file on demand.

The recorded figures (``results/classifier.md``) come from::

    python benchmarks/bench_classifier.py --train-videos 30 --repeats 3

on the 2-core machine while other jobs kept its load average near 10, so
single timings vary by +-25 %; the JSON keeps every repeat.

Run::

    python benchmarks/bench_classifier.py               # ~10 minutes on 2 CPU cores
    python benchmarks/bench_classifier.py --device cuda --train-videos 200
    python benchmarks/bench_classifier.py --quick       # smoke run (small videos)
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, write_result


def _sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def make_data(workdir, n, quick):
    """NetCDF file of ``n`` simulated videos (cached in ``workdir``)."""
    from skflux.datasets import write_flux_emergence

    kw = dict(n_frames=16, size=32) if quick else {}
    path = Path(workdir) / (f"sim{n}" + ("_quick" if quick else "") + ".nc")
    if not path.exists():
        tmp = path.with_suffix(".part.nc")
        write_flux_emergence(tmp, n, random_state=0, **kw)
        tmp.rename(path)
    return path


def _videos(path, n):
    """Lazy DataArray of ``n`` videos: the file's videos repeated as needed."""
    import xarray as xr

    from skflux.io import open_videos

    base = open_videos(path)
    reps = -(-n // base.sizes["video"])
    da = xr.concat([base] * reps, dim="video") if reps > 1 else base
    da = da.isel(video=slice(0, n))
    return da.assign_coords(bmr_id=("video", [f"V{i:05d}" for i in range(n)]))


def plain_loop(X, y, *, device, seed, batch_size=10, lr=1e-4, field_limit=1000.0):
    """One augmented epoch of the same model with a bare PyTorch loop; samples/s."""
    import torch

    from skflux.nn import VideoVGG, four_versions

    torch.manual_seed(seed)
    model = VideoVGG(n_frames=X.shape[1], in_size=X.shape[2:],
                     field_limit=field_limit).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(X.shape[0], generator=g)
    n_samples = 0
    _sync(device)
    t0 = time.perf_counter()
    for k in range(0, X.shape[0], batch_size):
        idx = order[k:k + batch_size]
        xb = X[idx].to(device)
        yb = y[idx].to(device)
        for v in four_versions(xb):
            opt.zero_grad()
            loss = loss_fn(model(v), yb)  # Gauss in: the module clips and scales
            loss.backward()
            opt.step()
            n_samples += v.shape[0]
    _sync(device)
    return n_samples / (time.perf_counter() - t0)


def skflux_fit(videos, *, device, seed, num_workers):
    """One augmented epoch of FluxEmergenceClassifier from the lazy DataArray; samples/s."""
    from skflux import FluxEmergenceClassifier

    clf = FluxEmergenceClassifier(max_epochs=1, valid_months=None, random_state=seed,
                                  device=device, num_workers=num_workers)
    _sync(device)
    t0 = time.perf_counter()
    clf.fit(videos, videos["label"])
    _sync(device)
    dt = time.perf_counter() - t0
    return 4 * videos.sizes["video"] / dt, clf


def matmul_gflops(n, device, reps=10):
    """GFLOP/s of float32 (n x n) @ (n x n), best of ``reps``."""
    import torch

    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)
    best = np.inf
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def forward_gflops(module, X, device, batch_size=10, reps=3):
    """Achieved GFLOP/s and videos/s of the eval forward pass on in-memory batches."""
    import torch

    from skflux.nn import count_flops

    flops_per_video = count_flops(module, (1, *X.shape[1:]), device=device)
    module.eval()
    xb = X[:batch_size].to(device)  # Gauss: the module clips and scales (its first layer)
    with torch.no_grad():
        module(xb)  # warm-up
        best = np.inf
        for _ in range(reps):
            _sync(device)
            t0 = time.perf_counter()
            module(xb)
            _sync(device)
            best = min(best, time.perf_counter() - t0)
    vps = xb.shape[0] / best
    return flops_per_video, vps * flops_per_video / 1e9, vps


def _stop_after(n):
    """A skorch callback that ends training after ``n`` optimizer steps."""
    from skorch.callbacks import Callback

    class StopAfter(Callback):
        def initialize(self):
            self.seen_ = 0
            return self

        def on_batch_end(self, net, batch=None, training=False, **kw):
            if training:
                self.seen_ += 1
                if self.seen_ >= n:
                    raise KeyboardInterrupt  # skorch ends fit cleanly

    return StopAfter()


def rss_child(path, n, batches, device):
    """Subprocess body of part (c): train on ``n`` videos for ``batches`` steps, print RSS."""
    from skflux import FluxEmergenceClassifier

    videos = _videos(path, n)
    clf = FluxEmergenceClassifier(max_epochs=1, valid_months=None, random_state=0,
                                  device=device,
                                  callbacks=[("stop", _stop_after(4 * batches))])
    clf.fit(videos, videos["label"])
    print(json.dumps({"n": n, "peak_rss_mb": peak_rss_mb()}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run on small videos")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--train-videos", type=int, default=40)
    ap.add_argument("--infer-videos", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--num-workers", type=int, default=0)
    ap.add_argument("--matmul-n", type=int, default=4096)
    ap.add_argument("--rss-batches", type=int, default=3)
    ap.add_argument("--rss-sizes", default="200,2000")
    ap.add_argument("--workdir", default=os.environ.get("SKFLUX_BENCH_DIR", "/tmp/skflux_bench"))
    ap.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return rss_child(args.child[0], int(args.child[1]),
                         2 if args.quick else args.rss_batches, args.device)
    if args.quick:
        args.train_videos, args.infer_videos, args.repeats = 20, 20, 1
        args.matmul_n, args.rss_sizes = 1024, "20,200"

    import torch

    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    path = make_data(args.workdir, 200 if not args.quick else 20, args.quick)
    rows, extra = [], {"args": vars(args), "data": str(path),
                       "data_source": "skflux.datasets.write_flux_emergence(random_state=0)"}

    # (a) training throughput
    videos = _videos(path, args.train_videos)
    X = torch.from_numpy(np.stack([videos[i].values for i in range(videos.sizes["video"])]))
    y = torch.from_numpy(videos["label"].values.astype(np.float32))
    # untimed warm-up of both arms (library loading, oneDNN/cuDNN kernel selection)
    plain_loop(X[:10], y[:10], device=args.device, seed=99)
    skflux_fit(videos.isel(video=slice(0, 10)), device=args.device, seed=99, num_workers=0)
    plain, ours = [], []
    for r in range(args.repeats):
        plain.append(plain_loop(X, y, device=args.device, seed=r))
        sps, clf = skflux_fit(videos, device=args.device, seed=r, num_workers=args.num_workers)
        ours.append(sps)
        print(f"[a] repeat {r}: plain {plain[-1]:.2f} samples/s, skflux {ours[-1]:.2f}",
              flush=True)
    ratio = max(ours) / max(plain)
    extra["train_samples_per_s"] = {"plain": plain, "skflux": ours}
    rows += [
        {"figure": "(a) training throughput, skflux from lazy NetCDF + augmentation",
         "value": max(ours), "unit": "samples/s",
         "compared_with": f"plain PyTorch loop, in-memory tensors: {max(plain):.3g} samples/s",
         "target": "", "passed": None},
        {"figure": "(a) ratio skflux / plain loop", "value": ratio, "unit": "",
         "compared_with": "same model, optimizer, augmentation", "target": ">= 0.9",
         "passed": bool(ratio >= 0.9)},
    ]
    del X

    # (b) inference
    inf_videos = _videos(path, args.infer_videos)
    clf.predict_proba(inf_videos[:10])  # warm-up
    _sync(args.device)
    t0 = time.perf_counter()
    clf.predict_proba(inf_videos)
    _sync(args.device)
    pred_vps = args.infer_videos / (time.perf_counter() - t0)
    Xb = torch.from_numpy(np.stack([inf_videos[i].values for i in range(10)]))
    flops, achieved, fwd_vps = forward_gflops(clf.module_, Xb, args.device)
    peak = matmul_gflops(args.matmul_n, args.device)
    frac = achieved / peak
    extra.update(flops_per_video=flops, forward_videos_per_s=fwd_vps, matmul_gflops=peak)
    rows += [
        {"figure": "(b) predict_proba from lazy NetCDF", "value": pred_vps, "unit": "videos/s",
         "compared_with": f"forward pass on in-memory batches: {fwd_vps:.3g} videos/s",
         "target": "", "passed": None},
        {"figure": "(b) achieved GFLOP/s of the forward pass", "value": achieved,
         "unit": "GFLOP/s",
         "compared_with": f"float32 matmul {args.matmul_n}^2: {peak:.4g} GFLOP/s "
                          f"({flops / 1e9:.3g} GFLOP/video)",
         "target": "", "passed": None},
        {"figure": "(b) fraction of matmul peak", "value": frac, "unit": "",
         "compared_with": "same device, same run", "target": ">= 0.5",
         "passed": bool(frac >= 0.5)},
    ]
    print(f"[b] predict {pred_vps:.2f} videos/s; forward {achieved:.1f} GFLOP/s; "
          f"matmul {peak:.1f} GFLOP/s", flush=True)

    # (c) peak RSS, fresh subprocesses
    sizes = [int(s) for s in args.rss_sizes.split(",")]
    rss = {}
    for n in sizes:
        cmd = [sys.executable, __file__, "--child", str(path), str(n), "--device", args.device]
        if args.quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rss[n] = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
        print(f"[c] {n} videos: peak RSS {rss[n]:.0f} MiB", flush=True)
    r_rss = rss[sizes[1]] / rss[sizes[0]]
    extra["peak_rss_mb"] = rss
    rows += [
        {"figure": f"(c) peak RSS training on {sizes[1]} videos from NetCDF",
         "value": rss[sizes[1]], "unit": "MiB",
         "compared_with": f"{sizes[0]} videos: {rss[sizes[0]]:.0f} MiB",
         "target": "", "passed": None},
        {"figure": f"(c) RSS ratio {sizes[1]} / {sizes[0]} videos", "value": r_rss, "unit": "",
         "compared_with": f"{args.rss_batches} read batches of 10 (x4 versions) each",
         "target": "<= 1.2", "passed": bool(r_rss <= 1.2)},
    ]
    extra["wall_s"] = time.perf_counter() - t_start
    name = "classifier" + ("" if args.device == "cpu" else "_" + args.device.split(":")[0])
    payload = write_result(name, rows, quick=args.quick, extra=extra)
    from _common import markdown_table

    print(markdown_table(payload))
    return payload


if __name__ == "__main__":
    main()
