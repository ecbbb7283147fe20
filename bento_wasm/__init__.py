"""bento-wasm: serverless Python notebooks on Pyodide.

The top-level package imports only the standard library, so ``import bento_wasm``
is cheap in a browser worker and in CPython alike. Layers (STYLE.md #4):

- core (this package's top-level modules): stdlib only, safe anywhere;
- ``bento_wasm.browser``: talks to JavaScript, imported only inside Pyodide;
- ``bento_wasm.server``: the executor, needs the ``server`` extra.
"""

from __future__ import annotations

from .errors import BentoError

__version__ = "0.1.0"

__all__ = ["BentoError", "__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext bento_wasm``: register the data magics (%%sql, ...) with IPython."""
    from .ipython import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Jupyter Server finds the executor here; jupyter_server is imported only then."""
    from .server.app import BentoApp

    return [{"module": "bento_wasm.server.app", "app": BentoApp}]
