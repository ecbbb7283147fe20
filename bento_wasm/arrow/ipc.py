"""Arrow IPC <-> pandas: DataFrames cross between JavaScript and Python at memory speed.

``import bento_wasm.arrow`` is cheap: pyarrow and pandas are imported inside the
functions that need them. The data path, with its copies counted:

- JS -> Python: the IPC bytes land in wasm memory by exactly one copy, into a
  64-byte aligned Arrow buffer (:class:`Landing`); ``pa.ipc.open_stream`` reads the
  table over that buffer without copying; ``to_pandas(split_blocks=True,
  self_destruct=True)`` then leaves null-free numeric and timestamp columns as views
  of it. How each Arrow type maps to pandas: :mod:`bento_wasm.arrow.frames`.
- Python -> JS: :func:`to_ipc` writes the stream into one buffer of the exact size
  (measured first), which JavaScript reads through a view of wasm memory.

``bind`` calls ``admit(nbytes, what)`` (the kernel's admission control) before every
copy into wasm memory, and binds the name only when everything succeeded. Errors
about the bytes or the schema are :class:`~bento_wasm.errors.ArrowError`.
"""

from __future__ import annotations

import keyword
import time
from dataclasses import asdict, dataclass

from ..errors import ArrowError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    Admit = Callable[[int, str], None]

    class ByteSource(Protocol):
        """Bytes outside Python (a JS ArrayBuffer) that can be copied once into a buffer."""

        nbytes: int

        def copy_into(self, target: memoryview) -> None: ...


__all__ = [
    "FORMATS",
    "InjectionReport",
    "Landing",
    "bind",
    "read_ipc",
    "to_ipc",
]

#: What injected bytes become: a DataFrame read from Arrow IPC, or the raw bytes.
FORMATS = ("arrow", "bytes")
_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"
#: Inputs up to this size are validated fully (UTF-8 included); see ``_validate``.
FULL_VALIDATION_BYTES = 64 << 20


@dataclass
class InjectionReport:
    """What one injection cost. Plain data: ``to_dict()`` crosses to JS and to the budget."""

    name: str = ""
    format: str = "arrow"
    #: Bytes handed over (the IPC stream's size).
    bytes_received: int = 0
    #: Bytes copied into wasm memory on the way (one copy of the stream, plus any regrowth).
    bytes_copied: int = 0
    #: Memory the injection held at its peak beyond what the caller already had: the
    #: landed stream plus the columns that pandas could not take as views of it.
    peak_extra_bytes: int = 0
    rows: int = 0
    columns: int = 0
    batches: int = 0
    #: Columns that are views of the landed bytes (no conversion copy).
    zero_copy_columns: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Landing:
    """A buffer in wasm memory that receives bytes by exactly one copy.

    Arrow's allocator gives it 64-byte alignment, so the columns read over it are
    aligned views. JavaScript fills it through a view (``PyProxy.getBuffer``) or
    ``copy_into``; a stream of unknown length makes it ``grow``.
    """

    def __init__(self, capacity: int) -> None:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        self.buffer: Any = pa.allocate_buffer(max(capacity, 1))
        self.size = 0
        self.bytes_copied = 0
        self.peak_bytes = self.buffer.size

    @classmethod
    def reserve(cls, nbytes: int, admit: Admit, what: str) -> Landing:
        """Admit ``nbytes`` (raises before any allocation if refused), then allocate."""
        admit(nbytes, what)
        return cls(nbytes)

    @property
    def capacity(self) -> int:
        return int(self.buffer.size)

    def grow(self, capacity: int, admit: Admit, what: str) -> None:
        """Make room for ``capacity`` bytes: a new buffer, the kept bytes copied (counted)."""
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        if capacity <= self.capacity:
            return
        admit(capacity, what)
        # Not ResizableBuffer.resize: pyarrow keeps exporting a resized buffer's old length.
        bigger = pa.allocate_buffer(capacity)
        memoryview(bigger).cast("B")[: self.size] = self.view()[: self.size]
        self.peak_bytes = max(self.peak_bytes, capacity + self.capacity)
        self.bytes_copied += self.size
        self.buffer = bigger

    def view(self) -> memoryview:
        """A writable view of the whole capacity."""
        return memoryview(self.buffer).cast("B")

    def filled(self) -> Any:
        """The received bytes as a pyarrow Buffer (no copy)."""
        return self.buffer.slice(0, self.size)

    def fill_from(self, source: ByteSource) -> None:
        """Copy ``source`` in: the one copy into wasm memory."""
        source.copy_into(self.view()[: source.nbytes])
        self.size = source.nbytes
        self.bytes_copied += source.nbytes


def read_ipc(data: Any, *, admit: Admit | None = None) -> tuple[Any, InjectionReport]:
    """Read an Arrow IPC stream (or file) into a pandas DataFrame, without copying it.

    ``data`` is any bytes-like object, a pyarrow Buffer or a filled :class:`Landing`.
    ``admit`` (if given) is asked for the bytes the conversion to pandas will allocate,
    before it does. Raises :class:`ArrowError` for bytes that are not a complete Arrow
    IPC stream and for schemas that cannot convert.
    """
    from . import columns, frames, types

    started = time.perf_counter()
    buffer, report = _as_buffer(data)
    table = _read_table(buffer)
    report.rows, report.columns = table.num_rows, table.num_columns
    report.batches = max((column.num_chunks for column in table.columns), default=0)
    table = types.normalise(table)
    # our own memory (a Landing): built columns may be filled in place, views written to
    memory = None
    if isinstance(data, Landing):
        memory = columns.Memory(data.view()[: data.size], buffer.address, table)
    plan = frames.plan(table, memory)
    if admit is not None and plan.copy_bytes:
        admit(plan.copy_bytes, f"converting {_mib(plan.copy_bytes)} of Arrow columns to pandas")
    frame = frames.to_pandas(table, plan, memory)
    del table
    report.zero_copy_columns = frames.count_views(frame, buffer)
    if memory is not None:
        frames.make_writable(frame, memory.memory, memory.address)
    report.peak_extra_bytes += plan.copy_bytes
    report.seconds = time.perf_counter() - started
    return frame, report


def bind(
    namespace: dict[str, Any],
    name: str,
    data: Any,
    *,
    admit: Admit,
    format: str = "arrow",
) -> InjectionReport:
    """Read ``data`` and bind the result to ``name`` in ``namespace``, or change nothing.

    ``data``: bytes-like (already in Python memory: read in place), a filled
    :class:`Landing` (already admitted), or a ``ByteSource`` (JS bytes), which is admitted
    and then copied once. The conversion's planned copies are admitted in every case.
    ``format`` "arrow" binds a DataFrame, "bytes" the landed bytes as a memoryview.
    """
    started = time.perf_counter()
    check_name(name)
    if format not in FORMATS:
        raise ArrowError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if hasattr(data, "copy_into"):  # bytes already in Python memory are not admitted again
        landing = Landing.reserve(data.nbytes, admit, f"{_mib(data.nbytes)} for {name!r}")
        landing.fill_from(data)
        data = landing
    if format == "bytes":
        value, report = _raw(data)
    else:
        value, report = read_ipc(data, admit=admit)
    namespace[name] = value
    report.name, report.format = name, format
    report.seconds = time.perf_counter() - started
    return report


def to_ipc(obj: Any, *, schema: Any = None) -> Any:
    """Write a DataFrame, pyarrow Table or RecordBatch as an Arrow IPC stream.

    Returns a pyarrow Buffer (bytes-like) allocated once at the exact size. ``schema``
    casts to a given Arrow schema (e.g. to restore dictionary index widths).
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    table = _as_table(obj, schema)
    try:
        counter = pa.MockOutputStream()
        _write_stream(counter, table)
        buffer = pa.allocate_buffer(counter.size())
        _write_stream(pa.FixedSizeBufferWriter(buffer), table)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ArrowError(f"cannot write the table as Arrow IPC: {exc}") from exc
    return buffer


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ArrowError(
            f"{name!r} is not a Python name to bind the data to; "
            "use letters, digits and underscores, not starting with a digit"
        )


def _as_buffer(data: Any) -> tuple[Any, InjectionReport]:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    report = InjectionReport()
    if isinstance(data, Landing):
        buffer = data.filled()
        report.bytes_copied = data.bytes_copied
        report.peak_extra_bytes = data.peak_bytes
    elif isinstance(data, pa.Buffer):
        buffer = data
    else:
        try:
            buffer = pa.py_buffer(data)
        except TypeError as exc:
            raise ArrowError(
                f"expected Arrow IPC bytes, got {type(data).__name__}; pass bytes, a memoryview "
                "or a JavaScript ArrayBuffer"
            ) from exc
    report.bytes_received = buffer.size
    return buffer, report


def _read_table(buffer: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    from . import framing

    if buffer.size == 0:
        raise ArrowError(
            "the buffer is empty, not an Arrow IPC stream; check that the producer wrote and "
            "flushed the stream (e.g. tableToIPC(table) in apache-arrow JS)"
        )
    view = memoryview(buffer)
    is_file = bytes(view[:6]) == framing.FILE_MAGIC
    if not is_file and not _ends_with_eos(view):
        raise ArrowError(
            f"these {buffer.size} bytes do not end with Arrow's end-of-stream marker: the "
            "stream is truncated or not Arrow IPC at all. Send the complete bytes of an Arrow "
            "IPC stream or file (e.g. tableToIPC(table) in apache-arrow JS)"
        )
    framing.check(view)  # what pyarrow 18 does not check: offsets and lengths in the framing
    try:
        reader = pa.ipc.open_file(buffer) if is_file else pa.ipc.open_stream(buffer)
        table = reader.read_all()
        _validate(table, full=buffer.size <= FULL_VALIDATION_BYTES)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ArrowError(
            f"these {buffer.size} bytes are not a readable Arrow IPC "
            f"{'file' if is_file else 'stream'} for pyarrow {pa.__version__}: {exc}. Send the "
            "complete, unaltered bytes an Arrow writer produced, in types this pyarrow knows"
        ) from exc
    return table


def _validate(table: Any, full: bool) -> None:
    """pyarrow's full validation: offsets, dictionary indices, union codes, UTF-8.

    It costs nothing per row for fixed-width columns; on large inputs (not ``full``) the
    UTF-8 check of plain string and binary columns (~160 ms per 100 MiB of strings in wasm)
    gives way to a check of their offsets alone (monotonic, inside the data), which is what
    keeps reads inside the buffers, and null-free dictionary indices are checked against
    their dictionary with numpy; every other column is still validated fully.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if full:
        table.validate(full=True)
        return
    table.validate()
    t = pa.types
    for column in table.columns:
        kind = column.type
        if t.is_string(kind) or t.is_binary(kind):
            _check_offsets(column, "int32")
        elif t.is_large_string(kind) or t.is_large_binary(kind):
            _check_offsets(column, "int64")
        elif t.is_dictionary(kind) and t.is_integer(kind.index_type):
            _check_indices(column)
        else:
            column.validate(full=True)


def _check_offsets(column: Any, dtype: str) -> None:
    import numpy as np

    for chunk in column.chunks:
        if not len(chunk):
            continue
        _, offsets, data = chunk.buffers()
        values = np.frombuffer(offsets, dtype=dtype, count=chunk.offset + len(chunk) + 1)
        values = values[chunk.offset :]
        end = 0 if data is None else data.size
        # one pass of comparisons (np.diff would first write every difference: 2-4x slower)
        if values[0] < 0 or values[-1] > end or bool((values[1:] < values[:-1]).any()):
            raise ArrowError(
                f"a {column.type} column's offsets run outside its {end} bytes of data or "
                "backwards: the stream is corrupt. Send the complete, unaltered bytes an Arrow "
                "writer produced"
            )


def _check_indices(column: Any) -> None:
    """A dictionary column's indices inside its dictionary, in one numpy pass (the indices
    seen as unsigned: a negative one is out of range too); pyarrow's full validation of the
    same takes 2-3x longer in wasm. Chunks with nulls (whose null slots may hold anything)
    and the dictionaries themselves get pyarrow's full validation."""
    import numpy as np

    for chunk in column.chunks:
        chunk.dictionary.validate(full=True)
        if chunk.null_count or not len(chunk):
            chunk.validate(full=True)
            continue
        indices = chunk.indices
        width = indices.type.bit_width // 8
        count = indices.offset + len(indices)
        values = np.frombuffer(indices.buffers()[1], f"u{width}", count=count)
        if int(values[indices.offset :].max()) >= len(chunk.dictionary):
            raise ArrowError(
                f"a {column.type} column has indices outside its dictionary of "
                f"{len(chunk.dictionary)} values: the stream is corrupt. Send the complete, "
                "unaltered bytes an Arrow writer produced"
            )


def _ends_with_eos(view: memoryview) -> bool:
    """The end-of-stream marker, or the legacy (pre-1.0) one in a stream without markers."""
    if bytes(view[-8:]) == _EOS:
        return True
    return len(view) >= 8 and bytes(view[:4]) != _EOS[:4] and bytes(view[-4:]) == _EOS[4:]


def _raw(data: Any) -> tuple[memoryview, InjectionReport]:
    buffer, report = _as_buffer(data)
    return memoryview(buffer), report


def _as_table(obj: Any, schema: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    try:
        if isinstance(obj, pa.RecordBatch):
            obj = pa.Table.from_batches([obj])
        if isinstance(obj, pa.Table):
            return obj.cast(schema) if schema is not None else obj
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]

        if isinstance(obj, pd.DataFrame):
            return pa.Table.from_pandas(obj, schema=schema, preserve_index=None)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ArrowError(
            f"cannot convert the {type(obj).__name__} to Arrow: {exc}. Give each column one "
            "type (e.g. df[col].astype(str)) or pass schema="
        ) from exc
    raise ArrowError(
        f"expected a pandas DataFrame or a pyarrow Table, got {type(obj).__name__}; "
        "convert it first, e.g. pandas.DataFrame(obj)"
    )


def _write_stream(sink: Any, table: Any) -> None:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"
