"""input() without cross-origin isolation: the worker waits here, the page answers here.

    GET  /bento/api/stdin/<session>/<request>?wait=S   long poll: the answer, or "waiting"
    POST /bento/api/stdin/<session>/<request>          {"value": "..."} or {"interrupt": true}

A page that is not cross-origin isolated has no SharedArrayBuffer, so the worker cannot block
on memory the page writes. It blocks in a synchronous request instead (worker_js/kernel/
worker.js): a GET held open for at most ``wait`` seconds (default 10, at most 60) and answered
``{"state": "waiting"}`` when nothing came, so it asks again; ``{"state": "answer", "value"}``
once the page posted the answer (BentoKernel.sendInput), or ``{"state": "interrupted"}`` once it
posted an interrupt (BentoKernel.interrupt; Python raises KeyboardInterrupt). The states are
protocol.json's ``stdin_states``.

``session`` is the BentoKernel's own random id, ``request`` names one input() call (its
input_request message carries it). Whichever side comes first creates the wait; the first
answer wins, later ones change nothing; a wait that no one collected is forgotten after an
hour. Token auth, the one CORS rule and structured errors are ``api.BentoAPIHandler``'s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tornado import web

from .. import protocol
from ..errors import ConfigError, PayloadTooLarge
from . import limits
from .api import BentoAPIHandler

__all__ = ["StdinWaits", "handlers"]

#: How long a GET is held open by default and at most (s).
DEFAULT_WAIT_S = 10.0
MAX_WAIT_S = 60.0
#: A wait no one collected (the page closed, the worker died) is dropped after this (s).
FORGET_AFTER_S = 3600.0


class _Wait:
    def __init__(self) -> None:
        self.outcome: dict[str, Any] | None = None
        self.settled = asyncio.Event()
        self.created = time.monotonic()


class StdinWaits:
    """The input() calls waiting for an answer, by (session, request)."""

    def __init__(self) -> None:
        self.waits: dict[tuple[str, str], _Wait] = {}
        self.waiting, self.answer, self.interrupted = protocol.spec()["stdin_states"]

    def _wait(self, key: tuple[str, str]) -> _Wait:
        self.forget_old()
        return self.waits.setdefault(key, _Wait())

    def settle(self, key: tuple[str, str], outcome: dict[str, Any]) -> bool:
        """Give the wait its outcome; False if it already had one (the first answer wins)."""
        wait = self._wait(key)
        if wait.outcome is not None:
            return False
        wait.outcome = outcome
        wait.settled.set()
        return True

    async def collect(self, key: tuple[str, str], timeout_s: float) -> dict[str, Any]:
        """The outcome once it comes (the wait is then done), or "waiting" after timeout_s."""
        wait = self._wait(key)
        try:
            await asyncio.wait_for(wait.settled.wait(), timeout_s)
        except TimeoutError:
            return {"state": self.waiting}
        self.waits.pop(key, None)
        return wait.outcome or {"state": self.waiting}  # set before the event, never None here

    def forget_old(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key, wait in list(self.waits.items()):
            if now - wait.created > FORGET_AFTER_S:
                del self.waits[key]


class StdinHandler(BentoAPIHandler):
    def initialize(self, waits: StdinWaits) -> None:
        self.waits = waits

    @web.authenticated
    async def get(self, session: str, request: str) -> None:
        raw = self.get_query_argument("wait", str(DEFAULT_WAIT_S))
        try:
            wait_s = float(raw)
        except ValueError:
            wait_s = -1.0
        if not 0 <= wait_s <= MAX_WAIT_S:
            return self.fail(
                400,
                ConfigError(
                    f"?wait={raw} is not a number of seconds from 0 to {MAX_WAIT_S:g}; "
                    f"leave it out for {DEFAULT_WAIT_S:g} s"
                ),
            )
        self.reply(await self.waits.collect((session, request), wait_s))

    @web.authenticated
    def post(self, session: str, request: str) -> None:
        try:
            limits.check_body(self.request.body, limits.SMALL_BODY, "an answer to input()")
        except PayloadTooLarge as exc:
            return self.fail(413, exc)
        body = self.json_body()
        if body.get("interrupt") is True and "value" not in body:
            outcome: dict[str, Any] = {"state": self.waits.interrupted}
        elif isinstance(body.get("value"), str) and "interrupt" not in body:
            outcome = {"state": self.waits.answer, "value": body["value"]}
        else:
            return self.fail(
                400,
                ConfigError(
                    'the body must be {"value": "<the answer, a string>"} or '
                    '{"interrupt": true}; nothing was delivered, so input() still waits'
                ),
            )
        taken = self.waits.settle((session, request), outcome)
        self.reply({"delivered": taken})


def handlers() -> list[tuple[str, type, dict[str, Any]]]:
    waits = StdinWaits()
    return [(r"/bento/api/stdin/([^/]+)/([^/]+)", StdinHandler, {"waits": waits})]
