"""The Arrow type matrix: one column per case, and the pandas dtype each becomes.

Run inside Pyodide (pandas 2.2, pyarrow 18) by the e2e tests: ``build()`` makes the table
there, so these are the browser's types. ``EXPECTED`` is the README's type table.
"""

from __future__ import annotations

# case -> (pandas dtype in the browser, Arrow type it writes back as when not the same)
EXPECTED = {
    "int8": ("int8", None),
    "int64_nulls": ("Int64", None),
    "uint64": ("uint64", None),
    "uint16_nulls": ("UInt16", None),
    "float64": ("float64", None),
    "float32_nulls": ("Float32", None),
    "float64_nulls_and_nan": ("Float64", None),
    "bool": ("bool", None),
    "bool_nulls": ("boolean", None),
    "string": ("string[pyarrow]", None),
    "large_string": ("large_string[pyarrow]", None),
    "binary": ("binary[pyarrow]", None),
    "dictionary_int8_ordered": ("category", None),
    "dictionary_int32": ("category", "dictionary<values=string, indices=int8, ordered=0>"),
    "date32": ("date32[day][pyarrow]", None),
    "date64": ("date64[ms][pyarrow]", None),
    "time64_us": ("time64[us][pyarrow]", None),
    "timestamp_ms": ("datetime64[ms]", None),
    "timestamp_us_nulls": ("datetime64[us]", None),
    "timestamp_ns_utc": ("datetime64[ns, UTC]", None),
    "timestamp_s_paris_nulls": ("datetime64[s, Europe/Paris]", None),
    "duration_ms_nulls": ("timedelta64[ms]", None),
    "decimal128": ("decimal128(12, 2)[pyarrow]", None),
    "decimal256": ("decimal256(40, 5)[pyarrow]", None),
    "list_int32": ("list<item: int32>[pyarrow]", None),
    "large_list_string": ("large_list<item: string>[pyarrow]", None),
    "struct": ("struct<a: int64, b: string>[pyarrow]", None),
    "list_of_struct": ("list<item: struct<x: double>>[pyarrow]", None),
    "map": ("map<string, int64>[pyarrow]", None),
    "null": ("object", None),
    "sparse_union": ("sparse_union<0: int64=0, 1: string=1>[pyarrow]", None),
    "dense_union": ("dense_union<0: double=0, 1: binary=1>[pyarrow]", None),
    "month_day_nano_interval": ("month_day_nano_interval[pyarrow]", None),
    "fixed_size_list": ("fixed_size_list<item: int16>[2][pyarrow]", None),
    "fixed_size_binary": ("fixed_size_binary[3][pyarrow]", None),
    "large_binary": ("large_binary[pyarrow]", None),
    "time32_s": ("time32[s][pyarrow]", None),
    "duration_s": ("timedelta64[s]", None),
}

# Types that arrive rewritten (bento_wasm/arrow/types.py): case -> (pandas dtype in the
# browser, Arrow type written back, values written back).
CONVERTED = {
    "dictionary_null_values": (
        "category",
        "dictionary<values=string, indices=int8, ordered=0>",
        ["a", None, None, "c"],
    ),
    "dictionary_of_lists": (
        "list<item: int64>[pyarrow]",
        "list<item: int64>",
        [[1], [2], None, [1]],
    ),
    "uuid": (
        "fixed_size_binary[16][pyarrow]",
        "fixed_size_binary[16]",
        [b"0" * 16, None, b"1" * 16, b"2" * 16],
    ),
    "fixed_shape_tensor": (
        "fixed_size_list<item: int32>[2][pyarrow]",
        "fixed_size_list<item: int32>[2]",
        [[1, 2], None, [3, 4], [5, 6]],
    ),
    "bool8": ("boolean", "bool", [True, None, False, True]),
    "run_end_encoded": ("Float64", "double", [1.5, 1.5, None, None]),
    "string_view": ("string[pyarrow]", "string", ["a", None, "x" * 40, ""]),
    "binary_view": ("binary[pyarrow]", "binary", [b"a", None, b"y" * 40, b""]),
    "unregistered_extension": ("Int64", "int64", [1, None, 3, 4]),
}


def build():
    """The matrix as one pyarrow Table, four rows per column."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    ts = [
        dt.datetime(2024, 2, 29, 12, 30, 15, 123456),
        None,
        dt.datetime(1970, 1, 1),
        dt.datetime(2262, 4, 1),
    ]
    paris = dt.timezone(dt.timedelta(hours=1))
    columns = {
        "int8": pa.array([1, -128, 127, 0], pa.int8()),
        "int64_nulls": pa.array([2**62 + 1, None, -5, 0], pa.int64()),
        "uint64": pa.array([2**64 - 1, 0, 7, 2**63], pa.uint64()),
        "uint16_nulls": pa.array([1, None, 65535, None], pa.uint16()),
        "float64": pa.array([1.5, -0.0, float("inf"), 1e-300]),
        "float32_nulls": pa.array([1.5, None, float("nan"), -2.25], pa.float32()),
        "float64_nulls_and_nan": pa.array([None, float("nan"), 2.0, None]),
        "bool": pa.array([True, False, True, True]),
        "bool_nulls": pa.array([True, None, False, None]),
        "string": pa.array(["a", None, "ünïcode ✓", ""]),
        "large_string": pa.array(["x" * 1000, None, "", "y"], pa.large_string()),
        "binary": pa.array([b"\x00\x01", None, b"", b"\xff"]),
        "dictionary_int8_ordered": pa.DictionaryArray.from_arrays(
            pa.array([0, 1, None, 0], pa.int8()), pa.array(["lo", "hi"]), ordered=True
        ),
        "dictionary_int32": pa.array(["x", "y", None, "x"]).dictionary_encode(),
        "date32": pa.array([dt.date(2024, 2, 29), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        "date64": pa.array(
            [dt.date(2024, 2, 29), None, dt.date(1970, 1, 1), dt.date(2000, 1, 1)], pa.date64()
        ),
        "time64_us": pa.array(
            [dt.time(1, 2, 3, 4), None, dt.time(23, 59, 59, 999999), dt.time(0)], pa.time64("us")
        ),
        "timestamp_ms": pa.array(
            [
                dt.datetime(2024, 2, 29, 12, 30, 15, 123000),
                dt.datetime(1900, 1, 1),
                dt.datetime(1970, 1, 1),
                dt.datetime(3000, 1, 1),
            ],
            pa.timestamp("ms"),
        ),
        "timestamp_us_nulls": pa.array(ts, pa.timestamp("us")),
        "timestamp_ns_utc": pa.array([0, 1, -1, 2**62], pa.timestamp("ns", tz="UTC")),
        "timestamp_s_paris_nulls": pa.array(
            [
                dt.datetime(2024, 3, 31, 1, 59, 59, tzinfo=paris),
                None,
                dt.datetime(1, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2024, 10, 27, 2, 30, tzinfo=paris),
            ],
            pa.timestamp("s", tz="Europe/Paris"),
        ),
        "duration_ms_nulls": pa.array([1, None, -86_400_000, 0], pa.duration("ms")),
        "decimal128": pa.array(
            [Decimal("1.23"), None, Decimal("-9999999999.99"), Decimal("0.01")],
            pa.decimal128(12, 2),
        ),
        "decimal256": pa.array(
            [
                Decimal("12345678901234567890123456789012345.12345"),
                None,
                Decimal("0"),
                Decimal("-1.5"),
            ],
            pa.decimal256(40, 5),
        ),
        "list_int32": pa.array([[1, 2], None, [], [None, 3]], pa.list_(pa.int32())),
        "large_list_string": pa.array([["a"], None, [], ["b", None]], pa.large_list(pa.string())),
        "struct": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": "z"}, {"a": 4, "b": None}]),
        "list_of_struct": pa.array([[{"x": 1.5}], None, [], [{"x": None}, None]]),
        "map": pa.array(
            [[("k", 1)], None, [], [("a", None), ("b", 2)]], pa.map_(pa.string(), pa.int64())
        ),
        "null": pa.nulls(4),
        "sparse_union": pa.UnionArray.from_sparse(
            pa.array([0, 1, 0, 1], pa.int8()),
            [pa.array([1, 2, 3, 4]), pa.array(["a", "b", "c", "d"])],
        ),
        "dense_union": pa.UnionArray.from_dense(
            pa.array([0, 1, 0, 1], pa.int8()),
            pa.array([0, 0, 1, 1], pa.int32()),
            [pa.array([1.5, None]), pa.array([b"x", b"yy"])],
        ),
        "month_day_nano_interval": pa.array(
            [(1, 2, 3), None, (0, 0, 0), (-1, 5, -9)], pa.month_day_nano_interval()
        ),
        "fixed_size_list": pa.array([[1, 2], None, [3, 4], [None, 5]], pa.list_(pa.int16(), 2)),
        "fixed_size_binary": pa.array([b"abc", None, b"\x00\x00\x00", b"xyz"], pa.binary(3)),
        "large_binary": pa.array([b"a", None, b"", b"\xff" * 100], pa.large_binary()),
        "time32_s": pa.array([1, None, 86399, 0], pa.time32("s")),
        "duration_s": pa.array([1, None, -3600, 0], pa.duration("s")),
    }
    return pa.table(columns)


def build_converted():
    """The CONVERTED cases as one pyarrow Table (in the browser: pyarrow 18's types)."""
    import pyarrow as pa

    class Unregistered(pa.ExtensionType):  # never registered: read back as its storage
        def __init__(self):
            super().__init__(pa.int64(), "bento.test.unregistered")

        def __arrow_ext_serialize__(self):
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    columns = {
        "dictionary_null_values": pa.DictionaryArray.from_arrays(
            pa.array([0, 1, None, 2], pa.int8()), pa.array(["a", None, "c"])
        ),
        "dictionary_of_lists": pa.DictionaryArray.from_arrays(
            pa.array([0, 1, None, 0], pa.int8()), pa.array([[1], [2]])
        ),
        "uuid": pa.ExtensionArray.from_storage(
            pa.uuid(), pa.array([b"0" * 16, None, b"1" * 16, b"2" * 16], pa.binary(16))
        ),
        "fixed_shape_tensor": pa.ExtensionArray.from_storage(
            pa.fixed_shape_tensor(pa.int32(), [2]),
            pa.array([[1, 2], None, [3, 4], [5, 6]], pa.list_(pa.int32(), 2)),
        ),
        "bool8": pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, None, 0, 7], pa.int8())),
        "run_end_encoded": pa.RunEndEncodedArray.from_arrays(
            pa.array([2, 4], pa.int32()), pa.array([1.5, None])
        ),
        "string_view": pa.array(["a", None, "x" * 40, ""], pa.string_view()),
        "binary_view": pa.array([b"a", None, b"y" * 40, b""], pa.binary_view()),
        "unregistered_extension": pa.ExtensionArray.from_storage(
            Unregistered(), pa.array([1, None, 3, 4])
        ),
    }
    return pa.table(columns)


def check_converted(frame, arrow_module):
    """Per CONVERTED column: the dtype, the Arrow type and the values it writes back as."""
    import pyarrow as pa

    back = pa.ipc.open_stream(arrow_module.to_ipc(frame)).read_all()
    return {
        name: {
            "dtype": str(frame[name].dtype),
            "type_back": str(back.column(name).type),
            "values_back": repr(back.column(name).to_pylist()),
        }
        for name in CONVERTED
    }


def check(frame, source, arrow_module):
    """Per column: the dtype, and the Arrow type and values it writes back as (repr'd)."""
    import pyarrow as pa

    back = pa.ipc.open_stream(arrow_module.to_ipc(frame)).read_all()
    result = {}
    for name in source.column_names:
        original, returned = source.column(name), back.column(name)
        result[name] = {
            "dtype": str(frame[name].dtype),
            "type_back": str(returned.type),
            "same_type": returned.type == original.type,
            "same_values": repr(returned.to_pylist()) == repr(original.to_pylist()),
        }
    return result


def interval_stream(unit):
    """A host-side stream of one interval column ``i`` whose unit is ``unit`` (0 month,
    1 day-time): a month_day_nano stream with the unit edited in the schema's flatbuffer
    (pyarrow cannot build these types)."""
    import struct

    import pyarrow as pa

    from bento_wasm.arrow import framing

    table = pa.table({"i": pa.array([(1, -3, 12), None, (7, 0, 0)], pa.month_day_nano_interval())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data = bytearray(sink.getvalue().to_pybytes())
    view = memoryview(bytes(data))
    length = struct.unpack_from("<i", view, 4)[0]
    schema = framing._Table.root(view, 8, 8 + length, "test").table(2)
    vector = schema._target(1)
    first_field = vector + 4 + struct.unpack_from("<I", view, vector + 4)[0]
    interval = framing._Table(view, 8, 8 + length, first_field, "test").table(3)
    at = interval._field(0, 2)
    assert struct.unpack_from("<h", view, at)[0] == 2  # MONTH_DAY_NANO
    struct.pack_into("<h", data, at, unit)
    return bytes(data)
