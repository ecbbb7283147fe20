"""The browser layer: the Pyodide side of everything, in a Web Worker (or Node.js).

Owns: ``worker`` (the worker's Python half), ``environment`` (the seam's Pyodide
implementation: blocking and awaitable HTTP, the package loader, the heap probe), ``http``
(blocking fetch under JSPI, its answer streamed into wasm memory), ``calls`` (small executor
calls as messages on a WebSocket, waited for under JSPI),
``memory`` (wasm heap probes, the budget's wiring), ``arrow`` (JS bytes into wasm memory
once, export views), ``magics`` (the data magics' transport: JavaScript makes the
requests), ``pip`` (``%pip`` over micropip and the runtime's loader), ``bytecode``
(the preloaded packages' compiled bytecode, kept across visits) and ``unpack`` (package wheels
unpacked for Pyodide's loader with less Python per file).

May import: ``js``, ``pyodide``, ``pyodide_js`` and every core package. The core reaches it
only through :func:`bento_wasm.environment.current`. Import it only inside Pyodide.
"""

from __future__ import annotations

from ..environment import in_pyodide

if not in_pyodide():  # pragma: no cover - guarded for CPython imports
    raise ImportError(
        "bento_wasm.browser runs only inside Pyodide; "
        "in CPython use bento_wasm.environment.current()"
    )
