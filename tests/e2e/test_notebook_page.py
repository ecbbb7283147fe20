"""End to end: the notebook page as `./dev run` serves it, driven in headless Chromium.

The server is started the way `./dev run` starts it (``python -m bento_wasm.server --ip=127.0.0.1
--ServerApp.allow_root=True``) with the demo notebook in its root; the page opens it from the URL
the server prints (``/bento/?token=...``), runs it in both kernels, saves it and reloads it.
Screenshots go to artifacts/ (git-ignored).
"""

import http.server
import json
import shutil
import threading
import urllib.error
import urllib.request

import nbformat
import pytest

from tests.helpers import ROOT, BentoServer, NotebookPage, chromium, free_port, wait_for

pytestmark = pytest.mark.browser

DEMO = ROOT / "notebooks" / "demo.ipynb"
#: Bento features whose demo cells this test runs (a demo cell names its feature in
#: metadata.bento.needs). A feature joins when its issue has landed in main.
LANDED: set[str] = {"memory", "remote", "sql", "upload"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("root")
    (folder / "notebooks").mkdir()
    shutil.copy(DEMO, folder / "notebooks" / "demo.ipynb")
    return folder


@pytest.fixture(scope="module")
def server(root):
    with BentoServer(root_dir=root) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        driver.set_window_size(1400, 1000)
        yield driver


@pytest.fixture(scope="module")
def page(browser, server):
    return NotebookPage(browser, server)


def runnable(cell, kernel):
    bento = cell["bento"]
    return (
        cell["type"] == "code"
        and set(filter(None, [bento.get("needs")])) <= LANDED
        and kernel in bento.get("kernels", [kernel])
    )


def run_demo(page, kernel):
    """Run every demo cell this kernel can run, in order, by its run button; return the cells."""
    ran = []
    for index, cell in enumerate(page.cells()):
        if runnable(cell, kernel):
            done = page.run_cell(index)
            errors = [o for o in done["outputs"] if o["output_type"] == "error"] + [
                o  # IPython reports a UsageError on stderr, not as an error output
                for o in done["outputs"]
                if o.get("name") == "stderr" and "Error" in "".join(o["text"])
            ]
            assert not errors, (index, cell["source"], errors)
            assert done["prompt"] not in ("[ ]:", "[*]:"), done
            ran.append(index)
    return ran, page.cells()


def check_sql_chart_and_upload(page, cells):
    """The demo's warehouse cells: a table from %%sql, its chart, an upload whose status updates."""
    if "sql" in LANDED:
        revenue = find(cells, "%%sql -o revenue")
        assert not [o for o in revenue["outputs"] if o["output_type"] == "error"], revenue
        [shown] = [c for c in cells if c["source"] == "revenue"]
        assert "<table" in shown["html"] and "books" in shown["text"], shown
        chart = find(cells, "revenue.plot.bar")
        assert any("image/png" in o.get("data", {}) for o in chart["outputs"]), chart["outputs"]
    if "upload" in LANDED:
        index = next(i for i, c in enumerate(cells) if c["source"].startswith("%dataframe"))
        wait_for(
            lambda: ": done" in page.cells()[index]["text"],
            60,
            "the upload job",
            lambda: f"{page.cells()[index]}\n{page.problems()}",
        )
        assert len(page.cells()[index]["outputs"]) == 1  # one display, updated in place
        check = page.run_cell(
            page.add_cell("%%sql -o check\nSELECT count(*) AS n FROM demo_sample")
        )
        assert "check: 1 rows x 1 columns" in check["text"], check
        assert page.run_cell(page.add_cell("int(check.n[0])"))["text"].strip() == "5"


def check_remote(cells):
    """The demo's offload cells: a @remote call and a %%remote cell, each with its badge."""
    if "remote" in LANDED:
        heavy = find(cells, "def heavy")
        assert "'ran_on': 'linux'" in heavy["text"]
        assert heavy["badges"] == "remote" and "[remote] heavy() runs" in heavy["text"], heavy
        remote_cell = find(cells, "%%remote")
        assert "this cell ran on linux" in remote_cell["text"]
        assert remote_cell["badges"] == "remote"
        [cubes] = [c for c in cells if c["source"] == "cubes"]
        assert "<table" in cubes["html"] and "cube" in cubes["text"]


def find(cells, snippet):
    [cell] = [c for c in cells if c["type"] == "code" and snippet in c["source"]]
    return cell


def test_page_shows_start_up_progress_and_a_plain_cell_runs_before_pandas(page):
    page.open("serverless")
    history = page.driver.execute_script("return window.bento.status.history.map((s) => s.state)")
    assert history[:4] == ["starting", "loading_runtime", "installing", "idle"], history
    cells = page.cells()
    assert cells[0]["type"] == "markdown" and "demo" in cells[0]["source"]
    heading = page.driver.execute_script(
        "return document.querySelector('.rendered h1').textContent"
    )
    assert heading == "bento-wasm demo"
    plain = page.run_cell(1)
    assert "on emscripten" in plain["text"] and plain["prompt"] == "[1]:"
    preload = page.driver.execute_script("return document.getElementById('preload').textContent")
    assert preload.startswith("loading pandas, pyarrow in the background"), preload


def test_demo_runs_in_the_serverless_kernel(page):
    if not page.driver.execute_script("return !!(window.bento && window.bento.ready)"):
        page.open("serverless")  # selected alone: the previous test opened the page
    ran, cells = run_demo(page, "serverless")
    assert len(ran) >= 3
    table = find(cells, "sample = pd.DataFrame")
    assert "<table" in table["html"] and "square" in table["text"]
    live = find(cells, "progress.update")
    assert len(live["outputs"]) == 1 and "'step 5 of 5'" in live["text"]
    check_sql_chart_and_upload(page, cells)
    if "memory" in LANDED:
        summary = find(cells, "%memory")
        assert summary["outputs"] and "budget" in summary["text"], summary
        meter = page.driver.execute_script(
            "const m = document.getElementById('memory-meter'); return [m.hidden, m.innerText]"
        )
        assert meter[0] is False and meter[1].startswith("memory ") and " of " in meter[1], meter
    check_remote(cells)
    page.driver.execute_script("window.scrollTo(0, 0)")
    page.screenshot("notebook.png")


def test_save_writes_nbformat_4_and_reload_shows_the_outputs(page, root, server):
    page.click("save")
    wait_for(lambda: "Saved notebooks/demo.ipynb" in page.banner(), 10, "save", page.problems)
    saved = nbformat.read(root / "notebooks" / "demo.ipynb", as_version=4)
    nbformat.validate(saved)
    by_source = {"".join(c.source): c for c in saved.cells}
    table = next(c for s, c in by_source.items() if "sample = pd.DataFrame" in s)
    assert "text/html" in table.outputs[0]["data"] and table.execution_count
    live = next(c for s, c in by_source.items() if "progress.update" in s)
    assert [o["data"]["text/plain"] for o in live.outputs] == ["'step 5 of 5'"]
    assert "transient" not in json.dumps(saved), "display ids must not be saved (nbformat)"

    page.open("none", path="notebooks/demo.ipynb")  # a reload, without booting a kernel
    cells = page.cells()
    reloaded = find(cells, "sample = pd.DataFrame")
    assert find(cells, "def heavy")["badges"] == "remote", "badges come back with the outputs"
    assert "<table" in reloaded["html"] and reloaded["prompt"] == f"[{table.execution_count}]:"
    assert page.driver.execute_script("return window.bento.notebook.dirty") is False
    log = server.log.read_text(errors="replace")
    before, saved_line, after_save = log.rpartition("Saving file at /notebooks/demo.ipynb")
    assert saved_line and "is not trusted" in before, "the demo file starts untrusted"
    assert "is not trusted" not in after_save, "cells the user ran are trusted: the save signs"


def test_demo_runs_in_the_server_kernel_with_the_same_page(page):
    page.open("none", path="notebooks/demo.ipynb")
    page.choose_kernel("server")
    assert "kernel=server" in page.driver.current_url
    ran, cells = run_demo(page, "server")
    assert len(ran) >= 3
    plain = find(cells, "platform.python_version()")
    assert "on linux" in plain["text"]  # CPython on the host, not the browser
    assert "<table" in find(cells, "sample = pd.DataFrame")["html"]
    live = find(cells, "progress.update")
    assert len(live["outputs"]) == 1 and "'step 5 of 5'" in live["text"]
    check_sql_chart_and_upload(page, cells)
    check_remote(cells)
    if "memory" in LANDED:  # the kernel process's memory, from %load_ext bento_wasm
        summary = find(cells, "%memory")
        assert "budget" in summary["text"] and "resident" in summary["text"], summary
    hidden = page.driver.execute_script("return document.getElementById('memory-meter').hidden")
    assert hidden is True  # the meter is the browser kernel's; the server kernel has none
    page.driver.execute_script(  # the remote cells and their badges in the screenshot
        "window.bento.notebook.cells.find((c) => c.source.includes('def heavy')).node"
        ".scrollIntoView(); window.scrollBy(0, -90)"
    )
    page.screenshot("notebook-server.png")


def test_interrupt_reaches_the_server_kernel(page):
    assert page.driver.execute_script("return window.bento.kind") == "server"
    page.run_cell(page.add_cell("kept = 'still here'"))
    index = page.add_cell("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
    after = page.add_cell("print('queued after the interrupt')")
    page.queue(index, after)
    # SIGINT to a kernel that has not begun the cell yet would be lost: wait for its output
    wait_for(lambda: "sleeping" in page.cells()[index]["text"], 30, "the cell to begin")
    page.click("interrupt")
    page.wait_done(30)
    cells = page.cells()
    assert [o["ename"] for o in cells[index]["outputs"] if o["output_type"] == "error"] == [
        "KeyboardInterrupt"
    ]
    assert cells[after]["outputs"] == []  # dropped from the queue, not run
    assert "'still here'" in page.run_cell(page.add_cell("kept"))["text"]


def test_interrupt_and_error_in_the_serverless_kernel(page):
    page.open("serverless", path="notebooks/scratch.ipynb")
    assert "does not exist yet" in page.banner()
    page.driver.execute_script("window.bento.notebook.cells[0].source = 'kept = 41'")
    failing = page.add_cell("1 / 0")
    skipped = page.add_cell("kept += 100")
    page.click("run-all")
    page.wait_done(30)
    cells = page.cells()
    assert cells[0]["prompt"] == "[1]:"
    assert "ZeroDivisionError: division by zero" in cells[failing]["text"]
    assert cells[skipped]["outputs"] == [] and cells[skipped]["prompt"] == "[ ]:"  # run all stopped
    index = page.add_cell("while True:\n    pass")
    after = page.add_cell("kept += 1")
    page.queue(index, after)
    page.wait_running(index)  # interrupted at once: while the worker may still load packages
    page.click("interrupt")
    page.wait_done(30)
    cells = page.cells()
    errors = [o for o in cells[index]["outputs"] if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["KeyboardInterrupt"]
    assert "out-error" in cells[index]["html"]
    assert cells[after]["outputs"] == []
    page.click("interrupt")  # while idle: not kept for the next cell
    assert "41" in page.run_cell(page.add_cell("kept"))["text"]


class _StripIsolation(http.server.BaseHTTPRequestHandler):
    """A reverse proxy to the bento server that drops COOP/COEP: the page is not isolated."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        request = urllib.request.Request(
            self.upstream + self.path, data=body, headers=headers, method=self.command
        )
        try:
            response = urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        payload = response.read()
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("transfer-encoding", "connection", "content-length") and not (
                name.lower().startswith("cross-origin-")
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_HEAD = _forward

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def not_isolated(server):
    handler = type("Proxy", (_StripIsolation,), {"upstream": server.url})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_without_isolation_interrupt_offers_a_restart_that_says_what_is_lost(page, not_isolated):
    page.open("serverless", path="notebooks/scratch.ipynb", base=not_isolated)
    assert page.driver.execute_script("return crossOriginIsolated") is False
    page.driver.execute_script("window.bento.notebook.cells[0].source = 'kept = 1'")
    page.run_cell(0)
    index = page.add_cell("while True:\n    pass")
    page.queue(index)
    page.wait_running(index)
    page.click("interrupt")
    offer = page.banner()
    assert "not cross-origin isolated" in offer and "every variable" in offer, offer
    page.screenshot("notebook-restart-offer.png")
    page.driver.find_element("xpath", "//div[@id='banner']/button[text()='Restart kernel']").click()
    page.wait_done(30)
    assert "restarted" in page.cells()[index]["text"]
    page.wait_state("idle", 90)
    fresh = page.driver.execute_script(
        "return window.bento.notebook.kernel.execute('kept').then((r) => r.outputs)"
    )
    assert [o["ename"] for o in fresh if o["type"] == "error"] == ["NameError"]
