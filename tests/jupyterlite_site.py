"""Build a JupyterLite site on the locally assembled Pyodide runtime (build/jupyterlite/).

jupyterlite-core and jupyterlite-pyodide-kernel (PyPI, the ``test`` extra) build the site;
its ``jupyter-lite.json`` points the kernel at ``/pyodide/pyodide.js``, a folder of the site
whose files are links to the verified runtime, with PyPI's pure wheels the kernel needs and
the carrier lacks (comm; pyodide-http and typing-extensions at the lock's own versions) and
a *site copy* of the lock with their sha256 written in (RUNTIME.md "JupyterLite on this
runtime"). ``disablePyPIFallback`` keeps piplite off PyPI; nothing comes from a CDN.

The site is cached by content hash (the runtime's lock, the wheels, the JupyterLite
versions, this file), so a test session builds it at most once:

    python tests/jupyterlite_site.py [--dest build/jupyterlite]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime" / "pyodide"
#: lock name -> (pip spec, imports, depends): pure wheels JupyterLite's kernel installs.
KERNEL_WHEELS = {
    "comm": ("comm==0.2.2", ["comm"], ["traitlets"]),
    "pyodide-http": ("pyodide-http==0.2.1", ["pyodide_http"], []),
    "typing-extensions": ("typing-extensions==4.11.0", ["typing_extensions"], []),
}
CONFIG = {
    "jupyter-lite-schema-version": 0,
    "jupyter-config-data": {
        "exposeAppInBrowser": True,  # window.jupyterapp: tests reach the service manager
        "litePluginSettings": {
            "@jupyterlite/pyodide-kernel-extension:kernel": {
                "pyodideUrl": "/pyodide/pyodide.js",
                "disablePyPIFallback": True,
            }
        },
    },
}


def download(spec: str, cache: Path) -> Path:
    name, version = spec.split("==")
    found = sorted(cache.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:",
             "-d", str(cache), spec],
            check=True,
        )  # fmt: skip
        found = sorted(cache.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def site_key(wheels: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for part in (
        (RUNTIME / "pyodide-lock.json").read_bytes(),
        Path(__file__).read_bytes(),
        json.dumps(CONFIG, sort_keys=True).encode(),
        metadata.version("jupyterlite-core").encode(),
        metadata.version("jupyterlite-pyodide-kernel").encode(),
        *(sha256(path).encode() for path in wheels.values()),
    ):
        digest.update(part)
    return digest.hexdigest()[:16]


def add_pyodide(site: Path, wheels: dict[str, Path]) -> None:
    """``site/pyodide``: the runtime's files linked, the kernel's wheels and the lock copy."""
    folder = site / "pyodide"
    folder.mkdir()
    for path in RUNTIME.iterdir():
        if path.name != "pyodide-lock.json":
            (folder / path.name).symlink_to(path.resolve())
    lock = json.loads((RUNTIME / "pyodide-lock.json").read_text())
    for name, path in wheels.items():
        shutil.copy2(path, folder / path.name)
        _, imports, depends = KERNEL_WHEELS[name]
        version = path.name.split("-")[1]
        lock["packages"][name] = {
            **lock["packages"].get(name, {}),
            "name": name,
            "version": version,
            "file_name": path.name,
            "install_dir": "site",
            "package_type": "package",
            "imports": imports,
            "depends": depends,
            "unvendored_tests": False,
            "sha256": sha256(path),
        }
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))


def build(dest: Path = ROOT / "build" / "jupyterlite") -> Path:
    """The site folder (built now, or the cached one); prints how long a build took."""
    cache = dest / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    wheels = {name: download(spec, cache) for name, (spec, _, _) in KERNEL_WHEELS.items()}
    site = dest / f"site-{site_key(wheels)}"
    if (site / ".complete").exists():
        return site
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bento-lite-", dir=dest))
    lite, out = work / "lite", work / "site"
    lite.mkdir()
    (lite / "jupyter-lite.json").write_text(json.dumps(CONFIG))
    subprocess.run(
        [sys.executable, "-m", "jupyterlite_core", "build", "--output-dir", str(out)],
        cwd=lite,
        check=True,
        capture_output=True,
    )
    add_pyodide(out, wheels)
    (out / ".complete").write_text(f"{time.perf_counter() - started:.1f} s\n")
    if site.exists():
        shutil.rmtree(site)
    out.rename(site)
    shutil.rmtree(work)
    print(f"JupyterLite site built in {time.perf_counter() - started:.1f} s: {site}")
    return site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "build" / "jupyterlite")
    print(build(parser.parse_args().dest))


if __name__ == "__main__":
    main()
