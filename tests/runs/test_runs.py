"""Headless runs end to end: real Node.js + Pyodide, real DuckDB, PostgreSQL, GraphQL and sheets.

Each test runs a notebook of its own through ``bento_wasm.runs.execute_notebook`` or the
``bento run`` command (``python -m bento_wasm.cli run``) and reads the record it leaves.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest

from bento_wasm.errors import RunFailed
from bento_wasm.runs import execute_notebook
from tests.dataservers import PUBLIC_SHEET, graphql_server, postgres, sheets_server
from tests.helpers import ROOT, notebook, rebuild_lineage_event

PARAMS = ("country = 'DE'\nlimit = 3\nlabel = 'x'", ["parameters"])
ORDERS = "query($limit: Int!) { shop { orders(limit: $limit) { id amount customer { name } } } }"


@pytest.fixture
def warehouse(tmp_path):
    """A DuckDB file with nulls, strings and timestamps."""
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "CREATE TABLE items AS SELECT * FROM (VALUES "
            "(1, 'a', 1.5, TIMESTAMP '2024-01-01 10:00', 'DE'), "
            "(2, NULL, NULL, NULL, 'DE'), "
            "(3, 'c', 3.5, TIMESTAMP '2024-01-03 10:00', 'DE'), "
            "(4, 'd', 4.5, TIMESTAMP '2024-01-04 10:00', 'FR')) "
            "AS t(id, name, score, seen, country)"
        )
    return f"duckdb://{path}"


def tables(uri: str) -> set[str]:
    with duckdb.connect(uri.removeprefix("duckdb://"), read_only=True) as db:
        return {
            row[0]
            for row in db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }


def events(path: str | Path) -> list:
    return [rebuild_lineage_event(json.loads(line)) for line in Path(path).read_text().splitlines()]


def text_of(cell: dict) -> str:
    return "".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell["outputs"]
    )


def bento_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bento_wasm.cli", "run", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, **env},
    )  # fmt: skip


def test_a_notebook_runs_with_prefetched_sql_graphql_and_sheets_and_uploads_after(
    tmp_path, warehouse, monkeypatch
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "note.txt").write_text("from the cwd")
    with postgres() as pg, graphql_server(["http://127.0.0.1"]) as gql, sheets_server() as sheets:
        monkeypatch.setenv("BENTO_SHEETS_EXPORT_BASE", sheets)
        source = tmp_path / "daily.ipynb"
        notebook(
            ("# Daily", "markdown"),
            PARAMS,
            "%%sql -c wh -o rows\nSELECT id, name, score, seen, country FROM items\n"
            "WHERE country = :country ORDER BY id LIMIT :limit",
            "print({k: str(v) for k, v in rows.dtypes.items()})\n"
            "print(rows['name'].isna().tolist(), rows['seen'].isna().tolist())",
            "%%sql -c pg -o pgrows\nSELECT n, n * 2 AS twice FROM generate_series(1, :limit) AS n",
            f"%%graphql --endpoint {gql} -o orders --path shop.orders --var limit=2\n{ORDERS}",
            f"%googlesheet {PUBLIC_SHEET} -o sheet",
            "print(len(pgrows), list(orders.columns), sheet.shape, open('note.txt').read())",
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title(label);",
            "summary = rows.groupby('country', as_index=False).size()\n"
            "%dataframe summary --table results -c wh --mode replace",
            "%dataframe pgrows --table pg_results -c pg --mode replace",
            path=source,
        )
        out = tmp_path / "out" / "daily.out.ipynb"
        result = execute_notebook(
            source, out, {"limit": 2, "label": "chart"}, cwd=work,
            connections={"wh": warehouse, "pg": pg}, progress=False,
        )  # fmt: skip
        import adbc_driver_postgresql.dbapi as pgdb

        with pgdb.connect(pg) as conn, conn.cursor() as cur:
            cur.execute("SELECT n, twice FROM pg_results ORDER BY n")
            assert cur.fetchall() == [(1, 2), (2, 4)]
    assert result.status == "completed"
    assert result.parameters == {"limit": 2, "label": "chart"}
    nb = json.loads(out.read_text())
    cells = nb["cells"]
    assert "injected-parameters" in cells[2]["metadata"]["tags"]
    assert cells[2]["source"] == "# Parameters\nlimit = 2\nlabel = 'chart'\n"
    assert {c["metadata"]["papermill"]["status"] for c in cells} == {"completed"}
    dtypes = text_of(cells[4])
    assert "'id': 'int32'" in dtypes and "'seen': 'datetime64[us]'" in dtypes  # as in DuckDB
    assert "'score': 'decimal128(2, 1)[pyarrow]'" in dtypes
    assert "[False, True] [False, True]" in dtypes  # nulls survive, ordered by id, limit 2
    assert "2 ['id', 'amount', 'customer.name'] (3, 3) from the cwd" in text_of(cells[8])
    assert any("image/png" in o.get("data", {}) for o in cells[9]["outputs"])
    meta = nb["metadata"]
    assert meta["papermill"]["parameters"] == {"limit": 2, "label": "chart"}
    assert meta["papermill"]["default_parameters"] == {"country": "DE", "limit": 3, "label": "x"}
    inputs = {i["cell"]: i for i in meta["bento"]["inputs"]}
    assert inputs[4]["params"] == ["DE", 2] and inputs[4]["rows"] == 2
    assert inputs[4]["tables"] == ["items"] and len(inputs[4]["sha256"]) == 64
    assert inputs[6]["connection"] == "pg" and inputs[6]["rows"] == 2
    assert inputs[7]["endpoint"] == gql and inputs[7]["rows"] == 2
    assert inputs[8]["sheet"] == PUBLIC_SHEET and inputs[8]["rows"] == 3
    uploads = {u["table"]: u for u in meta["bento"]["uploads"]}
    assert uploads["results"]["state"] == "done" and uploads["results"]["rows"] == 1
    assert "results" in tables(warehouse)
    assert [u["table"] for u in result.uploads] == ["results", "pg_results"]
    start, complete = events(result.lineage_path)
    assert (start.eventType.value, complete.eventType.value) == ("START", "COMPLETE")
    assert [(d.namespace, d.name) for d in complete.inputs] == [
        (warehouse, "items"),
        (gql.removesuffix("/graphql"), "/graphql"),
        (sheets, f"spreadsheets/{PUBLIC_SHEET}/gid=0"),
    ]
    assert {(d.name) for d in complete.outputs} == {"results", "postgres.public.pg_results"}
    assert Path(result.lineage_path).parent == out.parent


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    def log_message(self, *args: object) -> None:
        pass


def test_no_network_a_loopback_server_is_unreachable_while_prefetched_cells_read_their_data(
    tmp_path, warehouse
):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    assert __import__("urllib.request").request.urlopen(url).read() == b"reached"  # it answers
    _Counting.hits.clear()
    source, out = tmp_path / "net.ipynb", tmp_path / "net.out.ipynb"
    notebook(
        ("limit = 1", ["parameters"]),
        "%%sql -c wh -o t\nSELECT id FROM items ORDER BY id LIMIT :limit",
        "print('answer', int(t.id[0]))",
        "%dataframe t --table never -c wh",
        f"from pyodide.http import pyfetch\nr = await pyfetch({url!r})\nprint(await r.string())",
        "print('not reached')",
        path=source,
    )
    try:
        done = bento_run(str(source), str(out), "-p", "zzz", "1", "--log-output",
                         "--connection", f"wh={warehouse}")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stderr
    assert _Counting.hits == []
    assert "Passed unknown parameter: zzz" in done.stderr
    assert "[cell 4] answer 1" in done.stderr  # --log-output: the prefetched data was read
    assert "cell 6 ('from pyodide.http import pyfetch') failed" in done.stderr
    assert "tried the network" in done.stderr
    assert "never" not in tables(warehouse)  # a failed run uploads nothing
    nb = json.loads(out.read_text())
    cells = nb["cells"]
    assert "papermill-error-cell-tag" in cells[0]["metadata"]["tags"]
    assert 'id="papermill-error-cell"' in cells[6]["source"]
    assert cells[7]["metadata"]["papermill"]["status"] == "failed"
    assert cells[7]["outputs"][-1]["output_type"] == "error"
    assert cells[8]["metadata"]["papermill"]["status"] == "pending"
    assert nb["metadata"]["bento"]["status"] == "failed"
    assert nb["metadata"]["bento"]["uploads"] == []
    error = nb["metadata"]["bento"]["error"]
    assert error["ename"] == "RunFailed" and error["cell_index"] == 5  # as papermill counts
    assert error["cell_error"]["ename"] == "AbortError"
    start, fail = events(out.with_name("net.out.lineage.jsonl"))
    assert (start.eventType.value, fail.eventType.value) == ("START", "FAIL")
    assert "tried the network" in fail.run.facets["errorMessage"].message


@pytest.mark.parametrize(
    ("cell", "ename", "says", "timeout"),
    [
        ("while True:\n    pass", "TimeoutError", "--execution-timeout of 4 s", 4),
        (
            "chunks = []\nfor _ in range(6):\n    chunks.append(bytearray(2**30))",
            "MemoryError",
            "",
            300,
        ),
        (
            "from js import process\nprocess.kill(process.pid, 'SIGKILL')",
            "KernelError",
            "the WebAssembly process ended during the cell",
            300,
        ),
    ],
    ids=["timeout", "memory-ceiling", "process-dies"],
)
def test_faults_in_wasm_leave_a_record_and_fail_naming_the_cell(
    tmp_path, cell, ename, says, timeout
):
    source, out = tmp_path / "f.ipynb", tmp_path / "f.out.ipynb"
    notebook("x = 1", cell, "print('after')", path=source)
    with pytest.raises(RunFailed) as caught:
        execute_notebook(source, out, execution_timeout=timeout, progress=False)
    error = caught.value
    assert (error.cell_index, error.ename) == (1, ename)
    assert error.cell_first_line == cell.splitlines()[0]
    assert says in error.evalue
    assert error.message.startswith(f"cell 2 ({cell.splitlines()[0]!r}) failed: {ename}")
    nb = json.loads(out.read_text())
    assert nb["cells"][3]["metadata"]["papermill"]["status"] == "failed"
    assert nb["cells"][4]["metadata"]["papermill"]["status"] == "pending"


def test_a_failing_upload_reports_the_others(tmp_path, warehouse):
    source, out = tmp_path / "u.ipynb", tmp_path / "u.out.ipynb"
    notebook(
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})",
        "%dataframe df --table good -c wh",
        "%dataframe df --table missing_schema.bad -c wh",
        path=source,
    )
    with pytest.raises(RunFailed) as caught:
        execute_notebook(source, out, connections={"wh": warehouse}, progress=False)
    message = caught.value.message
    assert "1 of 2 uploads failed (wh.missing_schema.bad:" in message
    assert "uploaded: wh.good" in message
    assert "good" in tables(warehouse)
    states = [
        (u["table"], u["state"])
        for u in json.loads(out.read_text())["metadata"]["bento"]["uploads"]
    ]
    assert states == [("good", "done"), ("missing_schema.bad", "failed")]


def test_a_run_imports_pandas_from_the_bytecode_compiled_on_the_host(tmp_path):
    """The runtime's bundles (bento_wasm/runtime/bytecode.py) are written for the packages a
    run loads: pandas and six import from checked hash-based pycs (flags 3), not compiled."""
    source, out = tmp_path / "b.ipynb", tmp_path / "b.out.ipynb"
    notebook(
        "import importlib.util as u, pathlib, pandas, six\n"
        "pycs = [pathlib.Path(u.cache_from_source(m.__file__)) for m in (pandas, six)]\n"
        "print([p.is_file() and int.from_bytes(p.read_bytes()[4:8], 'little') for p in pycs])",
        path=source,
    )
    execute_notebook(source, out, progress=False)
    assert text_of(json.loads(out.read_text())["cells"][0]) == "[3, 3]\n"
