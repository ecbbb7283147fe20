"""What the package needs from its host: the :class:`Environment` interface and its values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..memory.heap import Snapshot

    #: ``admit(nbytes, what)``: asked before a body of that size is copied into Python memory;
    #: raises (MemoryBudgetExceeded) to refuse. The kernel's memory budget supplies it.
    Admit = Callable[[int, str], None]

__all__ = ["Environment", "HttpResponse", "Pieces", "Probe", "joined"]


class Pieces:
    """A request body in pieces (buffers held elsewhere: views of Arrow columns, an envelope's
    header), the body being their concatenation. The browser sends them as one ``Blob``, copied
    once by the browser, never joined in wasm memory first; a host that cannot do that joins
    them (:func:`joined`). ``len()`` is the body's size in bytes."""

    __slots__ = ("items", "nbytes")

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = [memoryview(item).cast("B") for item in items]
        self.nbytes = sum(item.nbytes for item in self.items)

    def __len__(self) -> int:
        return self.nbytes

    def __repr__(self) -> str:
        return f"Pieces({len(self.items)} items, {self.nbytes} bytes)"

    def join(self) -> bytearray:
        """The body in one buffer of its own (one copy)."""
        out = bytearray(self.nbytes)
        view, at = memoryview(out), 0
        for item in self.items:
            view[at : at + item.nbytes] = item
            at += item.nbytes
        return out


def joined(body: Any) -> Any:
    """``body`` as one buffer (joined if it is :class:`Pieces`)."""
    return body.join() if isinstance(body, Pieces) else body


class HttpResponse:
    """A finished HTTP response: status, lower-cased headers, body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def __repr__(self) -> str:
        return f"HttpResponse({self.status}, {len(self.body)} bytes)"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Probe(Protocol):
    """``probe(exact) -> Snapshot``: the memory this kernel uses (wasm heap or CPython process)."""

    def __call__(self, exact: bool) -> Snapshot: ...


class Environment(Protocol):
    """What the package needs from its host."""

    name: str

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | Pieces | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        """A blocking HTTP request. Network failures raise a :class:`BentoError`.

        ``admit`` is asked about the body's size before the body is read into memory."""
        ...

    async def fetch_async(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | Pieces | None = None,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse:
        """The same request, awaitable: the caller's event loop keeps running meanwhile."""
        ...

    def exchange(
        self,
        url: str,
        body: bytes | Pieces,
        *,
        timeout_s: float = 60.0,
        admit: Admit | None = None,
    ) -> HttpResponse | None:
        """One message on a connection kept open to ``url`` (a WebSocket) and its answer,
        blocking; None when this host cannot hold one here or it cannot be opened (the
        caller then uses :meth:`fetch`). The answer's status is the one HTTP would give."""
        ...

    async def load_packages(self, names: Sequence[str]) -> None:
        """Make the packages importable (Pyodide's package loader; CPython has them or not)."""
        ...

    def load_packages_now(self, names: Sequence[str]) -> None:
        """The same, blocking: for code that cannot await (a magic, the value codec inside a
        call). Raises :class:`~bento_wasm.errors.ConfigError` saying what to run first when
        the host cannot wait here."""
        ...

    def memory_probe(self) -> Probe:
        """What reads this kernel's memory for the budget and ``%memory``."""
        ...
