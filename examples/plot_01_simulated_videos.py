"""
Simulated patch videos (Figure 1)
=================================

skflux ships a simulator of MDI-like magnetic-patch videos with ground truth:
whether a bipolar region emerged in the video, in which frame, and whether the
crude, BARD-like label is right, and if not why. It is the data of every example
here. It is physically motivated, but it is not MDI (see
:ref:`the simulator's limits <simulator>`).

This example draws the top panel of the paper's Figure 1 for a simulated emergence
at full size (225 frames of 90 × 90 pixels), then looks at how often the crude
labels are wrong in a small dataset, and why.
"""

# %%
# One full-size emergence video
# -----------------------------
# :func:`~skflux.datasets.make_flux_emergence` returns an :class:`xarray.DataArray`
# of the line-of-sight field in Gauss with dims ``(video, frame, lat, lon)`` and the
# coordinates of skflux's data model. Video ``i`` depends only on the seed and
# ``i``, so we can look for an emergence among the first few videos.
import matplotlib.pyplot as plt
import numpy as np

from skflux.datasets import crude_label_confusion, make_flux_emergence
from skflux.plotting import plot_video_frames

videos = make_flux_emergence(4, random_state=3)
print(videos.sizes)
emergence = videos.isel(video=int(np.argmax(videos.true_label.values)))
print("true label:", int(emergence.true_label), "- crude label:", int(emergence.label),
      "- emergence frame:", int(emergence.emergence_frame))

# %%
# Every fifth frame, as in the paper's Figure 1; the true frame of emergence (the
# first frame where the region's flux reaches 10 % of its peak) is marked. Pixels
# beyond the limb are 0 G.
plot_video_frames(emergence)
plt.show()

# %%
# Crude labels and their mistakes
# -------------------------------
# The crude label imitates the paper's: a region first detected (once a day, by
# a BARD-like detector) west of −60° longitude is called an emergence. On small
# test-size videos (32 frames of 16 × 16 pixels spanning the same 15 days) the
# physics is the same, sampled coarsely.
small = make_flux_emergence(120, n_frames=32, size=16, random_state=0)
report = crude_label_confusion(small)
print(report["confusion"])
print(f"crude labels wrong: {report['mislabel_rate']:.0%} "
      f"(non-emergences called emergence: {report['false_emergence_rate']:.0%}, "
      f"emergences missed: {report['missed_emergence_rate']:.0%})")

# %%
# Each wrong crude label has a physical reason, recorded in ``mislabel_reason``:
print(report["reasons"].to_string())

# %%
# Where were the regions first detected? Crude labels follow the −60° rule exactly;
# the truth does not.
fig, ax = plt.subplots(figsize=(6, 3))
first = small.first_longitude.values
bins = np.linspace(-90, 90, 37)
for value, name in ((1, "true emergence"), (0, "true non-emergence")):
    chosen = (small.true_label.values == value) & np.isfinite(first)
    ax.hist(first[chosen], bins=bins, alpha=0.6, label=name)
ax.axvline(-60, color="k", ls="--", label="−60° rule")
ax.set_xlabel("longitude of first detection (degrees from central meridian)")
ax.set_ylabel("videos")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
