"""IPython inside the serverless kernel, for the cells that need it (see ``classic.route``).

:func:`shell_for` builds, once per kernel and only when a cell first needs it, an IPython
``InteractiveShell`` over the kernel's own namespace, wired the way ipykernel wires its
shell: displays and results become the kernel's ``display_data`` / ``execute_result``
messages, tracebacks its ``error`` message (IPython's formatted lines, as ipykernel sends
them), ``?`` help goes to the cell's output (what JupyterLab does with ipykernel's pager
payload), history holds every cell the kernel ran (also those before IPython loaded), and
bento's own line magics stay available. Shell escapes raise NoShellError.

Importing this module imports nothing; IPython is imported by :func:`shell_for`.
"""

from __future__ import annotations

import sys
from functools import cache

from .classic import SHELL_CELL_MAGICS, SHELL_LINE_MAGICS, no_shell
from .display import current_publisher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    #: bento_wasm.kernel.interpreter.Kernel (which imports this module, so not named here).
    Kernel = Any

__all__ = ["run_in_shell", "shell_for"]


class _UserModule:
    """IPython's user module, whose ``__dict__`` is set to the kernel's namespace."""


def shell_for(kernel: Kernel) -> Any:
    """The kernel's IPython shell, created on first use (imports IPython)."""
    shell = getattr(kernel, "_ipython", None)
    if shell is None:
        shell = _make_shell(kernel)
        kernel._ipython = shell
    return shell


async def run_in_shell(kernel: Kernel, code: str) -> BaseException | None:
    """Run ``code`` as IPython would (magics, help, transformers); what it raised, or None.

    Outputs and the error message have been sent when this returns.
    """
    shell = shell_for(kernel)
    shell.execution_count = kernel.execution_count
    shell.bento_error = None
    try:
        transformed = shell.transform_cell(code)
        problem = None
    except Exception:
        transformed, problem = code, sys.exc_info()
    result = await shell.run_cell_async(
        code, store_history=True, transformed_cell=transformed, preprocessing_exc_tuple=problem
    )
    shell.execution_count = kernel.execution_count
    error: BaseException | None = result.error_before_exec or result.error_in_exec
    return error if error is not None else shell.bento_error


def remember(kernel: Kernel, code: str) -> None:
    """Record a cell the kernel ran natively in the shell's history, if the shell exists."""
    shell = getattr(kernel, "_ipython", None)
    if shell is not None:
        _store(shell, kernel.execution_count, code)


def _store(shell: Any, count: int, code: str) -> None:
    try:
        parsed = shell.transform_cell(code)
    except Exception:  # IPython's transformers refuse what Python would: keep the raw cell
        parsed = code
    shell.history_manager.store_inputs(count, parsed, code)


def _make_shell(kernel: Kernel) -> Any:
    from IPython.core import page
    from IPython.core.interactiveshell import InteractiveShell

    shell_class = _shell_class()
    publisher_class, hook_class = _output_classes()
    if InteractiveShell.initialized():  # one kernel per worker; in tests the last one wins
        type(InteractiveShell.instance()).clear_instance()
    module = _UserModule()
    module.__dict__ = kernel.namespace
    shell_class.bento_kernel = kernel
    shell = shell_class.instance(
        user_module=module, displayhook_class=hook_class, display_pub_class=publisher_class
    )
    hidden = {name for name in kernel.namespace if not name.startswith("_")} & kernel.own_names
    shell.user_ns_hidden.update({name: kernel.namespace[name] for name in hidden})

    def show_in_pager(text: Any, start: int = 0, screen_lines: int = 0, **kwargs: Any) -> None:
        data = text if isinstance(text, dict) else {"text/plain": text}
        shell.display_pub.publish(data=data, metadata={})

    shell.set_hook("show_in_pager", page.as_hook(show_in_pager), 99)  # type: ignore[no-untyped-call]
    _refuse_shell_magics(shell)
    _register_bento_magics(kernel, shell)
    for count, code in enumerate(kernel.history, start=1):
        _store(shell, count, code)
    return shell


@cache
def _output_classes() -> tuple[Any, Any]:
    """IPython's display publisher and display hook, speaking the worker protocol."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher

    class Publisher(DisplayPublisher):
        def publish(
            self,
            data: dict[str, Any],
            metadata: dict[str, Any] | None = None,
            source: Any = None,
            *,
            transient: dict[str, Any] | None = None,
            update: bool = False,
            **kwargs: Any,
        ) -> None:
            publisher = current_publisher.get()
            if publisher is None:
                print(data.get("text/plain", ""))
                return
            display_id = (transient or {}).get("display_id")
            publisher.publish(data, metadata or {}, display_id, update)

        def clear_output(self, wait: bool = False) -> None:
            publisher = current_publisher.get()
            if publisher is None:
                super().clear_output(wait)  # type: ignore[no-untyped-call]
                return
            sys.stdout.flush()
            sys.stderr.flush()
            publisher.clear(wait)

    class ResultHook(DisplayHook):
        bento_bundle: tuple[dict[str, Any], dict[str, Any]] | None = None

        def start_displayhook(self) -> None:
            self.bento_bundle = None

        def write_output_prompt(self) -> None:
            pass

        def write_format_data(
            self, format_dict: dict[str, Any], md_dict: dict[str, Any] | None = None
        ) -> None:
            self.bento_bundle = (format_dict, md_dict or {})

        def finish_displayhook(self) -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            shell: Any = self.shell
            if self.bento_bundle is not None:
                kernel = shell.bento_kernel
                data, metadata = self.bento_bundle
                kernel.send(
                    "execute_result",
                    id=kernel.cell_id,
                    execution_count=kernel.execution_count,  # IPython 9 counts on early
                    data=data,
                    metadata=metadata,
                )
            self.bento_bundle = None

    return Publisher, ResultHook


@cache
def _shell_class() -> Any:
    """IPython's shell over the kernel's namespace, with no shell underneath."""
    from IPython.core.history import HistoryManager
    from IPython.core.interactiveshell import InteractiveShell

    class BentoShell(InteractiveShell):
        """InteractiveShell speaking the worker protocol, with no shell underneath."""

        bento_kernel: Any = None
        bento_error: BaseException | None = None

        def init_history(self) -> None:
            # In memory: no file, and no saving thread (a browser worker has no threads).
            self.history_manager = HistoryManager(shell=self, parent=self, hist_file=":memory:")
            self.configurables.append(self.history_manager)  # type: ignore[arg-type]

        def _showtraceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            kernel = self.bento_kernel
            kernel.send(
                "error", id=kernel.cell_id, ename=etype.__name__, evalue=str(evalue), traceback=stb
            )
            if isinstance(evalue, BaseException):
                self.bento_error = evalue

        def enable_gui(self, gui: str | None = None) -> None:
            # %matplotlib inline asks for no event loop; a browser worker has no other.
            if gui not in (None, "inline"):
                raise NotImplementedError(
                    f"GUI event loops ({gui}) do not exist in the browser tab; use "
                    "%matplotlib inline (figures show in the cell's output)"
                )

        def system(self, cmd: str) -> Any:
            raise no_shell(f"`!{cmd}`")

        system_piped = system_raw = system

        def getoutput(self, cmd: str, split: bool = True, depth: int = 0) -> Any:
            raise no_shell(f"`!{cmd}`")

    return BentoShell


def _refuse_shell_magics(shell: Any) -> None:
    def refuse(kind: str, name: str) -> Any:
        def magic(line: str = "", cell: str | None = None) -> Any:
            raise no_shell(("%%" if kind == "cell" else "%") + name)

        return magic

    for name in SHELL_CELL_MAGICS:
        shell.register_magic_function(refuse("cell", name), "cell", name)
    for name in SHELL_LINE_MAGICS:
        shell.register_magic_function(refuse("line", name), "line", name)


def _register_bento_magics(kernel: Kernel, shell: Any) -> None:
    """Bento's line magics inside an IPython cell (``%memory`` next to ``%who``)."""
    for name in kernel.magics.line:

        def magic(line: str, _name: str = name) -> Any:
            return kernel.run_line_magic(_name, line)

        shell.register_magic_function(magic, "line", name)
