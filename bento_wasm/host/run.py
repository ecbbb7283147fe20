"""``execute_notebook``: a notebook run unattended in WebAssembly, leaving a record.

Order: read and parameterize the notebook (papermill's conventions), plan it (refusals
before anything runs), make the network namespace, prefetch every data cell into Arrow
files, run the cells one by one in Pyodide under Node.js, then, only if every cell
succeeded, upload what the ``%dataframe`` cells wrote. The output notebook is written in
every case; OpenLineage events say what was read and written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import RunRefused
from ..runs import params as P
from ..runs import record
from ..runs.params import read_notebook
from ..runs.plan import plan
from .outcome import RunResult, refuse, say, write
from .session import Run

__all__ = ["execute_notebook"]

REPO = Path(__file__).resolve().parents[2]


def execute_notebook(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    execution_timeout: float | None = None,
    network: str = "none",
    connections: dict[str, str] | None = None,
    keep_files: bool = False,
    log_output: bool = False,
    progress: bool = True,
    report_mode: bool = False,
    prepare_only: bool = False,
    start_timeout: float = 180.0,
    runtime: str | os.PathLike[str] | None = None,
    wheel: str | os.PathLike[str] | None = None,
) -> RunResult:

    given = dict(parameters or {})
    out = Path(output_path)
    nb = read_notebook(input_path)
    declared = P.declared_parameters(nb)
    for warning in P.unknown_parameters(declared, given):
        say(True, f"warning: {warning}")
    if given:
        nb = P.inject(nb, given, report_mode)
    defaults = {k: v for k, v in declared.defaults.items() if isinstance(v, _LITERALS)}
    record.begin(
        nb,
        input_path=str(input_path),
        output_path=str(out),
        parameters=given,
        default_parameters=defaults,
        report_mode=report_mode,
    )
    if prepare_only:
        record.finish(nb, {"status": "prepared", "engine": "bento-wasm"})
        write(nb, out)
        return RunResult(str(out), "prepared", given, [], [], None)
    try:
        P.check_required(declared, given)
    except RunRefused as exc:
        raise refuse(nb, out, exc, {"engine": "bento-wasm", "inputs": [], "uploads": []}) from None
    run = Run(
        nb,
        out,
        given,
        connections=connections,
        network=network,
        progress=progress,
        log_output=log_output,
        execution_timeout=execution_timeout,
        cwd=cwd,
        runtime=_runtime(runtime),
        wheel=Path(wheel) if wheel else None,
        start_timeout=start_timeout,
    )
    run_dir = Path(tempfile.mkdtemp(prefix="bento-run-"))
    if keep_files:
        run.bento["run_dir"] = str(run_dir)
    try:
        return run.execute(
            run_dir, plan(nb, given, graphql_endpoint=run.graphql_endpoint, dialects=run.dialects())
        )
    finally:
        if keep_files:
            say(True, f"kept the run's files in {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


_LITERALS = (str, int, float, bool, list, dict, tuple, type(None))


def _runtime(given: str | os.PathLike[str] | None) -> Path:
    """``runtime`` if given (verified), else the checkout's, else the one assembled in the
    user's cache (on first use, with progress): as ``bento serve`` finds it."""
    from ..runtime import runtime_folder

    return runtime_folder(Path(given) if given else None, REPO / "runtime" / "pyodide")
