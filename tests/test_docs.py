"""The documentation: complete, warning-free, and honest about fitted attributes.

* every public name of skflux appears in the API reference (``docs/api.rst``);
* every fitted attribute (a public name ending in ``_``) that an estimator sets is
  listed in the Attributes section of its docstring: found statically (``self.x_ =``
  in the class's source) for every public estimator, and by fitting tiny instances
  of the main ones;
* the Sphinx site builds with ``-W`` (warnings are errors), running the gallery,
  in a temporary directory (slow: about a few minutes on two cores).
"""

import ast
import functools
import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpydoc.docscrape import ClassDoc

import skflux

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
API_RST = DOCS / "api.rst"

# Submodules whose ``__all__`` is public API.
PUBLIC_MODULES = ("io", "preprocessing", "datasets", "model_selection", "nn", "ensemble",
                  "relabel", "timing", "metrics", "plotting", "report", "cli")

# Attributes skorch sets on every net for its own bookkeeping (documented by skorch).
SKORCH_BOOKKEEPING = {"init_context_", "virtual_params_", "prefixes_",
                      "cuda_dependent_attributes_"}


# -- helpers -----------------------------------------------------------------------


@functools.cache
def _public_objects_and_failures():
    """``({qualified name: object}, {qualified name: error})`` of every public name.

    Top-level names are listed as ``skflux.<name>``; failures to import are kept
    (and asserted empty by a test) so that collection never breaks.
    """
    out, failures = {}, {}
    for name in skflux._LAZY:
        try:
            out[f"skflux.{name}"] = getattr(skflux, name)
        except (ImportError, AttributeError) as exc:
            failures[f"skflux.{name}"] = repr(exc)
    for mod_name in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(f"skflux.{mod_name}")
        except ImportError as exc:
            failures[f"skflux.{mod_name}"] = repr(exc)
            continue
        for name in getattr(mod, "__all__", ()):
            try:
                out[f"skflux.{mod_name}.{name}"] = getattr(mod, name)
            except (ImportError, AttributeError) as exc:
                failures[f"skflux.{mod_name}.{name}"] = repr(exc)
    return out, failures


def _public_objects():
    return _public_objects_and_failures()[0]


def _documented_names(text):
    """Fully qualified names listed in the autosummary tables of an rst file."""
    names, module, in_table = set(), "skflux", False
    for line in text.splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line.strip())
        if m:
            module = m.group(1)
            continue
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            stripped = line.strip()
            if not stripped or stripped.startswith(":"):
                continue
            if not line.startswith("   "):
                in_table = False
                continue
            names.add(f"{module}.{stripped.lstrip('~')}")
    return names


def _public_estimators():
    """Public classes with a ``fit`` method, by qualified name (each class once)."""
    seen, out = set(), {}
    for qualname, obj in _public_objects().items():
        if inspect.isclass(obj) and callable(getattr(obj, "fit", None)) and obj not in seen:
            seen.add(obj)
            out[qualname] = obj
    return out


def _attribute_section(cls):
    """Names listed in the Attributes section of ``cls``'s docstring."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = ClassDoc(cls, config={"show_class_members": False})
    names = set()
    for param in doc["Attributes"]:
        names.update(n.strip() for n in param.name.split(","))
    return names


def _documented_attributes(cls):
    """Attributes documented for ``cls``: its own section, plus sections of bases
    from other packages for the attributes those bases set (skorch, scikit-learn)."""
    names = _attribute_section(cls)
    for base in cls.__mro__[1:]:
        if not base.__module__.startswith("skflux") and base is not object:
            names |= _attribute_section(base)
    return names


def _assigned_in_source(source):
    """Public ``self.<name>_`` attributes assigned anywhere in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for sub in ast.walk(target):
                if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                        and sub.value.id == "self" and sub.attr.endswith("_")
                        and not sub.attr.startswith("_")):
                    found.add(sub.attr)
    return found


def _assigned_fitted_attributes(cls):
    """``{attribute: class}`` of fitted attributes assigned in the skflux source of
    ``cls`` and of its skflux base classes."""
    found = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("skflux"):
            continue
        for attr in _assigned_in_source(inspect.getsource(klass)):
            found.setdefault(attr, f"{klass.__module__}.{klass.__qualname__}")
    return found


# -- the API reference -------------------------------------------------------------


def test_every_public_name_imports():
    failures = _public_objects_and_failures()[1]
    assert not failures, f"public names that cannot be imported: {failures}"


def test_api_reference_lists_every_public_name():
    documented = _documented_names(API_RST.read_text(encoding="utf-8"))
    objects = _public_objects()
    top_level = {id(obj): name for name, obj in objects.items() if name.count(".") == 1}
    missing = []
    for qualname, obj in objects.items():
        if qualname in documented:
            continue
        # a module-level alias of a top-level estimator is documented once, under skflux.X
        if top_level.get(id(obj)) in documented:
            continue
        missing.append(qualname)
    assert not missing, f"public names missing from docs/api.rst: {sorted(missing)}"


def _resolve(qualname):
    module, _, name = qualname.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def test_api_reference_lists_no_unknown_name():
    # a name may be documented without being in ``__all__`` (e.g. a helper a module
    # re-exports explicitly), but it must exist and be public
    unknown = sorted(n for n in _documented_names(API_RST.read_text(encoding="utf-8"))
                     if n.rpartition(".")[2].startswith("_") or _resolve(n) is None)
    assert not unknown, f"docs/api.rst lists names that do not exist: {unknown}"


def test_documented_names_parser():
    text = (".. currentmodule:: skflux.io\n\n.. autosummary::\n   :toctree: generated/\n\n"
            "   open_videos\n   ~VideoWriter\n\nText.\n\n.. currentmodule:: skflux\n\n"
            ".. autosummary::\n\n   MonthBlockSplit\n")
    assert _documented_names(text) == {"skflux.io.open_videos", "skflux.io.VideoWriter",
                                       "skflux.MonthBlockSplit"}


# -- docstring sections -------------------------------------------------------------


@pytest.mark.parametrize("qualname", sorted(_public_estimators()))
def test_estimators_document_parameters_and_examples(qualname):
    cls = _public_estimators()[qualname]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = ClassDoc(cls, config={"show_class_members": False})
    assert doc["Summary"], f"{qualname}: no summary line"
    assert "".join(doc["Examples"]).strip(), f"{qualname}: no Examples section (doctest)"
    params = set(inspect.signature(cls).parameters) - {"kwargs", "args"}
    documented = {n.strip() for p in doc["Parameters"] for n in p.name.split(",")}
    missing = sorted(params - documented)
    assert not missing, f"{qualname}: parameters missing from the docstring: {missing}"


# -- fitted attributes -------------------------------------------------------------


def test_attribute_scanner_finds_assignments():
    source = """
    class Toy:
        def fit(self, X):
            self.a_ = 1
            self.b_, self._c_ = 2, 3
            self.d_ += 1
            self.e_: int = 4
            other.f_ = 5
            self.g = 6
            return self
    """
    assert _assigned_in_source(source) == {"a_", "b_", "d_", "e_"}


def test_attribute_section_parser():
    class Toy:
        """Toy.

        Attributes
        ----------
        a_ : int
            A.
        b_, c_ : float
            B and C.
        """

    assert _attribute_section(Toy) == {"a_", "b_", "c_"}


def test_estimators_are_found():
    names = {qualname.rsplit(".", 1)[-1] for qualname in _public_estimators()}
    expected = {n for n in skflux._LAZY if n[0].isupper() and n != "MonthBlockSplit"}
    assert expected <= names


@pytest.mark.parametrize("qualname", sorted(_public_estimators()))
def test_fitted_attributes_set_in_source_are_documented(qualname):
    cls = _public_estimators()[qualname]
    assigned = _assigned_fitted_attributes(cls)
    documented = _documented_attributes(cls)
    missing = {a: where for a, where in assigned.items() if a not in documented}
    assert not missing, (
        f"{qualname}: fitted attributes set in the source but missing from the Attributes "
        f"section of its docstring: {missing}")


# -- the Sphinx build --------------------------------------------------------------


def _copy_sources(dest):
    ignore = shutil.ignore_patterns("_build", "generated", "auto_examples",
                                    "sg_execution_times.rst", "__pycache__", "*.pyc")
    shutil.copytree(DOCS, dest / "docs", ignore=ignore)
    shutil.copytree(EXAMPLES, dest / "examples", ignore=ignore)
    # tables the guides include from the benchmark results (e.g. the realism table)
    shutil.copytree(ROOT / "benchmarks" / "results", dest / "benchmarks" / "results",
                    ignore=shutil.ignore_patterns("*.json", "*.png"))


@pytest.mark.slow
@pytest.mark.e2e
def test_docs_build_without_warnings(tmp_path):
    _copy_sources(tmp_path)
    out = tmp_path / "html"
    env = dict(os.environ, SKFLUX_DOCS_OFFLINE="1", MPLBACKEND="Agg", TQDM_DISABLE="1")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           str(tmp_path / "docs"), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stdout[-6000:]}\n" \
                                 f"{proc.stderr[-12000:]}"

    # every public name has its page
    for qualname in _documented_names(API_RST.read_text(encoding="utf-8")):
        assert (out / "generated" / f"{qualname}.html").is_file(), qualname

    # every example ran and has a page with at least one figure
    examples = sorted(EXAMPLES.glob("plot_*.py"))
    assert examples
    for ex in examples:
        page = out / "auto_examples" / f"{ex.stem}.html"
        assert page.is_file(), page
        assert "sphx-glr-single-img" in page.read_text(encoding="utf-8") \
            or "sphx-glr-multi-img" in page.read_text(encoding="utf-8"), f"no figure: {ex.name}"

    # the main estimators' pages show the examples that use them (mini-galleries)
    for name in ("FluxEmergenceClassifier", "MonthBlockSplit", "MonthBlockEnsemble",
                 "IterativeRelabeler", "EmergenceTimeLocator"):
        page = (out / "generated" / f"skflux.{name}.html").read_text(encoding="utf-8")
        assert "sphx-glr-thumbcontainer" in page, f"no mini-gallery on skflux.{name}'s page"


# Fitting tiny instances: attributes that exist after fit (including those set by
# skorch or scikit-learn code) must be documented too.


def _fit_classifier(request):
    videos = request.getfixturevalue("tiny_videos")
    clf = request.getfixturevalue("tiny_classifier")(valid_months=(9, 10))
    return clf.fit(videos, videos["label"].values)


def _fit_ensemble(request):
    """The shared tiny ensemble (its threshold set on the benchmark months 9-10)."""
    return request.getfixturevalue("tiny_fitted_ensemble")


def _fit_relabeler(request):
    from sklearn.linear_model import LogisticRegression

    from skflux.relabel import TruthOracle

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    X = truth[:, None] + rng.normal(0.0, 0.5, (200, 2))
    crude = np.where(rng.random(200) < 0.2, 1 - truth, truth)
    months = np.resize(np.arange(1, 13), 200)
    return skflux.IterativeRelabeler(LogisticRegression(), oracle=TruthOracle(truth),
                                     random_state=0).fit(X, crude, groups=months)


def _fit_locator(request):
    videos = request.getfixturevalue("tiny_videos")
    ens = request.getfixturevalue("tiny_fitted_ensemble")
    locator = skflux.EmergenceTimeLocator(ens, lower_bound=2).fit()
    locator.transform(videos[:4])  # curves_ and member_frames_ are set by transform
    return locator


def _fit_transformer(name):
    def fit(request):
        from skflux import preprocessing

        X = request.getfixturevalue("tiny_videos").values[:2].copy()
        X[:, 3] = np.nan  # a missing frame
        return getattr(preprocessing, name)().fit(X)
    return fit


# name -> (fit a tiny instance, whether it must have fitted attributes)
FITTERS = {
    "skflux.FluxEmergenceClassifier": _fit_classifier,
    "skflux.MonthBlockEnsemble": _fit_ensemble,
    "skflux.IterativeRelabeler": _fit_relabeler,
    "skflux.EmergenceTimeLocator": _fit_locator,
    "skflux.preprocessing.FillGaps": _fit_transformer("FillGaps"),
    "skflux.preprocessing.MaskOffLimb": _fit_transformer("MaskOffLimb"),
    "skflux.preprocessing.PadFrames": _fit_transformer("PadFrames"),
    "skflux.preprocessing.Resample": _fit_transformer("Resample"),
}
STATELESS = {"skflux.preprocessing.FillGaps", "skflux.preprocessing.MaskOffLimb",
             "skflux.preprocessing.PadFrames", "skflux.preprocessing.Resample"}
NEURAL = {"skflux.FluxEmergenceClassifier", "skflux.MonthBlockEnsemble",
          "skflux.EmergenceTimeLocator"}


def test_every_public_estimator_has_a_fitter_or_is_a_splitter():
    from sklearn.model_selection import BaseCrossValidator

    missing = [q for q, cls in _public_estimators().items()
               if q not in FITTERS and not issubclass(cls, BaseCrossValidator)]
    assert not missing, f"add a tiny fit for these estimators to FITTERS: {missing}"




@pytest.mark.parametrize("qualname", [
    pytest.param(q, marks=pytest.mark.slow) if q in NEURAL else q for q in sorted(FITTERS)])
def test_fitted_attributes_present_after_fit_are_documented(qualname, one_torch_thread, request):
    est = FITTERS[qualname](request)
    cls = type(est)
    present = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")
               and not k.endswith("__")}
    if qualname not in STATELESS:
        assert present, f"{qualname}: no fitted attribute after fit (is the tiny fit right?)"
    params = set(est.get_params(deep=False))
    undocumented = sorted(present - params - _documented_attributes(cls) - SKORCH_BOOKKEEPING)
    assert not undocumented, (
        f"{qualname}: attributes present after fit but missing from the Attributes section "
        f"of its docstring: {undocumented}")
