"""Upload jobs: an Arrow IPC stream into a warehouse table, in the background, with status.

A job goes ``queued`` -> ``running`` (rows and bytes written so far) -> ``done`` | ``failed``
(with the reason) | ``cancelled``. Batches are written in slices of ``BATCH_ROWS`` inside
one transaction, so a failed or cancelled job leaves the table as it was. Jobs run on a
thread pool: the server keeps answering other requests meanwhile.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from ..errors import ArrowError, BentoError
from . import limits
from .warehouse import BATCH_ROWS, Warehouse

__all__ = ["Job", "UploadJobs"]

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
KEEP_FINISHED = 100


class _Cancelled(Exception):
    """Raised inside the batch iterator to abort the transaction."""


@dataclass
class Job:
    id: str
    connection: str
    table: str
    mode: str
    total_rows: int
    total_bytes: int
    state: str = "queued"
    rows: int = 0
    bytes: int = 0
    error: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "connection": self.connection,
            "table": self.table,
            "mode": self.mode,
            "state": self.state,
            "rows": self.rows,
            "bytes": self.bytes,
            "total_rows": self.total_rows,
            "total_bytes": self.total_bytes,
            "error": self.error,
            "seconds": round((self.finished or time.time()) - self.created, 3),
        }


class UploadJobs:
    """The server's upload jobs, by id."""

    def __init__(
        self, warehouse: Warehouse, pool: Executor, throttle_s: float = 0.0, max_queued: int = 0
    ) -> None:
        self.warehouse = warehouse
        self.pool = pool
        self.throttle_s = throttle_s
        self.max_queued = max_queued  # 0: no bound
        self.submitting = 0  # uploads admitted, waiting for the pool to check and queue them
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(self, connection: str, table: str, mode: str, body: bytes) -> Job:
        """Check the connection and the stream now (errors raise here), then queue the job.

        Called on the pool after :meth:`admit` (on the event loop); ends that admission."""
        try:
            return self._submit(connection, table, mode, body)
        finally:
            with self._lock:
                self.submitting = max(0, self.submitting - 1)

    def admit(self) -> None:
        """Count one more upload as waiting, or refuse it (429) when the bound is reached:
        jobs waiting for the pool, and uploads waiting to be checked, both count."""
        with self._lock:
            limits.check_queue(self.queued() + self.submitting, self.max_queued)
            self.submitting += 1

    def _submit(self, connection: str, table: str, mode: str, body: bytes) -> Job:
        self.warehouse.get(connection)
        table_data = read_stream(body)
        job = Job(
            id=f"upload-{next(self._ids)}",
            connection=connection,
            table=table,
            mode=mode,
            total_rows=table_data.num_rows,
            total_bytes=len(body),
        )
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self.pool.submit(self._run, job, table_data)
        return job

    def queued(self) -> int:
        """Jobs waiting for the pool (the bound of ``max_queued``)."""
        return sum(job.state == "queued" for job in list(self._jobs.values()))

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda job: job.created)

    def cancel(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is not None and job.state not in FINISHED:
            job.cancel_requested = True
            if job.state == "queued":
                self._finish(job, "cancelled")
        return job

    def _run(self, job: Job, table: pa.Table) -> None:
        if job.state != "queued":
            return
        job.state = "running"
        try:
            connector = self.warehouse.get(job.connection)
            connector.ingest(job.table, job.mode, table.schema, self._batches(job, table))
        except _Cancelled:
            self._finish(job, "cancelled")
        except BentoError as exc:
            job.error = exc.to_dict()
            self._finish(job, "failed")
        except Exception as exc:  # the job boundary: a failed job, never a dead server
            job.error = {"ename": type(exc).__name__, "evalue": str(exc)}
            self._finish(job, "failed")
        else:
            self._finish(job, "cancelled" if job.cancel_requested else "done")

    def _batches(self, job: Job, table: pa.Table) -> Iterator[pa.RecordBatch]:
        per_row = job.total_bytes / max(job.total_rows, 1)
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            if job.cancel_requested:
                raise _Cancelled
            yield batch
            job.rows += batch.num_rows
            job.bytes = min(job.total_bytes, round(job.rows * per_row))
            if self.throttle_s:
                time.sleep(self.throttle_s)
        if job.cancel_requested:
            raise _Cancelled

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        job.finished = time.time()
        if state == "done":
            job.bytes = job.total_bytes

    def _forget_old(self) -> None:
        finished = [job for job in self.list() if job.state in FINISHED]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]


def read_stream(body: bytes) -> pa.Table:
    """The table in an Arrow IPC stream, or an ArrowError that says what was sent instead."""
    try:
        return pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ArrowError(
            f"the upload is not an Arrow IPC stream ({len(body)} bytes: {exc}); send a "
            "DataFrame with %%dataframe, which encodes it as Arrow"
        ) from exc
