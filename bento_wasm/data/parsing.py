"""The data magics' pure core: each magic's options and query parameters, parsed into data.

No IO here (STYLE.md #2): each function goes from strings, bytes and dicts to dataclasses,
so the same planning serves the project's worker (where JavaScript does the fetch), an
IPython kernel in JupyterLite and a CPython ipykernel, and is tested in milliseconds.

Query parameters (``%%sql``): write ``:name`` in the SQL to use the Python variable
``name``. The SQL text is rewritten to positional placeholders (``$1``, ``$2`` ...) and the
values travel separately, as JSON, to be bound by the database: a value is never pasted
into the SQL. ``::type`` casts, string literals, quoted identifiers and comments are left
alone; write ``\\:name`` for a literal ``:name`` outside a string.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ..errors import MagicError
from ..kernel.magics import MagicArgumentParser
from .requests import DEFAULT_CONNECTION, MODES, HttpRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .requests import Executor

__all__ = [
    "DataframeCell",
    "GraphqlCell",
    "SheetCell",
    "SqlCell",
    "bind_parameters",
    "parse_dataframe",
    "parse_graphql",
    "parse_sheet",
    "parse_sql",
]


# -- %%sql ----------------------------------------------------------------------------------

_sql = MagicArgumentParser("%%sql")
_sql.add_argument("-c", "--connection", default=DEFAULT_CONNECTION)
_sql.add_argument("-o", "--output", default=None)
_sql.add_argument("--limit", type=int, default=None)

# Strings, quoted identifiers and comments are copied as they are; `::` is a cast.
_SQL_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|::|\\:|:(?P<name>[A-Za-z_]\w*)",
    re.DOTALL,
)
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class SqlCell:
    connection: str
    output: str | None
    limit: int | None
    sql: str
    names: tuple[str, ...]

    def request(self, executor: Executor, namespace: Mapping[str, Any]) -> HttpRequest:
        payload = {
            "connection": self.connection,
            "sql": self.sql,
            "params": parameter_values(self.names, namespace),
            "limit": self.limit,
        }
        return executor.request("sql", "POST", payload)


def parse_sql(line: str, body: str) -> SqlCell:
    args = _sql.parse_line(line)
    if args.limit is not None and args.limit < 0:
        raise MagicError("%%sql: --limit must be 0 or more")
    _check_name(args.output, "%%sql -o")
    sql, names = bind_parameters(body)
    if not sql.strip():
        raise MagicError("%%sql: the cell has no query; write the SQL below the %%sql line")
    return SqlCell(args.connection, args.output, args.limit, sql, names)


def bind_parameters(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` -> ``$k`` (the same name, the same k); returns the SQL and the names in order."""
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name is None:
            return ":" if match[0] == "\\:" else match[0]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _SQL_TOKEN.sub(replace, sql), tuple(names)


def parameter_values(names: tuple[str, ...], namespace: Mapping[str, Any]) -> list[Any]:
    """The JSON values of the referenced Python variables, in placeholder order."""
    values = []
    for name in names:
        if name not in namespace:
            raise MagicError(
                f"%%sql: the query uses :{name} but no Python variable {name!r} is defined; "
                f"define it in a cell above, or write \\:{name} for a literal"
            )
        values.append(_json_scalar(name, namespace[name]))
    return values


def _json_scalar(name: str, value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return _json_scalar(name, item())
    raise MagicError(
        f"%%sql: :{name} is a {type(value).__name__}; only single values (str, int, float, "
        "bool, None, dates) can be query parameters. For a list, upload it with %%dataframe "
        "and join against the table"
    )


# -- %%dataframe ----------------------------------------------------------------------------

_dataframe = MagicArgumentParser("%%dataframe")
_dataframe.add_argument("name")
_dataframe.add_argument("--table", required=True)
_dataframe.add_argument("-c", "--connection", default=DEFAULT_CONNECTION)
_dataframe.add_argument("--mode", choices=MODES, default="create")


@dataclass(frozen=True)
class DataframeCell:
    name: str
    table: str
    connection: str
    mode: str

    def request(self, executor: Executor, body: bytes) -> HttpRequest:
        query = urlencode({"table": self.table, "connection": self.connection, "mode": self.mode})
        return executor.request(f"uploads?{query}", "POST", body=body)


def parse_dataframe(line: str, body: str) -> DataframeCell:
    args = _dataframe.parse_line(line)
    _check_name(args.name, "%%dataframe")
    if body.strip():
        raise MagicError(
            "%%dataframe uploads the DataFrame named on its line; the cell body must be empty "
            f"(create {args.name!r} in a cell above)"
        )
    if not re.fullmatch(r"[A-Za-z_][\w.]*", args.table):
        raise MagicError(
            f"%%dataframe: --table {args.table!r} is not a table name; use letters, digits, "
            "'_' and at most a schema prefix (schema.table)"
        )
    return DataframeCell(args.name, args.table, args.connection, args.mode)


def _check_name(name: str | None, what: str) -> None:
    if name is not None and not name.isidentifier():
        raise MagicError(f"{what}: {name!r} is not a Python variable name")


# -- %%graphql ------------------------------------------------------------------------------

_graphql = MagicArgumentParser("%%graphql")
_graphql.add_argument("--endpoint", default=None)
_graphql.add_argument("-o", "--output", default=None)
_graphql.add_argument("--path", default=None)
_graphql.add_argument("--var", action="append", default=[])


@dataclass(frozen=True)
class GraphqlCell:
    endpoint: str
    output: str | None
    path: tuple[str, ...]
    variables: dict[str, Any]
    query: str

    def request(self) -> HttpRequest:
        payload = {"query": self.query, "variables": self.variables}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return HttpRequest(self.endpoint, "POST", headers, json.dumps(payload).encode("utf-8"))


def parse_graphql(line: str, body: str, default_endpoint: str = "") -> GraphqlCell:
    args = _graphql.parse_line(line)
    _check_name(args.output, "%%graphql -o")
    endpoint = args.endpoint or default_endpoint
    if not endpoint:
        raise MagicError(
            "%%graphql: no endpoint; pass --endpoint URL or set BENTO_GRAPHQL_ENDPOINT "
            "(kernel option graphql.endpoint)"
        )
    if not body.strip():
        raise MagicError("%%graphql: the cell has no query; write it below the %%graphql line")
    variables = {}
    for item in args.var:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise MagicError(f"%%graphql: --var {item!r} is not key=value; write --var limit=10")
        try:
            variables[key] = json.loads(raw)
        except ValueError:
            variables[key] = raw
    path = tuple(args.path.split(".")) if args.path else ()
    return GraphqlCell(endpoint, args.output, path, variables, body)


# -- %%googlesheet --------------------------------------------------------------------------

GOOGLE_EXPORT_BASE = "https://docs.google.com"

_sheet = MagicArgumentParser("%%googlesheet")
_sheet.add_argument("sheet")
_sheet.add_argument("--sheet", dest="gid", default=None)
_sheet.add_argument("-o", "--output", default=None)

_SHEET_URL = re.compile(r"/spreadsheets/d/(?P<id>[\w-]+)")
_GID = re.compile(r"[#&?]gid=(?P<gid>\d+)")


@dataclass(frozen=True)
class SheetCell:
    sheet_id: str
    gid: str
    output: str | None

    def request(self, export_base: str) -> HttpRequest:
        base = (export_base or GOOGLE_EXPORT_BASE).rstrip("/")
        query = urlencode({"format": "csv", "gid": self.gid})
        return HttpRequest(f"{base}/spreadsheets/d/{quote(self.sheet_id)}/export?{query}")


def parse_sheet(line: str, body: str) -> SheetCell:
    args = _sheet.parse_line(line)
    _check_name(args.output, "%%googlesheet -o")
    if body.strip():
        raise MagicError("%%googlesheet takes no cell body; put the sheet URL or id on its line")
    found = _SHEET_URL.search(args.sheet)
    sheet_id = found["id"] if found else args.sheet
    if not re.fullmatch(r"[\w-]{10,}", sheet_id):
        raise MagicError(
            f"%%googlesheet: {args.sheet!r} is neither a sheet URL nor a sheet id; copy the URL "
            "from the browser's address bar"
        )
    gid_in_url = _GID.search(args.sheet)
    gid = args.gid or (gid_in_url["gid"] if gid_in_url else "0")
    if not gid.isdigit():
        raise MagicError(f"%%googlesheet: --sheet {gid!r} must be the tab's numeric gid")
    return SheetCell(sheet_id, gid, args.output)
