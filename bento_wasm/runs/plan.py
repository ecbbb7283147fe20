"""Planning a run before it starts: what to prefetch, what to upload after, what to refuse.

Pure (STYLE.md #2): from the notebook (a dict) and the parameters to a :class:`RunPlan`.
A data cell (``%%sql``, ``%%graphql``, ``%%googlesheet``) is resolved on the host before the
run, so everything its query uses must be known then: ``:name`` must be a parameter (a
literal default in the parameters cell, or given), never a value an earlier cell computes.
Cells needing the executor (``%%remote``, ``@remote``) cannot run without network. Each
refusal names the cell (number and first line) and says what to change.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, NamedTuple

from ..data.parsing import parameter_values, parse_dataframe, parse_graphql, parse_sheet, parse_sql
from ..errors import BentoError, RunRefused
from ..kernel.magics import split_cell_magic
from ..offload.analysis import analyze, python_source
from .params import COMPUTED, INJECTED_TAG, PARAMETERS_TAG, declared_parameters, source_of

__all__ = ["Fetch", "RunPlan", "Upload", "first_line", "plan", "request_key", "sql_tables"]

#: ``%googlesheet ...`` / ``x = %dataframe ...`` written as line magics.
_LINE_MAGIC = re.compile(
    r"^\s*(?:[A-Za-z_]\w*\s*=\s*)?%(?P<name>googlesheet|dataframe)\b(?P<args>.*)$"
)


class Fetch(NamedTuple):
    """One data cell's answer, fetched on the host before the run."""

    cell_index: int
    kind: str  # "sql" | "graphql" | "sheet"
    key: str  # what the sandbox looks the answer up by (request_key)
    request: dict[str, Any]  # connection/sql/params/limit, endpoint/query/variables/path, ...
    tables: tuple[str, ...] = ()  # for SQL: the tables it reads (sqlglot)


class Upload(NamedTuple):
    """One ``%dataframe`` cell: the table it writes after a successful run."""

    cell_index: int
    name: str
    connection: str
    table: str
    mode: str


class RunPlan(NamedTuple):
    fetches: tuple[Fetch, ...]
    uploads: tuple[Upload, ...]
    refusals: tuple[RunRefused, ...]
    parameters: dict[str, Any]

    @property
    def inputs(self) -> list[tuple[str, str]]:
        """(connection, table) for every table the notebook's SQL reads."""
        found: list[tuple[str, str]] = []
        for fetch in self.fetches:
            for table in fetch.tables:
                if (fetch.request["connection"], table) not in found:
                    found.append((fetch.request["connection"], table))
        return found

    @property
    def outputs(self) -> list[tuple[str, str]]:
        """(connection, table) for every upload."""
        return list(dict.fromkeys((u.connection, u.table) for u in self.uploads))


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def request_key(kind: str, request: dict[str, Any]) -> str:
    """The same on the host and in the sandbox for the same query and values."""
    text = json.dumps({"kind": kind, **request}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def sql_tables(sql: str, dialect: str = "duckdb") -> tuple[str, ...]:
    """The tables a query reads (CTE names excluded), parsed with sqlglot."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return ()
    found: list[str] = []
    for statement in statements:
        if statement is None:
            continue
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            if not table.name or (not table.db and table.name in ctes):
                continue
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            if name not in found:
                found.append(name)
    return tuple(found)


def _refuse(index: int, source: str, why: str) -> RunRefused:
    line = first_line(source)
    return RunRefused(f"cell {index + 1} ({line!r}) {why}", cell_index=index, cell_first_line=line)


def plan(
    nb: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    *,
    graphql_endpoint: str = "",
    dialects: dict[str, str] | None = None,
) -> RunPlan:
    """Plan the run of ``nb`` (the notebook *before* injection) with ``parameters``."""
    declared = declared_parameters(nb)
    given = dict(parameters or {})
    values = declared.values(given)
    fetches: list[Fetch] = []
    uploads: list[Upload] = []
    refusals: list[RunRefused] = []
    computed: dict[str, int] = {}  # name -> the code cell (index) that binds it
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = source_of(cell)
        tags = cell.get("metadata", {}).get("tags") or []
        if PARAMETERS_TAG in tags or INJECTED_TAG in tags:
            continue
        try:
            _plan_cell(
                index,
                source,
                values,
                computed,
                graphql_endpoint,
                dialects or {},
                fetches,
                uploads,
                refusals,
            )
        except BentoError as exc:  # a malformed magic line: refused before the run
            refusals.append(_refuse(index, source, f"cannot be planned: {exc}"))
    return RunPlan(tuple(fetches), tuple(uploads), tuple(refusals), given)


def _plan_cell(
    index: int,
    source: str,
    values: dict[str, Any],
    computed: dict[str, int],
    graphql_endpoint: str,
    dialects: dict[str, str],
    fetches: list[Fetch],
    uploads: list[Upload],
    refusals: list[RunRefused],
) -> None:
    magic = split_cell_magic(source)
    if magic is not None:
        name, line, body = magic
        if name == "remote":
            refusals.append(_refuse(index, source, _NEEDS_EXECUTOR))
        elif name == "sql":
            _plan_sql(index, source, line, body, values, computed, dialects, fetches, refusals)
        elif name == "graphql":
            gql = parse_graphql(line, body, graphql_endpoint)
            request = {
                "endpoint": gql.endpoint,
                "query": gql.query,
                "variables": gql.variables,
                "path": list(gql.path),
            }
            fetches.append(Fetch(index, "graphql", request_key("graphql", request), request))
            _bound(gql.output, index, computed)
        elif name == "googlesheet":
            _plan_sheet(index, line, body, fetches, computed)
        elif name == "dataframe":
            up = parse_dataframe(line, body)
            uploads.append(Upload(index, up.name, up.connection, up.table, up.mode))
        return
    for raw in source.splitlines():
        found = _LINE_MAGIC.match(raw)
        if found is None:
            continue
        if found["name"] == "googlesheet":
            _plan_sheet(index, found["args"].strip(), "", fetches, computed)
        else:
            up = parse_dataframe(found["args"].strip(), "")
            uploads.append(Upload(index, up.name, up.connection, up.table, up.mode))
    python = python_source(source) or ""
    if re.search(r"@\s*(?:[\w.]+\.)?remote\b|\bremote\s*\(", python):
        refusals.append(_refuse(index, source, _NEEDS_EXECUTOR))
    for name in analyze(python).binds:
        computed.setdefault(name, index)


def _plan_sql(
    index: int,
    source: str,
    line: str,
    body: str,
    values: dict[str, Any],
    computed: dict[str, int],
    dialects: dict[str, str],
    fetches: list[Fetch],
    refusals: list[RunRefused],
) -> None:
    sql = parse_sql(line, body)
    for ref in sql.names:
        why = _not_a_parameter(ref, values, computed)
        if why:
            refusals.append(_refuse(index, source, why))
            return
    params = parameter_values(sql.names, values)
    request = {"connection": sql.connection, "sql": sql.sql, "params": params, "limit": sql.limit}
    tables = sql_tables(sql.sql, dialects.get(sql.connection, "duckdb"))
    fetches.append(Fetch(index, "sql", request_key("sql", request), request, tables))
    _bound(sql.output, index, computed)


def _plan_sheet(
    index: int, line: str, body: str, fetches: list[Fetch], computed: dict[str, int]
) -> None:
    sheet = parse_sheet(line, body)
    request = {"sheet_id": sheet.sheet_id, "gid": sheet.gid}
    fetches.append(Fetch(index, "sheet", request_key("sheet", request), request))
    _bound(sheet.output, index, computed)


def _bound(name: str | None, index: int, computed: dict[str, int]) -> None:
    if name:
        computed.setdefault(name, index)


_NEEDS_EXECUTOR = (
    "needs the executor (%%remote / @remote), which a headless run cannot reach: it has no "
    "network. Run this part in a separate step, or drop %%remote so the cell runs in "
    "WebAssembly"
)


def _not_a_parameter(name: str, values: dict[str, Any], computed: dict[str, int]) -> str:
    if name in computed:
        return (
            f"uses :{name}, a value computed by cell {computed[name] + 1}, but its query is "
            f"fetched before the run starts; make {name} a parameter (assign it in the cell "
            f"tagged 'parameters' and pass -p {name} VALUE)"
        )
    if name not in values:
        return (
            f"uses :{name}, which is not a parameter; add `{name} = ...` to the cell tagged "
            f"'parameters' (or pass -p {name} VALUE)"
        )
    if values[name] is COMPUTED:
        return (
            f"uses :{name}, whose default in the parameters cell is computed, not a literal; "
            f"give it a literal default or pass -p {name} VALUE"
        )
    return ""
