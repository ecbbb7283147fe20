"""The data API without magics, for scripts and plain Pyodide pages (no IPython)::

    import bento_wasm
    bento_wasm.connect("http://127.0.0.1:8888", token="...")   # @remote and the data API
    df = bento_wasm.sql("select * from orders where quantity >= :q", params={"q": 3})
    job = bento_wasm.upload(df, "orders_copy", mode="replace")  # the job, queued
    bento_wasm.upload_status(job["id"])                          # {"state": "done", ...}

The same requests as ``%%sql`` and ``%dataframe`` (parameters bound by the database, Arrow
both ways, the same errors); blocking, so in a browser they need a Web Worker (synchronous
XHR), as the magics do. pandas and pyarrow are loaded when first needed.
"""

from __future__ import annotations

from ..kernel.magics import MagicContext
from .session import RESULT, session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["sql", "upload", "upload_status"]


def _discard(*args: Any, **kwargs: Any) -> None:
    """No displays outside a notebook."""


def sql(
    query: str,
    *,
    connection: str = "default",
    limit: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """The query's result as a pandas DataFrame; ``:name`` in the SQL takes ``params[name]``."""
    from .cells import sql_magic

    namespace: dict[str, Any] = dict(params or {})
    line = f"-c {connection} -o {RESULT}" + ("" if limit is None else f" --limit {int(limit)}")
    _run(sql_magic(MagicContext(namespace, _discard), line, query))
    return namespace[RESULT]


def upload(frame: Any, table: str, *, connection: str = "default", mode: str = "create") -> Any:
    """Start an upload job of ``frame`` into ``table`` (``mode``: create, append, replace);
    returns the job as the server answered it (``id``, ``state``: queued)."""
    from ..arrow.ipc import to_ipc
    from ..environment import need
    from .parsing import parse_dataframe

    cell = parse_dataframe(f"{RESULT} --table {table} -c {connection} --mode {mode}", "")
    if type(frame).__name__ != "DataFrame":
        from ..errors import MagicError

        raise MagicError(f"upload() takes a pandas DataFrame, not a {type(frame).__name__}")
    need()
    data = session()
    return data.call_now(cell.request(data.executor, bytes(to_ipc(frame))))


def upload_status(job_id: str) -> Any:
    """The upload job now: ``state`` (queued, running, done, failed, cancelled), rows, bytes."""
    data = session()
    return data.call_now(data.executor.request(f"uploads/{job_id}"))


def _run(coroutine: Any) -> Any:
    """Drive a handler to its end: through the environment seam nothing suspends."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("the data API waited on an event loop; use the magics in this kernel")


def configure_executor(url: str, token: str = "") -> None:
    """Point the data API and the data magics at the executor at ``url``."""
    session().options["executor"] = {"url": url, "token": token}
