"""A seeded mutator of Arrow IPC streams and files, and a crash-counting runner.

``case(i)`` is deterministic: seed ``i % len(seeds())`` (a valid stream or file of one
group of types), mutated by the rng seeded with ``i``: bits flipped anywhere or in the
metadata, the input truncated, or a length or offset of the framing (message lengths,
body lengths, record batch lengths, field nodes, buffers, footer blocks, the footer
length) set to an edge value. The unit test and the e2e test read the same cases.

Run as a script, it reads cases ``[start, stop)`` with ``bento_wasm.arrow`` (the code
the worker runs) and prints one line per case, ``<i> <outcome>``::

    python -m tests.arrow_fuzz START STOP

Outcomes: ``refused`` (a BentoError: ArrowError, or the budget refusing a huge batch),
``accepted`` (bound, and pyarrow's full validation of the same bytes passes),
``accepted-invalid`` (bound although full validation rejects the bytes), ``raw:<type>``
(an exception that is not a BentoError). A crash kills the process: :func:`run` counts
it and restarts after that case; a case that takes longer than its time is a hang.
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("refused", "accepted", "accepted-invalid", "raw", "crash", "hang")


@cache
def seeds() -> list[bytes]:
    """Valid inputs: the type matrix in groups, each as stream, legacy stream, batches, file."""
    from tests import arrow_cases

    matrix = arrow_cases.build()
    names = matrix.column_names
    groups = [matrix.select(names[i : i + 6]) for i in range(0, len(names), 6)]
    groups.append(arrow_cases.build_converted())
    result = []
    for table in groups:
        result.append(_stream(table))
        result.append(_stream(table, legacy=True))
        result.append(_stream(table, chunk=1))
        result.append(_file(table))
    return result


def _stream(table: object, legacy: bool = False, chunk: int | None = None) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(use_legacy_format=legacy)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:  # type: ignore[attr-defined]
        writer.write_table(table, max_chunksize=chunk)
    return sink.getvalue().to_pybytes()


def _file(table: object) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:  # type: ignore[attr-defined]
        writer.write_table(table, max_chunksize=2)
    return sink.getvalue().to_pybytes()


def fields(data: bytes) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """The framing's integer fields (position, struct format) and its metadata spans."""
    from bento_wasm.arrow import framing

    view = memoryview(data)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []

    def message(pos: int, block: int = 0) -> int:
        prefix = 8 if data[pos : pos + 4] == b"\xff\xff\xff\xff" else 4
        found.append((pos + prefix - 4, "<i"))
        length = int.from_bytes(data[pos + prefix - 4 : pos + prefix], "little", signed=True)
        if length <= 0:
            return -1
        start = pos + prefix
        spans.append((start, start + length))
        table = framing._Table.root(view, start, start + length, "seed")
        body = table._field(3, 8)
        if body is not None:
            found.append((body, "<q"))
        kind = table.scalar(1, "B")
        header = table.table(2)
        batch = header if kind == 3 else header.table(1) if kind == 2 and header else None
        if batch is not None:
            length_at = batch._field(0, 8)
            if length_at is not None:
                found.append((length_at, "<q"))
            for index in (1, 2):
                first, count = batch.vector(index, 16)
                found.extend((first + 8 * k, "<q") for k in range(2 * count))
        body_length = table.scalar(3, "q")
        return (pos + block if block else start + length) + body_length

    if data[:6] == b"ARROW1":
        size = len(data)
        found.append((size - 10, "<i"))
        footer_length = int.from_bytes(data[size - 10 : size - 6], "little", signed=True)
        footer_start = size - 10 - footer_length
        spans.append((footer_start, size - 10))
        footer = framing._Table.root(view, footer_start, size - 10, "seed")
        for index in (2, 3):
            first, count = footer.vector(index, 24)
            for k in range(count):
                at = first + 24 * k
                found.extend([(at, "<q"), (at + 8, "<i"), (at + 16, "<q")])
                offset = int.from_bytes(data[at : at + 8], "little")
                meta = int.from_bytes(data[at + 8 : at + 12], "little")
                message(offset, meta)
    else:
        pos = 0
        while pos >= 0:
            pos = message(pos)
    return found, spans


def _edge(rng: random.Random, old: int, size: int, bits: int) -> int:
    choices = [0, 1, -1, -8, old + 1, old - 1, old + 8, old - 8, old * 2, size, size + 8]
    choices += [2**31 - 1, -(2**31), 2**32 + old, 2**62, 2**63 - 1, -(2**63)]
    choices.append(rng.randrange(-(2**20), 2**20))
    value = rng.choice(choices)
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return min(max(value, low), high)


def case(i: int) -> tuple[bytes, str]:
    """Case ``i``: (bytes, what was done to them)."""
    import struct

    pool = seeds()
    data = bytearray(pool[i % len(pool)])
    rng = random.Random(i)
    found, spans = fields(bytes(data))
    kind = rng.choice(["bits", "meta_bits", "truncate", "field", "field", "field", "meta_bytes"])
    if kind == "bits":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data), kind
    if kind in ("meta_bits", "meta_bytes"):
        start, end = rng.choice(spans)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(start, end)
            data[at] = (
                rng.randrange(256) if kind == "meta_bytes" else data[at] ^ 1 << rng.randrange(8)
            )
        return bytes(data), kind
    if kind == "truncate":
        return bytes(data[: rng.randrange(len(data))]), kind
    at, fmt = rng.choice(found)
    old = struct.unpack_from(fmt, data, at)[0]
    bits = 8 * struct.calcsize(fmt)
    struct.pack_into(fmt, data, at, _edge(rng, old, len(data), bits))
    return bytes(data), f"field@{at}"


def outcome(data: bytes) -> str:
    """Read ``data`` as the worker does; classify (see the module docstring)."""
    import pyarrow as pa

    from bento_wasm.arrow import ipc
    from bento_wasm.errors import BentoError, MemoryBudgetExceeded

    def admit(nbytes: int, what: str) -> None:
        if nbytes > 256 << 20:
            raise MemoryBudgetExceeded(f"{what}: over the fuzzer's budget", requested_bytes=nbytes)

    namespace: dict[str, object] = {"df": "before"}
    try:
        ipc.bind(namespace, "df", data, admit=admit)
    except BentoError:
        return "refused" if namespace == {"df": "before"} else "raw:namespace-changed"
    except Exception as exc:  # the finding itself: anything else escaping the reader
        return f"raw:{type(exc).__name__}"
    try:
        reader = pa.ipc.open_file(data) if data[:6] == b"ARROW1" else pa.ipc.open_stream(data)
        reader.read_all().validate(full=True)
    except (pa.ArrowException, OSError, ValueError):
        return "accepted-invalid"
    return "accepted"


def run(
    start: int,
    stop: int,
    *,
    python: str = sys.executable,
    module: str = "tests.arrow_fuzz",
    case_s: float = 60,
) -> dict:
    """Read cases ``[start, stop)`` in a child process; count outcomes, crashes and hangs.

    ``python``: the interpreter (e.g. one with the runtime's pyarrow 18.1); ``module``: the
    script the child runs (this one).
    """
    counts = dict.fromkeys(OUTCOMES, 0)
    findings: list[str] = []
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONFAULTHANDLER": "1"}
    while start < stop:
        child = subprocess.Popen(
            [python, "-m", module, str(start), str(stop)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True).start()
        timeout = case_s + 60  # the first case also imports pandas
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:  # no answer in time: a hang
                child.kill()
                child.wait()
                counts["hang"] += 1
                findings.append(f"case {start}: hang")
                start += 1
                break
            if not line:  # the child ended: done, or it crashed in case `start`
                code = child.wait()
                if start < stop:
                    counts["crash"] += 1
                    tail = child.stderr.read()[-2000:] if child.stderr else ""
                    findings.append(f"case {start}: exit {code}\n{tail}")
                    start += 1
                break
            index, result = line.split(" ", 1)
            result = result.strip()
            key = result.split(":")[0]
            counts[key] += 1
            if key not in ("refused", "accepted"):
                findings.append(f"case {index}: {result}")
            start = int(index) + 1
            timeout = case_s
        if child.stderr:
            child.stderr.close()
    return {"counts": counts, "findings": findings}


def _pump(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")
    stream.close()


def main(argv: list[str]) -> int:
    start, stop = int(argv[0]), int(argv[1])
    for i in range(start, stop):
        data, _ = case(i)
        print(i, outcome(data), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
