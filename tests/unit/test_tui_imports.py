"""The TUI's modules import one way: the app builds screens, screens never reach back for the
app. The import graph of `khronoscope.tui` is read from the source (ast, nothing imported):
imports made when a module loads (at module level or inside a function) are runtime edges;
those under `if TYPE_CHECKING:` are counted apart (they cost nothing at run time, but a cycle
through them is still a tangle a reader has to follow)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import khronoscope.tui

ROOT = Path(khronoscope.tui.__file__).parent
PACKAGE = "khronoscope.tui"
APP = "khronoscope.tui.app"


@dataclass
class Graph:
    """Edges between the package's modules, by kind."""

    modules: set[str] = field(default_factory=set)
    runtime: dict[str, set[str]] = field(default_factory=dict)
    typing: dict[str, set[str]] = field(default_factory=dict)

    def edges(self, with_typing: bool) -> dict[str, set[str]]:
        out = {m: set(self.runtime.get(m, ())) for m in self.modules}
        if with_typing:
            for m, targets in self.typing.items():
                out[m] |= targets
        return out


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it sits under `if TYPE_CHECKING:`."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def walk(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                walk(child, True)
            for child in node.orelse:
                walk(child, typing_only)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, typing_only))
        for child in ast.iter_child_nodes(node):
            walk(child, typing_only)

    walk(tree, False)
    return found


def _targets(node: ast.Import | ast.ImportFrom, modules: set[str], here: str) -> set[str]:
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = here.split(".")[: -node.level] if not here.endswith("__init__") else []
            base = ".".join([*anchor, base]) if base else ".".join(anchor)
        # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    return {n for n in names if n in modules}


def tui_graph() -> Graph:
    """The import graph of khronoscope.tui, from its source files."""
    graph = Graph()
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph.modules = set(files)
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, typing_only in _imports(tree):
            targets = _targets(node, graph.modules, name) - {name}
            kind = graph.typing if typing_only else graph.runtime
            kind.setdefault(name, set()).update(targets)
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A path of imports from `start` to `goal`, or None."""
    seen = {start}
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return None


def test_the_graph_reader_sees_the_app_import_its_screens():
    # the reader itself: the app does import the browser screen (else every check is vacuous)
    graph = tui_graph()
    assert "khronoscope.tui.screens.browser" in graph.runtime[APP]
    assert len(graph.modules) > 30


def test_no_import_cycle_among_the_tui_modules():
    graph = tui_graph()
    assert cycles(graph.edges(with_typing=False)) == [], "a cycle of runtime imports"
    assert cycles(graph.edges(with_typing=True)) == [], "a cycle through TYPE_CHECKING imports"


def test_no_screen_or_widget_imports_the_app():
    graph = tui_graph()
    edges = graph.edges(with_typing=True)
    for module in sorted(graph.modules):
        if module.startswith((f"{PACKAGE}.screens", f"{PACKAGE}.widgets")):
            path = reaches(edges, module, APP)
            assert path is None, " -> ".join(path or [])


def test_screens_never_reach_for_the_app():
    # a screen reads its ScreenContext (source, time control, settings, navigator): any
    # `.app` it touched would be the app's whole surface again
    reached = []
    for path in sorted((ROOT / "screens").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("app", "kapp"):
                reached.append(f"{path.name}:{node.lineno}")
    assert reached == []
