"""Shared test helpers: headless Debian Chromium, the bento server on loopback, polling.

Kept out of conftest.py on purpose (STYLE.md #16): tests import these explicitly.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bento_wasm.protocol import mime_type

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime" / "pyodide"
WHEELS = ROOT / "wheels"
ARTIFACTS = ROOT / "artifacts"
#: Badge outputs (bento_wasm/badges.py): where a cell's work ran, and why.
BADGE = mime_type("badge")
CHROMIUM = os.environ.get("BENTO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SE_CHROMEDRIVER", "/usr/bin/chromedriver")

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Prove the page needs no network: every host but loopback fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wheel_path() -> Path:
    wheels = sorted(WHEELS.glob("bento_wasm-*-py3-none-any.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise FileNotFoundError("no wheel in wheels/: run ./dev wheel (./dev test does it)")
    return wheels[-1]


_NODE_PYODIDE_HOST = """
import { readFileSync } from "node:fs";
const [, , runtime, indexURL, wheelFile, codeFile, packages, stdLibURL] = process.argv;
const { loadPyodide } = await import(runtime);
const pyodide = await loadPyodide({ indexURL, ...(stdLibURL ? { stdLibURL } : {}) });
const wheel = new Uint8Array(readFileSync(wheelFile));
const site = pyodide.runPython("import site; site.getsitepackages()[0]");
pyodide.unpackArchive(wheel, "wheel", { extractDir: site });
if (packages) await pyodide.loadPackage(packages.split(","), { messageCallback: () => {} });
console.log(pyodide.runPython(readFileSync(codeFile, "utf8")));
"""


def run_in_node_pyodide(
    code: str, folder: Path, packages: tuple[str, ...] = (), std_lib: Path | None = None
) -> str:
    """Run ``code`` in real Pyodide under Node.js (Debian's; the assembled runtime, the built
    wheel unpacked into site-packages, ``packages`` loaded from the runtime first; the official
    standard library zip unless ``std_lib`` names another): the text of its last expression's
    value, which is the last line printed."""
    host, script = folder / "host.mjs", folder / "code.py"
    host.write_text(_NODE_PYODIDE_HOST)
    script.write_text(code)
    node = shutil.which("node") or "node"
    argv = [node, str(host), (RUNTIME / "pyodide.mjs").as_uri(), str(RUNTIME) + "/"]
    argv += [str(wheel_path()), str(script), ",".join(packages), str(std_lib or "")]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Selenium, with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_CHROMEDRIVER", CHROMEDRIVER)
    profile = tempfile.mkdtemp(prefix="bento-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(110)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class BentoServer:
    """``python -m bento_wasm.server`` on a free loopback port, stopped on exit."""

    def __init__(
        self, *extra: str, token: str = "bento-test-token", root_dir: Path | None = None
    ) -> None:
        self.port = free_port()
        self.token = token
        self.root_dir = root_dir or Path(tempfile.mkdtemp(prefix="bento-root-"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="bento-server-", suffix=".log")[1])

    def __enter__(self) -> BentoServer:
        command = [
            sys.executable, "-m", "bento_wasm.server",
            f"--port={self.port}", "--ip=127.0.0.1", "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            *self.extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT
        )
        # A static file, not config.json: tests see the server as kernels started before any
        # page asked for its config would see it.
        ready = self.url + "/bento/static/kernel/protocol.json"
        wait_for(lambda: _answers(ready), 30, "bento server", self.tail)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def config(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/bento/config.json") as response:
            return dict(json.load(response))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(
    condition: Callable[[], Any], timeout_s: float, what: str, detail: Callable[[], str] = str
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready within {timeout_s} s\n{detail()}")


# JavaScript run in the page: start the kernel and collect its messages in window.bento_log.
START_KERNEL_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import(arguments[0] + "/bento/static/kernel/kernel.js");
  const config = await (await fetch(arguments[0] + "/bento/config.json")).json();
  const kernel = new BentoKernel({ ...config, ...(arguments[1] || {}) });
  window.kernel = kernel;
  window.bento_log = [];
  for (const kind of ["status", "output", "fatal", "memory"]) {
    kernel.addEventListener(kind, (e) => window.bento_log.push({event: kind, ...e.detail}));
  }
  const t0 = performance.now();
  await kernel.start();
  return {ok: true, boot_s: (performance.now() - t0) / 1000};
})().then(done, (err) => done({ok: false, message: err.message, phase: err.phase, hint: err.hint}));
"""

EXECUTE_JS = """
const done = arguments[arguments.length - 1];
window.kernel.execute(arguments[0]).then(
  (r) => done({ok: true, reply: r.reply, outputs: r.outputs}),
  (err) => done({ok: false, message: err.message, phase: err.phase}));
"""


class PageKernel:
    """A BentoKernel in a real page, driven from the test through Selenium."""

    def __init__(self, driver: Any, server: BentoServer) -> None:
        self.driver = driver
        self.server = server

    def start(self, **options: Any) -> dict[str, Any]:
        """Open the page and start a kernel; ``options`` override the server's kernel config."""
        # ?kernel=none: the page starts no kernel of its own; the test starts one.
        self.driver.get(f"{self.server.url}/bento/?token={self.server.token}&kernel=none")
        result: dict[str, Any] = self.driver.execute_async_script(
            START_KERNEL_JS, self.server.url, options
        )
        return result

    def errors(self, code: str) -> list[dict[str, Any]]:
        """Execute a cell that must fail; its error messages."""
        result = self.execute(code)
        assert result["ok"], result
        assert result["reply"]["status"] == "error", result["outputs"]
        return [o for o in result["outputs"] if o["type"] == "error"]

    def execute(self, code: str) -> dict[str, Any]:
        result: dict[str, Any] = self.driver.execute_async_script(EXECUTE_JS, code)
        return result

    def run_ok(self, code: str) -> list[dict[str, Any]]:
        """Execute and assert the cell succeeded; return its outputs."""
        result = self.execute(code)
        assert result["ok"], result
        assert result["reply"]["status"] == "ok", result["outputs"]
        return list(result["outputs"])

    @staticmethod
    def badges(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The badges among a cell's outputs: their {label, why} and text line."""
        return [
            {**o["data"][BADGE], "text": o["data"]["text/plain"]}
            for o in outputs
            if BADGE in o.get("data", {})
        ]

    def text(self, code: str) -> str:
        """The plain-text result and stdout of a cell, concatenated (badge notices left out)."""
        parts = []
        for msg in self.run_ok(code):
            if msg["type"] == "stream":
                parts.append(msg["text"])
            elif "data" in msg and BADGE not in msg["data"]:
                parts.append(msg["data"].get("text/plain", ""))
        return "".join(parts)


# Arrow injection from the page (worker_js/kernel_arrow.js). Bytes travel as base64 through
# Selenium; the page decodes them into an ArrayBuffer that the kernel then transfers.
TRANSFER_JS = """
const [method, name, payload, extra] = arguments;
const done = arguments[arguments.length - 1];
const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
const encode = (buffer) => {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
};
(async () => {
  const kernel = window.kernel;
  if (method === "exportArrow") {
    const buffer = await kernel.exportArrow(name);
    return { ok: true, isArrayBuffer: buffer instanceof ArrayBuffer, b64: encode(buffer) };
  }
  if (method === "fetchArrow") {
    return { ok: true, report: await kernel.fetchArrow(name, payload, extra || {}) };
  }
  const buffer = decode(payload);
  const report = await kernel[method](name, buffer);
  return { ok: true, report, detached: buffer.byteLength === 0 };
})().then(done, (err) => done({ ok: false, ename: err.ename, message: err.message }));
"""


def transfer(page: PageKernel, method: str, name: str, payload: Any = "", extra: Any = None) -> Any:
    """Call ``kernel.<method>`` in the page: injectArrow/injectBytes (payload: bytes),
    fetchArrow (payload: URL, extra: init) or exportArrow (returns the bytes in "data")."""
    import base64

    if isinstance(payload, bytes | bytearray | memoryview):
        payload = base64.b64encode(bytes(payload)).decode()
    result: dict[str, Any] = page.driver.execute_async_script(
        TRANSFER_JS, method, name, payload, extra
    )
    if result.get("b64") is not None:
        result["data"] = base64.b64decode(result.pop("b64"))
    return result


class DataServer:
    """Byte payloads on loopback for fetch tests, readable from any origin (CORS).

    ``/<name>`` answers with Content-Length; ``/<name>?chunked`` streams it in 64 KiB chunks
    without a length; ``/<name>?cut=N`` announces the full length, sends N bytes and hangs up.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.httpd: Any = None

    def __enter__(self) -> DataServer:
        import http.server
        import threading

        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                body = files.get(path.lstrip("/"))
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.send_header("Access-Control-Allow-Origin", "*")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.apache.arrow.stream")
                self.send_header("Access-Control-Allow-Origin", "*")
                if query == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(body), 65536):
                        piece = body[start : start + 65536]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if query.startswith("cut="):
                    self.wfile.write(body[: int(query[4:])])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class NotebookPage:
    """The notebook page (/bento/) driven like a person would: buttons, the kernel menu, Save.

    Reads state through ``window.bento`` (the page object) and the DOM.
    """

    def __init__(self, driver: Any, server: BentoServer) -> None:
        self.driver = driver
        self.server = server

    def url(self, kernel: str = "serverless", path: str | None = None, base: str = "") -> str:
        query = f"token={self.server.token}&kernel={kernel}"
        if path:
            query += f"&path={path}"
        return f"{base or self.server.url}/bento/?{query}"

    def open(self, kernel: str = "serverless", path: str | None = None, base: str = "") -> None:
        """Load the page; wait until the notebook is loaded and the kernel is idle."""
        # Leaving a page with unsaved changes would ask "leave site?": the test says yes.
        self.driver.execute_script("if (window.bento) window.bento.notebook.dirty = false")
        self.driver.get(self.url(kernel, path, base))
        wait_for(lambda: self.driver.execute_script("return window.bento && window.bento.ready"),
                 30, "the notebook page", self.problems)  # fmt: skip
        if kernel != "none":
            self.wait_state("idle", 90)

    def problems(self) -> str:
        banner = self.driver.execute_script("return document.getElementById('banner').textContent")
        logs = [e["message"] for e in self.driver.get_log("browser")]
        logs += self.driver.execute_script(
            "const b = window.bento; if (!b) return [];"
            "const k = b.kernel, buffer = k && k.interruptBuffer;"
            "return ['status: ' + JSON.stringify(b.status.history.slice(-4)),"
            "        'interrupt buffer: ' + (buffer ? new Int32Array(buffer)[0] : 'none')];"
        )
        return f"banner: {banner}\nconsole: {logs[-10:]}\nserver: {self.server.tail()[-1500:]}"

    def state(self) -> str:
        return str(
            self.driver.execute_script(
                "return document.getElementById('kernel-status').dataset.state"
            )
        )

    def wait_state(self, state: str, timeout_s: float = 60) -> None:
        wait_for(lambda: self.state() == state, timeout_s, f"kernel state {state}", self.problems)

    def cells(self) -> list[dict[str, Any]]:
        """Every cell: type, source, prompt, nbformat outputs, rendered text, bento metadata."""
        return list(
            self.driver.execute_script(
                """return window.bento.notebook.cells.map((c) => ({
                  type: c.type, source: c.source, prompt: c.prompt.textContent,
                  outputs: c.outputs.outputs, text: c.node.querySelector('.outputs').innerText,
                  html: c.node.querySelector('.outputs').innerHTML,
                  badges: c.badges.innerText, bento: c.metadata.bento || {},
                  running: c.node.classList.contains('running')}))"""
            )
        )

    def busy(self) -> bool:
        return bool(
            self.driver.execute_script(
                "return document.querySelectorAll('.cell.running, .cell.queued').length > 0"
            )
        )

    def wait_done(self, timeout_s: float = 90) -> None:
        wait_for(lambda: not self.busy(), timeout_s, "the running cells", self.problems)

    def click(self, element_id: str) -> None:
        self.driver.find_element("id", element_id).click()

    def run_cell(self, index: int, timeout_s: float = 90) -> dict[str, Any]:
        """Click the cell's run button and wait for it (and anything queued) to finish."""
        buttons = self.driver.find_elements("css selector", ".cell .cell-gutter .run")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", buttons[index])
        buttons[index].click()
        self.wait_done(timeout_s)
        return self.cells()[index]

    def add_cell(self, source: str) -> int:
        """Append a code cell with ``source``; returns its index."""
        return int(
            self.driver.execute_script(
                "const nb = window.bento.notebook;"
                "const cell = nb.insertCell(null, {cell_type: 'code', source: arguments[0]});"
                "return nb.cells.indexOf(cell);",
                source,
            )
        )

    def queue(self, *indexes: int) -> None:
        """Queue cells to run (as clicking their run buttons quickly would), without waiting."""
        self.driver.execute_script(
            "const nb = window.bento.notebook;"
            "for (const i of arguments[0]) nb.runCell(nb.cells[i]);",
            list(indexes),
        )

    def wait_running(self, index: int, timeout_s: float = 20) -> None:
        wait_for(lambda: self.cells()[index]["running"], timeout_s, f"cell {index} running")

    def choose_kernel(self, kind: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element("id", "kernel-select")).select_by_value(kind)
        if kind != "none":
            wait_for(lambda: self.driver.execute_script(
                "return window.bento.kernel && window.bento.kind === arguments[0]", kind),
                10, f"the {kind} kernel")  # fmt: skip
            self.wait_state("idle", 90)

    def banner(self) -> str:
        return str(self.driver.execute_script("return document.getElementById('banner').innerText"))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path


# -- headless runs ---------------------------------------------------------------------------


def notebook(*cells: Any, path: Path | None = None) -> dict[str, Any]:
    """An nbformat 4 notebook: each cell is code (a str), ``("# md", "markdown")`` or
    ``(source, ["tag", ...])``; written to ``path`` when given."""
    import json as _json

    built = []
    for i, cell in enumerate(cells):
        source, extra = (cell, None) if isinstance(cell, str) else cell
        kind = "markdown" if extra == "markdown" else "code"
        entry: dict[str, Any] = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": source}
        if isinstance(extra, list):
            entry["metadata"]["tags"] = extra
        if kind == "code":
            entry.update(outputs=[], execution_count=None)
        built.append(entry)
    nb = {
        "cells": built,
        "metadata": {
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if path is not None:
        path.write_text(_json.dumps(nb))
    return nb


def rebuild_lineage_event(data: dict[str, Any]) -> Any:
    """The event from its JSON, through the client's attrs models (their validators run)."""
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import error_message_run, schema_dataset, sql_job

    def schema(facets):
        found = facets.get("schema")
        if not found:
            return {}
        return {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"])
                    for f in found["fields"]
                ]
            )
        }

    run_facets = {}
    if "errorMessage" in data["run"]["facets"]:
        e = data["run"]["facets"]["errorMessage"]
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=e["message"],
            programmingLanguage=e["programmingLanguage"],
            stackTrace=e.get("stackTrace"),
        )
    job_facets = {}
    if "sql" in data["job"]["facets"]:
        job_facets["sql"] = sql_job.SQLJobFacet(query=data["job"]["facets"]["sql"]["query"])
    return RunEvent(
        eventType=RunState(data["eventType"]),
        eventTime=data["eventTime"],
        run=Run(runId=data["run"]["runId"], facets=run_facets),
        job=Job(namespace=data["job"]["namespace"], name=data["job"]["name"], facets=job_facets),
        producer=data["producer"],
        inputs=[
            InputDataset(d["namespace"], d["name"], facets=schema(d["facets"]))
            for d in data["inputs"]
        ],
        outputs=[
            OutputDataset(d["namespace"], d["name"], facets=schema(d["facets"]))
            for d in data["outputs"]
        ],
    )


@contextmanager
def fresh_ipython() -> Iterator[None]:
    """Run a test that makes a kernel load IPython, then drop the shell it made (the shell
    is a process-wide singleton and takes over ``sys.modules["__main__"]``)."""
    main = sys.modules.get("__main__")
    try:
        yield
    finally:
        interactiveshell = sys.modules.get("IPython.core.interactiveshell")
        shells = interactiveshell.InteractiveShell if interactiveshell else None
        if shells is not None and shells.initialized():
            type(shells.instance()).clear_instance()
        if main is not None:
            sys.modules["__main__"] = main


class StaticSite:
    """A folder served on a free loopback port (a JupyterLite site, a plain Pyodide page):
    another origin than the bento server's. ``.wasm`` as application/wasm; links followed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.httpd: Any = None

    def __enter__(self) -> StaticSite:
        import functools
        import http.server
        import threading

        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            extensions_map = {  # noqa: RUF012 - the base class declares it so
                **http.server.SimpleHTTPRequestHandler.extensions_map,
                ".wasm": "application/wasm",
                ".mjs": "text/javascript",
                ".js": "text/javascript",
                ".json": "application/json",
            }

            def log_message(self, *args: Any) -> None:
                pass

            def end_headers(self) -> None:
                self.send_header("Cache-Control", "no-cache")
                super().end_headers()

        handler = functools.partial(Handler, directory=str(self.folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- Airflow (scheduled notebooks): its own venv, a home per test, real components -------------

AIRFLOW_VENV = ROOT / ".venv-airflow"


def airflow_bin() -> Path:
    """``.venv-airflow/bin``, set up first by ``./dev airflow`` (idempotent: a stamp check when
    it is current; Airflow 3 from PyPI, about 90 s, the first time)."""
    subprocess.run([str(ROOT / "dev"), "airflow"], check=True, timeout=1800)
    return AIRFLOW_VENV / "bin"


class Airflow:
    """An Airflow 3 home in a temp folder: SQLite metadata database, a dags folder, the CLI.

    ``services()`` starts the real scheduler, DAG processor and API server (LocalExecutor;
    the tasks report to the API server's execution API) and stops them on exit.
    """

    def __init__(self, home: Path, **env: str) -> None:
        self.bin = airflow_bin()
        self.home = home
        self.dags = home / "dags"
        self.dags.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "bento-test-jwt-secret",
            # SQLite serialises the components' writes; on a busy machine an execution API
            # call can wait seconds for the lock (the 5 s default abandoned a task's start).
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.run("db", "migrate", timeout=300)

    def run(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS`` in this home; output (stdout and stderr together) in ``.stdout``."""
        done = subprocess.run(
            [str(self.bin / "airflow"), *args],
            env=self.env, cwd=self.home, text=True, timeout=timeout,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{done.stdout[-6000:]}")
        return done

    def python(self, code: str, timeout: float = 300) -> Any:
        """Run ``code`` in the Airflow venv with this home; it prints one JSON value."""
        done = subprocess.run(
            [str(self.bin / "python"), "-c", code],
            env=self.env, cwd=self.home, text=True, timeout=timeout, capture_output=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-6000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows from the metadata database (read only)."""
        import sqlite3

        with sqlite3.connect(f"file:{self.home / 'airflow.db'}?mode=ro", uri=True) as db:
            return list(db.execute(query, args))

    def start(self, component: str) -> None:
        log = self.home / f"{component}.log"
        process = subprocess.Popen(
            [str(self.bin / "airflow"), component],
            env=self.env, cwd=self.home, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes.append((process, log))

    @contextmanager
    def services(self) -> Iterator[Airflow]:
        try:
            # The API server first: the tasks the scheduler starts report to it.
            self.start("api-server")
            wait_for(
                lambda: _answers(f"http://127.0.0.1:{self.port}/api/v2/monitor/health"),
                420, "Airflow's API server", self.tail,  # slow to import on a busy machine
            )  # fmt: skip
            self.start("dag-processor")
            self.start("scheduler")
            yield self
        finally:
            for process, _ in reversed(self.processes):
                if process.poll() is None:
                    os.killpg(process.pid, 15)  # the component and the workers it forked
            for process, _ in self.processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait(10)
            self.processes.clear()

    def tail(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for _, log in self.processes
        )


def stream_text(record: Path) -> str:
    """Everything a run's record printed (its stream outputs), in order."""
    nb = json.loads(record.read_text())
    return "".join(
        "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )  # fmt: skip
