"""Blocking HTTP for large bodies: ``fetch`` under JSPI, the answer streamed into wasm memory.

Chromium's synchronous XHR hands its answer over as one ArrayBuffer, assembled after the
last byte arrived and copied again into wasm memory (about 0.5 s per 100 MiB here). When
Python may suspend (``pyodide.ffi.can_run_sync()``: JSPI, and Python entered through an
awaitable call, as the worker runs cells), :func:`fetch_streaming` sends the body with
``fetch`` (a ``Blob`` of the body's pieces, views of wasm memory it copies once), waits
with ``run_sync``, and copies each chunk of the answer, as it arrives, into a buffer sized by
``Content-Length`` and admitted first. An answer without a length (or compressed) is read
whole and admitted before its copy, as XHR does. (A BYOB reader filling an 8 MiB scratch
buffer per read was no faster here: 484 against 441 ms median per 100 MiB, same page.)

For small requests synchronous XHR stays faster (about 3 ms less a round trip here), so the
environment takes this path only for bodies of :data:`STREAM_MIN_BYTES` or more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]

from ..environment.interface import HttpResponse, Pieces
from ..errors import NetworkError

if TYPE_CHECKING:
    from ..environment.interface import Admit

__all__ = ["STREAM_MIN_BYTES", "can_stream", "fetch_streaming"]

#: Request bodies from this size on go through fetch under JSPI.
STREAM_MIN_BYTES = 2**20

#: Reads a Response's body into wasm memory at ``address`` (``capacity`` bytes), chunk by
#: chunk; resolves to the bytes read, or -1 when the body is longer than ``capacity``.
#: ``HEAPU8`` is read again for every chunk: wasm memory may grow while the worker waits.
_READ_INTO = """
(async (response, module, address, capacity) => {
  const reader = response.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return at;
    if (at + value.byteLength > capacity) {
      await reader.cancel();
      return -1;
    }
    module.HEAPU8.set(value, address + at);
    at += value.byteLength;
  }
})
"""
_reader: Any = None


def can_stream() -> bool:
    """True when this call stack may suspend on a JS promise (JSPI)."""
    from pyodide.ffi import can_run_sync

    return bool(can_run_sync())


def fetch_streaming(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: bytes | bytearray | memoryview | Pieces | None,
    timeout_s: float,
    admit: Admit | None,
) -> HttpResponse:
    """One request through ``fetch``; the answer lands in a ``bytearray`` by one copy."""
    from pyodide.ffi import JsException

    from .suspend import wait

    controller = js.AbortController.new()
    timer = js.setTimeout(controller.abort.bind(controller), int(timeout_s * 1000))
    try:
        response = wait(_start(url, method, headers, body, controller.signal))
        data = _read_body(response, method, url, admit)
    except SystemError as exc:
        # An interrupt sent from the page while the worker waited is raised at Pyodide's next
        # check, which can fall inside a builtin that calls JavaScript (create_proxy, a JS
        # method): CPython then reports "returned a result with an exception set". It is
        # the user's KeyboardInterrupt.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            raise exc.__cause__ from None
        raise
    except JsException as exc:
        reason = "timed out" if controller.signal.aborted else str(exc)
        raise NetworkError(
            f"{method} {url} failed in the browser: {reason}. Check that the server is running "
            "and allows this page's origin (CORS)."
        ) from exc
    finally:
        js.clearTimeout(timer)
    pairs = response.headers.entries()
    parsed = {str(k).lower(): str(v) for k, v in (pair.to_py() for pair in pairs)}
    return HttpResponse(int(response.status), parsed, data)  # type: ignore[arg-type]


def _start(url: str, method: str, headers: dict[str, str], body: Any, signal: Any) -> Any:
    """The fetch promise. Its body is a ``Blob`` of views of wasm memory (the body's pieces:
    the envelope's header and the Arrow columns themselves), which copies them right here, so
    the envelope is never joined in wasm memory first (35-55 ms per 100 MiB here). Per 100 MiB
    in one page, the Blob's copy took 65-177 ms against 178-545 ms for fetch's copy of one view
    given as the body, and the body landed on the server no later (median 572 against 595 ms)."""
    from pyodide.ffi import create_proxy, to_js

    init = {"method": method, "headers": headers, "signal": signal}
    if body is None:
        return js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
    items = body.items if isinstance(body, Pieces) else [body]
    proxies: list[Any] = [create_proxy(item) for item in items]
    views: list[Any] = []
    try:
        views.extend(proxy.getBuffer("u8") for proxy in proxies)
        init["body"] = js.Blob.new(to_js([view.data for view in views]))
        return js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
    finally:
        for view in views:
            view.release()
        for proxy in proxies:
            proxy.destroy()


def _read_body(response: Any, method: str, url: str, admit: Admit | None) -> bytearray:
    import pyodide_js  # type: ignore[import-not-found]
    from pyodide.code import run_js
    from pyodide.ffi import create_proxy

    from .suspend import wait

    global _reader
    what = f"the answer of {method} {url}"
    length = response.headers.get("content-length")
    if length is None or response.headers.get("content-encoding") or response.body is None:
        buffer = wait(response.arrayBuffer())  # still in JS: admitted before the copy
        if admit is not None:
            admit(int(buffer.byteLength), what)
        return bytearray(buffer.to_bytes())
    size = int(length)
    if admit is not None:
        admit(size, what)
    data = bytearray(size)
    if size == 0:
        return data
    if _reader is None:
        _reader = run_js(_READ_INTO)
    proxy: Any = create_proxy(data)
    view: Any = proxy.getBuffer("u8")
    address = int(view.data.byteOffset)  # the bytearray never moves: it is never resized
    view.release()
    proxy.destroy()
    read = int(wait(_reader(response, pyodide_js._module, address, size)))
    if read != size:
        raise NetworkError(
            f"{method} {url}: the answer had {'more' if read < 0 else read} bytes, not the "
            f"{size} its Content-Length announced; try again (a proxy may have changed it)."
        )
    return data
