"""Bytecode of the standard library modules, which Pyodide imports from ``python_stdlib.zip``.

The zip holds sources only, and CPython 3.12's ``zipimport`` compiles a module's source twice
per import: once when the import system makes the module's spec (``get_filename`` compiles it
to learn the file name) and again when it runs it (``get_code``). ``import pandas`` imports 31
standard modules that way (62 compiles), the kernel's boot six (``json`` and its parts,
``base64``), on every visit: Pyodide turns bytecode writing off, and a zip cannot take a pyc.

:func:`install` puts a cache in front of zipimport's compile: each module's source is compiled
once per visit, and code kept from an earlier visit (:func:`dump`, which JavaScript keeps in
the Cache API: worker_js/kernel/bytecode.js) is used when the source is the very same (its
length and CRC-32; any other source is compiled as before). Kept code is unmarshalled only when
its module is imported. A kept blob starts with this Python's magic number: code of another
Python version is refused (marshal cannot read it safely).
"""

from __future__ import annotations

import marshal
import zipimport
import zlib
from importlib.util import MAGIC_NUMBER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType
    from typing import Any

__all__ = ["dump", "install", "kept"]

_HEADER = b"bento-stdlib\0" + MAGIC_NUMBER

#: pathname in the zip -> (length of the source, its CRC-32, the code or its marshalled bytes:
#: kept code is unmarshalled only when its module is imported)
_kept: dict[str, tuple[int, int, CodeType | bytes]] = {}
_fresh = 0  # modules compiled since the last dump
_original: Callable[[str, bytes], CodeType] | None = None


def _compile(pathname: str, source: bytes) -> CodeType:
    global _fresh
    stamp = (len(source), zlib.crc32(source))
    found = _kept.get(pathname)
    if found is not None and found[:2] == stamp:
        code = found[2]
        if not isinstance(code, bytes):
            return code
        try:
            loaded = marshal.loads(code)
        except (EOFError, ValueError, TypeError):
            loaded = None  # damaged: compiled below
        if isinstance(loaded, _CODE):
            _kept[pathname] = (*stamp, loaded)
            return loaded
    assert _original is not None  # installed before it is called
    compiled = _original(pathname, source)
    _kept[pathname] = (*stamp, compiled)
    _fresh += 1
    return compiled


_CODE = type(_compile.__code__)  # types.CodeType, without importing types


def install(blob: Any = None) -> int:
    """Compile each zipped module once from now on, using the code in ``blob`` (an earlier
    :func:`dump`) where its source is unchanged. A blob that is not one is ignored. Returns
    how many modules' code is at hand."""
    global _original
    if _original is None and hasattr(zipimport, "_compile_source"):
        _original = zipimport._compile_source
        zipimport._compile_source = _compile
    if hasattr(blob, "to_bytes"):  # a JavaScript Uint8Array
        blob = blob.to_bytes()
    if blob and bytes(blob[: len(_HEADER)]) == _HEADER:
        try:
            table = marshal.loads(bytes(blob[len(_HEADER) :]))
        except (EOFError, ValueError, TypeError):
            table = {}  # damaged: compiled as without it
        for pathname, entry in table.items() if isinstance(table, dict) else ():
            if isinstance(pathname, str) and isinstance(entry, tuple) and len(entry) == 3:
                length, crc, code = entry
                if isinstance(length, int) and isinstance(crc, int) and isinstance(code, bytes):
                    _kept.setdefault(pathname, entry)
    return len(_kept)


def kept() -> int:
    """How many modules' code is at hand."""
    return len(_kept)


def dump() -> bytes:
    """The code of every zipped module compiled or kept so far, if a module was compiled since
    the last dump (else empty bytes: what is kept is still whole)."""
    global _fresh
    if not _fresh:
        return b""
    _fresh = 0
    table = {
        pathname: (length, crc, code if isinstance(code, bytes) else marshal.dumps(code))
        for pathname, (length, crc, code) in _kept.items()
    }
    return _HEADER + marshal.dumps(table)
