"""The IPC framing check: what pyarrow 18 trusts is refused with a message naming it.

Each corrupt input here is built by editing one field of a valid stream or file at the
position the flatbuffer says, so the test fails if the check stops looking there.
"""

import struct

import pyarrow as pa
import pytest

from bento_wasm.arrow import framing
from bento_wasm.arrow import ipc as arrow
from bento_wasm.errors import ArrowError
from tests import arrow_fuzz

TABLE = pa.table(
    {
        "n": pa.array([1, None, 3, 4], pa.int64()),
        "s": ["a", "bb", None, "dddd"],
        "d": pa.array(["x", "y", "x", None]).dictionary_encode(),
    }
)


def stream(table=TABLE, legacy=False, chunk=None):
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(use_legacy_format=legacy)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=chunk)
    return sink.getvalue().to_pybytes()


def file(table=TABLE):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    return sink.getvalue().to_pybytes()


def check(data):
    return framing.check(memoryview(data))


def test_valid_streams_and_files_pass_and_are_counted():
    found = check(stream(chunk=1))
    assert (found.is_file, found.legacy, found.batches, found.dictionaries) == (False, False, 4, 1)
    found = check(file())
    assert (found.is_file, found.batches, found.dictionaries) == (True, 2, 1)
    found = check(stream(legacy=True))
    assert found.legacy and found.batches == 1


def test_a_legacy_stream_is_read_whole():
    data = stream(legacy=True)
    assert data[-8:] != b"\xff\xff\xff\xff\x00\x00\x00\x00"  # the 4-byte end-of-stream marker
    frame, report = arrow.read_ipc(data)
    assert report.rows == 4 and frame.s.tolist()[:2] == ["a", "bb"]
    assert frame.d.tolist()[:3] == ["x", "y", "x"]


def edit(data, at, fmt, value):
    damaged = bytearray(data)
    struct.pack_into(fmt, damaged, at, value)
    return bytes(damaged)


@pytest.mark.parametrize(
    ("what", "value", "message"),
    [
        ("buffer_length", 1 << 40, "spans bytes"),
        ("buffer_offset", -8, "spans bytes"),
        ("node_nulls", -1, "nulls"),
        ("node_nulls", 99, "nulls"),
        ("node_length", -5, "field node"),
        ("body_length", 1 << 30, "announces a body"),
        ("body_length", -1, "negative body length"),
        ("batch_length", -2, "negative length"),
    ],
)
def test_a_lying_length_or_offset_is_refused_by_name(what, value, message):
    data = stream(pa.table({"n": pa.array([1, None, 3, 4], pa.int64())}))
    # The int64 fields of this stream, in order: the batch's body length (the schema's is 0,
    # which flatbuffers leave out), the batch's length, its one field node (length, nulls)
    # and its two buffers (offset, length; validity then values).
    q = [at for at, fmt in arrow_fuzz.fields(data)[0] if fmt == "<q"]
    positions = {
        "body_length": q[0],
        "batch_length": q[1],
        "node_length": q[2],
        "node_nulls": q[3],
        "buffer_offset": q[6],
        "buffer_length": q[7],
    }
    original = struct.unpack_from("<q", data, positions[what])[0]
    assert original != value
    damaged = edit(data, positions[what], "<q", value)
    with pytest.raises(ArrowError, match=message):
        check(damaged)
    namespace = {"df": "before"}
    with pytest.raises(ArrowError, match="framing is corrupt"):
        arrow.bind(namespace, "df", damaged, admit=lambda n, w: None)
    assert namespace == {"df": "before"}


def test_a_footer_block_outside_the_file_is_refused():
    data = file()
    positions, _ = arrow_fuzz.fields(data)
    size = len(data)
    footer_length = struct.unpack_from("<i", data, size - 10)[0]
    footer_start = size - 10 - footer_length
    # The first block of the footer: offset (q), metadata length (i), body length (q).
    block = next(
        at for at, fmt in positions if fmt == "<i" and at >= footer_start and at < size - 10
    )
    offset_at = block - 8
    with pytest.raises(ArrowError, match="block 0 of the footer"):
        check(edit(data, offset_at, "<q", size))
    with pytest.raises(ArrowError, match="block 0 of the footer"):
        check(edit(data, block + 8, "<q", 1 << 33))
    with pytest.raises(ArrowError, match="footer length"):
        check(edit(data, size - 10, "<i", size))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d + b"\x00" * 16, "follow the end-of-stream marker"),
        (lambda d: d[:100] + d[-8:], "truncated"),
        (lambda d: d[:8] + b"\xff" * 8 + d[16:], "framing is corrupt"),
    ],
)
def test_truncated_padded_or_garbled_streams_are_refused(damage, message):
    with pytest.raises(ArrowError, match=message):
        check(damage(stream()))


def test_a_stream_must_start_with_its_schema_and_have_only_one():
    data = stream()
    schema_end = len(stream(TABLE.slice(0, 0))) - 8  # the schema message alone
    with pytest.raises(ArrowError, match="a second Schema"):
        check(data[:schema_end] + data[:schema_end] + data[schema_end:])
    with pytest.raises(ArrowError, match="not a Schema"):
        check(data[schema_end:])


def test_garbled_metadata_is_an_arrow_error_never_another_exception():
    data = stream()
    outcomes = {"passed": 0, "refused": 0}
    for at in range(8, 160):  # every byte of the schema message, set to each edge value
        for value in (0x00, 0x7F, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[at] = value
            try:
                check(bytes(damaged))  # anything but ArrowError fails the test
                outcomes["passed"] += 1
            except ArrowError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 50 and outcomes["passed"] > 0, outcomes


def string_stream(offsets, data, kind=None, dtype="int32"):
    import numpy as np

    array = pa.Array.from_buffers(
        kind or pa.string(),
        len(offsets) - 1,
        [None, pa.py_buffer(np.array(offsets, dtype)), pa.py_buffer(data)],
    )
    return stream(pa.table({"s": array}))


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize(("kind", "dtype"), [(pa.string(), "int32"), (pa.large_binary(), "int64")])
def test_string_offsets_outside_the_data_are_refused_at_any_size(monkeypatch, full, kind, dtype):
    # Large inputs skip the UTF-8 check (its cost) but never the offsets.
    monkeypatch.setattr(arrow, "FULL_VALIDATION_BYTES", 1 << 40 if full else 0)
    good = string_stream([0, 1, 3, 6], b"abbccc", kind, dtype)
    assert arrow.read_ipc(good)[1].rows == 3
    for offsets in ([0, 1, 100, 6], [0, 3, 1, 6], [0, 4, 2, 6]):
        with pytest.raises(ArrowError):
            arrow.read_ipc(string_stream(offsets, b"abbccc", kind, dtype))


def test_large_inputs_skip_only_the_utf8_check(monkeypatch):
    bad_utf8 = string_stream([0, 1, 3], b"a\xff\xfe")
    with pytest.raises(ArrowError, match="UTF8|utf8|UTF-8"):
        arrow.read_ipc(bad_utf8)  # small: fully validated
    monkeypatch.setattr(arrow, "FULL_VALIDATION_BYTES", 0)
    frame, _ = arrow.read_ipc(bad_utf8)  # large: bounds checked, bytes not decoded
    assert len(frame) == 2


def dictionary_stream(indices, kind):
    values = pa.array(["a", "b", "c"])
    array = pa.DictionaryArray.from_arrays(pa.array(indices, kind), values, safe=False)
    return stream(pa.table({"d": array}))


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("kind", [pa.int8(), pa.int32(), pa.uint16(), pa.int64()])
def test_dictionary_indices_outside_the_dictionary_are_refused_at_any_size(monkeypatch, full, kind):
    # Large inputs check null-free indices with numpy rather than pyarrow's full validation.
    monkeypatch.setattr(arrow, "FULL_VALIDATION_BYTES", 1 << 40 if full else 0)
    frame, _ = arrow.read_ipc(dictionary_stream([0, 2, 1, 2], kind))
    assert frame.d.tolist() == ["a", "c", "b", "c"]
    bad = [[0, 3, 1], [3], [2, 1, 100]]
    if pa.types.is_signed_integer(kind):
        bad.append([0, -1, 2])
    for indices in bad:
        with pytest.raises(ArrowError, match="dictionary|out of bounds|index"):
            arrow.read_ipc(dictionary_stream(indices, kind))


def test_a_null_dictionary_slot_may_hold_any_index(monkeypatch):
    monkeypatch.setattr(arrow, "FULL_VALIDATION_BYTES", 0)
    validity = pa.array([True, False, True]).buffers()[1]
    indices = pa.Array.from_buffers(pa.int8(), 3, [validity, pa.py_buffer(bytes([1, 99, 0]))])
    array = pa.DictionaryArray.from_arrays(indices, ["a", "b"])
    frame, _ = arrow.read_ipc(stream(pa.table({"d": array})))
    assert frame.d.tolist()[::2] == ["b", "a"] and frame.d.isna().tolist()[1]
