"""Simulated MDI-like magnetic-patch videos with ground truth and crude labels.

No real MDI data can be downloaded everywhere, so skflux ships a physically
motivated simulator: the default data of the demo, the examples, the tests
and the benchmarks.

* :func:`make_flux_emergence` — videos in the skflux data model
  (:mod:`skflux._schema`) with ground truth (``true_label``,
  ``emergence_frame``) and BARD-like crude labels (``label``) whose mistakes
  arise physically (``mislabel_reason``).
* :func:`write_flux_emergence` — the same videos streamed to NetCDF with one
  video in memory.
* :func:`make_bmr_catalog` — the BMR parameters and labels without rendering.
* :func:`crude_labels`, :func:`bard_crude_labels`,
  :func:`crude_label_confusion` — the paper's crude rule, a BARD-like
  detector on videos or catalogues, and the crude-vs-truth report.
* :func:`patch_statistics`, :func:`patch_statistics_by_mu` — the realism
  statistics (``|B|`` quantiles, fractions above thresholds, power-spectrum
  slope, flux elements, noise, by μ) by which simulated frames are compared
  with real magnetograms (``benchmarks/bench_realism.py``).

.. rubric:: Design choices

* **Determinism and streaming.** Video ``i`` is generated from
  ``SeedSequence(seed, spawn_key=(i,))``; its catalogue row (physics and
  labels) is drawn first, cheaply, then the video is rendered from its own
  seed. Videos do not depend on how many are generated.
* **Small videos, same physics.** ``n_frames`` and ``size`` resample the
  same 15-day, 15°×15° scene: the cadence defaults to ``96·225/n_frames``
  minutes (1350 minutes for 16 frames) and the pixel to ``15°/size``; the
  catalogue (and so the labels) do not change.
* **Ready to train by default.** ``preprocessed=True`` passes the raw
  videos through :func:`skflux.preprocessing.make_preprocessor` (gap
  filling in time, padding after the last observation, off-disk 0 G): no
  NaN. ``preprocessed=False`` returns raw data with NaN off-disk and on
  unobserved frames. ``observed`` records either way which frames really
  observed the patch (instrument on, patch at least partly on the disk).
* **Emergence frame.** The first frame at which the BMR's flux has reached
  10 % of its peak.
* **Crude-label mix.** With the default ``emergence_fraction=0.5``, 19 % of
  the crude labels are wrong on average (16–23 % over 30 sets of 400
  videos, 17–22 % for 90 % of them; measured with
  :func:`crude_label_confusion` on :func:`make_bmr_catalog`): ≈33 % of
  non-emergences are labeled emergence (12 % of all videos: rotated in and
  first caught on a daily image already west of −60°; 5 %: weak or decaying
  regions detected late) and ≈5 % of emergences are labeled non-emergence
  (2 % of all videos: emerged east of −60°). Every crude label stays
  informative (each class is mislabeled less than half the time), so a
  classifier trained on them can find the mistakes.
* **Not trivially separable.** By default (``activity=True``) the patch
  holds what surrounds real BMRs: older regions of the same activity nest,
  new flux emerging into existing regions and sub-BMR emergences (see
  "Surrounding activity" below); non-emergence regions often rotate in
  while still growing, and emergences reach down to weak, limb and
  gap-hidden onsets. A logistic regression on per-video flux-curve
  features (``benchmarks/bench_relabel.py --model features``), trained on
  the true labels of months 1-10 of 1,200 videos of 32×32×32, reaches
  0.90 test accuracy on months 11-12 (0.82 trained on the crude labels);
  the small reference CNN of the relabeling benchmark reaches 0.98 with the
  true labels and 0.77 with the crude ones (``benchmarks/bench_accuracy.py``;
  the paper's CNN ensemble: 0.83 on MDI). The simulated task is easier than
  MDI's: see "The method on this simulator" in the simulator guide.

.. rubric:: Physics and sources

"""

from . import _physics
from ._labels import bard_crude_labels, crude_labels
from ._labels import crude_label_confusion as crude_label_confusion
from ._simulator import make_bmr_catalog as make_bmr_catalog
from ._simulator import make_flux_emergence, write_flux_emergence
from ._statistics import patch_statistics, patch_statistics_by_mu

__doc__ += _physics.__doc__.split("\n", 2)[2]

__all__ = [
    "bard_crude_labels",
    "crude_label_confusion",
    "crude_labels",
    "make_bmr_catalog",
    "make_flux_emergence",
    "patch_statistics",
    "patch_statistics_by_mu",
    "write_flux_emergence",
]
