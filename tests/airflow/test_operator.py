"""BentoOperator on a real Airflow 3 (its own venv, SQLite in a temp folder, no mocks): the DAG
that ``bento schedule`` writes parses, its task runs the notebook with templated parameters
(record, upload, lineage, asset event, XCom), and a failing notebook fails the task, names the
cell and emails the owner (a loopback SMTP server)."""

from __future__ import annotations

import datetime
import email
import email.policy
import json

import pytest

from bento_wasm import cli
from tests.helpers import Airflow, free_port, notebook, stream_text

pytestmark = pytest.mark.airflow

DAILY = [
    ('day = "2026-01-01"\nlimit = 3\n', ["parameters"]),
    (
        "%%sql -o top\nSELECT product_id, round(sum(amount), 2) AS revenue FROM orders\n"
        "WHERE ordered_at < CAST(:day AS TIMESTAMP)\n"
        "GROUP BY product_id ORDER BY revenue DESC, product_id LIMIT 3",
        [],
    ),
    ('top["day"] = day\nprint("day", day, "rows", len(top))', []),
    ("%dataframe top --table daily_top --mode replace", []),
]

FRAGILE = [
    ("threshold = 0\n", ["parameters"]),
    ("%%sql -o counts\nSELECT count(*) AS n FROM orders", []),
    ("ratio = int(counts.n[0]) / threshold\nprint(ratio)", []),
    ("%dataframe counts --table never_written --mode replace", []),
]

#: Parse the dags folder as the DAG processor does (DagBag) and describe what it found.
PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag()
out = {"errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    task = dag.tasks[0]
    out["dags"][dag_id] = {
        "tasks": [t.task_id for t in dag.tasks],
        "operator": type(task).__name__,
        "inlets": [a.uri for a in task.inlets],
        "outlets": [a.uri for a in task.outlets],
        "template_fields": list(task.template_fields),
        "parameters": task.parameters,
        "owner": task.owner,
        "callbacks": [type(c).__name__ for c in task.on_failure_callback],
    }
print(json.dumps(out))
"""


@pytest.fixture
def warehouse(tmp_path):
    """A DuckDB warehouse of its own (the demo tables, created on first use)."""
    return {"default": f"duckdb://{tmp_path / 'warehouse.duckdb'}"}


def notebook_at(path, cells):
    notebook(*cells, path=path)
    return path


def today() -> str:
    # The generated DAG starts today (UTC); a run for today is within its schedule.
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def schedule(notebook, airflow, runs, *more):
    argv = ["schedule", str(notebook), *more, "--owner", "ana@example.com"]
    argv += ["--dags-folder", str(airflow.dags), "--output-dir", str(runs)]
    assert cli.main(argv) == 0


def table_rows(airflow, warehouse, query):
    code = (
        "import duckdb, json; "
        f"db = duckdb.connect({warehouse['default'].removeprefix('duckdb://')!r}, read_only=True); "
        f"print(json.dumps([list(r) for r in db.execute({query!r}).fetchall()]))"
    )
    return airflow.python(code)


def test_a_generated_cron_dag_parses_and_runs_with_templated_parameters(tmp_path, warehouse):
    airflow = Airflow(tmp_path / "airflow", BENTO_CONNECTIONS=json.dumps(warehouse))
    notebook = notebook_at(tmp_path / "daily.ipynb", DAILY)
    runs = tmp_path / "runs"
    schedule(notebook, airflow, runs, "--cron", "0 6 * * *", "-p", "day", "{{ ds }}")

    parsed = airflow.python(PARSE)
    assert parsed["errors"] == {}
    assert parsed["dags"] == {
        "bento_daily": {
            "tasks": ["run_notebook"],
            "operator": "BentoOperator",
            "inlets": ["bento://default/orders"],
            "outlets": ["bento://default/daily_top"],
            "template_fields": ["parameters", "output_path"],
            "parameters": {"day": "{{ ds }}"},
            "owner": "ana@example.com",
            "callbacks": ["OwnerNotifier"],
        }
    }

    day = today()
    done = airflow.run("dags", "test", "bento_daily", day, timeout=900)
    [(run_id, state)] = airflow.sql("SELECT run_id, state FROM dag_run WHERE dag_id='bento_daily'")
    assert state == "success", done.stdout[-6000:]

    # One record per run, named by the run; the parameter was rendered from the context.
    records = sorted(runs.glob("daily-*.ipynb"))
    assert [r.name for r in records] == [f"daily-{run_id}.ipynb"]
    record = json.loads(records[0].read_text())
    assert record["metadata"]["papermill"]["parameters"]["day"] == day
    assert f"day {day} rows 3" in stream_text(records[0])

    # The upload was done on the Airflow worker, after the run.
    assert table_rows(airflow, warehouse, "SELECT DISTINCT day FROM daily_top") == [[day]]

    # Lineage emitted beside the record: read orders, wrote daily_top.
    lineage = records[0].with_suffix(".lineage.jsonl").read_text()
    assert "orders" in lineage and "daily_top" in lineage and '"COMPLETE"' in lineage

    # Airflow recorded the asset event of the upload, and the record's path in XCom.
    events = airflow.sql(
        "SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
    )
    assert [(uri, json.loads(extra)) for uri, extra in events] == [
        ("bento://default/daily_top", {"record": str(records[0])})
    ]
    xcom = dict(airflow.sql("SELECT key, value FROM xcom WHERE dag_id='bento_daily'"))
    assert json.loads(xcom["record"]) == str(records[0])


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_a_failing_notebook_fails_the_task_names_the_cell_and_emails_the_owner(tmp_path, warehouse):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        connection = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@test"},
        }
        airflow = Airflow(
            tmp_path / "airflow",
            BENTO_CONNECTIONS=json.dumps(warehouse),
            AIRFLOW_CONN_SMTP_DEFAULT=json.dumps(connection),
        )
        notebook = notebook_at(tmp_path / "fragile.ipynb", FRAGILE)
        runs = tmp_path / "runs"
        schedule(notebook, airflow, runs, "--cron", "@daily")
        done = airflow.run("dags", "test", "bento_fragile", today(), timeout=900, check=False)
    finally:
        smtp.stop()

    [(run_id, state)] = airflow.sql(
        "SELECT run_id, state FROM dag_run WHERE dag_id='bento_fragile'"
    )
    [task_state] = airflow.sql("SELECT state FROM task_instance WHERE dag_id='bento_fragile'")
    assert (state, task_state) == ("failed", ("failed",)), done.stdout[-6000:]
    record = runs / f"fragile-{run_id}.ipynb"
    line = (
        f"{notebook} failed at cell 3 (ratio = int(counts.n[0]) / threshold): "
        f"ZeroDivisionError: division by zero; the record is {record}"
    )
    assert line in done.stdout
    xcom = dict(airflow.sql("SELECT key, value FROM xcom WHERE dag_id='bento_fragile'"))
    assert json.loads(xcom["record"]) == str(record)
    assert record.exists()
    assert table_rows(
        airflow, warehouse, "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'never_written'"
    ) == [[0]]  # fmt: skip

    [(to, content)] = inbox.messages
    assert to == ["ana@example.com"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert "bento_fragile" in message["Subject"]
    assert "failed at cell 3 (ratio = int(counts.n[0]) / threshold)" in message["Subject"]
    body = message.get_body(("html",)).get_content()
    for shown in (str(notebook), "ZeroDivisionError: division by zero", str(record), run_id):
        assert shown in body
