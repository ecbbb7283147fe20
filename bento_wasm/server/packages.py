"""The package index the serverless kernel installs from: ``/bento/pypi/simple/``.

    /bento/pypi/simple/                     the projects with wheels here (PEP 503 root)
    /bento/pypi/simple/<project>/           its wheels, HTML (PEP 503) or JSON (PEP 691)
    /bento/pypi/simple/<project>/?want=REQ  the same, after fetching a wheel satisfying REQ
    /bento/pypi/files/<project>/<file>      a wheel

Readable from any origin and without a token, like the browser wheel: the bento page,
JupyterLite and a plain Pyodide page ``micropip.install`` from it. The first request for a
project runs ``pip download`` (in the server's thread pool, never on the IOLoop); a project
with no wheel for Pyodide answers 404 with :class:`~bento_wasm.errors.PackageUnavailable`
as data (JSON, or an HTML page for a browser), so micropip moves on to the runtime's lock
and ``%pip`` tells the user why.
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import TYPE_CHECKING, Any

from tornado import web

from ..errors import PackageUnavailable
from .pypi import PackageIndex, Wheel, normalize

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["handlers"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
STATUS = {"unreachable": 502, "timeout": 504, "invalid": 400}


class _IndexHandler(web.RequestHandler):
    """Public, cross-origin readable (CORS and CORP), never cached by a browser for long."""

    def initialize(self, index: PackageIndex, pool: Executor) -> None:
        self.index = index
        self.pool = pool

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Allow-Headers", "accept")
        self.set_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.set_header("Cache-Control", "no-cache")

    def options(self, *args: str) -> None:
        self.set_status(204)
        self.finish()

    def wants_json(self) -> bool:
        accept = self.request.headers.get("Accept", "")
        return "json" in accept and "text/html" not in accept.split(",")[0]

    def file_url(self, wheel: Wheel) -> str:
        base = self.settings.get("base_url", "/")
        path = f"{base}bento/pypi/files/{wheel.project}/{wheel.filename}"
        return f"{self.request.protocol}://{self.request.host}{path}"

    def refuse(self, error: PackageUnavailable) -> None:
        self.set_status(STATUS.get(str(error.reason), 404))
        if self.wants_json():
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": error.to_dict()}))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        text = html.escape(error.message)
        self.finish(f"<!DOCTYPE html>\n<title>{html.escape(str(error.project))}</title>\n"
                    f"<p>{text}</p>\n")  # fmt: skip


class RootHandler(_IndexHandler):
    def get(self) -> None:
        projects = self.index.projects()
        if self.wants_json():
            self.set_header("Content-Type", JSON_TYPE)
            body = {"meta": {"api-version": "1.0"}, "projects": [{"name": p} for p in projects]}
            self.finish(json.dumps(body))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        links = "".join(f'<a href="{html.escape(p)}/">{html.escape(p)}</a><br>\n' for p in projects)
        self.finish(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")


class ProjectHandler(_IndexHandler):
    async def get(self, project: str) -> None:
        name = normalize(project)
        want = self.get_query_argument("want", "") or name
        loop = asyncio.get_running_loop()
        try:
            wheels = await loop.run_in_executor(self.pool, self.index.ensure, want)
        except PackageUnavailable as error:
            self.refuse(error)
            return
        files = [(w, self.file_url(w), self.index.sha256(w.path)) for w in wheels]
        if self.wants_json():
            self.set_header("Content-Type", JSON_TYPE)
            body = {
                "meta": {"api-version": "1.0"},
                "name": name,
                "files": [
                    {"filename": w.filename, "url": url, "hashes": {"sha256": digest}}
                    for w, url, digest in files
                ],
            }
            self.finish(json.dumps(body))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        links = "".join(
            f'<a href="{html.escape(url)}#sha256={digest}">{html.escape(w.filename)}</a><br>\n'
            for w, url, digest in files
        )
        self.finish(
            '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
            f"<title>Links for {html.escape(name)}</title></head><body>\n"
            f"<h1>Links for {html.escape(name)}</h1>\n{links}</body></html>\n"
        )


class FileHandler(_IndexHandler):
    async def get(self, project: str, filename: str) -> None:
        path = self.index.file(project, filename)
        if path is None:
            raise web.HTTPError(404, f"no file {filename} of {project} in the bento index")
        self.set_header("Content-Type", "application/octet-stream")
        loop = asyncio.get_running_loop()
        self.finish(await loop.run_in_executor(self.pool, path.read_bytes))


def handlers(app: Any) -> list[tuple[str, type, dict[str, Any]]]:
    """The index's routes (``app`` is the BentoApp: its index and the pool pip runs in)."""
    args = {"index": app.package_index, "pool": app.package_pool}
    return [
        (r"/bento/pypi/simple/?", RootHandler, args),
        (r"/bento/pypi/simple/([^/]+)/?", ProjectHandler, args),
        (r"/bento/pypi/files/([^/]+)/([^/]+)", FileHandler, args),
    ]
