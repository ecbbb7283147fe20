"""The environment seam (STYLE.md #1): one small interface to the host, chosen once.

Owns: the :class:`~bento_wasm.environment.interface.Environment` interface
(``interface``), its CPython implementation (``cpython``), :func:`current`, the one
factory that picks the implementation, :func:`need` (packages loaded when a feature first
needs them) and ``diagnose`` (why a bento server gave no usable answer). Everything that
touches the outside (HTTP, JavaScript, package loading, the memory probe) goes through an
environment; callers receive it as an argument, so tests pass their own.

May import: the standard library and ``bento_wasm.errors``. :func:`current` is the only
place in the core that imports ``bento_wasm.browser`` (lazily, inside Pyodide).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interface import Environment

__all__ = ["current", "in_pyodide", "need"]

#: What a feature that handles DataFrames or Arrow data needs loaded: pandas looks for
#: pyarrow once, at its import, so the two are loaded together.
DATA_PACKAGES = ("pandas", "pyarrow")


def in_pyodide() -> bool:
    return "_pyodide_core" in sys.modules


@cache
def current() -> Environment:
    """The environment this process runs in, decided once."""
    if in_pyodide():
        from ..browser.environment import PyodideEnvironment

        return PyodideEnvironment()
    from .cpython import CPythonEnvironment

    return CPythonEnvironment()


def need(*names: str) -> None:
    """Make ``names`` importable before a feature first imports them, in whichever kernel it
    runs: in Pyodide through the package loader (bento's worker, JupyterLite's kernel, a
    plain page), in CPython a no-op. Free once they are imported."""
    wanted = names or DATA_PACKAGES
    if all(name in sys.modules for name in wanted):
        return
    current().load_packages_now(wanted)
