"""The base of every ``/bento/api/...`` handler: token auth, CORS for the page only, JSON errors.

Jupyter Server supplies the auth (``Authorization: token <token>``, ``@web.authenticated``);
this class narrows its CORS rules. Jupyter lets any origin call a token-authenticated API;
here only the server's own origin and the configured page origins
(``--BentoApp.page_origins``) may, and only they get ``Access-Control-Allow-Origin``.

Errors the handlers meet on purpose are :class:`~bento_wasm.errors.BentoError`\\ s and go
out as ``{"error": error.to_dict()}`` (STYLE.md #9), so the client re-raises the same class.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import BentoError

__all__ = ["BentoAPIHandler"]

ALLOWED_HEADERS = "accept, content-type, authorization"


class BentoAPIHandler(APIHandler):
    """APIHandler with CORS limited to the page's origin and structured errors."""

    @property
    def page_origins(self) -> set[str]:
        return set(self.settings.get("bento_page_origins", ()))

    def _allowed_origin(self) -> str | None:
        """The request's Origin if it may read our answers (None: same origin or no header)."""
        origin = self.request.headers.get("Origin")
        if origin is None or urlparse(origin.lower()).netloc == self.request.host:
            return None
        if origin in self.page_origins:
            return origin
        raise web.HTTPError(
            403,
            f"origin {origin} may not call the bento API; add it with "
            "--BentoApp.page_origins if the page is served from there",
        )

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        self._allowed_origin()
        return True

    def set_cors_headers(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin in self.page_origins:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")

    @allow_unauthenticated
    def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
        self.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
        self.set_status(204)
        self.finish()

    def fail(self, status: int, error: BentoError) -> None:
        self.set_status(status)
        self.finish(json.dumps({"error": error.to_dict()}))

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, default=str))

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise web.HTTPError(400, f"the request body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body
