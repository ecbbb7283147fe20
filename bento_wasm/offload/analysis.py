"""Cell analysis: the names a cell reads from the notebook's namespace, the names it binds or
deletes there, and the top-level modules it imports.

``ast``, scope aware: functions, lambdas, comprehensions and classes have their own scopes;
a function body's free names count as read (at call time). Pure and stdlib only (STYLE.md #2):
the offload planner (:mod:`bento_wasm.offload.planner`), ``%%remote`` (what to send and bring back)
and the executor client (what a function uses) all ask it.
"""

from __future__ import annotations

import ast
import builtins
from typing import NamedTuple

from ..kernel.magics import LINE_MAGIC_CALL, split_cell_magic, transform_line_magics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CellAnalysis", "analyze", "python_source"]

#: Names the kernel itself provides: never read from the user's namespace.
_BUILTINS = frozenset([*dir(builtins), LINE_MAGIC_CALL])


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
