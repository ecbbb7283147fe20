"""Types pandas cannot take as they are arrive rewritten; the rest are refused by name.

The browser's pyarrow 18 runs the same cases in tests/e2e/test_arrow_page.py (CONVERTED);
these run on the host's pyarrow, and the month/day-time intervals are made by editing the
unit of a month_day_nano interval in the schema's flatbuffer (pyarrow cannot build them).
"""

from decimal import Decimal

import pyarrow as pa
import pytest

from bento_wasm.arrow import ipc as arrow
from bento_wasm.errors import ArrowError
from tests import arrow_cases


def ipc(table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_every_converted_case_arrives_as_a_column_with_its_values():
    frame, report = arrow.read_ipc(ipc(arrow_cases.build_converted()))
    assert report.columns == len(arrow_cases.CONVERTED)
    got = arrow_cases.check_converted(frame, arrow)
    for name, (_, _, values) in arrow_cases.CONVERTED.items():
        assert got[name]["values_back"] == repr(values), (name, got[name])
    assert frame["dictionary_null_values"].isna().tolist() == [False, True, True, False]
    assert frame["bool8"].tolist()[0] is True and str(frame["uuid"].dtype).startswith("fixed")


def test_decimal32_and_64_become_decimal128_where_pyarrow_can_cast():
    table = pa.table(
        {
            "d32": pa.array([Decimal("1.23"), None, Decimal("-9.99")], pa.decimal32(5, 2)),
            "d64": pa.array([Decimal("123456.789"), None, Decimal("0")], pa.decimal64(12, 3)),
        }
    )
    frame, _ = arrow.read_ipc(ipc(table))
    assert str(frame.d32.dtype) == "decimal128(5, 2)[pyarrow]"
    assert frame.d64.tolist()[0] == Decimal("123456.789")


@pytest.mark.parametrize(("unit", "name"), [(0, "month_interval"), (1, "day_time_interval")])
def test_intervals_pyarrow_cannot_hold_are_refused_naming_type_and_release(unit, name):
    data = arrow_cases.interval_stream(unit)
    assert str(pa.ipc.open_stream(data).read_all().schema.field("i").type) == name
    namespace = {"i": "before"}
    with pytest.raises(ArrowError) as caught:
        arrow.bind(namespace, "i", data, admit=lambda n, w: None)
    message = str(caught.value)
    assert f"column 'i' has Arrow type {name}" in message
    assert f"pyarrow {pa.__version__}" in message and "Cast it at the source" in message
    assert namespace == {"i": "before"}
