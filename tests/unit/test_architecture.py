"""The tree is the architecture: layers from docs/architecture.md, no cycles, small files.

The import graph is read with ``ast`` from the source (every import: module level, inside
functions, under ``TYPE_CHECKING``), so a cycle hidden behind a lazy import still counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_LINES = 400
#: The pure layer answers with values; these would let it reach the outside world.
IO_MODULES = {
    "http", "persistqueue", "plexapi", "pykka", "requests", "socket", "sqlite3", "subprocess",
    "urllib.request",
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    paths = [*ROOT.glob("stashplex/**/*.py"), *ROOT.glob("actors/**/*.py"), ROOT / "supervisor.py"]
    return {module_name(path): path for path in paths}


def imported_names(path: Path, module: str) -> set[str]:
    """Every name an import statement in ``path`` binds, in absolute dotted form.

    ``from a import b`` gives ``a.b``: that is module ``a.b`` if there is one, else name ``b`` of
    module ``a`` (:func:`import_graph` walks up to the nearest module).
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for imported in imported_names(path, module):
            name = imported
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def documented_layers() -> dict[str, int]:
    """``package -> rank`` from the layer table in docs/architecture.md (rank 0 is the top)."""
    rows = re.findall(r"^\| (\d+) \| `([\w.]+)` \|", ARCHITECTURE.read_text(), re.MULTILINE)
    assert rows, "docs/architecture.md has no layer table (| rank | `package` | ...)"
    return {package: int(rank) for rank, package in rows}


def layer_of(module: str, layers: dict[str, int]) -> str:
    matches = [p for p in layers if module == p or module.startswith(p + ".")]
    assert matches, f"{module} is in no layer of docs/architecture.md; give its package a row"
    return max(matches, key=len)


def test_given_the_project_sources_when_imports_are_followed_then_no_module_imports_itself_back():
    graph = import_graph()

    found = cycles(graph)

    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_given_the_documented_layers_when_each_import_is_ranked_then_none_points_upwards():
    layers = documented_layers()
    graph = import_graph()

    upward = []
    for module, targets in sorted(graph.items()):
        source = layer_of(module, layers)
        for target in sorted(targets):
            destination = layer_of(target, layers)
            if layers[destination] < layers[source]:
                upward.append(f"{module} ({source}) imports {target} ({destination})")

    assert upward == [], "imports against the layer order:\n" + "\n".join(upward)


def test_given_the_pure_sync_layer_when_its_imports_are_listed_then_none_does_io():
    modules = {m: p for m, p in project_modules().items() if m.startswith("stashplex.sync")}

    reaching_out = sorted(
        f"{module} imports {name}"
        for module, path in modules.items()
        for name in imported_names(path, module)
        if any(name == io or name.startswith(io + ".") for io in IO_MODULES)
    )

    assert modules and reaching_out == []


def test_given_the_stashplex_folder_when_listed_then_its_top_holds_only_subpackages():
    top = ROOT / "stashplex"

    loose = sorted(
        path.name
        for path in top.iterdir()
        if path.suffix == ".py" and path.name not in ("__init__.py", "__main__.py")
    )
    packages_without_init = sorted(
        path.name
        for path in top.iterdir()
        if path.is_dir() and path.name != "__pycache__" and not (path / "__init__.py").exists()
    )

    assert loose == [] and packages_without_init == []


@pytest.mark.parametrize("folder", ["stashplex", "actors", "bench"])
def test_given_a_source_folder_when_its_files_are_measured_then_none_exceeds_400_lines(folder):
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / folder).rglob("*.py")
    }

    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}

    assert sizes and too_long == {}


def test_given_every_subpackage_when_its_init_is_read_then_it_names_its_public_surface():
    layers = documented_layers()
    packages = [p for p in layers if p.startswith("stashplex.") and p.count(".") == 1]

    missing = []
    for package in packages:
        init = ROOT / Path(*package.split(".")) / "__init__.py"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        has_docstring = ast.get_docstring(tree) is not None
        names_all = any(
            isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
            )
            for node in tree.body
        )
        if not (has_docstring and names_all):
            missing.append(package)

    assert packages and missing == []
