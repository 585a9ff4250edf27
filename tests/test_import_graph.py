"""No import cycle anywhere in skflux, function-level imports included.

The graph is built statically with :mod:`ast` from every ``.py`` file of the
package. An edge ``A -> B`` means that running module ``A`` (at import time or
in any of its functions) imports module ``B``:

* every ``import x.y`` and ``from x import y`` statement counts, wherever it
  is (module level, functions, methods, ``try``/``if`` blocks), and so does
  ``importlib.import_module("literal")``;
* relative imports are resolved against the importing module's package;
* importing a package counts as importing its ``__init__``; ``from pkg import
  name`` also counts as importing ``pkg.name`` when that is a module, and as
  importing the module that ``pkg/__init__.py`` takes ``name`` from (its own
  ``from .sub import name`` statements or a ``_LAZY = {name: "module"}`` table);
* a package ``__init__`` that is an ancestor of the importing module is
  already being imported when the module runs: no edge to it (only to the
  module the name resolves to), so the ordinary "``__init__`` imports its
  submodules" pattern is not a cycle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skflux"


# --------------------------------------------------------------------------- the graph
def _module_files(package_dir):
    """``{module name: (path, is_package)}`` of every module under ``package_dir``."""
    top = package_dir.name
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join([top, *parts])] = (path, is_package)
    return out


def _ancestors(module):
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _resolve_relative(module, is_package, level, name):
    """Absolute module named by ``from <level dots><name> import ...`` in ``module``."""
    if level == 0:
        return name
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(base) - 1:
        raise ValueError(f"{module}: relative import beyond the top-level package")
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports(module, path, is_package):
    """``[(target, names)]`` for every import in ``module``'s source.

    ``names`` is the tuple of names of a ``from target import names`` statement,
    ``()`` for ``import target`` and ``importlib.import_module("target")``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_relative(module, is_package, node.level, node.module)
            out.append((target, tuple(alias.name for alias in node.names)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and not node.args[0].value.startswith(".")):
            out.append((node.args[0].value, ()))
    return out


def _reexports(module, path, modules):
    """``{name: module}`` that a package ``__init__`` takes its names from."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            target = _resolve_relative(module, True, node.level, node.module)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out[alias.asname or alias.name] = sub if sub in modules else target
        elif (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_LAZY"
                                                   for t in node.targets)
              and isinstance(node.value, ast.Dict)):
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                    out[key.value] = value.value
    return out


def import_graph(package_dir):
    """``{module: set of modules it imports}`` restricted to the package's own modules."""
    modules = _module_files(package_dir)
    reexports = {m: _reexports(m, path, modules) for m, (path, is_pkg) in modules.items()
                 if is_pkg}
    graph = {m: set() for m in modules}
    for module, (path, is_package) in modules.items():
        skip = _ancestors(module) | ({module} if is_package else set())
        for target, names in _imports(module, path, is_package):
            hits = [target] + [a for a in _ancestors(target) if a in modules]
            for name in names:
                sub = f"{target}.{name}"
                if sub in modules:
                    hits.append(sub)
                elif name in reexports.get(target, {}):
                    hits.append(reexports[target][name])
            graph[module].update(h for h in hits if h in modules and h not in skip)
        graph[module].discard(module)
    return graph


def strongly_connected_sets(graph):
    """The strongly connected sets of more than one module (Tarjan), as sorted lists."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def strongconnect(v):  # Tarjan, iterative over the successors of v
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, succ = work[-1]
            for w in succ:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    scc = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        scc.append(w)
                        if w == node:
                            break
                    if len(scc) > 1:
                        sccs.append(set(scc))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(sorted(scc) for scc in sccs)


def find_cycles(graph):
    """One cycle (list of modules, first repeated last) per strongly connected set."""
    return [_cycle_in(graph, set(scc)) for scc in strongly_connected_sets(graph)]


def _cycle_in(graph, scc):
    """A shortest cycle through the smallest module name of a strongly connected set."""
    start = min(scc)
    parent, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & scc):
                if w == start:
                    path = [v]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 \
                        else [start, start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in {scc}")  # pragma: no cover - scc has one


# --------------------------------------------------------------------------- the test
def test_skflux_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 20 and "skflux.ensemble" in graph  # the walk found the package
    cycles = find_cycles(graph)
    text = "\n".join(f"{' -> '.join(c)}   (modules importing each other: {', '.join(scc)})"
                     for c, scc in zip(cycles, strongly_connected_sets(graph)))
    assert not cycles, f"{len(cycles)} import cycle(s) in skflux:\n{text}"


def _edges_between(graph, source, target):
    """``[(module, imported)]`` from modules of package ``source`` into package ``target``."""
    def inside(module, package):
        return module == package or module.startswith(package + ".")

    return sorted((m, t) for m, targets in graph.items() if inside(m, source)
                  for t in targets if inside(t, target))


@pytest.mark.parametrize("source, target", [("skflux.relabel", "skflux.plotting"),
                                            ("skflux.plotting", "skflux.relabel")])
def test_relabel_and_plotting_never_import_each_other(source, target):
    """Issue 27: the oracles' frame mosaic comes from skflux._mosaic, and Figure 3 reads
    plain pass records; no import either way, function-level imports included."""
    graph = import_graph(PACKAGE)
    assert any(m.startswith(source + ".") for m in graph)  # the walk found the package
    edges = _edges_between(graph, source, target)
    assert not edges, "\n".join(f"{m} imports {t}" for m, t in edges)


def test_edges_between_sees_function_level_imports(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a/__init__.py": "",
        "pkg/a/x.py": "def f():\n    from ..b import y\n    return y\n",
        "pkg/b/__init__.py": "from .y import z\n",
        "pkg/b/y.py": "z = 1\n",
        "pkg/c.py": "import pkg.b.y\n",
    })
    graph = import_graph(pkg)
    assert _edges_between(graph, "pkg.a", "pkg.b") == [("pkg.a.x", "pkg.b"),
                                                        ("pkg.a.x", "pkg.b.y")]
    assert _edges_between(graph, "pkg.b", "pkg.a") == []
    assert _edges_between(graph, "pkg.c", "pkg.a") == []


# --------------------------------------------------------------------------- the builder
def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_function_level_import_cycle_is_found(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import f\n",
        "pkg/b.py": "def f():\n    from pkg import c\n    return c\n",
        "pkg/c.py": "def g():\n    try:\n        from . import a\n    except ImportError:\n"
                    "        pass\n",
    })
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.c"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_relative_imports_and_packages_resolve(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "_LAZY = {'Thing': 'pkg.sub.deep'}\n",
        "pkg/sub/__init__.py": "from .deep import Thing\nfrom . import other\n",
        "pkg/sub/deep.py": "import importlib\nclass Thing: pass\n"
                           "def h():\n    return importlib.import_module('pkg.top')\n",
        "pkg/sub/other.py": "from ..top import x\nimport pkg.sub.deep as d\n",
        "pkg/top.py": "from pkg.sub import Thing\nx = 1\ndef k():\n    from pkg import Thing\n",
        "pkg/user.py": "import os\nfrom pkg import sub\n",
    })
    graph = import_graph(pkg)
    # the package's own submodules: no edge back to the ancestor __init__
    assert graph["pkg.sub"] == {"pkg.sub.deep", "pkg.sub.other"}
    assert graph["pkg.sub.other"] == {"pkg.top", "pkg.sub.deep"}
    # importing a package counts as importing its __init__ (and the re-exporting module)
    assert graph["pkg.top"] == {"pkg.sub", "pkg.sub.deep"}
    assert graph["pkg.user"] == {"pkg.sub"}
    assert graph["pkg.sub.deep"] == {"pkg.top"}  # importlib.import_module("literal")
    cycles = find_cycles(graph)
    assert cycles == [["pkg.sub", "pkg.sub.deep", "pkg.top", "pkg.sub"]]


def test_acyclic_graph_has_no_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


@pytest.mark.parametrize("level, name, is_package, expected", [
    (1, "x", False, "p.q.x"), (2, "x", False, "p.x"), (1, None, False, "p.q"),
    (1, "x", True, "p.q.m.x"), (0, "os", False, "os")])
def test_resolve_relative(level, name, is_package, expected):
    assert _resolve_relative("p.q.m", is_package, level, name) == expected
