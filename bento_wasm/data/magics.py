"""The data magics' registry: which handler answers ``%%sql``, ``%%dataframe``, ``%uploads`` ...

Importing this module registers them in :data:`bento_wasm.kernel.magics.registry` (the
project's worker); ``%load_ext bento_wasm`` registers the same handlers with IPython
through :func:`cell_magics`, :func:`line_magics` and :data:`BODYLESS`.
"""

from __future__ import annotations

from ..kernel.magics import registry
from . import cells, uploads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BODYLESS", "cell_magics", "line_magics"]


def _register() -> None:
    BODYLESS.update(googlesheet=cells.googlesheet_magic, dataframe=uploads.dataframe_magic)
    registry.register_cell("sql", cells.sql_magic)
    registry.register_cell("graphql", cells.graphql_magic)
    for name, handler in BODYLESS.items():
        registry.register_cell(name, handler)
        registry.register_line(name, handler)
    registry.register_line("uploads", uploads.uploads_magic)
    registry.register_line("cancel_upload", uploads.cancel_upload_magic)
    registry.register_line("executor", cells.executor_magic)


#: Magics that take no cell body: usable as ``%name`` and ``%%name`` (both blocking).
BODYLESS: dict[str, Any] = {}


def cell_magics() -> dict[str, Any]:
    return {name: registry.cell[name] for name in ("sql", "graphql")}


def line_magics() -> dict[str, Any]:
    return {name: registry.line[name] for name in ("uploads", "cancel_upload", "executor")}


_register()
