"""The browser half of the executor client: the non-blocking request of ``heavy.aio()``.

Blocking calls go through the environment seam (synchronous XHR); the awaitable form
uses the page's ``fetch`` through ``pyodide.http.pyfetch``, so the worker's event loop
keeps running while the executor works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["fetch_async"]


async def fetch_async(
    url: str,
    method: str,
    headers: dict[str, str],
    body: Any,
    admit: Callable[[int, str], None] | None = None,
) -> tuple[int, bytes]:
    """The answer's status and body; ``admit`` is asked before the body enters wasm memory."""
    from pyodide.ffi import to_js
    from pyodide.http import pyfetch

    from ..environment import NetworkError

    payload = to_js(memoryview(body)) if body is not None else None
    try:
        response = await pyfetch(url, method=method, headers=headers, body=payload)
    except OSError as exc:
        raise NetworkError(f"{method} {url} failed in the browser: {exc}") from exc
    buffer: Any = await response.js_response.arrayBuffer()
    if admit is not None:
        admit(int(buffer.byteLength), f"the answer of {method} {url}")
    return response.status, buffer.to_bytes()


async def ensure_arrow(kernel: Any, cell_id: str, code: str) -> None:
    """A pre-cell hook: load pyarrow before a cell that offloads, if it is not loaded yet.

    Values travel as Arrow; the codec runs synchronously inside the call, where a package
    cannot be loaded, so the (async) hook does it first. Usually the background preload
    already did.
    """
    import sys

    if "pyarrow" in sys.modules or not _offloads(kernel, code):
        return
    import pyodide_js  # type: ignore[import-not-found]

    # Always through loadPackage: while the background preload runs, pyarrow's files are
    # already unpacked (find_spec finds them) but its shared library is not loaded yet, and
    # importing then fails with "dynamic module does not define module export function".
    # loadPackage takes Pyodide's package lock, so it waits for the preload (or does nothing).
    await pyodide_js.loadPackage(["pyarrow"], messageCallback=_quiet)


def _offloads(kernel: Any, code: str) -> bool:
    from ..analysis import analyze, python_source
    from ..remote import RemoteFunction

    source = python_source(code)
    if source is None:
        return code.lstrip().startswith("%%remote")
    reads = analyze(source).reads
    return any(isinstance(kernel.namespace.get(name), RemoteFunction) for name in reads)


def _quiet(message: str) -> None:
    """Pyodide's "Loading pyarrow ..." lines are not the cell's output."""
