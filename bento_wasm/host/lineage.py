"""Sending a run's OpenLineage events through the ``openlineage-python`` client.

The client's standard configuration picks the transport (``OPENLINEAGE_CONFIG``,
``openlineage.yml`` in the working directory or ``~/.openlineage/``, ``OPENLINEAGE_URL``,
``OPENLINEAGE__TRANSPORT__...`` variables); without any, the events go to a JSON-lines file
next to the output notebook (``OUTPUT.lineage.jsonl``). ``OPENLINEAGE_DISABLED=true`` turns
them off.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from ..errors import RunFailed
from ..runs import lineage as L
from ..runs.plan import RunPlan
from ..runs.record import now

__all__ = ["Lineage", "configured"]


def configured() -> bool:
    """Whether the client's standard configuration names a transport."""
    if os.environ.get("OPENLINEAGE_CONFIG") or os.environ.get("OPENLINEAGE_URL"):
        return True
    if any(k.startswith("OPENLINEAGE__TRANSPORT") for k in os.environ):
        return True
    return any(
        p.exists()
        for p in (Path("openlineage.yml"), Path.home() / ".openlineage" / "openlineage.yml")
    )


class Lineage:
    def __init__(self, out: Path, plan: RunPlan, uris: dict[str, str], job: str) -> None:
        self.uris = uris
        self.plan = plan
        self.run_id = str(uuid.uuid4())
        self.job = job
        self.sql = [f.request["sql"] for f in plan.fetches if f.kind == "sql"]
        self.known_inputs: list[Any] = L.planned_inputs(plan.inputs, uris)
        self.disabled = os.environ.get("OPENLINEAGE_DISABLED", "").lower() in ("1", "true")
        self.path: str | None = None
        self.errors: list[str] = []
        self.client: Any = None
        if self.disabled:
            return
        from openlineage.client import OpenLineageClient

        if configured():
            self.client = OpenLineageClient()
        else:
            from openlineage.client.transport.file import FileConfig, FileTransport

            path = out.with_name(out.stem + ".lineage.jsonl")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)  # the events of this run only, like the record
            self.path = str(path)
            self.client = OpenLineageClient(
                transport=FileTransport(FileConfig(log_file_path=self.path, append=True))
            )

    def describe(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "run_id": self.run_id,
            "job": f"{L.JOB_NAMESPACE}/{self.job}",
            "events": self.path or ("disabled" if self.disabled else "configured transport"),
        }

    def _emit(self, state: str, outputs: list[Any], error: dict[str, Any] | None = None) -> None:
        if self.client is None:
            return
        try:
            self.client.emit(
                L.event(
                    state,
                    self.run_id,
                    self.job,
                    sql=self.sql,
                    inputs=self.known_inputs,
                    outputs=outputs,
                    error=error,
                    event_time=now(),
                )
            )
        except Exception as exc:  # the transport's boundary: lineage lost, never the record
            self.errors.append(f"{state}: {type(exc).__name__}: {exc}")
            print(
                f"bento run: warning: the OpenLineage {state} event was not sent ({exc}); "
                "check the transport in openlineage.yml / OPENLINEAGE__ variables",
                file=sys.stderr,
            )

    def start(self) -> None:
        self._emit("START", [])

    def inputs(self, entries: list[dict[str, Any]]) -> None:
        self.known_inputs = L.inputs(entries, self.uris)

    def complete(self, uploads: list[dict[str, Any]]) -> None:
        self._emit("COMPLETE", L.outputs(uploads, self.uris))

    def fail(self, error: RunFailed, uploads: list[dict[str, Any]] | None = None) -> None:
        self._emit("FAIL", L.outputs(uploads or [], self.uris), error.to_dict())
