"""What the executor holds to: a most number of sessions, idle sessions culled, body sizes.

Kept apart from the handlers and the executor they guard, as functions they call:

- :func:`check_capacity`: a new session over ``--BentoExecutor.max_sessions`` is refused
  with 429 (each session is an ipykernel of ~60 MB), saying what to do;
- :class:`SessionCuller`: sessions idle longer than ``--BentoExecutor.cull_idle_s``
  (default one hour) are shut down; the notebook's next call runs in a fresh session and
  says the remote state was culled, as it does after a killed kernel;
- :func:`check_body`: a request body over its endpoint's limit is refused with 413 before
  it is parsed;
- :func:`check_queue`: an upload over ``--BentoApp.max_queued_uploads`` waiting jobs is
  refused with 429;
- :class:`OriginCheckingIdentityProvider`: Jupyter Server skips its origin check for
  token-authenticated requests, so a page on any origin holding the token could call the
  contents API; this server checks the origin of every request (the page is served by the
  server itself; ``--BentoApp.page_origins`` admits others to /bento/api).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from jupyter_server.auth.identity import PasswordIdentityProvider

from ..errors import ExecutorError, PayloadTooLarge

__all__ = [
    "OriginCheckingIdentityProvider",
    "SessionCuller",
    "check_body",
    "check_capacity",
    "check_queue",
]

#: Bodies of endpoints that take a small JSON object (a query, a job id) or nothing.
SMALL_BODY = 1 << 20


def check_capacity(executor: Any, session_id: str) -> None:
    """Refuse a new session when the executor already runs its maximum (429)."""
    limit = int(executor.max_sessions)
    if not limit or session_id in executor.sessions:
        return
    busy = len(executor.sessions) + len(executor.starting - {session_id})
    if busy >= limit:
        raise ExecutorError(
            f"the executor already runs its maximum of {limit} remote sessions (one kernel "
            "each); close one you no longer need (restart or close that notebook's remote "
            "kernel: DELETE /bento/api/sessions/<id>), wait for idle ones to be culled, or "
            "raise --BentoExecutor.max_sessions on the server",
            status=429,
        )


def check_body(body: bytes, limit: int, what: str) -> None:
    """Refuse a request body over ``limit`` bytes (413), saying what to send instead."""
    if len(body) > limit:
        raise PayloadTooLarge(
            f"the request body of {what} is {len(body) / 2**20:.2f} MiB, over its limit of "
            f"{limit / 2**20:.2f} MiB; send less (filter or sample first, or split it), or "
            "raise the limit on the server",
            status=413,
        )


def check_queue(queued: int, limit: int) -> None:
    """Refuse one more upload job when ``limit`` jobs already wait (429)."""
    if limit and queued >= limit:
        raise ExecutorError(
            f"{queued} upload jobs are already waiting, the server's limit; wait for them to "
            "finish (GET /bento/api/uploads), cancel some, or raise "
            "--BentoApp.max_queued_uploads",
            status=429,
        )


class SessionCuller:
    """Shuts down sessions idle longer than ``executor.cull_idle_s`` (0: never)."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the periodic check (once, on the running loop)."""
        if self.task is None and self.executor.cull_idle_s > 0:
            self.task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def _loop(self) -> None:
        while True:
            idle_s = float(self.executor.cull_idle_s)
            await asyncio.sleep(max(0.5, min(float(self.executor.cull_interval_s), idle_s / 2)))
            with contextlib.suppress(Exception):  # one failed shutdown must not end the culling
                await self.cull()

    async def cull(self, now: float | None = None) -> list[str]:
        """Shut down every idle session past the limit; their ids."""
        now = time.time() if now is None else now
        idle_s = float(self.executor.cull_idle_s)
        culled = []
        for session_id, session in list(self.executor.sessions.items()):
            idle = now - session.last_used
            if idle_s > 0 and idle > idle_s and not session.lock.locked():
                await self.executor.forget(
                    session_id,
                    f"the remote session was culled after {idle:.0f} s without a call "
                    "(--BentoExecutor.cull_idle_s)",
                )
                culled.append(session_id)
        return culled


#: Paths whose requests are origin-checked even with a token (the data a notebook holds).
CHECKED_PATHS = ("/api/contents", "/bento/api/")


class OriginCheckingIdentityProvider(PasswordIdentityProvider):
    """Jupyter's identity provider, except that a token does not waive the origin check of
    the contents API and /bento/api (elsewhere Jupyter's rule holds: the worker's own
    requests for static files and packages come with an opaque origin)."""

    def should_check_origin(self, handler: Any) -> bool:
        base = str(handler.settings.get("base_url", "/")).rstrip("/")
        path = str(handler.request.path)
        if any(path.startswith(base + prefix) for prefix in CHECKED_PATHS):
            return True
        return bool(super().should_check_origin(handler))
