"""The kernel: runs cells in one namespace and reports what they print, show and raise.

Stdlib only, so the same code runs in the browser worker and in CPython tests.
Messages leave through ``emit(message_dict)``; their shapes come from
``protocol.json``. Like IPython, a cell's last expression is its result, a
trailing ``;`` hides it, and top-level ``await`` works.
"""

from __future__ import annotations

import ast
import io
import linecache
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout

from .. import protocol
from ..errors import MagicError, NoShellError, StdinNotImplementedError
from . import classic, shell
from .display import Publisher, current_publisher, display, flush_figures, mimebundle
from .magics import (
    AWAIT_MAGIC_CALL,
    LINE_MAGIC_CALL,
    MagicContext,
    MagicRegistry,
    split_cell_magic,
    transform_line_magics,
)
from .magics import registry as default_registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, TracebackType
    from typing import Any

__all__ = ["CellHook", "Kernel"]

Emit = Callable[[dict[str, "Any"]], None]
#: Called as ``hook(kernel, cell_id, code)``; may be async. Raising refuses the cell; a
#: pre-cell hook that returns a string replaces the code (automatic offload does that).
CellHook = Callable[["Kernel", str, str], "Awaitable[str | None] | str | None"]
#: The code flag of a compiled cell that uses top-level await (inspect.CO_COROUTINE).
CO_COROUTINE = 0x0080


class _Stream(io.TextIOBase):
    """A text stream that sends whole lines (or carriage-return updates) as stream messages."""

    def __init__(self, name: str, kernel: Kernel) -> None:
        self.name = name
        self._kernel = kernel
        self._pending = ""

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        # IPython writes µ and ± (%timeit) only to a stream that says it takes them.
        return "utf-8"

    def write(self, text: str) -> int:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            self._send(self._pending[: cut + 1])
            self._pending = self._pending[cut + 1 :]
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._send(self._pending)
            self._pending = ""

    def _send(self, text: str) -> None:
        self._kernel.send("stream", id=self._kernel.cell_id, name=self.name, text=text)


class Kernel:
    """One notebook's Python state and the loop that runs its cells."""

    def __init__(
        self,
        emit: Emit,
        namespace: dict[str, Any] | None = None,
        magics: MagicRegistry | None = None,
    ) -> None:
        self._emit = emit
        self.magics = magics or default_registry
        self.namespace: dict[str, Any] = namespace if namespace is not None else {}
        self.namespace.setdefault("__name__", "__main__")
        self.namespace.setdefault("__builtins__", __builtins__)
        self.namespace.setdefault("display", display)
        self.namespace[LINE_MAGIC_CALL] = self.run_line_magic
        self.namespace[AWAIT_MAGIC_CALL] = self.run_line_magic_async
        self.execution_count = 0
        #: The cells run so far (as typed), for IPython's history once it loads.
        self.history: list[str] = []
        #: Names the kernel itself put in the namespace (hidden from %who), set at the first cell.
        self.own_names: set[str] = set()
        #: The IPython shell (bento_wasm.kernel.shell), created when a cell first needs it.
        self._ipython: Any = None
        #: Answers input() and getpass(): called as ``stdin(prompt, password, request)`` after
        #: the input_request message (which names ``request``) went out; blocks until the user
        #: answers, returns None if interrupted meanwhile. The worker installs it; None: no
        #: one can answer (a headless run), and input() raises StdinNotImplementedError.
        self.stdin: Callable[[str, bool, str], str | None] | None = None
        self._inputs = 0  # input() calls so far: each request gets its own name
        #: Why input() cannot be answered when ``stdin`` is None (the worker says more).
        self.no_stdin = (
            "input() was called, but this kernel has no user to answer it (a headless run: "
            "bento run, papermill --engine bento, Airflow): pass the value as a parameter "
            "(-p NAME VALUE) or read it from a file or an environment variable instead"
        )
        self.cell_id = ""
        #: What the running (or last) cell raised, for post_cell hooks; None if it did not.
        self.last_error: BaseException | None = None
        #: Run before each cell; one that raises stops the cell with that error.
        self.pre_cell: list[CellHook] = []
        #: Run after each cell, whatever its outcome.
        self.post_cell: list[CellHook] = []
        #: Admission control: called as ``admit(nbytes, what)`` before data of that size
        #: is copied into wasm memory (Arrow injection, magic results). It raises
        #: MemoryBudgetExceeded to refuse; the memory budget installs the real check.
        self.admit: Callable[[int, str], None] = _admit_everything
        #: Jupyter comms (bento_wasm.kernel.comms.CommBridge), once a cell imported ipywidgets.
        self.comms: Any = None

    @contextmanager
    def _forward_input(self, code: str) -> Iterator[None]:
        """input() and getpass() ask the page while a cell runs, as ipykernel's do.

        getpass is imported only for a cell that names it (or once something imported it):
        a plain cell pays nothing."""
        import builtins

        if "getpass" in code and "getpass" not in sys.modules:
            import importlib

            importlib.import_module("getpass")
        getpass: Any = sys.modules.get("getpass")
        saved = builtins.input, getattr(getpass, "getpass", None)
        builtins.input = self.input
        if getpass is not None:
            getpass.getpass = self.getpass
        try:
            yield
        finally:
            builtins.input = saved[0]
            if getpass is not None:
                getpass.getpass = saved[1]

    def input(self, prompt: object = "") -> str:
        """``input()`` in a cell: the page shows ``prompt`` and the call waits for the answer."""
        return self._ask(str(prompt), password=False)

    def getpass(self, prompt: str = "Password: ", stream: Any = None) -> str:
        """``getpass.getpass()`` in a cell: like input(), with what the user types hidden."""
        return self._ask(str(prompt), password=True)

    def _ask(self, prompt: str, password: bool) -> str:
        if self.stdin is None:
            raise StdinNotImplementedError(self.no_stdin)
        sys.stdout.flush()
        sys.stderr.flush()
        self._inputs += 1
        request = f"{self.cell_id}.{self._inputs}"
        self.send(
            "input_request", id=self.cell_id, prompt=prompt, password=password, request=request
        )
        value = self.stdin(prompt, password, request)
        if value is None:
            raise KeyboardInterrupt("Interrupted by user") from None
        return value

    def send(self, kind: str, **fields: Any) -> None:
        self._emit(protocol.message(kind, **fields))

    async def execute(self, cell_id: str, code: str) -> dict[str, Any]:
        """Run one cell; every output and the reply go through ``emit``. Returns the reply."""
        if self.execution_count == 0:
            self.own_names = set(self.namespace)
        self.execution_count += 1
        self.cell_id = cell_id
        self.last_error = None
        started = time.perf_counter()
        out, err = _Stream("stdout", self), _Stream("stderr", self)
        token = current_publisher.set(Publisher(cell_id, self.send))
        status = "ok"
        try:
            with redirect_stdout(out), redirect_stderr(err), self._forward_input(code):
                try:
                    shown = await self._run(await self._run_pre_hooks(cell_id, code), code)
                    if shown is not None:  # raised in IPython, which reported it already
                        status = "error"
                        self.last_error = shown
                except BaseException as exc:  # the kernel boundary: report, never die
                    out.flush()
                    err.flush()
                    status = "error"
                    self.last_error = exc
                    self._report(exc)
                finally:
                    self.history.append(code)
                    await self._after(cell_id, code)
                    out.flush()
                    err.flush()
        finally:
            current_publisher.reset(token)
        reply = protocol.message(
            "execute_reply",
            id=cell_id,
            status=status,
            execution_count=self.execution_count,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        self._emit(reply)
        return reply

    @contextmanager
    def handling(self, handler_id: str) -> Iterator[None]:
        """Run a front end's message (a widget's comm message) as a short cell of its own id:
        what it prints or shows goes out under ``handler_id``, what it raises is reported as
        that id's error, and the kernel goes on."""
        saved = self.cell_id
        self.cell_id = handler_id
        out, err = _Stream("stdout", self), _Stream("stderr", self)
        token = current_publisher.set(Publisher(handler_id, self.send))
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    yield
                except Exception as exc:  # the kernel boundary: report, never die
                    out.flush()
                    err.flush()
                    self._report(exc)
                finally:
                    out.flush()
                    err.flush()
        finally:
            current_publisher.reset(token)
            self.cell_id = saved

    async def _after(self, cell_id: str, code: str) -> None:
        try:
            flush_figures()
            await self._run_hooks(self.post_cell, cell_id, code)
        except Exception as exc:  # a broken hook must not take the cell's outputs with it
            self._report(exc)

    async def _run_pre_hooks(self, cell_id: str, code: str) -> str:
        """Run ``pre_cell``; a hook that returns a string replaces the cell's code."""
        for hook in self.pre_cell:
            result = hook(self, cell_id, code)
            if isinstance(result, Awaitable):
                result = await result
            if isinstance(result, str):
                code = result
        return code

    async def _run_hooks(self, hooks: list[CellHook], cell_id: str, code: str) -> None:
        for hook in hooks:
            result = hook(self, cell_id, code)
            if isinstance(result, Awaitable):
                await result

    def magic_context(self) -> MagicContext:
        return MagicContext(self.namespace, display)

    def run_line_magic(self, name: str, args: str) -> Any:
        result = self.magics.line_magic(name)(self.magic_context(), args)
        if isinstance(result, Awaitable):
            if hasattr(result, "close"):
                result.close()  # never awaited: no "coroutine was never awaited" warning
            raise MagicError(
                f"%{name} waits for the network, so it runs only at the top level of a cell "
                "that bento runs itself: put it on a line of its own, outside functions, in a "
                "cell without IPython-only syntax (%timeit, ?, ...)"
            )
        return result

    async def run_line_magic_async(self, name: str, args: str) -> Any:
        """An awaited line magic (``%pip``): the cell waits for it where it stands.

        Its MagicError shows as the cell's line and the message, without the magic's insides
        (the message says what happened and what to do)."""
        try:
            result = self.magics.line_magic(name)(self.magic_context(), args)
            return await result if isinstance(result, Awaitable) else result
        except MagicError as exc:
            raise exc.with_traceback(None) from None

    async def _run(self, code: str, typed: str) -> BaseException | None:
        """Run ``code`` (``typed`` as the user typed it); what IPython raised and reported."""
        try:
            way = classic.route(code, self.magics)
        except (NoShellError, MagicError) as exc:
            raise exc.with_traceback(None) from None
        if way == classic.IPYTHON:
            return await shell.run_in_shell(self, code)
        shell.remember(self, typed)
        await self._run_native(code)
        return None

    async def _run_native(self, code: str) -> None:
        cell_magic = split_cell_magic(code)
        if cell_magic is not None:
            name, args, cell_body = cell_magic
            value = self.magics.cell_magic(name)(self.magic_context(), args, cell_body)
            if isinstance(value, Awaitable):
                value = await value
            self._show_result(value, code)
            return
        filename = f"<cell {self.execution_count}>"
        source = transform_line_magics(code, self.magics.awaited)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        body, last = _compile_cell(source, filename)
        await _evaluate(body, self.namespace)
        if last is None:
            return
        self._show_result(await _evaluate(last, self.namespace), code)

    def _show_result(self, value: Any, code: str) -> None:
        if value is None or code.rstrip().endswith(";"):
            return
        self.namespace["_"] = value
        data, metadata = mimebundle(value)
        self.send(
            "execute_result",
            id=self.cell_id,
            execution_count=self.execution_count,
            data=data,
            metadata=metadata,
        )

    def _report(self, exc: BaseException) -> None:
        self.send(
            "error",
            id=self.cell_id,
            ename=type(exc).__name__,
            evalue=str(exc),
            traceback=format_user_traceback(exc),
        )


def _admit_everything(nbytes: int, what: str) -> None:
    """The admission check of a kernel without a memory budget."""


_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _compile_cell(code: str, filename: str) -> tuple[CodeType, CodeType | None]:
    """Compile a cell into its body and, if it ends in an expression, that expression."""
    tree = ast.parse(code, filename, "exec")
    last: CodeType | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop()
        assert isinstance(final, ast.Expr)
        expression = ast.Expression(final.value)
        last = compile(expression, filename, "eval", flags=_FLAGS, dont_inherit=True)
    body = compile(tree, filename, "exec", flags=_FLAGS, dont_inherit=True)
    return body, last


async def _evaluate(code: CodeType, namespace: dict[str, Any]) -> Any:
    result = eval(code, namespace)
    if code.co_flags & CO_COROUTINE:
        result = await result
    return result


def format_user_traceback(exc: BaseException) -> list[str]:
    """Format ``exc`` without the kernel's own frames, starting at the user's code."""
    import traceback

    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    _drop_trailing_kernel_frames(tb)
    if isinstance(exc, SyntaxError):
        tb = None
    lines = traceback.format_exception(type(exc), exc, tb)
    return [line.rstrip("\n") for line in lines]


def _drop_trailing_kernel_frames(tb: TracebackType | None) -> None:
    """Cut the kernel's own frames after the user's last one (a magic's error re-raised by
    the kernel's magic call ends there)."""
    last_user = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            last_user = tb
        tb = tb.tb_next
    if last_user is not None:
        last_user.tb_next = None
