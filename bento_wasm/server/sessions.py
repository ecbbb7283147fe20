"""The executor: one remote session per notebook, each backed by a real ipykernel.

Kernels come from Jupyter Server's kernel manager, so ``--gateway-url`` places them on
a Kernel or Enterprise Gateway instead of this machine, unchanged. A session's kernel
runs :mod:`bento_wasm.offload.runner` as a comm target. A kernel on this machine takes calls
on a Unix socket (:mod:`bento_wasm.server.channel`), their large buffers in shared files;
elsewhere (a gateway) a call is one comm message (its Arrow buffers ride as ZMQ frames,
base64 through a gateway) and its outputs are the iopub messages with that parent. Its HTTP
endpoints are in :mod:`bento_wasm.server.sessionapi`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import time
from pathlib import Path
from typing import Any

import tornado.web
from traitlets import Bool, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

import bento_wasm

from ..errors import BentoError, ExecutorError
from ..offload import shared
from ..offload.runner import COMM_TARGET
from . import limits
from .channel import Listener
from .kernelcalls import KernelCalls, Session

__all__ = ["BentoExecutor", "Session"]

#: The checkout (or site-packages) holding this bento_wasm: kernels must import the same one.
PACKAGE_ROOT = str(Path(bento_wasm.__file__).resolve().parents[1])


class BentoExecutor(KernelCalls, LoggingConfigurable):
    """Sessions on kernels from the server's kernel manager (local or a gateway's)."""

    kernel_name = Unicode("python3", help="kernel spec for session kernels").tag(config=True)
    call_timeout_s = Float(600.0, help="longest a call may run; then it is interrupted").tag(
        config=True
    )
    max_payload_mib = Int(512, help="largest request body accepted, in MiB").tag(config=True)
    startup_timeout_s = Float(60.0, help="how long a session's kernel may take to start").tag(
        config=True
    )
    max_sessions = Int(
        16, help="most remote sessions at once (each an ipykernel); 0: no limit"
    ).tag(config=True)
    cull_idle_s = Float(
        3600.0, help="shut down a session after this long without a call; 0: never"
    ).tag(config=True)
    cull_interval_s = Float(60.0, help="how often idle sessions are looked for").tag(config=True)
    shared_files = Bool(
        True,
        help="pass large buffers to kernels on this machine through files in shared memory "
        "(/dev/shm) instead of ZMQ messages; kernels on a gateway always use messages",
    ).tag(config=True)
    shared_dir = Unicode("", help="where those files go (default /dev/shm)").tag(config=True)
    call_channel = Bool(
        True, help="send calls to kernels on this machine over a Unix socket instead of ZMQ "
        "messages (with shared_files)",
    ).tag(config=True)  # fmt: skip

    def __init__(self, kernel_manager: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_manager = kernel_manager
        self.sessions: dict[str, Session] = {}
        self.lost: dict[str, str] = {}
        self.starting: set[str] = set()
        self._starting: dict[str, asyncio.Lock] = {}
        self.culler = limits.SessionCuller(self)

    # -- sessions --------------------------------------------------------------------
    async def session(self, session_id: str) -> Session:
        lock = self._starting.setdefault(session_id, asyncio.Lock())
        async with lock:
            existing = self.sessions.get(session_id)
            if existing is not None:
                return existing
            limits.check_capacity(self, session_id)
            self.starting.add(session_id)
            try:
                started = await self._start(session_id)
            finally:
                self.starting.discard(session_id)
            self.sessions[session_id] = started
            self.culler.start()
            return started

    async def _start(self, session_id: str) -> Session:
        km = self.kernel_manager
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        kernel_id = await km.start_kernel(kernel_name=self.kernel_name, env=env)
        try:
            session = await self._connect(session_id, kernel_id)
        except Exception as exc:  # the one boundary: whatever the kernel host raised
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(kernel_id, now=True)
            raise ExecutorError(
                f"the session kernel started but cannot be used: {exc}. Check the kernel host "
                "(with --gateway-url: that the gateway is up and accepts this server's token).",
                status=502,
            ) from exc
        self.log.info("bento session %s on kernel %s", session_id, kernel_id)
        return session

    async def _connect(self, session_id: str, kernel_id: str) -> Session:
        kernel = self.kernel_manager.get_kernel(kernel_id)
        # Jupyter Server watches every kernel's iopub for activity: for a session kernel that
        # is one more ZMQ delivery and copy of every result (140 ms per 100 MiB). The executor
        # records the activity itself (one call at a time).
        if hasattr(self.kernel_manager, "stop_watching_activity"):
            self.kernel_manager.stop_watching_activity(kernel_id)
        if hasattr(kernel, "stop_restarter"):
            kernel.stop_restarter()  # a dead kernel stays dead: we report it, then start anew
        client = kernel.client()
        started = client.start_channels()
        if asyncio.iscoroutine(started):
            await started
        binary = type(client).__name__ != "GatewayKernelClient"  # gateways carry JSON only
        session = Session(session_id, kernel_id, client, binary)
        await self._prepare(session)
        return session

    async def _prepare(self, session: Session) -> None:
        """Install the runner in the kernel and open its comm."""
        client = session.client
        code = "import bento_wasm.offload.runner as _bento_runner\n_bento_runner.install()"
        msg_id = client.execute(code, silent=True, store_history=False)
        if asyncio.iscoroutine(msg_id):
            msg_id = await msg_id
        reply = await self._wait_shell_reply(session, msg_id, self.startup_timeout_s)
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise BentoError(
                "the session kernel cannot import bento_wasm "
                f"({content.get('ename')}: {content.get('evalue')}). Install bento-wasm in the "
                "kernel's environment (on a gateway: on its hosts, or set PYTHONPATH there)."
            )
        await self._iopub_connected(session)
        probe = self._probe_file(session) if session.binary and self.shared_files else None
        data: dict[str, Any] = {}
        if probe is not None:
            data["probe"] = {"path": probe.path, "token": session.comm_id}
        listener = await Listener(self.directory).start() if probe and self.call_channel else None
        if listener is not None:
            data["channel"] = listener.path
        msg = client.session.msg(
            "comm_open", {"comm_id": session.comm_id, "target_name": COMM_TARGET, "data": data}
        )
        client.shell_channel.send(msg)
        try:  # the kernel answers whether it can read the probe: then it is on this machine
            if probe is not None:
                reply, _, _ = await self._collect(session, msg["header"]["msg_id"], 10.0)
                session.shared = reply.get("shared") is True
                if listener is not None and reply.get("channel") is True:
                    session.channel = await listener.accept(10.0)
        except (BentoError, TimeoutError) as exc:
            self.log.warning("bento session %s: no shared files (%s)", session.id, exc)
        finally:
            if probe is not None:
                probe.unlink()
            if listener is not None:
                listener.close()

    def _probe_file(self, session: Session) -> shared.SharedFile | None:
        try:
            return shared.probe(session.comm_id, self.directory)
        except OSError as exc:  # no shared directory: this session uses messages
            self.log.warning("bento: no shared files in %s (%s)", self.directory, exc)
            return None

    @property
    def directory(self) -> str:
        return self.shared_dir or shared.directory()

    async def _iopub_connected(self, session: Session) -> None:
        """Wait until iopub delivers: a SUB socket misses what is published before it joins."""
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            msg_id = session.client.execute("", silent=True, store_history=False)
            if asyncio.iscoroutine(msg_id):
                msg_id = await msg_id
            until = time.monotonic() + 1.0
            while time.monotonic() < until:
                try:
                    msg = await session.client.get_iopub_msg(timeout=0.2)
                except (queue.Empty, TimeoutError):
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    return
        raise BentoError("the session kernel's output channel (iopub) never connected")

    async def _wait_shell_reply(self, session: Session, msg_id: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply = await session.client.get_shell_msg(timeout=0.5)
            except (queue.Empty, TimeoutError):
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply
        raise BentoError(f"the session kernel did not answer within {timeout:.0f} s")

    async def forget(self, session_id: str, reason: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        self.lost[session_id] = reason
        await self._shutdown(session)

    async def _shutdown(self, session: Session) -> None:
        shared.sweep(session.comm_id, self.directory)
        if session.channel is not None:
            session.channel.close()
        with contextlib.suppress(RuntimeError, OSError):  # already closed with its kernel
            session.client.stop_channels()
        if session.kernel_id in self.kernel_manager:
            await self.kernel_manager.shutdown_kernel(session.kernel_id, now=True)

    async def close(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            await self._shutdown(session)
        return session is not None

    async def interrupt(self, session_id: str) -> bool:
        session = self.sessions.get(session_id)
        if session is None or not session.lock.locked():
            return False  # nothing running: an idle kernel is left alone
        await self.kernel_manager.interrupt_kernel(session.kernel_id)
        return True

    # -- calls -----------------------------------------------------------------------
    async def execute(
        self,
        session_id: str,
        header: dict[str, Any],
        buffers: list[Any],
        body: shared.SharedFile | None = None,
    ) -> Any:
        """Run one request; the response envelope's header and buffers.

        ``body``: the shared file the request landed in (``buffers`` are views of its end);
        a kernel on this machine then maps it instead of receiving the buffers as messages.
        """
        session = await self.session(session_id)
        notice = ""
        if session_id in self.lost:
            notice = (
                f"{self.lost.pop(session_id)}; this call runs in a fresh remote session: "
                "variables from earlier remote cells and calls are gone."
            )
        timeout = min(float(header.pop("timeout_s", self.call_timeout_s)), self.call_timeout_s)
        async with session.lock:
            session.calls += 1
            session.last_used = time.time()
            self._record_activity(session, "busy")
            try:
                reply, outputs, out_buffers = await self._call(
                    session, header, buffers, timeout, body
                )
            finally:
                session.last_used = time.time()
                self._record_activity(session, "idle")
                if session.shared:
                    shared.sweep(session.comm_id, self.directory)  # a reply nobody read
        envelope = {"reply": reply, "outputs": outputs, "notice": notice, "session": session_id}
        return envelope, out_buffers

    def _record_activity(self, session: Session, state: str) -> None:
        """What Jupyter Server's activity watch, stopped for session kernels, would record
        (kernel culling and /api/kernels read it)."""
        from jupyter_server._tz import utcnow

        try:
            kernel = self.kernel_manager.get_kernel(session.kernel_id)
        except (KeyError, tornado.web.HTTPError):  # gone (killed, shut down)
            return
        kernel.execution_state = state
        kernel.last_activity = self.kernel_manager.last_kernel_activity = utcnow()


def _pythonpath() -> str:
    existing = os.environ.get("PYTHONPATH")
    return PACKAGE_ROOT + (os.pathsep + existing if existing else "")
