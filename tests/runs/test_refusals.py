"""Runs that stop before the WebAssembly process starts: each leaves a record, a clear
message and a non-zero exit, and nothing is fetched or uploaded. No Node.js needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from bento_wasm.errors import RunFailed, RunRefused
from bento_wasm.runs import execute_notebook
from tests.helpers import free_port, notebook, rebuild_lineage_event
from tests.runs.test_runs import bento_run


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TABLE t AS SELECT 1 AS x")
    return f"duckdb://{path}"


def test_a_query_on_a_computed_value_is_refused_before_the_run(tmp_path, warehouse):
    source, out = tmp_path / "n.ipynb", tmp_path / "n.out.ipynb"
    notebook(("day = '2024-01-01'", ["parameters"]), "cutoff = day[:4]",
             "%%sql -c wh\nSELECT * FROM t WHERE x > :cutoff", path=source)  # fmt: skip
    done = bento_run(str(source), str(out), "-p", "day", "2025-01-01",
                     "--connection", f"wh={warehouse}")  # fmt: skip
    assert done.returncode == 2
    assert "refused: cell 4 ('%%sql -c wh') uses :cutoff, a value computed by cell 3" in done.stderr
    assert "make cutoff a parameter" in done.stderr
    nb = json.loads(out.read_text())
    assert nb["metadata"]["bento"]["status"] == "refused"
    assert nb["metadata"]["bento"]["error"]["cell_index"] == 3
    assert nb["metadata"]["bento"]["inputs"] == []
    assert nb["cells"][1]["source"] == "# Parameters\nday = '2025-01-01'\n"
    assert not out.with_name("n.out.lineage.jsonl").exists()  # nothing started


def test_a_missing_parameter_is_refused_and_an_unknown_one_only_warns(tmp_path):
    source, out = tmp_path / "m.ipynb", tmp_path / "m.out.ipynb"
    notebook(("region: str", ["parameters"]), "print(region)", path=source)
    done = bento_run(str(source), str(out), "-p", "other", "1")
    assert done.returncode == 2
    assert "Passed unknown parameter: other" in done.stderr
    assert "missing parameter region" in done.stderr and "-p region VALUE" in done.stderr
    assert json.loads(out.read_text())["metadata"]["bento"]["status"] == "refused"


def test_a_malformed_notebook_fails_with_exit_2(tmp_path):
    source = tmp_path / "bad.ipynb"
    source.write_text('{"cells": 3}')
    done = bento_run(str(source))
    assert done.returncode == 2
    assert "is not an nbformat 4 notebook" in done.stderr


def test_without_a_network_namespace_the_run_refuses_and_names_network_allow(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no unshare to be found
    source, out = tmp_path / "n.ipynb", tmp_path / "n.out.ipynb"
    notebook("print(1)", path=source)
    with pytest.raises(RunRefused, match="pass --network allow") as caught:
        execute_notebook(source, out, progress=False)
    assert caught.value.output_path == str(out)
    assert json.loads(out.read_text())["metadata"]["bento"]["status"] == "refused"


def test_a_data_source_down_during_the_prefetch_fails_that_cell_and_runs_nothing(
    tmp_path, warehouse, capsys
):
    dead = f"http://127.0.0.1:{free_port()}/graphql"
    source, out = tmp_path / "g.ipynb", tmp_path / "g.out.ipynb"
    notebook("import pandas as pd\ndf = pd.DataFrame({'a': [1]})",
             f"%%graphql --endpoint {dead} -o g\n{{ shop {{ name }} }}",
             "%dataframe df --table never -c wh", path=source)  # fmt: skip
    with pytest.raises(RunFailed) as caught:
        execute_notebook(source, out, connections={"wh": warehouse}, progress=False,
                         keep_files=True)  # fmt: skip
    error = caught.value
    assert error.cell_index == 1 and error.ename == "DataSourceError"
    kept = Path(json.loads(out.read_text())["metadata"]["bento"]["run_dir"])
    assert f"kept the run's files in {kept}" in capsys.readouterr().err
    assert (kept / "inputs").is_dir()
    shutil.rmtree(kept)
    assert f"cannot reach {dead} during the prefetch" in error.message
    nb = json.loads(out.read_text())
    assert nb["cells"][3]["outputs"][0]["ename"] == "DataSourceError"
    assert nb["cells"][3]["metadata"]["papermill"]["status"] == "failed"
    assert nb["cells"][1]["metadata"]["papermill"]["status"] == "pending"  # never ran
    with duckdb.connect(warehouse.removeprefix("duckdb://"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name = 'never'").fetchone() == (0,)  # fmt: skip
    kinds = [rebuild_lineage_event(json.loads(line)).eventType.value
             for line in out.with_name("g.out.lineage.jsonl").read_text().splitlines()]  # fmt: skip
    assert kinds == ["START", "FAIL"]


def test_prepare_only_writes_the_parameterized_notebook_with_papermills_options(tmp_path):
    source, out = tmp_path / "p.ipynb", tmp_path / "p.out.ipynb"
    params = tmp_path / "params.yaml"
    params.write_text("a: 1\nb: from-file\nwhen: 2024-05-01\n")
    notebook(("a = 0\nb = ''\nc = 0\nd = ''\nwhen = ''", ["parameters"]), "print(a)", path=source)
    done = bento_run(str(source), str(out), "-f", str(params), "-y", "c: 2.5", "-p", "a", "7",
                     "-r", "d", "7", "--prepare-only", "--report-mode")  # fmt: skip
    assert done.returncode == 0, done.stderr
    nb = json.loads(out.read_text())
    injected = nb["cells"][1]
    assert injected["source"] == (
        "# Parameters\na = 7\nb = 'from-file'\nwhen = '2024-05-01'\nc = 2.5\nd = '7'\n"
    )
    assert injected["metadata"]["jupyter"] == {"source_hidden": True}
    assert nb["cells"][2]["metadata"]["jupyter"] == {"source_hidden": True}
    assert nb["cells"][2]["outputs"] == [] and nb["metadata"]["bento"]["status"] == "prepared"


def test_input_in_a_headless_run_fails_that_cell_as_under_papermill(tmp_path):
    """No one answers input() in a headless run: ipykernel under papermill raises
    StdinNotImplementedError (a NotImplementedError), and so does the bento engine."""
    source, out = tmp_path / "i.ipynb", tmp_path / "i.out.ipynb"
    notebook("print('before')", "name = input('name? ')", "print('never')", path=source)
    with pytest.raises(RunFailed) as caught:
        execute_notebook(source, out, progress=False)
    assert (caught.value.cell_index, caught.value.ename) == (1, "StdinNotImplementedError")
    assert "no user to answer it" in caught.value.evalue and "-p NAME VALUE" in caught.value.evalue
    cells = json.loads(out.read_text())["cells"]
    assert not any(o.get("name") == "stdout" and "never" in o.get("text", "")
                   for c in cells for o in c.get("outputs", []))  # fmt: skip
