"""The Arrow IPC framing, checked in pure Python before pyarrow reads a byte of it.

pyarrow 18 (the runtime's) trusts parts of the framing that newer releases check: a
buffer's offset and length inside a message body, a body running past the end of the
input, a file footer's blocks pointing outside the file. A corrupt value there can make
it read outside the input, which in WebAssembly kills the worker. :func:`check` walks
the framing (never the data: a few flatbuffer fields per message) and raises
:class:`~bento_wasm.errors.ArrowError` naming what is wrong:

- stream: messages of ``[0xFFFFFFFF] <int32 metadata length> <Message flatbuffer> <body>``
  (the continuation marker is absent in Arrow's pre-1.0 "legacy" format), ended by the
  end-of-stream marker (``0xFFFFFFFF 00000000``, or ``00000000`` in the legacy format);
- file: ``ARROW1\\0\\0``, the stream, the ``Footer`` flatbuffer, its int32 length and
  ``ARROW1``; every block of the footer (offset, metadata length, body length) is checked
  against the bytes before the footer, and the message it points to as in a stream.

For each record batch and dictionary batch: its length, every field node's length and
null count, and every buffer's offset and length lie inside the message's body. The
flatbuffer reader checks every offset it follows, so garbage metadata is an error, never
an exception of another kind or a loop. Cost: microseconds per message, nothing per row.
"""

from __future__ import annotations

import struct

from ..errors import ArrowError

__all__ = ["FILE_MAGIC", "Framing", "check"]

FILE_MAGIC = b"ARROW1"
_CONTINUATION = -1
_HEADERS = {1: "Schema", 2: "DictionaryBatch", 3: "RecordBatch", 4: "Tensor", 5: "SparseTensor"}
_U8 = struct.Struct("<B")
_I16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_PAIR = struct.Struct("<qq")  # FieldNode {length, null_count}; Buffer {offset, length}
_BLOCK = struct.Struct("<qi4xq")  # Block {offset, metaDataLength, (pad), bodyLength}


class Framing:
    """What the walk found: the format and the counts, for reports and tests."""

    __slots__ = ("batches", "dictionaries", "is_file", "legacy")

    def __init__(self, is_file: bool) -> None:
        self.is_file = is_file
        self.legacy = False  # a pre-1.0 stream: no continuation markers
        self.batches = 0
        self.dictionaries = 0


def check(data: memoryview) -> Framing:
    """Walk the framing of the IPC stream or file in ``data``; raise ArrowError if it lies."""
    view = data.cast("B") if data.format != "B" else data
    if bytes(view[:6]) == FILE_MAGIC:
        return _check_file(view)
    framing = Framing(is_file=False)
    end = _walk_stream(view, 0, len(view), framing)
    if end != len(view):
        raise _error(f"{len(view) - end} bytes follow the end-of-stream marker at byte {end}")
    return framing


def _error(problem: str) -> ArrowError:
    return ArrowError(
        f"the Arrow IPC framing is corrupt: {problem}. Send the complete, unaltered bytes an "
        "Arrow writer produced (e.g. tableToIPC(table) in apache-arrow JS)"
    )


def _walk_stream(view: memoryview, pos: int, end: int, framing: Framing) -> int:
    """Check every message from ``pos``; the position just after the end-of-stream marker."""
    first = True
    while True:
        message = _message_at(view, pos, end, framing)
        if message is None:  # the end-of-stream marker
            return pos + (4 if framing.legacy else 8)
        kind, body_end = message
        if first and kind != 1:
            raise _error(f"the stream starts with a {_HEADERS[kind]} message, not a Schema")
        if not first and kind == 1:
            raise _error(f"a second Schema message at byte {pos}")
        first = False
        pos = body_end


def _message_at(
    view: memoryview, pos: int, end: int, framing: Framing, *, block: int = 0
) -> tuple[int, int] | None:
    """Check the message at ``pos``: (header kind, end of its body), or None at end-of-stream.

    ``block``: in a file, the footer block's metadata length (the body starts after it);
    0 in a stream (the body follows the metadata).
    """
    stream = not block
    if pos + 4 > end:
        raise _error(
            f"the input ends at byte {end} inside a message prefix (truncated?); a stream "
            "ends with the end-of-stream marker"
        )
    length = _I32.unpack_from(view, pos)[0]
    prefix = 4
    if length == _CONTINUATION:
        if pos + 8 > end:
            raise _error(f"the input ends at byte {end} after a continuation marker (truncated?)")
        length = _I32.unpack_from(view, pos + 4)[0]
        prefix = 8
    elif stream and pos == 0:
        framing.legacy = True
    elif stream and not framing.legacy:
        raise _error(f"no continuation marker at byte {pos}")
    if length == 0:
        if not stream:
            raise _error(f"the footer points at an end-of-stream marker at byte {pos}")
        return None
    start = pos + prefix
    limit = pos + block if block else end
    if length < 0 or start + length > limit:
        raise _error(
            f"the message at byte {pos} announces {length} bytes of metadata, "
            f"{limit - start} remain (truncated?)"
        )
    kind, body_length, batch = _read_message(view, start, start + length, pos)
    body_start = pos + block if block else start + length
    body_end = body_start + body_length
    if body_end > end:
        raise _error(
            f"the {_HEADERS[kind]} message at byte {pos} announces a body of {body_length} "
            f"bytes, {end - body_start} remain (truncated?)"
        )
    if batch is not None:
        _check_batch(view, batch, body_length, pos, kind)
        if kind == 3:
            framing.batches += 1
        else:
            framing.dictionaries += 1
    return kind, body_end


def _read_message(
    view: memoryview, start: int, end: int, pos: int
) -> tuple[int, int, _Table | None]:
    message = _Table.root(view, start, end, f"message at byte {pos}")
    kind = message.scalar(1, "B")
    if kind not in _HEADERS:
        raise _error(f"the message at byte {pos} has an unknown header type {kind}")
    if kind in (4, 5):
        raise _error(f"the message at byte {pos} is a {_HEADERS[kind]}, not part of a table")
    body_length = message.scalar(3, "q")
    if body_length < 0:
        raise _error(f"the message at byte {pos} has a negative body length {body_length}")
    header = message.table(2)
    if header is None:
        raise _error(f"the {_HEADERS[kind]} message at byte {pos} has no header")
    if kind == 1:
        return kind, body_length, None
    batch = header if kind == 3 else header.table(1)
    if batch is None:
        raise _error(f"the DictionaryBatch message at byte {pos} has no record batch")
    return kind, body_length, batch


def _check_batch(view: memoryview, batch: _Table, body_length: int, pos: int, kind: int) -> None:
    what = f"the {_HEADERS[kind]} at byte {pos}"
    rows = batch.scalar(0, "q")
    if rows < 0:
        raise _error(f"{what} has a negative length {rows}")
    start, count = batch.vector(1, _PAIR.size)
    for i in range(count):
        length, nulls = _PAIR.unpack_from(view, start + i * _PAIR.size)
        if length < 0 or not 0 <= nulls <= length:
            raise _error(f"field node {i} of {what} has length {length} and {nulls} nulls")
    start, count = batch.vector(2, _PAIR.size)
    for i in range(count):
        offset, length = _PAIR.unpack_from(view, start + i * _PAIR.size)
        if offset < 0 or length < 0 or offset + length > body_length:
            raise _error(
                f"buffer {i} of {what} spans bytes {offset} to {offset + length} of a "
                f"{body_length}-byte body"
            )


def _check_file(view: memoryview) -> Framing:
    framing = Framing(is_file=True)
    size = len(view)
    if size < 18 or bytes(view[size - 6 :]) != FILE_MAGIC:
        raise _error(
            f"these {size} bytes start like an Arrow file but do not end with its magic "
            "'ARROW1' (truncated?)"
        )
    footer_length = _I32.unpack_from(view, size - 10)[0]
    footer_start = size - 10 - footer_length
    if footer_length <= 0 or footer_start < 8:
        raise _error(f"the footer length {footer_length} does not fit the {size}-byte file")
    footer = _Table.root(view, footer_start, size - 10, "the file footer")
    if footer.table(1) is None:
        raise _error("the file footer has no schema")
    for field, what in ((2, "dictionary"), (3, "record batch")):
        start, count = footer.vector(field, _BLOCK.size)
        for i in range(count):
            offset, meta, body = _BLOCK.unpack_from(view, start + i * _BLOCK.size)
            if offset < 8 or meta <= 0 or body < 0 or offset + meta + body > footer_start:
                raise _error(
                    f"{what} block {i} of the footer (offset {offset}, metadata {meta} bytes, "
                    f"body {body} bytes) lies outside the {footer_start} bytes before the footer"
                )
            message = _message_at(view, offset, footer_start, framing, block=meta)
            expected = 2 if field == 2 else 3
            if message is None or message[0] != expected:
                raise _error(f"{what} block {i} of the footer does not point at a {what}")
    return framing


class _Table:
    """A flatbuffer table inside ``view[low:high]``; every offset followed is bounds-checked."""

    __slots__ = ("high", "low", "pos", "view", "vtable", "vtable_size", "what")

    def __init__(self, view: memoryview, low: int, high: int, pos: int, what: str) -> None:
        self.view, self.low, self.high, self.what = view, low, high, what
        if not low <= pos <= high - 4:
            raise _error(f"{what}: a table offset points outside the metadata")
        self.pos = pos
        vtable = pos - _I32.unpack_from(view, pos)[0]
        if not low <= vtable <= high - 4:
            raise _error(f"{what}: a vtable offset points outside the metadata")
        size = _U16.unpack_from(view, vtable)[0]
        if size < 4 or size % 2 or vtable + size > high:
            raise _error(f"{what}: a vtable of {size} bytes does not fit the metadata")
        self.vtable, self.vtable_size = vtable, size

    @classmethod
    def root(cls, view: memoryview, low: int, high: int, what: str) -> _Table:
        if high - low < 8:
            raise _error(f"{what}: {high - low} bytes of metadata are too short")
        return cls(view, low, high, low + _U32.unpack_from(view, low)[0], what)

    def _field(self, index: int, size: int) -> int | None:
        slot = 4 + 2 * index
        if slot + 2 > self.vtable_size:
            return None
        offset: int = _U16.unpack_from(self.view, self.vtable + slot)[0]
        if offset == 0:
            return None
        where = self.pos + offset
        if where + size > self.high:
            raise _error(f"{self.what}: field {index} lies outside the metadata")
        return where

    def scalar(self, index: int, fmt: str) -> int:
        unpacker = {"B": _U8, "h": _I16, "q": _I64}[fmt]
        where = self._field(index, unpacker.size)
        return 0 if where is None else int(unpacker.unpack_from(self.view, where)[0])

    def _target(self, index: int) -> int | None:
        where = self._field(index, 4)
        if where is None:
            return None
        target: int = where + _U32.unpack_from(self.view, where)[0]
        return target

    def table(self, index: int) -> _Table | None:
        target = self._target(index)
        return None if target is None else _Table(self.view, self.low, self.high, target, self.what)

    def vector(self, index: int, item_size: int) -> tuple[int, int]:
        """(position of the first item, count) of a vector of structs; (0, 0) if absent."""
        target = self._target(index)
        if target is None:
            return 0, 0
        if target + 4 > self.high:
            raise _error(f"{self.what}: a vector offset points outside the metadata")
        count = _U32.unpack_from(self.view, target)[0]
        if target + 4 + count * item_size > self.high:
            raise _error(f"{self.what}: a vector of {count} items does not fit the metadata")
        return target + 4, count
