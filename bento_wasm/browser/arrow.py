"""The Pyodide half of Arrow injection: JavaScript bytes into wasm memory once, and back.

``worker_js/arrow.js`` calls these with the worker's :class:`WorkerKernel`. Every function
returns a :class:`Reply`: this is the one boundary where failures become data for the
page (``BentoError.to_dict()``), so the worker and the namespace survive bad input.

- ``inject``: a JS ArrayBuffer (or Uint8Array) -> one copy into a :class:`Landing` ->
  bound name (:func:`bento_wasm.arrow.bind`).
- ``open_landing`` / ``grow_landing`` / ``bind_landing``: a streamed fetch body written by
  JS chunk by chunk straight into the landing's wasm memory, then bound.
- ``export``: a DataFrame or pyarrow Table as an Arrow IPC buffer; JS copies it out of
  wasm memory once, through a view (``PyProxy.getBuffer``).
"""

from __future__ import annotations

from typing import Any

from ..arrow import ipc as arrow
from ..errors import ArrowError, BentoError

__all__ = [
    "JsBytes",
    "Reply",
    "bind_landing",
    "export",
    "grow_landing",
    "inject",
    "open_landing",
]


class Reply:
    """The outcome of one call from JavaScript: ``ok`` and ``value``, or ``error`` (a dict)."""

    __slots__ = ("error", "ok", "value")

    def __init__(self, value: Any = None, error: dict[str, Any] | None = None) -> None:
        self.ok = error is None
        self.value = value
        self.error = error


def _boundary(call: Any, *args: Any) -> Reply:
    try:
        return Reply(call(*args))
    except BentoError as exc:
        return Reply(error=exc.to_dict())
    except MemoryError as exc:  # wasm memory is exhausted: the worker survives, say so
        return Reply(
            error={
                "ename": "MemoryError",
                "evalue": f"out of wasm memory ({exc or 'allocation failed'}); delete large "
                "variables (del df) or restart the kernel, then inject less data",
            }
        )


class JsBytes:
    """A JS ArrayBuffer or typed array as a ``ByteSource``: copied once, by ``assign_to``."""

    def __init__(self, js_bytes: Any) -> None:
        from js import Uint8Array  # type: ignore[import-not-found]

        if not hasattr(js_bytes, "byteLength"):
            raise ArrowError(
                f"expected a JavaScript ArrayBuffer, got {type(js_bytes).__name__}; "
                "pass the ArrayBuffer itself (e.g. await response.arrayBuffer())"
            )
        if hasattr(js_bytes, "byteOffset"):  # a typed array or DataView: its bytes only
            js_bytes = Uint8Array.new(js_bytes.buffer, js_bytes.byteOffset, js_bytes.byteLength)
        else:
            js_bytes = Uint8Array.new(js_bytes)
        self._u8 = js_bytes
        self.nbytes = int(js_bytes.byteLength)

    def copy_into(self, target: memoryview) -> None:
        self._u8.assign_to(target)


def inject(worker: Any, name: str, js_bytes: Any, format: str = "arrow") -> Reply:
    """Bind ``name`` to the bytes of a JS ArrayBuffer (one copy into wasm memory)."""
    kernel = worker.kernel

    def run() -> dict[str, Any]:
        source = JsBytes(js_bytes)
        return arrow.bind(
            kernel.namespace, name, source, admit=kernel.admit, format=format
        ).to_dict()

    return _boundary(run)


def open_landing(worker: Any, name: str, nbytes: int, whole: bool = False) -> Reply:
    """Admit and allocate a landing for a stream expected to be ``nbytes`` long (``whole``: for
    a buffer of exactly that size, which JavaScript copies in at once)."""
    kernel = worker.kernel
    what = f"{int(nbytes) / 2**20:.1f} MiB for {name!r}" if whole else f"stream for {name!r}"

    def run() -> arrow.Landing:
        arrow.check_name(name)
        return arrow.Landing.reserve(int(nbytes), kernel.admit, what)

    return _boundary(run)


def grow_landing(worker: Any, landing: arrow.Landing, name: str, size: int, capacity: int) -> Reply:
    """Make room for ``capacity`` bytes (a stream longer than announced); JS wrote ``size``."""
    landing.size = int(size)
    return _boundary(landing.grow, int(capacity), worker.kernel.admit, f"stream for {name!r}")


def bind_landing(
    worker: Any, landing: arrow.Landing, name: str, size: int, format: str = "arrow"
) -> Reply:
    """The stream is complete (``size`` bytes written by JS): read it and bind ``name``."""
    kernel = worker.kernel

    def run() -> dict[str, Any]:
        landing.size = int(size)
        landing.bytes_copied += int(size)
        return arrow.bind(
            kernel.namespace, name, landing, admit=kernel.admit, format=format
        ).to_dict()

    return _boundary(run)


def export(worker: Any, name: str) -> Reply:
    """The object bound to ``name`` as an Arrow IPC buffer (value: ``(buffer, report)``)."""
    namespace = worker.kernel.namespace

    def run() -> tuple[Any, dict[str, Any]]:
        import time

        started = time.perf_counter()
        if name not in namespace:
            raise ArrowError(
                f"there is no variable {name!r} to export; bind a DataFrame to it in a cell first"
            )
        value = namespace[name]
        buffer = arrow.to_ipc(value)
        report = arrow.InjectionReport(
            name=name,
            bytes_copied=int(buffer.size),
            peak_extra_bytes=int(buffer.size),
            rows=len(value),
            columns=len(value.columns),
            seconds=time.perf_counter() - started,
        )
        return buffer, report.to_dict()

    return _boundary(run)
