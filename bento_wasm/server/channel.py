"""The executor's end of a session's call channel (:mod:`bento_wasm.offload.channel`).

For a kernel on this machine the executor listens on a Unix socket in a private directory
(mode 0700, removed once the kernel has connected), names it when it opens the session's
comm, and then sends each call as one frame on the connection and reads the answer from it:
no ZMQ message, no IOPub parsing. A call the executor stops waiting for (a timeout) leaves
its answer to come later; the next call reads and drops it (each frame carries its call's
number), so the stream never goes out of step. A closed connection means the kernel died.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from typing import Any

from ..errors import SessionLost
from ..offload.channel import LENGTH
from ..offload.values import frame, unpack

__all__ = ["Channel", "Listener"]


class Listener:
    """A socket waiting for one kernel to connect."""

    def __init__(self, where: str) -> None:
        self.folder = tempfile.mkdtemp(prefix="bento-channel-", dir=where)  # mode 0700
        self.path = os.path.join(self.folder, "calls")
        self.connected: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> Listener:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if self.connected.done():
                writer.close()  # one kernel per session
            else:
                self.connected.set_result(Channel(reader, writer))

        self.server = await asyncio.start_unix_server(accepted, self.path)
        return self

    async def accept(self, timeout: float) -> Channel:
        return await asyncio.wait_for(asyncio.shield(self.connected), timeout)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Channel:
    """One session's connection to its kernel: a call at a time (the session's lock)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.calls = 0
        #: the read of an answer nobody waits for any more (a timed-out call's)
        self.pending: asyncio.Task[tuple[dict[str, Any], list[Any]]] | None = None

    async def send(self, header: dict[str, Any], buffers: list[Any]) -> int:
        """Send one request; its call number."""
        self.calls += 1
        prefix, parts = frame({**header, "call": self.calls}, buffers)
        size = len(prefix) + sum(memoryview(p).nbytes for p in parts)
        self.writer.write(LENGTH.pack(size) + prefix)
        for part in parts:
            self.writer.write(memoryview(part).cast("B"))
        await self.writer.drain()
        return self.calls

    def answer(self) -> asyncio.Task[tuple[dict[str, Any], list[Any]]]:
        """The read of the next answer (one at a time: a read cut short would lose the
        stream's place, so an abandoned one is kept and awaited by the next call)."""
        if self.pending is None:
            self.pending = asyncio.ensure_future(self._read())
        return self.pending

    async def _read(self) -> tuple[dict[str, Any], list[Any]]:
        try:
            (size,) = LENGTH.unpack(await self.reader.readexactly(LENGTH.size))
            data = await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise SessionLost(
                "the remote kernel died while running this call (killed, or out of memory); "
                "its variables are lost. Run the call again: it gets a fresh session.",
                status=410,
            ) from exc
        header, buffers = unpack(data)
        return header, list(buffers)

    async def wait(self, call: int, timeout: float) -> tuple[dict[str, Any], list[Any]] | None:
        """The answer to ``call``, or None when ``timeout`` passed first (still coming)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            task = self.answer()
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                return None
            self.pending = None
            envelope, buffers = task.result()
            if envelope.get("call") == call:
                return envelope, buffers
            _drop(envelope)  # a timed-out call's late answer

    def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        with contextlib.suppress(RuntimeError, OSError):
            self.writer.close()


def _drop(envelope: dict[str, Any]) -> None:
    """A late answer's shared file (if any) goes with it."""
    answer = (envelope.get("reply") or {}).get("shared")
    if isinstance(answer, dict):
        with contextlib.suppress(OSError, KeyError):
            os.unlink(str(answer["path"]))
