"""What a run leaves: the result, the written record, the error that names the cell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import BentoError, RunFailed, RunRefused
from ..runs import params as P
from ..runs import record
from ..runs.plan import first_line

__all__ = ["RunResult", "error_output", "fail", "refuse", "say", "write"]


class RunResult(NamedTuple):
    output_path: str
    status: str  # "completed" | "failed" | "prepared"
    parameters: dict[str, Any]
    inputs: list[dict[str, Any]]
    uploads: list[dict[str, Any]]
    lineage_path: str | None


def write(nb: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def say(enabled: bool, text: str) -> None:
    if enabled:
        print(f"bento run: {text}", file=sys.stderr, flush=True)


def refuse(nb: dict[str, Any], out: Path, exc: RunRefused, bento: dict[str, Any]) -> RunRefused:
    """Write the record of a run that never started; the error to raise."""
    exc.output_path = str(out)
    if exc.cell_index is not None and exc.cell_first_line is None:
        exc.cell_first_line = first_line(P.source_of(nb["cells"][exc.cell_index]))
    record.finish(nb, {**bento, "status": "refused", "error": exc.to_dict()})
    nb["metadata"]["papermill"]["exception"] = True
    write(nb, out)
    return exc


def fail(
    nb: dict[str, Any], out: Path, index: int | None, ename: str, evalue: str, bento: dict[str, Any]
) -> RunFailed:
    """Mark the failing cell as papermill does, write the record; the error to raise."""
    line = first_line(P.source_of(nb["cells"][index])) if index is not None else None
    where = f"cell {index + 1} ({line!r})" if index is not None else "the run"
    if index is not None:
        record.mark_failure(nb, index)
    error = RunFailed(
        f"{where} failed: {ename}: {evalue}; the record is in {out}",
        cell_index=index,
        cell_first_line=line,
        ename=ename,
        evalue=evalue,
        output_path=str(out),
    )
    record.finish(nb, {**bento, "status": "failed", "error": error.to_dict()})
    write(nb, out)
    return error


def error_output(exc: BentoError) -> dict[str, Any]:
    ename = type(exc).__name__
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": exc.message,
        "traceback": [f"{ename}: {exc.message}"],
    }
