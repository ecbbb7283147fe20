"""The environment seam (STYLE.md #1): one small interface to the host, chosen once.

Everything that touches the outside (HTTP, JavaScript, package loading) goes
through an :class:`Environment`. ``current()`` picks the Pyodide implementation
when ``_pyodide_core`` is loaded and the CPython one otherwise; callers receive the
environment as an argument, so tests pass their own.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Protocol

from .errors import BentoError

if TYPE_CHECKING:
    from collections.abc import Callable

    #: ``admit(nbytes, what)``: asked before a body of that size is copied into Python memory;
    #: raises (MemoryBudgetExceeded) to refuse. The kernel's memory budget supplies it.
    Admit = Callable[[int, str], None]

__all__ = ["CPythonEnvironment", "Environment", "HttpResponse", "current", "in_pyodide"]


class HttpResponse:
    """A finished HTTP response: status, lower-cased headers, body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def __repr__(self) -> str:
        return f"HttpResponse({self.status}, {len(self.body)} bytes)"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Environment(Protocol):
    """What the package needs from its host."""

    name: str

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        """A blocking HTTP request. Network failures raise a :class:`BentoError`.

        ``admit`` is asked about the body's size before the body is read into memory."""
        ...


class CPythonEnvironment:
    """The host is a normal CPython process (a server-side ipykernel, tests)."""

    name = "cpython"

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        import urllib.error  # imported here: urllib.request is slow to import in wasm
        import urllib.request

        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                length = response.headers.get("Content-Length")
                if admit is not None and length is not None:
                    admit(int(length), f"the answer of {method} {url}")
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResponse(exc.code, dict(exc.headers or {}), exc.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise NetworkError(f"{method} {url} failed: {exc}; is the server running?") from exc


class NetworkError(BentoError, OSError):
    """A request could not reach its server."""


def in_pyodide() -> bool:
    return "_pyodide_core" in sys.modules


@cache
def current() -> Environment:
    """The environment this process runs in, decided once."""
    if in_pyodide():
        from .browser.environment import PyodideEnvironment

        return PyodideEnvironment()
    return CPythonEnvironment()
