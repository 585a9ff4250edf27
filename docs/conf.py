"""Sphinx configuration of the skflux documentation.

Build (from the repository root; or ``make -C docs html`` / ``html-offline``)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

``-W`` turns every warning into an error; the sphinx-gallery examples in
``examples/`` are run during the build.

Cross-links to numpy, xarray, scikit-learn, skorch, torch, astropy and Python use
intersphinx, which downloads each project's ``objects.inv``. On a machine without
network access that download fails with a warning (an error under ``-W``), so set
``SKFLUX_DOCS_OFFLINE=1`` there: intersphinx is then not loaded, references to
other projects stay plain text, and every warning from our own sources is still
an error. The test suite builds this way.
"""

import os
import warnings
from datetime import date

import skflux

# -- Project -----------------------------------------------------------------

project = "skflux"
author = "the skflux developers"
copyright = f"{date.today().year}, {author}"
version = release = skflux.__version__

# -- General -----------------------------------------------------------------

OFFLINE = os.environ.get("SKFLUX_DOCS_OFFLINE", "0").strip().lower() in {"1", "true", "yes"}

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
if not OFFLINE:
    extensions.append("sphinx.ext.intersphinx")

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc -----------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"

numpydoc_show_class_members = False  # autosummary lists methods on class pages
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types link to other projects through intersphinx; numpydoc's built-in
# aliases (``array_like``, ``bool``...) point into numpy's and Python's inventories, so
# offline they would be unresolved references (warnings): plain text then.
numpydoc_xref_param_type = not OFFLINE
numpydoc_xref_aliases = {
    "DataArray": "xarray.DataArray",
    "Dataset": "xarray.Dataset",
    "ndarray": "numpy.ndarray",
    "Tensor": "torch.Tensor",
    "Figure": "matplotlib.figure.Figure",
    "Axes": "matplotlib.axes.Axes",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "RandomState": "numpy.random.RandomState",
}
numpydoc_xref_ignore = {
    "of", "or", "shape", "optional", "default", "array-like", "like", "and", "n_videos",
    "n_frames", "n_members", "n_samples", "lat", "lon", "frame", "video", "members",
    "videos", "frames", "passes", "callable", "path-like", "file-like", "None", "True",
    "False", "instance", "estimator", "object", "iterable", "sequence", "mapping",
    "scalar", "type", "keys", "values", "str,", "int,", "dict-like", "1-D", "2-D", "3-D",
    "4-D", "n_splits", "n",
}

# -- intersphinx (online builds only, see the module docstring) ---------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "xarray": ("https://docs.xarray.dev/en/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "astropy": ("https://docs.astropy.org/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
    "dask": ("https://docs.dask.org/en/stable", None),
    "distributed": ("https://distributed.dask.org/en/stable", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable", None),
}
intersphinx_timeout = 30

# -- sphinx-gallery -----------------------------------------------------------

# Examples print progress bars and library warnings; keep the rendered pages clean.
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")
# The examples train tiny networks: one thread per process is as fast, and on a busy
# machine several OpenMP threads per process slow them down many times over. Set
# before torch is first imported (by autodoc or the first example).
os.environ.setdefault("OMP_NUM_THREADS", "1")

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|_helpers)\.py",
    "within_subsection_order": "FileNameSortKey",
    # one page per public object listing the examples that use it (mini-galleries)
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skflux",),
    "reference_url": {"skflux": None},
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib", "seaborn"),
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
    "capture_repr": (),  # examples print what they show; no estimator reprs
    "default_thumb_file": None,
    "min_reported_time": 2,
}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skflux {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_context = {"default_mode": "light"}


# -- the command-line reference: ``skflux <command> --help`` of every subcommand ----


def _write_cli_help(app):
    """Write the ``--help`` text of ``skflux`` and of each subcommand for ``cli.rst``."""
    import argparse
    from pathlib import Path

    from skflux.cli import build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps help to the terminal width
    parser = build_parser()
    parts = ["Usage of ``skflux``\n" + "-" * 19, "", ".. code-block:: text", ""]
    parts += ["   " + line for line in parser.format_help().splitlines()]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                title = f"``skflux {name}``"
                parts += ["", "", title, "-" * len(title), "", ".. code-block:: text", ""]
                parts += ["   " + line for line in sub.format_help().splitlines()]
    out = Path(app.srcdir) / "generated" / "cli_help.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line.rstrip() for line in parts) + "\n"
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", _write_cli_help)
