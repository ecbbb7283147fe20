"""``@remote``, ``%%remote`` and automatic offload: the user-facing side of the executor.

    @remote
    def heavy(df):                 # result = heavy(df) blocks (sync XHR in the worker)
        ...                        # result = await heavy.aio(df) does not

    %%remote --in df --out model   # a cell on the executor; inferred when options are absent

The worker configures the default executor from the boot options (``executor: {url,
token, session, timeout_s}``) and installs :class:`AutoOffload` as a pre-cell hook
(``offload: {auto, budget_mib, pure_python}``): a cell the planner finds non-lite runs
on the executor with a notice saying why (``auto``), or runs here after a suggestion.
Elsewhere, :func:`connect` sets the executor by hand.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator, Mapping

from ..errors import ExecutorError, MagicError
from ..kernel.magics import MagicArgumentParser, registry
from .analysis import python_source
from .planner import Available, plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..kernel.interpreter import Kernel
    from .client import Executor

__all__ = ["AutoOffload", "RemoteFunction", "configure", "connect", "current", "remote"]

_executor: Executor | None = None


def configure(executor: Executor | None) -> None:
    """Set the executor ``@remote`` and ``%%remote`` use (``None`` forgets it)."""
    global _executor
    _executor = executor


def connect(
    url: str, token: str = "", session: str = "default", timeout_s: float | None = None
) -> Executor:
    """Point ``@remote`` and ``%%remote`` at the executor at ``url`` (over HTTP)."""
    from .client import Executor, HttpTransport

    executor = Executor(HttpTransport(url, token), session, timeout_s=timeout_s)
    configure(executor)
    return executor


def from_options(options: dict[str, Any]) -> Executor | None:
    """The executor named by the kernel's boot options, if any."""
    config = options.get("executor") or {}
    if not config.get("url"):
        return None
    timeout = config.get("timeout_s")
    return connect(
        str(config["url"]),
        str(config.get("token") or ""),
        str(config.get("session") or "default"),
        float(timeout) if timeout is not None else None,
    )


def current() -> Executor:
    """The configured executor; else the one BENTO_EXECUTOR_URL/TOKEN name (the bento server
    sets them for the kernels it starts, e.g. the page's server kernel)."""
    if _executor is None and os.environ.get("BENTO_EXECUTOR_URL"):
        return connect(os.environ["BENTO_EXECUTOR_URL"], os.environ.get("BENTO_EXECUTOR_TOKEN", ""))
    if _executor is None:
        raise ExecutorError(
            "no executor is configured. Open the notebook from the bento server "
            "(`python -m bento_wasm.server` prints its URL with ?token=) or call "
            "bento_wasm.connect(url, token)."
        )
    return _executor


class RemoteFunction:
    """A function whose calls run in the remote session (its source travels, not bytecode)."""

    def __init__(self, function: Callable[..., Any], executor: Executor | None = None) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.executor = executor

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        executor = self.executor or current()
        self._badge()
        return executor.call(self.function, *args, **kwargs)

    async def aio(self, *args: Any, **kwargs: Any) -> Any:
        """The awaitable form: ``await heavy.aio(df)`` (the kernel keeps running meanwhile)."""
        executor = self.executor or current()
        self._badge()
        return await executor.call_async(self.function, *args, **kwargs)

    def _badge(self) -> None:
        """The calling cell says where this call runs (once per cell and function)."""
        from .badges import show

        name = f"{self.function.__qualname__}()"
        show(
            "remote",
            f"@remote {name} runs on the executor's kernel",
            f"[remote] {name} runs on the executor's kernel",
            key=f"@remote {name}",
        )

    def local(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function here, in the browser."""
        return self.function(*args, **kwargs)


def remote(function: Callable[..., Any] | None = None, *, executor: Executor | None = None) -> Any:
    """Decorator: ``@remote`` or ``@remote(executor=...)``."""
    if function is None:
        return functools.partial(RemoteFunction, executor=executor)
    return RemoteFunction(function, executor)


# -- %%remote -----------------------------------------------------------------------
_parser = MagicArgumentParser("%%remote")
_parser.add_argument("--in", dest="inputs", default=None, help="names to send (a,b)")
_parser.add_argument("--out", dest="outputs", default=None, help="names to bring back (c,d)")


class RemoteResult:
    """The last expression of a remote cell, shown as it was formatted remotely."""

    def __init__(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.data, self.metadata = data, metadata

    def __repr__(self) -> str:
        return str(self.data.get("text/plain", ""))

    def _repr_mimebundle_(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.data, self.metadata


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise MagicError(f"%%remote: {', '.join(bad)} is not a Python name; use --in a,b")
    return names


def remote_cell(ctx: Any, args: str, body: str) -> Any:
    """``%%remote [--in a,b] [--out c,d]``: run the cell in the remote session."""
    from .analysis import analyze

    options = _parser.parse_line(args)
    inputs, outputs = _names(options.inputs), _names(options.outputs)
    if inputs is None or outputs is None:
        analysis = analyze(python_source(body) or "")
        if analysis.syntax_error:
            raise MagicError(f"%%remote: the cell does not parse: {analysis.syntax_error}")
        inputs = list(analysis.reads) if inputs is None else inputs
        outputs = list(analysis.binds) if outputs is None else outputs
    missing = [n for n in (_names(options.inputs) or []) if n not in ctx.namespace]
    if missing:
        raise MagicError(f"%%remote --in: {', '.join(missing)} not defined here")
    reply = current().run_cell(
        body, ctx.namespace, inputs=inputs, outputs=outputs,
        strict_outputs=options.outputs is not None,
    )  # fmt: skip
    ctx.namespace.update(reply["values"])  # all at once, after success: nothing half-bound
    for name, type_name in (reply.get("kept") or {}).items():
        print(
            f"[executor] `{name}` ({type_name}) stays in the remote session: it cannot travel "
            "back. Use it in later %%remote cells or @remote functions.",
            file=sys.stderr,
        )
    result = reply.get("result")
    return RemoteResult(result["data"], result.get("metadata") or {}) if result else None


registry.register_cell("remote", remote_cell)


# -- automatic offload ------------------------------------------------------------------
class AutoOffload:
    """A pre-cell hook: plans each cell; sends non-lite ones to the executor or suggests it.

    In the worker it runs after ``loadPackagesFromImports``, so what the runtime's lock
    provides is installed by then and ``find_spec`` sees it; ``runtime`` (an
    :class:`Available` from the lock) serves hosts without that step.
    """

    def __init__(
        self,
        auto: bool = False,
        *,
        runtime: Available | None = None,
        headroom: Callable[[], int | None] | None = None,
        pure_python: list[str] | None = None,
    ) -> None:
        self.auto = auto
        self.runtime = runtime
        self.headroom = headroom or (lambda: None)
        self.pure_python = list(pure_python or [])
        self.last_plan: Any = None

    def __call__(self, kernel: Kernel, cell_id: str, code: str) -> str | None:
        decision = self.decide(kernel, code)
        if decision.lite:
            return None
        if self.auto and _executor is not None:
            from .badges import show

            notice = f"[offload] running this cell on the executor: {decision.reason}."
            show("remote (auto)", f"automatic offload: {decision.reason}", notice, key="offload")
            return f"%%remote\n{code}"
        print(f"[offload] {decision.suggestion()}", file=sys.stderr)
        return None

    def decide(self, kernel: Kernel, code: str) -> Any:
        """The planner's :class:`~bento_wasm.offload.planner.Plan` for ``code``; no output."""
        import importlib.util

        budget = self.headroom()
        sizes = _Sizes(kernel.namespace) if budget is not None else None
        names = set(sys.stdlib_module_names) | {m.split(".")[0] for m in sys.modules}
        available = Available(frozenset(names)).with_modules(self.pure_python)
        if self.runtime is not None:
            available = available.with_modules(self.runtime.modules)
        decision = plan(code, available, sizes=sizes, budget_bytes=budget)
        if decision.missing:
            found = [m for m in decision.missing if importlib.util.find_spec(m) is not None]
            if found:
                available = available.with_modules(found)
                decision = plan(code, available, sizes=sizes, budget_bytes=budget)
        self.last_plan = decision
        return decision


class _Sizes(Mapping[str, int]):
    """Sizes of namespace values, computed only for the names a plan asks about."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def __getitem__(self, name: str) -> int:
        return size_of(self.namespace[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self.namespace)

    def __len__(self) -> int:
        return len(self.namespace)


def size_of(value: Any) -> int:
    """Bytes a value holds (DataFrames, arrays, Arrow tables, bytes); 0 when unknown."""
    kind = type(value).__name__
    try:
        if kind in ("DataFrame", "Series"):
            return int(value.memory_usage(deep=False, index=True).sum())
        if kind in ("ndarray", "Table"):
            return int(value.nbytes)
    except (AttributeError, TypeError, ValueError):
        return 0
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    return 0


def install(kernel: Kernel, options: dict[str, Any], memory: Any = None) -> AutoOffload:
    """Configure the executor from the boot options and plan every cell before it runs.

    The memory headroom comes from ``offload.budget_mib`` if set, else from the memory
    monitor (``memory``: its budget minus what the heap holds now).
    """
    executor = from_options(options)
    if executor is not None:
        executor.admit = kernel.admit  # results are admitted before they are converted
    config = options.get("offload") or {}
    budget_mib = config.get("budget_mib")
    headroom: Callable[[], int | None] | None = None
    if budget_mib is not None:
        headroom = lambda: int(float(budget_mib) * 2**20)  # noqa: E731
    elif memory is not None:
        headroom = memory.headroom  # cheap far from the thresholds, exact near them
    hook = AutoOffload(
        bool(config.get("auto")),
        headroom=headroom,
        pure_python=list(config.get("pure_python") or []),
    )
    kernel.pre_cell.append(hook)
    from ..environment import in_pyodide

    if in_pyodide():
        kernel.pre_cell.append(ensure_arrow)
    return hook


async def ensure_arrow(kernel: Any, cell_id: str, code: str) -> None:
    """A pre-cell hook: load pyarrow before a cell that offloads, if it is not loaded yet.

    Values travel as Arrow; the codec runs synchronously inside the call, where a package
    cannot be loaded, so the (async) hook does it first. Usually the background preload
    already did. Always through the environment's loader: while the background preload
    runs, pyarrow's files are already unpacked (find_spec finds them) but its shared library
    is not loaded yet, and importing then fails with "dynamic module does not define module
    export function".
    """
    if "pyarrow" in sys.modules or not _offloads(kernel, code):
        return
    from ..environment import current

    await current().load_packages(["pyarrow"])


def _offloads(kernel: Any, code: str) -> bool:
    from .analysis import analyze

    source = python_source(code)
    if source is None:
        return code.lstrip().startswith("%%remote")
    reads = analyze(source).reads
    return any(isinstance(kernel.namespace.get(name), RemoteFunction) for name in reads)
