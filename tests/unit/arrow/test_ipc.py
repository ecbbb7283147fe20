"""The Arrow core in CPython: bad input, admission, accounting, no partial state.

The browser's own pandas/pyarrow (2.2/18) are exercised in tests/e2e/test_arrow_page.py;
these tests hold for the host's versions too.
"""

import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bento_wasm.arrow import ipc as arrow
from bento_wasm.errors import ArrowError, MemoryBudgetExceeded


def ipc(table, max_chunksize=None):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max_chunksize)
    return sink.getvalue().to_pybytes()


TABLE = pa.table({"n": pa.array(range(100), pa.int64()), "s": [f"row {i}" for i in range(100)]})
GOOD = ipc(TABLE)


class Source:
    """A ByteSource like the browser's JsBytes: records what was copied when."""

    def __init__(self, data, log):
        self.data, self.log, self.nbytes = data, log, len(data)

    def copy_into(self, target):
        self.log.append(("copy", len(target)))
        target[:] = self.data


def admit_into(log, refuse_above=None):
    def admit(nbytes, what):
        log.append(("admit", nbytes))
        if refuse_above is not None and nbytes > refuse_above:
            raise MemoryBudgetExceeded(f"{what}: too big", requested_bytes=nbytes)

    return admit


def test_bind_admits_before_the_one_copy_and_reports_it():
    log, namespace = [], {}
    report = arrow.bind(namespace, "df", Source(GOOD, log), admit=admit_into(log))
    assert log[:2] == [("admit", len(GOOD)), ("copy", len(GOOD))]
    assert list(namespace["df"].n) == list(range(100))
    assert report.bytes_received == report.bytes_copied == len(GOOD)
    assert report.peak_extra_bytes >= len(GOOD)
    assert (report.rows, report.columns, report.batches) == (100, 2, 1)
    assert report.zero_copy_columns == 2  # int64 and the Arrow-backed strings are views
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data and data["name"] == "df"


def test_refused_admission_copies_nothing_and_binds_nothing():
    log, namespace = [], {"df": "before"}
    with pytest.raises(MemoryBudgetExceeded):
        arrow.bind(namespace, "df", Source(GOOD, log), admit=admit_into(log, refuse_above=10))
    assert log == [("admit", len(GOOD))]
    assert namespace == {"df": "before"}


def corrupt(data):
    middle = bytearray(data)
    middle[8:40] = b"\x13" * 32  # the schema message's flatbuffer
    return bytes(middle)


BAD = {
    "empty": (b"", "empty"),
    "not arrow": (b"name,value\n1,2\n" * 10, "end-of-stream"),
    "truncated": (GOOD[: len(GOOD) // 2], "truncated"),
    "truncated at a message boundary": (GOOD[:-8], "truncated"),
    "corrupt": (corrupt(GOOD), "framing is corrupt"),
    "bad pandas metadata": (
        ipc(TABLE.replace_schema_metadata({b"pandas": b"{not json"})),
        "pandas metadata is not valid",
    ),
    "unknown pandas dtype": (
        ipc(
            TABLE.replace_schema_metadata(
                {
                    b"pandas": json.dumps(
                        {
                            "index_columns": [],
                            "column_indexes": [],
                            "columns": [
                                {"name": "n", "field_name": "n", "pandas_type": "int64",
                                 "numpy_type": "no-such-dtype", "metadata": None}
                            ],
                        }
                    ).encode()
                }
            )
        ),
        "cannot convert to pandas",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_an_arrow_error_and_leaves_the_name(case):
    data, message = BAD[case]
    namespace = {"df": "before"}
    with pytest.raises(ArrowError, match=message):
        arrow.bind(namespace, "df", data, admit=lambda n, w: None)
    assert namespace == {"df": "before"}


def test_bytes_in_python_memory_are_read_in_place_and_only_conversions_admitted():
    log, namespace = [], {}
    report = arrow.bind(namespace, "df", GOOD, admit=admit_into(log))
    assert report.bytes_copied == 0 and report.bytes_received == len(GOOD)
    assert log == []  # int64 and strings are views: nothing to convert, nothing to admit
    table = pa.table({"b": [True, False] * 50})
    arrow.bind(namespace, "flags", ipc(table), admit=admit_into(log))
    assert log == [("admit", 100)]  # booleans are unpacked from bits: one byte a row


@pytest.mark.parametrize("name", ["1x", "a-b", "class", "", "x y"])
def test_a_bad_name_is_refused_before_anything_is_admitted(name):
    log = []
    with pytest.raises(ArrowError, match="not a Python name"):
        arrow.bind({}, name, Source(GOOD, log), admit=admit_into(log))
    assert log == []


def test_ipc_file_format_is_read_too():
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, TABLE.schema) as writer:
        writer.write_table(TABLE)
    frame, report = arrow.read_ipc(sink.getvalue())
    assert list(frame.s[:2]) == ["row 0", "row 1"] and report.rows == 100


def test_schema_only_stream_is_an_empty_frame_with_typed_columns():
    frame, report = arrow.read_ipc(ipc(TABLE.slice(0, 0)))
    assert frame.shape == (0, 2) and str(frame.n.dtype) == "int64"
    assert report.rows == 0 and report.batches == 0


def test_multi_batch_numeric_columns_are_combined_once_and_counted():
    table = pa.table({"x": pa.array(range(10_000), pa.float64())})
    admitted = []
    frame, report = arrow.read_ipc(
        ipc(table, max_chunksize=1000), admit=lambda n, w: admitted.append(n)
    )
    assert report.batches == 10 and frame.x.sum() == sum(range(10_000))
    assert admitted == [table.nbytes]  # the conversion copy, asked for before it happens
    assert report.zero_copy_columns == 0 and report.peak_extra_bytes == table.nbytes


def test_nulls_stay_nulls_in_nullable_dtypes_and_round_trip():
    table = pa.table(
        {
            "i": pa.array([2**62 + 1, None, -5], pa.int64()),
            "f": pa.array([1.5, None, -0.0], pa.float64()),  # NaN vs null: see the e2e test
            "b": pa.array([True, None, False]),
            "plain": pa.array([1, 2, 3], pa.int32()),
        }
    )
    frame, _ = arrow.read_ipc(ipc(table))
    assert [str(t) for t in frame.dtypes] == ["Int64", "Float64", "boolean", "int32"]
    assert frame.i[0] == 2**62 + 1 and frame.i.isna().tolist() == [False, True, False]
    back = pa.ipc.open_stream(arrow.to_ipc(frame)).read_all()
    assert back.schema.remove_metadata() == table.schema
    assert back.replace_schema_metadata(None).equals(table)


def test_to_ipc_sizes_the_buffer_exactly_and_reads_back():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    buffer = arrow.to_ipc(frame)
    assert isinstance(buffer, pa.Buffer) and buffer.size == len(buffer.to_pybytes())
    assert pa.ipc.open_stream(buffer).read_all().column("a").to_pylist() == [1, 2, 3]
    table = pa.table({"a": pa.array([1], pa.int8())})
    assert arrow.to_ipc(table).to_pybytes() == ipc(table)


def test_to_ipc_refuses_what_is_not_a_table_and_says_what_to_do():
    with pytest.raises(ArrowError, match="expected a pandas DataFrame"):
        arrow.to_ipc([1, 2, 3])
    with pytest.raises(ArrowError, match="cannot convert the DataFrame to Arrow"):
        arrow.to_ipc(pd.DataFrame({"mixed": [1, "two", 3.0]}))


def test_bytes_format_binds_the_landed_bytes():
    namespace, log = {}, []
    source = Source(b"not arrow", log)
    report = arrow.bind(namespace, "raw", source, admit=admit_into(log), format="bytes")
    assert bytes(namespace["raw"]) == b"not arrow" and report.bytes_copied == 9


def test_landing_growth_is_admitted_and_a_move_is_counted():
    log = []
    landing = arrow.Landing.reserve(4, admit_into(log), "stream")
    landing.view()[:4] = b"abcd"
    landing.size = 4
    landing.grow(1 << 20, admit_into(log), "stream")
    assert log == [("admit", 4), ("admit", 1 << 20)]  # the old buffer lives until the copy
    assert landing.capacity >= 1 << 20 and landing.view()[:4] == b"abcd"
    assert len(landing.view()) == landing.capacity  # pyarrow exports a resized buffer short
    assert landing.peak_bytes == (1 << 20) + 4 and landing.bytes_copied == 4


NULLABLE_INTS = st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=40)
TEXTS = st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ints=NULLABLE_INTS, texts=TEXTS, chunk=st.integers(1, 8))
def test_round_trips_are_exact_for_any_ints_and_strings(ints, texts, chunk):
    rows = min(len(ints), len(texts))
    table = pa.table(
        {
            "i": pa.array(ints[:rows], pa.int64()),
            "s": pa.array(texts[:rows], pa.large_string()),
            "u": pa.array([None if v is None else v % 2**16 for v in ints[:rows]], pa.uint16()),
        }
    )
    frame, report = arrow.read_ipc(ipc(table, max_chunksize=chunk))
    assert report.rows == rows
    back = pa.ipc.open_stream(arrow.to_ipc(frame)).read_all()
    assert back.schema.remove_metadata() == table.schema
    assert back.to_pylist() == table.to_pylist()


def test_zero_copy_columns_of_landed_bytes_can_be_written_in_place():
    table = pa.table(
        {
            "f": pa.array([0.5, 1.5, 2.5]),
            "ts": pa.array([1, 2, 3], pa.timestamp("ms", tz="UTC")),
            "s": ["a", "b", "c"],
        }
    )
    landing = arrow.Landing.reserve(len(ipc(table)), lambda n, w: None, "test")
    landing.fill_from(Source(ipc(table), []))
    frame, report = arrow.read_ipc(landing)
    assert report.zero_copy_columns == 3  # pyarrow's views are read-only; ours are not
    frame.loc[0, "f"] = 42.0
    frame["f"] *= 2
    frame.loc[1, "ts"] = pd.Timestamp("2024-01-01", tz="UTC")
    frame.loc[2, "s"] = "z"
    assert frame.f.tolist() == [84.0, 3.0, 5.0] and frame.s.tolist() == ["a", "b", "z"]
    assert frame.ts[1] == pd.Timestamp("2024-01-01", tz="UTC")
