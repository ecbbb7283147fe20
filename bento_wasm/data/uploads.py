"""``%%dataframe NAME --table T``: upload a DataFrame as a background job with live status.

The DataFrame leaves as Arrow IPC; the executor answers with a queued job at once, and one
display (``display(..., display_id=True)``) is updated in place as the job runs (queued,
running with rows and bytes, done, failed with the reason, cancelled) while the notebook
stays usable. ``%uploads`` lists the jobs, ``%cancel_upload ID`` cancels one.
"""

from __future__ import annotations

import asyncio

from ..errors import MagicError
from .session import session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..kernel.magics import MagicContext

__all__ = ["JobStatus", "cancel_upload_magic", "dataframe_magic", "uploads_magic"]

POLL_S = 0.2
FINISHED = ("done", "failed", "cancelled")


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class JobStatus:
    """One upload job's state, shown as text or HTML."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job

    @property
    def state(self) -> str:
        return str(self.job.get("state", ""))

    def __repr__(self) -> str:
        job = self.job
        target = f"{job['connection']}.{job['table']} ({job['mode']})"
        head = f"upload {job['id']} -> {target}: {self.state}"
        if self.state == "running":
            return (
                f"{head}, {job['rows']}/{job['total_rows']} rows, "
                f"{_megabytes(job['bytes'])}/{_megabytes(job['total_bytes'])}"
            )
        if self.state == "done":
            size = _megabytes(job["total_bytes"])
            return f"{head}, {job['rows']} rows, {size} in {job['seconds']} s"
        if self.state == "failed":
            error = job.get("error") or {}
            return f"{head}: {error.get('ename', 'Error')}: {error.get('evalue', '')}"
        if self.state == "queued":
            return f"{head}; cancel with %cancel_upload {job['id']}"
        return head

    def _repr_html_(self) -> str:
        from html import escape  # html.entities costs ~40 ms to import in wasm: not at boot

        color = {"done": "#0a0", "failed": "#c00", "cancelled": "#888"}.get(self.state, "#06c")
        return f'<pre style="color:{color}">{escape(repr(self))}</pre>'


class JobList:
    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = [JobStatus(job) for job in jobs]

    def __repr__(self) -> str:
        return "\n".join(repr(job) for job in self.jobs) or "no upload jobs"


def dataframe_magic(ctx: MagicContext, line: str, body: str = "") -> Any:
    """``%dataframe`` / ``%%dataframe``: starts the job (blocking, one request) and returns;
    the job's display is updated in the background."""
    from .parsing import parse_dataframe

    cell = parse_dataframe(line, body)
    if cell.name not in ctx.namespace:
        raise MagicError(f"%%dataframe: no variable {cell.name!r}; create the DataFrame first")
    frame = ctx.namespace[cell.name]
    if type(frame).__name__ != "DataFrame" or not type(frame).__module__.startswith("pandas"):
        raise MagicError(
            f"%%dataframe: {cell.name!r} is a {type(frame).__name__}, not a pandas DataFrame; "
            f"convert it first, e.g. {cell.name} = pd.DataFrame({cell.name})"
        )
    from ..arrow.ipc import to_ipc
    from ..environment import need

    need()  # pyarrow writes the upload; a kernel may have only pandas so far
    data = session()
    job = data.call_now(cell.request(data.executor, bytes(to_ipc(frame))))
    handle = ctx.display(JobStatus(job), display_id=True)
    data.transport.spawn(lambda: watch(handle, job["id"]))
    return None


async def watch(handle: Any, job_id: str) -> None:
    """Poll the job and update its display until it ends."""
    data = session()
    last: dict[str, Any] = {}
    while True:
        await asyncio.sleep(POLL_S)
        try:
            job = await data.call(data.executor.request(f"uploads/{job_id}"))
        except OSError as exc:  # the executor went away: say so in the display, stop polling
            handle.update(f"upload {job_id}: lost contact with the executor ({exc})")
            return
        if job != last:
            handle.update(JobStatus(job))
            last = job
        if job["state"] in FINISHED:
            return


def uploads_magic(ctx: MagicContext, line: str) -> Any:
    data = session()
    return JobList(data.call_now(data.executor.request("uploads")))


def cancel_upload_magic(ctx: MagicContext, line: str) -> Any:
    job_id = line.strip()
    if not job_id:
        raise MagicError("%cancel_upload JOB_ID; list the jobs with %uploads")
    data = session()
    return JobStatus(data.call_now(data.executor.request(f"uploads/{job_id}", "DELETE")))
