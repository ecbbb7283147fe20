"""The browser half of the executor client: the non-blocking request of ``heavy.aio()``.

Blocking calls go through the environment seam (synchronous XHR); the awaitable form
uses the page's ``fetch`` through ``pyodide.http.pyfetch``, so the worker's event loop
keeps running while the executor works.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fetch_async"]


async def fetch_async(
    url: str, method: str, headers: dict[str, str], body: Any
) -> tuple[int, bytes]:
    from pyodide.ffi import to_js
    from pyodide.http import pyfetch

    from ..environment import NetworkError

    payload = to_js(memoryview(body)) if body is not None else None
    try:
        response = await pyfetch(url, method=method, headers=headers, body=payload)
    except OSError as exc:
        raise NetworkError(f"{method} {url} failed in the browser: {exc}") from exc
    return response.status, await response.bytes()
