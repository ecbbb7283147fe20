"""The one exception tree of bento-wasm.

Every error the package raises on purpose derives from :class:`BentoError`, and
subclasses the standard category where one fits, so ``except OSError`` or
``except MemoryError`` keep working for callers who know nothing of us::

    BentoError
    ├── ProtocolError                 a message that does not fit protocol.json
    ├── MagicError (ValueError)       a malformed magic line or option
    │   └── PackageUnavailable        ``%pip``: no wheel the browser's Python can install
    ├── NoShellError (OSError)        ``!cmd``, ``%%bash``: the browser tab has no shell
    ├── StdinNotImplementedError (NotImplementedError)  input() where no one can answer it
    ├── CellError                     user code in a cell raised; carries the traceback
    │   └── RemoteError               ... on the executor; the traceback is the remote one
    ├── RuntimeAssemblyError (OSError)  the Pyodide runtime cannot be assembled or verified
    ├── KernelError                   the browser kernel cannot start or has died
    ├── ArrowError (ValueError)       bytes that are not a readable Arrow IPC stream
    ├── MemoryBudgetExceeded (MemoryError)  work refused before it would exceed the budget
    ├── ConfigError (ValueError)      an option (boot options, a setting) has a bad value
    ├── TransferError (TypeError)     a value that cannot travel to or from the executor
    ├── NetworkError (OSError)        a request could not reach its server (the environment seam)
    ├── ExecutorError (OSError)       the remote executor is unreachable or refused us
    │   ├── ExecutorTimeout (TimeoutError)  a remote call ran past its time limit
    │   ├── PayloadTooLarge           a request larger than the executor's limit
    │   └── SessionLost               the remote kernel died; its state is gone
    ├── WarehouseError                the warehouse refused a query or an upload (database message)
    ├── DataSourceError (OSError)     a GraphQL endpoint or a sheet export gave no usable data
    └── RunFailed                     a headless run failed; the record names the cell
        └── RunRefused (ValueError)   ... refused before it started (a cell, a parameter, network)

Errors that cross the worker or HTTP boundary are plain data: ``to_dict`` and
``from_dict`` keep the class name, the message and any fields, so a remote
traceback shows in the browser as a Python traceback (STYLE.md #9).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up in wasm
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = [
    "ArrowError",
    "BentoError",
    "CellError",
    "ConfigError",
    "DataSourceError",
    "ExecutorError",
    "ExecutorTimeout",
    "KernelError",
    "MagicError",
    "MemoryBudgetExceeded",
    "NetworkError",
    "NoShellError",
    "PackageUnavailable",
    "PayloadTooLarge",
    "ProtocolError",
    "RemoteError",
    "RunFailed",
    "RunRefused",
    "RuntimeAssemblyError",
    "SessionLost",
    "StdinNotImplementedError",
    "TransferError",
    "WarehouseError",
]


class BentoError(Exception):
    """Root of every error raised by bento-wasm on purpose."""

    #: Extra attributes that travel with ``to_dict`` / ``from_dict``.
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        for name in self.fields:
            setattr(self, name, details.get(name))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ename": type(self).__name__, "evalue": self.message}
        data.update({name: getattr(self, name, None) for name in self.fields})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BentoError:
        """Rebuild an error sent across a boundary; unknown names become ``BentoError``."""
        target = _by_name().get(str(data.get("ename")), BentoError)
        details = {name: data.get(name) for name in target.fields}
        return target(str(data.get("evalue", "")), **details)


class ProtocolError(BentoError):
    """A message does not match the shared protocol (bento_wasm/protocol.json)."""


class MagicError(BentoError, ValueError):
    """A magic's line or options are malformed."""


class PackageUnavailable(MagicError):
    """``%pip install`` found no wheel the browser's Python can install: ``project`` names it,
    ``reason`` says why (``compiled``, ``not_found``, ``unreachable``, ``timeout``,
    ``in_runtime``, ``invalid``, ``offline``). The package index sends it as data."""

    fields = ("project", "reason")
    project: str | None
    reason: str | None


class NoShellError(BentoError, OSError):
    """A cell asked for a shell (``!cmd``, ``%%bash``, ``%system``); the browser tab has none."""


class StdinNotImplementedError(BentoError, NotImplementedError):
    """``input()`` or ``getpass()`` where no one can answer: a headless run (as ipykernel's
    error of that name under papermill), or a page with neither isolation nor a bento server."""


class CellError(BentoError):
    """User code raised; ``traceback`` holds the formatted lines, as Jupyter shows them."""

    fields = ("ename_remote", "evalue_remote", "traceback")


class RemoteError(CellError):
    """Code run on the executor raised; ``traceback`` is the remote traceback's lines."""


class RuntimeAssemblyError(BentoError, OSError):
    """The Pyodide runtime cannot be assembled or does not verify; ``path`` names the file."""

    fields = ("path",)


class KernelError(BentoError):
    """The browser kernel failed to start or died."""


class ArrowError(BentoError, ValueError):
    """Bytes that are not a readable Arrow IPC stream, or a schema that cannot convert."""


class MemoryBudgetExceeded(BentoError, MemoryError):
    """Work refused because it would not fit in the memory budget."""

    fields = ("requested_bytes", "available_bytes")


class ConfigError(BentoError, ValueError):
    """An option (boot options, a run-time setting) has a value that cannot be used."""


class NetworkError(BentoError, OSError):
    """A request could not reach its server."""


class ExecutorError(BentoError, OSError):
    """The remote executor is unreachable, refused the token, or failed the call."""

    fields = ("url", "status")


class WarehouseError(BentoError):
    """The warehouse refused a query or an upload; ``connection`` names it, the message is the
    database's own."""

    fields = ("connection",)


class DataSourceError(BentoError, OSError):
    """A GraphQL endpoint or a sheet export answered with errors, a login page or no data."""

    fields = ("url", "status")


class ExecutorTimeout(ExecutorError, TimeoutError):
    """A remote call ran past its time limit; the remote kernel was interrupted."""


class PayloadTooLarge(ExecutorError):
    """A request is larger than the executor accepts (its limit is configurable)."""


class SessionLost(ExecutorError):
    """The remote kernel died (mid-call or between calls): its variables are gone."""


class TransferError(BentoError, TypeError):
    """A value that cannot cross to the executor; ``name`` says which one."""

    fields = ("name", "type_name")
    name: str | None
    type_name: str | None


class RunFailed(BentoError):
    """A headless run failed. ``cell_index`` is the failing cell, 0-based in the run notebook
    before the error markers were added (as papermill's ``PapermillExecutionError.cell_index``;
    None when no cell is to blame, e.g. an upload), ``ename``/``evalue`` the cell's error,
    ``output_path`` the record that was written."""

    fields = ("cell_index", "cell_first_line", "ename", "evalue", "output_path")
    cell_index: int | None
    cell_first_line: str | None
    ename: str | None
    evalue: str | None
    output_path: str | None

    def to_dict(self) -> dict[str, Any]:
        """``ename``/``evalue`` name this error's class and message, as for every error; the
        cell's own error travels as ``cell_error`` ({ename, evalue})."""
        data = super().to_dict()
        data.update(ename=type(self).__name__, evalue=self.message)
        data["cell_error"] = {"ename": self.ename, "evalue": self.evalue}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BentoError:
        error = super().from_dict(data)
        if isinstance(error, RunFailed):
            cell = data.get("cell_error") or {}
            error.ename, error.evalue = cell.get("ename"), cell.get("evalue")
        return error


class RunRefused(RunFailed, ValueError):
    """A headless run refused to start (a cell, a parameter, the network): nothing ran,
    nothing was fetched or uploaded. A :class:`RunFailed`, so one ``except`` catches both."""


def _by_name() -> dict[str, type[BentoError]]:
    found: dict[str, type[BentoError]] = {}
    pending: list[type[BentoError]] = [BentoError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found
