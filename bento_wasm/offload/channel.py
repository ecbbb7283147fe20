"""The call channel: calls from an executor on this machine over a Unix socket, not ZMQ.

A call sent as a comm message crosses the kernel's shell socket, its dispatcher, a busy and
an idle status and the IOPub thread: about 3 ms a round trip here, most of a no-op call.
When the executor runs on the kernel's machine (it proved it with the shared-file probe) it
listens on a Unix socket in a private directory and names it when it opens the comm; the
kernel connects once and serves each request on its main thread (the IOLoop's reader), as
a shell message would run: interrupts (SIGINT) raise ``KeyboardInterrupt`` in the call, and
the call's stdout, stderr and displays are captured in order and sent with its answer.

A frame is an 8-byte little-endian length and an envelope (:func:`bento_wasm.offload.values.pack`):
the request's header carries ``call`` (its number; the executor drops answers to calls it
stopped waiting for) and, for large buffers, the shared files of
:mod:`bento_wasm.offload.shared`, exactly as the comm message does. Stdlib only, plus
IPython, present in any ipykernel, imported when a call runs.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import sys

from .values import pack, unpack

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    Answer = Callable[[dict[str, Any], list[Any]], tuple[dict[str, Any], list[Any]]]

__all__ = ["LENGTH", "Outputs", "connect", "read_frame"]

#: Each frame starts with its length.
LENGTH = struct.Struct("<Q")


def read_frame(sock: socket.socket) -> bytearray | None:
    """One frame from a blocking socket; ``None`` when the peer closed it."""
    head = _read_exactly(sock, LENGTH.size)
    if head is None:
        return None
    (size,) = LENGTH.unpack(head)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, size: int) -> bytearray | None:
    data = bytearray(size)
    view = memoryview(data)
    at = 0
    while at < size:
        got = sock.recv_into(view[at:])
        if not got:
            return None
        at += got
    return data


def write_frame(sock: socket.socket, header: dict[str, Any], buffers: list[Any]) -> None:
    envelope = pack(header, buffers)
    sock.sendall(LENGTH.pack(len(envelope)))
    sock.sendall(envelope)


class Outputs:
    """A call's stdout, stderr and displays, in the order they happened (consecutive writes
    to one stream joined), as the executor's envelope lists them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def stream(self, name: str, text: str) -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last["type"] == "stream" and last["name"] == name:
            last["text"] += text
        elif text:
            self.items.append({"type": "stream", "name": name, "text": text})

    def display(self, kind: str, data: Any, metadata: Any, transient: Any) -> None:
        item = {"type": kind, "data": data, "metadata": metadata or {}}
        if transient:
            item["transient"] = transient
        self.items.append(item)


class _Stream:
    """``sys.stdout`` / ``sys.stderr`` during a call."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, outputs: Outputs, name: str) -> None:
        self.outputs, self.name = outputs, name

    def write(self, text: str) -> int:
        self.outputs.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def captured(shell: Any, outputs: Outputs) -> Iterator[None]:
    """Send the call's output to ``outputs``; interrupts raise ``KeyboardInterrupt`` meanwhile
    (ipykernel ignores SIGINT between its own handlers). Displays are taken with a hook of
    ipykernel's display publisher (as ipywidgets' Output widget takes them)."""

    def hook(msg: dict[str, Any]) -> None:
        kind = str(msg.get("msg_type") or msg.get("header", {}).get("msg_type"))
        content = msg.get("content") or {}
        if kind in ("display_data", "update_display_data"):  # clear_output: not kept either
            data, metadata = content.get("data"), content.get("metadata")
            outputs.display(kind, data, metadata, content.get("transient"))

    publisher = shell.display_pub
    hooked = hasattr(publisher, "register_hook")
    saved = sys.stdout, sys.stderr
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.stdout, sys.stderr = _Stream(outputs, "stdout"), _Stream(outputs, "stderr")
    if hooked:
        publisher.register_hook(hook)
    try:
        yield
    finally:
        if hooked:
            publisher.unregister_hook(hook)
        sys.stdout, sys.stderr = saved
        signal.signal(signal.SIGINT, previous)


def connect(path: str, shell: Any, answer: Answer) -> bool:
    """Connect to the executor's socket at ``path`` and serve its calls on this thread's
    event loop (ipykernel's, on the main thread); False when it cannot be reached (the
    executor then keeps the comm)."""
    import asyncio

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return False
    loop = asyncio.get_event_loop()

    def ready() -> None:
        try:
            frame = read_frame(sock)
        except OSError:
            frame = None
        if frame is None:  # the executor closed the session
            loop.remove_reader(sock.fileno())
            sock.close()
            return
        serve(sock, frame, shell, answer)

    loop.add_reader(sock.fileno(), ready)
    return True


def serve(sock: socket.socket, frame: bytearray, shell: Any, answer: Answer) -> None:
    """Run one request and write its answer (a broken socket ends the call quietly: the
    executor has gone, and it tells its caller)."""
    from . import shared

    header, buffers = unpack(frame)
    outputs = Outputs()
    with captured(shell, outputs):
        try:
            reply, out = answer(header, list(buffers))
            out = shared.place(reply, out, header.get("reply_shared"), header.get("source"))
        except KeyboardInterrupt:  # between the user's code and the answer
            reply, out = {"status": "error", "ename": "KeyboardInterrupt", "evalue": ""}, []
    del buffers, frame
    envelope = {"call": header.get("call"), "reply": reply, "outputs": outputs.items}
    with contextlib.suppress(OSError):
        write_frame(sock, envelope, out)
