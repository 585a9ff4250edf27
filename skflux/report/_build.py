"""build_report: the figures and the HTML page of a run directory (private)."""

import logging
from pathlib import Path

from .. import _layout as layout
from ._figures import CAPTIONS, FIGURES, TITLES
from ._html import Figure, write_html_report
from ._run import RunDirectory, RunFileError
from ._tables import metrics_tables

log = logging.getLogger("skflux")


def build_report(run_dir, out=None, *, fmt="png", quiet=False):
    """Draw the paper's Figures 1-6 and write the HTML report of a run directory.

    Every figure the run directory holds the material for is drawn with the
    :mod:`skflux.plotting` functions; a figure whose material is missing is
    listed with the reason instead, and a figure whose drawing fails (videos
    too short or too small for it, a plotting error) is listed with the error:
    one figure never stops the others (both are logged as warnings). Nothing
    is written into the run directory but the report folder.

    Parameters
    ----------
    run_dir : str or Path
        A run directory (layout: :data:`skflux.report.RUN_LAYOUT`).
    out : str or Path, optional
        Report folder (created; default ``run_dir/report``). Files of the same
        names in it are replaced.
    fmt : {"png", "svg"}, default "png"
        Figure file format.
    quiet : bool, default False
        No progress bar.

    Returns
    -------
    path : Path
        ``out/index.html``.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a directory.
    ValueError
        If ``run_dir`` holds none of the run files, or one of them is corrupt
        (the message names the file), or ``fmt`` is unknown.

    Examples
    --------
    >>> from skflux.report import build_report
    >>> build_report("skflux-demo")  # doctest: +SKIP
    PosixPath('skflux-demo/report/index.html')
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg'; got {fmt!r}")
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    run = RunDirectory(run_dir)
    if run.videos is None and run.metrics is None and run.passes is None:
        raise ValueError(f"{run_dir}: not a run directory (none of "
                         f"{', '.join(layout.VIDEO_FILES)}, {layout.METRICS}, {layout.PASSES} "
                         "found)")
    out = Path(out) if out is not None else run.dir / layout.REPORT
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for key, draw in tqdm(FIGURES, desc="figures", disable=quiet, leave=False):
        names = []
        try:
            figs = draw(run)
            figs = figs if isinstance(figs, list) else [figs]
            for j, fig in enumerate(figs):
                suffix = "abcdef"[j] if len(figs) > 1 else ""
                names.append(f"{key}{suffix}.{fmt}")
                fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
        except LookupError as exc:  # the run directory lacks this figure's material
            reason = " ".join(str(exc).split())
            log.warning("%s not drawn: %s", TITLES[key].split(" - ")[0], reason)
            figures.append(Figure(key, TITLES[key], caption=CAPTIONS[key], missing=reason))
            continue
        except RunFileError:
            raise
        except Exception as exc:  # a failed figure is a note, not the end of the report
            for name in names:  # no stray panel of a figure the page does not show
                (out / name).unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            log.warning("%s failed: %s", TITLES[key].split(" - ")[0], reason)
            figures.append(Figure(key, TITLES[key], caption=CAPTIONS[key], failed=reason))
            continue
        finally:
            plt.close("all")
        for j, name in enumerate(names):
            title = TITLES[key] + (f" ({'top' if j == 0 else 'bottom'})" if len(figs) > 1
                                   else "")
            figures.append(Figure(f"{key}{'abcdef'[j] if j else ''}", title, file=name,
                                  caption=CAPTIONS[key] if j == len(figs) - 1 else ""))
    return write_html_report(out, title="skflux report", figures=figures,
                             metrics=metrics_tables(run), notes=_notes(run),
                             subtitle=f"Run directory: {run.dir.resolve()}.")


def _notes(run):
    if not (run.metrics and "config" in run.metrics):
        return []
    cfg = run.metrics["config"]
    return [
        "Simulated data (skflux.datasets), not MDI: "
        f"{cfg.get('n_videos')} videos of {cfg.get('frames')} frames x {cfg.get('size')} px; "
        f"network widths {cfg.get('widths')}, at most {cfg.get('epochs')} epochs per model. "
        "The paper's figures come from 2,000+ real MDI videos at 225 frames x 90 px."]
