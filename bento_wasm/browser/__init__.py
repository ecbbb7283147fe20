"""The browser layer: code that talks to JavaScript. Import it only inside Pyodide."""

from __future__ import annotations

from ..environment import in_pyodide

if not in_pyodide():  # pragma: no cover - guarded for CPython imports
    raise ImportError(
        "bento_wasm.browser runs only inside Pyodide; "
        "in CPython use bento_wasm.environment.current()"
    )
