"""
Relabeling crude labels with a reviewer (Figure 3)
==================================================

:class:`skflux.IterativeRelabeler` runs the paper's relabeling passes: train one
model per month block on the current labels, predict every video with the model
that did not see it, show the new disagreements to a reviewer (an *oracle*), fix the
labels the reviewer says are wrong, and repeat while the models' mistakes among the
disagreements are more than half as many as the real mislabels (the ratio R > 0.5).

A person would normally answer, through :class:`~skflux.relabel.ConsoleOracle` or
:class:`~skflux.relabel.SheetOracle`. Here the simulator's ground truth answers,
through :class:`~skflux.relabel.TruthOracle`, and every verdict goes to a review log
that a later ``fit`` would resume from.
"""

# %%
# Crude labels of simulated videos
# --------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import skflux
from skflux.datasets import make_flux_emergence
from skflux.plotting import plot_relabel_passes
from skflux.relabel import ReviewLog, TruthOracle

videos = make_flux_emergence(160, n_frames=32, size=16, random_state=0)
crude = videos.label.values
truth = videos.true_label.values
in_blocks = videos.month.values <= 10          # months 11–12 are never reviewed
print(f"crude labels wrong in months 1–10: {np.sum((crude != truth) & in_blocks)} "
      f"of {in_blocks.sum()} videos")

# %%
# The passes
# ----------
# Every verdict is committed to an SQLite review log the moment it is given. With
# so few videos, a validation split inside each fold would be too small to stop
# training on, so each fold model trains for a fixed 8 epochs
# (``valid_months=None``). At most three passes keep the example short.
log_path = Path(tempfile.mkdtemp()) / "review.sqlite"
clf = skflux.FluxEmergenceClassifier(
    lr=3e-2, max_epochs=8, valid_months=None,
    module__widths=(8, 16, 16, 32), module__top=32, module__dense=32,
)
relabeler = skflux.IterativeRelabeler(clf, oracle=TruthOracle(), review_log=log_path,
                                      max_passes=3, random_state=0)
relabeler.fit(videos, crude)

# %%
# What each pass found
# --------------------
for p in relabeler.passes_:
    print(f"pass {p.pass_index}: {p.n_mislabels} real mislabels, "
          f"{p.n_model_mistakes} model mistakes, R = {p.ratio:.2f}, "
          f"{p.fraction_verified:.0%} of the videos verified so far")
print("stopped because:", relabeler.stop_reason_)

# %%
# Figure 3: stacked bars per pass (red: disagreements verified in an earlier pass;
# yellow: new real mislabels; blue: new model mistakes), the dashed line of videos
# verified so far, and the two fractions per validation block against the block's
# accuracy.
plot_relabel_passes(relabeler)
plt.show()

# %%
# The result
# ----------
# How many crude mistakes were fixed, and how much of the data a person had to
# look at:
wrong_before = np.sum((crude != truth) & in_blocks)
wrong_after = np.sum((relabeler.labels_ != truth) & in_blocks)
print(f"mislabels in months 1–10: {wrong_before} before, {wrong_after} after")
print(f"videos verified: {relabeler.verified_[in_blocks].mean():.0%}")

# %%
# The log holds every verdict, with the pass, the previous label and the models'
# probability; calling ``fit`` again with the same ``review_log`` would resume
# without asking about any of these videos again.
log = ReviewLog(log_path).to_frame()
print(len(log), "verdicts logged")
print(log[["video", "pass", "previous_label", "proba", "verdict"]].head().to_string())
