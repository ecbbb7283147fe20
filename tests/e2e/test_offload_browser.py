"""Remote offload end to end: the worker in headless Chromium against the real executor.

One server and one page for the module: @remote and %%remote through synchronous XHR,
values as Arrow and JSON, remote errors and outputs in the calling cell, automatic
offload, and the faults (interrupt from the page, timeout, killed kernel, payload limit,
wrong token, executor down), after each of which the browser namespace is intact.
"""

import time

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, free_port, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with BentoServer("--BentoExecutor.max_payload_mib=16") as running:
        yield running


COMMON = """
import pandas as pd
df = pd.DataFrame({'x': [1.0, 2.0, 3.0], 's': ['a', 'b', 'c']})
total = 6.0

@remote
def add(a, b):
    return a + b

@remote
def enrich(frame, factor=2):
    return frame.assign(y=frame.x * factor, n=len(frame))
"""


@pytest.fixture(scope="module")
def page(server):
    with chromium() as driver:
        kernel = PageKernel(driver, server)
        executor = {"url": server.url, "token": server.token}
        started = kernel.start(executor=executor, offload={"auto": True}, preload=[])
        assert started["ok"], started
        kernel.run_ok("from bento_wasm import remote\nkept = 'browser state'")
        kernel.run_ok(COMMON)  # what several tests use, so each runs alone too (pytest -k)
        yield kernel


def streams(outputs, name="stdout"):
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == name)


def test_pandas_imported_before_pyarrow_still_has_arrow_columns(page):
    """COMMON imported pandas first (no preload): the worker loaded pyarrow with it, since
    pandas looks for pyarrow only once, at import (Arrow-backed results need it)."""
    code = "import pyarrow as pa\nstr(pd.Series(['a'], dtype=pd.ArrowDtype(pa.string())).dtype)"
    assert page.text(code) == "'string[pyarrow]'"


def test_remote_function_blocks_and_reads_like_local_code(page):
    page.run_ok(
        "import sys\n"
        "@remote\n"
        "def where(tag):\n"
        "    import sys\n"
        "    print('running remotely for', tag)\n"
        "    return sys.platform"
    )
    outputs = page.run_ok(
        "result = where('cell 2')\nwhere('again')\nprint('local', sys.platform)\nresult"
    )
    assert (
        streams(outputs)
        == "running remotely for cell 2\nrunning remotely for again\nlocal emscripten\n"
    )
    assert outputs[-1]["data"]["text/plain"] == "'linux'"
    [badge] = page.badges(outputs)  # once per cell and function, however often it is called
    assert badge["label"] == "remote" and "@remote where()" in badge["why"], badge
    assert badge["text"] == "[remote] where() runs on the executor's kernel"
    assert not page.badges(page.run_ok("print(sys.platform)")), "local cells have no badge"


def test_dataframes_travel_as_arrow_both_ways(page):
    page.run_ok(
        "import pandas as pd\n"
        "df = pd.DataFrame({'x': [1.0, 2.0, 3.0], 's': ['a', 'b', 'c']})\n"
        "@remote\n"
        "def enrich(frame, factor=2):\n"
        "    return frame.assign(y=frame.x * factor, n=len(frame))"
    )
    text = page.text("out = enrich(df, factor=10)\nlist(out.y), list(out.s), type(out).__name__")
    assert text == "([10.0, 20.0, 30.0], ['a', 'b', 'c'], 'DataFrame')"


def test_awaitable_form(page):
    page.run_ok("@remote\ndef add(a, b):\n    return a + b")
    assert page.text("await add.aio(40, 2)") == "42"


def test_remote_cell_sends_reads_and_brings_back_binds(page):
    outputs = page.run_ok(
        "%%remote\n"
        "import sys\n"
        "print('on', sys.platform)\n"
        "total = float(df.x.sum())\n"
        "from IPython.display import HTML, display\n"
        "display(HTML('<i>remote display</i>'))\n"
        "total * 2"
    )
    assert streams(outputs) == "on linux\n"
    html = [o for o in outputs if o["type"] == "display_data"]
    assert html and html[0]["data"]["text/html"] == "<i>remote display</i>"
    assert outputs[-1]["type"] == "execute_result" and outputs[-1]["data"]["text/plain"] == "12.0"
    assert page.text("total") == "6.0"
    page.run_ok("%%remote --in kept --out echoed\necho = kept.upper()\nechoed = echo + '!'")
    assert page.text("echoed") == "'BROWSER STATE!'"
    assert page.errors("echo")[0]["ename"] == "NameError", "--out limits what comes back"


def test_remote_exception_shows_the_remote_traceback(page):
    [error] = page.errors(
        "%%remote\ndef explode(v):\n    raise ValueError(f'bad {v}')\nexplode(3)\nnever = 1"
    )
    assert error["ename"] == "RemoteError" and "ValueError: bad 3" in error["evalue"]
    text = "\n".join(error["traceback"])
    assert "raise ValueError(f'bad {v}')" in text and "in explode" in text
    assert page.errors("never")[0]["ename"] == "NameError"
    assert page.text("kept") == "'browser state'"


def test_unsendable_argument_is_named(page):
    [error] = page.errors("import threading\nenrich(threading.Lock())")
    assert error["ename"] == "TransferError" and "argument `frame` of enrich()" in error["evalue"]


def test_automatic_offload_of_a_cell_pyodide_cannot_run(page):
    outputs = page.run_ok("import zmq\nzmq_version = zmq.zmq_version()")
    [badge] = page.badges(outputs)
    assert badge["label"] == "remote (auto)" and "zmq" in badge["why"], badge
    assert badge["text"].startswith("[offload] running this cell on the executor: ")
    assert page.text("zmq_version.count('.')") == "2"
    assert page.text("import json\njson.dumps([1])") == "'[1]'", "lite cells stay local"


@pytest.mark.parametrize("request_mib", [0, 2])
def test_interrupt_from_the_page_stops_the_remote_call(page, tmp_path, request_mib):
    """Also while the worker waits on fetch under JSPI (a request of 1 MiB or more)."""
    started = tmp_path / "remote-started"  # the executor's kernel runs on this machine
    page.run_ok(f"import numpy as np\npayload = np.ones({request_mib} * 2**17)")
    code = (
        f"%%remote\nimport time\nopen({str(started)!r}, 'w').close()\nsize = payload.nbytes\n"
        "for _ in range(600):\n    time.sleep(0.1)"
    )
    page.driver.execute_script(
        "window.remoteRun = null;"
        "window.kernel.execute(arguments[0]).then((r) => { window.remoteRun = r; });",
        code,
    )
    wait_for(started.exists, 60, "the remote cell to start")
    page.driver.execute_script("window.kernel.interrupt()")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not page.driver.execute_script("return window.remoteRun"):
        time.sleep(0.1)
    result = page.driver.execute_script("return window.remoteRun")
    assert result, "the remote call was not interrupted"
    errors = [o for o in result["outputs"] if o["type"] == "error"]
    assert [o["ename"] for o in errors] == ["KeyboardInterrupt"], errors
    assert page.text("kept") == "'browser state'"
    assert page.text("add(1, 1)") == "2", "the session survives an interrupt"


def test_call_timeout(page):
    page.run_ok("import bento_wasm.offload.calls as r\nr.current().timeout_s = 1.0")
    try:
        [error] = page.errors("%%remote\nimport time\ntime.sleep(20)")
    finally:
        page.run_ok("r.current().timeout_s = None")
    assert error["ename"] == "ExecutorTimeout" and "longer than 1 s" in error["evalue"]
    assert page.text("total") == "6.0"


def test_kernel_killed_mid_call_then_a_fresh_session_says_so(page):
    page.run_ok("%%remote\nimport threading\nremote_only = threading.Lock()")  # stays remote
    [error] = page.errors("%%remote\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert error["ename"] == "SessionLost" and "died" in error["evalue"]
    result = page.execute("%%remote\nremote_only.locked()")
    notice = streams(result["outputs"], "stderr")
    assert "fresh remote session" in notice and "gone" in notice
    assert [o["ename"] for o in result["outputs"] if o["type"] == "error"] == ["RemoteError"]
    assert page.text("add(2, 3)") == "5"
    assert page.text("kept") == "'browser state'"


def test_payload_too_large(page):
    [error] = page.errors("import numpy as np\nhuge = np.zeros(3 * 2**20)\nenrich(huge)")
    assert error["ename"] == "PayloadTooLarge" and "16 MiB" in error["evalue"]
    assert page.text("huge.shape") == "(3145728,)"


def test_an_answer_over_the_memory_budget_is_refused_before_it_is_copied(page):
    page.run_ok(
        "@remote\ndef zeros(n):\n    import numpy as np\n    return np.zeros(n, dtype='uint8')\n"
        "import pyodide_js\nfrom bento_wasm.memory.budget import active\n"
        "def heap():\n    return pyodide_js._module.HEAP8.length"
    )
    in_use = int(page.text("active().snapshot(exact=True).in_use"))
    page.run_ok(f"%memory --budget {in_use // 2**20 + 32}MiB")  # 32 MiB free
    try:
        before = int(page.text("heap()"))
        [error] = page.errors("big = zeros(64 * 2**20)")
        after = int(page.text("heap()"))
        assert error["ename"] == "MemoryBudgetExceeded", error
        assert "the executor's answer" in error["evalue"] and "64.0 MiB" in error["evalue"]
        assert after - before < 16 * 2**20, "the answer was copied into wasm memory"
        assert page.text("'big' in globals()") == "False"
        assert page.text("len(zeros(1024))") == "1024", "what fits is still admitted"
    finally:
        page.run_ok("%memory --budget 75%")
    assert page.text("kept") == "'browser state'"


def test_wrong_token_and_executor_down(page, server):
    page.run_ok("import bento_wasm.offload.calls as r\nsaved = r.current()")
    try:
        page.run_ok(f"r.connect({server.url!r}, 'wrong-token')")
        [error] = page.errors("add(1, 2)")
        assert error["ename"] == "ExecutorError" and "refused the token" in error["evalue"]
        page.run_ok(f"r.connect('http://127.0.0.1:{free_port()}', 't')")
        [error] = page.errors("%%remote\nx = 1")
        assert error["ename"] == "ExecutorError" and "not reachable" in error["evalue"]
        assert "python -m bento_wasm.server" in error["evalue"]
    finally:
        page.run_ok("r.configure(saved)")
    assert page.text("kept") == "'browser state'"
    assert page.text("add(3, 4)") == "7"


STREAMED = """
import bento_wasm.browser.http as http_module, numpy as np
streamed = []
_fetch_streaming = http_module.fetch_streaming
def counting(*args, **kwargs):
    response = _fetch_streaming(*args, **kwargs)
    streamed.append(len(response.body))
    return response
http_module.fetch_streaming = counting
"""


def test_large_requests_go_through_fetch_and_the_answer_streams_into_wasm_memory(page):
    page.run_ok(STREAMED)
    try:
        text = page.text(
            "big = pd.DataFrame({'x': np.arange(2**18, dtype='float64')})\n"
            "out = enrich(big, factor=3)\n"
            "float(out.y.sum()) == 3 * float(big.x.sum()), len(out), len(streamed)"
        )
        assert text == "(True, 262144, 1)"
        assert int(page.text("streamed[0]")) > 2**21, "the 2 MiB answer came through fetch"
        assert page.text("add(1, 2)") == "3" and page.text("len(streamed)") == "1", (
            "small requests keep synchronous XHR"
        )
    finally:
        page.run_ok("http_module.fetch_streaming = _fetch_streaming")


PIECES = """
import bento_wasm.browser.http as http_module
from bento_wasm.environment import interface
_join, _start = interface.Pieces.join, http_module._start
def refuse(self):
    raise AssertionError("the request's envelope was joined in wasm memory")
bodies = []
def start(url, method, headers, body, signal):
    bodies.append(type(body).__name__)
    return _start(url, method, headers, body, signal)
interface.Pieces.join, http_module._start = refuse, start
"""


def test_a_large_request_leaves_as_its_pieces_and_a_large_answer_arrives_whole(page):
    page.run_ok(PIECES)
    try:
        text = page.text(
            "import numpy as np\n"
            "big = pd.DataFrame({'x': np.random.default_rng(5).random(3 * 2**20 // 2)})\n"
            "out = enrich(big, factor=2)\n"  # 12 MiB back to the worker, many chunks
            "(bool((out.y == 2 * big.x).all()), bool((out.x == big.x).all()), len(out))"
        )
        assert text == "(True, True, 1572864)"
        assert page.text("bodies") == "['Pieces']"
    finally:
        page.run_ok("interface.Pieces.join, http_module._start = _join, _start")
    assert page.text("len(enrich(big.head(3)))") == "3"


def test_a_streamed_answer_over_the_budget_is_refused_before_it_is_copied(page):
    page.run_ok(
        "@remote\ndef grow(data, n):\n    import numpy as np\n    return np.zeros(n, 'uint8')\n"
        "import pyodide_js, numpy as np\nfrom bento_wasm.memory.budget import active\n"
        "sent = np.ones(2**18)\n"
        "def heap():\n    return pyodide_js._module.HEAP8.length"
    )
    in_use = int(page.text("active().snapshot(exact=True).in_use"))
    page.run_ok(f"%memory --budget {in_use // 2**20 + 32}MiB")  # 32 MiB free
    try:
        before = int(page.text("heap()"))
        [error] = page.errors("big = grow(sent, 64 * 2**20)")
        after = int(page.text("heap()"))
        assert error["ename"] == "MemoryBudgetExceeded", error
        assert "the executor's answer" in error["evalue"] and "64.0 MiB" in error["evalue"]
        assert after - before < 16 * 2**20, "the answer was copied into wasm memory"
        assert page.text("len(grow(sent, 1024))") == "1024", "what fits is still admitted"
    finally:
        page.run_ok("%memory --budget 75%")


def test_a_large_request_to_an_executor_that_is_down_says_so(page):
    page.run_ok("import bento_wasm.offload.calls as r\nsaved = r.current()\nsent = np.ones(2**18)")
    try:
        page.run_ok(f"r.connect('http://127.0.0.1:{free_port()}', 't')")
        [error] = page.errors("add(sent, 1)")
        assert error["ename"] == "ExecutorError" and "not reachable" in error["evalue"], error
    finally:
        page.run_ok("r.configure(saved)")
    assert page.text("kept") == "'browser state'"


SMALL_CALLS = """
import js
from bento_wasm.environment import current
js.performance.clearResourceTimings()
results = [add(i, 1) for i in range(3)]
current().fetch(SERVER + "/bento/config.json")  # an XHR, which resource timing does record
names = [str(e.name) for e in js.performance.getEntriesByType("resource")]
results, sum("/execute" in n for n in names), sum("/bento/config.json" in n for n in names)
"""


def test_small_calls_are_messages_on_a_websocket_not_http_requests(page, server):
    text = page.text(SMALL_CALLS.replace("SERVER", repr(server.url)))
    assert text == "([1, 2, 3], 0, 1)"
