"""What a failed scheduled run says: one line for the task's error, a few for the owner's email.

Pure: from the fields of a :class:`~bento_wasm.errors.RunFailed` (as ``to_dict`` gives them)
to text, so the operator's message and the notifier's email name the same cell the same way.
Cells are counted from 1, as a reader counts them; the record marks the same cell.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["failure_email", "failure_fields", "failure_line"]


def failure_fields(error: Any) -> dict[str, Any]:
    """The failing cell, its error and the record, from a :class:`~bento_wasm.errors.RunFailed`
    (its ``to_dict`` names the RunFailed itself; these texts name the cell's own error)."""
    return {
        "cell_index": getattr(error, "cell_index", None),
        "cell_first_line": getattr(error, "cell_first_line", None),
        "ename": getattr(error, "ename", None) or type(error).__name__,
        "evalue": getattr(error, "evalue", None) or str(error),
        "output_path": getattr(error, "output_path", None),
    }


def _cell(failure: dict[str, Any]) -> str:
    index = failure.get("cell_index")
    if index is None:
        return "after its cells ran"
    first = (failure.get("cell_first_line") or "").strip()
    return f"at cell {int(index) + 1}" + (f" ({first})" if first else "")


def failure_line(notebook: str, failure: dict[str, Any]) -> str:
    """``demo.ipynb failed at cell 4 (x = 1 / 0): ZeroDivisionError: division by zero; the
    record is /runs/demo-….ipynb``."""
    error = f"{failure.get('ename') or 'Error'}: {failure.get('evalue') or ''}".rstrip(": ")
    record = failure.get("output_path")
    where = f"; the record is {record}" if record else ""
    return f"{notebook} failed {_cell(failure)}: {error}{where}"


def failure_email(
    notebook: str, failure: dict[str, Any], *, dag_id: str, run_id: str, try_number: int | None
) -> tuple[str, str]:
    """(subject, HTML body) for the owner: the notebook, the failing cell, the error, the
    record's path, and the Airflow run it was."""
    index = failure.get("cell_index")
    cell = "-" if index is None else str(int(index) + 1)
    rows = [
        ("Notebook", notebook),
        ("Failing cell", f"{cell}  {failure.get('cell_first_line') or ''}".strip()),
        ("Error", f"{failure.get('ename') or 'Error'}: {failure.get('evalue') or ''}"),
        ("Record", failure.get("output_path") or "(none written)"),
        ("DAG / run", f"{dag_id} / {run_id}" + (f" (try {try_number})" if try_number else "")),
    ]
    table = "".join(
        f"<tr><th align='left'>{html.escape(key)}</th>"
        f"<td><code>{html.escape(str(value))}</code></td></tr>"
        for key, value in rows
    )
    subject = f"[bento] {dag_id}: {failure_line(notebook, {**failure, 'output_path': None})}"
    body = (
        f"<p>A scheduled run of <b>{html.escape(notebook)}</b> failed.</p><table>{table}</table>"
        "<p>Open the record to see every cell's output; the failing cell is marked.</p>"
    )
    return subject[:250], body
