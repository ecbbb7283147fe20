"""The data magics' session: the options, transport and admission check of one kernel.

The worker or ``%load_ext bento_wasm`` installs it (:func:`configure`); the magics take it
with :func:`session`. Calls to the executor go through its transport, and the executor's
refusals come back as the server's own error classes.
"""

from __future__ import annotations

import json
import os

from ..errors import BentoError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from ..environment.interface import HttpResponse
    from .requests import Executor, HttpRequest
    from .transport import Transport

__all__ = ["RESULT", "DataSession", "configure", "session"]

#: Where a result without ``-o`` is bound for a moment, before it becomes the cell's value.
RESULT = "__bento_result__"


class DataSession:
    """What the data magics of one kernel use: its options, transport and admission check."""

    def __init__(
        self,
        transport: Transport,
        options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        admit: Callable[[int, str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.options = dict(options or {})
        self.environ = os.environ if environ is None else environ
        self.admit = admit or (lambda nbytes, what: None)

    @property
    def executor(self) -> Executor:
        from .requests import Executor

        return Executor.from_settings(self.options, self.environ)

    def setting(self, section: str, key: str, env: str) -> str:
        given = self.options.get(section) or {}
        return str(given.get(key) or self.environ.get(env) or "")

    async def call(self, request: HttpRequest) -> Any:
        """A JSON call to the executor; its errors come back as the server's error classes."""
        executor = self.executor
        return _decoded(executor, request, await self._send(request, executor))

    def call_now(self, request: HttpRequest) -> Any:
        """The same, blocking (line magics cannot await)."""
        executor = self.executor
        try:
            response = self.transport.fetch_now(request)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc
        return _decoded(executor, request, response)

    async def _send(self, request: HttpRequest, executor: Executor) -> HttpResponse:
        try:
            return await self.transport.fetch(request)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc

    async def bind_arrow(self, request: HttpRequest, namespace: dict[str, Any], name: str) -> None:
        executor = self.executor
        try:
            failure = await self.transport.fetch_arrow(request, namespace, name, self.admit)
        except OSError as exc:
            raise _unreachable(executor, exc) from exc
        if failure is not None:
            raise _refused(executor, request, failure)


def _refused(executor: Executor, request: HttpRequest, response: HttpResponse) -> Exception:
    """The server's own error when it sent one; else what GET /bento/api/info tells."""
    content_type = response.headers.get("content-type", "")
    error = executor.refused(response.status, request.url, response.body, content_type)
    if content_type.startswith("application/json"):
        return error
    from ..environment import current
    from ..environment.diagnose import diagnose

    return diagnose(current(), executor.url, f"HTTP {response.status} for {request.url}")


def _unreachable(executor: Executor, exc: OSError) -> BentoError:
    """No answer at all: down, a wrong URL, or a CORS refusal (the browser cannot tell)."""
    from ..environment import current
    from ..environment.diagnose import diagnose

    return diagnose(current(), executor.url, str(exc))


_session: DataSession | None = None


def configure(data_session: DataSession) -> DataSession:
    """Install the session the magics of this process use (the worker or IPython does it)."""
    global _session
    _session = data_session
    return data_session


def session() -> DataSession:
    global _session
    if _session is None:
        from .transport import HttpTransport

        _session = DataSession(HttpTransport())
    return _session


def _decoded(executor: Executor, request: HttpRequest, response: HttpResponse) -> Any:
    """The executor's JSON answer, or its refusal raised as the server's error class."""
    if not response.ok:
        raise _refused(executor, request, response)
    return json.loads(response.body)
