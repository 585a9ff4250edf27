"""A small, dependency-free HTML page: figures with captions and tables of metrics (private).

The page references figure files that sit next to it (relative links), so the
report folder can be moved or zipped whole.
"""

import datetime as _dt
import html
import math
from pathlib import Path

from .._atomic import atomic_write_text

__all__ = ["Figure", "write_html_report"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .sub { color: #666; margin-top: 0; }
figure { margin: 2em 0; padding: 1em; border: 1px solid #ddd; border-radius: 6px; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { margin-top: 0.6em; font-size: 0.95em; }
.missing { color: #a33; font-style: italic; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
nav a { margin-right: 1em; } pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; }
"""


class Figure:
    """One figure of the report.

    Parameters
    ----------
    key : str
        Anchor name, e.g. ``"fig3"``.
    title : str
        Heading, e.g. ``"Figure 3 - relabeling passes"``.
    file : str or None
        File name relative to the report folder, or None when the figure could
        not be drawn.
    caption : str
        What the figure shows (plain text).
    missing : str
        Why the figure is absent (when ``file`` is None): what the run lacks.
    failed : str
        The error that stopped drawing it (when ``file`` is None), shown as
        "Drawing failed: ...".
    """

    def __init__(self, key, title, file=None, caption="", missing="", failed=""):
        self.key, self.title, self.file = key, title, file
        self.caption, self.missing, self.failed = caption, missing, failed


def _fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def _table(rows, header):
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_html_report(out_dir, *, title, figures, metrics=None, notes=(), subtitle=""):
    """Write ``out_dir/index.html`` and return its path.

    Parameters
    ----------
    out_dir : str or Path
        Report folder; must exist and hold the figure files.
    title : str
        Page title.
    figures : list of Figure
        In display order.
    metrics : dict of str to list of tuple, optional
        Section name -> rows ``(name, value, reference)``; ``reference`` is the
        paper's value or a comparison (text), may be ``""``.
    notes : sequence of str
        Paragraphs shown under the metrics (plain text).
    subtitle : str
        Line under the title.

    Returns
    -------
    path : Path

    Raises
    ------
    FileNotFoundError
        If a figure's file does not exist in ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> from skflux.report import write_html_report
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_html_report(d, title="t", figures=[], metrics={"m": [("acc", 0.5, "")]})
    ...     "acc" in p.read_text()
    True
    """
    out_dir = Path(out_dir)
    for fig in figures:
        if fig.file is not None and not (out_dir / fig.file).is_file():
            raise FileNotFoundError(f"figure file {out_dir / fig.file} does not exist")
    now = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="sub">{html.escape(subtitle)} Generated {html.escape(now)}.</p>',
    ]
    if figures or metrics:
        links, seen = [], set()
        for f in figures:
            label = f.title.split(" - ")[0]
            if label not in seen:  # one link per figure number (Figure 6 has two panels)
                seen.add(label)
                links.append(f'<a href="#{html.escape(f.key)}">{html.escape(label)}</a>')
        if metrics:
            links.insert(0, '<a href="#metrics">Metrics</a>')
        parts.append("<nav>" + "".join(links) + "</nav>")
    if metrics:
        parts.append('<h2 id="metrics">Metrics</h2>')
        for section, rows in metrics.items():
            parts.append(f"<h3>{html.escape(section)}</h3>")
            parts.append(_table(rows, ("quantity", "value", "reference")))
    for note in notes:
        parts.append(f"<p>{html.escape(note)}</p>")
    for fig in figures:
        parts.append(f'<figure id="{html.escape(fig.key)}">')
        parts.append(f"<h2>{html.escape(fig.title)}</h2>")
        if fig.file is not None:
            parts.append(f'<img src="{html.escape(fig.file)}" alt="{html.escape(fig.title)}">')
        elif fig.failed:
            parts.append(f'<p class="missing failed">Drawing failed: '
                         f'{html.escape(fig.failed)}</p>')
        else:
            parts.append(f'<p class="missing">Not drawn: {html.escape(fig.missing)}</p>')
        if fig.caption:
            parts.append(f"<figcaption>{html.escape(fig.caption)}</figcaption>")
        parts.append("</figure>")
    parts += ["</body>", "</html>"]
    return atomic_write_text(out_dir / "index.html", "\n".join(parts) + "\n", overwrite=True)
