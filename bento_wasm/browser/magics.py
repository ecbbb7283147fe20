"""The worker's transport for the data magics: JavaScript makes the requests.

worker_js/magics.js installs ``globalThis.bentoMagics`` (the JS middleware) when the worker
boots: ``fetch(request)`` answers ``{status, contentType, body}``; ``fetchArrow(request,
name)`` fetches an Arrow IPC stream with the page's credentials and injects it through
worker_js/arrow.js (streamed into wasm memory, admitted by the kernel's budget, bound only on
success). Python plans the requests (bento_wasm.data.parsing) and shows the results.
"""

from __future__ import annotations

from typing import Any

from ..data.transport import spawn
from ..environment import current
from ..environment.interface import HttpResponse
from ..errors import BentoError, NetworkError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..data.requests import HttpRequest
    from ..kernel.interpreter import Kernel

__all__ = ["WorkerTransport", "install"]


class WorkerTransport:
    """Requests made by the worker's JavaScript (``globalThis.bentoMagics``)."""

    async def fetch(
        self, request: HttpRequest, admit: Callable[[int, str], None] | None = None
    ) -> HttpResponse:
        answer = await self._call("fetch", request)
        if admit is not None and answer.body is not None:  # before the copy into wasm memory
            admit(int(answer.body.length), f"the answer of {request.url}")
        return _response(answer)

    def fetch_now(self, request: HttpRequest) -> HttpResponse:
        # Line magics cannot await: a synchronous XHR from this worker (same credentials).
        return current().fetch(
            request.url, method=request.method, headers=request.headers, body=request.body
        )

    async def fetch_arrow(
        self,
        request: HttpRequest,
        namespace: dict[str, Any],
        name: str,
        admit: Callable[[int, str], None],
    ) -> HttpResponse | None:
        # JavaScript binds `name` in the kernel's namespace (worker_js/arrow.js calls the
        # kernel's admit); a failed answer comes back as data.
        answer = await self._call("fetchArrow", request, name)
        return None if answer is None else _response(answer)

    def spawn(self, make: Callable[[], Awaitable[Any]]) -> None:
        spawn(make)

    async def _call(self, method: str, request: HttpRequest, *args: Any) -> Any:
        """Call the middleware; JS errors are translated here, once (STYLE.md #8)."""
        from js import Object, globalThis  # type: ignore[import-not-found]
        from pyodide.ffi import JsException, to_js

        middleware = getattr(globalThis, "bentoMagics", None)
        if middleware is None:
            raise BentoError("the worker's JS middleware is missing: worker_js/magics.js")
        payload = to_js(request.to_dict(), dict_converter=Object.fromEntries)
        try:
            return await getattr(middleware, method)(payload, *args)
        except JsException as exc:
            name = str(getattr(exc, "name", "") or "")
            message = str(getattr(exc, "message", "") or exc)
            if name == "TypeError":  # what fetch() rejects with when nothing answers
                raise NetworkError(f"{request.method} {request.url}: {message}") from exc
            # TransferError from worker_js/arrow.js: {ename, evalue} of a BentoError class.
            raise BentoError.from_dict({"ename": name, "evalue": message}) from exc


def _response(answer: Any) -> HttpResponse:
    body = answer.body.to_bytes() if answer.body is not None else b""
    return HttpResponse(int(answer.status), {"content-type": str(answer.contentType)}, body)


def install(kernel: Kernel, options: dict[str, Any]) -> None:
    """Point this worker's data magics at the JS middleware and the kernel's budget."""
    from ..data import (
        magics,  # noqa: F401 - registers the data magics
        session,
    )

    session.configure(
        session.DataSession(
            WorkerTransport(),
            options,
            environ={},
            admit=lambda nbytes, what: kernel.admit(nbytes, what),
        )
    )
