"""Compiled bytecode of the preloaded packages, kept across visits (worker_js/kernel/bytecode.js).

Pyodide's package wheels carry Python sources only and Pyodide turns bytecode writing off, so
every visit compiles numpy, pandas and pyarrow anew: about 2.4 s of the 3-4 s of the first
``import pandas`` (measured in Node.js: 2.89 s from source, 1.17 s from bytecode). The worker
turns writing on into a tree of its own (``sys.pycache_prefix``, so no ``__pycache__`` appears
next to the user's files); after the first ``import pandas`` it bundles the bytecode of each
preloaded package (:func:`bundle`), and JavaScript keeps the bundle in the browser's Cache API
under the package's sha256 from Pyodide's lock. The next visit reads them and writes them
back into the tree once the packages are loaded, before a cell can import them (never before
a plain first cell).

The files are stored as *checked* hash-based pycs (PEP 552): the modification times of the
sources change at every unpacking, so Python validates each pyc against the hash of its source
instead, and compiles anew if the source differs (a package replaced in the session, a cache
from another release). A pyc of another Python version is refused by its magic number.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["PREFIX", "bundle", "enable", "hash_based", "imported", "unbundle"]

PREFIX = "/tmp/bento-pycache"  # in the worker's in-memory file system

# The pyc header (PEP 552): magic, flags, then source mtime and size, or the source's hash.
_CHECKED_HASH = 0b11  # hash-based, and checked against the source at every import


def enable(prefix: str = PREFIX) -> None:
    """Write bytecode from now on, into ``prefix`` (Python reads it from there too)."""
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


def imported(names: list[str]) -> bool:
    """Whether every one of these top-level modules has been imported (the bytecode exists)."""
    names = list(names)
    return bool(names) and all(name in sys.modules for name in names)


def hash_based(pyc: bytes, source: bytes) -> bytes:
    """The same pyc, validated by ``source``'s hash instead of its modification time."""
    from importlib.util import source_hash

    if len(pyc) < 16:
        raise ValueError(f"not a pyc: {len(pyc)} bytes, shorter than its 16-byte header")
    return pyc[:4] + _CHECKED_HASH.to_bytes(4, "little") + source_hash(source) + pyc[16:]


def bundle(imports: list[str], prefix: str = PREFIX) -> bytes:
    """The pycs written so far for these top-level names, as one blob JavaScript writes back
    with a file-system call per file (no Python, no zip: a visit's restore takes ~700 files):
    an 8-byte little-endian length, that many bytes of a JSON list ``[[path, size], ...]``
    (absolute paths, all under ``prefix``), then the files' bytes in that order. Empty bytes
    if there are none."""
    import json

    site = next(p for p in sys.path if p.endswith("site-packages"))
    root = Path(prefix + site)
    suffix = f".{sys.implementation.cache_tag}.pyc"
    files: list[Path] = []
    for name in imports:
        package = root / name
        if package.is_dir():
            files.extend(sorted(package.rglob(f"*{suffix}")))
        files.extend(sorted(root.glob(f"{name}{suffix}")))  # a top-level module (six.py)
    index: list[tuple[str, int]] = []
    payload: list[bytes] = []
    for path in files:
        relative = path.relative_to(root)
        source = Path(site) / relative.with_name(path.name[: -len(suffix)] + ".py")
        if not source.is_file():
            continue  # compiled from elsewhere (a module the package generated): skip
        pyc = hash_based(path.read_bytes(), source.read_bytes())
        index.append((str(path), len(pyc)))
        payload.append(pyc)
    if not index:
        return b""
    header = json.dumps(index).encode()
    return len(header).to_bytes(8, "little") + header + b"".join(payload)


def unbundle(blob: bytes, prefix: str = PREFIX) -> list[tuple[str, bytes]]:
    """The files of a :func:`bundle` (what bytecode.js does in JavaScript; for tests and
    tools). Raises ValueError for a blob that is not one, or names a path outside ``prefix``."""
    import json

    if len(blob) < 8:
        raise ValueError("not a bytecode bundle: shorter than its 8-byte header")
    size = int.from_bytes(blob[:8], "little")
    try:
        index = json.loads(blob[8 : 8 + size])
    except ValueError as exc:
        raise ValueError(f"not a bytecode bundle: its index is not JSON ({exc})") from exc
    files, at = [], 8 + size
    for path, length in index:
        if not str(path).startswith(prefix.rstrip("/") + "/") or "/../" in str(path):
            raise ValueError(f"a bytecode bundle names {path!r}, outside {prefix}")
        files.append((str(path), blob[at : at + length]))
        at += length
    if at != len(blob):
        raise ValueError(f"a bytecode bundle of {len(blob)} bytes whose index covers {at}")
    return files
