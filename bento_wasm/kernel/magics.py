"""Magics without IPython: a registry, cell/line splitting and option parsing.

The project's own kernel has no IPython (it would cost seconds at start-up), so
magics are plain functions registered here and dispatched by
:class:`~bento_wasm.kernel.interpreter.Kernel`:

- a cell whose first line is ``%%name args`` calls the cell magic ``name`` with
  ``(ctx, args, body)``; a non-``None`` return value is shown as the cell's result;
- a line ``%name args`` anywhere in a cell becomes a call of the line magic ``name``
  with ``(ctx, args)`` (as IPython's input transformer does), its value usable in code.

Handlers may be ``async``; a line magic registered with ``awaited=True`` (``%pip``) is
awaited where it stands (the line becomes ``await <call>``), so it must stand at the top level
of a cell, not indented. ``ctx`` is a :class:`MagicContext` (the kernel's namespace
and a ``display`` function). In IPython kernels, ``%load_ext bento_wasm`` registers the
same functions with IPython. Third-party magics register through the entry point
group ``bento_wasm.magics`` (STYLE.md #13): each entry point is a callable that
receives the :class:`MagicRegistry`.

Options are parsed with :class:`MagicArgumentParser`: argparse with shell quoting,
which raises :class:`~bento_wasm.errors.MagicError` with the usage instead of exiting.
"""

from __future__ import annotations

import re
from functools import cache

from ..errors import MagicError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable, Collection
    from typing import Any

    CellMagic = Callable[["MagicContext", str, str], "Any | Awaitable[Any]"]
    LineMagic = Callable[["MagicContext", str], "Any | Awaitable[Any]"]

__all__ = [
    "AWAIT_MAGIC_CALL",
    "LINE_MAGIC_CALL",
    "MagicArgumentParser",
    "MagicContext",
    "MagicRegistry",
    "registry",
    "split_cell_magic",
    "transform_line_magics",
]

#: The name a line magic line is rewritten to call; the kernel binds it in the namespace.
LINE_MAGIC_CALL = "__bento_line_magic__"
#: The same for an awaited line magic (``await __bento_await_magic__(name, args)``).
AWAIT_MAGIC_CALL = "__bento_await_magic__"

_CELL_HEADER = re.compile(r"\A\s*%%(?P<name>[A-Za-z_][\w-]*)[ \t]*(?P<args>[^\n]*)(?:\n|\Z)")
_LINE_MAGIC = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<target>[A-Za-z_][\w, \t]*?)\s*=\s*)?"
    r"%(?P<name>[A-Za-z_][\w-]*)(?P<args>[^\n]*)$",
    re.MULTILINE,
)


class MagicContext:
    """What a magic handler may use: the user's namespace and the output functions."""

    def __init__(self, namespace: dict[str, Any], display: Callable[..., Any]) -> None:
        self.namespace = namespace
        self.display = display


class MagicRegistry:
    """Cell and line magics by name."""

    def __init__(self) -> None:
        self.cell: dict[str, CellMagic] = {}
        self.line: dict[str, LineMagic] = {}
        #: Line magics whose (async) handler the cell awaits where the magic stands.
        self.awaited: set[str] = set()
        self._entry_points_loaded = False

    def register_cell(self, name: str, handler: CellMagic) -> CellMagic:
        self.cell[name] = handler
        return handler

    def register_line(self, name: str, handler: LineMagic, awaited: bool = False) -> LineMagic:
        self.line[name] = handler
        if awaited:
            self.awaited.add(name)
        else:
            self.awaited.discard(name)
        return handler

    def cell_magic(self, name: str) -> CellMagic:
        self._load_entry_points()
        if name not in self.cell:
            raise MagicError(
                f"unknown cell magic %%{name}; known: "
                f"{', '.join('%%' + n for n in sorted(self.cell)) or 'none'}"
            )
        return self.cell[name]

    def line_magic(self, name: str) -> LineMagic:
        self._load_entry_points()
        if name not in self.line:
            raise MagicError(
                f"unknown line magic %{name}; known: "
                f"{', '.join('%' + n for n in sorted(self.line)) or 'none'}"
            )
        return self.line[name]

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group="bento_wasm.magics"):
            entry.load()(self)


#: The registry the kernel uses; modules register their magics into it when imported.
registry = MagicRegistry()


def split_cell_magic(code: str) -> tuple[str, str, str] | None:
    """``(name, args, body)`` if ``code`` starts with a ``%%name`` header, else ``None``."""
    match = _CELL_HEADER.match(code)
    if match is None:
        return None
    return match["name"], match["args"].strip(), code[match.end() :]


def transform_line_magics(code: str, awaited: Collection[str] = ()) -> str:
    """Rewrite ``%name args`` lines (and ``x = %name args``) into calls of the line magic;
    a magic named in ``awaited`` becomes an awaited call.

    The arguments become a string literal (``repr``), never code. Lines inside a
    multi-line string are left alone when the cell has none to rewrite; cells that
    mix both are rare enough that IPython has the same limit.
    """
    if "%" not in code:
        return code

    def rewrite(match: re.Match[str]) -> str:
        name = match["name"]
        # Only a line that is not indented (never inside a function, where `await` is a
        # SyntaxError): an indented one stays a call, which says where the magic must stand.
        at_top = name in awaited and not match["indent"]
        function = f"await {AWAIT_MAGIC_CALL}" if at_top else LINE_MAGIC_CALL
        call = f"{function}({name!r}, {match['args'].strip()!r})"
        target = f"{match['target'].strip()} = " if match["target"] else ""
        return f"{match['indent']}{target}{call}"

    return _LINE_MAGIC.sub(rewrite, code)


class MagicArgumentParser:
    """argparse for magic options: errors raise MagicError with the usage, never exit.

    The argparse parser is built when a line is first parsed: importing argparse (with
    gettext) and shlex costs about 80 ms in wasm, and magics declare their options at import,
    on the kernel's boot path.
    """

    def __init__(self, magic: str, **kwargs: Any) -> None:
        self.prog = magic
        self._kwargs = kwargs
        self._arguments: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._parser: argparse.ArgumentParser | None = None

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        self._arguments.append((args, kwargs))
        if self._parser is not None:
            self._parser.add_argument(*args, **kwargs)

    def format_usage(self) -> str:
        return self._built().format_usage()

    def parse_line(self, line: str) -> argparse.Namespace:
        import argparse
        import shlex

        parser = self._built()
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise MagicError(f"{self.prog}: {exc} in {line!r}") from exc
        try:
            return parser.parse_args(words)
        except argparse.ArgumentError as exc:
            raise MagicError(f"{self.prog}: {exc}\n{self.format_usage().strip()}") from exc

    def _built(self) -> argparse.ArgumentParser:
        if self._parser is None:
            self._parser = _raising_parser()(self.prog, self._kwargs)
            for args, kwargs in self._arguments:
                self._parser.add_argument(*args, **kwargs)
        return self._parser


@cache
def _raising_parser() -> Any:
    """The argparse subclass behind MagicArgumentParser (defined when argparse is imported)."""
    import argparse

    class RaisingParser(argparse.ArgumentParser):
        def __init__(self, prog: str, kwargs: dict[str, Any]) -> None:
            super().__init__(prog=prog, add_help=False, exit_on_error=False, **kwargs)

        def error(self, message: str) -> Any:  # argparse calls this; it must not return
            raise MagicError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    return RaisingParser
