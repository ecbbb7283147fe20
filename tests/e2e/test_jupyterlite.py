"""bento-wasm in a real JupyterLite: a site built with jupyterlite-core and
jupyterlite-pyodide-kernel on the local runtime (tests/jupyterlite_site.py), served on its own
loopback port, the browser cut off from every host but loopback. In JupyterLite's own kernel
(its Pyodide worker, IPython): the wheel installed with micropip by URL from the bento
server, ``%load_ext bento_wasm``, then the demo notebook's cells against that server (another
origin, allowed with --BentoApp.page_origins): SQL, chart, upload with live status, @remote,
%%remote, %memory. pandas and pyarrow are loaded by bento through Pyodide's loader."""

import json

import pytest

from tests.helpers import ROOT, BentoServer, StaticSite, chromium, wait_for
from tests.jupyterlite_site import build

pytestmark = pytest.mark.browser

START_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  for (let i = 0; i < 1200 && !(window.jupyterapp && window.jupyterapp.serviceManager); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const manager = window.jupyterapp.serviceManager;
  await manager.ready;
  const session = await manager.sessions.startNew(
    { path: "bento.ipynb", name: "bento.ipynb", type: "notebook", kernel: { name: "python" } });
  const kernel = session.kernel;
  window.lite = { kernel, iopub: [] };
  kernel.iopubMessage.connect((_, msg) =>
    window.lite.iopub.push({ type: msg.header.msg_type, content: msg.content }));
  return { ok: true, name: kernel.name };
})().then(done, (err) => done({ ok: false, message: String(err && err.stack || err) }));
"""

EXECUTE_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const outputs = [];
  const future = window.lite.kernel.requestExecute({ code: arguments[0] });
  future.onIOPub = (msg) => {
    const type = msg.header.msg_type;
    if (["stream", "execute_result", "display_data", "update_display_data", "error"]
        .includes(type)) outputs.push({ type, ...msg.content });
  };
  const reply = await future.done;
  return { status: reply.content.status, outputs };
})().then(done, (err) => done({ status: "js-error", message: String(err) }));
"""


def demo_cells():
    notebook = json.loads((ROOT / "notebooks" / "demo.ipynb").read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    site_folder = build()
    demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
    with StaticSite(site_folder) as site, BentoServer(
        f"--BentoApp.demo_database={demo}",
        f"--BentoApp.page_origins={site.url}",
        "--BentoApp.upload_throttle_s=0.05",
    ) as server, chromium() as driver:  # fmt: skip
        # JupyterLite's kernel syncs its files through the site's service worker; a kernel
        # started before the worker controls the page waits forever: open, wait, reload.
        driver.get(site.url + "/tree/index.html")
        wait_for(
            lambda: driver.execute_script("return !!navigator.serviceWorker.controller"),
            60,
            "JupyterLite's service worker",
        )
        driver.get(site.url + "/tree/index.html")
        started = driver.execute_async_script(START_JS)
        assert started["ok"], started
        yield Lite(driver, server, site)


class Lite:
    def __init__(self, driver, server, site):
        self.driver, self.server, self.site = driver, server, site

    def run(self, code, ok=True):
        result = self.driver.execute_async_script(EXECUTE_JS, code)
        if ok:
            assert result["status"] == "ok", result
        return result

    def text(self, code):
        parts = []
        for out in self.run(code)["outputs"]:
            if out["type"] == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
        return "".join(parts)

    def iopub(self):
        return self.driver.execute_script("return window.lite.iopub")


def test_the_demo_notebook_runs_in_jupyterlites_own_kernel(lite):
    wheel = f"{lite.server.url}/bento/static/wheels/bento_wasm-0.1.0-py3-none-any.whl"
    lite.run(f"import micropip\nawait micropip.install({wheel!r})")
    lite.run("%load_ext bento_wasm")
    # Nothing loaded pyarrow yet: bento loads it when a feature first needs it.
    assert (
        lite.text("import sys\nprint(sys.platform, 'pyarrow' in sys.modules)")
        == "emscripten False\n"
    )
    lite.run(f"%executor {lite.server.url} --token {lite.server.token}")
    cells = demo_cells()
    outputs = {}
    for code in cells:
        outputs[code] = lite.run(code)["outputs"]
    text = {code: "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                          for o in outs) for code, outs in outputs.items()}  # fmt: skip
    find = lambda start: next(c for c in cells if c.startswith(start))  # noqa: E731
    assert "on emscripten" in text[find("import platform")]
    assert "revenue: " in text[find("%%sql -o revenue")]
    assert "category" in text[find("revenue")]
    chart = outputs[find("import matplotlib")]
    assert any("image/png" in o.get("data", {}) for o in chart), chart
    assert "step 5 of 5" in json.dumps(lite.iopub())
    assert "budget" in text[find("%memory")].lower()
    assert "'ran_on': 'linux'" in text[find("from bento_wasm import remote")]
    assert "this cell ran on linux" in text[find("%%remote")]
    assert "cube" in text[find("cubes")]
    assert "demo_sample" in text[find("%dataframe")]
    wait_for(
        lambda: "demo_sample" in json.dumps(lite.iopub()) and ": done" in json.dumps(lite.iopub()),
        60,
        "the upload's live status to reach done",
        lambda: lite.server.tail(),
    )
    check = lite.text("%%sql -o check\nSELECT count(*) AS n FROM demo_sample")
    assert "check: 1 rows" in check and lite.text("int(check.n[0])") == "5"
    assert lite.text("import sys\n'pandas' in sys.modules and 'pyarrow' in sys.modules") == "True"
