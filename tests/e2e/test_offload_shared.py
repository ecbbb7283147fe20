"""Large buffers between the executor and its local kernels through shared files (real
Jupyter Server, real ipykernels, the CPython client)."""

import json
import os
import urllib.request

import numpy as np
import pandas as pd
import pytest

from bento_wasm.errors import PayloadTooLarge
from bento_wasm.offload.client import Executor, HttpTransport
from bento_wasm.offload.values import unpack
from tests.helpers import BentoServer


@pytest.fixture(scope="module")
def shm(tmp_path_factory):
    return tmp_path_factory.mktemp("shm")


@pytest.fixture(scope="module")
def server(shm):
    with BentoServer(
        f"--BentoExecutor.shared_dir={shm}", "--BentoExecutor.max_payload_mib=64"
    ) as s:
        yield s


@pytest.fixture(scope="module")
def comm_server(shm):
    """Shared files, but calls as comm messages (ZMQ), not the Unix socket."""
    with BentoServer(
        f"--BentoExecutor.shared_dir={shm}", "--BentoExecutor.call_channel=False"
    ) as s:
        yield s


@pytest.fixture(scope="module")
def zmq_server():
    with BentoServer("--BentoExecutor.shared_files=False") as s:
        yield s


def client(server, session, timeout_s=None):
    return Executor(HttpTransport(server.url, server.token), session, timeout_s=timeout_s)


def run(executor, code, namespace, inputs, outputs):
    return executor.run_cell(code, namespace, inputs=inputs, outputs=outputs)


def sessions(server):
    request = urllib.request.Request(
        server.url + "/bento/api/sessions", headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request) as response:
        return {s["id"]: s for s in json.load(response)["sessions"]}


def frame(mib):
    rows = mib * 2**20 // 16
    rng = np.random.default_rng(7)
    return pd.DataFrame({"a": rng.random(rows), "b": np.arange(rows, dtype="int64")})


ROUND_TRIP = "out = df.assign(c=df.a * 2)\nwhere = type(df).__name__"


@pytest.mark.parametrize("which", ["server", "comm_server", "zmq_server"])
def test_a_dataframe_goes_and_comes_back_the_same_either_way(request, which, shm):
    running = request.getfixturevalue(which)
    data = frame(24)
    reply = run(client(running, "big"), ROUND_TRIP, {"df": data}, ["df"], ["out", "where"])
    pd.testing.assert_frame_equal(reply["values"]["out"], data.assign(c=data.a * 2))
    assert reply["values"]["where"] == "DataFrame"
    assert sessions(running)["big"]["shared"] is (which != "zmq_server")
    assert sessions(running)["big"]["channel"] is (which == "server")
    assert os.listdir(shm) == []  # the request's and the answer's files, the channel's socket


PASS_THROUGH = {
    # returned as it came: the answer names the request's file, its buffers are not rewritten
    "out = df": lambda df: df,
    # a view of part of it: named at its offset
    "out = df.iloc[1000:]": lambda df: df.iloc[1000:],
    # one column new, the other the argument's own (zero-copy): a mix of both files
    'import pandas as pd\nout = pd.DataFrame({"a": -df.a.to_numpy(), "b": df.b}, copy=False)': (
        lambda df: df.assign(a=-df.a)
    ),
}


@pytest.mark.parametrize("which", ["server", "comm_server"])
@pytest.mark.parametrize("code", list(PASS_THROUGH))
def test_an_argument_returned_whole_sliced_or_changed_comes_back_right(request, which, code, shm):
    running = request.getfixturevalue(which)
    data = frame(24)
    reply = run(client(running, "echo"), code, {"df": data}, ["df"], ["out"])
    pd.testing.assert_frame_equal(reply["values"]["out"], PASS_THROUGH[code](data))
    assert os.listdir(shm) == []


def test_calls_without_data_and_empty_frames_take_the_same_path(server, shm):
    executor = client(server, "small")
    assert run(executor, "x = 1", {}, [], ["x"])["values"]["x"] == 1
    empty = pd.DataFrame({"a": np.array([], dtype="float64")})
    reply = run(executor, "e = df", {"df": empty}, ["df"], ["e"])
    assert list(reply["values"]["e"].columns) == ["a"] and len(reply["values"]["e"]) == 0
    assert os.listdir(shm) == []


def test_payload_too_large_is_refused_before_it_is_stored(server, shm):
    with pytest.raises(PayloadTooLarge, match="64 MiB") as caught:
        run(client(server, "huge"), "x = 1", {"big": np.zeros(9 * 2**20)}, ["big"], [])
    assert caught.value.status == 413
    assert os.listdir(shm) == []


def test_a_refused_token_stores_nothing(server, shm):
    body = b"x" * 16 * 2**20  # large: answering before reading it would break the upload
    request = urllib.request.Request(
        server.url + "/bento/api/sessions/t/execute", data=body, method="POST",
        headers={"Authorization": "token wrong"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 403
    assert os.listdir(shm) == []


OUTPUTS = (
    "import sys\nfrom IPython.display import display, HTML\nprint('a')\n"
    "display(HTML('<b>b</b>'))\nprint('c', file=sys.stderr)\nprint('d')"
)


@pytest.mark.parametrize("which", ["server", "comm_server", "zmq_server"])
def test_a_calls_outputs_come_back_on_every_path_and_in_order_on_the_channel(request, which):
    running = request.getfixturevalue(which)
    executor = client(running, "outputs")
    header, buffers = executor.cell_request(OUTPUTS, {}, [], [])
    response = executor.transport.handle(executor._execute_request(header, buffers))
    envelope, _ = unpack(response.body)
    got = [(o["type"], o.get("name"), o.get("text")) for o in envelope["outputs"]]
    expected = [
        ("stream", "stdout", "a\n"),
        ("display_data", None, None),
        ("stream", "stderr", "c\n"),
        ("stream", "stdout", "d\n"),
    ]
    # ipykernel buffers stdout and stderr apart, so on IOPub stderr may come out of order
    assert (
        got == expected if which == "server" else sorted(got, key=str) == sorted(expected, key=str)
    )
    [html] = [o for o in envelope["outputs"] if o["type"] == "display_data"]
    assert html["data"]["text/html"] == "<b>b</b>"
    assert envelope["reply"]["status"] == "ok"
