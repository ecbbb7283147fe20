"""The offload planner: whether a cell is lite (runs in the browser), and if not, why.

Pure functions from source text and data about the runtime to plain records, no IO
(STYLE.md #2), so the same planner runs in the worker before every cell and in CPython
tests in milliseconds:

- :func:`bento_wasm.offload.analysis.analyze` finds what the cell reads, binds and imports.
- :class:`Available` says which modules the browser can provide: Pyodide's stdlib, the
  packages of the runtime's lock that are present (``pyodide-lock.json`` +
  ``bento-runtime.json``), what is installed, and pure-Python packages the user names.
- :func:`plan` turns both, plus the sizes of the values the cell reads and the memory
  budget's headroom, into a :class:`Plan`: lite (run in the browser) or not, and why.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from .analysis import CellAnalysis, analyze, python_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = ["Available", "Plan", "plan"]

#: CPython stdlib modules that Pyodide does not ship (they need a terminal, a GUI or processes).
PYODIDE_MISSING_STDLIB = frozenset(
    {"tkinter", "turtle", "turtledemo", "curses", "dbm", "ensurepip", "idlelib", "venv",
     "readline", "msvcrt", "winreg", "winsound", "_tkinter", "nis", "ossaudiodev", "spwd"}
)  # fmt: skip
#: Working memory a cell needs for the data it reads, as a multiple of that data's size
#: (most DataFrame operations make at least one copy).
WORKING_FACTOR = 2.0


class Available(NamedTuple):
    """Which top-level modules the browser can import (data about the runtime, no probing).

    Plain classes and NamedTuples here, not dataclasses: this module is on the worker's boot
    path, and importing dataclasses costs ~35 ms in wasm."""

    modules: frozenset[str] = frozenset()

    @classmethod
    def from_runtime(
        cls,
        lock: Mapping[str, Any],
        present: Iterable[str] | None = None,
        *,
        installed: Iterable[str] = (),
        pure_python: Iterable[str] = (),
        stdlib: Iterable[str] | None = None,
    ) -> Available:
        """From ``pyodide-lock.json`` (and ``bento-runtime.json``'s ``packages``: those present).

        A package listed in the lock but absent from the runtime folder would install
        "successfully" and then fail to import (RUNTIME.md), so only present ones count.
        """
        wanted = None if present is None else set(present)
        modules = set(sys.stdlib_module_names if stdlib is None else stdlib)
        modules -= PYODIDE_MISSING_STDLIB
        for name, package in dict(lock.get("packages") or {}).items():
            if wanted is not None and name not in wanted:
                continue
            modules.update(package.get("imports") or ())
        modules.update(installed)
        modules.update(pure_python)
        return cls(frozenset(modules))

    def with_modules(self, names: Iterable[str]) -> Available:
        return Available(self.modules | frozenset(names))

    def provides(self, module: str) -> bool:
        return module.split(".")[0] in self.modules


class Plan(NamedTuple):
    """Where a cell should run, and why."""

    lite: bool
    reasons: tuple[str, ...] = ()
    analysis: CellAnalysis = CellAnalysis()
    missing: tuple[str, ...] = ()
    data_bytes: int = 0
    budget_bytes: int | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "runs in the browser"

    def suggestion(self) -> str:
        """What to tell a user whose non-lite cell is about to run in the browser."""
        if self.lite:
            return ""
        return (
            f"This cell may not run in the browser: {self.reason}. Run it on the executor with "
            "%%remote as its first line, or turn on automatic offload (offload.auto in the "
            "kernel options)."
        )


def plan(
    code: str,
    available: Available,
    *,
    sizes: Mapping[str, int] | None = None,
    budget_bytes: int | None = None,
    working_factor: float = WORKING_FACTOR,
) -> Plan:
    """Decide whether ``code`` is lite.

    ``sizes`` maps namespace names to their size in bytes (only the ones the cell reads
    count); ``budget_bytes`` is the memory budget's headroom (``None``: no budget).
    """
    source = python_source(code)
    if source is None:
        return Plan(lite=True, reasons=("a cell magic runs where its magic decides",))
    analysis = analyze(source)
    if analysis.syntax_error:
        return Plan(lite=True, analysis=analysis)
    reasons: list[str] = []
    missing = tuple(m for m in analysis.imports if not available.provides(m))
    if missing:
        names = ", ".join(missing)
        reasons.append(
            f"it imports {names}, which Pyodide cannot provide (not in the runtime's lock, "
            "not installed, not pure Python)"
        )
    data = sum(int((sizes or {}).get(name, 0)) for name in analysis.reads)
    if budget_bytes is not None and data * working_factor > budget_bytes:
        reasons.append(
            f"it works on {_mib(data)} of data, needing about {_mib(int(data * working_factor))}"
            f" with only {_mib(budget_bytes)} left in the memory budget"
        )
    return Plan(
        lite=not reasons,
        reasons=tuple(reasons),
        analysis=analysis,
        missing=missing,
        data_bytes=data,
        budget_bytes=budget_bytes,
    )


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"
