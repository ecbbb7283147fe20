"""The executor on a real Jupyter Server with real ipykernels, driven by the CPython client."""

import json
import sys
import threading
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from bento_wasm.errors import (
    ExecutorError,
    ExecutorTimeout,
    PayloadTooLarge,
    RemoteError,
    SessionLost,
)
from bento_wasm.offload.client import Executor, HttpTransport
from tests.helpers import BentoServer, wait_for


@pytest.fixture(scope="module")
def server():
    with BentoServer("--BentoExecutor.max_payload_mib=64") as running:
        yield running


def client(server, session, token=None, timeout_s=None):
    transport = HttpTransport(server.url, server.token if token is None else token)
    return Executor(transport, session, timeout_s=timeout_s)


def cell(executor, code, namespace=None, inputs=(), outputs=()):
    return executor.run_cell(code, namespace or {}, inputs=inputs, outputs=outputs)


def test_cells_run_in_a_persistent_kernel_session(server, capsys):
    executor = client(server, "persist")
    frame = pd.DataFrame({"a": np.arange(5.0)})
    code = "import sys\nprint('hi from', sys.platform)\nb = df.a * 2\nn = len(b)\nn"
    reply = cell(executor, code, {"df": frame}, ["df"], ["b", "n"])
    assert reply["values"]["n"] == 5 and list(reply["values"]["b"]) == [0, 2, 4, 6, 8]
    assert reply["result"]["data"]["text/plain"] == "5"
    assert capsys.readouterr().out == f"hi from {sys.platform}\n"
    # state persists between calls of one session, and sessions are separate
    assert cell(executor, "m = n + 1", outputs=["m"])["values"]["m"] == 6
    with pytest.raises(RemoteError) as caught:
        cell(client(server, "other"), "n")
    assert caught.value.ename_remote == "NameError"


def test_kernels_the_server_starts_find_the_executor_without_the_page(server):
    """No page asked for /bento/config.json here: the server exported the executor's URL and
    token for its kernels once it listened (data magics, @remote and %%remote use them)."""
    names = ("BENTO_EXECUTOR_URL", "BENTO_EXECUTOR_TOKEN")
    code = f"import os\nenv = [os.environ.get(k) for k in {names!r}]"
    env = cell(client(server, "env"), code, outputs=["env"])["values"]["env"]
    assert env == [server.url.rstrip("/"), server.token]


def test_displays_come_back_as_mime_bundles(server):
    from bento_wasm.kernel.display import Publisher, current_publisher

    shown = []
    token = current_publisher.set(Publisher("c", lambda kind, **f: shown.append(f)))
    try:
        cell(client(server, "display"), "from IPython.display import display, HTML\n"
             "display(HTML('<b>remote</b>'))")  # fmt: skip
    finally:
        current_publisher.reset(token)
    assert shown[0]["data"]["text/html"] == "<b>remote</b>"


def test_remote_traceback_names_the_remote_line(server):
    executor = client(server, "errors")
    with pytest.raises(RemoteError) as caught:
        cell(executor, "def inner():\n    raise KeyError('missing')\ninner()")
    text = "\n".join(caught.value.traceback)
    assert "raise KeyError('missing')" in text and "in inner" in text


def test_the_kernel_imports_this_checkout_of_bento_wasm(server):
    import bento_wasm

    reply = cell(client(server, "path"), "import bento_wasm\nwhere = bento_wasm.__file__",
                 outputs=["where"])  # fmt: skip
    assert reply["values"]["where"] == bento_wasm.__file__


def test_wrong_token_is_refused_clearly(server):
    with pytest.raises(ExecutorError, match="refused the token") as caught:
        cell(client(server, "tok", token="wrong"), "1")
    assert caught.value.status == 403


def test_payload_too_large_is_refused_clearly(server):
    big = np.zeros(9 * 2**20)  # 72 MiB > the 64 MiB limit of this server
    with pytest.raises(PayloadTooLarge, match="64 MiB") as caught:
        cell(client(server, "big"), "x = 1", {"big": big}, ["big"])
    assert caught.value.status == 413


def test_call_timeout_interrupts_the_remote_kernel(server):
    patient = client(server, "slow")  # starts the session's kernel, which may take > 1 s
    cell(patient, "state = 'kept'")
    executor = client(server, "slow", timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(ExecutorTimeout, match="longer than 1 s"):
        cell(executor, "import time\ntime.sleep(30)")
    assert time.monotonic() - started < 10
    reply = cell(patient, "state", outputs=["state"])
    assert reply["values"]["state"] == "kept"


def test_interrupt_from_another_request(server, tmp_path):
    executor = client(server, "interrupt")
    started = tmp_path / "started"  # the kernel runs on this machine: it marks that the cell runs

    def interrupt_once_running():
        wait_for(started.exists, 60, "the remote cell to start")
        executor.interrupt()

    thread = threading.Thread(target=interrupt_once_running)
    thread.start()
    code = (
        f"import time\nopen({str(started)!r}, 'w').close()\n"
        "for _ in range(300):\n    time.sleep(0.1)"
    )
    with pytest.raises(KeyboardInterrupt):
        cell(executor, code)
    thread.join()
    assert cell(executor, "ok = 1", outputs=["ok"])["values"]["ok"] == 1


def test_kernel_killed_mid_call_then_fresh_session_says_state_was_lost(server, capsys):
    executor = client(server, "killed")
    cell(executor, "lost = 1")
    with pytest.raises(SessionLost, match="died while running this call") as caught:
        cell(executor, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert caught.value.status == 410
    capsys.readouterr()
    with pytest.raises(RemoteError, match="NameError"):
        cell(executor, "lost")
    notice = capsys.readouterr().err
    assert "died during a call" in notice and "variables from earlier remote cells" in notice
    assert cell(executor, "again = 2", outputs=["again"])["values"]["again"] == 2
    assert capsys.readouterr().err == "", "the notice is given once"


def test_calls_count_as_kernel_activity(server):
    """Jupyter Server's own activity watch is off for session kernels (it copied every
    result once more); the executor records each call, which culling and /api/kernels read."""
    executor = client(server, "activity")
    cell(executor, "1")
    kernel_id = next(s["kernel_id"] for s in _get(server, "/bento/api/sessions")["sessions"]
                     if s["id"] == "activity")  # fmt: skip
    before = next(k for k in _get(server, "/api/kernels") if k["id"] == kernel_id)
    time.sleep(0.05)
    cell(executor, "2")
    after = next(k for k in _get(server, "/api/kernels") if k["id"] == kernel_id)
    assert after["last_activity"] > before["last_activity"] and after["execution_state"] == "idle"
    executor.shutdown()


def _get(server, path):
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_sessions_are_listed_and_closed(server):
    executor = client(server, "closing")
    cell(executor, "1")
    request = urllib.request.Request(
        server.url + "/bento/api/sessions", headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request) as response:
        ids = [s["id"] for s in json.load(response)["sessions"]]
    assert "closing" in ids
    executor.shutdown()


def socket_call(server, session, header, token=None, origin=None):
    """One call on the session's WebSocket (what the worker sends): (status, answer)."""
    import asyncio
    import struct

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    from bento_wasm.offload.values import pack, unpack

    async def run():
        url = server.url.replace("http", "ws") + f"/bento/api/sessions/{session}/calls"
        headers = {"Origin": origin} if origin else {}
        request = HTTPRequest(f"{url}?token={token or server.token}", headers=headers)
        connection = await websocket_connect(request)
        connection.write_message(bytes(pack(header)), binary=True)
        message = await connection.read_message()
        connection.close()
        (status,) = struct.unpack_from("<I", message)
        body = message[4:]
        return status, (unpack(body)[0] if status == 200 else json.loads(body))

    return asyncio.run(run())


def test_a_call_on_the_websocket_shares_the_session_of_http_calls(server):
    cell(client(server, "socket"), "shared_state = 41")
    code = "print('on the socket')\nshared_state + 1"
    header, _ = client(server, "socket").cell_request(code, {}, [], [])
    status, envelope = socket_call(server, "socket", header)
    assert status == 200
    assert envelope["reply"]["result"]["data"]["text/plain"] == "42"
    assert envelope["outputs"] == [{"type": "stream", "name": "stdout", "text": "on the socket\n"}]


def test_the_websocket_answers_errors_with_the_http_status(server):
    code = "import time\ntime.sleep(30)"
    header, _ = client(server, "socket-slow").cell_request(code, {}, [], [])
    status, error = socket_call(server, "socket-slow", {**header, "timeout_s": 1.0})
    assert status == 504 and error["error"]["ename"] == "ExecutorTimeout"


@pytest.mark.parametrize(("token", "origin"), [("wrong", None), (None, "http://elsewhere.example")])
def test_the_websocket_refuses_a_wrong_token_and_other_origins(server, token, origin):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as caught:
        socket_call(server, "socket-refused", {"op": "cell", "code": "1"}, token, origin)
    assert caught.value.code == 403
