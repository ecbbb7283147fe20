"""End to end: the page from the bento server runs cells in the worker, in headless Chromium."""

import functools
import http.server
import threading
import time

import pytest

from tests.helpers import (
    ROOT,
    RUNTIME,
    BentoServer,
    PageKernel,
    chromium,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with BentoServer() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def page(browser, server):
    kernel = PageKernel(browser, server)
    started = kernel.start()
    assert started["ok"], started
    return kernel


def log(page, event=None):
    entries = page.driver.execute_script("return window.bento_log")
    return [e for e in entries if event is None or e["event"] == event]


def test_plain_cell_runs_before_pandas_is_loaded(page):
    outputs = page.run_ok("print('hello')\n6 * 7")
    assert [o["type"] for o in outputs] == ["stream", "execute_result"]
    assert outputs[0]["text"] == "hello\n" and outputs[1]["data"]["text/plain"] == "42"
    preloaded = [e for e in log(page, "status") if e["detail"].startswith("preloaded")]
    assert preloaded == [], "the first plain cell waited for the pandas preload"


def test_the_page_is_cross_origin_isolated_and_offline(page):
    assert page.driver.execute_script("return crossOriginIsolated") is True
    outputs = page.run_ok("import sys\nsys.platform")
    assert outputs[0]["data"]["text/plain"] == "'emscripten'"


def test_namespace_persists_and_errors_show_the_traceback(page):
    page.run_ok("total = 40")
    result = page.execute("def boom():\n    raise ValueError('bad value')\nboom()")
    assert result["reply"]["status"] == "error"
    [error] = [o for o in result["outputs"] if o["type"] == "error"]
    assert error["ename"] == "ValueError" and error["evalue"] == "bad value"
    text = "\n".join(error["traceback"])
    assert "raise ValueError('bad value')" in text and "<cell" in text
    assert page.text("total + 2") == "42"


def test_pandas_dataframe_renders_as_html(page):
    outputs = page.run_ok("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})")
    data = outputs[-1]["data"]
    assert "<table" in data["text/html"] and "a" in data["text/plain"]


def test_matplotlib_figure_is_a_png(page):
    outputs = page.run_ok("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t');")
    pngs = [o for o in outputs if o["type"] == "display_data" and "image/png" in o["data"]]
    assert len(pngs) == 1 and len(pngs[0]["data"]["image/png"]) > 1000


def test_display_updates_in_place(page):
    outputs = page.run_ok("h = display('queued', display_id=True)\nh.update('done')")
    first, second = outputs
    assert (first["update"], second["update"]) == (False, True)
    assert first["display_id"] == second["display_id"]
    assert second["data"]["text/plain"] == "'done'"


def test_interrupt_stops_a_running_cell_and_keeps_the_kernel(page):
    page.run_ok("kept = 'still here'")
    page.driver.execute_script(
        "window.pending = window.kernel.execute(arguments[0]);"
        "window.pending.then((r) => { window.interrupted = r; });",
        "print('looping', flush=True)\nwhile True:\n    pass",
    )
    wait_for(
        lambda: any(e.get("text") == "looping\n" for e in log(page, "output")),
        30,
        "the looping cell to start",
    )
    assert page.driver.execute_script("return window.kernel.interrupt()") is True
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not page.driver.execute_script(
        "return window.interrupted"
    ):
        time.sleep(0.1)
    result = page.driver.execute_script("return window.interrupted")
    assert result["reply"]["status"] == "error"
    assert [o["ename"] for o in result["outputs"] if o["type"] == "error"] == ["KeyboardInterrupt"]
    assert page.text("kept") == "'still here'"


def test_restart_gives_a_fresh_namespace(browser, server):
    kernel = PageKernel(browser, server)
    assert kernel.start()["ok"]
    kernel.run_ok("gone = 1")
    restarted = browser.execute_async_script(
        "const done = arguments[0];"
        "window.kernel.restart().then(() => done(true), (e) => done(e.message));"
    )
    assert restarted is True
    result = kernel.execute("gone")
    assert [o["ename"] for o in result["outputs"] if o["type"] == "error"] == ["NameError"]


STDLIB_PROBE = """
import asyncio, json, traceback
try:
    json.loads("{")
except ValueError:
    text = traceback.format_exc()
print(asyncio.__file__, "obj, end = self.scan_once(s, idx)" in text)
"""


def test_the_kernel_starts_from_the_compiled_standard_library(page, server):
    """The server offers the runtime's compiled zip (bento_wasm/runtime/stdlib.py); Pyodide
    loads the standard library's bytecode from it, and tracebacks still show its source."""
    assert server.config()["stdLibURL"].endswith("/python_stdlib.compiled.zip")
    [printed] = page.run_ok(STDLIB_PROBE)
    assert printed["text"] == "/lib/python312.zip/asyncio/__init__.pyc True\n"


def test_without_a_compiled_standard_library_the_official_zip_is_loaded(browser, server):
    kernel = PageKernel(browser, server)
    assert kernel.start(stdLibURL="")["ok"]
    [printed] = kernel.run_ok(STDLIB_PROBE)
    assert printed["text"] == "/lib/python312.zip/asyncio/__init__.py True\n"


def test_a_missing_compiled_standard_library_is_named(browser, server):
    kernel = PageKernel(browser, server)
    missing = "/bento/static/pyodide/python_stdlib.gone.zip"
    result = kernel.start(stdLibURL=missing, bootTimeoutMs=15000)
    assert result["ok"] is False and result["phase"] == "preflight"
    assert missing in result["message"] and "404" in result["message"]


class _WrongMimeHandler(http.server.SimpleHTTPRequestHandler):
    """A misconfigured static host: .wasm as octet-stream (Pyodide would hang)."""

    extensions_map = {  # noqa: RUF012 - the base class's own attribute
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/octet-stream",
        ".js": "text/javascript",
    }

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def misconfigured_host(tmp_path_factory):
    """A plain static server with the worker, the runtime and the wheel, wasm MIME wrong."""
    root = tmp_path_factory.mktemp("host")
    (root / "kernel").symlink_to(ROOT / "worker_js" / "kernel")
    (root / "page").symlink_to(ROOT / "worker_js" / "page")
    (root / "pyodide").symlink_to(RUNTIME)
    (root / "wheels").symlink_to(ROOT / "wheels")
    (root / "protocol.json").symlink_to(ROOT / "bento_wasm" / "protocol.json")
    handler = functools.partial(_WrongMimeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


START_WITH_OPTIONS_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import(arguments[0] + "/kernel/kernel.js");
  const kernel = new BentoKernel(arguments[1]);
  const t0 = performance.now();
  try { await kernel.start(); return {ok: true}; }
  catch (err) { return {ok: false, message: err.message, phase: err.phase, hint: err.hint,
                        seconds: (performance.now() - t0) / 1000}; }
})().then(done);
"""


def start_with(browser, host, **overrides):
    browser.get(host + "/page/index.html")
    wheel = next((ROOT / "wheels").glob("bento_wasm-*.whl")).name
    options = {
        "indexURL": host + "/pyodide/",
        "wheelURL": f"{host}/wheels/{wheel}",
        "protocolURL": host + "/protocol.json",
        "workerURL": host + "/kernel/worker.js",
        "bootTimeoutMs": 15000,
        "preload": [],
    }
    options.update(overrides)
    return browser.execute_async_script(START_WITH_OPTIONS_JS, host, options)


def test_wrong_wasm_mime_is_a_clear_error_not_a_hang(browser, misconfigured_host):
    result = start_with(browser, misconfigured_host)
    assert result["ok"] is False
    assert "application/wasm" in result["message"] and "pyodide.asm.wasm" in result["message"]
    assert result["phase"] == "preflight" and "application/wasm" in result["hint"]
    assert result["seconds"] < 5


def test_missing_wheel_is_named(browser, server):
    browser.get(server.url + "/bento/?kernel=none")
    config = server.config()
    config["wheelURL"] = config["wheelURL"].replace("bento_wasm-", "bento_wasm-9.9.9-missing-")
    result = browser.execute_async_script(
        START_WITH_OPTIONS_JS,
        server.url + "/bento/static",
        {
            **{k: server.url + v for k, v in config.items() if k.endswith("URL")},
            "preload": [],
            "bootTimeoutMs": 15000,
        },
    )
    assert result["ok"] is False
    assert "bento_wasm-9.9.9-missing-" in result["message"] and "404" in result["message"]


def test_missing_worker_script_is_reported(browser, server):
    browser.get(server.url + "/bento/?kernel=none")
    config = {k: server.url + v for k, v in server.config().items() if k.endswith("URL")}
    config["workerURL"] = server.url + "/bento/static/kernel/no-such-worker.js"
    result = browser.execute_async_script(
        START_WITH_OPTIONS_JS, server.url + "/bento/static", {**config, "bootTimeoutMs": 15000}
    )
    assert result["ok"] is False and result["phase"] == "worker"
    assert result["seconds"] < 5


def test_server_serves_wasm_with_its_mime_type(server):
    import urllib.request

    request = urllib.request.Request(
        server.url + "/bento/static/pyodide/pyodide.asm.wasm", method="HEAD"
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/wasm"
        assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_fatal_pyodide_error_is_reported_not_a_hang(browser, server):
    kernel = PageKernel(browser, server)
    assert kernel.start()["ok"]
    started = time.monotonic()
    result = kernel.execute(
        "import pyodide_js\npyodide_js._api.fatal_error(RuntimeError('simulated crash'))"
    )
    assert result["ok"] is False and result["phase"] == "running"
    assert "fatal error" in result["message"] and "simulated crash" in result["message"]
    assert time.monotonic() - started < 10
    fatal = [e for e in browser.execute_script("return window.bento_log") if e["event"] == "fatal"]
    assert "Restart the kernel" in fatal[0]["hint"]
    restarted = browser.execute_async_script(
        "const done = arguments[0];"
        "window.kernel.restart().then(() => done(true), (e) => done(e.message));"
    )
    assert restarted is True
    assert kernel.text("40 + 2") == "42"
