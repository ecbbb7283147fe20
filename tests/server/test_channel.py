"""The executor's end of the call channel against a kernel's end on real Unix sockets (no
ipykernel: bento_wasm.offload.channel.serve answers in a process of its own, on its main
thread, as in a kernel)."""

import asyncio
import multiprocessing
import socket
import time

import pytest

from bento_wasm.errors import SessionLost
from bento_wasm.offload import channel as kernel_side
from bento_wasm.server.channel import Listener


class Shell:
    display_pub = None


def answer(header, buffers):
    if header.get("op") == "slow":
        time.sleep(0.5)
    return {"status": "ok", "op": header.get("op")}, [b"x" * header.get("n", 0)]


def kernel(path):
    """Connect and answer frames until the executor closes, or a call says ``die``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    with sock:
        while True:
            frame = kernel_side.read_frame(sock)
            if frame is None:
                return
            header = kernel_side.unpack(frame)[0]
            if header.get("op") == "die":
                return
            kernel_side.serve(sock, frame, Shell(), answer)


async def connected(tmp_path):
    listener = await Listener(str(tmp_path)).start()
    process = multiprocessing.get_context("spawn").Process(target=kernel, args=(listener.path,))
    process.start()
    channel = await listener.accept(10.0)
    listener.close()
    return channel, process


def test_the_listener_leaves_nothing_behind_once_the_kernel_connected(tmp_path):
    async def run():
        channel, process = await connected(tmp_path)
        channel.close()
        await asyncio.to_thread(process.join, 5)
        return list(tmp_path.iterdir()), process.exitcode

    assert asyncio.run(run()) == ([], 0)  # the kernel's end saw the socket close


def test_an_answer_comes_back_with_its_buffers(tmp_path):
    async def run():
        channel, process = await connected(tmp_path)
        call = await channel.send({"op": "call", "n": 70000}, [b"request"])
        envelope, buffers = await channel.wait(call, 5.0)
        channel.close()
        await asyncio.to_thread(process.join, 5)
        return envelope, buffers

    envelope, buffers = asyncio.run(run())
    assert envelope["reply"] == {"status": "ok", "op": "call"} and envelope["outputs"] == []
    assert [len(b) for b in buffers] == [70000]


def test_a_late_answer_is_dropped_by_the_next_call(tmp_path):
    async def run():
        channel, process = await connected(tmp_path)
        slow = await channel.send({"op": "slow"}, [])
        assert await channel.wait(slow, 0.05) is None  # the executor stops waiting (a timeout)
        call = await channel.send({"op": "next"}, [])
        envelope, _ = await channel.wait(call, 5.0)
        channel.close()
        await asyncio.to_thread(process.join, 5)
        return envelope

    envelope = asyncio.run(run())
    assert envelope["reply"]["op"] == "next"


def test_a_kernel_that_dies_mid_call_is_session_lost(tmp_path):
    async def run():
        channel, process = await connected(tmp_path)
        call = await channel.send({"op": "die"}, [])
        try:
            await channel.wait(call, 5.0)
        finally:
            channel.close()
            await asyncio.to_thread(process.join, 5)

    with pytest.raises(SessionLost, match="died while running this call") as caught:
        asyncio.run(run())
    assert caught.value.status == 410
