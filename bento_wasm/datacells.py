"""The data magics: ``%%sql``, ``%%googlesheet``, ``%%graphql``, ``%%dataframe`` and friends.

Importing this module registers them in :data:`bento_wasm.magics.registry` (the project's
worker) and :func:`load_ipython_extension` registers the same functions with IPython
(``%load_ext bento_wasm`` in JupyterLite or a CPython ipykernel). Planning lives in the pure
:mod:`bento_wasm.datamagics`; the IO goes through a :class:`~bento_wasm.transport.Transport`:
in the project's worker JavaScript fetches and injects (worker_js/magics.js), elsewhere the
environment seam fetches (sync XHR in Pyodide, urllib in CPython).

Line magics: ``%uploads`` lists the upload jobs, ``%cancel_upload ID`` cancels one,
``%executor URL --token T`` points the magics at an executor server.
"""

from __future__ import annotations

import json
import os

from .errors import DataSourceError, ExecutorError
from .magics import MagicContext, registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from .datamagics import Executor, HttpRequest
    from .environment import HttpResponse
    from .transport import Transport

__all__ = ["DataSession", "configure", "session"]

#: Where a result without ``-o`` is bound for a moment, before it becomes the cell's value.
RESULT = "__bento_result__"


class DataSession:
    """What the data magics of one kernel use: its options, transport and admission check."""

    def __init__(
        self,
        transport: Transport,
        options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        admit: Callable[[int, str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.options = dict(options or {})
        self.environ = os.environ if environ is None else environ
        self.admit = admit or (lambda nbytes, what: None)

    @property
    def executor(self) -> Executor:
        from .datamagics import Executor

        return Executor.from_settings(self.options, self.environ)

    def setting(self, section: str, key: str, env: str) -> str:
        given = self.options.get(section) or {}
        return str(given.get(key) or self.environ.get(env) or "")

    async def call(self, request: HttpRequest) -> Any:
        """A JSON call to the executor; its errors come back as the server's error classes."""
        executor = self.executor
        return _decoded(executor, request, await self._send(request, executor))

    def call_now(self, request: HttpRequest) -> Any:
        """The same, blocking (line magics cannot await)."""
        executor = self.executor
        try:
            response = self.transport.fetch_now(request)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc
        return _decoded(executor, request, response)

    async def _send(self, request: HttpRequest, executor: Executor) -> HttpResponse:
        try:
            return await self.transport.fetch(request)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc

    async def bind_arrow(self, request: HttpRequest, namespace: dict[str, Any], name: str) -> None:
        executor = self.executor
        try:
            failure = await self.transport.fetch_arrow(request, namespace, name, self.admit)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc
        if failure is not None:
            raise _refused(executor, request, failure)


def _refused(executor: Executor, request: HttpRequest, response: HttpResponse) -> Exception:
    content_type = response.headers.get("content-type", "")
    return executor.refused(response.status, request.url, response.body, content_type)


def _unreachable(executor: Executor, exc: OSError) -> ExecutorError:
    return ExecutorError(
        f"cannot reach the executor at {executor.url} ({exc}); start it with `./dev run` "
        "(or `python -m bento_wasm.server`) and check the URL",
        url=executor.url,
    )


_session: DataSession | None = None


def configure(data_session: DataSession) -> DataSession:
    """Install the session the magics of this process use (the worker or IPython does it)."""
    global _session
    _session = data_session
    return data_session


def session() -> DataSession:
    global _session
    if _session is None:
        from .transport import HttpTransport

        _session = DataSession(HttpTransport())
    return _session


class Summary:
    """What a magic with ``-o NAME`` shows: the name and the shape of what it bound."""

    def __init__(self, name: str, value: Any, source: str) -> None:
        shape = getattr(value, "shape", None)
        rows, cols = shape if shape is not None and len(shape) == 2 else (len(value), 1)
        self.text = f"{name}: {rows} rows x {cols} columns from {source}"

    def __repr__(self) -> str:
        return self.text


async def sql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    from .datamagics import parse_sql

    cell = parse_sql(line, body)
    data = session()
    request = cell.request(data.executor, ctx.namespace)
    target = cell.output or RESULT
    await data.bind_arrow(request, ctx.namespace, target)
    if cell.output is None:
        return ctx.namespace.pop(RESULT)
    return Summary(cell.output, ctx.namespace[cell.output], f"%%sql -c {cell.connection}")


async def graphql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    from .datamagics import graphql_rows, parse_graphql

    data = session()
    cell = parse_graphql(line, body, data.setting("graphql", "endpoint", "BENTO_GRAPHQL_ENDPOINT"))
    request = cell.request()
    response = await _fetch_source(data, request)
    if not response.ok and not response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        raise DataSourceError(
            f"the GraphQL endpoint {cell.endpoint} answered HTTP {response.status}: "
            f"{response.text()[:200]}; check --endpoint",
            url=cell.endpoint,
            status=response.status,
        )
    try:
        answer = json.loads(response.body)
    except ValueError as exc:
        raise DataSourceError(
            f"{cell.endpoint} did not answer JSON; is it a GraphQL endpoint?", url=cell.endpoint
        ) from exc
    rows = graphql_rows(answer, cell.path, cell.endpoint)
    import pandas as pd  # type: ignore[import-untyped]

    data.admit(len(response.body), f"building the %%graphql DataFrame ({len(rows)} rows)")
    return _bind(ctx, cell.output, pd.DataFrame(rows), "%%graphql")


def googlesheet_magic(ctx: MagicContext, line: str, body: str = "") -> Any:
    """``%googlesheet`` / ``%%googlesheet``: blocking (IPython takes a body-less cell magic
    only as a line magic, and line magics cannot await); in the worker the request is a
    synchronous XHR, made by the browser with the page's credentials."""
    from .datamagics import parse_sheet, sheet_csv

    data = session()
    cell = parse_sheet(line, body)
    request = cell.request(data.setting("sheets", "exportBase", "BENTO_SHEETS_EXPORT_BASE"))
    try:
        response = data.transport.fetch_now(request)
    except OSError as exc:
        raise _source_unreachable(request, exc) from exc
    csv = sheet_csv(
        response.status, response.headers.get("content-type", ""), response.body, request.url
    )
    import io

    import pandas as pd

    data.admit(len(csv), f"building the DataFrame of sheet {cell.sheet_id}")
    frame = pd.read_csv(io.BytesIO(csv))
    return _bind(ctx, cell.output, frame, "%%googlesheet")


async def _fetch_source(data: DataSession, request: HttpRequest) -> HttpResponse:
    try:
        return await data.transport.fetch(request, data.admit)
    except OSError as exc:
        raise _source_unreachable(request, exc) from exc


def _source_unreachable(request: HttpRequest, exc: OSError) -> DataSourceError:
    return DataSourceError(
        f"cannot reach {request.url} ({exc}); check the URL, that the server runs and that "
        "it allows this page's origin (CORS)",
        url=request.url,
    )


def _bind(ctx: MagicContext, name: str | None, frame: Any, source: str) -> Any:
    if name is None:
        return frame
    ctx.namespace[name] = frame
    return Summary(name, frame, source)


def executor_magic(ctx: MagicContext, line: str) -> Any:
    from .magics import MagicArgumentParser

    parser = MagicArgumentParser("%executor")
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    args = parser.parse_line(line)
    data = session()
    data.options["executor"] = {"url": args.url, "token": args.token}
    return data.executor


def _register() -> None:
    from . import uploadcells

    BODYLESS.update(googlesheet=googlesheet_magic, dataframe=uploadcells.dataframe_magic)
    registry.register_cell("sql", sql_magic)
    registry.register_cell("graphql", graphql_magic)
    for name, handler in BODYLESS.items():
        registry.register_cell(name, handler)
        registry.register_line(name, handler)
    registry.register_line("uploads", uploadcells.uploads_magic)
    registry.register_line("cancel_upload", uploadcells.cancel_upload_magic)
    registry.register_line("executor", executor_magic)


#: Magics that take no cell body: usable as ``%name`` and ``%%name`` (both blocking).
BODYLESS: dict[str, Any] = {}


def cell_magics() -> dict[str, Any]:
    return {name: registry.cell[name] for name in ("sql", "graphql")}


def line_magics() -> dict[str, Any]:
    return {name: registry.line[name] for name in ("uploads", "cancel_upload", "executor")}


_register()


def _decoded(executor: Executor, request: HttpRequest, response: HttpResponse) -> Any:
    """The executor's JSON answer, or its refusal raised as the server's error class."""
    if not response.ok:
        raise executor.refused(
            response.status, request.url, response.body, response.headers.get("content-type", "")
        )
    return json.loads(response.body)
