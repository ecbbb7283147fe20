"""Deferred uploads: after a successful run, each ``%dataframe`` file goes to its table.

One transaction per table (the connector's ``ingest``, as the server's upload jobs do); a
failing upload does not stop the others, and every table's outcome is reported.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from ..errors import BentoError
from ..runs.sandbox import UPLOADS_MANIFEST
from ..server.warehouse import BATCH_ROWS, Warehouse

__all__ = ["pending", "upload_all"]


def pending(outbox: Path, mount: str) -> list[dict[str, Any]]:
    """The uploads the sandbox wrote (paths translated from the sandbox's mount)."""
    manifest = outbox / UPLOADS_MANIFEST
    if not manifest.exists():
        return []
    entries = []
    for line in manifest.read_text().splitlines():
        entry = json.loads(line)
        entry["file"] = str(outbox / Path(entry["file"]).name)
        entries.append(entry)
    return entries


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def upload_all(entries: list[dict[str, Any]], store: Warehouse) -> list[dict[str, Any]]:
    """Upload each entry; returns the record entries with ``state`` done or failed."""
    results = []
    for entry in entries:
        path = Path(entry["file"])
        data = path.read_bytes()
        result = {
            "connection": entry["connection"],
            "table": entry["table"],
            "mode": entry["mode"],
            "name": entry["name"],
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": entry["rows"],
        }
        started = time.perf_counter()
        try:
            table = _read(path)
            result["schema"] = [{"name": f.name, "type": str(f.type)} for f in table.schema]
            store.get(entry["connection"]).ingest(
                entry["table"],
                entry["mode"],
                table.schema,
                iter(table.to_batches(max_chunksize=BATCH_ROWS)),
            )
        except BentoError as exc:
            result.update(state="failed", error=exc.to_dict())
        except Exception as exc:  # the upload boundary: one table fails, the others go on
            result.update(state="failed", error={"ename": type(exc).__name__, "evalue": str(exc)})
        else:
            result["state"] = "done"
        result["seconds"] = round(time.perf_counter() - started, 3)
        results.append(result)
    return results
