"""Bytecode bundles of the preloaded packages: their layout, the browser's, and the server's.

Pyodide's package wheels carry Python sources only and Pyodide turns bytecode writing off, so
every visit compiled numpy, pandas and pyarrow anew: about 2.4 s of the 3-4 s of the first
``import pandas`` (measured in Node.js: 2.89 s from source, 1.17 s from bytecode). The worker
(worker_js/kernel/bytecode.js) turns writing on into a tree of its own (``sys.pycache_prefix``
= :data:`PREFIX`, so no ``__pycache__`` appears next to the user's files); after the first
``import pandas`` it bundles the bytecode of each preloaded package (:func:`bundle`), and keeps
the bundle in the browser's Cache API under the package's sha256 from Pyodide's lock. The next
visit reads them and writes them back into the tree once the packages are loaded, before a
cell can import them (never before a plain first cell).

A bundle (:func:`pack`, :func:`unpack`; bytecode.js writes one with a file-system call per
file, no Python, no zip): an 8-byte little-endian length, that many bytes of a JSON list
``[[path, size], ...]`` (absolute paths under :data:`PREFIX`), then the files' bytes in that
order. The files are *checked* hash-based pycs (PEP 552): the modification times of the
sources change at every unpacking, so Python validates each pyc against the hash of its source
and compiles anew if the source differs (a package replaced in the session, a cache from
another release). A pyc of another Python version is refused by its magic number.

:func:`ensure` makes the bundles ahead, on the host, from the very wheels of the runtime: one
per package of the preload's closure in the lock, at
``<runtime>/bento-bytecode/<pyodide>/<sha256>/<file>.pycs``, the URL under which the worker
keeps a bundle anyway (it fetches it there when its cache has none). A first visit then
imports pandas from bytecode too (it compiled ~500 modules from source: 2.96 s of a 6.9 s cold
``pandas ready`` in Chromium). Only a CPython with Pyodide's magic number (3.12) writes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import sys
import zipfile
from collections.abc import Iterable
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from .stdlib import PYODIDE_MAGIC

__all__ = [
    "COMPILED_AHEAD",
    "FOLDER",
    "PREFIX",
    "SITE",
    "bundle",
    "bundle_path",
    "closure",
    "enable",
    "ensure",
    "hash_based",
    "imported",
    "pack",
    "present",
    "unpack",
]

#: What ``assemble`` compiles ahead: the page's default preload (BentoApp.preload: pandas,
#: pyarrow) and matplotlib, which notebooks run headless import as often (a run writes the
#: bundles of the packages it loads).
COMPILED_AHEAD = ("pandas", "pyarrow", "matplotlib")
PREFIX = "/tmp/bento-pycache"  # the worker's bytecode tree, in its in-memory file system
SITE = "/lib/python3.12/site-packages"  # where Pyodide 0.27 installs packages
FOLDER = "bento-bytecode"
_TAG = "cpython-312"  # sys.implementation.cache_tag of Pyodide 0.27's CPython


def pack(files: Iterable[tuple[str, bytes]]) -> bytes:
    """One bundle of ``(path, pyc)`` pairs; empty bytes if there are none."""
    files = list(files)
    if not files:
        return b""
    header = json.dumps([(path, len(data)) for path, data in files]).encode()
    return len(header).to_bytes(8, "little") + header + b"".join(data for _, data in files)


def unpack(blob: bytes, prefix: str = PREFIX) -> list[tuple[str, bytes]]:
    """The files of a bundle (bytecode.js does the same in JavaScript). Raises ValueError for
    a blob that is not one, or that names a path outside ``prefix``."""
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


def closure(lock: dict[str, Any], names: Iterable[str]) -> list[dict[str, Any]]:
    """Lock entries of ``names`` and their dependencies that have modules to import (what
    bytecode.js keeps a bundle for)."""
    seen: dict[str, dict[str, Any]] = {}

    def visit(name: str) -> None:
        entry = lock.get(name)
        if entry is None or name in seen:
            return
        seen[name] = entry
        for dependency in entry.get("depends", []):
            visit(dependency)

    for name in names:
        visit(name)
    return [e for e in seen.values() if e.get("sha256") and e.get("imports")]


def present(runtime: Path) -> list[tuple[str, str]]:
    """``(package, bundle path)`` of every bundle ``runtime`` holds for its lock's wheels
    (headless runs write those of the packages they load: worker_js/node/host.mjs)."""
    try:
        lock = json.loads((runtime / "pyodide-lock.json").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    version = lock.get("info", {}).get("version", "")
    found = []
    for name, entry in lock.get("packages", {}).items():
        if entry.get("imports") and entry.get("sha256"):
            path = bundle_path(runtime, version, entry)
            if path.is_file():
                found.append((name, str(path.resolve())))
    return found


def bundle_path(runtime: Path, version: str, entry: dict[str, Any]) -> Path:
    return runtime / FOLDER / version / str(entry["sha256"]) / f"{entry['file_name']}.pycs"


def ensure(
    runtime: Path, packages: Iterable[str], *, magic: bytes = importlib.util.MAGIC_NUMBER
) -> list[str]:
    """Write the bundles of ``packages`` and their dependencies that ``runtime`` lacks; the
    file names of the wheels that have one (none on another Python, or if the folder cannot
    be written)."""
    lock_path = runtime / "pyodide-lock.json"
    if magic != PYODIDE_MAGIC or not lock_path.is_file():
        return []
    lock = json.loads(lock_path.read_text("utf-8"))
    version = lock.get("info", {}).get("version", "")
    made = []
    for entry in closure(lock.get("packages", {}), packages):
        wheel, target = runtime / entry["file_name"], bundle_path(runtime, version, entry)
        if not target.is_file():
            if not wheel.is_file() or not wheel.name.endswith(".whl"):
                continue
            try:
                if not _write(wheel, entry["sha256"], target):
                    continue
            except OSError:
                continue  # a read-only runtime: the browser keeps its own after a visit
        made.append(entry["file_name"])
    return made


def _write(wheel: Path, sha256: str, target: Path) -> bool:
    """Write the bundle of ``wheel`` at ``target``; False if the wheel is not the lock's."""
    data = wheel.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        return False  # not the lock's wheel: the browser compiles (and checks) it itself
    files = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # read once: pyarrow's is 55 MB
        for name in sorted(archive.namelist()):
            if not name.endswith(".py"):
                continue
            source = archive.read(name)
            where = f"{SITE}/{name}"
            try:
                code = compile(source, where, "exec", dont_inherit=True, optimize=0)
            except (SyntaxError, ValueError):
                continue
            pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=True)
            folder, stem = where.rsplit("/", 1)
            files.append((f"{PREFIX}{folder}/{stem[:-3]}.{_TAG}.pyc", bytes(pyc)))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    try:
        partial.write_bytes(pack(files))
        partial.replace(target)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return True


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
    """The pycs a browser wrote so far for these top-level names (under ``prefix``), as one
    bundle (:func:`pack`); empty bytes if there are none."""

    site = next(p for p in sys.path if p.endswith("site-packages"))
    root = Path(prefix + site)
    suffix = f".{sys.implementation.cache_tag}.pyc"
    files: list[Path] = []
    for name in imports:
        package = root / name
        if package.is_dir():
            files.extend(sorted(package.rglob(f"*{suffix}")))
        files.extend(sorted(root.glob(f"{name}{suffix}")))  # a top-level module (six.py)
    found: list[tuple[str, bytes]] = []
    for path in files:
        relative = path.relative_to(root)
        source = Path(site) / relative.with_name(path.name[: -len(suffix)] + ".py")
        if not source.is_file():
            continue  # compiled from elsewhere (a module the package generated): skip
        found.append((str(path), hash_based(path.read_bytes(), source.read_bytes())))
    return pack(found)
