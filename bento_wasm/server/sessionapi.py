"""The executor's HTTP endpoints (token auth and the one CORS rule of ``api.BentoAPIHandler``):

    POST   /bento/api/sessions/<id>/execute    envelope in, envelope out (bento_wasm.offload.values)
    POST   /bento/api/sessions/<id>/interrupt  interrupt the running call
    DELETE /bento/api/sessions/<id>            shut the session's kernel down
    GET    /bento/api/sessions                 the sessions and their kernels

Faults answer with ``{"error": BentoError.to_dict()}``: 413 payload too large (every
endpoint has a body limit: server/limits.py), 429 too many sessions, 504 call
timeout (the kernel is interrupted), 410 kernel died mid-call (the next call gets a
fresh session and a notice that state was lost).
"""

from __future__ import annotations

import time
from typing import Any

import tornado.web

from ..errors import BentoError, PayloadTooLarge
from ..offload.values import frame, unpack
from . import limits
from .api import BentoAPIHandler
from .sessions import BentoExecutor

__all__ = ["handlers"]


class _Handler(BentoAPIHandler):
    def initialize(self, executor: BentoExecutor) -> None:
        self.executor = executor

    def body_refused(self, limit: int = limits.SMALL_BODY, what: str = "this request") -> bool:
        """Answer 413 when the body is over ``limit`` bytes (server/limits.py); True if so."""
        try:
            limits.check_body(self.request.body, limit, what)
        except PayloadTooLarge as exc:
            self.write_bento_error(exc, 413)
            return True
        return False

    def write_bento_error(self, error: BentoError, status: int) -> None:
        self.fail(status, error)


class ExecuteHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, session_id: str) -> None:
        limit = self.executor.max_payload_mib * 2**20
        if len(self.request.body) > limit:
            error = PayloadTooLarge(
                f"the request is {len(self.request.body) / 2**20:.1f} MiB, over the executor's "
                f"limit of {self.executor.max_payload_mib} MiB. Send less data (filter or "
                "sample first), or raise --BentoExecutor.max_payload_mib on the server.",
                status=413,
            )
            return self.write_bento_error(error, 413)
        started = time.perf_counter()
        try:
            header, buffers = unpack(self.request.body)
            envelope, out = await self.executor.execute(session_id, header, buffers)
        except BentoError as exc:
            status = int(getattr(exc, "status", None) or 500)
            return self.write_bento_error(exc, status)
        ran = time.perf_counter()
        await self.write_envelope(envelope, out)
        self.executor.log.debug(
            "bento call in %s: %.1f MiB in, ran %.1f ms, answered in %.1f ms",
            session_id, len(self.request.body) / 2**20, (ran - started) * 1000,
            (time.perf_counter() - ran) * 1000,
        )  # fmt: skip

    async def write_envelope(self, header: dict[str, Any], buffers: list[Any]) -> None:
        """Send the envelope in parts: the data buffers go out as they are, never joined."""
        prefix, parts = frame(header, buffers)
        views = [memoryview(p).cast("B") for p in parts]
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(len(prefix) + sum(v.nbytes for v in views)))
        self.write(prefix)
        await self.flush()
        for view in views:
            await self.request.connection.write(view)  # type: ignore[union-attr,arg-type]
        self.finish()


class InterruptHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, session_id: str) -> None:
        if self.body_refused(what="an interrupt"):
            return
        self.finish({"interrupted": await self.executor.interrupt(session_id)})


class SessionHandler(_Handler):
    @tornado.web.authenticated
    async def delete(self, session_id: str) -> None:
        if self.body_refused(what="a session shutdown"):
            return
        self.finish({"closed": await self.executor.close(session_id)})


class SessionsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        if self.body_refused(what="a sessions request"):
            return
        sessions = [
            {"id": s.id, "kernel_id": s.kernel_id, "calls": s.calls, "binary": s.binary}
            for s in self.executor.sessions.values()
        ]
        self.finish({"sessions": sessions})


def handlers(app: Any) -> list[tuple[str, type, dict[str, Any]]]:
    """Routes for ``BentoApp.initialize_handlers``."""
    executor = BentoExecutor(app.serverapp.kernel_manager, parent=app)
    app.bento_executor = executor
    args = {"executor": executor}
    session = r"/bento/api/sessions/(?P<session_id>[\w.-]+)"
    return [
        (session + "/execute", ExecuteHandler, args),
        (session + "/interrupt", InterruptHandler, args),
        (session, SessionHandler, args),
        (r"/bento/api/sessions/?", SessionsHandler, args),
    ]
