"""What the wasm heap looks like at one moment (:class:`Snapshot`), a cell's change
(:class:`CellDelta`), and sizes in binary units. Stdlib only, plain data.

A snapshot's figures (bytes): the heap's size (its high-water mark: wasm memory never
shrinks), the ceiling it can grow to, the break (everything below it is static data,
the stack or malloc's chunks, an upper bound of what is in use) and, when measured,
what is exactly in use (the break minus what malloc holds free).
"""

from __future__ import annotations

import re
import time

from ..errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CEILING_BYTES",
    "CellDelta",
    "GiB",
    "KiB",
    "MiB",
    "Snapshot",
    "format_size",
    "parse_size",
]

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
#: Pyodide 0.27.7's wasm heap maximum (emscripten_get_heap_max): 4 GiB less one 64 KiB page.
CEILING_BYTES = 4 * GiB - 64 * KiB


class Snapshot:
    """What the heap looks like at one moment; all sizes in bytes."""

    __slots__ = (
        "ceiling_bytes",
        "heap_bytes",
        "host",
        "js_heap_bytes",
        "js_heap_limit_bytes",
        "probe_ms",
        "reserved_bytes",
        "taken_at",
        "used_bytes",
    )

    def __init__(
        self,
        heap_bytes: int,
        ceiling_bytes: int,
        reserved_bytes: int,
        used_bytes: int | None = None,
        js_heap_bytes: int | None = None,
        js_heap_limit_bytes: int | None = None,
        probe_ms: float = 0.0,
        taken_at: float | None = None,
        host: str = "wasm",
    ) -> None:
        #: wasm linear memory now (its high-water size: it never shrinks)
        self.heap_bytes = heap_bytes
        #: the most the heap can grow to
        self.ceiling_bytes = ceiling_bytes
        #: below the break: static data, the stack, malloc's chunks in use or free
        self.reserved_bytes = reserved_bytes
        #: exactly in use (reserved minus malloc's free bytes); None when not measured
        self.used_bytes = used_bytes
        #: the JS heap, where the host exposes it (the page does, a worker does not)
        self.js_heap_bytes = js_heap_bytes
        self.js_heap_limit_bytes = js_heap_limit_bytes
        self.probe_ms = probe_ms
        self.taken_at = time.time() if taken_at is None else taken_at
        #: what the heap is: "wasm" (the worker's linear memory) or "process" (a CPython
        #: kernel's resident memory, against the machine's or container's limit)
        self.host = host

    @property
    def exact(self) -> bool:
        return self.used_bytes is not None

    @property
    def in_use(self) -> int:
        """Bytes in use: exact if measured, else the reserved upper bound."""
        return self.reserved_bytes if self.used_bytes is None else self.used_bytes

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        return cls(**{name: data[name] for name in cls.__slots__ if name in data})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        used = "?" if self.used_bytes is None else format_size(self.used_bytes)
        return (
            f"Snapshot(in use {used}, reserved {format_size(self.reserved_bytes)}, "
            f"heap {format_size(self.heap_bytes)} of {format_size(self.ceiling_bytes)})"
        )


class CellDelta:
    """One cell's memory accounting: snapshots before and after, and their difference."""

    __slots__ = ("after", "before", "cell_id")

    def __init__(self, cell_id: str, before: Snapshot, after: Snapshot) -> None:
        self.cell_id = cell_id
        self.before = before
        self.after = after

    @property
    def exact(self) -> bool:
        return self.before.exact and self.after.exact

    @property
    def delta_bytes(self) -> int:
        """Change in use; exact when both ends are, else the change of the upper bound."""
        if self.exact:
            return self.after.in_use - self.before.in_use
        return self.after.reserved_bytes - self.before.reserved_bytes

    @property
    def heap_grew_bytes(self) -> int:
        return self.after.heap_bytes - self.before.heap_bytes


_SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[kmgt]?i?b?|%)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": KiB, "m": MiB, "g": GiB, "t": 1 << 40}


def parse_size(text: str | int | float) -> int:
    """``"2GiB"``, ``"1.5 GB"``, ``"512m"``, ``123`` -> bytes (binary units: 1 GB = 1 GiB here)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ConfigError(f"a size cannot be negative: {text}")
        return int(text)
    match = _SIZE.match(str(text))
    if match is None or match["unit"] == "%":
        raise ConfigError(
            f"cannot read {text!r} as a size; write e.g. 2GiB, 1.5GB, 512MiB or bytes"
        )
    unit = (match["unit"] or "").lower().rstrip("b").rstrip("i")
    return int(float(match["n"]) * _UNITS[unit])


def format_size(nbytes: float) -> str:
    """Bytes in binary units, three significant figures: ``1.50 GiB``, ``12.0 MiB``."""
    sign = "-" if nbytes < 0 else ""
    value = abs(float(nbytes))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    if unit == "B":
        return f"{sign}{int(value)} B"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{sign}{value:.{digits}f} {unit}"
