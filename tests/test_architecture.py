"""The house keeps its shape: service packages in layers, no import circles, small modules.

Imports are read from the source (ast), so the test sees function-level imports too (they are
how a circle hides); only imports under `if TYPE_CHECKING:` are left out (never run).
"""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIELDLOG = ROOT / "fieldlog"
SERVICES = FIELDLOG / "services"
# Lowest first: a package may import only the packages before it (docs/architecture.md).
LAYERS = ["common", "people", "jobs", "org", "register", "attendance", "records", "integrity",
          "review", "inspection", "reporting", "demo"]
MAX_SERVICE_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Every module imported outside `if TYPE_CHECKING:` blocks."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    """Module → the fieldlog modules it imports (names that are not modules are dropped)."""
    files = {_module_name(p): p for p in FIELDLOG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        imports = _runtime_imports(ast.parse(path.read_text(), str(path)))
        graph[name] = {i for i in imports if i in files and i != name}
    return graph


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["fieldlog", "services"] else None


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """Return one circle in a directed graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := walk(node)):
            return found
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _graph()


def test_every_service_module_lives_in_a_known_package(graph):
    loose = [p.name for p in SERVICES.glob("*.py") if p.name != "__init__.py"]
    unknown = {_package(m) for m in graph if _package(m)} - set(LAYERS)
    assert not loose, f"service modules outside a domain package: {loose}"
    assert not unknown, f"packages missing from LAYERS (and docs/architecture.md): {unknown}"


def test_service_packages_import_only_the_layers_below(graph):
    wrong = []
    for module, imports in graph.items():
        if (mine := _package(module)) is None:
            continue
        for target in imports:
            theirs = _package(target)
            if theirs and theirs != mine and LAYERS.index(theirs) > LAYERS.index(mine):
                wrong.append(f"{module} → {target}")
    assert not wrong, "a service package imports a package above it:\n" + "\n".join(wrong)


def test_no_import_circle_between_service_packages(graph):
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imports in graph.items():
        for target in imports:
            if _package(module) and _package(target) and _package(module) != _package(target):
                edges[_package(module)].add(_package(target))
    assert _cycle(edges) is None, f"service packages import in a circle: {_cycle(edges)}"


def test_no_import_circle_between_service_modules(graph):
    edges = {m: {t for t in imports if _package(t)} for m, imports in graph.items()
             if _package(m)}
    assert _cycle(edges) is None, f"service modules import in a circle: {_cycle(edges)}"


def test_no_layer_imports_one_above_it(graph):
    above = {"fieldlog.models": ("fieldlog.services", "fieldlog.views", "fieldlog.schemas"),
             "fieldlog.schemas": ("fieldlog.services", "fieldlog.views"),
             "fieldlog.services": ("fieldlog.views",)}
    wrong = [f"{module} → {target}" for module, imports in graph.items() for target in imports
             for layer, forbidden in above.items()
             if module.startswith(layer) and target.startswith(forbidden)]
    assert not wrong, "a layer imports one above it:\n" + "\n".join(wrong)


def test_imports_are_absolute_so_the_graph_sees_them():
    """The graph reads `fieldlog.…` names; a relative import (`from ..records import x`) would
    slip past every rule above, so there are none."""
    relative = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in FIELDLOG.rglob("*.py")
                for node in ast.walk(ast.parse(path.read_text(), str(path)))
                if isinstance(node, ast.ImportFrom) and node.level]
    assert not relative, "relative imports (write them as fieldlog.…):\n" + "\n".join(relative)


def test_the_circle_finder_finds_circles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


def test_service_modules_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in SERVICES.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_SERVICE_LINES}
    assert not big, f"service modules over {MAX_SERVICE_LINES} lines (split along a seam): {big}"


WALL_CLOCK = {"datetime.now", "datetime.utcnow", "date.today", "time.time", "time.time_ns",
              "datetime.datetime.now", "datetime.date.today"}


def test_only_the_clock_module_reads_the_wall_clock():
    """Every "now" and "today" goes through fieldlog/clock.py, so tests can move it."""
    readers = []
    for path in FIELDLOG.rglob("*.py"):
        if path.name == "clock.py" and path.parent == FIELDLOG:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in WALL_CLOCK:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert not readers, "read the time through fieldlog.clock instead:\n" + "\n".join(readers)
