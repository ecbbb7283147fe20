"""The offload planner: what a cell reads, binds and imports, and whether it is lite.

Pure functions from source text (and data about the runtime) to plain records, no IO
(STYLE.md #2), so the same planner runs in the worker before every cell and in CPython
tests in milliseconds:

- :func:`analyze` finds the free variables a cell reads from the notebook's namespace,
  the names it binds there, and the top-level modules it imports (``ast``, scope aware:
  functions, lambdas, comprehensions and classes have their own scopes).
- :class:`Available` says which modules the browser can provide: Pyodide's stdlib, the
  packages of the runtime's lock that are present (``pyodide-lock.json`` +
  ``bento-runtime.json``), what is installed, and pure-Python packages the user names.
- :func:`plan` turns both, plus the sizes of the values the cell reads and the memory
  budget's headroom, into a :class:`Plan`: lite (run in the browser) or not, and why.
"""

from __future__ import annotations

import ast
import builtins
import sys
from typing import NamedTuple

from .magics import LINE_MAGIC_CALL, split_cell_magic, transform_line_magics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = ["Available", "CellAnalysis", "Plan", "analyze", "plan"]

#: Names the kernel itself provides: never read from the user's namespace.
_BUILTINS = frozenset([*dir(builtins), LINE_MAGIC_CALL])
#: CPython stdlib modules that Pyodide does not ship (they need a terminal, a GUI or processes).
PYODIDE_MISSING_STDLIB = frozenset(
    {"tkinter", "turtle", "turtledemo", "curses", "dbm", "ensurepip", "idlelib", "venv",
     "readline", "msvcrt", "winreg", "winsound", "_tkinter", "nis", "ossaudiodev", "spwd"}
)  # fmt: skip
#: Working memory a cell needs for the data it reads, as a multiple of that data's size
#: (most DataFrame operations make at least one copy).
WORKING_FACTOR = 2.0


class CellAnalysis(NamedTuple):
    """What a cell does to the namespace, in order of first appearance."""

    reads: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    star_import: bool = False
    syntax_error: str = ""


class _Scope:
    __slots__ = ("bound", "comprehension", "declared_global", "reads")

    def __init__(self, bound: set[str] | None = None, comprehension: bool = False) -> None:
        self.bound: set[str] = bound if bound is not None else set()
        self.declared_global: set[str] = set()
        self.reads: list[str] = []
        self.comprehension = comprehension


class _Analyzer(ast.NodeVisitor):
    """Walks a module; ``reads`` are free names read before the cell binds them."""

    def __init__(self) -> None:
        self.module = _Scope()
        self.scopes: list[_Scope] = [self.module]
        self.binds: list[str] = []
        self.deletes: list[str] = []
        self.imports: list[str] = []
        self.deferred: list[str] = []  # free names of function bodies: read at call time
        self.star_import = False

    # -- names ---------------------------------------------------------------------
    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]

    def _bind(self, name: str) -> None:
        scope = self.scope
        if scope is self.module or name in scope.declared_global:
            _add(self.binds, name)
            self.module.bound.add(name)
        else:
            scope.bound.add(name)

    def _read(self, name: str) -> None:
        for scope in reversed(self.scopes):
            if name in scope.bound and name not in scope.declared_global:
                return
        if len(self.scopes) > 1:
            _add(self.deferred, name)
        elif name not in _BUILTINS:
            _add(self.module.reads, name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        elif isinstance(node.ctx, ast.Store):
            self._bind(node.id)
        else:
            self._read(node.id)
            if self.scope is self.module:
                _add(self.deletes, node.id)

    # -- statements whose order matters -------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
            self._bind(node.target.id)
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        # PEP 572: in a comprehension the target binds in the enclosing function scope.
        saved = self.scopes
        while len(self.scopes) > 1 and self.scope.comprehension:
            self.scopes = self.scopes[:-1]
        self._bind(node.target.id)
        self.scopes = saved

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.bound.update(node.names)

    # -- imports -------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            _add(self.imports, alias.name.split(".")[0])
            self._bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            _add(self.imports, node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
            else:
                self._bind(alias.asname or alias.name)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        # __import__("x") and importlib.import_module("x") with a literal name
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in {"__import__", "import_module"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                _add(self.imports, first.value.split(".")[0])

    # -- scopes --------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_defaults(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self._bind(node.name)
        self._function_scope(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)
        self._function_scope(node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.scopes.append(_Scope())
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        self._bind(node.name)

    def _visit_defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)
        for arg in _all_args(args):
            if arg.annotation is not None:
                self.visit(arg.annotation)

    def _function_scope(self, args: ast.arguments, body: list[Any]) -> None:
        scope = _Scope(bound={a.arg for a in _all_args(args)})
        # Names assigned anywhere in a function are local to all of it (no order).
        for stmt in body:
            scope.bound.update(_local_targets(stmt))
        self.scopes.append(scope)
        for stmt in body:
            if isinstance(stmt, ast.Global):
                scope.declared_global.update(stmt.names)
                scope.bound.difference_update(stmt.names)
        for stmt in body:
            self.visit(stmt)
        self.scopes.pop()

    def _comprehension(self, node: Any, parts: list[ast.expr]) -> None:
        generators: list[ast.comprehension] = node.generators
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        self.scopes.append(_Scope(comprehension=True))
        for index, generator in enumerate(generators):
            if index:
                self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for part in parts:
            self.visit(part)
        self.scopes.pop()

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    # -- match statements ------------------------------------------------------------
    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest)


def _all_args(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _local_targets(stmt: ast.stmt) -> set[str]:
    """Names a function body binds, without entering nested scopes."""
    found: set[str] = set()
    pending: list[ast.AST] = [stmt]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            found.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
            continue
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp):
            continue
        if isinstance(node, ast.GeneratorExp):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _add(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)


def python_source(code: str) -> str | None:
    """The Python a cell runs (line magics rewritten), or ``None`` for a cell magic."""
    if split_cell_magic(code) is not None:
        return None
    return transform_line_magics(code)


def analyze(source: str) -> CellAnalysis:
    """Free variables, bound names and imports of a cell (``SyntaxError`` -> ``syntax_error``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return CellAnalysis(syntax_error=f"{exc.msg} (line {exc.lineno})")
    walker = _Analyzer()
    for stmt in tree.body:
        walker.visit(stmt)
    reads = list(walker.module.reads)
    for name in walker.deferred:
        if name not in walker.module.bound and name not in _BUILTINS:
            _add(reads, name)
    return CellAnalysis(
        reads=tuple(reads),
        binds=tuple(n for n in walker.binds if n not in walker.deletes),
        imports=tuple(walker.imports),
        deletes=tuple(walker.deletes),
        star_import=walker.star_import,
    )


class Available(NamedTuple):
    """Which top-level modules the browser can import (data about the runtime, no probing).

    Plain classes and NamedTuples here, not dataclasses: this module is on the worker's boot
    path, and importing dataclasses costs ~35 ms in wasm."""

    modules: frozenset[str] = frozenset()

    @classmethod
    def from_runtime(
        cls,
        lock: Mapping[str, Any],
        present: Iterable[str] | None = None,
        *,
        installed: Iterable[str] = (),
        pure_python: Iterable[str] = (),
        stdlib: Iterable[str] | None = None,
    ) -> Available:
        """From ``pyodide-lock.json`` (and ``bento-runtime.json``'s ``packages``: those present).

        A package listed in the lock but absent from the runtime folder would install
        "successfully" and then fail to import (RUNTIME.md), so only present ones count.
        """
        wanted = None if present is None else set(present)
        modules = set(sys.stdlib_module_names if stdlib is None else stdlib)
        modules -= PYODIDE_MISSING_STDLIB
        for name, package in dict(lock.get("packages") or {}).items():
            if wanted is not None and name not in wanted:
                continue
            modules.update(package.get("imports") or ())
        modules.update(installed)
        modules.update(pure_python)
        return cls(frozenset(modules))

    def with_modules(self, names: Iterable[str]) -> Available:
        return Available(self.modules | frozenset(names))

    def provides(self, module: str) -> bool:
        return module.split(".")[0] in self.modules


class Plan(NamedTuple):
    """Where a cell should run, and why."""

    lite: bool
    reasons: tuple[str, ...] = ()
    analysis: CellAnalysis = CellAnalysis()
    missing: tuple[str, ...] = ()
    data_bytes: int = 0
    budget_bytes: int | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "runs in the browser"

    def suggestion(self) -> str:
        """What to tell a user whose non-lite cell is about to run in the browser."""
        if self.lite:
            return ""
        return (
            f"This cell may not run in the browser: {self.reason}. Run it on the executor with "
            "%%remote as its first line, or turn on automatic offload (offload.auto in the "
            "kernel options)."
        )


def plan(
    code: str,
    available: Available,
    *,
    sizes: Mapping[str, int] | None = None,
    budget_bytes: int | None = None,
    working_factor: float = WORKING_FACTOR,
) -> Plan:
    """Decide whether ``code`` is lite.

    ``sizes`` maps namespace names to their size in bytes (only the ones the cell reads
    count); ``budget_bytes`` is the memory budget's headroom (``None``: no budget).
    """
    source = python_source(code)
    if source is None:
        return Plan(lite=True, reasons=("a cell magic runs where its magic decides",))
    analysis = analyze(source)
    if analysis.syntax_error:
        return Plan(lite=True, analysis=analysis)
    reasons: list[str] = []
    missing = tuple(m for m in analysis.imports if not available.provides(m))
    if missing:
        names = ", ".join(missing)
        reasons.append(
            f"it imports {names}, which Pyodide cannot provide (not in the runtime's lock, "
            "not installed, not pure Python)"
        )
    data = sum(int((sizes or {}).get(name, 0)) for name in analysis.reads)
    if budget_bytes is not None and data * working_factor > budget_bytes:
        reasons.append(
            f"it works on {_mib(data)} of data, needing about {_mib(int(data * working_factor))}"
            f" with only {_mib(budget_bytes)} left in the memory budget"
        )
    return Plan(
        lite=not reasons,
        reasons=tuple(reasons),
        analysis=analysis,
        missing=missing,
        data_bytes=data,
        budget_bytes=budget_bytes,
    )


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"
