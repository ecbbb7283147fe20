"""The package index behind ``/bento/pypi/simple/``: which wheels a project has for Pyodide.

A project's wheels come from the configured folder of wheels first (``wheel_dir``), then from
the cache that ``pip download`` fills on demand (``pip_fallback``). Only wheels the browser's
Python can install are listed: pure ones (``py3-none-any``, ``py2.py3-none-any``) and
WebAssembly builds for Pyodide 0.27 (``cp312`` on ``pyodide_2024_0_wasm32``,
``pyemscripten_2024_0_wasm32`` or ``emscripten_3_1_58_wasm32``; micropip 0.9 itself takes the
first and the last). A project of the Pyodide runtime (its ``pyodide-lock.json``)
is not fetched: the kernel loads it from the runtime, offline (micropip falls back to the lock
when the index answers 404).

Plain CPython (a subprocess for pip, files on disk); the Tornado handlers that serve it are in
:mod:`bento_wasm.server.packages`. Calls that may run pip block: run them in an executor.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from ..errors import PackageUnavailable

__all__ = ["PYODIDE_PLATFORMS", "PackageIndex", "Wheel", "installable", "normalize"]

#: The platforms of WebAssembly wheels for Pyodide 0.27 (Python 3.12, Emscripten 3.1.58): its
#: own builds' tag, PyPI's name for the same ABI (PEP 783), and Emscripten's.
PYODIDE_PLATFORMS = frozenset(
    {"pyodide_2024_0_wasm32", "pyemscripten_2024_0_wasm32", "emscripten_3_1_58_wasm32"}
)
PYODIDE_PYTHON = "cp312"
#: The phrases of pip's output that mean the registry could not be reached.
UNREACHABLE = re.compile(
    r"NewConnectionError|Max retries exceeded|Could not fetch URL|ConnectTimeout|ReadTimeout|"
    r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"Connection refused",
)


def normalize(name: str) -> str:
    """The PEP 503 normalized form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installable(filename: str) -> bool:
    """A wheel the browser's Python can install: pure, or built for Pyodide 0.27."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    for tag in tags:
        if tag.platform == "any" and tag.abi == "none" and tag.interpreter.startswith("py3"):
            return True
        if (
            tag.platform in PYODIDE_PLATFORMS
            and tag.interpreter == PYODIDE_PYTHON
            and tag.abi in {PYODIDE_PYTHON, "abi3", "none"}
        ):
            return True
    return False


@dataclass(frozen=True)
class Wheel:
    """One listed file: its project, version and where it lies."""

    project: str
    version: Version
    path: Path

    @property
    def filename(self) -> str:
        return self.path.name


class PackageIndex:
    """The wheels of a folder and of pip's cache, by project; pip runs on the first request."""

    def __init__(
        self,
        wheel_dir: Path | None,
        cache_dir: Path,
        *,
        pip_fallback: bool = True,
        runtime_lock: Path | None = None,
        pip_options: list[str] | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.wheel_dir = wheel_dir
        self.cache_dir = cache_dir
        self.pip_fallback = pip_fallback
        self.pip_options = list(pip_options or [])
        self.timeout_s = timeout_s
        self.runtime = _lock_projects(runtime_lock)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._hashes: dict[tuple[Path, float], str] = {}

    def wheels(self, project: str) -> list[Wheel]:
        """The listed wheels of ``project`` already here (folder first, then the cache)."""
        name = normalize(project)
        found: dict[str, Wheel] = {}
        for folder in (self.wheel_dir, self.cache_dir / name):
            if folder is None or not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.whl")):
                wheel = _wheel(path)
                if wheel is not None and wheel.project == name:
                    found.setdefault(path.name, wheel)
        return sorted(found.values(), key=lambda w: (w.version, w.filename))

    def projects(self) -> list[str]:
        """Every project with a listed wheel here (the index's root page)."""
        names = {w.project for w in _folder_wheels(self.wheel_dir)}
        if self.cache_dir.is_dir():
            names.update(p.name for p in self.cache_dir.iterdir() if any(p.glob("*.whl")))
        return sorted(names)

    def ensure(self, requirement: str) -> list[Wheel]:
        """The wheels of the requirement's project, fetched with pip if none satisfies it.

        Raises :class:`PackageUnavailable` (its ``reason``: ``in_runtime``, ``compiled``,
        ``not_found``, ``unreachable``, ``timeout``, ``invalid``) with a message naming the
        project and what to do. Blocks while pip runs."""
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as exc:
            raise PackageUnavailable(
                f"{requirement!r} is not a requirement pip understands ({exc}); write it as "
                "`name`, `name==1.2` or `name>=1.0`",
                project=requirement,
                reason="invalid",
            ) from exc
        name = normalize(parsed.name)
        with self._lock_for(name):
            wheels = self.wheels(name)
            if any(parsed.specifier.contains(w.version, prereleases=True) for w in wheels):
                return wheels
            if name in self.runtime and not wheels:
                raise PackageUnavailable(
                    f"{parsed.name} is a package of the Pyodide runtime: the kernel loads it "
                    "from there, offline (`%pip install` and `micropip.install` do so)",
                    project=name,
                    reason="in_runtime",
                )
            if not self.pip_fallback:
                raise PackageUnavailable(
                    f"no wheel of {requirement} in this server's wheel folder "
                    f"({self.wheel_dir}), and fetching with pip is off: add the wheel there, "
                    "or start the server with --BentoApp.pip_fallback=True",
                    project=name,
                    reason="not_found",
                )
            self._download(str(parsed), name)
            return self.wheels(name)

    def sha256(self, path: Path) -> str:
        key = (path, path.stat().st_mtime)
        if key not in self._hashes:
            self._hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._hashes[key]

    def file(self, project: str, filename: str) -> Path | None:
        """The listed file ``filename`` of ``project``, or None (never a path outside)."""
        for wheel in self.wheels(project):
            if wheel.filename == filename:
                return wheel.path
        return None

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
        command += ["--retries", "1", *self.pip_options]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=self.timeout_s, check=False
        )

    def _download(self, requirement: str, name: str) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".pip-") as scratch:
            try:
                done = self._pip(
                    "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                    "--platform", "any", "--dest", scratch, requirement,
                )  # fmt: skip
            except subprocess.TimeoutExpired as exc:
                raise PackageUnavailable(
                    f"fetching {requirement} with pip took longer than {self.timeout_s:.0f} s; "
                    "the package registry may be slow or unreachable from the bento server: "
                    "try again, or put the wheel into the server's --BentoApp.wheel_dir",
                    project=name,
                    reason="timeout",
                ) from exc
            fetched = [p for p in Path(scratch).glob("*.whl") if installable(p.name)]
            if done.returncode != 0 or not fetched:
                raise self._why(requirement, name, done.stdout + done.stderr)
            target = self.cache_dir / name
            target.mkdir(exist_ok=True)
            for path in fetched:
                shutil.move(str(path), target / path.name)

    def _why(self, requirement: str, name: str, output: str) -> PackageUnavailable:
        """Why pip found no wheel: the registry is unreachable, the project does not exist, or
        it has only wheels with compiled code (asked with ``pip index versions``)."""
        tail = " ".join(line for line in output.splitlines()[-2:] if line.strip())
        if UNREACHABLE.search(output):
            return PackageUnavailable(
                f"the bento server could not reach the package registry to fetch {requirement} "
                f"(pip: {tail}). Check the server's network or pip configuration "
                "(--BentoApp.pip_options), or put the wheel into --BentoApp.wheel_dir",
                project=name,
                reason="unreachable",
            )
        try:
            exists = self._pip("index", "versions", name).returncode == 0
        except subprocess.TimeoutExpired:
            exists = False
        if not exists:
            return PackageUnavailable(
                f"no package {requirement} on the package registry the bento server uses "
                "(pip found none): check the name's spelling",
                project=name,
                reason="not_found",
            )
        return PackageUnavailable(
            f"{requirement} has compiled code and no WebAssembly build for Pyodide (no pure "
            "Python wheel and no pyemscripten/wasm32 wheel), so the serverless kernel cannot "
            f"install it. Run the code that needs it with %%remote (the executor's kernel can "
            f"`pip install {name}`) or switch the page to the Server kernel",
            project=name,
            reason="compiled",
        )


def _wheel(path: Path) -> Wheel | None:
    if not installable(path.name):
        return None
    name, version, _, _ = parse_wheel_filename(path.name)
    return Wheel(normalize(name), version, path)


def _folder_wheels(folder: Path | None) -> list[Wheel]:
    if folder is None or not folder.is_dir():
        return []
    return [w for w in map(_wheel, sorted(folder.glob("*.whl"))) if w is not None]


def _lock_projects(lock: Path | None) -> frozenset[str]:
    """The projects of the Pyodide runtime's lock whose file the runtime folder has (the
    official lock lists 351; a runtime assembled here has 38): the others are fetched like
    any project (micropip takes the index's wheel before the lock's missing file)."""
    if lock is None or not lock.is_file():
        return frozenset()
    packages = json.loads(lock.read_text()).get("packages", {})
    return frozenset(
        normalize(str(info.get("name") or key))
        for key, info in packages.items()
        if (lock.parent / str(info.get("file_name", ""))).is_file()
    )
