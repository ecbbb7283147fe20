"""The data magics: ``%%sql``, ``%%googlesheet``, ``%%graphql``, ``%%dataframe`` and friends.

The handlers, registered by :mod:`bento_wasm.data.magics` (the project's worker) and by
``%load_ext bento_wasm`` (JupyterLite or a CPython ipykernel). Planning lives in the pure
:mod:`bento_wasm.data.parsing`; the IO goes through a :class:`~bento_wasm.data.transport.Transport`:
in the project's worker JavaScript fetches and injects (worker_js/magics.js), elsewhere the
environment seam fetches (sync XHR in Pyodide, urllib in CPython).

Line magics: ``%uploads`` lists the upload jobs, ``%cancel_upload ID`` cancels one,
``%executor URL --token T`` points the magics at an executor server.
"""

from __future__ import annotations

import json

from ..environment import need
from ..errors import DataSourceError
from ..kernel.magics import MagicContext
from .session import RESULT, DataSession, session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..environment.interface import HttpResponse
    from .requests import HttpRequest

__all__ = ["executor_magic", "googlesheet_magic", "graphql_magic", "sql_magic"]


class Summary:
    """What a magic with ``-o NAME`` shows: the name and the shape of what it bound."""

    def __init__(self, name: str, value: Any, source: str) -> None:
        shape = getattr(value, "shape", None)
        rows, cols = shape if shape is not None and len(shape) == 2 else (len(value), 1)
        self.text = f"{name}: {rows} rows x {cols} columns from {source}"

    def __repr__(self) -> str:
        return self.text


async def sql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    from .parsing import parse_sql

    cell = parse_sql(line, body)
    data = session()
    request = cell.request(data.executor, ctx.namespace)
    target = cell.output or RESULT
    await data.bind_arrow(request, ctx.namespace, target)
    if cell.output is None:
        return ctx.namespace.pop(RESULT)
    return Summary(cell.output, ctx.namespace[cell.output], f"%%sql -c {cell.connection}")


async def graphql_magic(ctx: MagicContext, line: str, body: str) -> Any:
    from .answers import graphql_rows
    from .parsing import parse_graphql

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
    need()
    import pandas as pd  # type: ignore[import-untyped]

    data.admit(len(response.body), f"building the %%graphql DataFrame ({len(rows)} rows)")
    return _bind(ctx, cell.output, pd.DataFrame(rows), "%%graphql")


def googlesheet_magic(ctx: MagicContext, line: str, body: str = "") -> Any:
    """``%googlesheet`` / ``%%googlesheet``: blocking (IPython takes a body-less cell magic
    only as a line magic, and line magics cannot await); in the worker the request is a
    synchronous XHR, made by the browser with the page's credentials."""
    from .answers import sheet_csv
    from .parsing import parse_sheet

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

    need()
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
    from ..kernel.magics import MagicArgumentParser

    parser = MagicArgumentParser("%executor")
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    args = parser.parse_line(line)
    data = session()
    data.options["executor"] = {"url": args.url, "token": args.token}
    return data.executor
