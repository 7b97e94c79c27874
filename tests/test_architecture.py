"""The package's architecture: imports flow one way, and every public name the README lists exists.

The modules are stages of one pipeline, in the order the README lists them:
``data -> encoders -> fusion -> heads -> models -> metrics -> train -> plots
-> notebook``, with ``_checks`` below them all. A module may import from its
own stage or from an earlier one, never from a later one, and the graph of
imports has no cycle. Imports are read from the source with ``ast`` (imports
inside functions count too: a lazy import hides a cycle, it does not remove
it), so the test needs nothing beyond the standard library.
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

import mmtutorial as mt

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mmtutorial"

# Stage of each top-level module, in the order data flows through them: the
# package's own __all__ lists the stages in that order, with the leaf of checks below all.
STAGES = ["_checks"] + [name for name in mt.__all__ if name != "__version__"]


def module_name(path: pathlib.Path, package_dir: pathlib.Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package_dir: pathlib.Path) -> dict:
    """``{module: {imported package modules}}`` for every ``.py`` file under ``package_dir``."""
    files = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    top = package_dir.name

    def resolve(name):
        """The module a dotted name refers to: itself if it is a module, else its parent."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # ``from pkg import sub`` imports the submodule ``pkg.sub`` when it is one.
                targets = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                if target == top or target.startswith(top + "."):
                    resolved = resolve(target)
                    if resolved and resolved != name:
                        edges.add(resolved)
        graph[name] = edges
    return graph


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or ``None``."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def stage_of(module: str):
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package's own __init__, which gathers every stage
    return STAGES.index(parts[1]) if parts[1] in STAGES else None


def upward_imports(graph: dict) -> list:
    """Edges from a module to a module of a later stage."""
    bad = []
    for source, targets in graph.items():
        low = stage_of(source)
        for target in targets:
            high = stage_of(target)
            if low is not None and high is not None and high > low:
                bad.append((source, target))
    return sorted(bad)


# -- the checker itself can fail ---------------------------------------------------


def write_package(root: pathlib.Path, files: dict) -> pathlib.Path:
    package = root / "mmtutorial"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_checker_finds_a_cycle_through_a_package_init(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "fusion/__init__.py": "from .base import Fusion\nfrom .attention import Attention\n",
            "fusion/base.py": "def late():\n    from .attention import Attention\n",
            "fusion/attention.py": "from . import base\n",
        },
    )
    cycle = find_cycle(import_graph(package))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"mmtutorial.fusion.base", "mmtutorial.fusion.attention"} <= set(cycle)


def test_the_checker_finds_an_upward_import(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "data/folder.py": "from .. import train\n",
            "train.py": "",
        },
    )
    assert upward_imports(import_graph(package)) == [("mmtutorial.data.folder", "mmtutorial.train")]


def test_the_checker_accepts_a_tree_that_flows_one_way(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "from . import data, train\n",
            "_checks.py": "",
            "data/__init__.py": "from .base import Split\n",
            "data/base.py": "from .. import _checks\n",
            "train.py": "from . import data, _checks\nfrom .data import base\n",
        },
    )
    graph = import_graph(package)
    assert graph["mmtutorial.train"] == {
        "mmtutorial.data",
        "mmtutorial._checks",
        "mmtutorial.data.base",
    }
    assert find_cycle(graph) is None and upward_imports(graph) == []


# -- the real package -----------------------------------------------------------------


def test_every_module_belongs_to_a_stage():
    graph = import_graph(PACKAGE)
    loose = sorted(m for m in graph if m != "mmtutorial" and stage_of(m) is None)
    assert not loose, (
        f"modules outside the stages {STAGES}: {loose}; add them to STAGES in data-flow order"
    )


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_flow_with_the_data():
    bad = upward_imports(import_graph(PACKAGE))
    assert not bad, "modules importing a later stage: " + ", ".join(f"{a} -> {b}" for a, b in bad)


def test_the_checks_module_is_a_leaf():
    assert import_graph(PACKAGE)["mmtutorial._checks"] == set()


# -- public names ---------------------------------------------------------------------


def readme_names():
    """``(module, name)`` for each identifier in backticks in the README's table of modules."""
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", text, flags=re.MULTILINE)
    assert rows, "the README has no table of modules"
    pairs = []
    for module, description in rows:
        for code in re.findall(r"`([^`]+)`", description):
            code = code.split("(")[0]
            if re.fullmatch(r"[A-Za-z_][\w.]*", code):
                pairs.append((module, code))
    return pairs


README_NAMES = readme_names()


@pytest.mark.parametrize("module, name", README_NAMES, ids=[f"{m}.{n}" for m, n in README_NAMES])
def test_every_name_in_the_readme_exists(module, name):
    owner = getattr(mt, module)
    parts = name.split(".")
    if parts[0] == module:
        parts = parts[1:]
    target = owner
    try:
        for part in parts:
            target = getattr(target, part)
        return
    except AttributeError:
        pass
    # A method named in passing after its class (``gates()`` of ``GatedFusion``).
    holders = [
        value
        for value in vars(owner).values()
        if isinstance(value, type) and hasattr(value, parts[-1])
    ]
    assert holders, f"the README names {name!r} in mmtutorial.{module}, which has no such attribute"


# -- sizes: no function over 80 lines, no module over 500, unless its docstring says why ---

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500
# A docstring that says why its function or module must be longer contains this phrase,
# followed by the reason: "Longer than 80 lines because ...".
REASON = re.compile(r"longer than (80|500) lines because \S", flags=re.IGNORECASE)


def oversized(package_dir: pathlib.Path) -> list:
    """``(kind, dotted name, lines)`` of every function over 80 and module over 500 lines whose
    docstring does not say why (functions from ``def`` to their last line, docstring included)."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        module = module_name(path, package_dir)
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES and not REASON.search(ast.get_docstring(tree) or ""):
            found.append(("module", module, lines))

        def visit(node, prefix):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}.{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        size = child.end_lineno - child.lineno + 1
                        reason = REASON.search(ast.get_docstring(child) or "")
                        if size > MAX_FUNCTION_LINES and not reason:
                            found.append(("function", name, size))
                    visit(child, name)

        visit(tree, module)
    return found


def test_the_size_checker_finds_long_functions_and_modules_and_reads_reasons(tmp_path):
    body = "    x = 1\n" * 85
    indented = "    " + body.replace("\n", "\n    ").rstrip() + "\n"
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "long.py": f"def long():\n{body}\n\nclass Holder:\n    def method(self):\n{indented}",
            "told.py": f'def told():\n    """Longer than 80 lines because it must be."""\n{body}',
            "big.py": "x = 1\n" * 501,
            "big_told.py": '"""Longer than 500 lines because it must be."""\n' + "x = 1\n" * 501,
        },
    )
    assert oversized(package) == [
        ("module", "mmtutorial.big", 501),
        ("function", "mmtutorial.long.long", 86),
        ("function", "mmtutorial.long.Holder.method", 86),
    ]


def test_no_function_over_80_lines_and_no_module_over_500_without_a_reason():
    unexplained = oversized(PACKAGE)
    assert not unexplained, (
        "too long, and the docstring does not say why ('Longer than N lines because ...'): "
        + ", ".join(f"{kind} {name} ({lines} lines)" for kind, name, lines in unexplained)
    )
