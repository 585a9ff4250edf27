"""
Model selection with month blocks (Figure 2)
============================================

Solar data are coherent in time: videos a few days apart can show the same
structures, so a random train/validation split flatters a model. The paper splits
by calendar month instead. :class:`skflux.MonthBlockSplit` is that split as a
scikit-learn cross-validator, usable in :class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_validate` and
:func:`~sklearn.model_selection.cross_val_predict`.
"""

# %%
# The paper's data management (Figure 2)
# --------------------------------------
# Models 1–5 (relabeling) validate on one two-month block of months 1–10 each;
# models 6–9 (uncertainty) on blocks of months 1–8, with months 9–10 kept as a
# benchmark set for the decision threshold. Months 11–12 are the test set, never
# seen during development.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

import skflux
from skflux.datasets import make_flux_emergence
from skflux.plotting import plot_month_blocks

plot_month_blocks([skflux.MonthBlockSplit(), skflux.MonthBlockSplit.uncertainty()],
                  group_names=["Iterative relabelling", "Uncertainty estimation"])
plt.show()

# %%
# The splits on data
# ------------------
# Months come from the ``month`` coordinate of the videos (or from ``groups``).
videos = make_flux_emergence(160, n_frames=32, size=16, random_state=0)
cv = skflux.MonthBlockSplit()
for k, (train_idx, val_idx) in enumerate(cv.split(videos)):
    print(f"split {k}: validate on months "
          f"{sorted(set(videos.month.values[val_idx].tolist()))}, "
          f"{len(train_idx)} training videos, {len(val_idx)} validation videos")
print("months never in a split:",
      sorted(set(videos.month.values.tolist()) - set(cv.months_used)))

# %%
# Tuning the learning rate with GridSearchCV
# ------------------------------------------
# Keep the test months out first, then let each grid point train one model per
# month block. The month-block splitter does the validation, so the classifier's own
# validation split is switched off (``valid_months=None``). A tiny network and few
# epochs keep this fast.
sets = skflux.month_block_sets(videos, train=range(1, 11), benchmark=())
dev = videos[sets.train]
clf = skflux.FluxEmergenceClassifier(
    max_epochs=5, random_state=0, valid_months=None,
    module__widths=(8, 16, 16, 32), module__top=32, module__dense=32,
)
search = GridSearchCV(clf, {"lr": [3e-3, 3e-2]}, cv=skflux.MonthBlockSplit(),
                      scoring="accuracy")
search.fit(dev, dev.label.values)
results = pd.DataFrame(search.cv_results_)
print(results[["param_lr", "mean_test_score", "std_test_score"]].to_string(index=False))
print("best:", search.best_params_)

# %%
# The refitted best model scores the test months, which played no part in the
# choice:
test = videos[sets.test]
print(f"test accuracy against the truth: "
      f"{np.mean(search.predict(test) == test.true_label.values):.2f}")
