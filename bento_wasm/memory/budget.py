"""The memory budget: snapshots, the budget and its thresholds, admission, per-cell accounting.

Stdlib only and free of IO: a *probe* (``probe(exact) -> Snapshot``) is the one thing
that reads the host; ``bento_wasm.browser.memory`` supplies the Pyodide probe (the wasm
heap and what malloc has in use). Everything else here is plain arithmetic on
snapshots, testable in CPython in milliseconds.

The tab's hard limit for Pyodide is the wasm32 ceiling (4 GiB of linear memory). The
heap grows toward it and never shrinks; freed memory is reused. The budget is a
fraction of that ceiling (default 75%: see README, "Memory budget"), and the figure
checked against it is what is *in use* below the heap's break (static data, the stack,
malloc's live chunks), not the heap's high-water size.

Snapshots and sizes live in ``bento_wasm.memory.heap`` (re-exported here). Two kinds of
snapshot keep the per-cell cost low: a cheap one reads the heap size and
the break (an upper bound of what is in use, O(1)); an exact one also asks malloc how
much of that is free (it walks the heap: milliseconds once pandas is loaded). The
monitor takes exact ones only when the upper bound could cross a threshold or refuse
an admission, and for ``%memory``.
"""

from __future__ import annotations

import re

from ..errors import ConfigError, MemoryBudgetExceeded
from .heap import CEILING_BYTES, CellDelta, GiB, KiB, MiB, Snapshot, format_size, parse_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from ..kernel.interpreter import Kernel

    Probe = Callable[[bool], Snapshot]

__all__ = [
    "CEILING_BYTES",
    "DEFAULT_FRACTION",
    "DEFAULT_THRESHOLDS",
    "Budget",
    "CellDelta",
    "GiB",
    "KiB",
    "MiB",
    "Monitor",
    "Snapshot",
    "active",
    "format_size",
    "parse_size",
]

#: The default budget as a fraction of the ceiling (reasons in README, "Memory budget").
DEFAULT_FRACTION = 0.75
#: Warning thresholds as fractions of the budget.
DEFAULT_THRESHOLDS = (0.70, 0.85, 0.95)
#: A cell's delta is shown in its output when at least this large.
DEFAULT_SHOW_DELTA_BYTES = 256 * MiB
#: A warned threshold re-arms once use falls this far (fraction of the budget) below it.
REARM_GAP = 0.05


def _fraction(value: Any, what: str) -> float:
    """A fraction from 0.7, 70 or "70%"; raises ConfigError otherwise."""
    text = str(value).strip()
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise ConfigError(f"{what} must be a percentage like 70 or 70%, not {value!r}") from None
    if text.endswith("%") or number > 1:
        number /= 100
    if not 0 < number <= 1:
        raise ConfigError(f"{what} must lie between 0 and 100%, not {value!r}")
    return number


class Budget:
    """How much of the heap the notebook may use, and where to warn. Configuration as data."""

    __slots__ = ("budget_bytes", "fraction", "show_delta_bytes", "thresholds")

    def __init__(
        self,
        budget_bytes: int | None = None,
        fraction: float = DEFAULT_FRACTION,
        thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
        show_delta_bytes: int = DEFAULT_SHOW_DELTA_BYTES,
    ) -> None:
        #: an absolute budget; None means ``fraction`` of the ceiling
        self.budget_bytes = budget_bytes
        self.fraction = fraction
        #: warning levels, fractions of the budget, ascending
        self.thresholds = thresholds
        #: a cell's delta is shown in its output when at least this large
        self.show_delta_bytes = show_delta_bytes

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> Budget:
        """Read the ``memory`` boot options: budget_bytes (size), budget_fraction, thresholds."""
        options = dict(options or {})
        known = {"budget_bytes", "budget_fraction", "thresholds", "show_delta_bytes", "enabled"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown memory options {unknown}; known: {', '.join(sorted(known))}"
            )
        budget = cls()
        if options.get("budget_bytes") is not None:
            budget.budget_bytes = parse_size(options["budget_bytes"])
        if options.get("budget_fraction") is not None:
            budget.fraction = _fraction(options["budget_fraction"], "memory.budget_fraction")
        if options.get("thresholds") is not None:
            budget.set_thresholds(options["thresholds"])
        if options.get("show_delta_bytes") is not None:
            budget.show_delta_bytes = parse_size(options["show_delta_bytes"])
        return budget

    def set_thresholds(self, values: Iterable[Any] | str) -> None:
        if isinstance(values, str):
            values = [v for v in re.split(r"[,\s]+", values) if v]
        found = sorted({_fraction(v, "a memory threshold") for v in values})
        if not found:
            raise ConfigError("give at least one memory threshold, e.g. 70,85,95")
        self.thresholds = tuple(found)

    def set_fraction(self, value: Any) -> None:
        """Make the budget a fraction of the ceiling (0.6, 60 or "60%")."""
        self.fraction = _fraction(value, "the memory budget")
        self.budget_bytes = None

    def limit(self, ceiling_bytes: int) -> int:
        """The budget in bytes for a heap with this ceiling (never above the ceiling)."""
        wanted = self.budget_bytes if self.budget_bytes else int(self.fraction * ceiling_bytes)
        return max(0, min(wanted, ceiling_bytes))


class _Thresholds:
    """Which thresholds have warned; each warns once per crossing, re-arming below it."""

    def __init__(self) -> None:
        self.warned: set[float] = set()

    def update(self, thresholds: tuple[float, ...], used_fraction: float) -> float | None:
        """The highest threshold newly crossed at ``used_fraction``, if any."""
        self.warned = {t for t in self.warned if used_fraction >= t - REARM_GAP}
        crossed = [t for t in thresholds if used_fraction >= t]
        fresh = [t for t in crossed if t not in self.warned]
        self.warned.update(crossed)
        return max(fresh) if fresh else None

    def lowest_armed(self, thresholds: tuple[float, ...]) -> float:
        armed = [t for t in thresholds if t not in self.warned]
        return min(armed) if armed else min(thresholds)


def refusal(what: str, nbytes: int, snapshot: Snapshot, limit: int) -> MemoryBudgetExceeded:
    """The error for an admission that does not fit: how big, what is free, what to do."""
    free = max(0, limit - snapshot.in_use)
    return MemoryBudgetExceeded(
        f"refused to load {what} into memory: it needs {format_size(nbytes)}, but only "
        f"{format_size(free)} of the {format_size(limit)} memory budget is free "
        f"({format_size(snapshot.in_use)} in use). Nothing was copied and your variables are "
        "unchanged. Load less: filter rows or columns, sample, or add --limit; or run the cell "
        "remotely with %%remote. `%memory` shows what holds memory (del what you no longer "
        f"need); `%memory --budget <size>` changes the budget (the hard ceiling is "
        f"{format_size(snapshot.ceiling_bytes)}).",
        requested_bytes=nbytes,
        available_bytes=free,
    )


class Monitor:
    """Keeps the budget for one kernel: admission, per-cell deltas, threshold warnings."""

    def __init__(self, probe: Probe, budget: Budget | None = None, history: int = 50) -> None:
        self.probe = probe
        self.budget = budget or Budget()
        self.last: Snapshot = probe(False)
        self.cells: list[CellDelta] = []
        self._history = history
        self._thresholds = _Thresholds()
        self._before: Snapshot | None = None
        #: Lines shown once, in the next cell's output (e.g. memory options that were ignored).
        self.pending: list[str] = []

    # -- measuring ------------------------------------------------------------------------
    def snapshot(self, exact: bool = True) -> Snapshot:
        self.last = self.probe(exact)
        return self.last

    @property
    def limit_bytes(self) -> int:
        return self.budget.limit(self.last.ceiling_bytes)

    def _needs_exact(self, cheap: Snapshot, extra: int = 0) -> bool:
        """Could the exact figure matter? Only when the upper bound reaches a threshold."""
        lowest = self._thresholds.lowest_armed(self.budget.thresholds)
        return cheap.reserved_bytes + extra >= lowest * self.budget.limit(cheap.ceiling_bytes)

    def _measure(self) -> Snapshot:
        cheap = self.snapshot(exact=False)
        return self.snapshot(exact=True) if self._needs_exact(cheap) else cheap

    def headroom(self) -> int:
        """Bytes left in the budget: cheap far from the thresholds, exact near them."""
        return max(0, self.limit_bytes - self._measure().in_use)

    # -- admission ------------------------------------------------------------------------
    def admit(self, nbytes: int, what: str = "data") -> None:
        """Raise MemoryBudgetExceeded unless ``nbytes`` more fit in the budget (before a copy)."""
        nbytes = max(0, int(nbytes))
        cheap = self.snapshot(exact=False)
        limit = self.budget.limit(cheap.ceiling_bytes)
        if cheap.reserved_bytes + nbytes <= limit:
            return  # fits even if every reserved byte were in use
        exact = self.snapshot(exact=True)
        if exact.in_use + nbytes > limit:
            raise refusal(what, nbytes, exact, limit)

    # -- per-cell accounting ----------------------------------------------------------------
    def pre_cell(self, kernel: Kernel, cell_id: str, code: str) -> None:
        previous = self.cells[-1].after if self.cells else None
        cheap = self.snapshot(exact=False)
        if not self._needs_exact(cheap):
            self._before = cheap
        elif previous is not None and previous.exact and _same_heap(previous, cheap):
            self._before = previous  # nothing grew since the last cell's exact figure
        else:
            self._before = self.snapshot(exact=True)

    def post_cell(self, kernel: Kernel, cell_id: str, code: str) -> None:
        before = self._before or self.last
        after = self._measure()
        big = abs(after.reserved_bytes - before.reserved_bytes) >= self.budget.show_delta_bytes
        if not after.exact and (before.exact or big):  # like with like; exact when shown
            after = self.snapshot(exact=True)
        delta = CellDelta(cell_id, before, after)
        self.cells = [*self.cells[-(self._history - 1) :], delta]
        self._before = None
        for line in self.notices(delta, getattr(kernel, "last_error", None)):
            kernel.send("stream", id=cell_id, name="stderr", text=line + "\n")
        kernel.send("memory", **self.message(delta))

    def message(self, delta: CellDelta) -> dict[str, Any]:
        """The fields of the protocol's ``memory`` message for one cell."""
        after, limit = delta.after, self.budget.limit(delta.after.ceiling_bytes)
        return {
            "id": delta.cell_id,
            "snapshot": after.to_dict(),
            "delta_bytes": delta.delta_bytes,
            "heap_grew_bytes": delta.heap_grew_bytes,
            "budget_bytes": limit,
            "used_fraction": after.in_use / limit if limit else 1.0,
            "thresholds": list(self.budget.thresholds),
        }

    def notices(self, delta: CellDelta, error: BaseException | None = None) -> list[str]:
        """Lines to show in the cell's output: ceiling errors, threshold crossings, big deltas."""
        after, limit = delta.after, self.budget.limit(delta.after.ceiling_bytes)
        lines, self.pending = self.pending, []
        at_ceiling = isinstance(error, MemoryError) and not isinstance(error, MemoryBudgetExceeded)
        if at_ceiling:
            lines.append(ceiling_notice(after, limit))
        crossed = self._thresholds.update(self.budget.thresholds, after.in_use / max(limit, 1))
        if crossed is not None:
            lines.append(threshold_notice(crossed, after, limit))
        elif at_ceiling or abs(delta.delta_bytes) < self.budget.show_delta_bytes:
            pass
        elif delta.exact:
            lines.append(
                f"memory: this cell {'added' if delta.delta_bytes > 0 else 'freed'} "
                f"{format_size(abs(delta.delta_bytes))}; {format_size(after.in_use)} of the "
                f"{format_size(limit)} budget in use"
            )
        else:  # only the break is known at the start: say what moved, and what is in use now
            lines.append(
                f"memory: this cell took {format_size(delta.delta_bytes)} more from the wasm "
                f"heap; {format_size(after.in_use)} of the {format_size(limit)} budget in use "
                f"now (the heap is {format_size(after.heap_bytes)} of its "
                f"{format_size(after.ceiling_bytes)} ceiling and never shrinks)"
            )
        return lines

    # -- wiring -----------------------------------------------------------------------------
    def install(self, kernel: Kernel) -> Monitor:
        """Become ``kernel``'s admission check and per-cell accountant, and the active monitor."""
        kernel.admit = self.admit
        kernel.pre_cell.append(self.pre_cell)
        kernel.post_cell.append(self.post_cell)
        return self.activate()

    def activate(self) -> Monitor:
        """Become the monitor ``%memory`` reports on (IPython kernels: no per-cell wiring)."""
        global _active
        _active = self
        return self


def _same_heap(a: Snapshot, b: Snapshot) -> bool:
    return a.heap_bytes == b.heap_bytes and a.reserved_bytes == b.reserved_bytes


def threshold_notice(level: float, snap: Snapshot, limit: int) -> str:
    advice = (
        "the next large allocation may fail: free memory now (del large objects) or run heavy "
        "cells remotely with %%remote"
        if level >= 0.95
        else "del objects you no longer need, or load less (filter, sample, --limit)"
    )
    return (
        f"memory warning: {snap.in_use / max(limit, 1):.0%} of the {format_size(limit)} budget "
        f"in use ({format_size(snap.in_use)}; crossed {level:.0%}). The wasm heap is "
        f"{format_size(snap.heap_bytes)} of its {format_size(snap.ceiling_bytes)} ceiling and "
        f"never shrinks. {advice[0].upper()}{advice[1:]}. `%memory` shows the largest objects."
    )


def ceiling_notice(snap: Snapshot, limit: int) -> str:
    return (
        f"memory: the cell ran out of wasm memory (the heap is {format_size(snap.heap_bytes)} of "
        f"its {format_size(snap.ceiling_bytes)} ceiling; {format_size(snap.in_use)} in use now, "
        f"budget {format_size(limit)}). The kernel is still running and your variables are "
        "intact. Work on less data at once (filter, sample, chunks) or run the cell remotely "
        "with %%remote; `%memory` shows what holds memory."
    )


_active: Monitor | None = None


def active() -> Monitor | None:
    """The monitor installed in this process's kernel, if any."""
    return _active
