"""The papermill engine ``bento``: ``papermill --engine bento in.ipynb out.ipynb -p ...``.

Papermill reads, parameterizes and writes the notebook with its own CLI and I/O handlers;
this engine only runs the parameterized notebook through :func:`bento_wasm.runs.execute_notebook`
(in WebAssembly, without network, data cells prefetched) and hands the cells back, so
papermill marks a failing cell and exits non-zero as it does for its own engine (STYLE.md #8).
Registered through the entry point group ``papermill.engine`` (pyproject.toml).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from papermill.engines import Engine  # type: ignore[import-untyped]

from ..errors import RunFailed
from ..runs.record import ERROR_MARKER_TAG

__all__ = ["BentoEngine"]


class BentoEngine(Engine):  # type: ignore[misc]
    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        import nbformat

        from .run import execute_notebook

        nb = nb_man.nb
        parameters = dict(nb.metadata.get("papermill", {}).get("parameters") or {})
        with tempfile.TemporaryDirectory(prefix="bento-papermill-") as folder:
            source, record = Path(folder) / "input.ipynb", Path(folder) / "output.ipynb"
            source.write_text(nbformat.writes(nb))  # type: ignore[no-untyped-call]
            failure: RunFailed | None = None
            try:
                execute_notebook(
                    source,
                    record,
                    parameters,
                    execution_timeout=execution_timeout,
                    log_output=log_output,
                    progress=False,
                )
            except RunFailed as exc:
                failure = exc
            ran = json.loads(record.read_text())
        cells = [c for c in ran["cells"] if ERROR_MARKER_TAG not in c["metadata"].get("tags", [])]
        nb.cells = [nbformat.from_dict(c) for c in cells]  # type: ignore[no-untyped-call]
        nb.metadata["bento"] = ran["metadata"].get("bento", {})
        if failure is not None:
            nb.metadata.papermill["exception"] = True
            if failure.cell_index is None or not _has_error(cells):
                raise failure  # not a cell's error (an upload, a refusal): papermill re-raises


def _has_error(cells: list[dict[str, Any]]) -> bool:
    return any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
