"""Tests of the video figures: Figure 1 top panel and the animation writer."""

import matplotlib
import numpy as np
import pytest

from skflux.plotting import plot_video_frames, write_video_animation

matplotlib.use("Agg")


N_FRAMES, SIZE = 8, 16  # the shared tiny_videos fixture (tests/conftest.py)


@pytest.fixture(scope="module")
def video(tiny_videos):
    """A true emergence of the shared tiny videos whose emergence frame is not 0."""
    v = tiny_videos
    i = int(np.flatnonzero((v["true_label"].values == 1) & (v["emergence_frame"].values > 0))[0])
    return v.isel(video=i)


def test_plot_video_frames_marks_emergence(video):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig = plot_video_frames(video, every=2, ncols=2)
    ax = fig.axes[0]
    ef = int(video["emergence_frame"].values)
    assert f"frame {ef}" in ax.get_xlabel()
    marks = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(marks) == 1
    shown = np.arange(0, N_FRAMES, 2)
    k = int(np.flatnonzero(shown >= ef)[0])
    row, col = divmod(k, 2)
    gap = 1
    assert marks[0].get_xy() == (col * (SIZE + gap) - 0.5, row * (SIZE + gap) - 0.5)
    image = ax.images[0].get_array()
    assert image.shape == (2 * SIZE + 1, 2 * SIZE + 1)
    # frame labels: one per shown frame
    assert [t.get_text() for t in ax.texts] == [str(f) for f in shown]
    plt.close(fig)


def test_plot_video_frames_into_given_axes_and_override(video):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    out = plot_video_frames(video, every=4, ax=ax, emergence_frame=-1, title="x")
    assert out is fig
    assert not ax.patches and ax.get_title() == "x"
    # a bare numpy video works too, with no mark
    out = plot_video_frames(np.zeros((10, 5, 5)), every=5)
    assert len(out.axes[0].texts) == 2


def test_plot_video_frames_errors(video, tiny_videos):
    batch = tiny_videos[:2]
    with pytest.raises(ValueError, match="one video"):
        plot_video_frames(batch)
    with pytest.raises(ValueError, match="every"):
        plot_video_frames(video, every=0)
    with pytest.raises(ValueError, match="vmax"):
        plot_video_frames(video, vmax=-1)
    with pytest.raises(ValueError, match="shape"):
        plot_video_frames(np.zeros((4, 4)))


def test_write_video_animation_gif(video, tmp_path):
    from PIL import Image

    path = write_video_animation(video, tmp_path / "sub" / "v.gif", fps=5, dpi=40)
    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames == N_FRAMES


def test_write_video_animation_errors(video, tmp_path):
    with pytest.raises(ValueError, match="unsupported"):
        write_video_animation(video, tmp_path / "v.avi")
    with pytest.raises(ValueError, match="fps"):
        write_video_animation(video, tmp_path / "v.gif", fps=0)
