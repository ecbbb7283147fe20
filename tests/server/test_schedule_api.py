"""The Schedule dialog's endpoints on a real bento server: prefill, preview (the same generator
as ``bento schedule``), save through Jupyter's contents API, Run now (real headless runs), and
the Runs pane's list of records."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from bento_wasm.schedule import ScheduleSpec, render_dag
from tests.helpers import BentoServer, notebook

DAILY = [
    ('day = "2026-01-01"\nlimit = 3\n', ["parameters"]),
    (
        "%%sql -o top\nSELECT count(*) AS n FROM orders WHERE ordered_at < CAST(:day AS TIMESTAMP)",
        [],
    ),
    ('print("day", day, "orders", int(top.n[0]))\nassert limit > 0, "limit must be positive"', []),
]


def call(server, method, path, body=None):
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    (root / "reports").mkdir()
    notebook(*DAILY, path=root / "reports" / "daily.ipynb")
    warehouse = root.parent / "warehouse.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("BENTO_CONNECTIONS", json.dumps({"default": f"duckdb://{warehouse}"}))
    try:
        with BentoServer(root_dir=root) as running:
            yield running
    finally:
        mp.undo()


def test_the_dialog_is_prefilled_from_the_notebook(server):
    status, body = call(server, "GET", "/bento/api/schedule/notebook?path=reports/daily.ipynb")
    assert status == 200, body
    assert body == {
        "parameters": {"day": "2026-01-01", "limit": 3},
        "inputs": ["bento://default/orders"],
        "dag_id": "bento_daily",
        "output_dir": "reports/runs",
        "dags_dir": "dags",
    }


def test_the_preview_is_the_generators_file_and_saves_through_the_contents_api(server):
    choices = {
        "notebook": "reports/daily.ipynb",
        "cron": "0 6 * * *",
        "parameters": {"day": "{{ ds }}", "limit": 5},
        "owner": "ana@example.com",
        "start_date": "2026-11-30",
    }
    status, preview = call(server, "POST", "/bento/api/schedule/preview", choices)
    assert status == 200, preview
    root = server.root_dir.resolve()
    expected = render_dag(
        ScheduleSpec(
            notebook=str(root / "reports" / "daily.ipynb"),
            owner="ana@example.com",
            output_dir=str(root / "reports" / "runs"),
            cron="0 6 * * *",
            parameters={"day": "{{ ds }}", "limit": 5},
            start_date="2026-11-30",
        )
    )
    assert preview == {
        "dag_id": "bento_daily",
        "path": "dags/bento_daily.py",
        "exists": False,
        "source": expected,
    }
    status, _ = call(server, "PUT", "/api/contents/dags", {"type": "directory"})
    assert status in (200, 201)
    status, saved = call(
        server,
        "PUT",
        "/api/contents/dags/bento_daily.py",
        {"type": "file", "format": "text", "content": preview["source"]},
    )
    assert status in (200, 201), saved
    assert (root / "dags" / "bento_daily.py").read_text() == expected

    on_assets = {**choices, "cron": None, "on_assets": True}
    status, preview = call(server, "POST", "/bento/api/schedule/preview", on_assets)
    assert status == 200, preview
    assert "SCHEDULE = [\n    Asset(uri='bento://default/orders'),\n]" in preview["source"]
    assert preview["exists"] is True


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"notebook": "../outside.ipynb"}, "not a path under the server's root"),
        ({"dags_dir": "../../etc"}, "not a path under the server's root"),
        ({"cron": "sometimes"}, "not a cron expression"),
        ({"parameters": {"x; import os": 1}}, "not a Python identifier"),
        ({"command": "rm -rf /"}, "unknown schedule fields"),
    ],
)
def test_a_bad_choice_is_refused_with_what_to_fix(server, change, says):
    choices = {"notebook": "reports/daily.ipynb", "cron": "@daily", "owner": "a@b.c", **change}
    status, body = call(server, "POST", "/bento/api/schedule/preview", choices)
    assert status == 400
    assert body["error"]["ename"] == "ConfigError"
    assert says in body["error"]["evalue"]


def test_run_now_writes_records_and_the_runs_pane_lists_them(server):
    ok = {"notebook": "reports/daily.ipynb", "parameters": {"day": "2026-06-01"}}
    status, done = call(server, "POST", "/bento/api/schedule/run", ok)
    assert status == 200, done
    assert done["status"] == "completed" and done["error"] is None
    assert done["record"].startswith("reports/runs/daily-manual__")
    record = json.loads((server.root_dir / done["record"]).read_text())
    assert record["metadata"]["papermill"]["parameters"]["day"] == "2026-06-01"

    bad = {"notebook": "reports/daily.ipynb", "parameters": {"limit": -1}}
    status, failed = call(server, "POST", "/bento/api/schedule/run", bad)
    assert status == 200, failed
    assert failed["status"] == "failed"
    # The cell's own error, not the RunFailed that carries it.
    assert (failed["error"]["ename"], failed["error"]["evalue"]) == (
        "AssertionError",
        "limit must be positive",
    )
    assert failed["error"]["cell_first_line"].startswith('print("day", day')
    assert done["failing_cell"] is None
    marked = json.loads((server.root_dir / failed["record"]).read_text())["cells"]
    index = failed["failing_cell"]["index"]  # the page's record link scrolls to this cell
    assert marked[index]["metadata"]["papermill"]["status"] == "failed", marked[index]

    status, listed = call(server, "GET", "/bento/api/schedule/runs?path=reports/daily.ipynb")
    assert status == 200, listed
    runs = {run["record"]: run for run in listed["runs"]}
    assert set(runs) == {done["record"], failed["record"]}
    assert runs[done["record"]]["status"] == "completed"
    assert runs[done["record"]]["failing_cell"] is None
    failing = runs[failed["record"]]["failing_cell"]
    assert runs[failed["record"]]["status"] == "failed"
    assert runs[failed["record"]]["parameters"] == {"limit": -1}
    assert failing["first_line"].startswith('print("day", day')
    assert (failing["ename"], failing["evalue"]) == ("AssertionError", "limit must be positive")
    saved = json.loads((server.root_dir / failed["record"]).read_text())
    assert saved["cells"][failing["index"]]["metadata"]["papermill"]["status"] == "failed"
