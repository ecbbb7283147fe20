"""Waiting for a JavaScript promise from Python (JSPI's ``run_sync``), interrupts held meanwhile.

While the worker's Python is suspended in ``run_sync``, JavaScript goes on and may call into
Python for other work: a settled promise's callback (Pyodide's ``_future_helper.set_result``),
a timer of Pyodide's event loop. Pyodide raises a pending interrupt at the first Python it
runs, so an Interrupt pressed during the wait was raised inside such a callback: the callback
died, the future it was to resolve never was, and the cell hung. The worker therefore holds
interrupts for the length of the wait (``globalThis.bentoInterrupts``, worker_js/kernel/
worker.js) and gives them back after it: a pending interrupt is then raised in the cell's own
code, right after the wait. The wait itself is not cut short: a remote call is stopped by the
page, which interrupts the executor's kernel (worker_js/kernel/offload.js); the answer then
comes back at once.
"""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]

__all__ = ["wait"]


def wait(awaitable: Any) -> Any:
    """``run_sync(awaitable)`` with the worker's interrupts held until it returns."""
    from pyodide.ffi import run_sync

    interrupts = getattr(js, "bentoInterrupts", None)  # absent outside the worker (Node host)
    if interrupts is not None:
        interrupts.hold()
    try:
        return run_sync(awaitable)
    finally:
        if interrupts is not None:
            interrupts.release()
