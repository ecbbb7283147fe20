"""The same notebook of data magics, run in a CPython ipykernel (``%load_ext bento_wasm``) and in
the project's worker in headless Chromium (JS middleware + Arrow injection), against real servers:
the executor (Jupyter Server, DuckDB demo, PostgreSQL via ADBC), strawberry GraphQL on uvicorn
and a loopback server in Google Sheets' CSV export format."""

import json
import time

import pytest

from tests.dataservers import (
    JSON_SHEET,
    LOCKED_SHEET,
    PRIVATE_SHEET,
    PUBLIC_SHEET,
    IPyKernel,
    graphql_server,
    postgres,
    sheets_server,
)
from tests.helpers import BentoServer, PageKernel, chromium, free_port

GRAPHQL_ORDERS = (
    "query ($limit: Int!) { shop { orders(limit: $limit) { id amount customer { name } } } }"
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with postgres() as pg, sheets_server() as sheets:
        demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
        server = BentoServer(
            f"--BentoApp.demo_database={demo}",
            f"--BentoApp.connections=pg={pg}",
            f"--BentoApp.sheets_export_base={sheets}",
            "--BentoApp.upload_throttle_s=0.1",
        )
        with graphql_server([server.url]) as graphql, server:
            yield {"server": server, "graphql": graphql, "sheets": sheets}


class IPythonNotebook:
    kind = "ipykernel"

    def __init__(self, kernel):
        self.kernel = kernel

    def run(self, code):
        result = self.kernel.execute(code)
        return _normalize(result["status"] == "ok", result["outputs"])

    def updates(self, display_id, until, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        seen = []
        while time.monotonic() < deadline:
            for msg in self.kernel.updates(0.3):
                if msg.get("transient", {}).get("display_id") == display_id:
                    seen.append(msg["data"]["text/plain"])
            if seen and until in seen[-1]:
                return seen
        raise AssertionError(f"display {display_id} never showed {until!r}: {seen}")


class BrowserNotebook:
    kind = "browser"

    def __init__(self, page):
        self.page = page

    def run(self, code):
        result = self.page.execute(code)
        assert result["ok"], result
        return _normalize(result["reply"]["status"] == "ok", result["outputs"])

    def updates(self, display_id, until, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        seen = []
        while time.monotonic() < deadline:
            log = self.page.driver.execute_script("return window.bento_log")
            seen = [
                entry["data"]["text/plain"]
                for entry in log
                if entry.get("display_id") == display_id and entry.get("type") == "display_data"
            ]
            if seen and until in seen[-1]:
                return seen
            time.sleep(0.2)
        raise AssertionError(f"display {display_id} never showed {until!r}: {seen}")


def _normalize(ok, outputs):
    text, error, displays = [], None, []
    for out in outputs:
        if out["type"] == "error":
            error = {"ename": out["ename"], "evalue": out["evalue"]}
        elif out["type"] == "stream":
            text.append(out["text"])
        elif "data" in out:
            text.append(out["data"].get("text/plain", ""))
            display_id = out.get("display_id") or out.get("transient", {}).get("display_id")
            if display_id:
                displays.append(display_id)
    return {"ok": ok, "text": "\n".join(text), "error": error, "displays": displays}


@pytest.fixture(scope="module", params=["ipykernel", "browser"])
def notebook(request, servers):
    server = servers["server"]
    if request.param == "ipykernel":
        env = {
            "BENTO_EXECUTOR_URL": server.url,
            "BENTO_EXECUTOR_TOKEN": server.token,
            "BENTO_SHEETS_EXPORT_BASE": servers["sheets"],
        }
        with IPyKernel(env) as kernel:
            notebook = IPythonNotebook(kernel)
            assert notebook.run("%load_ext bento_wasm")["ok"]
            yield notebook
    else:
        with chromium() as driver:
            page = PageKernel(driver, server)
            started = page.start()
            assert started["ok"], started
            yield BrowserNotebook(page)


def ok(notebook, code):
    result = notebook.run(code)
    assert result["ok"] and result["error"] is None, result
    return result["text"]


def fails(notebook, code, ename, *phrases):
    result = notebook.run(code)
    assert not result["ok"] and result["error"] is not None, result
    assert result["error"]["ename"] == ename, result["error"]
    for phrase in phrases:
        assert phrase in result["error"]["evalue"], result["error"]
    return result["error"]["evalue"]


def test_sql_binds_python_values_as_parameters(notebook):
    ok(notebook, 'q = 3\nwho = "x\'; drop table customers; --"')
    text = ok(notebook, "%%sql -o top --limit 5\nselect * from orders where quantity = :q")
    assert "top: 5 rows x 6 columns" in text
    assert ok(notebook, "sorted(set(top.quantity)), len(top)") == "([3], 5)"
    text = ok(notebook, "%%sql\nselect count(*) as n from customers where name = :who")
    assert " 0" in text  # the DataFrame's repr; the value was bound, never pasted
    assert ok(notebook, "int(_.n[0])") == "0"
    assert "100000" in ok(notebook, "%%sql\nselect count(*) as n from customers")
    text = ok(notebook, "%%sql -o many\nselect * from orders where order_id < 300000")
    assert "many: 300000 rows x 6 columns" in text  # about 13 MB of Arrow, streamed in
    assert ok(notebook, "str(many.ordered_at.dtype), int(many.order_id.sum())") == (
        f"('datetime64[us]', {sum(range(300000))})"
    )
    if notebook.kind == "browser":  # the worker's JS fetched and injected the Arrow streams
        stats = ok(
            notebook, "import js\njs.bentoMagics.stats.fetchArrow, js.bentoMagics.stats.arrowBytes"
        )
        calls, nbytes = eval(stats)
        assert calls == 4 and nbytes > 10_000_000, stats


def test_sql_on_postgres_via_adbc(notebook):
    ok(notebook, "x = 21")
    ok(notebook, "%%sql -c pg -o pg_answer\nselect :x::int * 2 as doubled")
    assert ok(notebook, "int(pg_answer.doubled[0])") == "42"


def test_sql_errors_are_clear_and_bind_nothing(notebook):
    fails(notebook, "%%sql -o bad\nselect * from no_such_table", "WarehouseError",
          "no_such_table does not exist")  # fmt: skip
    assert ok(notebook, "'bad' in globals()") == "False"
    fails(notebook, "%%sql --bogus\nselect 1", "MagicError", "unrecognized arguments: --bogus")
    fails(notebook, "%%sql -c nope\nselect 1", "WarehouseError", "no connection named 'nope'")
    fails(notebook, "%%sql\nselect :undefined_name", "MagicError", "no Python variable")
    assert ok(notebook, "1 + 1") == "2"  # the kernel goes on


def test_wrong_token_and_unreachable_executor(notebook, servers):
    url = servers["server"].url
    ok(notebook, f"%executor {url} --token wrong")
    fails(notebook, "%%sql\nselect 1", "ExecutorError", "refused the token")
    ok(notebook, f"%executor http://127.0.0.1:{free_port()} --token x")
    fails(notebook, "%%sql\nselect 1", "ExecutorError", "cannot reach the executor")
    ok(notebook, f"%executor {url} --token {servers['server'].token}")
    assert "1" in ok(notebook, "%%sql\nselect 1 as one")


def test_graphql_flattens_the_list_at_path(notebook, servers):
    endpoint = servers["graphql"]
    text = ok(
        notebook,
        f"%%graphql --endpoint {endpoint} -o orders --path shop.orders --var limit=3\n"
        + GRAPHQL_ORDERS,
    )
    assert "orders: 3 rows x 3 columns" in text
    assert ok(notebook, "list(orders.columns)") == "['id', 'amount', 'customer.name']"
    fails(notebook, f"%%graphql --endpoint {endpoint}\n{{ broken }}", "DataSourceError",
          "the broken field always fails")  # fmt: skip
    dead = f"http://127.0.0.1:{free_port()}/graphql"
    fails(notebook, f"%%graphql --endpoint {dead}\n{{ a }}", "DataSourceError", "cannot reach")


def test_googlesheet_reads_the_csv_export(notebook):
    text = ok(notebook, f"%googlesheet {PUBLIC_SHEET} -o sheet")
    assert "sheet: 3 rows x 3 columns" in text
    assert ok(notebook, "list(sheet.name)") == "['alpha', 'beta', 'g, h']"
    url = f"https://docs.google.com/spreadsheets/d/{PUBLIC_SHEET}/edit#gid=77"
    assert "Lagos" in ok(notebook, f"%googlesheet {url}")
    fails(notebook, f"%googlesheet {PRIVATE_SHEET} -o nope", "DataSourceError", "private")
    fails(notebook, f"%googlesheet {LOCKED_SHEET}", "DataSourceError", "private")
    fails(notebook, f"%googlesheet {JSON_SHEET}", "DataSourceError", "not CSV")
    assert ok(notebook, "'nope' in globals()") == "False"


def test_dataframe_upload_updates_one_display_until_done(notebook):
    table = f"uploaded_{notebook.kind}"
    ok(notebook, "import pandas as pd\nframe = pd.DataFrame({'a': range(300000), 'b': 1.5})")
    result = notebook.run(f"%dataframe frame --table {table}")
    assert result["ok"], result
    [display_id] = result["displays"]
    assert "queued" in result["text"] or "running" in result["text"]
    assert ok(notebook, "6 * 7") == "42"  # usable while the job runs
    seen = notebook.updates(display_id, ": done")
    assert any("running" in text and "rows" in text for text in seen), seen
    assert "300000 rows" in seen[-1]
    assert "300000" in ok(notebook, f"%%sql\nselect count(*) as n from {table}")
    assert table in ok(notebook, "%uploads")

    again = notebook.run(f"%dataframe frame --table {table}")
    seen = notebook.updates(again["displays"][0], "failed")
    assert "already exists" in seen[-1] and "--mode append" in seen[-1]


def test_dataframe_upload_can_be_cancelled(notebook):
    table = f"cancelled_{notebook.kind}"
    ok(notebook, "big = pd.DataFrame({'a': range(1_000_000)})")
    result = notebook.run(f"%dataframe big --table {table}")
    job_id = json.loads(json.dumps(result["text"])).split("upload ")[1].split(" ")[0]
    assert "cancel" in ok(notebook, f"%cancel_upload {job_id}")
    notebook.updates(result["displays"][0], "cancelled")
    fails(notebook, f"%%sql\nselect * from {table}", "WarehouseError", "does not exist")


def test_dataframe_refuses_what_is_not_a_dataframe(notebook):
    ok(notebook, "numbers = [1, 2, 3]")
    fails(notebook, "%dataframe numbers --table t", "MagicError", "not a pandas DataFrame")
    fails(notebook, "%dataframe missing --table t", "MagicError", "no variable 'missing'")
    fails(notebook, "%dataframe numbers --table t --mode merge", "MagicError", "invalid choice")
