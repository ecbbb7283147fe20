"""The memory monitor inside Pyodide: probes of the wasm heap and the wiring into the worker.

The probe reads Emscripten's module (``pyodide_js._module``, a private API of Pyodide
0.27.7, checked by the browser tests):

- ``HEAP8.length``: the wasm linear memory now (it grows, never shrinks);
- ``_emscripten_get_heap_max()``: the ceiling it can grow to (4 GiB - 64 KiB);
- ``_sbrk(0)``: the break; everything below it is static data, the stack or malloc's
  chunks (in use or free), an upper bound of what is in use, read in O(1);
- ``_mallinfo(info)``: dlmalloc's statistics; ``fordblks`` is what malloc holds free,
  so ``break - fordblks`` is exactly in use. It walks every chunk of the heap, which
  costs milliseconds once pandas is loaded, so the monitor asks for it only when it
  matters (see bento_wasm.memory).

The JS heap is not visible from a worker (``performance.memory`` exists on the page
only); the page adds it to the ``memory`` event (worker_js/kernel.js).
"""

from __future__ import annotations

import time

from ..errors import ConfigError
from ..memory import magic as _magic  # noqa: F401 - registers %memory
from ..memory.budget import Budget, Monitor
from ..memory.heap import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..kernel.interpreter import Kernel

__all__ = ["WasmProbe", "copy_into_wasm", "install"]

#: struct mallinfo is ten 32-bit fields; fordblks (bytes free inside malloc's arena) is the 9th.
_MALLINFO_BYTES = 40
_FORDBLKS = 8


# Read in JavaScript, answered as a plain Array: Python never holds a proxy of a typed array
# (HEAP8, HEAPU32), which Pyodide 0.27.7 fails to make ("Unknown typed array type") when the
# C stack of the call lies past 2 GiB of wasm memory, as it can once the heap is that large.
_READ_JS = f"""(module) => (info, exact) => {{
  const heap = module.HEAP8.length;
  const brk = module._sbrk(0) >>> 0;  // a pointer; JS sees it as a signed int32
  let free = 0;
  if (exact) {{
    module._mallinfo(info);
    free = module.HEAPU32[(info >>> 2) + {_FORDBLKS}];
  }}
  return [heap, brk, free];
}}"""


class WasmProbe:
    """``probe(exact) -> Snapshot`` for this Pyodide's wasm heap."""

    def __init__(self) -> None:
        import pyodide_js  # type: ignore[import-not-found]
        from pyodide.code import run_js

        self.module = pyodide_js._module  # the raw Emscripten module, kept reachable
        self.ceiling_bytes = int(self.module._emscripten_get_heap_max())
        # One struct for mallinfo's answer, allocated once: a probe must not allocate.
        self._info = int(self.module._PyMem_RawMalloc(_MALLINFO_BYTES))
        self._read = run_js(_READ_JS)(self.module)

    def __call__(self, exact: bool) -> Snapshot:
        started = time.perf_counter()
        heap, brk, free = self._read(self._info, exact).to_py()
        used = brk - free if exact else None
        return Snapshot(
            heap_bytes=heap,
            ceiling_bytes=self.ceiling_bytes,
            reserved_bytes=brk,
            used_bytes=used,
            probe_ms=(time.perf_counter() - started) * 1000,
        )


_kernel: Kernel | None = None


def install(kernel: Kernel, options: dict[str, Any]) -> Monitor | None:
    """Install the budget in ``kernel`` from the boot options' ``memory`` entry (data)."""
    global _kernel
    settings = dict(options.get("memory") or {})
    if settings.get("enabled", True) is False:
        return None
    try:
        budget, problem = Budget.from_options(settings), ""
    except ConfigError as exc:  # a typo in the options must not keep the kernel from starting
        budget, problem = Budget(), str(exc)
    monitor = Monitor(WasmProbe(), budget).install(kernel)
    if problem:
        monitor.pending.append(
            f"memory: the boot option memory={settings!r} was ignored ({problem}); the default "
            "budget is in force. Fix the kernel options or set it with `%memory --budget`."
        )
    _kernel = kernel
    return monitor


def copy_into_wasm(buffer: Any, what: str = "a buffer") -> bytes:
    """Copy a JS ArrayBuffer (or typed array) into wasm memory, after the admission check.

    The worker-level injection path the budget guards: ``kernel.admit`` runs before a
    single byte is copied, and refuses with MemoryBudgetExceeded when it does not fit.
    """
    nbytes = int(buffer.byteLength)
    if _kernel is not None:
        _kernel.admit(nbytes, what)
    data: bytes = buffer.to_bytes()
    return data
