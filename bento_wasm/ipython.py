"""``%load_ext bento_wasm``: the data magics, ``%%remote`` and ``%memory`` in IPython kernels
(JupyterLite, CPython ipykernel; ``@remote`` needs no extension).

The handlers are the ones the project's worker runs (bento_wasm.data.cells); here they fetch
through the environment seam, which never suspends, so each coroutine is driven to its end
synchronously: IPython's cell magics are plain functions.
"""

from __future__ import annotations

from typing import Any

from .kernel.magics import MagicContext

__all__ = ["load_ipython_extension", "run_now"]


def run_now(value: Any) -> Any:
    """The result of a handler: a coroutine is driven to its end without an event loop."""
    if not hasattr(value, "send"):
        return value
    try:
        value.send(None)
    except StopIteration as stop:
        return stop.value
    value.close()
    raise RuntimeError("a bento magic waited on an event loop inside IPython; please report it")


def load_ipython_extension(ipython: Any) -> None:
    from IPython.display import display

    from .data import magics as data_magics
    from .memory.report import memory_magic
    from .offload.calls import remote_cell

    def context() -> MagicContext:
        return MagicContext(ipython.user_ns, display)

    def cell(handler: Any) -> Any:
        def magic(line: str, body: str) -> Any:
            return run_now(handler(context(), line, body))

        return magic

    def line(handler: Any) -> Any:
        def magic(line: str) -> Any:
            return run_now(handler(context(), line))

        return magic

    def line_cell(handler: Any) -> Any:
        def magic(line: str, body: str | None = None) -> Any:
            return run_now(handler(context(), line, body or ""))

        return magic

    for name, handler in data_magics.cell_magics().items():
        ipython.register_magic_function(cell(handler), "cell", name)
    for name, handler in data_magics.line_magics().items():
        ipython.register_magic_function(line(handler), "line", name)
    ipython.register_magic_function(cell(remote_cell), "cell", "remote")
    _activate_memory_monitor()
    ipython.register_magic_function(line(memory_magic), "line", "memory")
    for name, handler in data_magics.BODYLESS.items():
        ipython.register_magic_function(line_cell(handler), "line_cell", name)


def _activate_memory_monitor() -> None:
    """What %memory reports: JupyterLite's wasm heap, or this CPython process."""
    from .environment import current
    from .memory.budget import Monitor, active

    if active() is None:
        Monitor(current().memory_probe()).activate()
