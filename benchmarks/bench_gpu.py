"""Training and inference on an accelerator: float32 vs bfloat16 autocast (+ channels-last).

Ready to run on a GPU (``--device cuda``, the default when torch sees one); it
also runs on the CPU, where its figures describe the CPU. Recorded, all at full
size (225 x 90 x 90, reference VGG, batches of 10) unless ``--quick``:

1. Training throughput of :class:`skflux.FluxEmergenceClassifier` (``fit``, one
   epoch over ``--train-videos`` in-memory videos, augmentation on: 4 versions of
   each video per epoch), in videos seen per second, for
   ``precision="float32"``, ``precision="bf16"`` (:func:`torch.autocast`) and
   bf16 with channels-last memory layout (network and batches converted; a
   subclass in this script, as the layout is a device-specific tuning).
2. Ensemble inference (:meth:`skflux.MonthBlockEnsemble.predict_proba`,
   ``--members`` members, in memory) in videos per second, float32 and bf16.
3. The locator (:class:`skflux.EmergenceTimeLocator`) ``method="fast"`` vs the
   authors' procedure (``method="authors"``: one forward pass per cut-off and
   member, batch of one) in seconds per video (``--locator-videos`` videos,
   ``--locator-members`` members).
4. From the measured rates, the wall time of the paper's full campaign: 2,032
   videos; relabeling with 5 folds x 4 passes x up to 20 epochs (each fold's
   model trains on 4 of the 5 month blocks of months 1-10 and validates on the
   fifth), plus the 8-member uncertainty ensemble (4 blocks of months 1-8, 2
   seeds, 20 epochs). Upper bound: every model runs all 20 epochs.

The device is recorded (``machine.gpu`` and the notes); a CPU run says "not run on
a GPU" in its notes and claims nothing about GPUs.

Run::

    python benchmarks/bench_gpu.py                  # on the GPU if there is one
    python benchmarks/bench_gpu.py --device cpu     # the same on the CPU
    python benchmarks/bench_gpu.py --quick          # smoke run, tiny sizes, seconds
"""

import argparse
import time

import numpy as np
from _common import write_result

from skflux._schema import N_FRAMES, PATCH_SIZE

#: The paper's campaign (Chatterjee et al.): videos, relabeling folds x passes, epochs.
CAMPAIGN = {"videos": 2032, "folds": 5, "passes": 4, "epochs": 20, "uncertainty_members": 8}


def _sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, device):
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, out


def _channels_last_classifier():
    """The classifier with its network and batches in channels-last memory layout."""
    import torch

    from skflux import FluxEmergenceClassifier

    class ChannelsLast(FluxEmergenceClassifier):
        def initialize_module(self):
            super().initialize_module()
            self.module_ = self.module_.to(memory_format=torch.channels_last)
            return self

        def infer(self, x, **fit_params):
            x = torch.as_tensor(x, device=self.device).float()
            if x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            return super().infer(x, **fit_params)

    return ChannelsLast


def campaign_hours(train_rate, infer_rate):
    """Upper bound (hours) of the paper's campaign from training and inference rates.

    ``train_rate``: augmented videos per second in training; ``infer_rate``:
    videos per second in prediction (validation passes).
    """
    c = CAMPAIGN
    months_1_10 = c["videos"] * 10 / 12
    train, valid = months_1_10 * 4 / 5, months_1_10 / 5
    epoch = 4 * train / train_rate + valid / infer_rate
    relabel = c["folds"] * c["passes"] * c["epochs"] * epoch
    months_1_8 = c["videos"] * 8 / 12
    epoch_u = 4 * months_1_8 * 3 / 4 / train_rate + months_1_8 / 4 / infer_rate
    uncertainty = c["uncertainty_members"] * c["epochs"] * epoch_u
    return (relabel + uncertainty) / 3600.0, epoch


def main(argv=None):
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--train-videos", type=int, default=40)
    p.add_argument("--infer-videos", type=int, default=100)
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--locator-members", type=int, default=2)
    p.add_argument("--locator-videos", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from bench_io import _ensemble

    from skflux import EmergenceTimeLocator, FluxEmergenceClassifier

    dev = args.device
    shape = (32, 32, 32) if args.quick else (N_FRAMES, PATCH_SIZE, PATCH_SIZE)
    n_train = 8 if args.quick else args.train_videos
    n_infer = 8 if args.quick else args.infer_videos
    gpu = torch.cuda.get_device_name(torch.device(dev)) if dev.startswith("cuda") else None
    print(f"device {dev} ({gpu or 'CPU'}), videos {'x'.join(map(str, shape))}", flush=True)
    rng = np.random.default_rng(0)
    X = rng.normal(0, 300, (max(n_train, n_infer), *shape)).astype(np.float32)
    y = np.arange(len(X)) % 2
    rows, extra = [], {"device": dev, "gpu": gpu, "shape": shape}

    # 1. training throughput
    rates = {}
    variants = (("float32", FluxEmergenceClassifier, "float32"),
                ("bf16 autocast", FluxEmergenceClassifier, "bf16"),
                ("bf16 autocast + channels-last", _channels_last_classifier(), "bf16"))
    for name, cls, precision in variants:
        def fit(cls=cls, precision=precision, n=n_train):
            return cls(max_epochs=1, valid_months=None, patience=None, device=dev,
                       precision=precision, random_state=0).fit(X[:n], y[:n])

        fit(n=min(n_train, 10 if not args.quick else 2))  # warm-up (kernels, allocator)
        seconds, _ = _timed(fit, dev)
        rates[name] = 4 * n_train / seconds
        rows.append({"figure": f"training throughput, {name}", "value": rates[name],
                     "unit": "videos/s", "compared_with": f"{n_train} videos x 4 versions, "
                     f"batch 10, on {gpu or dev}", "target": "", "passed": None})
        print(f"  train {name}: {rates[name]:.2f} videos/s", flush=True)
    for name in list(rates)[1:]:
        rows.append({"figure": f"training speed-up, {name} / float32",
                     "value": rates[name] / rates["float32"], "unit": "x",
                     "compared_with": "same run", "target": "", "passed": None})

    # 2. ensemble inference
    ens = _ensemble(2 if args.quick else args.members, shape, device=dev)
    infer = {}
    for precision in ("float32", "bf16"):
        for m in ens.estimators_:
            m.set_params(precision=precision)
        ens.predict_proba(X[:min(n_infer, 10)])  # warm-up
        seconds, _ = _timed(lambda: ens.predict_proba(X[:n_infer]), dev)
        infer[precision] = n_infer / seconds
        rows.append({"figure": f"ensemble inference ({len(ens.estimators_)} members), "
                               f"{precision}", "value": infer[precision], "unit": "videos/s",
                     "compared_with": f"{n_infer} in-memory videos on {gpu or dev}",
                     "target": "", "passed": None})
        print(f"  ensemble {precision}: {infer[precision]:.2f} videos/s", flush=True)
    for m in ens.estimators_:
        m.set_params(precision="float32")

    # 3. locator fast vs the authors' procedure
    loc_ens = _ensemble(2 if args.quick else args.locator_members, shape, device=dev)
    lower_bound = max(1, round(30 * shape[0] / N_FRAMES))
    n_loc = 1 if args.quick else args.locator_videos
    per_video = {}
    for method in ("fast", "authors"):
        loc = EmergenceTimeLocator(loc_ens, lower_bound=lower_bound, method=method).fit()
        loc.emergence_curves(X[:1])  # warm-up
        seconds, _ = _timed(lambda loc=loc: loc.emergence_curves(X[:n_loc]), dev)
        per_video[method] = seconds / n_loc
        rows.append({"figure": f"locator {method} ({len(loc_ens.estimators_)} members)",
                     "value": per_video[method], "unit": "s/video",
                     "compared_with": f"{n_loc} video(s) on {gpu or dev}", "target": "",
                     "passed": None})
    rows.append({"figure": "locator speed-up fast / authors' procedure",
                 "value": per_video["authors"] / per_video["fast"], "unit": "x",
                 "compared_with": "same run", "target": "", "passed": None})

    # 4. the paper's campaign from the measured rates
    best = max(rates, key=rates.get)
    for name in ("float32", best):
        # validation runs one model: the ensemble's rate times its members
        hours, epoch = campaign_hours(rates[name], infer["float32"] * len(ens.estimators_))
        rows.append({"figure": f"paper's full campaign, upper bound ({name} training)",
                     "value": hours, "unit": "hours",
                     "compared_with": f"one relabeling epoch {epoch / 60:.1f} min on "
                                      f"{gpu or dev}; {CAMPAIGN}", "target": "",
                     "passed": None})
        if name == best == "float32":
            break
    extra["campaign"] = CAMPAIGN
    extra["note"] = (f"run on {gpu}" if gpu else
                     "not run on a GPU: every figure is from the CPU "
                     f"({torch.get_num_threads()} torch threads); bf16 speed on a CPU depends "
                     "on its AMX/AVX512-BF16 support")
    write_result("gpu" if gpu else "gpu_on_cpu", rows, quick=args.quick, extra=extra)


if __name__ == "__main__":
    main()
