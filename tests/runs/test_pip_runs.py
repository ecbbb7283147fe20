"""``%pip install`` in a headless run (bento run: Pyodide in Node.js, no network): a package of
the runtime loads from the runtime; anything else fails its cell with a message saying why."""

from __future__ import annotations

import json

from tests.helpers import notebook
from tests.runs.test_runs import bento_run


def outputs_text(cell):
    return "".join(o.get("text", "") for o in cell["outputs"])


def test_a_runtime_package_installs_and_another_fails_clearly(tmp_path):
    source, out = tmp_path / "p.ipynb", tmp_path / "p.out.ipynb"
    notebook(
        "%pip install numpy",
        "import numpy\nprint('numpy', numpy.__version__)",
        "%pip install tabulate",
        "print('not reached')",
        path=source,
    )
    done = bento_run(str(source), str(out))
    assert done.returncode != 0, done.stderr
    # papermill's convention: a markdown cell marks the failing one first.
    cells = [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
    assert "numpy (2.0.2)" in outputs_text(cells[0]) or "numpy-2.0.2" in outputs_text(cells[0])
    assert outputs_text(cells[1]) == "numpy 2.0.2\n"
    [error] = [o for o in cells[2]["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "PackageUnavailable", error
    assert "tabulate" in error["evalue"] and "no network" in error["evalue"]
    assert "%%remote" in error["evalue"]
    assert "PackageUnavailable" in done.stderr and "tabulate" in done.stderr
    assert cells[3]["outputs"] == []
