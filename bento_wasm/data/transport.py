"""How the data magics reach their servers (STYLE.md #3: transports are objects).

:class:`HttpTransport` goes through the environment seam (urllib in CPython, synchronous
XHR in Pyodide): IPython kernels use it. The project's worker uses
``bento_wasm.browser.magics.WorkerTransport``, whose requests JavaScript makes
(worker_js/magics.js). Tests may pass any object with these methods.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ..environment import current, in_pyodide
from ..environment.interface import Environment, HttpResponse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from .requests import HttpRequest

__all__ = ["HttpTransport", "Transport", "spawn"]


class Transport(Protocol):
    async def fetch(
        self, request: HttpRequest, admit: Callable[[int, str], None] | None = None
    ) -> HttpResponse:
        """Send one request; network failures raise OSError, HTTP errors are responses.

        ``admit(nbytes, what)`` is asked before the body is copied into Python memory."""
        ...

    def fetch_now(self, request: HttpRequest) -> HttpResponse:
        """The same, blocking (for line magics)."""
        ...

    async def fetch_arrow(
        self,
        request: HttpRequest,
        namespace: dict[str, Any],
        name: str,
        admit: Callable[[int, str], None],
    ) -> HttpResponse | None:
        """Fetch an Arrow IPC stream and bind it as a DataFrame; the failed response, if any."""
        ...

    def spawn(self, make: Callable[[], Awaitable[Any]]) -> None:
        """Run ``make()`` in the background (the cell ends; the coroutine goes on)."""
        ...


class HttpTransport:
    """Requests through the environment seam; Arrow read by :mod:`bento_wasm.arrow`."""

    def __init__(self, environment: Environment | None = None) -> None:
        self.environment = environment or current()

    async def fetch(
        self, request: HttpRequest, admit: Callable[[int, str], None] | None = None
    ) -> HttpResponse:
        return self.fetch_now(request, admit)

    def fetch_now(
        self, request: HttpRequest, admit: Callable[[int, str], None] | None = None
    ) -> HttpResponse:
        return self.environment.fetch(
            request.url,
            method=request.method,
            headers=request.headers,
            body=request.body,
            admit=admit,
        )

    async def fetch_arrow(
        self,
        request: HttpRequest,
        namespace: dict[str, Any],
        name: str,
        admit: Callable[[int, str], None],
    ) -> HttpResponse | None:
        response = self.fetch_now(request)
        if not response.ok:
            return response
        from ..arrow.ipc import bind
        from ..environment import need

        need()  # pandas and pyarrow, loaded by Pyodide's loader the first time
        bind(namespace, name, response.body, admit=admit)
        return None

    def spawn(self, make: Callable[[], Awaitable[Any]]) -> None:
        spawn(make)


_background: set[asyncio.Future[Any]] = set()  # strong references until each task ends


def spawn(make: Callable[[], Awaitable[Any]]) -> None:
    """Run a coroutine in the background: on Pyodide's event loop, else on a thread."""
    if in_pyodide():
        task = asyncio.ensure_future(make())
        _background.add(task)
        task.add_done_callback(_background.discard)
        return
    import threading

    def run() -> None:
        asyncio.run(_as_coroutine(make))

    threading.Thread(target=run, name="bento-background", daemon=True).start()


async def _as_coroutine(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()
