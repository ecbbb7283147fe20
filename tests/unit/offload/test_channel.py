"""The kernel's end of the call channel, without a kernel: frames, captured output, serve()."""

import signal
import socket
import sys
import threading

import pytest

from bento_wasm.offload import channel
from bento_wasm.offload.values import pack, unpack


class Publisher:
    """ipykernel's display publisher as far as hooks go (zmqshell.ZMQDisplayPublisher): each
    message goes through the hooks; one returning None keeps it from being sent."""

    def __init__(self):
        self.hooks, self.sent = [], []

    def register_hook(self, hook):
        self.hooks.append(hook)

    def unregister_hook(self, hook):
        self.hooks.remove(hook)

    def publish(self, data, metadata=None, *, transient=None, update=False):
        kind = "update_display_data" if update else "display_data"
        msg = {"msg_type": kind, "content": {"data": data, "metadata": metadata or {}}}
        if transient:
            msg["content"]["transient"] = transient
        for hook in self.hooks:
            msg = hook(msg)
            if msg is None:
                return
        self.sent.append(msg)


class Shell:
    """What ``captured`` uses of an IPython shell: its display publisher."""

    def __init__(self):
        self.display_pub = Publisher()


def test_frames_go_through_a_socket_whole_and_a_closed_peer_reads_none():
    left, right = socket.socketpair()
    with left, right:
        channel.write_frame(left, {"call": 3}, [b"abc", memoryview(b"\x00" * 70000)])
        header, buffers = unpack(channel.read_frame(right))
        assert header == {"call": 3} and [len(b) for b in buffers] == [3, 70000]
        left.close()
        assert channel.read_frame(right) is None


def test_a_frame_cut_short_reads_none():
    left, right = socket.socketpair()
    with right:
        left.sendall(channel.LENGTH.pack(100) + b"only ten b")
        left.close()
        assert channel.read_frame(right) is None


def test_outputs_keep_their_order_and_join_consecutive_writes():
    outputs = channel.Outputs()
    outputs.stream("stdout", "a")
    outputs.stream("stdout", "b\n")
    outputs.display("display_data", {"text/plain": "x"}, None, None)
    outputs.stream("stderr", "warn\n")
    outputs.stream("stdout", "")
    outputs.stream("stdout", "c")
    assert outputs.items == [
        {"type": "stream", "name": "stdout", "text": "ab\n"},
        {"type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
        {"type": "stream", "name": "stderr", "text": "warn\n"},
        {"type": "stream", "name": "stdout", "text": "c"},
    ]


def test_captured_takes_output_and_interrupts_then_restores_both():
    shell, outputs = Shell(), channel.Outputs()
    saved = sys.stdout, sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as ipykernel leaves it between handlers
    try:
        with channel.captured(shell, outputs):
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            print("before")
            shell.display_pub.publish({"text/plain": "shown"}, {"m": 1}, transient={"id": 1})
            print("oops", file=sys.stderr)
        assert (sys.stdout, sys.stderr) == saved and shell.display_pub.hooks == []
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert [o["type"] for o in outputs.items] == ["stream", "display_data", "stream"]
    assert outputs.items[1] == {
        "type": "display_data", "data": {"text/plain": "shown"}, "metadata": {"m": 1},
        "transient": {"id": 1},
    }  # fmt: skip
    assert shell.display_pub.sent == []  # taken, not also published
    shell.display_pub.publish({"text/plain": "after"})
    assert len(shell.display_pub.sent) == 1 and len(outputs.items) == 3


def answer_printing(header, buffers):
    print("ran", header["op"])
    return {"status": "ok", "result": {"codec": "json", "value": len(buffers)}}, [b"back"]


def serve_one(header, buffers, answer):
    kernel, executor = socket.socketpair()
    with kernel, executor:
        frame = bytearray(pack(header, buffers))
        channel.serve(kernel, frame, Shell(), answer)
        return unpack(channel.read_frame(executor))


def test_serve_answers_with_the_call_number_outputs_and_buffers():
    envelope, buffers = serve_one({"op": "call", "call": 7}, [b"x", b"y"], answer_printing)
    assert envelope["call"] == 7
    assert envelope["reply"] == {"status": "ok", "result": {"codec": "json", "value": 2}}
    assert envelope["outputs"] == [{"type": "stream", "name": "stdout", "text": "ran call\n"}]
    assert [bytes(b) for b in buffers] == [b"back"]


def test_an_interrupt_outside_the_users_code_is_still_an_answer():
    def interrupted(header, buffers):
        raise KeyboardInterrupt

    envelope, buffers = serve_one({"op": "call", "call": 1}, [], interrupted)
    assert envelope["reply"]["ename"] == "KeyboardInterrupt" and buffers == []


def test_a_large_answer_goes_into_the_offered_shared_file(tmp_path):
    def large(header, buffers):
        return {"status": "ok"}, [bytes(2**21)]

    offer = {"dir": str(tmp_path), "tag": "t"}
    envelope, buffers = serve_one({"op": "call", "call": 2, "reply_shared": offer}, [], large)
    assert buffers == []
    answer = envelope["reply"]["shared"]
    assert answer["sizes"] == [2**21] and answer["path"].startswith(str(tmp_path))


def test_connect_to_nothing_says_no(tmp_path):
    assert channel.connect(str(tmp_path / "absent"), Shell(), answer_printing) is False


@pytest.mark.parametrize("size", [0, 1, 2**20 + 3])
def test_read_exactly_any_size(size):
    left, right = socket.socketpair()
    with left, right:
        writer = threading.Thread(target=channel.write_frame, args=(left, {}, [bytes(size)]))
        writer.start()  # a frame larger than the socket's buffer: written while it is read
        _, buffers = unpack(channel.read_frame(right))
        writer.join()
        assert buffers[0].nbytes == size
