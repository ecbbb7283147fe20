"""Jupyter comms in the serverless kernel, in CPython: the same Kernel and comm bridge the
worker runs, with real ipywidgets and comm (the versions runtime_wheels.json pins)."""

import asyncio
import json
import os
import sys

import pytest

from bento_wasm import protocol
from bento_wasm.kernel import comms
from bento_wasm.kernel.interpreter import Kernel
from tests.helpers import fresh_ipython

pytest.importorskip("ipywidgets")


@pytest.fixture
def kernel():
    """A kernel with comms, as the worker makes it when a cell imports ipywidgets."""
    import comm

    saved = comm.create_comm, comm.get_comm_manager, os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    with fresh_ipython():
        sent = []
        kernel = Kernel(sent.append)
        kernel.sent = sent
        comms.install(kernel)
        yield kernel
    comm.create_comm, comm.get_comm_manager = saved[:2]
    if "matplotlib.pyplot" in sys.modules:  # install() chose the inline backend
        sys.modules["matplotlib.pyplot"].switch_backend("Agg")
    if saved[2] is None:
        os.environ.pop("MPLBACKEND", None)
    else:
        os.environ["MPLBACKEND"] = saved[2]


def run(kernel, cell_id, code):
    kernel.sent.clear()
    asyncio.run(kernel.execute(cell_id, code))
    return list(kernel.sent)


def receive(kernel, kind, **fields):
    kernel.sent.clear()
    asyncio.run(kernel.comms.receive(protocol.message(kind, **fields)))
    return list(kernel.sent)


def of(sent, kind):
    return [m for m in sent if m["type"] == kind]


def opened(sent, model):
    [msg] = [m for m in of(sent, "comm_open") if m["data"]["state"]["_model_name"] == model]
    return msg


def test_a_widget_opens_its_comm_under_the_cell_and_shows_as_a_widget_view(kernel):
    sent = run(kernel, "cell-1", "import ipywidgets\ns = ipywidgets.IntSlider(value=3)\ns")
    slider = opened(sent, "IntSliderModel")
    assert slider["id"] == "cell-1" and slider["target_name"] == "jupyter.widget"
    assert slider["metadata"]["version"].startswith("2.")
    assert slider["data"]["state"]["value"] == 3
    [result] = of(sent, "execute_result")
    view = result["data"][protocol.mime_type("widget_view")]
    assert view == {"version_major": 2, "version_minor": 0, "model_id": slider["comm_id"]}
    assert all(protocol.check(m) for m in sent)  # every message fits protocol.json
    json.dumps(sent)  # and is plain JSON (tuples of the state became lists)


def test_the_pages_update_reaches_the_kernel_side_value(kernel):
    slider = opened(
        run(kernel, "cell-1", "import ipywidgets\ns = ipywidgets.IntSlider()"), "IntSliderModel"
    )
    update = {"method": "update", "state": {"value": 7}, "buffer_paths": []}
    receive(kernel, "comm_msg", id="comm-5", comm_id=slider["comm_id"], data=update)
    [out] = of(run(kernel, "cell-2", "print(s.value)"), "stream")
    assert out["text"] == "7\n"


def test_a_handler_runs_as_a_short_cell_of_the_page_messages_id(kernel):
    code = (
        "import ipywidgets\nb = ipywidgets.Button()\n"
        "def clicked(button):\n    print('clicked')\n    1 / 0\n"
        "b.on_click(clicked)"
    )
    button = opened(run(kernel, "cell-1", code), "ButtonModel")
    sent = receive(
        kernel,
        "comm_msg",
        id="comm-9",
        comm_id=button["comm_id"],
        data={"method": "custom", "content": {"event": "click"}},
    )
    [out] = of(sent, "stream")
    assert (out["id"], out["text"]) == ("comm-9", "clicked\n")
    [error] = of(sent, "error")  # reported under the message's id; the kernel goes on
    assert (error["id"], error["ename"]) == ("comm-9", "ZeroDivisionError")
    assert kernel.cell_id == "cell-1"
    assert of(run(kernel, "cell-2", "print('still here')"), "stream")[0]["text"] == "still here\n"


def test_interact_draws_into_its_output_widget_under_the_running_ids(kernel):
    code = (
        "from ipywidgets import interact\n@interact(n=(1, 5))\ndef f(n=2):\n    print('n is', n)\n"
    )
    sent = run(kernel, "cell-1", code)
    output = opened(sent, "OutputModel")
    captures = [
        m["data"]["state"]["msg_id"]
        for m in of(sent, "comm_msg")
        if m["comm_id"] == output["comm_id"] and "msg_id" in m["data"].get("state", {})
    ]
    assert captures == ["cell-1", ""]  # Output widget captured the cell while f ran
    kinds = [m["type"] for m in sent]
    printed = kinds.index("stream")
    assert kinds[printed - 1] == "clear_output"  # clear_output(wait=True) before drawing
    assert of(sent, "clear_output")[0] == {"type": "clear_output", "id": "cell-1", "wait": True}
    assert of(sent, "stream")[0]["text"] == "n is 2\n"

    slider = opened(sent, "IntSliderModel")
    update = {"method": "update", "state": {"value": 4}, "buffer_paths": []}
    moved = receive(kernel, "comm_msg", id="comm-3", comm_id=slider["comm_id"], data=update)
    assert [m["text"] for m in of(moved, "stream")] == ["n is 4\n"]
    assert of(moved, "stream")[0]["id"] == "comm-3"
    captured = [
        m["data"]["state"]["msg_id"]
        for m in of(moved, "comm_msg")
        if m["comm_id"] == output["comm_id"] and "msg_id" in m["data"].get("state", {})
    ]
    assert captured == ["comm-3", ""]


def test_interact_figures_land_inside_the_output_widget(kernel):
    pytest.importorskip("matplotlib_inline")
    code = (
        "import matplotlib.pyplot as plt\nfrom ipywidgets import interact\n"
        "@interact(n=(1, 3))\n"
        "def f(n=1):\n    plt.plot(range(n + 1))\n"
    )
    sent = run(kernel, "cell-1", code)
    kinds = [m["type"] for m in sent]
    figures = [i for i, m in enumerate(sent) if "image/png" in m.get("data", {})]
    assert len(figures) == 1, kinds
    ends = [
        i
        for i, m in enumerate(sent)
        if m["type"] == "comm_msg" and m["data"].get("state", {}).get("msg_id") == ""
    ]
    assert figures[0] < ends[0], "the figure is shown before the Output widget stops capturing"
    assert "matplotlib_inline" in sys.modules["matplotlib"].get_backend()


def test_the_page_can_close_a_comm(kernel):
    slider = opened(
        run(kernel, "cell-1", "import ipywidgets\ns = ipywidgets.IntSlider()"), "IntSliderModel"
    )
    receive(kernel, "comm_close", id="comm-2", comm_id=slider["comm_id"], data={})
    assert kernel.comms.manager.get_comm(slider["comm_id"]) is None


def test_binary_buffers_cross_as_base64():
    encoded = comms.encode_buffers([b"\x00\x01\xff", memoryview(b"abc")])
    assert encoded == ["AAH/", "YWJj"]
    assert [bytes(b) for b in comms.decode_buffers(encoded)] == [b"\x00\x01\xff", b"abc"]
    assert comms.encode_buffers(None) == [] and comms.decode_buffers(None) == []


def test_installing_twice_keeps_one_bridge(kernel):
    assert comms.install(kernel) is kernel.comms
