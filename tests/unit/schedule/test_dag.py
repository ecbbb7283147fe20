"""The DAG generator: plain literals in, a file that parses, and nothing typed becomes code."""

from __future__ import annotations

import ast

import pytest

from bento_wasm.errors import ConfigError
from bento_wasm.schedule import ScheduleSpec, asset_uri, dag_id_for, render_dag
from bento_wasm.schedule.dag import render_now
from bento_wasm.schedule.report import failure_email, failure_fields, failure_line


def spec(**changes):
    values = dict(
        notebook="/nb/daily sales.ipynb",
        owner="ana@example.com",
        output_dir="/runs",
        cron="0 6 * * *",
        parameters={"day": "{{ ds }}", "limit": 10, "ratio": 0.5, "live": True, "tag": None},
        start_date="2026-11-30",
    )
    values.update(changes)
    return ScheduleSpec(**values)


def constants(source: str) -> dict[str, object]:
    """The module-level NAME = literal assignments of a generated file."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                found[node.targets[0].id] = ast.unparse(node.value)
    return found


def test_a_cron_schedule_writes_its_choices_as_literals():
    source = render_dag(spec())
    values = constants(source)
    assert values["NOTEBOOK"] == "/nb/daily sales.ipynb"
    assert values["OWNER"] == "ana@example.com"
    assert values["PARAMETERS"] == {
        "day": "{{ ds }}",
        "limit": 10,
        "ratio": 0.5,
        "live": True,
        "tag": None,
    }
    assert values["OUTPUT_PATH"] == "/runs/daily sales-{{ run_id }}.ipynb"
    assert values["SCHEDULE"] == "0 6 * * *"
    assert "dag_id='bento_daily_sales'" in source
    assert "datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)" in source
    compile(source, "dag.py", "exec")


def test_an_asset_schedule_lists_the_tables_it_waits_for():
    source = render_dag(spec(cron=None, assets=(asset_uri("warehouse", "orders"),)))
    assert "    Asset(uri='bento://warehouse/orders'),\n" in source
    assert "from airflow.sdk import DAG, Asset\n" in source
    assert constants(source)["SCHEDULE"] == "[Asset(uri='bento://warehouse/orders')]"


HOSTILE = "x'); import os; os.system('echo pwned') #\n\"\"\" {{ 7 * 7 }}"


@pytest.mark.parametrize(
    "changes",
    [
        {"parameters": {"day": HOSTILE, "nested": {"k": [HOSTILE, 1]}}},
        {"notebook": f"/nb/{HOSTILE}.ipynb"},
        {"output_dir": f"/runs/{HOSTILE}"},
        {"owner": "a'+__import__('os').getcwd()+'@example.com"},
    ],
)
def test_nothing_typed_becomes_code(changes):
    source = render_dag(spec(**changes))
    tree = ast.parse(source)
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports == [
        "from __future__ import annotations",
        "import datetime",
        "from airflow.sdk import DAG",
        "from bento_wasm.airflow import BentoOperator, OwnerNotifier",
    ]
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls == {"DAG", "BentoOperator", "OwnerNotifier", "datetime.datetime"}
    values = constants(source)
    if "parameters" in changes:
        assert values["PARAMETERS"] == changes["parameters"]
    if "owner" in changes:
        assert values["OWNER"] == changes["owner"]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"cron": "every day"}, "not a cron expression"),
        ({"cron": "0 6 * * * *"}, "not a cron expression"),
        ({"cron": None}, "either a cron expression"),
        ({"assets": ("bento://w/orders",)}, "not both"),
        ({"owner": "ana"}, "not an email"),
        ({"dag_id": "a b"}, "DAG id"),
        ({"parameters": {"not a name": 1}}, "not a Python identifier"),
        ({"parameters": {"x": float("nan")}}, "finite number"),
        ({"parameters": {"x": {1, 2}}}, "cannot be written"),
        ({"start_date": "30/11/2026"}, "YYYY-MM-DD"),
        ({"notebook": "/nb/script.py"}, ".ipynb"),
        ({"retries": -1}, "retries"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(changes, says):
    with pytest.raises(ConfigError, match=says):
        render_dag(spec(**changes))


def test_presets_are_accepted_as_airflow_takes_them():
    assert constants(render_dag(spec(cron="@daily")))["SCHEDULE"] == "@daily"


def test_from_dict_takes_the_page_body_and_refuses_unknown_fields():
    body = {"notebook": "/nb/a.ipynb", "owner": "a@b.c", "output_dir": "/r", "cron": "@hourly"}
    assert ScheduleSpec.from_dict(body).effective_dag_id == "bento_a"
    with pytest.raises(ConfigError, match="unknown schedule fields \\['command'\\]"):
        ScheduleSpec.from_dict({**body, "command": "rm -rf /"})


def test_asset_names_and_dag_ids_are_checked():
    assert asset_uri(None, "orders") == "bento://default/orders"
    assert asset_uri("pg", "public.orders") == "bento://pg/public.orders"
    with pytest.raises(ConfigError, match="cannot name an asset"):
        asset_uri("pg", "orders/../x y")
    assert dag_id_for("/x/Sales report (v2).ipynb") == "bento_Sales_report_v2"


def test_failure_texts_name_the_cell_from_one_the_error_and_the_record():
    failure = {
        "cell_index": 3,
        "cell_first_line": "x = 1 / 0",
        "ename": "ZeroDivisionError",
        "evalue": "division by zero",
        "output_path": "/runs/a-1.ipynb",
    }
    assert failure_line("a.ipynb", failure) == (
        "a.ipynb failed at cell 4 (x = 1 / 0): ZeroDivisionError: division by zero; "
        "the record is /runs/a-1.ipynb"
    )
    subject, body = failure_email(
        "a.ipynb", {**failure, "evalue": "<b>"}, dag_id="bento_a", run_id="r1", try_number=2
    )
    assert subject.startswith("[bento] bento_a: a.ipynb failed at cell 4 (x = 1 / 0)")
    assert "&lt;b&gt;" in body and "<b>" not in body.replace("<b>a.ipynb</b>", "")
    assert "/runs/a-1.ipynb" in body and "bento_a / r1 (try 2)" in body


def test_the_readme_shows_the_dag_the_generator_writes():
    from tests.helpers import ROOT

    shown = render_dag(
        ScheduleSpec(
            notebook="/srv/notebooks/daily_sales.ipynb",
            owner="ana@example.com",
            output_dir="/srv/notebooks/runs",
            cron="0 6 * * *",
            parameters={"day": "{{ ds }}", "region": "DE"},
            start_date="2026-11-30",
        )
    )
    assert f"```python\n{shown}```" in (ROOT / "README.md").read_text()


def test_run_now_renders_the_run_context_it_knows_and_refuses_the_rest():
    import datetime

    now = datetime.datetime(2026, 11, 30, 8, 5, tzinfo=datetime.UTC)
    given = {"day": "{{ ds }}", "tag": "x-{{ds_nodash}}-{{ run_id }}", "n": 3}
    assert render_now(given, now, "manual__1") == {
        "day": "2026-11-30",
        "tag": "x-20261130-manual__1",
        "n": 3,
    }
    with pytest.raises(
        ConfigError, match="parameter 'when' = '\\{\\{ next_ds \\}\\}': Run now renders only"
    ):
        render_now({"when": "{{ next_ds }}"}, now, "manual__1")


def test_failure_fields_name_the_cells_error_not_the_run_failed():
    from bento_wasm.errors import RunFailed

    error = RunFailed(
        "the run failed",
        cell_index=2,
        cell_first_line="x = 1 / 0",
        ename="ZeroDivisionError",
        evalue="division by zero",
        output_path="/runs/a.ipynb",
    )
    assert failure_fields(error) == {
        "cell_index": 2,
        "cell_first_line": "x = 1 / 0",
        "ename": "ZeroDivisionError",
        "evalue": "division by zero",
        "output_path": "/runs/a.ipynb",
    }
