"""The server layer: the executor as a Jupyter Server extension (needs the ``server`` extra).

Install with ``pip install 'bento-wasm[server]'``; run with ``python -m bento_wasm.server``.
"""

from __future__ import annotations

try:
    import jupyter_server  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "bento_wasm.server needs the 'server' extra: pip install 'bento-wasm[server]'"
    ) from exc
