"""The environment of a CPython process: a server-side ipykernel, the tests, a run's host."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NetworkError
from .interface import HttpResponse, Pieces

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .interface import Admit, Probe

__all__ = ["CPythonEnvironment"]


class CPythonEnvironment:
    """The host is a normal CPython process."""

    name = "cpython"

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | Pieces | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        import urllib.error  # imported here: urllib.request is slow to import in wasm
        import urllib.request

        headers = dict(headers or {})
        data: Any = body
        if isinstance(body, Pieces):  # sent piece by piece (http.client), never joined
            data, headers["Content-Length"] = body.items, str(body.nbytes)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
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

    def exchange(
        self,
        url: str,
        body: bytes | Pieces,
        *,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse | None:
        """None: urllib's requests cost little here; calls go by :meth:`fetch`."""
        return None

    async def fetch_async(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | Pieces | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        import asyncio

        return await asyncio.to_thread(
            self.fetch,
            url,
            method=method,
            headers=headers,
            body=body,
            timeout_s=timeout_s,
            admit=admit,
        )

    async def load_packages(self, names: Sequence[str]) -> None:
        """Nothing to load: a CPython environment has its packages installed, or not."""

    def load_packages_now(self, names: Sequence[str]) -> None:
        """Nothing to load (see :meth:`load_packages`)."""

    def memory_probe(self) -> Probe:
        from ..memory.process import ProcessProbe

        return ProcessProbe()
