"""bento-wasm: serverless Python notebooks on Pyodide.

The top-level package imports only the standard library, so ``import bento_wasm``
is cheap in a browser worker and in CPython alike. The layout (STYLE.md #7), one folder
per capability, each saying in its ``__init__`` what it owns and may import:

- shared at the top: ``errors`` (the one exception tree), ``environment`` (the host seam),
  ``protocol`` + ``protocol.json`` (the worker protocol), ``runtime`` (the Pyodide runtime's
  assembler), ``ipython`` (``%load_ext bento_wasm``);
- capabilities: ``kernel`` (cells, magics, displays), ``arrow`` (IPC <-> pandas), ``memory``
  (the budget), ``data`` (the data magics), ``offload`` (``@remote`` and the executor client);
- layers, packages of their own: ``browser`` (may import ``js``/``pyodide``; imported only
  inside Pyodide, through the environment seam) and ``server`` (the executor, a Jupyter
  Server extension; needs the ``server`` extra).

``from bento_wasm import remote`` is the decorator; ``connect``, ``sql``, ``upload`` and
``upload_status`` are the API for scripts and pages without IPython (all loaded on first use).
"""

from __future__ import annotations

from .errors import BentoError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up in wasm
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = [
    "BentoError",
    "__version__",
    "connect",
    "load_ipython_extension",
    "remote",
    "sql",
    "upload",
    "upload_status",
]

#: Public names loaded on first use (importing them at start-up costs time in wasm).
_LAZY = {
    "remote": "bento_wasm.offload.calls",
    "sql": "bento_wasm.data.api",
    "upload": "bento_wasm.data.api",
    "upload_status": "bento_wasm.data.api",
}


def connect(
    url: str, token: str = "", session: str = "default", timeout_s: float | None = None
) -> Any:
    """Point ``@remote``, ``%%remote``, the data magics and the data API at the bento server
    at ``url``; returns the offload executor."""
    from .data.api import configure_executor
    from .offload.calls import connect as connect_offload

    configure_executor(url, token)
    return connect_offload(url, token, session, timeout_s)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bento_wasm' has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext bento_wasm``: register the data magics (%%sql, ...) with IPython."""
    from .ipython import load_ipython_extension as load

    load(ipython)
