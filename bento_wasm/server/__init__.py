"""The server layer: the executor as a Jupyter Server extension (needs the ``server`` extra).

Owns: the page and static parts (``app``, ``static``), the data API (``api``, ``dataapi``,
``warehouse``, ``uploads``, ``demo``), the package index the serverless kernel's ``%pip``
installs from (``packages``: its routes; ``pypi``: wheels of a folder and of ``pip download``),
the offload sessions (``sessions``, ``sessionapi``, the call path to their kernels
``kernelcalls`` and its Unix socket ``channel``), the limits they hold (``limits``: sessions,
idle culling, body sizes, queued uploads) and input() in pages without isolation
(``stdinapi``). May import
jupyter_server, tornado, pyarrow, duckdb, ADBC and every core package; nothing in the core
imports it.

Install with ``pip install 'bento-wasm[server]'``; run with ``python -m bento_wasm.server``.
"""

from __future__ import annotations

try:
    import jupyter_server  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "bento_wasm.server needs the 'server' extra: pip install 'bento-wasm[server]'"
    ) from exc


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Jupyter Server finds the executor here (``jpserver_extensions``: ``bento_wasm.server``)."""
    from .app import BentoApp

    return [{"module": "bento_wasm.server.app", "app": BentoApp}]
