import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from skflux import MonthBlockEnsemble, MonthBlockSplit
from skflux.metrics import stable_mask
from skflux.plotting import plot_ensemble_histogram, plot_month_blocks
from skflux.plotting._ensemble import ensemble_histogram_order, month_block_roles


# --------------------------------------------------------------------------- Figure 2
def test_month_block_roles_paper_layout():
    roles, groups = month_block_roles([MonthBlockSplit(), MonthBlockSplit.uncertainty()])
    assert roles.shape == (12, 9) and groups == [5, 4]
    for k in range(5):  # models 1-5: validation {2k+1, 2k+2}, training the rest of 1-10
        col = roles[:, k]
        assert set(np.flatnonzero(col == 1) + 1) == {2 * k + 1, 2 * k + 2}
        assert set(np.flatnonzero(col == 0) + 1) == set(range(1, 11)) - {2 * k + 1, 2 * k + 2}
        assert col[10:].tolist() == [3, 3]
    for k in range(4):  # models 6-9: months 9-10 benchmark
        col = roles[:, 5 + k]
        assert col[8:10].tolist() == [2, 2] and col[10:].tolist() == [3, 3]
        assert set(np.flatnonzero(col == 1) + 1) == {2 * k + 1, 2 * k + 2}


def test_plot_month_blocks_inputs():
    ax = plot_month_blocks([MonthBlockSplit(), MonthBlockSplit.uncertainty()],
                           group_names=["Iterative relabelling", "Uncertainty"],
                           title="Figure 2")
    np.testing.assert_array_equal(
        ax.images[0].get_array(),
        month_block_roles([MonthBlockSplit(), MonthBlockSplit.uncertainty()])[0])
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["Jan", "Feb"]
    assert any(t.get_text() == "Uncertainty" for t in ax.texts)
    # plain blocks, an ensemble, and a given axes
    _, ax2 = plt.subplots()
    out = plot_month_blocks(((1, 2, 3), (4, 5, 6)), ax=ax2)
    assert out is ax2 and out.images[0].get_array().shape == (12, 2)
    ens = MonthBlockEnsemble(LogisticRegression(), cv=MonthBlockSplit.uncertainty())
    assert plot_month_blocks(ens).images[0].get_array().shape == (12, 4)
    assert plot_month_blocks(MonthBlockEnsemble(LogisticRegression())).images[0] \
        .get_array().shape == (12, 5)


def test_plot_month_blocks_errors():
    with pytest.raises(ValueError, match="group_names has 1 names for 2"):
        plot_month_blocks([MonthBlockSplit(), MonthBlockSplit()], group_names=["a"])
    with pytest.raises(TypeError, match="plot_month_blocks needs"):
        plot_month_blocks([object()])
    with pytest.raises(ValueError, match="month 2 is in block 0 and block 1"):
        plot_month_blocks(((1, 2), (2, 3)))


# --------------------------------------------------------------------------- Figure 4
def _proba(n=60, members=8, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(size=n)
    return np.clip(centre + rng.normal(0, 0.12, (members, n)), 0, 1)


def test_histogram_single_panel_content():
    P = _proba()
    fig = plot_ensemble_histogram(P, 0.6, bins=10, title="Figure 4")
    ax = fig.axes[0]
    order, splits, stable = ensemble_histogram_order(P, 0.6)
    counts = ax.images[0].get_array()
    assert counts.shape == (10, P.shape[1])
    np.testing.assert_array_equal(counts.sum(0), P.shape[0])  # every member counted once
    # column j is video order[j]
    expected = np.histogram(P[:, order[5]], bins=np.linspace(0, 1, 11))[0]
    np.testing.assert_array_equal(counts[:, 5], expected)
    # median dots in display order, threshold line, stable/unstable lines
    dots = [ln for ln in ax.lines if ln.get_marker() == "o"][0]
    np.testing.assert_allclose(dots.get_ydata(), np.median(P[:, order], axis=0))
    hlines = [ln for ln in ax.lines if ln.get_linestyle() == "--" and
              np.allclose(ln.get_ydata(), 0.6)]
    assert hlines
    vlines = sorted(ln.get_xdata()[0] for ln in ax.lines
                    if ln.get_linestyle() == "--" and ln.get_color() == "tab:red")
    assert vlines == splits and len(splits) >= 1
    assert stable.sum() and (~stable).sum()
    assert ax.get_title() == "Figure 4"


def test_histogram_four_panels():
    P = _proba()
    rng = np.random.default_rng(1)
    y = (np.median(P, 0) + rng.normal(0, 0.2, P.shape[1]) > 0.5).astype(int)
    fig = plot_ensemble_histogram(P, 0.6, y_true=y)
    panels = fig.axes[:4]
    pred = np.median(P, 0) >= 0.6
    sizes = [np.sum((y == 1) & pred), np.sum((y == 1) & ~pred), np.sum((y == 0) & pred),
             np.sum((y == 0) & ~pred)]
    for ax, n in zip(panels, sizes):
        assert ax.get_title().endswith(f"({n})")
        if n:
            assert ax.images[0].get_array().shape[1] == n
    assert len(fig.axes) == 5  # and a colour bar


def test_histogram_empty_panel_and_errors():
    P = _proba(n=10)
    y = np.ones(10, int)  # no negatives: two empty panels
    fig = plot_ensemble_histogram(P, 0.5, y_true=y)
    assert any("no videos" in t.get_text() for a in fig.axes for t in a.texts)
    with pytest.raises(ValueError, match="2-D"):
        plot_ensemble_histogram(P[0], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_ensemble_histogram(P * 2, 0.5)
    with pytest.raises(ValueError, match="threshold"):
        plot_ensemble_histogram(P, 1.5)
    with pytest.raises(ValueError, match="y_true has shape"):
        plot_ensemble_histogram(P, 0.5, y_true=y[:3])


@given(seed=st.integers(0, 10_000), t=st.floats(0.05, 0.95), members=st.integers(1, 9))
def test_property_order(seed, t, members):
    P = _proba(n=30, members=members, seed=seed)
    order, splits, stable = ensemble_histogram_order(P, t)
    np.testing.assert_array_equal(np.sort(order), np.arange(30))  # a permutation
    np.testing.assert_array_equal(stable, stable_mask(P, t))
    med = np.median(P, 0)[order]
    pos = med >= t
    assert np.all(np.diff(pos.astype(int)) >= 0)  # negatives before positives
    st_ = stable[order]
    # the stable/unstable boundaries are exactly where stability changes in display order
    assert splits == [i + 0.5 for i in np.flatnonzero(st_[1:] != st_[:-1])]
