"""bento-wasm in a plain Pyodide page (not bento's worker, no IPython): a page on its own
loopback port starts Pyodide in a Web Worker of its own, installs the wheel with micropip by
URL from the bento server (another origin, allowed by --BentoApp.page_origins) and uses the
Python API: ``bento_wasm.connect``, ``bento_wasm.sql``, ``@remote``, ``bento_wasm.upload``.
pandas and pyarrow come from Pyodide's loader when the API first needs them."""

import json
import time

import pytest

from tests.helpers import RUNTIME, BentoServer, StaticSite, chromium

pytestmark = pytest.mark.browser

WORKER = """
importScripts("/pyodide/pyodide.js");
const ready = loadPyodide({ indexURL: "/pyodide/" }).then(async (pyodide) => {
  await pyodide.loadPackage("micropip");
  return pyodide;
});
let cells = 0;
onmessage = async (event) => {
  const pyodide = await ready;
  try {
    // A file name keeps the source in linecache: @remote functions travel as source.
    const value = await pyodide.runPythonAsync(event.data, { filename: `cell${++cells}.py` });
    postMessage({ ok: true, value: String(value) });
  } catch (err) {
    postMessage({ ok: false, error: String(err.message || err) });
  }
};
"""

PAGE = """<!doctype html><meta charset="utf-8"><title>plain Pyodide</title>
<script>
const worker = new Worker("worker.js");
let pending = null;
worker.onmessage = (event) => { const done = pending; pending = null; done(event.data); };
window.run = (code) => new Promise((resolve) => { pending = resolve; worker.postMessage(code); });
</script>"""

RUN_JS = """
const done = arguments[arguments.length - 1];
window.run(arguments[0]).then(done, (err) => done({ ok: false, error: String(err) }));
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain-pyodide")
    (folder / "index.html").write_text(PAGE)
    (folder / "worker.js").write_text(WORKER)
    (folder / "pyodide").symlink_to(RUNTIME.resolve())
    demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
    with StaticSite(folder) as site, BentoServer(
        f"--BentoApp.demo_database={demo}", f"--BentoApp.page_origins={site.url}"
    ) as server, chromium() as driver:  # fmt: skip
        driver.get(site.url + "/index.html")
        wheel = f"{server.url}/bento/static/wheels/bento_wasm-0.1.0-py3-none-any.whl"
        run(driver, f"import micropip\nawait micropip.install({wheel!r})")
        yield driver, server, site


def run(driver, code):
    result = driver.execute_async_script(RUN_JS, code)
    assert result["ok"], result
    return result["value"]


def test_remote_and_the_data_api_from_a_plain_pyodide_worker(page):
    driver, server, _ = page
    run(driver, f"import bento_wasm\nbento_wasm.connect({server.url!r}, {server.token!r})")
    assert run(driver, "import sys\n'IPython' in sys.modules, 'pandas' in sys.modules") == (
        "(False, False)"
    )
    text = run(
        driver,
        "df = bento_wasm.sql('select order_id, quantity from orders where quantity >= :q "
        "order by order_id limit 10', params={'q': 3})\n"
        "import json\njson.dumps([type(df).__name__, len(df), int(df.quantity.min())])",
    )
    assert json.loads(text) == ["DataFrame", 10, 3]
    run(
        driver,
        "from bento_wasm import remote\n"
        "@remote\n"
        "def enrich(frame):\n"
        "    import sys\n"
        "    return frame.assign(ran_on=sys.platform, double=frame.quantity * 2)",
    )
    out = run(
        driver, "out = enrich(df)\njson.dumps([list(out.ran_on.unique()), int(out.double.min())])"
    )
    assert json.loads(out) == [["linux"], 6]
    job = json.loads(
        run(driver, "json.dumps(bento_wasm.upload(out, 'plain_copy', mode='replace'))")
    )
    assert job["state"] in ("queued", "running", "done"), job
    state = job["state"]
    deadline = time.monotonic() + 60
    while state != "done" and time.monotonic() < deadline:
        state = json.loads(run(driver, f"json.dumps(bento_wasm.upload_status({job['id']!r}))"))[
            "state"
        ]
        assert state not in ("failed", "cancelled"), state
        time.sleep(0.3)
    assert state == "done"
    back = run(driver, "int(bento_wasm.sql('select count(*) as n from plain_copy').n[0])")
    assert back == "10"


def test_plain_page_errors_say_what_to_do(page):
    driver, server, site = page
    run(driver, f"import bento_wasm\nbento_wasm.connect({server.url!r}, {server.token!r})")
    message = run(
        driver,
        "try:\n    bento_wasm.sql('selec 1')\nexcept bento_wasm.BentoError as e:\n"
        "    r = type(e).__name__ + ': ' + e.message\nr",
    )
    assert message.startswith("WarehouseError") and "selec" in message
    run(driver, f"bento_wasm.connect({server.url!r}, 'wrong-token')")
    message = run(
        driver,
        "try:\n    bento_wasm.sql('select 1')\nexcept bento_wasm.BentoError as e:\n"
        "    r = type(e).__name__ + ': ' + e.message\nr",
    )
    assert message.startswith("ExecutorError") and "a wrong token" in message
    assert "BENTO_EXECUTOR_TOKEN" in message
    # An executor URL that is not a bento server (the page's own static server) says so.
    run(driver, f"bento_wasm.connect({site.url!r}, 'any')")
    run(driver, "from bento_wasm import remote\n@remote\ndef one():\n    return 1")
    for call in ("bento_wasm.sql('select 1')", "one()"):
        message = run(
            driver,
            f"try:\n    {call}\nexcept bento_wasm.BentoError as e:\n"
            "    r = type(e).__name__ + ': ' + e.message\nr",
        )
        assert message.startswith("ExecutorError"), message
        assert f"{site.url} is not a bento server" in message and "BENTO_EXECUTOR_URL" in message
