"""Figure 1 (top) and animations of one magnetogram patch video."""

from pathlib import Path

import numpy as np

from .._mosaic import draw_frame_mosaic, frame_mosaic
from .._validation import _is_dataarray

__all__ = ["plot_video_frames", "write_video_animation"]


def _one_video(video, name="video"):
    """(frames array (F, S, S) float, emergence frame or None, cadence minutes, title)."""
    ef, cadence, title = None, None, None
    if _is_dataarray(video):
        if video.ndim == 4:
            if video.sizes.get("video", 0) != 1:
                raise ValueError(
                    f"{name} must be one video; got {video.sizes.get('video')} videos "
                    "(select one with videos.isel(video=i))"
                )
            video = video.isel(video=0)
        if video.ndim != 3:
            raise ValueError(f"{name} must have dims ('frame', 'lat', 'lon'); got {video.dims}")
        if "emergence_frame" in video.coords:
            ef = int(video.coords["emergence_frame"].values)
        cadence = video.attrs.get("cadence_minutes")
        if "bmr_id" in video.coords:
            title = str(video.coords["bmr_id"].values)
        if "time" in video.coords:
            t = np.datetime_as_string(video.coords["time"].values, unit="m")
            title = f"{title}, starting {t.replace('T', ' ')} UT" if title else t
        data = np.asarray(video.values, dtype=float)
    else:
        data = np.asarray(video, dtype=float)
        if data.ndim == 4 and data.shape[0] == 1:
            data = data[0]
        if data.ndim != 3:
            raise ValueError(
                f"{name} must be one video of shape (frames, lat, lon); got shape {data.shape}"
            )
    if data.shape[0] == 0:
        raise ValueError(f"{name} has no frames")
    return data, ef, cadence, title


def _check_vmax(vmax):
    if vmax is not None and not (np.isfinite(vmax) and vmax > 0):
        raise ValueError(f"vmax must be a positive number of Gauss; got {vmax!r}")


def plot_video_frames(video, every=5, *, ax=None, fig=None, ncols=15, vmax=500.0,
                      cmap="gray", emergence_frame=None, mark_color="red", title=None):
    """Every ``every``-th frame of one video as a mosaic, the true emergence marked (Fig. 1 top).

    Frames are shown in reading order (left to right, top to bottom) with a
    common grey scale of ±``vmax`` G; NaN (off-disk, unobserved) is shown as
    0 G. The first shown frame at or after the emergence frame is outlined and
    labeled.

    Parameters
    ----------
    video : xarray.DataArray or array-like
        One video: dims ``("frame", "lat", "lon")`` (or a batch holding one
        video); its ``emergence_frame`` coordinate is used when present.
    every : int, default=5
        Show frames 0, every, 2·every, …
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made otherwise.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (a single axes is added) when ``ax`` is None.
    ncols : int, default=15
        Frames per row of the mosaic.
    vmax : float, default=500
        Grey-scale limit in Gauss.
    cmap : str, default="gray"
        Colormap.
    emergence_frame : int, optional
        Frame to mark; overrides the video's coordinate (-1 or None: none).
    mark_color : str, default="red"
        Colour of the emergence mark.
    title : str, optional
        Axes title; default: the video's ``bmr_id`` and start time.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``video`` is not one 3-D video, ``every``/``ncols`` are not
        positive integers or ``vmax`` is not positive.

    Examples
    --------
    >>> from skflux.datasets import make_flux_emergence
    >>> from skflux.plotting import plot_video_frames
    >>> video = make_flux_emergence(1, random_state=0, n_frames=16, size=16).isel(video=0)
    >>> fig = plot_video_frames(video, every=2, ncols=4)
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    data, ef, cadence, auto_title = _one_video(video)
    _check_vmax(vmax)
    if emergence_frame is not None:
        ef = int(emergence_frame)
    mosaic, frames, cols, gap = frame_mosaic(data, every, ncols)
    rows = int(np.ceil(frames.size / cols))
    f, h, w = data.shape
    if ax is None:
        if fig is None:
            fig = plt.figure(figsize=(1.0 * cols + 0.5, 1.0 * rows + 0.6))
        ax = fig.add_subplot(1, 1, 1)
    fig = ax.figure
    draw_frame_mosaic(ax, mosaic, frames, cols, gap, (h, w), vmax=vmax, cmap=cmap)
    if ef is not None and ef >= 0:
        shown = np.flatnonzero(frames >= ef)
        if shown.size:
            k = int(shown[0])
            r, c = divmod(k, cols)
            ax.add_patch(Rectangle((c * (w + gap) - 0.5, r * (h + gap) - 0.5), w, h,
                                   fill=False, edgecolor=mark_color, linewidth=2))
            when = ""
            if cadence:
                when = f" ({ef * float(cadence) / 1440.0:.1f} d)"
            ax.set_xlabel(f"true emergence: frame {ef}{when} (outlined: first frame shown "
                          "at or after it)", fontsize=8, color=mark_color)
    ax.set_title(title if title is not None else (auto_title or ""), fontsize=9)
    return fig


def write_video_animation(video, path, *, fps=10, vmax=500.0, cmap="gray", dpi=80,
                          size_inches=3.0):
    """Write one video as an animated GIF (Pillow) or MP4 (ffmpeg), one image per frame.

    Parameters
    ----------
    video : xarray.DataArray or array-like
        One video, dims ``("frame", "lat", "lon")``.
    path : str or path-like
        Output file; ``.gif`` uses Pillow, ``.mp4`` needs ffmpeg.
    fps : float, default=10
        Frames per second.
    vmax : float, default=500
        Grey-scale limit in Gauss.
    cmap : str, default="gray"
        Colormap.
    dpi : int, default=80
        Resolution.
    size_inches : float, default=3.0
        Figure side in inches.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        On a wrong video shape, an unsupported suffix, a non-positive ``fps``
        or ``vmax``, or ``.mp4`` without ffmpeg.

    Examples
    --------
    >>> import os, tempfile
    >>> from skflux.datasets import make_flux_emergence
    >>> from skflux.plotting import write_video_animation
    >>> video = make_flux_emergence(1, random_state=0, n_frames=8, size=16).isel(video=0)
    >>> path = write_video_animation(video, os.path.join(tempfile.mkdtemp(), "v.gif"))
    >>> path.stat().st_size > 0
    True
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation

    data, ef, cadence, title = _one_video(video)
    _check_vmax(vmax)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive; got {fps!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        writer = animation.PillowWriter(fps=fps)
    elif suffix == ".mp4":
        if not animation.FFMpegWriter.isAvailable():
            raise ValueError(f"{path}: writing MP4 needs ffmpeg on the PATH; use a .gif path")
        writer = animation.FFMpegWriter(fps=fps)
    else:
        raise ValueError(f"{path}: unsupported animation format {suffix!r}; use .gif or .mp4")
    fig, ax = plt.subplots(figsize=(size_inches, size_inches), dpi=dpi)
    vm = float(vmax)
    im = ax.imshow(np.nan_to_num(data[0]), cmap=cmap, vmin=-vm, vmax=vm, origin="lower",
                   interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    label = ax.set_title("", fontsize=8)

    def update(k):
        im.set_data(np.nan_to_num(data[k]))
        text = f"frame {k}"
        if cadence:
            text += f"  t = {k * float(cadence) / 1440.0:.2f} d"
        if ef is not None and ef >= 0 and k >= ef:
            text += "  (emerged)"
        label.set_text(text)
        return im, label

    anim = animation.FuncAnimation(fig, update, frames=data.shape[0], blit=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        anim.save(path, writer=writer, dpi=dpi)
    finally:
        plt.close(fig)
    return path
