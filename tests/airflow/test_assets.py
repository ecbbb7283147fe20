"""Event-based schedules on a real scheduler: a run that uploads ``orders`` triggers the notebook
that reads ``orders`` (its DAG written by ``bento schedule --on-assets``), through Airflow's
asset events. Scheduler, DAG processor and API server run on this machine, bounded in time."""

from __future__ import annotations

import json
import time

import pytest

from bento_wasm import cli
from tests.helpers import Airflow, notebook, stream_text

pytestmark = pytest.mark.airflow

UPSTREAM = [
    (
        "import pandas as pd\n\n"
        "orders = pd.DataFrame({'order_id': [1, 2, 3], 'amount': [9.5, 20.0, 4.25]})",
        [],
    ),
    ("%dataframe orders --table orders --mode replace", []),
]
DOWNSTREAM = [
    ("%%sql -o n\nSELECT count(*) AS n, sum(amount) AS total FROM orders", []),
    ('print("orders", int(n.n[0]), "total", float(n.total[0]))', []),
]


def notebook_at(path, cells):
    notebook(*cells, path=path)
    return path


def schedule(notebook, airflow, runs, *when):
    argv = ["schedule", str(notebook), *when, "--owner", "ana@example.com"]
    argv += ["--dags-folder", str(airflow.dags), "--output-dir", str(runs)]
    assert cli.main(argv) == 0


def test_an_upload_of_orders_triggers_the_notebook_that_reads_orders(tmp_path):
    warehouse = {"default": f"duckdb://{tmp_path / 'warehouse.duckdb'}"}
    airflow = Airflow(tmp_path / "airflow", BENTO_CONNECTIONS=json.dumps(warehouse))
    runs = tmp_path / "runs"
    downstream = notebook_at(tmp_path / "report.ipynb", DOWNSTREAM)
    schedule(downstream, airflow, runs, "--on-assets")
    assert "Asset(uri='bento://default/orders')" in (airflow.dags / "bento_report.py").read_text()
    # The upstream notebook runs once, as soon as the scheduler sees it.
    schedule(notebook_at(tmp_path / "load.ipynb", UPSTREAM), airflow, runs, "--cron", "@once")

    with airflow.services():
        deadline = time.monotonic() + 900
        rows: list[tuple[str, str, str]] = []
        while time.monotonic() < deadline:
            rows = airflow.sql("SELECT dag_id, run_type, state FROM dag_run ORDER BY dag_id")
            if ("bento_report", "asset_triggered", "success") in rows or any(
                state == "failed" for _, _, state in rows
            ):
                break
            time.sleep(3)
        assert rows == [
            ("bento_load", "scheduled", "success"),
            ("bento_report", "asset_triggered", "success"),
        ], airflow.tail()

    [record] = runs.glob("report-*.ipynb")
    # The downstream run read the table the upstream run had just uploaded.
    assert "orders 3 total 33.75" in stream_text(record)
    [(uri, source_dag)] = airflow.sql(
        "SELECT a.uri, e.source_dag_id FROM asset_event e JOIN asset a ON a.id = e.asset_id"
    )
    assert (uri, source_dag) == ("bento://default/orders", "bento_load")
