"""Data cells resolved on the host before the run, each answer written as an Arrow IPC file.

``%%sql`` goes through the warehouse's named connections (bento_wasm/server/warehouse.py,
the same as the server's: the demo DuckDB file as ``default``), its ``:name`` parameters
bound by the database; ``%%graphql`` and ``%%googlesheet`` are fetched over HTTP and
turned into tables here, so types and nulls reach the sandbox as Arrow, never CSV.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from ..data.answers import graphql_rows, sheet_csv
from ..data.parsing import GOOGLE_EXPORT_BASE, SheetCell
from ..errors import BentoError, DataSourceError
from ..runs.plan import Fetch
from ..server.warehouse import Warehouse

__all__ = ["connections", "prefetch", "warehouse"]


def connections(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's named connections: ``default`` is the demo DuckDB file unless configured."""
    from ..server.demo import DEFAULT_PATH

    uris = {"default": "duckdb://" + str(DEFAULT_PATH)}
    uris.update(json.loads(os.environ.get("BENTO_CONNECTIONS", "{}") or "{}"))
    uris.update(extra or {})
    return uris


def warehouse(uris: dict[str, str]) -> Warehouse:
    from ..server.demo import ensure_demo

    return Warehouse(uris, on_create=ensure_demo)


def prefetch(
    fetch: Fetch, folder: Path, store: Warehouse, sheets_base: str = ""
) -> tuple[Path, dict[str, Any]]:
    """Resolve one data cell into ``folder``; the file and its record entry."""
    if fetch.kind == "sql":
        req = fetch.request
        stream = store.open_query(req["connection"], req["sql"], req["params"], req["limit"])
        try:
            table = stream.read_all()
        finally:
            stream.close()
        described = {
            "connection": req["connection"],
            "query": req["sql"],
            "params": req["params"],
            "tables": list(fetch.tables),
        }
    elif fetch.kind == "graphql":
        table = _graphql(fetch.request)
        described = {
            "endpoint": fetch.request["endpoint"],
            "query": fetch.request["query"],
            "variables": fetch.request["variables"],
        }
    else:
        url = (
            SheetCell(fetch.request["sheet_id"], fetch.request["gid"], None)
            .request(
                sheets_base or os.environ.get("BENTO_SHEETS_EXPORT_BASE", "") or GOOGLE_EXPORT_BASE
            )
            .url
        )
        table = _sheet(url)
        described = {"sheet": fetch.request["sheet_id"], "gid": fetch.request["gid"], "url": url}
    path = folder / f"input-{fetch.cell_index}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    data = path.read_bytes()
    entry = {
        "cell": fetch.cell_index + 1,
        "kind": fetch.kind,
        **described,
        "rows": table.num_rows,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "schema": [{"name": f.name, "type": str(f.type)} for f in table.schema],
    }
    return path, entry


def _http(url: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()
    except OSError as exc:
        raise DataSourceError(
            f"cannot reach {url} during the prefetch ({exc}); check that the server runs",
            url=url,
        ) from exc


def _graphql(request: dict[str, Any]) -> pa.Table:
    import pandas as pd  # type: ignore[import-untyped]

    endpoint = request["endpoint"]
    body = json.dumps({"query": request["query"], "variables": request["variables"]}).encode()
    status, content_type, answer = _http(endpoint, body)
    if not content_type.startswith("application/json"):
        raise DataSourceError(
            f"the GraphQL endpoint {endpoint} answered HTTP {status} without JSON; check it",
            url=endpoint,
            status=status,
        )
    rows = graphql_rows(json.loads(answer), tuple(request["path"]), endpoint)
    return pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)


def _sheet(url: str) -> pa.Table:
    import pandas as pd

    status, content_type, body = _http(url)
    csv = sheet_csv(status, content_type, body, url)
    return pa.Table.from_pandas(pd.read_csv(io.BytesIO(csv)), preserve_index=False)


def failure(exc: BentoError) -> tuple[str, str]:
    return type(exc).__name__, exc.message
