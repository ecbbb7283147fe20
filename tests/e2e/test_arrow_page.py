"""End to end: Arrow bytes from the page become DataFrames in the worker, and go back.

One server, one browser and one kernel for the whole module; every check that changes the
namespace uses its own names.
"""

import pyarrow as pa
import pytest

from tests.helpers import BentoServer, PageKernel, chromium, transfer

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
    "corrupt": (corrupt(GOOD), "not a readable Arrow IPC stream"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_bytes_leave_the_name_and_the_kernel_alone(page, case):
    data, message = BAD_INPUTS[case]
    page.run_ok("target = 'before'")
    result = transfer(page, "injectArrow", "target", data)
    assert result["ok"] is False
    assert result["ename"] == "ArrowError" and message in result["message"], result
    assert page.text("target") == "'before'"


def test_a_schema_pandas_cannot_convert_is_refused_whole(page):
    # In the browser's pandas 2.2, dictionary-encoded lists cannot become a category.
    values = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int8()), pa.array([[1], [2]]))
    data = ipc(pa.table({"fine": [1, 2, 3], "lists": values}))
    page.run_ok("target = 'before'")
    result = transfer(page, "injectArrow", "target", data)
    assert result["ename"] == "ArrowError", result
    assert "cannot convert to pandas" in result["message"] and "'lists'" in result["message"]
    assert page.text("target") == "'before'"


def test_a_bad_name_or_a_missing_export_says_what_to_do(page):
    result = transfer(page, "injectArrow", "not a name", GOOD)
    assert result["ename"] == "ArrowError" and "not a Python name" in result["message"]
    result = transfer(page, "exportArrow", "no_such_variable")
    assert result["ename"] == "ArrowError" and "bind a DataFrame" in result["message"]
    page.run_ok("a_list = [1, 2]")
    result = transfer(page, "exportArrow", "a_list")
    assert result["ename"] == "ArrowError" and "expected a pandas DataFrame" in result["message"]
    assert page.text("1 + 1") == "2"
