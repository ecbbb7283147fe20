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
    }
    return pa.table(columns)


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
