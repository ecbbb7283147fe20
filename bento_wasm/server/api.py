"""The base of every ``/bento/api/...`` handler: token auth, one CORS rule, JSON errors.

Jupyter Server supplies the auth (``Authorization: token <token>``, ``@web.authenticated``);
this class narrows its CORS rules. Jupyter lets any origin call a token-authenticated API;
here, for every ``/bento/api/...`` endpoint (data, uploads, sessions) and its preflight
(``OPTIONS``), only the server's own origin and the configured page origins
(``--BentoApp.page_origins``) may, and only they get ``Access-Control-Allow-Origin``.
Any other origin gets a 403 whose message names that option, before authentication, so a
refused page learns nothing else. The refusal itself carries ``Access-Control-Allow-Origin``
(it holds only the message), so a page can read why: a preflight refused that way is a bare
network error to the browser, and the clients then ask ``GET /bento/api/info`` (a simple
request, no preflight) to say what to set (bento_wasm.environment.diagnose).

Errors the handlers meet on purpose are :class:`~bento_wasm.errors.BentoError`\\ s and go
out as ``{"error": error.to_dict(), "message": ...}`` (STYLE.md #9), so the client re-raises
the same class; a missing or wrong token is such an error too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import BentoError, ExecutorError

__all__ = ["API_VERSION", "BentoAPIHandler", "InfoHandler", "OriginRefused", "handlers"]

ALLOWED_HEADERS = "accept, content-type, authorization"
#: The version of the /bento/api/... endpoints, in GET /bento/api/info.
API_VERSION = 1


def normal_origin(origin: str) -> str:
    """``HTTP://Host:1/`` -> ``http://host:1``: origins compare without case or a final /."""
    return origin.strip().rstrip("/").lower()


class OriginRefused(web.HTTPError):
    """A page origin this server does not allow; ``error`` is what the client re-raises."""

    def __init__(self, error: BentoError) -> None:
        super().__init__(403, error.message.replace("%", "%%"))
        self.error = error


class BentoAPIHandler(APIHandler):
    """APIHandler with the one CORS rule of /bento/api and structured errors."""

    @property
    def page_origins(self) -> set[str]:
        return {normal_origin(o) for o in self.settings.get("bento_page_origins", ())}

    def _cross_origin(self) -> str | None:
        """The request's Origin when it is not this server's own (None: same origin or none)."""
        origin = self.request.headers.get("Origin")
        if origin is None or urlparse(origin.lower()).netloc == self.request.host.lower():
            return None
        return origin

    def refusal(self, origin: str) -> ExecutorError:
        server = f"{self.request.protocol}://{self.request.host}"
        return ExecutorError(
            f"the bento server at {server} does not allow pages from {origin} to call its API "
            f"(HTTP 403). Start it with --BentoApp.page_origins={origin} (or add "
            f"{origin!r} to c.BentoApp.page_origins in jupyter_server_config.py) if your "
            "notebook page is served from there.",
            url=server,
            status=403,
        )

    async def prepare(self) -> None:  # type: ignore[override]
        origin = self._cross_origin()
        if origin is not None and normal_origin(origin) not in self.page_origins:
            raise OriginRefused(self.refusal(origin))
        await super().prepare()

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        origin = self._cross_origin()
        return origin is None or normal_origin(origin) in self.page_origins

    def set_cors_headers(self) -> None:
        origin = self._cross_origin()
        if origin is not None:
            # Allowed origins, and refused ones on their 403 (its body is only the message).
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")

    @allow_unauthenticated
    def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
        self.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error answer keeps the CORS header (send_error cleared it), so the page can
        read the reason; refusals of the origin or the token are structured BentoErrors."""
        self.set_cors_headers()
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, OriginRefused):
            return self.fail(403, exc.error)
        if status_code == 403 and not getattr(self, "_jupyter_current_user", None):
            return self.fail(403, self.token_refusal())
        super().write_error(status_code, **kwargs)

    def token_refusal(self) -> ExecutorError:
        server = f"{self.request.protocol}://{self.request.host}"
        given = "a wrong token" if self.request.headers.get("Authorization") else "no token"
        return ExecutorError(
            f"the bento server at {server} refused the token: the request carried {given} "
            "(HTTP 403). "
            "Use the token the server printed at start (its URL's ?token=...): "
            "`%executor URL --token TOKEN`, BENTO_EXECUTOR_TOKEN, or executor.token in the "
            "kernel options.",
            url=server,
            status=403,
        )

    def fail(self, status: int, error: BentoError) -> None:
        self.set_status(status)
        self.finish(json.dumps({"error": error.to_dict(), "message": error.message}))

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


class InfoHandler(BentoAPIHandler):
    """``GET /bento/api/info``: who answers here (no token; a simple request, no preflight).

    Clients ask it when a call fails without an answer (CORS refused the preflight, or the URL
    is not a bento server) to say what to set instead of a bare network error."""

    @allow_unauthenticated
    def get(self) -> None:
        from .. import __version__

        self.reply({"bento": __version__, "api": API_VERSION})


def handlers() -> list[tuple[str, type, dict[str, Any]]]:
    return [(r"/bento/api/info", InfoHandler, {})]
