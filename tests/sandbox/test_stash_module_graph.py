"""The emulator's modules form no import cycle and stay small.

Every import counts, including those under `if TYPE_CHECKING:` and those inside functions: a
cycle that only type checkers see still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import stashplex.sandbox

SANDBOX = Path(stashplex.sandbox.__file__).resolve().parent
PACKAGE_ROOT = SANDBOX.parents[1]
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _emulator_modules() -> dict[str, Path]:
    paths = [SANDBOX / "plugin_runner.py", *sorted((SANDBOX / "stash").glob("*.py"))]
    return {_module_name(path): path for path in paths}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every module of `known` that `path` imports, wherever the import statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_emulator_modules_import_each_other_without_cycles():
    # Given the plugin runner and every module of the Stash emulator
    modules = _emulator_modules()

    # When their imports (runtime, TYPE_CHECKING and function-local alike) are collected
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}

    # Then no module reaches itself again, in particular plugin_runner <-> context and
    # emulator <-> http_server are one-way
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    assert "stashplex.sandbox.stash.emulator" not in graph["stashplex.sandbox.stash.http_server"]
    assert "stashplex.sandbox.plugin_runner" not in graph["stashplex.sandbox.stash.context"]


def test_every_emulator_source_file_stays_under_400_lines():
    # Given every Python file of the Stash emulator and the plugin runner
    sources = sorted(_emulator_modules().values())

    # When their lines are counted
    too_long = {
        str(path.relative_to(PACKAGE_ROOT)): count
        for path in sources
        if (count := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }

    # Then none reaches 400 lines
    assert too_long == {}
