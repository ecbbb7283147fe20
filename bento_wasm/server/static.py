"""Handlers for the static parts: the Pyodide runtime, the wheel, the worker and the page.

They add the headers a serverless kernel needs: ``application/wasm`` for ``.wasm``
(without it ``loadPyodide`` hangs, RUNTIME.md) and COOP/COEP, which make the page
cross-origin isolated so interrupts can reach Python through a SharedArrayBuffer.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from tornado import web

__all__ = ["AssetHandler", "ConfigHandler", "PublicAssetHandler", "isolation_headers"]

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")

ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def isolation_headers(handler: web.RequestHandler) -> None:
    for name, value in ISOLATION.items():
        handler.set_header(name, value)


class AssetHandler(web.StaticFileHandler):
    """A static folder, served with isolation headers; `no-cache` so rebuilt wheels show."""

    def set_extra_headers(self, path: str) -> None:
        isolation_headers(self)
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        assert self.absolute_path is not None
        guessed, _ = mimetypes.guess_type(self.absolute_path)
        return guessed or "application/octet-stream"


class PublicAssetHandler(AssetHandler):
    """The browser wheel: public code that any notebook may ``micropip.install`` by URL
    (JupyterLite, a plain Pyodide page on another origin), so it is readable cross-origin."""

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cross-Origin-Resource-Policy", "cross-origin")


class ConfigHandler(web.RequestHandler):
    """The kernel options the page passes to BentoKernel, as data."""

    def initialize(self, config: Any) -> None:
        self._config = config

    def get(self) -> None:
        isolation_headers(self)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps(self._config()))


def latest_wheel(folder: Path) -> Path | None:
    wheels = sorted(folder.glob("bento_wasm-*-py3-none-any.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1] if wheels else None
