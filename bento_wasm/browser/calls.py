"""Small executor calls over one WebSocket per session, waited for under JSPI.

A synchronous XHR costs Chromium about 4 ms of its own per request here, more than a no-op
remote call costs the executor; a message on an open WebSocket goes and comes back in about
1.5 ms. So when Python may suspend (``pyodide.ffi.can_run_sync()``), a call whose request is
small goes as one message on a WebSocket kept open to the executor
(``/bento/api/sessions/<id>/calls``, :mod:`bento_wasm.server.sessionapi`) and the worker waits
for the answer with ``run_sync``. The answer's first 4 bytes are the HTTP status the execute
endpoint would have given; its size is admitted before it is copied into wasm memory.

When the socket cannot be opened (an old server, a refused token or origin, the executor down)
the call goes by HTTP instead, whose answer says what is wrong; the socket is not tried again
for :data:`RETRY_S`. A call that runs out of time closes its socket (a late answer must not be
read as the next call's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]

from ..environment.interface import HttpResponse
from ..errors import NetworkError

if TYPE_CHECKING:
    from ..environment.interface import Admit

__all__ = ["RETRY_S", "exchange"]

#: After a socket could not be opened, calls go by HTTP for this long before it is tried again.
RETRY_S = 10.0

#: ``open(url)`` and ``call(url, body, timeoutMs)`` (resolves to the answer's ArrayBuffer, or
#: null when no socket could be opened: the caller then uses HTTP).
_CHANNEL = """
(() => {
  const sockets = new Map();
  const refused = new Map();
  const open = (url, retryMs) => {
    const known = sockets.get(url);
    if (known) return known;
    if (Date.now() - (refused.get(url) || -Infinity) < retryMs) return Promise.resolve(null);
    if (typeof WebSocket === "undefined") return Promise.resolve(null);  // Node.js 20
    const opening = new Promise((resolve) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch {
        refused.set(url, Date.now());
        sockets.delete(url);
        resolve(null);
        return;
      }
      ws.binaryType = "arraybuffer";
      ws.onopen = () => {
        ws.onclose = () => sockets.delete(url);
        ws.onerror = null;
        resolve(ws);
      };
      ws.onerror = ws.onclose = () => {
        sockets.delete(url);
        refused.set(url, Date.now());
        resolve(null);
      };
    });
    sockets.set(url, opening);
    return opening;
  };
  const call = async (url, body, timeoutMs, retryMs) => {
    const ws = await open(url, retryMs);
    if (ws === null) return null;
    if (ws.readyState !== WebSocket.OPEN) {
      sockets.delete(url);
      return call(url, body, timeoutMs, retryMs);
    }
    return await new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        ws.onmessage = null;
        ws.onclose = () => sockets.delete(url);
      };
      const timer = setTimeout(() => {
        done();
        sockets.delete(url);
        ws.close();
        reject(new Error("timed out"));
      }, timeoutMs);
      ws.onmessage = (event) => { done(); resolve(event.data); };
      ws.onclose = () => {
        done();
        sockets.delete(url);
        reject(new Error("the executor closed the connection during the call"));
      };
      ws.send(body);
    });
  };
  return { call };
})()
"""
_channel: Any = None


def exchange(
    url: str, body: bytes | bytearray | memoryview, *, timeout_s: float, admit: Admit | None
) -> HttpResponse | None:
    """One call on the session's socket at ``url``; None when no socket could be opened."""
    from pyodide.code import run_js
    from pyodide.ffi import JsException, create_proxy

    from .suspend import wait

    global _channel
    if _channel is None:
        _channel = run_js(_CHANNEL)
    proxy: Any = create_proxy(body)
    view: Any = proxy.getBuffer("u8")
    try:
        # send() copies the message before it returns: the view is released right after
        pending = _channel.call(url, view.data, int(timeout_s * 1000), int(RETRY_S * 1000))
    finally:
        view.release()
        proxy.destroy()
    try:
        answer = wait(pending)
    except SystemError as exc:  # an interrupt from the page, raised inside a JS call
        if isinstance(exc.__cause__, KeyboardInterrupt):
            raise exc.__cause__ from None
        raise
    except JsException as exc:
        raise NetworkError(
            f"the call to {url.partition('?')[0]} failed in the browser: {exc}. Check that the "
            "executor is running; a call that timed out was interrupted on the executor."
        ) from exc
    if answer is None:
        return None
    size = int(answer.byteLength)
    status = int(js.DataView.new(answer).getUint32(0, True))
    if admit is not None and status == 200:
        admit(size - 4, f"the answer of the call to {url.partition('?')[0]}")
    data = js.Uint8Array.new(answer, 4).to_bytes()
    return HttpResponse(status, {"content-type": "application/octet-stream"}, data)
