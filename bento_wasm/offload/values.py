"""How values travel to the executor and back: Arrow IPC for data, JSON for plain values.

A call or cell crosses the wire as one *envelope*: a JSON header plus binary buffers
(:func:`pack` / :func:`unpack`). Each value in the header is a *spec*:

- ``{"codec": "json", "value": ...}``: ``None``, bools, numbers, strings, and lists /
  dicts (string keys) of them (``"tuple": true`` restores a tuple);
- ``{"codec": "arrow", "kind": "dataframe" | "series" | "ndarray" | "table", "buffer": i}``:
  pandas DataFrames and Series, NumPy arrays and pyarrow Tables as an Arrow IPC stream
  in buffer ``i`` (``shape`` for n-d arrays);
- ``{"codec": "list" | "tuple" | "dict", "items": ...}``: containers holding data values;
- functions never travel as values: they cross as source (see :mod:`bento_wasm.offload.client`).

Anything else raises :class:`~bento_wasm.errors.TransferError` naming the value.
Stdlib only; pandas / pyarrow / numpy are imported only when such a value is seen.
"""

from __future__ import annotations

import json
import struct

from ..environment import need
from ..environment.interface import Pieces
from ..errors import ArrowError, TransferError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["Decoder", "Encoder", "IpcPart", "envelope", "frame", "pack", "unpack"]

MAGIC = b"BNTO"
_HEAD = struct.Struct("<4sI")
_PLAIN = (type(None), bool, int, float, str)
Spec = dict[str, "Any"]


def pack(header: dict[str, Any], buffers: Sequence[Any] = ()) -> bytearray:
    """One envelope: magic, header length, JSON header (with buffer sizes), then buffers.

    An :class:`IpcPart` is written straight into the envelope: no intermediate copy.
    """
    prefix, parts = frame(header, buffers)
    out = bytearray(len(prefix) + sum(_nbytes(p) for p in parts))
    out[: len(prefix)] = prefix
    at = len(prefix)
    view = memoryview(out)
    for part in parts:
        size = _nbytes(part)
        if isinstance(part, IpcPart):
            part.write_into(view[at : at + size])
        elif isinstance(part, Pieces):
            view[at : at + size] = part.join()
        else:
            view[at : at + size] = memoryview(part).cast("B")
        at += size
    return out


def envelope(header: dict[str, Any], buffers: Sequence[Any] = ()) -> bytearray | Pieces:
    """The envelope as :func:`pack` gives it, or, from :data:`PIECES_MIN_BYTES` of buffers on,
    as :class:`~bento_wasm.environment.interface.Pieces`: its prefix and views of the Arrow
    columns the IPC stream is made of (plus its few small metadata writes), never joined here:
    the browser copies them once into the request's Blob."""
    prefix, parts = frame(header, buffers)
    if sum(_nbytes(p) for p in parts) < PIECES_MIN_BYTES:
        return pack(header, buffers)
    items: list[Any] = [prefix]
    for part in parts:
        if isinstance(part, IpcPart):
            items.extend(part.pieces())
        else:
            items.append(part)
    return Pieces(items)


#: Envelopes whose buffers reach this size travel as pieces (:func:`envelope`).
PIECES_MIN_BYTES = 2**20


def frame(header: dict[str, Any], buffers: Sequence[Any] = ()) -> tuple[bytes, list[Any]]:
    """The envelope's prefix (magic, length, header) and its buffers, for writing in parts."""
    parts = list(buffers)
    head = json.dumps({**header, "buffers": [_nbytes(p) for p in parts]}).encode()
    return _HEAD.pack(MAGIC, len(head)) + head, parts


def _nbytes(part: Any) -> int:
    return part.nbytes if isinstance(part, IpcPart | Pieces) else memoryview(part).nbytes


def unpack(data: Any) -> tuple[dict[str, Any], list[memoryview]]:
    """The header and zero-copy views of the buffers of an envelope."""
    view = memoryview(data.join() if isinstance(data, Pieces) else data).cast("B")
    if view.nbytes < _HEAD.size:
        raise TransferError(f"an envelope of {view.nbytes} bytes is too short to be one")
    magic, size = _HEAD.unpack_from(view, 0)
    if magic != MAGIC:
        raise TransferError("not a bento envelope (wrong magic); are both sides one release?")
    at = _HEAD.size
    header = json.loads(bytes(view[at : at + size]))
    at += size
    buffers = []
    for length in header.pop("buffers", []):
        buffers.append(view[at : at + length])
        at += length
    if at != view.nbytes:
        raise TransferError(f"envelope length mismatch: {at} bytes described, {view.nbytes} sent")
    return dict(header), buffers


def is_plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` is JSON data (no NaN-free promise: Python's json reads NaN back)."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 50:
        return False
    if isinstance(value, list | tuple):
        return all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in value.items())
    return False


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


class Encoder:
    """Encodes values into specs, collecting their buffers for one envelope."""

    def __init__(self) -> None:
        #: buffer-likes and :class:`IpcPart` s, in the order the specs name them
        self.buffers: list[Any] = []
        self.nbytes = 0

    def materialized(self) -> list[Any]:
        """The buffers, each a real buffer (for transports that take frames)."""
        return [b.materialize() if isinstance(b, IpcPart) else b for b in self.buffers]

    def encode(self, what: str, value: Any) -> Spec:
        """The spec of ``value``; ``what`` names it in errors ("argument `df`")."""
        if is_plain(value):
            spec: Spec = {"codec": "json", "value": value}
            if isinstance(value, tuple):
                spec["tuple"] = True
            return spec
        kind = _arrow_kind(value)
        if kind:
            return self._arrow(what, kind, value)
        scalar = _numpy_scalar(value)
        if scalar is not None:
            return {"codec": "json", "value": scalar}
        if isinstance(value, list | tuple):
            items = [self.encode(f"{what}[{i}]", item) for i, item in enumerate(value)]
            return {"codec": "tuple" if isinstance(value, tuple) else "list", "items": items}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items_d = {k: self.encode(f"{what}[{k!r}]", v) for k, v in value.items()}
            return {"codec": "dict", "items": items_d}
        raise TransferError(
            f"{what} is a {_type_name(value)}, which cannot travel to or from the executor. "
            "DataFrames, Series, NumPy arrays and Arrow tables travel as Arrow IPC; None, "
            "bools, numbers, strings and lists/dicts of them as JSON. Convert it to one of "
            "those, or create it on the executor (inside the @remote function or %%remote cell).",
            name=what,
            type_name=_type_name(value),
        )

    def _arrow(self, what: str, kind: str, value: Any) -> Spec:
        need()  # pyarrow, in a kernel that has only pandas (JupyterLite loads what cells import)
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        spec: Spec = {"codec": "arrow", "kind": kind}
        try:
            if kind == "dataframe":
                table = frame_table(value)  # a RangeIndex travels as metadata only
            elif kind == "series":
                name = "__series__" if value.name is None else str(value.name)
                spec["name"] = value.name if is_plain(value.name) else None
                table = pa.Table.from_pandas(value.to_frame(name), preserve_index=True)
            elif kind == "ndarray":
                spec["shape"] = list(value.shape)
                table = pa.table({"values": pa.array(value.reshape(-1))})
            else:
                table = value
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise TransferError(
                f"{what} ({_type_name(value)}) cannot be converted to Arrow: {exc}. Give its "
                "columns one type each (e.g. df[col].astype(str)) and try again.",
                name=what,
                type_name=_type_name(value),
            ) from exc
        part = IpcPart(table)
        spec["buffer"] = len(self.buffers)
        self.buffers.append(part)
        self.nbytes += part.nbytes
        return spec


def frame_table(frame: Any) -> Any:
    """``pa.Table.from_pandas(frame)``, without its NaN scan where it is not needed.

    from_pandas checks every float for NaN to mark it null: ~25 ns a value in wasm, 340 ms
    for a 100 MiB frame. A frame of plain NumPy columns (floats, ints, bools) with unique
    string names and a RangeIndex goes in as it is: each column a zero-copy view, NaN staying
    NaN (a pandas float's missing value, read back as the same float64). The schema, with
    pandas' metadata, is from_pandas's own; any other frame takes from_pandas. Only for
    pandas-to-pandas travel: uploads (bento_wasm.arrow.to_ipc) keep from_pandas, so a
    database sees NULL, not NaN.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    columns = frame.columns
    plain = (
        type(frame.index).__name__ == "RangeIndex"
        and columns.is_unique
        and all(isinstance(name, str) for name in columns)
        and all(
            type(dtype).__module__.startswith("numpy") and dtype.kind in "fiub"
            for dtype in frame.dtypes
        )
    )
    if not plain:
        return pa.Table.from_pandas(frame)
    schema = pa.Schema.from_pandas(frame)
    arrays = [
        pa.array(frame[name].to_numpy(), type=schema.field(name).type, from_pandas=False)
        for name in columns
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class Decoder:
    """Turns specs back into values, reading Arrow buffers in place where it can."""

    def __init__(
        self, buffers: Sequence[Any], admit: Callable[[int, str], None] | None = None
    ) -> None:
        self.buffers = buffers
        #: the kernel's admission control, asked before a conversion allocates (memory budget)
        self.admit = admit

    def decode(self, spec: Spec) -> Any:
        codec = spec.get("codec")
        if codec == "json":
            value = spec.get("value")
            return tuple(value or ()) if spec.get("tuple") else value
        if codec == "list":
            return [self.decode(item) for item in spec["items"]]
        if codec == "tuple":
            return tuple(self.decode(item) for item in spec["items"])
        if codec == "dict":
            return {k: self.decode(v) for k, v in spec["items"].items()}
        if codec == "arrow":
            return self._arrow(spec)
        raise TransferError(f"unknown value codec {codec!r}; are both sides one release?")

    def _arrow(self, spec: Spec) -> Any:
        need()  # a DataFrame may come back to a kernel that never imported pandas
        data = self.buffers[int(spec["buffer"])]
        kind = spec.get("kind")
        if kind == "table":
            return read_ipc(data)
        if kind == "ndarray":
            column = read_ipc(data).column(0)
            array = column.to_numpy(zero_copy_only=False)
            return array.reshape(spec.get("shape") or [-1])
        from ..arrow import (
            ipc as arrow,  # the project's one Arrow -> pandas path (dtypes, zero copy, checks)
        )

        frame, _report = arrow.read_ipc(data, admit=self.admit)
        if kind == "series":
            series = frame.iloc[:, 0]
            series.name = spec.get("name")
            return series
        return frame


class IpcPart:
    """An Arrow table to be written as an IPC stream, sized first so it is written once.

    ``write_into(view)`` writes it into memory the caller owns (an envelope); ``write_to(file)``
    into a file;
    ``materialize()`` gives a buffer of its own (ZMQ frames in the runner).
    """

    def __init__(self, table: Any) -> None:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        self.table = table
        mock = pa.MockOutputStream()
        with pa.ipc.new_stream(mock, table.schema) as writer:
            writer.write_table(table)
        self.nbytes = int(mock.size())

    def write_into(self, view: memoryview) -> None:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        sink = pa.FixedSizeBufferWriter(pa.py_buffer(view))
        with pa.ipc.new_stream(sink, self.table.schema) as writer:
            writer.write_table(self.table)

    def write_to(self, raw: Any) -> None:
        """Write it to a binary file object (``write()`` calls: one per Arrow buffer)."""
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        with pa.ipc.new_stream(pa.PythonFile(raw, mode="w"), self.table.schema) as writer:
            writer.write_table(self.table)

    def pieces(self) -> list[Any]:
        """The IPC stream as the buffers its writer hands out: the columns' own memory (no
        copy) between small metadata and padding writes."""
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        collector = _Collector()
        with pa.ipc.new_stream(pa.PythonFile(collector, mode="w"), self.table.schema) as writer:
            writer.write_table(self.table)
        if collector.size != self.nbytes:
            raise TransferError(f"an Arrow stream of {collector.size} bytes, not {self.nbytes}")
        return collector.items

    def materialize(self) -> Any:
        from ..arrow import ipc as arrow

        return arrow.to_ipc(self.table)


class _Collector:
    """A write-only file keeping what is written (pyarrow hands its buffers over unchanged)."""

    closed = False

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.size = 0

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        self.items.append(data)
        self.size += size
        return size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def to_ipc(table: Any) -> Any:
    """An Arrow table as an IPC stream in a buffer of exactly its size."""
    return IpcPart(table).materialize()


def read_ipc(data: Any) -> Any:
    """An Arrow IPC stream (bytes / memoryview, read in place) as a pyarrow Table."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    try:
        return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except pa.ArrowInvalid as exc:
        raise ArrowError(f"a value sent as Arrow IPC could not be read: {exc}") from exc


def _arrow_kind(value: Any) -> str:
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module == "pandas" and name in {"DataFrame", "Series"}:
        return name.lower()
    if module == "numpy" and name == "ndarray":
        return "ndarray" if value.dtype.kind in "biufcmMUS" else ""
    if module == "pyarrow" and name == "Table":
        return "table"
    return ""


def _numpy_scalar(value: Any) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "item") and value.ndim == 0:
        item = value.item()
        return item if isinstance(item, _PLAIN) else None
    return None
