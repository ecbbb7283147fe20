"""``%memory``: the readable summary of the budget (bars, last cells, the largest objects).

Stdlib only. The largest objects are sized without importing anything the user has
not imported: DataFrames by ``memory_usage(deep=True)`` only if pandas is already in
``sys.modules``, arrays by ``nbytes`` only if numpy is, and so on.

    %memory                      the summary (a rich display: bars in HTML, text elsewhere)
    %memory --budget 2GiB        set the budget (a size, or a percentage of the ceiling: 60%)
    %memory --thresholds 70,85,95
    %memory --top 10             how many objects to list
    r = %memory                  the report object; r.snapshot, r.objects
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass, field

from ..errors import ConfigError, MagicError
from ..kernel.magics import MagicArgumentParser
from .budget import Budget, Monitor, active
from .heap import CellDelta, Snapshot, format_size, parse_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..kernel.magics import MagicContext

__all__ = ["ObjectSize", "Report", "largest_objects", "memory_magic"]

_BAR = 30


@dataclass(frozen=True, slots=True)
class ObjectSize:
    names: tuple[str, ...]
    kind: str
    nbytes: int


def _size_of(obj: Any) -> tuple[str, int] | None:
    """``(kind, bytes)`` for data-holding objects; None for modules, functions, classes."""
    pandas, numpy, pyarrow = (sys.modules.get(m) for m in ("pandas", "numpy", "pyarrow"))
    if pandas is not None and isinstance(obj, pandas.DataFrame):
        rows, cols = obj.shape
        return f"DataFrame {rows:,}x{cols}", int(obj.memory_usage(deep=True).sum())
    if pandas is not None and isinstance(obj, pandas.Series | pandas.Index):
        return f"{type(obj).__name__} {len(obj):,}", int(obj.memory_usage(deep=True))
    if numpy is not None and isinstance(obj, numpy.ndarray):
        shape = "x".join(str(n) for n in obj.shape)
        return f"ndarray {obj.dtype} {shape}", int(obj.nbytes)
    if pyarrow is not None and isinstance(obj, pyarrow.Table | pyarrow.RecordBatch):
        return f"{type(obj).__name__} {obj.num_rows:,}x{obj.num_columns}", int(obj.nbytes)
    if pyarrow is not None and isinstance(obj, pyarrow.Array | pyarrow.ChunkedArray):
        return f"{type(obj).__name__} {len(obj):,}", int(obj.nbytes)
    if isinstance(obj, memoryview):
        return "memoryview", obj.nbytes
    if isinstance(obj, bytes | bytearray | str):
        return f"{type(obj).__name__} {len(obj):,}", sys.getsizeof(obj)
    if isinstance(obj, list | tuple | dict | set | frozenset):
        return f"{type(obj).__name__} {len(obj):,} (shallow)", sys.getsizeof(obj)
    return None


def largest_objects(namespace: dict[str, Any], top: int = 5) -> list[ObjectSize]:
    """The ``top`` largest user objects in ``namespace``; an object bound twice counts once."""
    seen: dict[int, tuple[list[str], str, int]] = {}
    for name, obj in list(namespace.items()):
        if name.startswith("_"):
            continue
        if id(obj) in seen:
            seen[id(obj)][0].append(name)
            continue
        try:
            sized = _size_of(obj)
        except Exception:  # a broken __len__ or memory_usage must not break %memory
            continue
        if sized is not None:
            seen[id(obj)] = ([name], *sized)
    found = [ObjectSize(tuple(names), kind, n) for names, kind, n in seen.values()]
    return sorted(found, key=lambda o: o.nbytes, reverse=True)[:top]


def _bar(fraction: float, marks: tuple[float, ...] = ()) -> str:
    filled = round(min(max(fraction, 0.0), 1.0) * _BAR)
    cells = ["█" if i < filled else "░" for i in range(_BAR)]
    for mark in marks:
        at = min(_BAR - 1, round(mark * _BAR))
        if at >= filled:
            cells[at] = "│"
    return "".join(cells)


@dataclass
class Report:
    """What ``%memory`` shows; rendered as text and as HTML."""

    snapshot: Snapshot
    budget_bytes: int
    thresholds: tuple[float, ...]
    objects: list[ObjectSize] = field(default_factory=list)
    cells: list[CellDelta] = field(default_factory=list)

    @property
    def used_fraction(self) -> float:
        return self.snapshot.in_use / self.budget_bytes if self.budget_bytes else 1.0

    def rows(self) -> list[tuple[str, float | None, str]]:
        """``(label, bar fraction or None, text)`` lines shared by both renderings."""
        s, limit = self.snapshot, self.budget_bytes
        marks = ", ".join(f"{t:.0%}" for t in self.thresholds)
        rows: list[tuple[str, float | None, str]] = [
            (
                "in use",
                self.used_fraction,
                f"{format_size(s.in_use)} of the {format_size(limit)} budget "
                f"({self.used_fraction:.0%}; warns at {marks})",
            ),
            (
                "wasm heap",
                s.heap_bytes / s.ceiling_bytes,
                f"{format_size(s.heap_bytes)} of the {format_size(s.ceiling_bytes)} ceiling "
                "(grown to; never shrinks)",
            )
            if s.host == "wasm"
            else (
                "process",
                s.heap_bytes / s.ceiling_bytes,
                f"{format_size(s.heap_bytes)} resident of the {format_size(s.ceiling_bytes)} "
                "this kernel may use (container limit or physical memory)",
            ),
            ("free", None, f"{format_size(max(0, limit - s.in_use))} left in the budget"),
        ]
        if s.js_heap_bytes is not None and s.js_heap_limit_bytes:
            rows.append(
                (
                    "JS heap",
                    s.js_heap_bytes / s.js_heap_limit_bytes,
                    f"{format_size(s.js_heap_bytes)} of {format_size(s.js_heap_limit_bytes)}",
                )
            )
        for delta in self.cells[-3:]:
            rows.append(("cell", None, f"{delta.cell_id}: {_signed(delta.delta_bytes)}"))
        for obj in self.objects:
            rows.append((", ".join(obj.names), None, f"{format_size(obj.nbytes)}  {obj.kind}"))
        return rows

    def __repr__(self) -> str:
        lines = []
        for label, fraction, text in self.rows():
            bar = (
                f"[{_bar(fraction, self.thresholds if label == 'in use' else ())}] "
                if (fraction is not None)
                else ""
            )
            lines.append(f"{label:<10} {bar}{text}")
        if not self.snapshot.exact:
            lines.append("(in use is an upper bound: malloc was not asked)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = ['<table class="bento-memory" style="font:13px ui-monospace,monospace">']
        for label, fraction, text in self.rows():
            bar = ""
            if fraction is not None:
                pct = min(max(fraction, 0.0), 1.0) * 100
                color = "#c62828" if fraction >= max(self.thresholds) else "#2e7d32"
                bar = (
                    '<div style="width:12rem;height:.7rem;background:#eee;display:inline-block;'
                    f'margin-right:.5rem"><div style="width:{pct:.1f}%;height:100%;'
                    f'background:{color}"></div></div>'
                )
            parts.append(f"<tr><td>{html.escape(label)}</td><td>{bar}{html.escape(text)}</td></tr>")
        parts.append("</table>")
        return "".join(parts)


def _signed(nbytes: int) -> str:
    return ("+" if nbytes >= 0 else "") + format_size(nbytes)


def build_report(monitor: Monitor, namespace: dict[str, Any], top: int = 5) -> Report:
    snap = monitor.snapshot(exact=True)
    return Report(
        snapshot=snap,
        budget_bytes=monitor.budget.limit(snap.ceiling_bytes),
        thresholds=monitor.budget.thresholds,
        objects=largest_objects(namespace, top),
        cells=list(monitor.cells),
    )


def _parser() -> MagicArgumentParser:
    parser = MagicArgumentParser("%memory")
    parser.add_argument("--budget", help="a size (2GiB) or a percentage of the ceiling (60%%)")
    parser.add_argument("--thresholds", help="warning levels in percent, e.g. 70,85,95")
    parser.add_argument("--top", type=int, default=5, help="how many objects to list")
    return parser


def configure(budget: Budget, value: str) -> None:
    """Apply ``--budget``: ``2GiB`` sets bytes, ``60%`` a fraction of the ceiling."""
    if value.strip().endswith("%"):
        budget.set_fraction(value)
    else:
        budget.budget_bytes = parse_size(value)


def memory_magic(ctx: MagicContext, args: str) -> Report:
    """The ``%memory`` line magic."""
    options = _parser().parse_line(args)
    monitor = active()
    if monitor is None:
        raise MagicError(
            "%memory: no memory monitor runs in this kernel; the bento-wasm worker installs "
            "one, and so does `%load_ext bento_wasm` in an IPython kernel"
        )
    try:
        if options.budget is not None:
            configure(monitor.budget, options.budget)
        if options.thresholds is not None:
            monitor.budget.set_thresholds(options.thresholds)
    except ConfigError as exc:
        raise MagicError(f"%memory: {exc}") from exc
    return build_report(monitor, ctx.namespace, options.top)
