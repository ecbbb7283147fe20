"""Headless runs: a notebook run unattended in WebAssembly, with parameters, no network,
prefetched inputs, deferred uploads, a record and lineage (``bento run``, papermill's
``--engine bento``).

Owns the pure parts: :mod:`~bento_wasm.runs.params` (papermill's parameter typing and
injection), :mod:`~bento_wasm.runs.plan` (what to prefetch, upload or refuse, before the
run), :mod:`~bento_wasm.runs.record` (the output notebook's papermill/bento metadata and
error markers), :mod:`~bento_wasm.runs.lineage` (OpenLineage events, with the client's
models) and :mod:`~bento_wasm.runs.sandbox` (the data magics inside the run: answers from
files, uploads into files).

May import: the standard library, ``errors``, ``kernel``, ``data`` (magic parsing),
``arrow`` and ``offload`` (cell analysis); sqlglot, yaml and openlineage inside functions.
Its one door into the host layer: :func:`execute_notebook` and :func:`plan_run` call
:mod:`bento_wasm.host.run` (CPython with the ``server`` and ``runs`` extras).

    from bento_wasm.runs import execute_notebook
    result = execute_notebook("in.ipynb", "out.ipynb", {"region": "DE"})
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..host.outcome import RunResult
    from .plan import RunPlan

__all__ = ["execute_notebook", "plan_run"]


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
    **more: Any,
) -> RunResult:
    """Run the notebook headless in WebAssembly and write its record to ``output_path``.

    ``execution_timeout``: seconds per cell; ``network``: "none" (a namespace of its own, or
    refuse) or "allow"; ``connections``: name -> URI, added to the server's
    (``default`` is the demo DuckDB file); ``more``: ``report_mode``, ``prepare_only``,
    ``runtime``, ``wheel``, ``start_timeout``. Returns a ``RunResult`` (output_path, status,
    parameters, inputs, uploads, lineage_path); raises :class:`bento_wasm.errors.RunFailed`
    (or its subclass ``RunRefused``) after writing the record.
    """
    from ..host.run import execute_notebook as run

    return run(
        input_path,
        output_path,
        parameters,
        cwd=cwd,
        execution_timeout=execution_timeout,
        network=network,
        connections=connections,
        keep_files=keep_files,
        log_output=log_output,
        progress=progress,
        **more,
    )


def plan_run(
    input_path: str | os.PathLike[str], parameters: dict[str, Any] | None = None
) -> RunPlan:
    """What a run would read (``.inputs``) and write (``.outputs``) as (connection, table)
    pairs, and what it would refuse (``.refusals``), found before any run."""
    from .params import read_notebook
    from .plan import plan

    nb = read_notebook(input_path)
    return plan(nb, parameters, graphql_endpoint=os.environ.get("BENTO_GRAPHQL_ENDPOINT", ""))
