"""bento-wasm installed as software: the wheel built from this checkout, pip-installed with the
``server`` extra into a fresh virtual environment outside the checkout (pip may take packages
from its cache or PyPI), gives a ``bento`` command whose ``bento serve`` serves the page, the
worker and the browser wheel from the installed package; the demo's SQL and ``@remote`` cells
run in headless Chromium. The Jupyter Server extension is enabled by the package's config file.
A runtime folder that fails verification is refused with what to do."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT, RUNTIME, PageKernel, chromium, free_port, wait_for

pytestmark = pytest.mark.browser

TOKEN = "install-test-token"


def demo_cell(start):
    notebook = json.loads((ROOT / "notebooks" / "demo.ipynb").read_text())
    return next(
        "".join(c["source"]) for c in notebook["cells"] if "".join(c["source"]).startswith(start)
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    work = tmp_path_factory.mktemp("bento-install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(ROOT)],
        check=True, env={**os.environ, "BENTO_BROWSER_WHEEL": ""},
    )  # fmt: skip
    [wheel] = (work / "dist").glob("bento_wasm-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[server,runs]"], check=True, cwd=work
    )
    yield work


def clean_env():
    """No checkout on the path: the installed package is the one that runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BENTO_"))}
    env.pop("VIRTUAL_ENV", None)
    return env


def test_the_installed_package_is_not_the_checkout(venv):
    python = venv / "venv" / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import bento_wasm; print(bento_wasm.__file__)"],
        capture_output=True, text=True, check=True, cwd=venv, env=clean_env(),
    ).stdout  # fmt: skip
    assert str(venv / "venv") in where and str(ROOT) not in where
    listed = subprocess.run(
        [str(venv / "venv" / "bin" / "jupyter"), "server", "extension", "list"],
        capture_output=True, text=True, cwd=venv, env=clean_env(),
    )  # fmt: skip
    out = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
    assert "bento_wasm.server enabled" in out and "bento_wasm.server  OK" in out, out


def test_bento_serve_runs_the_demos_sql_and_remote_cells(venv):
    port = free_port()
    root = venv / "notebooks"
    root.mkdir(exist_ok=True)
    log = (venv / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(venv / "venv" / "bin" / "bento"), "serve", f"--port={port}", f"--runtime={RUNTIME}",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={root}", f"--BentoApp.demo_database={venv / 'demo.duckdb'}"],
        cwd=venv, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    class Server:
        url = f"http://127.0.0.1:{port}"
        token = TOKEN

    def tail():
        return (venv / "serve.log").read_text(errors="replace")[-3000:]

    try:
        import urllib.request

        def answers():
            try:
                with urllib.request.urlopen(Server.url + "/bento/config.json", timeout=2) as r:
                    return json.load(r)
            except OSError:
                return None

        config = wait_for(answers, 60, "bento serve", tail)
        assert config["wheelURL"].endswith("bento_wasm-0.1.0-py3-none-any.whl"), config
        with chromium() as driver:
            page = PageKernel(driver, Server)
            started = page.start(preload=[])
            assert started["ok"], (started, tail())
            text = page.text(demo_cell("%%sql -o revenue"))
            assert "revenue: " in text, text
            assert page.text("len(revenue) > 0") == "True"
            text = page.text(demo_cell("from bento_wasm import remote"))
            assert "'ran_on': 'linux'" in text, text
            # The page itself (the bundle from the package's assets) answers too.
            driver.get(f"{Server.url}/bento/?token={TOKEN}&kernel=none")
            assert driver.execute_script("return document.scripts.length") > 0
    finally:
        process.terminate()
        process.wait(20)
    assert str(ROOT) not in tail()


def test_a_stale_browser_wheel_in_the_cache_is_replaced_at_start(venv, tmp_path):
    """An upgrade must not serve the old Python to the new worker: the cache's browser wheel
    (written by an earlier install) is rewritten from the installed package at start."""
    import urllib.request
    import zipfile

    cache = tmp_path / "cache"
    wheels = cache / "bento-wasm" / "wheels"
    wheels.mkdir(parents=True)
    stale = wheels / "bento_wasm-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(stale, "w") as archive:
        archive.writestr("bento_wasm/__init__.py", "OLD = True\n")
    (wheels / f".{stale.name}.sha256").write_text("an earlier install's content")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(venv / "venv" / "bin" / "bento"), "serve", f"--port={port}", f"--runtime={RUNTIME}",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={tmp_path}"],
        cwd=venv, env={**clean_env(), "XDG_CACHE_HOME": str(cache)}, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip

    def config():
        try:
            url = f"http://127.0.0.1:{port}/bento/config.json"
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    try:
        served = wait_for(config, 60, "bento serve", lambda: (tmp_path / "serve.log").read_text())
        url = f"http://127.0.0.1:{port}{served['wheelURL']}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read()
    finally:
        process.terminate()
        process.wait(20)
    written = zipfile.ZipFile(stale)
    kernel = written.read("bento_wasm/browser/worker.py").decode()
    assert "def runtime_wheels_for" in kernel  # this version's code, not the planted one
    assert b"OLD = True" not in written.read("bento_wasm/__init__.py")
    assert {i.compress_type for i in written.infolist()} == {zipfile.ZIP_STORED}  # read in place
    assert body == stale.read_bytes()  # and it is what the page is given


def test_a_runtime_folder_that_fails_verification_is_refused(venv, tmp_path):
    (tmp_path / "pyodide.js").write_text("not pyodide")
    result = subprocess.run(
        [str(venv / "venv" / "bin" / "bento"), "serve", f"--runtime={tmp_path}"],
        capture_output=True, text=True, cwd=venv, env=clean_env(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"--runtime {tmp_path} is not a usable Pyodide 0.27.7 runtime" in result.stderr
    assert "bento runtime assemble" in result.stderr or "assemble" in result.stderr


def test_bento_run_runs_a_notebook_from_the_installed_package(venv, tmp_path):
    """The headless runner's Node host and browser wheel come from the installed package."""
    source = tmp_path / "in.ipynb"
    cells = [("n = 1", ["parameters"]), ("import bento_wasm, sys\nprint(n * 21, sys.platform)", [])]
    source.write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {"tags": tags}, "source": code,
                   "outputs": [], "execution_count": None} for code, tags in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))  # fmt: skip
    out = tmp_path / "out.ipynb"
    result = subprocess.run(
        [str(venv / "venv" / "bin" / "bento"), "run", str(source), str(out), "-p", "n", "2",
         f"--runtime={RUNTIME}"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    printed = "".join("".join(o.get("text", "")) for o in record["cells"][-1]["outputs"])
    assert "42 emscripten" in printed, record["cells"][-1]
