"""Functions travel as source: how a notebook's functions and their helpers are sent.

Bytecode and pickles are tied to one Python version (the browser runs 3.12, the
executor may not), so a function crosses as the text of its definition, without the
``@remote`` decorator, and what it uses from the notebook follows it: helper functions
and classes as source, modules and library objects as imports, data as values.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types

from ..errors import TransferError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dependency", "function_source", "parameter_names"]


_cache: dict[Any, str] = {}


def function_source(function: Any) -> str:
    """The dedented source of a function or class defined in a cell, minus ``@remote``."""
    function = getattr(function, "__wrapped__", function)
    code = getattr(function, "__code__", None)  # one per definition: re-running a cell makes anew
    if code is not None and code in _cache:
        return _cache[code]
    source = _source(function)
    if code is not None:
        _cache[code] = source
    return source


def _source(function: Any) -> str:
    name = getattr(function, "__name__", repr(function))
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as exc:
        raise TransferError(
            f"the source of {name} is not available ({exc}), and functions travel to the "
            "executor as source. Define it in a notebook cell (or a module the executor can "
            "import) and run that cell again; on a Pyodide page of your own, run the code with "
            "a file name, pyodide.runPythonAsync(code, {filename: 'cell1.py'}), so Python keeps "
            "its source.",
            name=name,
            type_name=type(function).__name__,
        ) from exc
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        lines = source.splitlines(True)
        for decorator in reversed(node.decorator_list):
            if "remote" in ast.unparse(decorator):
                start, end = decorator.lineno - 1, decorator.end_lineno or decorator.lineno
                del lines[start:end]
        source = "".join(lines)
    return source


def dependency(name: str, value: Any) -> tuple[str, Any]:
    """How ``value``, bound to ``name`` in the notebook, reaches the executor.

    ``("import", [module, attribute or None, name])``, ``("source", text)`` or
    ``("value", None)`` (encode it with :class:`~bento_wasm.offload.values.Encoder`).
    """
    if isinstance(value, types.ModuleType):
        return "import", [value.__name__, None, name]
    value = getattr(value, "__wrapped__", value)
    if not isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return "value", None
    module = getattr(value, "__module__", None) or ""
    qualname = getattr(value, "__qualname__", "")
    if module == "__main__":
        if isinstance(value, types.FunctionType) and value.__name__ == "<lambda>":
            return "source", _lambda_source(name, value)
        return "source", function_source(value)
    if module and "<" not in qualname:
        return "import", [module, qualname, name]
    return "value", None


def _lambda_source(name: str, function: Any) -> str:
    source = textwrap.dedent(inspect.getsource(function)).strip()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    target = tree.body[0] if tree and len(tree.body) == 1 else None
    if isinstance(target, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == name for t in target.targets
    ):
        return source
    raise TransferError(
        f"`{name}` is a lambda defined inside a larger statement; its source cannot be sent on "
        f"its own. Write it as `def {name}(...)` in a cell.",
        name=name,
        type_name="function",
    )


def parameter_names(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """Labels for positional arguments in errors: "argument `df`", "argument 3"."""
    try:
        params = [
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [
        f"argument `{params[i]}`" if i < len(params) else f"argument {i + 1}"
        for i in range(len(args))
    ]
