"""``bento schedule``: the DAG file lands in the dags folder; bad input loses nothing."""

from __future__ import annotations

import ast
import json

import pytest

from bento_wasm import cli
from bento_wasm.errors import ConfigError
from bento_wasm.schedule.command import parse_value
from bento_wasm.schedule.notebook import parameters_of, read_notebook


def notebook(tmp_path, parameters="day = '2026-01-01'\nlimit: int = 5\nnow = compute()\n"):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# daily"},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": parameters},
        {"cell_type": "code", "metadata": {}, "source": "print(day)"},
    ]
    path = tmp_path / "daily.ipynb"
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path


def test_schedule_writes_a_reviewable_dag(tmp_path, capsys):
    path = notebook(tmp_path)
    dags = tmp_path / "dags"
    argv = ["schedule", str(path), "--cron", "0 6 * * *", "-p", "day", "{{ ds }}"]
    argv += ["-p", "limit", "7", "--owner", "ana@example.com", "--dags-folder", str(dags)]
    assert cli.main(argv) == 0
    target = dags / "bento_daily.py"
    assert capsys.readouterr().out.strip() == str(target)
    tree = ast.parse(target.read_text())
    values = {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and n.targets[0].id != "SCHEDULE"
    }
    assert values["PARAMETERS"] == {"day": "{{ ds }}", "limit": 7}
    assert values["NOTEBOOK"] == str(path)
    assert values["OUTPUT_PATH"] == str(tmp_path / "runs" / "daily-{{ run_id }}.ipynb")


def test_an_existing_dag_is_kept_unless_forced(tmp_path, capsys):
    path = notebook(tmp_path)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "bento_daily.py").write_text("# reviewed by hand\n")
    argv = [
        "schedule",
        str(path),
        "--cron",
        "@daily",
        "--owner",
        "a@b.c",
        "--dags-folder",
        str(dags),
    ]
    assert cli.main(argv) == 1
    assert "exists; review it, then pass --force" in capsys.readouterr().err
    assert (dags / "bento_daily.py").read_text() == "# reviewed by hand\n"
    assert cli.main([*argv, "--force"]) == 0
    assert "BentoOperator(" in (dags / "bento_daily.py").read_text()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--cron", "daily please"], "not a cron expression"),
        (["--cron", "@daily", "-p", "bad name", "1"], "not a Python identifier"),
    ],
)
def test_bad_input_writes_nothing_and_says_what_to_fix(tmp_path, capsys, extra, says):
    path = notebook(tmp_path)
    dags = tmp_path / "dags"
    assert (
        cli.main(["schedule", str(path), *extra, "--owner", "a@b.c", "--dags-folder", str(dags)])
        == 1
    )
    assert says in capsys.readouterr().err
    assert not dags.exists()


def test_a_missing_notebook_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.ipynb"
    assert cli.main(["schedule", str(missing), "--cron", "@daily", "--owner", "a@b.c"]) == 1
    assert f"no notebook at {missing}" in capsys.readouterr().err


def test_values_are_read_as_papermill_reads_them():
    assert [parse_value(v) for v in ("True", "None", "3", "2.5", "{{ ds }}", "007x")] == [
        True,
        None,
        3,
        2.5,
        "{{ ds }}",
        "007x",
    ]


def test_the_parameters_cell_gives_literal_defaults_only(tmp_path):
    nb = read_notebook(notebook(tmp_path))
    assert parameters_of(nb) == {"day": "2026-01-01", "limit": 5}
    assert parameters_of({"cells": []}) == {}


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not a readable notebook"):
        read_notebook(bad)
