import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator, ClassifierMixin

from skflux import MonthBlockEnsemble, MonthBlockSplit
from skflux.metrics import (
    accuracy_summary,
    ensemble_accuracy_report,
    quantile_accuracy,
    relabeling_summary,
    stable_mask,
    timed_emergences,
)

P = np.array([[0.1, 0.5, 0.9, 0.7, 0.55],
              [0.2, 0.55, 0.95, 0.4, 0.68],
              [0.3, 0.8, 0.99, 0.3, 0.64],
              [0.4, 0.9, 0.97, 0.2, 0.58]])
Y = np.array([0, 1, 1, 0, 1])


def test_stable_mask_by_hand():
    # quantiles per video with linear interpolation
    lo, hi = np.quantile(P, [0.25, 0.75], axis=0)
    assert lo[1] == pytest.approx(0.5375) and hi[1] == pytest.approx(0.825)
    np.testing.assert_array_equal(stable_mask(P, 0.6), [True, False, True, True, False])
    # a threshold on the band edge is inside: unstable
    np.testing.assert_array_equal(stable_mask(P, lo[0])[0], False)
    # band (0.5, 0.5) = median: stable unless the threshold equals the median
    assert stable_mask(P, 0.6, band=(0.5, 0.5)).all()


def test_quantile_accuracy_by_hand():
    # medians 0.25, 0.675, 0.96, 0.35, 0.61 -> predictions 0 1 1 0 1 at threshold 0.6
    assert quantile_accuracy(Y, P, 0.6) == 1.0
    # 25th percentiles 0.175, 0.5375, 0.94, 0.275, 0.5725: videos 1 and 4 become negative
    assert quantile_accuracy(Y, P, 0.6, q=0.25) == pytest.approx(0.6)
    # 75th percentiles 0.325, 0.825, 0.975, 0.475, 0.65: all right
    assert quantile_accuracy(Y, P, 0.6, q=0.75) == 1.0
    assert quantile_accuracy(Y.astype(bool), P, 0.6) == 1.0


def test_report_from_member_proba():
    r = ensemble_accuracy_report(None, None, Y, member_proba=P, threshold=0.6)
    assert r["threshold"] == 0.6 and r["n_videos"] == 5
    assert r["accuracy"] == {0.25: pytest.approx(0.6), 0.5: 1.0, 0.75: 1.0}
    assert (r["n_stable"], r["n_unstable"]) == (3, 2)
    assert r["accuracy_stable"] == 1.0 and r["accuracy_unstable"] == 1.0
    assert r["outcomes"] == {"TP": {"stable": 1, "unstable": 2},
                             "TN": {"stable": 2, "unstable": 0},
                             "FP": {"stable": 0, "unstable": 0},
                             "FN": {"stable": 0, "unstable": 0}}


class _Fixed(ClassifierMixin, BaseEstimator):
    """Member k returns row k of a fixed probability table (indexed by X[:, 0])."""

    def __init__(self, table=None, random_state=None):
        self.table = table
        self.random_state = random_state

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.row_ = self.random_state % len(self.table)
        return self

    def predict_proba(self, X):
        p = np.asarray(self.table)[self.row_, np.asarray(X)[:, 0].astype(int)]
        return np.column_stack([1 - p, p])


def test_report_from_ensemble_matches_proba_path():
    months = np.repeat([1, 2], 5)
    X = np.arange(5)[np.r_[0:5, 0:5]][:, None].astype(float)
    y = np.r_[Y, Y]
    ens = MonthBlockEnsemble(_Fixed(table=P), cv=MonthBlockSplit(blocks=((1,), (2,))),
                             n_seeds=2, threshold=0.6, random_state=0).fit(X, y, groups=months)
    Xq = np.arange(5)[:, None].astype(float)
    r = ensemble_accuracy_report(ens, Xq, Y)
    Pe = ens.predict_proba_members(Xq)
    assert r == ensemble_accuracy_report(None, None, Y, member_proba=Pe, threshold=0.6)
    assert r["n_stable"] == int(ens.stability(Xq).sum())
    assert r["accuracy"][0.5] == pytest.approx(np.mean(ens.predict(Xq) == Y))
    # threshold override
    assert ensemble_accuracy_report(ens, Xq, Y, threshold=0.1)["threshold"] == 0.1


def test_errors():
    with pytest.raises(ValueError, match="threshold="):
        ensemble_accuracy_report(None, None, Y, member_proba=P)
    with pytest.raises(ValueError, match="member_proba="):
        ensemble_accuracy_report(None, None, Y, threshold=0.5)
    with pytest.raises(ValueError, match="2-D"):
        stable_mask(P[0], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        stable_mask(np.full((2, 2), np.nan), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stable_mask(P, 1.2)
    with pytest.raises(ValueError, match="band"):
        stable_mask(P, 0.5, band=(0.8, 0.2))
    with pytest.raises(ValueError, match="expected"):
        quantile_accuracy(Y[:3], P, 0.5)


proba_tables = arrays(float, st.tuples(st.integers(1, 9), st.integers(1, 30)),
                      elements=st.floats(0, 1))


@given(P=proba_tables, t=st.floats(0, 1))
def test_property_stability_and_report(P, t):
    stable = stable_mask(P, t)
    lo, med, hi = np.quantile(P, [0.25, 0.5, 0.75], axis=0)
    # a stable inference is classified the same by every percentile in the band
    for q in (lo, med, hi):
        np.testing.assert_array_equal((q >= t)[stable], (med >= t)[stable])
    y = (med >= t).astype(int)  # truth = the median's verdict: median accuracy is 1
    r = ensemble_accuracy_report(None, None, y, member_proba=P, threshold=t)
    assert r["accuracy"][0.5] == 1.0
    assert r["n_stable"] + r["n_unstable"] == P.shape[1]
    total = sum(v["stable"] + v["unstable"] for v in r["outcomes"].values())
    assert total == P.shape[1]
    assert r["accuracy"][0.25] <= 1.0 and r["accuracy"][0.75] <= 1.0


def test_accuracy_summary_by_hand():
    crude = np.array([0, 0, 1, 1, 1])  # wrong on videos 1 and 3
    s = accuracy_summary(P, 0.6, y_true=Y, y_labels=crude)
    assert s["n_videos"] == 5
    assert s["accuracy_vs_truth"] == {"0.25": pytest.approx(0.6), "0.5": 1.0, "0.75": 1.0}
    assert s["accuracy_vs_crude_labels"]["0.5"] == pytest.approx(0.6)
    assert s["crude_label_accuracy_vs_truth"] == pytest.approx(0.6)
    assert s["majority_class_accuracy"] == pytest.approx(0.6)  # 3 of 5 are emergences
    assert (s["n_stable"], s["n_unstable"]) == (3, 2)
    # the same figures as the report it is built on
    r = ensemble_accuracy_report(None, None, Y, member_proba=P, threshold=0.6)
    assert s["accuracy_stable"] == r["accuracy_stable"]
    # only what the labels given allow
    assert set(accuracy_summary(P, 0.6)) == {"n_videos"}
    assert "accuracy_vs_truth" not in accuracy_summary(P, 0.6, y_labels=crude)


def test_accuracy_summary_string_labels():
    names = np.where(Y == 1, "emergence", "non-emergence")
    s = accuracy_summary(P, 0.6, y_true=names, pos_label="emergence")
    assert s["accuracy_vs_truth"] == accuracy_summary(P, 0.6, y_true=Y)["accuracy_vs_truth"]


class _Relabeled:
    labels_ = np.array([0, 1, 1, 0, 1, 1])
    verified_ = np.array([False, True, False, True, False, False])
    fold_of_ = np.array([0, 0, 1, 1, -1, -1])  # the last two are in no block
    n_passes_, stop_reason_ = 2, "ratio"


def test_relabeling_summary_by_hand():
    crude = np.array([0, 0, 1, 1, 1, 0])
    truth = np.array([0, 1, 1, 0, 0, 0])
    s = relabeling_summary(_Relabeled(), crude, truth)
    assert s == {"passes": 2, "stop_reason": "ratio", "n_videos_in_blocks": 4,
                 "fraction_verified": 0.5, "labels_changed": 3, "crude_mislabels": 2,
                 "mislabels_left": 0, "fraction_corrected": 1.0}
    assert "crude_mislabels" not in relabeling_summary(_Relabeled(), crude)
    assert np.isnan(relabeling_summary(_Relabeled(), truth, truth)["fraction_corrected"])


def test_timed_emergences():
    mask = timed_emergences([1, 1, 0, 1], [0.9, 0.3, 0.9, 0.7], 0.6, [10, 12, -1, -1])
    np.testing.assert_array_equal(mask, [True, False, False, False])
    with pytest.raises(ValueError, match="expected"):
        timed_emergences([1], [0.9, 0.3], 0.6, [1, 2])
