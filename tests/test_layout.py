"""The house rules of the package's layout (STYLE.md, "What to grow out of"; issue 13 item 11):

- no import circle among the modules of wagtail_guestpay (nor of bench/), counting imports inside
  functions too: a function-level import that dodges a circle leaves the circle for the reader;
- no module over 400 lines outside migrations;
- every module imports, and none of them imports an old (deprecated) path;
- each documented old path (wagtail_guestpay/moved.py) still imports, with a DeprecationWarning
  that points at the importing line, as an alias of the new module.

The import graph is read from the source (AST), not from a running interpreter, so that an import
inside a function that never ran still counts.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wagtail_guestpay.moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def modules(package):
    """{dotted name: (path, is_package)} of the .py files under ``package`` (a folder of ROOT),
    migrations left out."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def imported(name, is_package, node, known):
    """The modules of ``known`` that one import statement of module ``name`` loads: ``from X
    import y`` counts as importing X.y when that is a module, else X."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module
        targets = [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
            for alias in node.names
        ]
    found = set()
    for target in targets:
        while target and target not in known:  # `import a.b.c` of a non-module attribute
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_graph(package):
    known = modules(package)
    graph = {}
    for name, (path, is_package) in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = set()
        for node in ast.walk(tree):  # every level: module, class and function bodies
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= imported(name, is_package, node, known)
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe(graph, component):
    members = set(component)
    return [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]


@pytest.mark.parametrize("package", ["wagtail_guestpay", "bench"])
def test_no_import_circles(package):
    graph = import_graph(package)
    assert len(graph) >= 5  # the files were found
    assert [describe(graph, component) for component in cycles(graph)] == []


def test_the_cycle_finder_sees_a_circle_through_a_function_level_import(tmp_path, monkeypatch):
    """The check itself can fail: a circle closed only by an import inside a function counts."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph("pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]


def test_no_module_over_400_lines():
    long = {}
    for package in ("wagtail_guestpay", "bench"):
        for name, (path, _is_package) in modules(package).items():
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                long[name] = lines
    assert long == {}


IMPORT_ALL = """
import importlib, json, sys, warnings
import django
django.setup()
names, moved = json.loads(sys.argv[1]), json.loads(sys.argv[2])
result = {"internal_warnings": [], "old_paths_loaded": [], "deprecated": {}}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for name in names:
        importlib.import_module(name)
result["internal_warnings"] = [str(w.message) for w in caught
                               if issubclass(w.category, DeprecationWarning)
                               and "wagtail_guestpay" in str(w.message)]
result["old_paths_loaded"] = sorted(set(moved) & set(sys.modules))
for old, new in moved.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(f"import {old}", "importer.py", "exec"), {})
    module = sys.modules[old]
    result["deprecated"][old] = {
        "alias": module is importlib.import_module(new) and sys.modules[old] is module,
        "warnings": [[w.category.__name__, str(w.message), w.filename] for w in caught],
    }
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def imported_everything(tmp_path_factory):
    """Every module of the package imported in a fresh interpreter (nothing cached by the test
    session), then each old path."""
    names = [name for name in modules("wagtail_guestpay") if name not in MOVED]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
    }
    script = tmp_path_factory.mktemp("layout") / "import_all.py"
    script.write_text(IMPORT_ALL)
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(names), json.dumps(MOVED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,  # the return code is asserted below, with the error output
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_imports_without_touching_an_old_path(imported_everything):
    assert imported_everything["internal_warnings"] == []
    assert imported_everything["old_paths_loaded"] == []


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_documented_old_path_still_imports_with_a_deprecation_warning(old, imported_everything):
    result = imported_everything["deprecated"][old]
    assert result["alias"]
    assert result["warnings"] == [
        [
            "DeprecationWarning",
            f"{old} moved to {MOVED[old]}; the old path will be removed in the next release.",
            "importer.py",  # the warning points at the code that imported the old path
        ]
    ]


def test_the_old_paths_are_the_documented_ones():
    """Each shim is listed in MOVED and named in docs/ (else it has no reason to exist)."""
    package = ROOT / "wagtail_guestpay"
    shims = {
        f"wagtail_guestpay.{path.stem}"
        for path in package.glob("*.py")
        if "from .moved import alias" in path.read_text()
    }
    assert shims == set(MOVED)
    docs = "\n".join(path.read_text() for path in (ROOT / "docs").rglob("*.md"))
    for old in MOVED:
        assert old in docs
