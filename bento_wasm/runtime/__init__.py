"""The Pyodide runtime: assembled offline, verified file by file, its standard library compiled
ahead.

Owns: :mod:`~bento_wasm.runtime.sources` (where the official Pyodide 0.27.7 files come from,
npm and PyPI or a release, and the sha256 each must have; the extra pure wheels pinned in
``runtime_wheels.json``), :mod:`~bento_wasm.runtime.assembly` (``assemble``, ``verify``,
``runtime_folder``, the ``bento runtime`` command) and :mod:`~bento_wasm.runtime.stdlib`
(``python_stdlib.compiled.zip``: the official standard library with each module's bytecode,
derived in the folder so that Pyodide does not compile it at every start).

May import: the standard library and ``errors``.

    python -m bento_wasm.runtime assemble --dest runtime/pyodide
    python -m bento_wasm.runtime verify --dest runtime/pyodide
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names are, for type checkers; imported on first use below
    from .assembly import Runtime, assemble, main, runtime_folder, verify
    from .sources import (
        CORE_SHA256,
        EXTRA_WHEELS,
        MANIFEST,
        PYODIDE_VERSION,
        default_cache,
        extra_wheels,
        sha256_of,
    )
    from .stdlib import compiled_stdlib

#: name -> the module that defines it. Imported on first use (PEP 562): the worker imports
#: ``runtime.bytecode`` in wasm, where the assembler's argparse, tarfile and subprocess cost.
_WHERE = {
    "CORE_SHA256": "sources",
    "EXTRA_WHEELS": "sources",
    "MANIFEST": "sources",
    "PYODIDE_VERSION": "sources",
    "default_cache": "sources",
    "extra_wheels": "sources",
    "sha256_of": "sources",
    "Runtime": "assembly",
    "assemble": "assembly",
    "main": "assembly",
    "runtime_folder": "assembly",
    "verify": "assembly",
    "compiled_stdlib": "stdlib",
}

__all__ = [
    "CORE_SHA256",
    "EXTRA_WHEELS",
    "MANIFEST",
    "PYODIDE_VERSION",
    "Runtime",
    "assemble",
    "compiled_stdlib",
    "default_cache",
    "extra_wheels",
    "main",
    "runtime_folder",
    "sha256_of",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
