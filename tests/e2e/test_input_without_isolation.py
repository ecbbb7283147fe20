"""input() and getpass() in a page that is not cross-origin isolated, through the bento server.

The page is a plain static site on another loopback port (no COOP/COEP headers, so no
SharedArrayBuffer) that serves BentoKernel, the worker and the runtime itself; its kernel's
``stdin`` option names a real bento server started with ``--BentoApp.page_origins`` set to
that site. The worker waits in a long poll of /bento/api/stdin (bento_wasm/server/stdinapi.py),
the page answers with kernel.sendInput and interrupts with kernel.interrupt. Without a server
the same page gets a clear StdinNotImplementedError. The stdin endpoint's own refusals (bad
wait, bad bodies, which lose nothing) are checked over plain HTTP.
"""

import json
import urllib.error
import urllib.request

import pytest

from tests.helpers import ROOT, RUNTIME, BentoServer, StaticSite, chromium, wait_for, wheel_path

pytestmark = pytest.mark.browser

START_JS = """
const [site, stdin] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import(site + "/kernel/kernel.js");
  const kernel = new BentoKernel({
    indexURL: site + "/pyodide/", wheelURL: site + "/wheels/" + arguments[2], preload: [],
    ...(stdin ? { stdin } : {}),
  });
  window.kernel = kernel;
  window.bento_log = [];
  kernel.addEventListener("output", (e) => window.bento_log.push(e.detail));
  await kernel.start();
  return { ok: true, isolated: globalThis.crossOriginIsolated, shared: typeof SharedArrayBuffer };
})().then(done, (err) => done({ ok: false, message: err.message }));
"""

# Start a cell without waiting for it: its outcome lands in window.cell_result.
SUBMIT_JS = """
window.cell_result = null;
window.kernel.execute(arguments[0]).then(
  (r) => { window.cell_result = { ok: true, reply: r.reply, outputs: r.outputs }; },
  (err) => { window.cell_result = { ok: false, message: err.message }; });
"""

CALL_JS = """
const [method, value] = arguments;
const done = arguments[arguments.length - 1];
Promise.resolve().then(() => window.kernel[method](value)).then(
  (r) => done({ ok: true, value: r }), (err) => done({ ok: false, message: err.message }));
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A plain static site: the kernel's JS and protocol.json, the runtime, the wheel."""
    folder = tmp_path_factory.mktemp("plain-site")
    (folder / "index.html").write_text("<!doctype html><title>a page of the user's own</title>")
    kernel = folder / "kernel"
    kernel.mkdir()
    for script in (ROOT / "worker_js" / "kernel").glob("*.js"):
        (kernel / script.name).symlink_to(script)
    (kernel / "protocol.json").symlink_to(ROOT / "bento_wasm" / "protocol.json")
    (folder / "pyodide").symlink_to(RUNTIME)
    (folder / "wheels").mkdir()
    wheel = wheel_path()
    (folder / "wheels" / wheel.name).symlink_to(wheel)
    with StaticSite(folder) as running:
        running.wheel = wheel.name
        yield running


@pytest.fixture(scope="module")
def server(site, tmp_path_factory):
    demo = tmp_path_factory.mktemp("stdin-demo") / "demo.duckdb"
    with BentoServer(
        f"--BentoApp.demo_database={demo}", f"--BentoApp.page_origins={site.url}", token="stdin"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def driver():
    with chromium() as running:
        yield running


def start(driver, site, stdin):
    driver.get(site.url + "/index.html")
    started = driver.execute_async_script(START_JS, site.url, stdin, site.wheel)
    assert started["ok"], started
    # The page is not isolated: without the server path there would be no way to answer.
    assert started["isolated"] is False and started["shared"] == "undefined", started
    return started


def submit(driver, code):
    driver.execute_script(SUBMIT_JS, code)


def wait_prompt(driver, count):
    """Wait until the page has seen ``count`` input_request messages; the last one."""

    def asked():
        log = driver.execute_script("return window.bento_log")
        requests = [m for m in log if m["type"] == "input_request"]
        return requests[count - 1] if len(requests) >= count else None

    return wait_for(asked, 120, f"input_request #{count}", lambda: str(cell_result(driver)))


def cell_result(driver):
    return driver.execute_script("return window.cell_result")


def wait_result(driver):
    return wait_for(lambda: cell_result(driver), 120, "the cell to end")


def call(driver, method, value=None):
    return driver.execute_async_script(CALL_JS, method, value)


def stdout(result):
    return "".join(m["text"] for m in result["outputs"] if m["type"] == "stream")


def test_input_getpass_and_interrupt_through_the_server(driver, site, server):
    start(driver, site, {"url": server.url, "token": server.token})
    submit(
        driver,
        "name = input('Your name? ')\nprint('hello', name)\n"
        "from getpass import getpass\nsecret = getpass('Token: ')\nlen(secret)",
    )
    first = wait_prompt(driver, 1)
    assert (first["prompt"], first["password"]) == ("Your name? ", False)
    assert first["request"], "the prompt names its wait on the server"
    assert call(driver, "sendInput", "Ada") == {"ok": True, "value": True}
    second = wait_prompt(driver, 2)
    assert (second["prompt"], second["password"]) == ("Token: ", True)
    assert second["request"] != first["request"]
    assert call(driver, "sendInput", "s3cret!")["ok"]
    result = wait_result(driver)
    assert result["ok"] and result["reply"]["status"] == "ok", result
    assert "hello Ada" in stdout(result), result["outputs"]
    [value] = [m for m in result["outputs"] if m["type"] == "execute_result"]
    assert value["data"]["text/plain"] == "7"

    # Interrupt while input() waits: KeyboardInterrupt, and the kernel runs the next cell.
    submit(driver, "answer = input('Waiting: ')")
    wait_prompt(driver, 3)
    assert call(driver, "interrupt")["value"] is True, "the interrupt can reach the waiting input()"
    result = wait_result(driver)
    assert result["reply"]["status"] == "error", result
    [error] = [m for m in result["outputs"] if m["type"] == "error"]
    assert error["ename"] == "KeyboardInterrupt", error
    submit(driver, "print(name, 'answer' in dir())")
    result = wait_result(driver)
    assert result["reply"]["status"] == "ok" and stdout(result) == "Ada False\n", result
    # Nothing waits any more: an interrupt now is refused as before (no isolation).
    assert call(driver, "interrupt")["value"] is False


def test_without_a_server_input_says_what_to_do(driver, site):
    start(driver, site, None)
    submit(driver, "input('name? ')")
    result = wait_result(driver)
    [error] = [m for m in result["outputs"] if m["type"] == "error"]
    assert error["ename"] == "StdinNotImplementedError", error
    for advice in ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy", "stdin: {url"):
        assert advice in error["evalue"], error["evalue"]
    assert not [m for m in result["outputs"] if m["type"] == "input_request"], "no dead prompt"
    submit(driver, "1 + 1")
    assert wait_result(driver)["reply"]["status"] == "ok"


def test_a_server_that_refuses_the_page_names_the_option_to_set(driver, site, tmp_path):
    with BentoServer(f"--BentoApp.demo_database={tmp_path / 'demo.duckdb'}") as refusing:
        start(driver, site, {"url": refusing.url, "token": refusing.token})
        submit(driver, "input('name? ')")
        result = wait_result(driver)
    [error] = [m for m in result["outputs"] if m["type"] == "error"]
    assert error["ename"] == "NetworkError", error
    assert f"--BentoApp.page_origins={site.url}" in error["evalue"], error["evalue"]


def api(server, method, path, body=None):
    headers = {"Authorization": f"token {server.token}", "Content-Type": "application/json"}
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_stdin_endpoint_refuses_bad_input_and_loses_nothing(server):
    wait = "/bento/api/stdin/s1/cell-1.1"
    assert api(server, "GET", wait + "?wait=0") == (200, {"state": "waiting"})
    for bad in ("abc", "-1", "3600"):
        status, answer = api(server, "GET", f"{wait}?wait={bad}")
        assert status == 400 and answer["error"]["ename"] == "ConfigError", answer
        assert "leave it out" in answer["message"]
    for body in ({"value": 3}, {"answer": "x"}, {"value": "x", "interrupt": True}, [1], b"{"):
        status, answer = api(server, "POST", wait, body)
        assert status == 400, (body, status, answer)
        assert "still waits" in answer["message"] or "JSON" in answer["message"], answer
    assert api(server, "GET", wait + "?wait=0") == (200, {"state": "waiting"}), "nothing landed"
    assert api(server, "POST", wait, {"value": "é ok"}) == (200, {"delivered": True})
    assert api(server, "POST", wait, {"interrupt": True}) == (200, {"delivered": False})
    assert api(server, "GET", wait + "?wait=5") == (200, {"state": "answer", "value": "é ok"})
    other = "/bento/api/stdin/s1/cell-1.2"
    assert api(server, "POST", other, {"interrupt": True}) == (200, {"delivered": True})
    assert api(server, "GET", other) == (200, {"state": "interrupted"})
    status, answer = api(server, "POST", other, b"x" * (2 << 20))
    assert status == 413 and answer["error"]["ename"] == "PayloadTooLarge", answer
