"""The Arrow path's browser layer inside a stock Pyodide page: JS bytes, one copy, views."""

import pytest
from pytest_pyodide import run_in_pyodide

from tests.helpers import wheel_path

pytestmark = pytest.mark.browser


@pytest.fixture
def selenium_arrow(selenium):
    selenium.run_js(f"await pyodide.loadPackage('{selenium.base_url}/{wheel_path().name}')")
    return selenium


@pytest.mark.driver_timeout(120)  # loading pandas + pyarrow takes 10-30 s on a busy machine
@run_in_pyodide(packages=["pandas", "pyarrow"])
def test_js_bytes_are_admitted_then_copied_once_into_aligned_wasm_memory(selenium_arrow):
    import numpy as np
    import pyarrow as pa
    from js import Uint8Array
    from pyodide.ffi import to_js

    from bento_wasm.browser import arrow as browser_arrow
    from bento_wasm.errors import MemoryBudgetExceeded
    from bento_wasm.kernel.interpreter import Kernel

    table = pa.table({"f": np.arange(100_000, dtype="float64"), "i": np.arange(100_000)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    ipc = sink.getvalue().to_pybytes()
    js_bytes = to_js(ipc)  # a Uint8Array outside wasm memory's Python objects
    assert isinstance(js_bytes, type(Uint8Array.new(1)))

    class Worker:
        kernel = Kernel(lambda message: None)

    calls = []

    def refuse(nbytes, what):
        calls.append(nbytes)
        raise MemoryBudgetExceeded(f"{what} does not fit", requested_bytes=nbytes)

    Worker.kernel.namespace["df"] = "before"
    Worker.kernel.admit = refuse
    reply = browser_arrow.inject(Worker, "df", js_bytes.buffer)
    assert not reply.ok and reply.error["ename"] == "MemoryBudgetExceeded"
    assert calls == [len(ipc)] and Worker.kernel.namespace["df"] == "before"

    Worker.kernel.admit = lambda nbytes, what: calls.append(nbytes)
    reply = browser_arrow.inject(Worker, "df", js_bytes.buffer)
    assert reply.ok, reply.error
    report = reply.value
    assert report["bytes_copied"] == report["bytes_received"] == len(ipc)
    assert report["zero_copy_columns"] == 2
    frame = Worker.kernel.namespace["df"]
    assert frame.f.sum() == table.column("f").to_numpy().sum()
    address = frame.f.to_numpy().__array_interface__["data"][0]
    assert address % 8 == 0, "an unaligned view"

    reply = browser_arrow.export(Worker, "df")
    buffer, exported = reply.value
    assert pa.ipc.open_stream(buffer).read_all().equals(table)
    assert exported["rows"] == 100_000 and exported["bytes_copied"] == buffer.size
