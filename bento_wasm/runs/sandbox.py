"""The data magics inside a headless run: answers from files, uploads into files.

Installed by :func:`bento_wasm.browser.worker.start` when the boot options carry ``run``
(data, STYLE.md #14)::

    {"inputs": {KEY: "/bento-run/inputs/3.arrow", ...},   # request_key -> Arrow IPC file
     "outbox": "/bento-run/outputs",                       # where %dataframe writes
     "graphql_endpoint": "..."}

A data cell parses its line as the page does, computes the key of its request with the
values in the namespace, and binds its variable from the prefetched file; if the key is
unknown (an earlier cell changed a value the query uses), it fails naming the reason. A
``%dataframe`` cell writes its DataFrame as an Arrow file and a line in ``uploads.jsonl``;
the host uploads after the run succeeds.
"""

from __future__ import annotations

import json
import os

from ..data.parsing import parameter_values, parse_dataframe, parse_graphql, parse_sheet, parse_sql
from ..errors import MagicError, RunFailed
from ..kernel.magics import MagicContext, registry
from .plan import request_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..kernel.interpreter import Kernel

__all__ = ["RunSession", "install"]

UPLOADS_MANIFEST = "uploads.jsonl"


class RunSession:
    def __init__(self, kernel: Kernel, options: dict[str, Any]) -> None:
        self.kernel = kernel
        self.inputs: dict[str, str] = dict(options.get("inputs") or {})
        self.outbox = str(options.get("outbox") or "")
        self.graphql_endpoint = str(options.get("graphql_endpoint") or "")
        self.uploads = 0

    def bind(self, ctx: MagicContext, kind: str, request: dict[str, Any], name: str | None) -> Any:
        from ..arrow.ipc import bind
        from ..data.cells import Summary

        path = self.inputs.get(request_key(kind, request))
        if path is None:
            raise RunFailed(
                f"this %%{kind} cell's request was not prefetched: a value it uses differs "
                "from the run's parameters (an earlier cell changed it); make the value a "
                "parameter"
            )
        with open(path, "rb") as f:
            data = f.read()
        target = name or "__bento_result__"
        bind(ctx.namespace, target, data, admit=self.kernel.admit)
        if name is None:
            return ctx.namespace.pop(target)
        return Summary(name, ctx.namespace[name], f"%%{kind} (prefetched)")


_run: RunSession | None = None


def _session() -> RunSession:
    if _run is None:
        raise MagicError("the run's data session is not installed")
    return _run


async def sql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    cell = parse_sql(line, body)
    request = {
        "connection": cell.connection,
        "sql": cell.sql,
        "params": parameter_values(cell.names, ctx.namespace),
        "limit": cell.limit,
    }
    return _session().bind(ctx, "sql", request, cell.output)


async def graphql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    run = _session()
    cell = parse_graphql(line, body, run.graphql_endpoint)
    request = {
        "endpoint": cell.endpoint,
        "query": cell.query,
        "variables": cell.variables,
        "path": list(cell.path),
    }
    return run.bind(ctx, "graphql", request, cell.output)


def googlesheet_magic(ctx: MagicContext, line: str, body: str = "") -> Any:
    cell = parse_sheet(line, body)
    request = {"sheet_id": cell.sheet_id, "gid": cell.gid}
    return _session().bind(ctx, "sheet", request, cell.output)


def dataframe_magic(ctx: MagicContext, line: str, body: str = "") -> Any:
    """Write the DataFrame as an Arrow file; the host uploads it after the run succeeds."""
    from ..arrow.ipc import to_ipc

    run = _session()
    cell = parse_dataframe(line, body)
    frame: Any = ctx.namespace.get(cell.name)
    if type(frame).__name__ != "DataFrame":
        raise MagicError(
            f"%%dataframe: {cell.name!r} is not a pandas DataFrame; create it in a cell above"
        )
    run.uploads += 1
    path = os.path.join(run.outbox, f"upload-{run.uploads}.arrow")
    data = to_ipc(frame)
    with open(path, "wb") as f:
        f.write(data)
    entry = {
        "file": path,
        "name": cell.name,
        "connection": cell.connection,
        "table": cell.table,
        "mode": cell.mode,
        "rows": len(frame),
    }
    with open(os.path.join(run.outbox, UPLOADS_MANIFEST), "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    print(
        f"upload of {cell.name} ({len(frame)} rows) to {cell.connection}.{cell.table} "
        f"({cell.mode}) deferred: the host uploads it after the run succeeds"
    )
    return None


def install(kernel: Kernel, options: dict[str, Any]) -> RunSession:
    """Register the run's data magics (they replace the page's) in the kernel's registry."""
    global _run
    _run = RunSession(kernel, options)
    registry.register_cell("sql", sql_magic)
    registry.register_cell("graphql", graphql_magic)
    for name, handler in (("googlesheet", googlesheet_magic), ("dataframe", dataframe_magic)):
        registry.register_cell(name, handler)
        registry.register_line(name, handler)
    return _run
