"""The browser wheel of an installed bento-wasm, made from the package's own files.

A checkout serves ``wheels/`` (``./dev wheel``). A ``pip install``ed server has no such
folder: at start it writes ``bento_wasm-<version>-py3-none-any.whl`` from the installed
package (every file but ``assets/`` and caches) into its cache, once per version and content,
so the worker installs exactly the code the server runs.

Both are *stored* zips (no compression; ``store``): the worker reads a stored entry's bytes in
place, while a deflated one costs a ``DecompressionStream`` per file on the worker's thread,
during loadPyodide. For the 118 files of bento_wasm's wheel that delayed Pyodide's
instantiation by about 0.09 s (worker_js/kernel/wheel.js; README "Start-up"). It is 0.8 MB
instead of 0.3 MB, once, into the browser's HTTP cache.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import bento_wasm

__all__ = ["ensure_browser_wheel", "store"]

SKIP_PARTS = {"assets", "__pycache__"}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _package_files() -> list[tuple[str, bytes]]:
    root = Path(bento_wasm.__file__).resolve().parent
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not SKIP_PARTS & set(relative.parts) and path.suffix != ".pyc":
            files.append((f"bento_wasm/{relative.as_posix()}", path.read_bytes()))
    return files


def ensure_browser_wheel(folder: Path) -> Path:
    """The wheel in ``folder`` for this installed version (written when absent or stale)."""
    version = bento_wasm.__version__
    files = _package_files()
    content = hashlib.sha256(b"".join(name.encode() + data for name, data in files)).hexdigest()
    wheel = folder / f"bento_wasm-{version}-py3-none-any.whl"
    stamp = folder / f".{wheel.name}.sha256"
    if wheel.is_file() and stamp.is_file() and stamp.read_text() == content:
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    info = f"bento_wasm-{version}.dist-info"
    meta = {
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: bento-wasm\nVersion: {version}\n"
            "Summary: bento-wasm, the browser side (made by the server from its package)\n"
        ).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bento-wasm\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    entries = [*files, *meta.items()]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    record += f"{info}/RECORD,,\n"
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", record)
    partial.replace(wheel)
    stamp.write_text(content)
    return wheel


def store(wheel: Path) -> None:
    """Rewrite ``wheel`` with every entry stored (``./dev wheel``'s browser wheel); its names,
    dates and contents stay as they are."""
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(partial, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            info.compress_type = zipfile.ZIP_STORED
            target.writestr(info, data)
    partial.replace(wheel)
