"""The Pyodide side of the environment seam: blocking HTTP through synchronous XHR (large
request bodies through fetch under JSPI, :mod:`bento_wasm.browser.http`),
awaitable HTTP through the page's ``fetch``, Pyodide's package loader and the wasm heap probe.

Synchronous XHR works in a Web Worker (RUNTIME.md: about 3 ms a small call); on the
page's main thread browsers refuse it, and the error says so. The awaitable form uses
``pyodide.http.pyfetch``, so the worker's event loop keeps running while the server works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..environment.interface import HttpResponse, Pieces, joined
from ..errors import NetworkError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..environment.interface import Admit, Probe

__all__ = ["PyodideEnvironment"]

#: xhr.send(body) in JavaScript, its failure given back as text rather than thrown. Thrown
#: through Pyodide 0.27's error conversion, a refused cross-origin send surfaced once (CI, a
#: loaded machine, after a JSPI wait in the same cell) as "SystemError: error return without
#: exception set" instead of a JsException, losing the message that says what to set.
_SEND = "(xhr, body) => { try { xhr.send(body); return null; } catch (e) { return String(e); } }"
_send: Any = None


class PyodideEnvironment:
    name = "pyodide"

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
        from js import XMLHttpRequest  # type: ignore[import-not-found]
        from pyodide.code import run_js
        from pyodide.ffi import JsException, create_proxy

        from . import http

        global _send

        if body is not None and len(body) >= http.STREAM_MIN_BYTES and http.can_stream():
            return http.fetch_streaming(
                url, method=method, headers=headers or {}, body=body, timeout_s=timeout_s,
                admit=admit,
            )  # fmt: skip
        body = joined(body)
        xhr: Any = XMLHttpRequest.new()
        # The body goes out as a view of its bytes in wasm memory, not a copy (send() reads it
        # before it returns; the worker is blocked meanwhile, so the memory cannot move).
        proxy: Any = create_proxy(body) if body is not None else None
        view: Any = proxy.getBuffer("u8") if proxy is not None else None
        failed: Any = None
        try:
            xhr.open(method, url, False)
            xhr.responseType = "arraybuffer"
            xhr.timeout = int(timeout_s * 1000)  # allowed for synchronous requests in a worker
            for key, value in (headers or {}).items():
                xhr.setRequestHeader(key, value)
            if _send is None:
                _send = run_js(_SEND)
            failed = _send(xhr, view.data if view is not None else None)
        except JsException as exc:
            failed = str(exc)
        finally:
            if view is not None:
                view.release()
                proxy.destroy()
        if failed is not None:
            raise NetworkError(
                f"{method} {url} failed in the browser: {failed}. Blocking requests work only in "
                "a Web Worker; check that the server is running and allows this page's origin "
                "(CORS)."
            )
        if xhr.status == 0:
            raise NetworkError(f"{method} {url}: no response (server down or CORS refused)")
        raw = xhr.getAllResponseHeaders() or ""
        parsed = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in raw.split("\r\n") if line)
        )
        response = xhr.response  # still a JS ArrayBuffer: admitted before it is copied
        if response is not None and admit is not None:
            admit(int(response.byteLength), f"the answer of {method} {url}")
        data = response.to_bytes() if response is not None else b""
        return HttpResponse(int(xhr.status), parsed, data)

    def exchange(
        self,
        url: str,
        body: bytes | Pieces,
        *,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse | None:
        """A small call on a WebSocket under JSPI (:mod:`bento_wasm.browser.calls`); None
        for large bodies (fetch streams them) and where Python cannot suspend."""
        from . import calls, http

        if len(body) >= http.STREAM_MIN_BYTES or not http.can_stream():
            return None
        return calls.exchange(url, joined(body), timeout_s=timeout_s, admit=admit)

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
        """``admit`` is asked before the answer enters wasm memory."""
        from pyodide.ffi import to_js
        from pyodide.http import pyfetch

        payload = to_js(memoryview(joined(body))) if body is not None else None
        try:
            response = await pyfetch(url, method=method, headers=headers or {}, body=payload)
        except OSError as exc:
            raise NetworkError(f"{method} {url} failed in the browser: {exc}") from exc
        buffer: Any = await response.js_response.arrayBuffer()
        if admit is not None:
            admit(int(buffer.byteLength), f"the answer of {method} {url}")
        return HttpResponse(response.status, dict(response.headers), buffer.to_bytes())

    async def load_packages(self, names: Sequence[str]) -> None:
        """Always through ``loadPackage``: it takes Pyodide's package lock, so it waits for a
        background preload of the same packages (or does nothing when they are loaded)."""
        import pyodide_js  # type: ignore[import-not-found]

        await pyodide_js.loadPackage(list(names), messageCallback=_quiet)

    def load_packages_now(self, names: Sequence[str]) -> None:
        """Blocking ``loadPackage`` through JSPI (``run_sync``): possible when Python was
        entered asynchronously (``runPythonAsync``, an async function such as JupyterLite's
        kernel ``run``, a task of the event loop). Elsewhere the packages must be loaded
        before; when their files are already there the import is left to go ahead."""
        import importlib.util

        import pyodide_js
        from pyodide.ffi import can_run_sync

        from .suspend import wait

        if can_run_sync():
            wait(pyodide_js.loadPackage(list(names), messageCallback=_quiet))
            return
        missing = [name for name in names if importlib.util.find_spec(name) is None]
        if missing:
            from ..errors import ConfigError

            listed = ", ".join(repr(name) for name in names)
            raise ConfigError(
                f"this needs {', '.join(missing)}, which is not loaded, and this Pyodide cannot "
                f"wait for it here. Load it first: `await pyodide_js.loadPackage([{listed}])` "
                "(or `await pyodide.loadPackage(...)` from JavaScript), then run this again."
            )

    def memory_probe(self) -> Probe:
        from .memory import WasmProbe

        return WasmProbe()


def _quiet(message: str) -> None:
    """Pyodide's "Loading pyarrow ..." lines are not the cell's output."""
