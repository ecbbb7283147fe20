"""End to end: Arrow bytes from the page become DataFrames in the worker, and go back.

One server, one browser and one kernel for the whole module; every check that changes the
namespace uses its own names.
"""

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tests import arrow_cases
from tests.helpers import BentoServer, DataServer, PageKernel, chromium, free_port, transfer

pytestmark = pytest.mark.browser


def ipc(table, max_chunksize=None):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max_chunksize)
    return sink.getvalue().to_pybytes()


@pytest.fixture(scope="module")
def page():
    with BentoServer() as server, chromium() as driver:
        kernel = PageKernel(driver, server)
        started = kernel.start()
        assert started["ok"], started
        yield kernel


def test_arraybuffer_becomes_a_dataframe_with_a_report(page):
    table = pa.table({"x": pa.array(range(1000), pa.int64()), "y": [i / 2 for i in range(1000)]})
    data = ipc(table)
    result = transfer(page, "injectArrow", "numbers", data)
    assert result["ok"], result
    assert result["detached"] is True, "the ArrayBuffer was cloned, not transferred"
    report = result["report"]
    assert report["name"] == "numbers" and report["rows"] == 1000 and report["columns"] == 2
    assert report["bytes_received"] == len(data) == report["bytes_copied"]
    assert report["zero_copy_columns"] == 2
    assert report["peak_extra_bytes"] >= len(data) and report["seconds"] > 0
    text = page.text("str(numbers.dtypes.to_dict()), int(numbers.x.sum()), float(numbers.y.max())")
    assert text == "(\"{'x': dtype('int64'), 'y': dtype('float64')}\", 499500, 499.5)"
    # The zero-copy columns are writable views (pyarrow alone hands out read-only ones).
    page.run_ok("numbers.loc[0, 'x'] = 7\nnumbers['y'] *= 2\nnumbers.iloc[1, 1] = -1.0")
    assert page.text("int(numbers.x[0]), numbers.y.tolist()[:3]") == "(7, [0.0, -1.0, 2.0])"


GOOD = ipc(pa.table({"n": pa.array(range(100), pa.int64()), "s": [str(i) for i in range(100)]}))


def corrupt(data):
    damaged = bytearray(data)
    damaged[8:40] = b"\x13" * 32  # inside the schema message's flatbuffer
    return bytes(damaged)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "not_arrow": (b'{"a": [1, 2, 3]} is JSON, not Arrow IPC at all', "end-of-stream"),
    "truncated": (GOOD[: len(GOOD) // 2], "truncated"),
    "truncated_at_a_message_boundary": (GOOD[:-8], "truncated"),
    "corrupt": (corrupt(GOOD), "framing is corrupt"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_bytes_leave_the_name_and_the_kernel_alone(page, case):
    data, message = BAD_INPUTS[case]
    page.run_ok("target = 'before'")
    result = transfer(page, "injectArrow", "target", data)
    assert result["ok"] is False
    assert result["ename"] == "ArrowError" and message in result["message"], result
    assert page.text("target") == "'before'"


@pytest.mark.parametrize("case", ["decimal32", "month_interval"])
def test_a_type_the_runtimes_pyarrow_cannot_hold_is_refused_whole_by_name(page, case):
    # decimal32: written by the host's newer pyarrow; pyarrow 18 reads it but cannot cast or
    # convert it. month_interval: no pyarrow has a Python array class for it.
    if case == "decimal32":
        column = pa.array([Decimal("1.25"), None, Decimal("-2.5")], pa.decimal32(5, 2))
        data = ipc(pa.table({"fine": [1, 2, 3], "odd": column}))
    else:
        data = arrow_cases.interval_stream(0)
    page.run_ok("target = 'before'")
    result = transfer(page, "injectArrow", "target", data)
    assert result["ename"] == "ArrowError", result
    assert f"Arrow type {case}" in result["message"], result
    assert "pyarrow 18.1.0" in result["message"] and "Cast it at the source" in result["message"]
    assert page.text("target") == "'before'"


def test_a_legacy_format_stream_arrives(page):
    table = pa.table({"x": [1, 2, 3], "s": ["a", None, "c"]})
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(use_legacy_format=True)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    result = transfer(page, "injectArrow", "legacy", sink.getvalue().to_pybytes())
    assert result["ok"], result
    assert page.text("legacy.x.tolist(), legacy.s.tolist()") == "([1, 2, 3], ['a', <NA>, 'c'])"


def test_a_bad_name_or_a_missing_export_says_what_to_do(page):
    result = transfer(page, "injectArrow", "not a name", GOOD)
    assert result["ename"] == "ArrowError" and "not a Python name" in result["message"]
    result = transfer(page, "exportArrow", "no_such_variable")
    assert result["ename"] == "ArrowError" and "bind a DataFrame" in result["message"]
    page.run_ok("a_list = [1, 2]")
    result = transfer(page, "exportArrow", "a_list")
    assert result["ename"] == "ArrowError" and "expected a pandas DataFrame" in result["message"]
    assert page.text("1 + 1") == "2"


ROUND_TRIP_JS = """
const [source, target] = arguments;
const done = arguments[arguments.length - 1];
window.kernel.exportArrow(source)
  .then((buffer) => window.kernel.injectArrow(target, buffer))
  .then((report) => done({ ok: true, report }), (e) => done({ ok: false, message: e.message }));
"""


def round_trip(page, source, target):
    """Python -> JS (exportArrow) -> Python (injectArrow), all through the page."""
    result = page.driver.execute_async_script(ROUND_TRIP_JS, source, target)
    assert result["ok"], result
    return result["report"]


@pytest.fixture(scope="module")
def matrix(page):
    """The type matrix built in the browser (pyarrow 18), one table per shape."""
    page.run_ok(Path(arrow_cases.__file__).read_text())
    page.run_ok(
        "import json, pyarrow as pa\n"
        "from bento_wasm import arrow\n"
        "one = build()\n"
        "batches = pa.Table.from_batches(one.to_batches(max_chunksize=1))\n"
        "empty = one.slice(0, 0)"
    )
    return page


@pytest.mark.parametrize("shape", ["one", "batches", "empty"])
def test_every_type_crosses_to_pandas_and_back_exactly(matrix, shape):
    report = round_trip(matrix, shape, f"df_{shape}")
    assert report["columns"] == len(arrow_cases.EXPECTED)
    assert report["rows"] == (0 if shape == "empty" else 4)
    assert report["batches"] == {"one": 1, "batches": 4, "empty": 0}[shape]
    again = round_trip(matrix, f"df_{shape}", f"df2_{shape}")  # a DataFrame leaves by Arrow too
    assert again["rows"] == report["rows"]
    results = json.loads(
        matrix.text(
            f"print(json.dumps({{'first': check(df_{shape}, {shape}, arrow),"
            f" 'second': check(df2_{shape}, {shape}, arrow)}}))"
        )
    )
    for name, (dtype, written_back_as) in arrow_cases.EXPECTED.items():
        for passage in ("first", "second"):
            got = results[passage][name]
            assert got["same_values"], (name, passage, got)
            if shape == "empty":  # no nulls, no categories: plain dtypes, same Arrow types
                assert got["same_type"] or name.startswith("dictionary"), (name, got)
                continue
            assert got["dtype"] == dtype, (name, passage, got)
            if written_back_as is None:
                assert got["same_type"], (name, passage, got)
            else:
                assert got["type_back"] == written_back_as, (name, passage, got)


@pytest.mark.parametrize("shape", ["one", "batches"])
def test_types_pandas_cannot_take_as_they_are_arrive_rewritten(matrix, shape):
    matrix.run_ok(
        f"converted_{shape} = build_converted()\n"
        f"if '{shape}' == 'batches':\n"
        f"    converted_{shape} = pa.Table.from_batches("
        f"converted_{shape}.to_batches(max_chunksize=1))"
    )
    report = round_trip(matrix, f"converted_{shape}", f"dfc_{shape}")
    assert report["columns"] == len(arrow_cases.CONVERTED) and report["rows"] == 4
    results = json.loads(matrix.text(f"print(json.dumps(check_converted(dfc_{shape}, arrow)))"))
    for name, (dtype, type_back, values) in arrow_cases.CONVERTED.items():
        expected = {"dtype": dtype, "type_back": type_back, "values_back": repr(values)}
        assert results[name] == expected, name


def test_dictionary_index_width_is_restored_with_a_schema(matrix):
    round_trip(matrix, "one", "df_widths")
    text = matrix.text(
        "t = pa.ipc.open_stream(arrow.to_ipc(df_widths, schema=one.schema)).read_all()\n"
        "c = 'dictionary_int32'\n"
        "t.schema.remove_metadata() == one.schema, t.column(c).equals(one.column(c))"
    )
    assert text == "(True, True)"


def test_host_written_multi_batch_stream_with_large_strings_and_nan(page):
    """Bytes from another pyarrow (the host's) and a NaN distinct from null, in pandas 2.2."""
    table = pa.table(
        {
            "text": pa.array(["é" * 5000, None, "z"] * 100, pa.large_string()),
            "kind": pa.array(["a", "b", None] * 100).dictionary_encode(),
            "x": pa.array([float("nan"), None, 1.0] * 100),
            "when": pa.array([1, None, 3] * 100, pa.timestamp("us", tz="America/New_York")),
        }
    )
    result = transfer(page, "injectArrow", "host", ipc(table, max_chunksize=64))
    assert result["ok"], result
    assert result["report"]["batches"] == 5 and result["report"]["rows"] == 300
    text = page.text(
        "import math\n"
        "(str(host.dtypes.to_dict()), math.isnan(host.x[0]), host.x.isna().tolist()[:3],"
        " int(host.when.isna().sum()), len(host.text[0]), host.kind.cat.categories.tolist())"
    )
    assert text == (
        "(\"{'text': large_string[pyarrow], 'kind': CategoricalDtype(categories=['a', 'b'], "
        "ordered=False, categories_dtype=object), 'x': Float64Dtype(), "
        "'when': datetime64[us, America/New_York]}\", True, [False, True, False], 100, 5000, "
        "['a', 'b'])"
    )
    exported = transfer(page, "exportArrow", "host")
    assert exported["isArrayBuffer"]
    back = pa.ipc.open_stream(exported["data"]).read_all()
    assert back.column("text").type == pa.large_string()
    assert back.column("x").null_count == 100 and back.column("x").to_pylist()[0] != 1.0
    assert back.column("when").to_pylist() == table.column("when").to_pylist()


BIG = ipc(pa.table({"v": pa.array(range(400_000), pa.int64()), "w": [0.5] * 400_000}), 50_000)


@pytest.fixture(scope="module")
def data_server():
    with DataServer({"good.arrows": GOOD, "big.arrows": BIG}) as server:
        yield server


def test_fetch_streams_into_wasm_memory_with_one_copy(page, data_server):
    result = transfer(page, "fetchArrow", "fetched", data_server.url + "/big.arrows")
    assert result["ok"], result
    report = result["report"]
    assert report["bytes_received"] == report["bytes_copied"] == len(BIG)
    assert report["rows"] == 400_000 and report["batches"] == 8
    assert (
        page.text("int(fetched.v.sum()), float(fetched.w.sum())")
        == f"({sum(range(400_000))}, 200000.0)"
    )


def test_fetch_without_a_length_grows_the_landing(page, data_server):
    result = transfer(page, "fetchArrow", "chunked", data_server.url + "/big.arrows?chunked")
    assert result["ok"], result
    report = result["report"]
    assert report["bytes_received"] == len(BIG) and report["bytes_copied"] >= len(BIG)
    assert report["peak_extra_bytes"] >= len(BIG)
    assert page.text("int(chunked.v.sum())") == str(sum(range(400_000)))


@pytest.mark.parametrize(
    ("path", "ename"),
    [("/missing.arrows", "NetworkError"), ("/big.arrows?cut=100000", "NetworkError")],
)
def test_failed_fetches_leave_the_name_alone(page, data_server, path, ename):
    page.run_ok("target = 'before'")
    result = transfer(page, "fetchArrow", "target", data_server.url + path)
    assert result["ok"] is False and result["ename"] == ename, result
    assert page.text("target") == "'before'"


def test_an_unreachable_server_is_a_network_error(page):
    result = transfer(page, "fetchArrow", "target", f"http://127.0.0.1:{free_port()}/x.arrows")
    assert result["ok"] is False and result["ename"] == "NetworkError", result
    assert "cannot fetch" in result["message"]


def test_raw_bytes_inject_as_a_memoryview(page):
    result = transfer(page, "injectBytes", "raw", b"a,b\n1,2\n")
    assert result["ok"] and result["report"]["format"] == "bytes"
    assert page.text("type(raw).__name__, bytes(raw)") == "('memoryview', b'a,b\\n1,2\\n')"


def test_the_memory_budget_refuses_an_injection_before_the_copy(page):
    page.run_ok("target = 'before'")
    page.run_ok("%memory --budget 1MB")
    try:
        result = transfer(page, "injectArrow", "target", GOOD)
    finally:
        page.run_ok("%memory --budget 75%")
    assert result["ok"] is False and result["ename"] == "MemoryBudgetExceeded", result
    assert "target" in result["message"]
    assert page.text("target") == "'before'"


@pytest.mark.parametrize("max_chunksize", [None, 7])
def test_ints_and_floats_with_nulls_are_masked_views_that_pandas_handles(page, max_chunksize):
    """Int64/Float64 (not float, not object) whose values are the landed Arrow bytes, made
    writable; only the mask is new. Several batches are combined first (one copy)."""
    table = pa.table(
        {
            "i": pa.array([2**62 + 1, None, -5, 4] * 5, pa.int64()),
            "u": pa.array([1, 2, None, 255] * 5, pa.uint8()),
            "f": pa.array([float("nan"), None, 2.5, -0.0] * 5, pa.float64()),
            "g": pa.array([None, 1.5, 2.5, 3.5] * 5, pa.float32()),
            "k": pa.array(["a", "b"] * 10),
        }
    )
    name = f"masked{max_chunksize or 0}"
    result = transfer(page, "injectArrow", name, ipc(table, max_chunksize))
    assert result["ok"], result
    assert result["report"]["zero_copy_columns"] == (5 if max_chunksize is None else 1)
    text = page.text(
        f"df = {name}\n"
        "import math\n"
        "(str(df.dtypes.to_dict()), int(df.i[0]), int(df.i.isna().sum()), math.isnan(df.f[0]),"
        " bool(df.f.isna()[1]), int(df.u.sum()), float(df.g.mean()))"
    )
    assert text == (
        "(\"{'i': Int64Dtype(), 'u': UInt8Dtype(), 'f': Float64Dtype(), 'g': Float32Dtype(), "
        "'k': string[pyarrow]}\", 4611686018427387905, 5, True, True, 1290, 2.5)"
    )
    # Writable in place, NA assignable, and the usual operations keep the nullable dtype.
    page.run_ok(
        f"df = {name}\n"
        "df.loc[0, 'i'] = 7\ndf.loc[2, 'i'] = None\ndf['f'] = df.f.fillna(0.0) * 2\n"
        "by_k = df.groupby('k').i.sum()\nfilled = df.u.fillna(0).astype('int64')"
    )
    text = page.text(
        f"df = {name}\n"
        "(df.i.tolist()[:4], df.f.tolist()[1:4], str(by_k.dtype), int(filled.sum()),"
        " str((df.i + 1).dtype), int(df.i.max()))"
    )
    assert text == (
        "([7, <NA>, <NA>, 4], [0.0, 5.0, -0.0], 'Int64', 1290, 'Int64', 4611686018427387905)"
    )
    back = pa.ipc.open_stream(transfer(page, "exportArrow", name)["data"]).read_all()
    assert back.schema.field("i").type == pa.int64() and back.column("i").null_count == 6
    assert back.column("g").to_pylist() == table.column("g").to_pylist()
