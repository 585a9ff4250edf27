"""Figures 5 and 6: what is drawn matches the curves and errors given."""

import matplotlib as mpl
import numpy as np
import pytest

from skflux.plotting import plot_emergence_curves, plot_emergence_frames, plot_timing_errors

T = 40


def sigmoid_curves(centres, n_frames=T):
    t = np.arange(n_frames)
    return np.stack([1 / (1 + np.exp(-(t - c) / 1.5)) for c in centres])


class FakeLocator:
    """Just what the plots read from a transformed EmergenceTimeLocator."""

    def __init__(self, curves, lower_bound=5, threshold=0.6):
        self.curves_ = curves
        self.lower_bound = lower_bound
        self.threshold_ = threshold
        self.ensemble_ = object()


def test_emergence_curves_marks_detected_and_true_frames():
    curves = sigmoid_curves([18, 20, 23])  # maximum gradients at 18, 20, 23 -> median 20
    ax_p, ax_g = plot_emergence_curves(curves, true_frame=19, lower_bound=5, threshold=0.6)
    star = [ln for ln in ax_g.get_lines() if ln.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == 20
    vlines = [ln for ln in ax_p.get_lines() if ln.get_linestyle() == "--"]
    assert vlines and vlines[0].get_xdata()[0] == 19
    hlines = [ln for ln in ax_p.get_lines() if ln.get_linestyle() == ":"]
    assert hlines[0].get_ydata()[0] == 0.6
    # one thin line per member, plus the median, in each panel
    assert sum(ln.get_linewidth() == 0.6 for ln in ax_p.get_lines()) == 3
    median = [ln for ln in ax_p.get_lines() if ln.get_label() == "median"][0]
    np.testing.assert_allclose(median.get_ydata(), np.median(curves, axis=0))
    # member maxima drawn at their frames
    offsets = ax_g.collections[-1].get_offsets()
    np.testing.assert_array_equal(np.asarray(offsets)[:, 0], [18, 20, 23])


def test_emergence_curves_from_a_locator_and_a_3d_array():
    curves = np.stack([sigmoid_curves([18, 20, 23]), sigmoid_curves([30, 31, 32])], axis=1)
    _, ax_g = plot_emergence_curves(FakeLocator(curves), video=1)
    star = [ln for ln in ax_g.get_lines() if ln.get_marker() == "*"][0]
    assert star.get_xdata()[0] == 31
    with pytest.raises(ValueError, match="out of range"):
        plot_emergence_curves(curves, video=2)
    with pytest.raises(ValueError, match="members, frames"):
        plot_emergence_curves(np.zeros(5))

    class Unused(FakeLocator):
        def __init__(self):
            self.ensemble_ = object()

    with pytest.raises(ValueError, match="transform"):
        plot_emergence_curves(Unused())


def test_emergence_frames_colour_by_votes():
    curves = sigmoid_curves([10, 20, 30])
    video = np.random.default_rng(0).normal(0, 100, (T, 8, 8))
    fig = plot_emergence_frames(video, curves, step=5, threshold=0.5, ncols=4)
    panels = [ax for ax in fig.axes if ax.images]
    assert [int(ax.get_title().split()[0]) for ax in panels] == list(range(0, T, 5))
    votes = (curves >= 0.5).sum(axis=0)[::5]
    cmap = mpl.colormaps["plasma"].resampled(4)
    for ax, v in zip(panels, votes):
        np.testing.assert_allclose(ax.spines["top"].get_edgecolor(), cmap(int(v)))
    np.testing.assert_array_equal(panels[3].images[0].get_array(), video[15])


def test_emergence_frames_marks_truth_and_checks_shapes():
    curves = sigmoid_curves([10, 20])
    fig = plot_emergence_frames(np.zeros((T, 4, 4)), FakeLocator(curves[:, None]), step=10,
                                true_frame=12)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles[2].endswith("\u2605") and sum(t.endswith("\u2605") for t in titles) == 1
    with pytest.raises(ValueError, match="41 frames but the curves 40"):
        plot_emergence_frames(np.zeros((T + 1, 4, 4)), curves)
    with pytest.raises(ValueError, match="frame, lat, lon"):
        plot_emergence_frames(np.zeros((T, 4)), curves)


def test_timing_errors_histogram_counts_and_medians():
    rng = np.random.default_rng(0)
    errors = rng.normal(0.4, 1.2, (25, 10))
    errors[3] = np.nan  # a video without ground truth
    ax, axm = plot_timing_errors(errors, highlight=7)
    mesh = ax.collections[0]
    assert mesh.get_array().sum() == 240  # every finite member error counted once
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    med = np.sort(np.nanmedian(np.delete(errors, 3, axis=0), axis=1))
    np.testing.assert_allclose(dots.get_ydata(), med)
    assert "1 without ground truth" in ax.get_title()
    dashed = [ln for ln in axm.get_lines() if ln.get_linestyle() == "--"][0]
    assert dashed.get_ydata()[0] == pytest.approx(np.median(med))
    arrow = [c for c in ax.get_children() if isinstance(c, mpl.text.Annotation)]
    assert len(arrow) == 1
    assert arrow[0].xy[1] == pytest.approx(np.nanmedian(errors[7]))


def test_timing_errors_from_a_result_dataset_and_errors():
    xr = pytest.importorskip("xarray")
    res = xr.Dataset(
        {"member_frames": (("video", "member"), np.array([[100, 115], [50, 50], [70, 60]]))},
        coords={"true_emergence_frame": ("video", [100, -1, 55])},
        attrs={"cadence_minutes": 96.0},
    )
    ax, _ = plot_timing_errors(res, order="given")
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    np.testing.assert_allclose(dots.get_ydata(), [7.5 * 96 / 1440, 10 * 96 / 1440])
    with pytest.raises(ValueError, match="no video has a finite"):
        plot_timing_errors(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="order"):
        plot_timing_errors(np.zeros((3, 2)), order="random")
    with pytest.raises(ValueError, match="highlight=1"):
        plot_timing_errors(res, highlight=1)
