"""The layout holds: no import circles, and each package imports only what it may.

Read from the source with ``ast`` (every import, also those inside functions and
``TYPE_CHECKING`` blocks), so a lazy import cannot hide a circle or a layer crossing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "bento_wasm"

#: What each part of the package may import besides itself and the standard library.
#: A part is a top-level module or a subpackage; ``*`` is every core part.
CORE = (
    "errors",
    "protocol",
    "environment",
    "runtime",
    "kernel",
    "arrow",
    "memory",
    "data",
    "offload",
    "runs",
    "ipython",
    "schedule",
)
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "protocol": {"errors"},
    "runtime": {"errors"},
    "environment": {"errors", "memory"},
    "kernel": {"errors", "protocol"},
    "arrow": {"errors"},
    "memory": {"errors", "kernel"},
    "data": {"errors", "environment", "kernel", "arrow"},
    "offload": {"errors", "environment", "protocol", "kernel", "arrow"},
    # runs/__init__'s execute_notebook and plan_run are the one door into the host layer.
    "runs": {"errors", "kernel", "data", "arrow", "offload", "host"},
    "ipython": {"errors", "environment", "kernel", "memory", "data", "offload"},
    "__init__": {"errors", "ipython", "data", "offload"},  # connect() sets both executors
    "cli": set(),  # dispatches by name (importlib): each command lives with its capability
    "schedule": {"errors", "runs"},
    "browser": {*CORE, "__init__"},
    "airflow": {"errors", "runs", "schedule"},
    "server": {*CORE, "__init__"},
    "host": {*CORE, "server", "__init__"},  # headless runs: Node.js, prefetch, uploads
}
#: The one door from the core into a layer: the environment seam's factory (STYLE.md #1).
SEAM = ("bento_wasm.environment", "bento_wasm.browser.environment")
FOREIGN_LAYERS = {
    "js": "browser",
    "pyodide": "browser",
    "pyodide_js": "browser",
    "jupyter_server": "server",
    "tornado": "server",
    "traitlets": "server",
    "airflow": "airflow",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports, and the foreign roots it imports."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
    return found


GRAPH = {m: {i for i in imports(m) if i in MODULES and i != m} for m in MODULES}


def circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_circles():
    assert circles() == []


def test_the_circle_finder_finds_a_circle():
    """The check above can fail: a planted circle is found."""
    saved = {m: set(GRAPH[m]) for m in ("bento_wasm.errors",)}
    GRAPH["bento_wasm.errors"].add("bento_wasm.protocol")
    try:
        assert ["bento_wasm.errors", "bento_wasm.protocol"] in circles()
    finally:
        GRAPH.update(saved)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_what_its_part_may(module):
    mine = part(module)
    allowed = MAY_IMPORT[mine] | {mine}
    wrong = sorted(
        target
        for target in GRAPH[module]
        if part(target) not in allowed and (module, target) != SEAM
    )
    assert wrong == [], f"{module} ({mine}/) may import only {sorted(allowed)}"
    foreign = {name.split(".")[0] for name in imports(module)} & set(FOREIGN_LAYERS)
    misplaced = sorted(f for f in foreign if FOREIGN_LAYERS[f] != mine)
    assert misplaced == [], f"{module} imports {misplaced}: only their layer package may"


def test_every_part_says_what_it_owns_and_may_import():
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
        assert "Owns" in doc and "May import" in doc, folder.name


def test_top_level_stays_small_and_modules_stay_short():
    top = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 8, top
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
