"""Requests to the executor and the data sources, as data (no IO here, STYLE.md #2).

:class:`HttpRequest` is what JavaScript's fetch or urllib will send; :class:`Executor` is where
the executor server is, the token it wants, and how its refusals read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import ExecutorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["ARROW_STREAM", "DEFAULT_CONNECTION", "MODES", "Executor", "HttpRequest"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"


DEFAULT_CONNECTION = "default"


MODES = ("create", "append", "replace")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request, as data: what JavaScript's fetch or urllib will send."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        """The request for JavaScript (the body as text: every body we send as JSON is UTF-8)."""
        body = None if self.body is None else self.body.decode("utf-8")
        return {"url": self.url, "method": self.method, "headers": self.headers, "body": body}


@dataclass(frozen=True)
class Executor:
    """Where the executor server is and the token it wants (``Authorization: token ...``)."""

    url: str
    token: str = ""

    @classmethod
    def from_settings(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> Executor:
        """From the kernel options (``executor: {url, token}``), else the environment."""
        given = options.get("executor") or {}
        url = str(given.get("url") or environ.get("BENTO_EXECUTOR_URL") or "")
        token = str(given.get("token") or environ.get("BENTO_EXECUTOR_TOKEN") or "")
        if not url:
            raise ExecutorError(
                "no executor configured: start one with `./dev run` (or `python -m "
                "bento_wasm.server`), then set BENTO_EXECUTOR_URL and BENTO_EXECUTOR_TOKEN, "
                "or run `%executor URL --token TOKEN`"
            )
        return cls(url.rstrip("/"), token)

    def request(
        self, path: str, method: str = "GET", payload: Any = None, body: bytes | None = None
    ) -> HttpRequest:
        headers = {"Authorization": f"token {self.token}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode("utf-8")
        elif body is not None:
            headers["Content-Type"] = ARROW_STREAM
        return HttpRequest(f"{self.url}/bento/api/{path}", method, headers, body)

    def refused(self, status: int, url: str, answer: bytes, content_type: str) -> Exception:
        """The error for a non-2xx answer: the server's own structured error when it sent one."""
        if content_type.startswith("application/json"):
            try:
                error = json.loads(answer).get("error")
            except (ValueError, AttributeError):
                error = None
            if isinstance(error, dict):  # the server's own (a refused origin or token, ...)
                from ..errors import BentoError

                return BentoError.from_dict(error)
        if status in (401, 403):
            return ExecutorError(
                f"the executor at {self.url} refused the token (HTTP {status}); use the token "
                "the server printed at start (open the page with ?token=..., run `%executor "
                "URL --token TOKEN`, or set BENTO_EXECUTOR_TOKEN)",
                url=url,
                status=status,
            )
        return ExecutorError(
            f"the executor at {self.url} answered HTTP {status} for {url}: "
            f"{answer[:300].decode('utf-8', 'replace')}; check the server's log",
            url=url,
            status=status,
        )
