"""The emulator's own code stays small and acyclic: no module over 400 lines, no import cycle
(module-level or under TYPE_CHECKING) between its modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "stashplex" / "sandbox" / "plex"
PREFIX = "stashplex.sandbox.plex"


def _imports(path: Path) -> set[str]:
    """Sibling modules a module imports anywhere (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PREFIX:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX + "."):
                found.add(node.module.removeprefix(PREFIX + ".").split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX + "."):
                    found.add(alias.name.removeprefix(PREFIX + ".").split(".")[0])
    return found


def _graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_no_module_of_the_emulator_has_400_lines_or_more() -> None:
    # Given / When
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}

    # Then
    assert {name: size for name, size in sizes.items() if size >= 400} == {}


def test_the_emulators_modules_import_each_other_without_a_cycle() -> None:
    # Given
    graph = _graph()
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    # When: a depth-first walk looking for a back edge
    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])

    # Then
    assert cycles == []
    assert "emulator" not in graph["admin"]
