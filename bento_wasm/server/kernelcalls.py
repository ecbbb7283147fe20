"""How one call reaches a session's kernel and comes back (the executor's half).

A kernel on this machine takes the call on its Unix socket (:mod:`bento_wasm.server.channel`),
its outputs coming back with the answer. Otherwise (a gateway's kernel, or the channel turned
off) the call is a comm message to :mod:`bento_wasm.offload.runner`, its buffers ZMQ frames or
base64, and its outputs the iopub messages with that parent. Either way the call is
interrupted when it runs out of time, and a kernel that died is reported.
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import BentoError, ExecutorTimeout, SessionLost
from ..offload import shared
from .channel import Channel

__all__ = ["KernelCalls", "Session"]

OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error", "update_display_data"}


@dataclass
class Session:
    id: str
    kernel_id: str
    client: Any
    binary: bool
    #: the kernel reads and writes large buffers through shared files (it runs on this machine)
    shared: bool = False
    #: the kernel's call channel (a Unix socket), when it is on this machine
    channel: Channel | None = None
    comm_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    calls: int = 0
    created: float = field(default_factory=time.time)
    #: When a call last started or ended (idle sessions are culled from it: limits.py).
    last_used: float = field(default_factory=time.time)


class KernelCalls:
    """The call path of :class:`~bento_wasm.server.sessions.BentoExecutor`."""

    kernel_manager: Any
    log: Any

    @property
    def directory(self) -> str:
        raise NotImplementedError

    async def forget(self, session_id: str, reason: str) -> None:
        raise NotImplementedError

    async def _call(
        self,
        session: Session,
        header: dict[str, Any],
        buffers: list[Any],
        timeout: float,
        body: shared.SharedFile | None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
        client = session.client
        data = {**header, "binary": session.binary}
        if session.shared:
            data["reply_shared"] = {"dir": self.directory, "tag": session.comm_id}
            if body is not None and buffers:
                sizes = [memoryview(b).nbytes for b in buffers]
                spans = shared.spans(sizes, body.size - sum(sizes))  # the envelope's end
                data["shared"] = {"path": body.path, "spans": spans}
                buffers = []
        if session.channel is not None:
            return await self._call_channel(session, session.channel, data, buffers, timeout, body)
        if not session.binary:
            data["b64"] = [base64.b64encode(b).decode("ascii") for b in buffers]
        msg = client.session.msg("comm_msg", {"comm_id": session.comm_id, "data": data})
        if session.binary:
            client.session.send(client.shell_channel.socket, msg, buffers=buffers)
        else:
            client.shell_channel.send(msg)
        return await self._collect(session, msg["header"]["msg_id"], timeout, body)

    async def _call_channel(
        self, session: Session, channel: Channel, data: dict[str, Any], buffers: list[Any],
        timeout: float, body: shared.SharedFile | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:  # fmt: skip
        call = await channel.send(data, buffers)
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = await channel.wait(call, min(1.0, max(0.0, deadline - time.monotonic())))
            except SessionLost:
                await self.forget(session.id, "the remote kernel died during a call")
                raise
            if answer is not None:
                envelope, frames = answer
                reply = dict(envelope.get("reply") or {})
                outputs = [_jsonable(o) for o in envelope.get("outputs") or []]
                return reply, outputs, _reply_buffers(session, reply, frames, body)
            await self._check_call(session, deadline, timeout)

    async def _check_call(self, session: Session, deadline: float, timeout: float) -> None:
        """Raise when the call ran out of time (interrupting it) or its kernel died."""
        if time.monotonic() > deadline:
            await self._timed_out(session, timeout)
        if not await self._alive(session):
            await self.forget(session.id, "the remote kernel died during a call")
            raise SessionLost(
                "the remote kernel died while running this call (killed, or out of memory); "
                "its variables are lost. Run the call again: it gets a fresh session.",
                status=410,
            )

    async def _collect(
        self, session: Session, msg_id: str, timeout: float, body: shared.SharedFile | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
        outputs: list[dict[str, Any]] = []
        reply: dict[str, Any] | None = None
        reply_buffers: list[Any] = []
        started = time.monotonic()
        deadline = started + timeout
        next_check = started + 1.0
        while True:
            now = time.monotonic()
            if now > deadline or now > next_check:
                next_check = now + 1.0
                await self._check_call(session, deadline, timeout)
            try:
                msg = await session.client.get_iopub_msg(timeout=0.2)
            except (queue.Empty, TimeoutError):
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "comm_msg" and content.get("comm_id") == session.comm_id:
                reply = dict(content.get("data") or {})
                frames = list(msg.get("buffers") or [])
                reply_buffers = _reply_buffers(session, reply, frames, body)
                if reply.pop("flushed", False):
                    break  # its outputs came first; the idle status adds nothing
            elif kind in OUTPUT_TYPES:
                outputs.append({"type": kind, **_jsonable(content)})
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if reply is None:
            raise BentoError(
                "the remote kernel finished without answering; see its log (is bento_wasm the "
                "same release on the executor?)"
            )
        return reply, outputs, reply_buffers

    async def _alive(self, session: Session) -> bool:
        try:
            alive = await self.kernel_manager.get_kernel(session.kernel_id).is_alive()
        except KeyError:
            return False
        return bool(alive)

    async def _timed_out(self, session: Session, timeout: float) -> None:
        await self.kernel_manager.interrupt_kernel(session.kernel_id)
        raise ExecutorTimeout(
            f"the remote call ran longer than {timeout:g} s, so the executor interrupted it; "
            "the session keeps its state. Pass a larger timeout_s in the executor options or "
            "raise --BentoExecutor.call_timeout_s on the server.",
            status=504,
        )


def _reply_buffers(
    session: Session, reply: dict[str, Any], frames: list[Any], body: shared.SharedFile | None
) -> list[Any]:
    """The answer's buffers: views of the kernel's shared file (unlinked at once: the mapping
    lives as long as the views, while the answer is sent) and of the request's file ``body``
    (buffers the kernel left there), frames, or base64."""
    if isinstance(answer := reply.get("shared"), dict):
        del reply["shared"]
        return shared.answer_buffers(answer, body)
    if not session.binary:
        return [base64.b64decode(b) for b in reply.pop("b64", [])]
    return frames


def _jsonable(content: dict[str, Any]) -> dict[str, Any]:
    """iopub content as plain JSON (dates and the like become strings)."""
    return dict(json.loads(json.dumps(content, default=str)))
