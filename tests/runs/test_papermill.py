"""``papermill --engine bento``: papermill's own CLI runs the notebook in WebAssembly.

The engine is found through the entry point pyproject.toml declares (group
``papermill.engine``); the test installs that declaration as distribution metadata on
PYTHONPATH, as ``pip install`` would, and runs papermill's command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import duckdb

from tests.helpers import ROOT, notebook


def test_papermill_runs_the_notebook_with_the_bento_engine(tmp_path):
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    engine = declared["papermill.engine"]["bento"]
    dist = tmp_path / "meta" / "bento_wasm_engine-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: bento-wasm-engine\nVersion: 0.0.0\n"
    )
    (dist / "entry_points.txt").write_text(f"[papermill.engine]\nbento = {engine}\n")
    wh = tmp_path / "wh.duckdb"
    with duckdb.connect(str(wh)) as db:
        db.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    notebook(
        ("n = 1", ["parameters"]),
        "%%sql -c wh -o rows\nSELECT x FROM t WHERE x < :n ORDER BY x",
        "import sys\nprint('rows', len(rows), sys.platform)",
        path=source,
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path / "meta")]),
        "BENTO_CONNECTIONS": json.dumps({"wh": f"duckdb://{wh}"}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", "bento", str(source), str(out),
         "-p", "n", "4", "--no-progress-bar"],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    nb = json.loads(out.read_text())
    assert nb["cells"][1]["metadata"]["tags"] == ["injected-parameters"]
    assert "".join(nb["cells"][3]["outputs"][0]["text"]) == "rows 4 emscripten\n"  # in wasm
    assert nb["metadata"]["papermill"]["parameters"] == {"n": 4}
    assert nb["metadata"]["bento"]["inputs"][0]["params"] == [4]
    assert {c["metadata"]["papermill"]["status"] for c in nb["cells"]} == {"completed"}
