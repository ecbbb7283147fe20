"""The same executor placing session kernels on a Jupyter Kernel Gateway (``--gateway-url``).

A real ``jupyter kernelgateway`` on loopback is the kernel host; the bento server runs no
kernel of its own. The page's worker offloads through it exactly as without a gateway.
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import ROOT, BentoServer, PageKernel, chromium, free_port, wait_for

pytestmark = pytest.mark.browser


def _kernels(url):
    try:
        with urllib.request.urlopen(url + "/api/kernels", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


@pytest.fixture(scope="module")
def gateway():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="bento-gateway-", suffix=".log")[1])
    env = {
        **os.environ,
        # the gateway's kernels import this checkout's bento_wasm, and say where they run
        "PYTHONPATH": str(ROOT),
        "BENTO_KERNEL_HOST": "kernel-gateway",
        "KG_ENV_PROCESS_WHITELIST": "PYTHONPATH,BENTO_KERNEL_HOST",
    }
    command = [
        sys.executable, "-m", "kernel_gateway",
        "--KernelGatewayApp.ip=127.0.0.1", f"--KernelGatewayApp.port={port}",
        "--JupyterWebsocketPersonality.list_kernels=True",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _kernels(url) is not None, 30, "kernel gateway", log.read_text)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server(gateway):
    # No gateway token: jupyter_server's gateway client sends none on its websocket.
    with BentoServer(f"--gateway-url={gateway}") as running:
        yield running


def test_offload_through_a_kernel_gateway(gateway, server):
    assert _kernels(gateway) == []
    with chromium() as driver:
        page = PageKernel(driver, server)
        executor = {"url": server.url, "token": server.token}
        assert page.start(executor=executor)["ok"]
        outputs = page.run_ok(
            "%%remote\nimport os\nhost = os.environ.get('BENTO_KERNEL_HOST')\nprint('on', host)"
        )
        assert [o.get("text") for o in outputs] == ["on kernel-gateway\n"]
        assert page.text("host") == "'kernel-gateway'"
        page.run_ok("%%remote\nimport bento_wasm\nremote_package = bento_wasm.__file__")
        assert page.text("remote_package") == repr(str(ROOT / "bento_wasm" / "__init__.py"))
        page.run_ok(
            "import pandas as pd\nfrom bento_wasm import remote\n"
            "@remote\ndef double(frame):\n    return frame * 2"
        )
        text = page.text("list(double(pd.DataFrame({'v': [1.5, 2.5]})).v)")
        assert text == "[3.0, 5.0]"
        [error] = [o for o in page.execute("%%remote\n1 / 0")["outputs"] if o["type"] == "error"]
        assert error["ename"] == "RemoteError" and "ZeroDivisionError" in error["evalue"]
    kernels = _kernels(gateway)
    assert len(kernels) == 1, "the session's kernel runs on the gateway"
