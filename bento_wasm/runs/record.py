"""The output notebook as the record of a run, with papermill's metadata keys.

Pure: works on the notebook as a dict. ``metadata.papermill`` (notebook: parameters,
input/output paths, start/end time, duration, exception; each cell: status, start_time,
end_time, duration, exception) is what papermill writes, so papermill's tools and readers
(scrapbook, Airflow's papermill provider) read the record; ``metadata.bento`` holds the rest
(inputs, uploads, network, runtime, lineage). A failure is marked as papermill marks it: a
red banner at the top linking to an anchor cell placed just before the failing cell.
"""

from __future__ import annotations

import datetime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ERROR_MARKER_TAG", "begin", "cell_done", "cell_started", "finish", "mark_failure"]

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"

# papermill.execute's markers, byte for byte: papermill removes them before a re-run.
ERROR_MARKER_TAG = "papermill-error-cell-tag"
_STYLE = (
    'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'
)
ERROR_MESSAGE_TEMPLATE = (
    f"<span {_STYLE}>An Exception was encountered at "
    "'<a href=\"#papermill-error-cell\">In [%s]</a>'.</span>"
)
ERROR_ANCHOR_MSG = (
    f'<span id="papermill-error-cell" {_STYLE}>'
    "Execution using papermill encountered an exception here and stopped:</span>"
)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _seconds(start: str | None, end: str) -> float | None:
    if not start:
        return None
    delta = datetime.datetime.fromisoformat(end) - datetime.datetime.fromisoformat(start)
    return delta.total_seconds()


def begin(
    nb: dict[str, Any],
    *,
    input_path: str,
    output_path: str,
    parameters: dict[str, Any],
    default_parameters: dict[str, Any],
    report_mode: bool = False,
) -> None:
    """Reset the run's metadata (and drop markers of an earlier failed run), as papermill does."""
    nb["cells"] = [
        c
        for c in nb.get("cells", [])
        if ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    metadata = nb.setdefault("metadata", {})
    metadata["papermill"] = {
        "default_parameters": default_parameters,
        "parameters": parameters,
        "environment_variables": {},
        "version": None,
        "input_path": input_path,
        "output_path": output_path,
        "start_time": now(),
        "end_time": None,
        "duration": None,
        "exception": None,
    }
    for cell in nb["cells"]:
        cell.setdefault("metadata", {})["papermill"] = {
            "exception": None,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "status": PENDING,
        }
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            if report_mode:
                cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True


def cell_started(cell: dict[str, Any]) -> None:
    cell["metadata"]["papermill"].update(start_time=now(), status=RUNNING, exception=False)


def cell_done(
    nb: dict[str, Any],
    cell: dict[str, Any],
    outputs: list[dict[str, Any]],
    execution_count: int | None,
    failed: bool,
) -> None:
    meta = cell["metadata"]["papermill"]
    end = now()
    meta.update(end_time=end, duration=_seconds(meta.get("start_time"), end))
    meta["status"] = FAILED if failed else COMPLETED
    meta["exception"] = failed
    if failed:
        nb["metadata"]["papermill"]["exception"] = True
    cell["outputs"] = outputs
    cell["execution_count"] = execution_count


def mark_failure(nb: dict[str, Any], cell_index: int) -> int:
    """papermill's banner (top) and anchor (before the failing cell); the cell's new index."""
    count = nb["cells"][cell_index].get("execution_count")
    banner = _marker(ERROR_MESSAGE_TEMPLATE % str(count))
    anchor = _marker(ERROR_ANCHOR_MSG)
    nb["cells"].insert(cell_index, anchor)
    nb["cells"].insert(0, banner)
    return cell_index + 2


def _marker(text: str) -> dict[str, Any]:
    return {
        "cell_type": "markdown",
        "id": f"papermill-error-{len(text)}",
        "metadata": {"tags": [ERROR_MARKER_TAG]},
        "source": text,
    }


def finish(nb: dict[str, Any], bento: dict[str, Any]) -> None:
    """End times and ``metadata.bento``; pending cells stay pending after a failure."""
    meta = nb["metadata"]["papermill"]
    end = now()
    meta.update(end_time=end, duration=_seconds(meta.get("start_time"), end))
    if meta.get("exception") is None:
        meta["exception"] = bool(bento.get("status") == FAILED)
    if bento.get("status") == COMPLETED:  # as papermill: after a success nothing is pending
        for cell in nb["cells"]:
            cell_meta = cell.get("metadata", {}).get("papermill", {})
            if cell_meta.get("status") == PENDING:
                cell_meta["status"] = COMPLETED
    nb["metadata"]["bento"] = bento
