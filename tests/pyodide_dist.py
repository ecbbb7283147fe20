"""Build the Pyodide dist that pytest-pyodide tests run against (build/test-dist).

It is the verified runtime (files linked, never changed) plus the built wheel, plus
the PyPI wheels of pytest and tblib, which the official carrier lacks. Their PyPI
builds differ from Pyodide's by sha256 (RUNTIME.md), so this *test copy* of the lock
points at them with their own hashes and drops every package whose file is absent;
pytest-pyodide then gets assertion rewriting and remote tracebacks. The official
runtime and its lock are left untouched.

    python tests/pyodide_dist.py --runtime runtime/pyodide --dest build/test-dist
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

# Pure-Python wheels pytest 8.1 needs on Python 3.12 (packaging is in the carrier).
TEST_WHEELS = {
    "pytest": ("pytest==8.1.1", ["iniconfig", "packaging", "pluggy"]),
    "pluggy": ("pluggy==1.5.0", []),
    "iniconfig": ("iniconfig==2.0.0", []),
    "tblib": ("tblib==3.0.0", []),
}


def download(spec: str, cache: Path) -> Path:
    name, version = spec.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(cache.glob(pattern))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:",
             "-d", str(cache), spec],
            check=True,
        )  # fmt: skip
        found = sorted(cache.glob(pattern))
    if not found:
        raise SystemExit(f"pip download {spec} gave no wheel matching {pattern}")
    return found[0]


def build(runtime: Path, dest: Path, wheels: Path, cache: Path) -> None:
    manifest = json.loads((runtime / "bento-runtime.json").read_text())
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in manifest["files"]:
        if name != "pyodide-lock.json":
            (dest / name).symlink_to((runtime / name).resolve())
    packages = lock["packages"]
    for package, (spec, depends) in TEST_WHEELS.items():
        wheel = download(spec, cache)
        shutil.copy(wheel, dest / wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        packages[package].update(file_name=wheel.name, sha256=digest, depends=depends)
    present = {p.name for p in dest.iterdir()}
    lock["packages"] = {k: v for k, v in packages.items() if v["file_name"] in present}
    (dest / "pyodide-lock.json").write_text(json.dumps(lock))
    for wheel in wheels.glob("bento_wasm-*-py3-none-any.whl"):
        shutil.copy(wheel, dest / wheel.name)
    print(f"test dist at {dest}: {len(lock['packages'])} packages, plus the bento_wasm wheel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", type=Path, default=Path("runtime/pyodide"))
    parser.add_argument("--dest", type=Path, default=Path("build/test-dist"))
    parser.add_argument("--wheels", type=Path, default=Path("wheels"))
    parser.add_argument("--cache", type=Path, default=Path("build/test-wheels"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    build(args.runtime, args.dest, args.wheels, args.cache)


if __name__ == "__main__":
    main()
