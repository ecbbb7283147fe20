"""Handlers for the static parts: the Pyodide runtime, the wheel, the worker and the page.

They add the headers a serverless kernel needs: ``application/wasm`` for ``.wasm``
(without it ``loadPyodide`` hangs, RUNTIME.md) and COOP/COEP, which make the page
cross-origin isolated so interrupts can reach Python through a SharedArrayBuffer.

Caching: every file carries validators (ETag, Last-Modified), so a returning visit
revalidates with 304s (``no-cache``). The package files that a folder's
``pyodide-lock.json`` names (numpy-2.0.2-....whl; the lock holds their sha256, which Pyodide
checks) never change under their name: they are ``immutable`` and not even revalidated. So are
the worker's scripts under a versioned path (``/bento/static/kernel/v-<digest>/worker.js``,
the digest of their folder's files: :class:`VersionedAssetHandler`), which the kernel config
names: a worker starts without a round trip per module.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any

from tornado import web

__all__ = [
    "IMMUTABLE",
    "AssetHandler",
    "ConfigHandler",
    "PublicAssetHandler",
    "VersionedAssetHandler",
    "files_version",
    "isolation_headers",
    "locked_files",
]

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")

ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


IMMUTABLE = "public, max-age=31536000, immutable"
_LOCKS: dict[Path, tuple[float, frozenset[str]]] = {}


def locked_files(folder: Path) -> frozenset[str]:
    """The package file names in ``folder``'s pyodide-lock.json (none without a readable lock);
    read again when the lock changes."""
    lock = folder / "pyodide-lock.json"
    try:
        mtime = lock.stat().st_mtime
    except OSError:
        return frozenset()
    cached = _LOCKS.get(lock)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        packages = json.loads(lock.read_text()).get("packages", {})
        names = frozenset(p["file_name"] for p in packages.values() if "/" not in p["file_name"])
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        names = frozenset()  # not a lock we understand: revalidate everything
    _LOCKS[lock] = (mtime, names)
    return names


def isolation_headers(handler: web.RequestHandler) -> None:
    for name, value in ISOLATION.items():
        handler.set_header(name, value)


class AssetHandler(web.StaticFileHandler):
    """A static folder, served with isolation headers; `no-cache` so rebuilt wheels show,
    except the runtime's locked package files (immutable)."""

    def set_extra_headers(self, path: str) -> None:
        isolation_headers(self)
        locked = path in locked_files(Path(self.root))
        self.set_header("Cache-Control", IMMUTABLE if locked else "no-cache")

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


_VERSIONS: dict[tuple[str, ...], tuple[tuple[tuple[str, int, int], ...], str]] = {}


def files_version(*paths: Path) -> str:
    """A digest of these files and of the files directly in these folders (names and contents),
    16 hex digits; computed again only when a file's size or modification time changes."""
    files = sorted(
        q for p in map(Path, paths) for q in (p.iterdir() if p.is_dir() else [p]) if q.is_file()
    )
    stamps = tuple((str(p), (st := p.stat()).st_size, st.st_mtime_ns) for p in files)
    key = tuple(str(p) for p in paths)
    cached = _VERSIONS.get(key)
    if cached and cached[0] == stamps:
        return cached[1]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    version = digest.hexdigest()[:16]
    _VERSIONS[key] = (stamps, version)
    return version


class VersionedAssetHandler(AssetHandler):
    """A folder under ``.../v-<version>/``: ``immutable`` while ``version()`` (of the files
    served now) is the one in the path; a stale version (a page from before an upgrade) gets
    the current files, revalidated as elsewhere, so no cache keeps them under the old name."""

    def initialize(self, path: str, version: Any, default_filename: str | None = None) -> None:  # type: ignore[override]
        super().initialize(path, default_filename)
        self._version = version

    async def get(self, version: str, path: str, include_body: bool = True) -> None:  # type: ignore[override]
        self._current = version == self._version()
        await super().get(path, include_body)

    def head(self, version: str, path: str) -> Any:  # type: ignore[override]
        return self.get(version, path, include_body=False)

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)
        if self._current:
            self.set_header("Cache-Control", IMMUTABLE)


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
