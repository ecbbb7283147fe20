"""``%load_ext bento_wasm``: the data magics, ``%%remote``, ``%memory``, ``%executor`` and
``%offload`` in IPython kernels (JupyterLite, CPython ipykernel; ``@remote`` needs no extension).

The handlers are the ones the project's worker runs (bento_wasm.data.cells); here they fetch
through the environment seam, which never suspends, so each coroutine is driven to its end
synchronously: IPython's cell magics are plain functions.

Before each cell (IPython's ``pre_run_cell`` event) the offload planner looks at it: a cell
that imports what this kernel cannot provide gets a suggestion, or with ``%offload auto`` runs
on the executor (an input transformer turns it into a ``%%remote`` cell). In Pyodide a cell
that imports pandas also gets pyarrow loaded first (pandas looks for it once, at import);
the features load both through Pyodide's package loader when they first need them.
"""

from __future__ import annotations

import sys
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
    ipython.register_magic_function(line(_executor_magic), "line", "executor")
    _install_offload(ipython)
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


def _executor_magic(ctx: MagicContext, line: str) -> Any:
    """``%executor URL --token T``: the data magics, ``@remote`` and ``%%remote`` use it."""
    from .data.cells import executor_magic
    from .offload.calls import connect

    executor = executor_magic(ctx, line)
    connect(executor.url, executor.token)
    return executor


class _OffloadHooks:
    """The planner before each cell: pyarrow with pandas, suggestions, ``%offload auto``."""

    def __init__(self, ipython: Any) -> None:
        from .offload import calls

        self.hook = calls.AutoOffload(auto=False)
        self.namespace = ipython.user_ns  # what the planner reads of a kernel

    def executor_ready(self) -> bool:
        from .offload import calls

        try:
            calls.current()
        except OSError:
            return False
        return True

    def offloads(self, code: str) -> bool:
        if code.lstrip().startswith("%%") or not code.strip():
            return False
        return not self.hook.decide(self, code).lite  # type: ignore[arg-type]

    def before(self, info: Any) -> None:
        """IPython's ``pre_run_cell`` event."""
        from .environment import in_pyodide, need
        from .offload.analysis import analyze, python_source

        code = str(getattr(info, "raw_cell", "") or "")
        if in_pyodide() and "pyarrow" not in sys.modules:
            imports = analyze(python_source(code) or "").imports
            if any(name.split(".")[0] == "pandas" for name in imports):
                need()
        if not self.offloads(code):
            return
        reason = self.hook.last_plan.reason
        if self.hook.auto and self.executor_ready():
            from .offload.badges import show

            notice = f"[offload] running this cell on the executor: {reason}."
            show("remote (auto)", f"automatic offload: {reason}", notice, key="offload")
        else:
            print(f"[offload] {self.hook.last_plan.suggestion()}", file=sys.stderr)

    def transform(self, lines: list[str]) -> list[str]:
        """An input transformer: with ``%offload auto`` a non-lite cell becomes ``%%remote``."""
        if self.hook.auto and self.offloads("".join(lines)) and self.executor_ready():
            return ["%%remote\n", *lines]
        return lines

    def magic(self, line: str) -> str:
        """``%offload auto|suggest``: run non-lite cells remotely, or only suggest it."""
        mode = line.strip() or "status"
        if mode not in ("auto", "suggest", "status"):
            from .errors import MagicError

            raise MagicError("%offload takes auto (run non-lite cells remotely) or suggest")
        if mode != "status":
            self.hook.auto = mode == "auto"
        return "auto" if self.hook.auto else "suggest"


def _install_offload(ipython: Any) -> None:
    hooks = _OffloadHooks(ipython)
    ipython.events.register("pre_run_cell", hooks.before)
    ipython.input_transformers_cleanup.append(hooks.transform)
    ipython.register_magic_function(hooks.magic, "line", "offload")
