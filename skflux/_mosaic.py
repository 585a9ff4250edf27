"""A video's frames as one mosaic image (private; shared by plotting and the review oracles).

:func:`skflux.plotting.plot_video_frames` draws Figure 1 (top) from
:func:`frame_mosaic`; the terminal and review-sheet oracles of
:mod:`skflux.relabel` save the same mosaic with :func:`save_frame_mosaic`, so
that :mod:`skflux.relabel` and :mod:`skflux.plotting` never import each other.
This module imports nothing from skflux.
"""

import numpy as np

__all__ = ["draw_frame_mosaic", "frame_mosaic", "save_frame_mosaic"]


def frame_mosaic(data, every, ncols):
    """Frames ``0, every, 2 every, ...`` of one video tiled in reading order, north up.

    Parameters
    ----------
    data : ndarray of shape (n_frames, lat, lon)
        One video; NaN (off-disk, unobserved) is shown as 0 G.
    every : int
        Step between the frames shown (at least 1).
    ncols : int
        Frames per row (at least 1).

    Returns
    -------
    mosaic : ndarray of float, 2-D
        The tiles, separated by NaN gaps of ``gap`` pixels.
    frames : ndarray of int
        The frames shown, in tile order.
    cols : int
        Tiles per row.
    gap : int
        Pixels between tiles.

    Raises
    ------
    ValueError
        If ``data`` is not 3-D with at least one frame, or ``every``/``ncols``
        are not positive integers.

    Examples
    --------
    >>> mosaic, frames, cols, gap = frame_mosaic(np.ones((5, 4, 4)), every=2, ncols=2)
    >>> mosaic.shape, frames.tolist(), cols, gap
    ((9, 9), [0, 2, 4], 2, 1)
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 3 or data.shape[0] == 0:
        raise ValueError(f"a frame mosaic needs one video (frames, lat, lon); got shape "
                         f"{data.shape}")
    for name, v in (("every", every), ("ncols", ncols)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    frames = np.arange(0, data.shape[0], every)
    cols = min(int(ncols), frames.size)
    rows = int(np.ceil(frames.size / cols))
    _, h, w = data.shape
    gap = max(1, h // 15)
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k, fr in enumerate(frames):
        r, c = divmod(k, cols)
        # latitude increases upwards: flip rows so north is up
        mosaic[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = \
            np.nan_to_num(data[fr][::-1])
    return mosaic, frames, cols, gap


def draw_frame_mosaic(ax, mosaic, frames, cols, gap, tile_shape, *, vmax, cmap="gray"):
    """Show a mosaic of :func:`frame_mosaic` on ``ax`` with each tile's frame number.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    mosaic, frames, cols, gap
        As returned by :func:`frame_mosaic`.
    tile_shape : tuple of 2 int
        ``(lat, lon)`` pixels of one tile.
    vmax : float
        Grey-scale limit in Gauss (symmetric about 0 G).
    cmap : str, default="gray"
        Colour map; the gaps between tiles are white.
    """
    import matplotlib.pyplot as plt

    h, w = tile_shape
    ax.imshow(mosaic, cmap=plt.get_cmap(cmap).with_extremes(bad="white"),
              vmin=-float(vmax), vmax=float(vmax), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for k, fr in enumerate(frames):
        r, c = divmod(k, cols)
        ax.text(c * (w + gap) + 0.5, r * (h + gap) + 0.5, str(fr), color="yellow",
                fontsize=6, va="top", ha="left")


def save_frame_mosaic(video, path, *, title=None, n_tiles=24, ncols=8, vmax=500.0, dpi=80,
                      format=None):
    """Save about ``n_tiles`` frames of one video as a PNG mosaic (no emergence mark).

    Parameters
    ----------
    video : array-like of shape (n_frames, lat, lon)
        One video in Gauss.
    path : str or Path
        Where to write the image (the format follows the suffix).
    title : str, optional
        Figure title.
    n_tiles : int, default=24
        About this many frames are shown, evenly spaced.
    ncols : int, default=8
        Frames per row.
    vmax : float, default=500
        Grey-scale limit in Gauss.
    dpi : int, default=80
    format : str, optional
        Image format (default: from the suffix of ``path``).

    Returns
    -------
    path : str or Path
        ``path``.

    Raises
    ------
    ValueError
        See :func:`frame_mosaic`.
    """
    import matplotlib.pyplot as plt

    data = np.asarray(video, dtype=float)
    every = max(1, int(np.ceil(data.shape[0] / n_tiles))) if data.ndim == 3 else 1
    mosaic, frames, cols, gap = frame_mosaic(data, every, ncols)
    rows = int(np.ceil(frames.size / cols))
    fig = plt.figure(figsize=(1.0 * cols + 0.5, 1.0 * rows + 0.6))
    try:
        ax = fig.add_subplot(1, 1, 1)
        draw_frame_mosaic(ax, mosaic, frames, cols, gap, data.shape[1:], vmax=vmax)
        ax.set_title(title or "", fontsize=9)
        fig.savefig(path, dpi=dpi, format=format)
    finally:
        plt.close(fig)
    return path
