"""The executor's HTTP endpoints (token auth and the one CORS rule of ``api.BentoAPIHandler``):

    POST   /bento/api/sessions/<id>/execute    envelope in, envelope out (bento_wasm.offload.values)
    GET    /bento/api/sessions/<id>/calls      a WebSocket: the same, one message per call
    POST   /bento/api/sessions/<id>/interrupt  interrupt the running call
    DELETE /bento/api/sessions/<id>            shut the session's kernel down
    GET    /bento/api/sessions                 the sessions and their kernels

Faults answer with ``{"error": BentoError.to_dict()}``: 413 payload too large (every
endpoint has a body limit: server/limits.py), 429 too many sessions, 504 call
timeout (the kernel is interrupted), 410 kernel died mid-call (the next call gets a
fresh session and a notice that state was lost).

The WebSocket (token as ``?token=``, browsers cannot set headers on one) carries small calls
from the worker (:mod:`bento_wasm.browser.calls`) without an HTTP request each: a message in is
an envelope; a message out is a 4-byte status and what the execute endpoint would have
answered with it (the envelope, or the JSON error). One call at a time per socket.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import struct
import time
from typing import Any

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..environment.interface import Pieces
from ..errors import BentoError, PayloadTooLarge
from ..offload import shared
from ..offload.shared import SharedFile
from ..offload.values import frame, pack, unpack
from . import limits
from .api import BentoAPIHandler
from .sessions import BentoExecutor

__all__ = ["handlers"]


def _landing(length: int, executor: BentoExecutor) -> SharedFile | bytearray:
    """Where a body of ``length`` bytes lands: a shared file when the executor uses them."""
    if executor.shared_files and length >= shared.MIN_BYTES:
        try:
            return SharedFile.create(length, "request", executor.directory)
        except OSError as exc:  # /dev/shm full or missing: memory, the kernel gets messages
            executor.log.warning("bento: request body in memory, not a shared file (%s)", exc)
    return bytearray(length)


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


@tornado.web.stream_request_body
class ExecuteHandler(_Handler):
    """The request body is streamed into its landing place as it arrives: a shared file a
    local kernel maps (:mod:`bento_wasm.offload.shared`), else memory. A body over the limit
    is read and dropped, never stored; a client that is not logged in stores nothing."""

    body: Any = None
    received = 0
    too_large = False
    refused: tornado.web.HTTPError | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        # A refused client's body is read and dropped (data_received), never stored, and the
        # refusal answered after it: answering before would break the client's upload (a
        # broken pipe or a reset instead of the 403).
        try:
            await super().prepare()  # the token and XSRF checks
        except tornado.web.HTTPError as exc:
            if self.request.method == "OPTIONS":
                raise  # a refused preflight: no body to drain, answered as every endpoint's
            self.refused = exc
        if self.refused is None and not self.current_user:
            self.refused = tornado.web.HTTPError(403)
        length = int(self.request.headers.get("Content-Length") or 0)
        self.too_large = length > self.executor.max_payload_mib * 2**20
        if self.too_large or self.refused is not None:
            return
        self.body = _landing(length, self.executor)
        headers = self.request.headers
        if not length or "Transfer-Encoding" in headers:
            return  # read by tornado, piece by piece, into data_received
        # Read the body here, straight from the socket into its landing place (tornado would
        # read it 64 KiB at a time and copy each piece three times: ~0.5 s per 100 MiB).
        stream: Any = self.request.connection.stream  # type: ignore[union-attr]
        if headers.get("Expect", "").lower() == "100-continue":
            del headers["Expect"]
            stream.write(b"HTTP/1.1 100 (Continue)\r\n\r\n")
        view = self.body.view() if isinstance(self.body, SharedFile) else memoryview(self.body)
        try:
            await stream.read_into(view)
        finally:
            view.release()
        self.received = length
        headers["Content-Length"] = "0"  # nothing left for tornado to read

    def data_received(self, chunk: bytes) -> None:
        size = len(chunk)
        if self.body is not None:
            view = self.body.view() if isinstance(self.body, SharedFile) else self.body
            if self.received + size > len(view):  # no Content-Length, or a longer body
                self.body = bytearray(bytes(view[: self.received]))
                view = self.body
            view[self.received : self.received + size] = chunk
        self.received += size

    def on_finish(self) -> None:
        if isinstance(self.body, SharedFile):
            self.body.unlink()
        self.body = None

    on_connection_close = on_finish

    async def post(self, session_id: str) -> None:
        if self.refused is not None:
            raise self.refused
        limit = self.executor.max_payload_mib * 2**20
        if self.too_large or self.received > limit:
            error = PayloadTooLarge(
                f"the request is {self.received / 2**20:.1f} MiB, over the executor's "
                f"limit of {self.executor.max_payload_mib} MiB. Send less data (filter or "
                "sample first), or raise --BentoExecutor.max_payload_mib on the server.",
                status=413,
            )
            return self.write_bento_error(error, 413)
        body = self.body
        shared = body if isinstance(body, SharedFile) and body.size == self.received else None
        data = body.view() if shared is not None else memoryview(body or b"")[: self.received]
        started = time.perf_counter()
        try:
            header, buffers = unpack(data)
            envelope, out = await self.executor.execute(session_id, header, buffers, shared)
        except BentoError as exc:
            status = int(getattr(exc, "status", None) or 500)
            return self.write_bento_error(exc, status)
        finally:
            self.on_finish()  # the kernel has mapped the file (or never will): drop its name
        ran = time.perf_counter()
        await self.write_envelope(envelope, out)
        self.executor.log.debug(
            "bento call in %s: %.1f MiB in, ran %.1f ms, answered in %.1f ms",
            session_id, self.received / 2**20, (ran - started) * 1000,
            (time.perf_counter() - ran) * 1000,
        )  # fmt: skip

    async def write_envelope(self, header: dict[str, Any], buffers: list[Any]) -> None:
        """Send the envelope in parts: the data buffers go out as they are, never joined."""
        prefix, parts = frame(header, buffers)
        views = [v for p in parts for v in (p.items if isinstance(p, Pieces) else [p])]
        views = [memoryview(v).cast("B") for v in views]
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(len(prefix) + sum(v.nbytes for v in views)))
        if not views:
            self.finish(prefix)  # the headers and the envelope in one write
            return
        self.write(prefix)
        await self.flush()
        for view in views:
            await self.request.connection.write(view)  # type: ignore[union-attr,arg-type]
        self.finish()


#: A WebSocket answer starts with the HTTP status the execute endpoint would have given.
STATUS = struct.Struct("<I")


class CallsSocket(WebSocketMixin, WebSocketHandler, _Handler):
    """``GET /bento/api/sessions/<id>/calls``: calls as WebSocket messages (see above)."""

    session_id = ""

    def set_default_headers(self) -> None:
        """Not JupyterHandler's (they make no sense for a WebSocket)."""

    def check_origin(self, origin: str = "") -> bool:  # the one CORS rule of /bento/api
        return _Handler.check_origin(self, origin)

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        if not self.check_origin():
            raise tornado.web.HTTPError(403)
        await JupyterHandler.prepare(self, _redirect_to_login=False)  # the token, no redirect

    async def get(self, session_id: str) -> None:
        # The token itself, not the page's login cookie: a call with a wrong token must be
        # refused here as by HTTP (the client then falls back to HTTP, which says why).
        given = self.identity_provider.get_token(self) or ""
        if not self.current_user or (self.token and not hmac.compare_digest(given, self.token)):
            raise tornado.web.HTTPError(403)
        self.session_id = session_id
        await super().get(session_id)

    async def on_message(self, message: str | bytes) -> None:
        data = message if isinstance(message, bytes) else message.encode()
        limit = self.executor.max_payload_mib * 2**20
        try:
            if len(data) > limit:
                raise PayloadTooLarge(f"a call of {len(data)} bytes is over {limit}", status=413)
            header, buffers = unpack(data)
            envelope, out = await self.executor.execute(self.session_id, header, buffers)
            status, answer = 200, pack(envelope, out)
        except BentoError as exc:
            status = int(getattr(exc, "status", None) or 500)
            error = {"error": exc.to_dict(), "message": exc.message}
            answer = bytearray(json.dumps(error).encode())
        with contextlib.suppress(WebSocketClosedError):  # the client gave up (its timeout)
            await self.write_message(STATUS.pack(status) + answer, binary=True)


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
            {
                "id": s.id,
                "kernel_id": s.kernel_id,
                "calls": s.calls,
                "binary": s.binary,
                "shared": s.shared,
                "channel": s.channel is not None,
            }
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
        (session + "/calls", CallsSocket, args),
        (session + "/interrupt", InterruptHandler, args),
        (session, SessionHandler, args),
        (r"/bento/api/sessions/?", SessionsHandler, args),
    ]
