"""Columns built with numpy (bento_wasm/arrow/columns.py) are what pyarrow's conversion gives.

Each case is read through read_ipc (the builders' path) and compared with pyarrow's own
to_pandas of the same column, mapped as the README's type table says (nullable dtypes for
ints, floats and bools with nulls). The browser's pandas 2.2 / pyarrow 18 are checked by
tests/e2e/test_arrow_page.py; these hold for the host's releases.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bento_wasm.arrow import columns
from bento_wasm.arrow import ipc as arrow


def ipc(table, max_chunksize=None):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max_chunksize)
    return sink.getvalue().to_pybytes()


def landed(data):
    landing = arrow.Landing(len(data))
    landing.view()[: len(data)] = data
    landing.size = len(data)
    return landing


def expected(column):
    """pyarrow's conversion, with the README's nullable dtypes for nulls (a NaN stays NaN,
    as pandas 2.2's conversion keeps it; pandas 3 would make it <NA>)."""
    kind = column.type
    if column.null_count and pa.types.is_floating(kind):
        dtype = pd.api.types.pandas_dtype(columns.NULLABLE[str(kind)])
        values = column.to_numpy(zero_copy_only=False)
        mask = column.is_null().to_numpy(zero_copy_only=False)
        return pd.Series(dtype.construct_array_type()(values, mask))
    if pa.types.is_dictionary(kind) and pa.types.is_unsigned_integer(kind.index_type):
        # pyarrow 18 converts no unsigned indices (an improvement here: they arrive)
        return column.cast(pa.dictionary(pa.int32(), kind.value_type, kind.ordered)).to_pandas()
    if column.null_count and str(kind) in columns.NULLABLE:
        dtype = pd.api.types.pandas_dtype(columns.NULLABLE[str(kind)])
        return column.to_pandas(types_mapper={kind: dtype}.get)
    return column.to_pandas()


MS = [1_600_000_000_000, None, -1, 0, 1_700_000_000_123, None]
STEPS = {"s": [1_600_000_000, None, -1, 0, 1_700_000_000, None], "ms": MS}
STEPS["us"] = STEPS["ns"] = MS
CASES = {
    "int8 nulls": pa.array([1, None, -128, 127, 0, None], pa.int8()),
    "uint64 nulls": pa.array([2**64 - 1, None, 0, 1, 2**63, None], pa.uint64()),
    "int64 nulls": pa.array([2**62 + 1, None, -5, 0, 1, None], pa.int64()),
    "float32 nulls": pa.array([1.5, None, float("nan"), -0.0, 2.0, None], pa.float32()),
    "float64 nulls, NaN": pa.array([1.5, None, float("nan"), -0.0, 2.0, None], pa.float64()),
    "int32": pa.array([1, -2, 2**31 - 1, 0, 5, -(2**31)], pa.int32()),
    "uint8": pa.array([0, 1, 255, 7, 8, 9], pa.uint8()),
    "float32": pa.array([1.5, float("inf"), -0.0, 2.0, 3.25, -1.0], pa.float32()),
    "float64": pa.array([1.5, 1e300, float("-inf"), -0.0, 2.0, 5e-324], pa.float64()),
    "bool": pa.array([True, False, True, True, False, False]),
    "bool nulls": pa.array([True, None, False, True, None, False]),
    **{
        f"timestamp[{unit}] {tz} nulls": pa.array(STEPS[unit], pa.timestamp(unit, tz))
        for unit in ("s", "ms", "us", "ns")
        for tz in (None, "UTC", "Europe/Paris")
    },
    "duration[us] nulls": pa.array(MS, pa.duration("us")),
    "dictionary int32": pa.array(["b", "a", "c", "a", "b", "b"]).dictionary_encode(),
    "dictionary int8 nulls": pa.DictionaryArray.from_arrays(
        pa.array([0, None, 2, 1, None, 0], pa.int8()), pa.array(["x", "y", "z"])
    ),
    "dictionary uint16 ordered": pa.DictionaryArray.from_arrays(
        pa.array([3, 2, 1, 0, 3, 2], pa.uint16()), pa.array([10, 20, 30, 40]), ordered=True
    ),
    "dictionary int16, 300 categories": pa.DictionaryArray.from_arrays(
        pa.array([299, 0, 150, None, 1, 298], pa.int16()), pa.array([f"c{i}" for i in range(300)])
    ),
}


@pytest.mark.parametrize("sliced", [False, True])
@pytest.mark.parametrize("land", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_built_columns_are_what_pyarrow_gives(case, land, sliced):
    array = CASES[case].slice(1, 4) if sliced else CASES[case]  # a non-zero offset in bits too
    table = pa.table({"x": array, "other": pa.array(np.arange(len(array)), pa.int64())})
    data = ipc(table)
    frame, _ = arrow.read_ipc(landed(data) if land else data)
    want = expected(table.column("x"))
    pd.testing.assert_series_equal(frame["x"], want.rename("x"), check_exact=True)
    if isinstance(want.dtype, pd.CategoricalDtype):
        assert frame["x"].cat.codes.dtype == want.cat.codes.dtype  # pandas' code width
    assert frame["other"].tolist() == list(range(len(array)))
    back = pa.ipc.open_stream(arrow.to_ipc(frame)).read_all()
    if not pa.types.is_dictionary(array.type):  # dictionaries come back in pandas' code width
        assert back.column("x").type == array.type
    assert repr(back.column("x").to_pylist()) == repr(array.to_pylist())  # NaN is NaN


def test_multi_batch_columns_are_built_once_combined():
    table = pa.table(
        {
            "ts": pa.array(MS * 100, pa.timestamp("ms")),
            "b": pa.array([True, None, False] * 200),
            "i": pa.array([1, None, 3] * 200, pa.int16()),
        }
    )
    frame, report = arrow.read_ipc(ipc(table, max_chunksize=7))
    assert report.batches > 80
    for name in table.column_names:
        pd.testing.assert_series_equal(frame[name], expected(table.column(name)).rename(name))


def test_nat_is_filled_in_place_in_the_landing_and_never_in_the_callers_bytes():
    table = pa.table({"ts": pa.array(MS, pa.timestamp("ms")), "f": [0.5] * 6})
    data = bytearray(ipc(table))
    before = bytes(data)
    frame, report = arrow.read_ipc(data)  # the caller's (writable) bytes: copied, not touched
    assert bytes(data) == before and report.zero_copy_columns == 1
    assert frame.ts.isna().tolist() == [False, True, False, False, False, True]
    frame, report = arrow.read_ipc(landed(bytes(data)))
    assert report.zero_copy_columns == 2  # the NaT were written over the landed nulls
    assert frame.ts.isna().tolist() == [False, True, False, False, False, True]
    frame.loc[0, "ts"] = pd.Timestamp("2001-01-01")
    assert frame.ts[0] == pd.Timestamp("2001-01-01")


def test_a_buffer_another_column_reads_is_never_written():
    # A crafted stream may point two columns at the same bytes: filling NaT in place there
    # would change the other column. Built over such memory, the timestamps are a copy.
    memory = pa.allocate_buffer(6 * 8)
    view = memoryview(memory).cast("B")
    view[:] = np.array([5, 6, 7, 8, 9, 10], np.int64).tobytes()
    validity = pa.array([True, False, True, True, True, False]).buffers()[1]
    ts = pa.Array.from_buffers(pa.timestamp("s"), 6, [validity, memory], null_count=2)
    ints = pa.Array.from_buffers(pa.int64(), 6, [None, memory])
    table = pa.table({"ts": ts, "i": ints})
    landing = columns.Memory(view, memory.address, table)
    values = np.frombuffer(memory, np.int64)
    assert landing.writable(values) is None
    built = columns.build(ts, landing)
    assert pd.isna(built[1]) and ints.to_pylist() == [5, 6, 7, 8, 9, 10]
    alone = columns.Memory(view, memory.address, pa.table({"ts": ts}))
    assert alone.writable(values) is not None  # the same bytes, read by nobody else


def test_categorical_codes_of_the_landing_are_views_pandas_can_write():
    kinds = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, 1] * 10, pa.int8()), pa.array(["a", "b", "c"])
    )
    frame, report = arrow.read_ipc(landed(ipc(pa.table({"k": kinds}))))
    assert report.zero_copy_columns == 1  # int8 indices are pandas' codes already
    frame.loc[0, "k"] = "c"
    assert frame.k.tolist()[:4] == ["c", "b", "c", "b"]
    frame, report = arrow.read_ipc(ipc(pa.table({"k": kinds})))  # caller's bytes: a copy
    frame.loc[0, "k"] = "c"
    assert report.zero_copy_columns == 0 and frame.k[0] == "c"


def test_null_free_numbers_of_the_landing_are_writable_views_and_cost_no_admission():
    table = pa.table({"f": np.linspace(0, 1, 1000), "i": pa.array(range(1000), pa.int16())})
    landing = landed(ipc(table))
    asked = []
    frame, report = arrow.read_ipc(landing, admit=lambda n, what: asked.append(n))
    assert asked == [] and report.zero_copy_columns == 2
    low = int(np.frombuffer(landing.view(), np.uint8).__array_interface__["data"][0])
    for name in ("f", "i"):
        values = frame._mgr.iget_values(list(frame.columns).index(name))
        start = int(values.__array_interface__["data"][0])
        assert low <= start < low + landing.size and values.flags.writeable
    frame.loc[3, "f"] = 9.5  # written in the landing: nothing else reads those bytes
    assert frame.f[3] == 9.5 and frame.i.tolist() == list(range(1000))
    assert [str(t) for t in frame.dtypes] == ["float64", "int16"]


def test_null_free_numbers_in_several_batches_are_combined_once():
    table = pa.table({"f": np.linspace(0, 1, 1000)})
    asked = []
    frame, report = arrow.read_ipc(
        landed(ipc(table, max_chunksize=64)), admit=lambda n, what: asked.append(n)
    )
    assert report.batches == 16 and asked == [8 * 1000]  # the combined chunk, not a copy of it
    assert frame.f.tolist() == table.column("f").to_pylist()


def test_a_table_of_built_columns_only_keeps_its_rows():
    table = pa.table({"b": [True, False, True], "i": pa.array([1, None, 2], pa.int32())})
    frame, _ = arrow.read_ipc(ipc(table))
    assert frame.shape == (3, 2) and list(frame.index) == [0, 1, 2]
    assert [str(t) for t in frame.dtypes] == ["bool", "Int32"]


def test_admission_counts_what_the_builders_allocate_in_place_or_not():
    rows = 1000
    ts = pa.array([None if i % 10 == 0 else i for i in range(rows)], pa.timestamp("ms"))
    dictionary = pa.array(["a", "b", "c"])
    kinds = pa.DictionaryArray.from_arrays(
        pa.array([i % 3 for i in range(rows)], pa.int8()), dictionary
    )
    data = ipc(pa.table({"ts": ts, "k": kinds}))
    asked = {}
    for how, source in (("bytes", data), ("landing", landed(data))):
        arrow.read_ipc(source, admit=lambda n, what, how=how: asked.setdefault(how, n))
    dictionary = dictionary.nbytes
    mask_and_positions = rows + 8 * 100
    # the caller's bytes: NaT filled in a copy, the int8 codes copied (pandas writes codes)
    assert asked["bytes"] == mask_and_positions + 8 * rows + rows + dictionary
    # our landing: both written or viewed in place
    assert asked["landing"] == mask_and_positions + dictionary


@pytest.mark.parametrize("buffers", ["empty", "absent"])
def test_a_batch_of_no_rows_gives_typed_empty_columns(buffers):
    # Some writers send no buffer at all for a batch without rows.
    def empty(kind):
        return pa.Array.from_buffers(
            kind, 0, [None, None if buffers == "absent" else pa.py_buffer(b"")]
        )

    kinds = pa.DictionaryArray.from_arrays(empty(pa.int32()), pa.array(["a", "b"]))
    batch = pa.record_batch([empty(pa.bool_()), kinds], names=["b", "k"])
    for data in (stream_of(batch), landed(stream_of(batch))):
        frame, report = arrow.read_ipc(data)
        assert frame.shape == (0, 2) and report.batches == 1
        assert str(frame.b.dtype) == "bool" and list(frame.k.cat.categories) == ["a", "b"]


def stream_of(batch):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()
