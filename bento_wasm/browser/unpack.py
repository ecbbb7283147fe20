"""Package wheels unpacked with less Python per file than Pyodide's own loader.

Pyodide 0.27's ``loadPackage`` unpacks each wheel with ``shutil.unpack_archive`` (zipfile's
``extractall``: per-member path checks, CRC, chunked copies): about 1.1 s for the pandas
preload's wheels in Node.js, 0.16 s of it for pytz's 600 small files. :func:`unpack_wheel`
inflates each member from the buffer in one call and writes it in one call: about half the
time. worker_js/kernel/unpack.js puts it in front of Pyodide's ``unpack_buffer`` and falls
back to Pyodide's own for anything :func:`unpack_wheel` declines (None).

Integrity is unchanged: Pyodide checked the buffer against the lock's sha256 when it fetched
it. Every member must land inside ``extract_dir``.

``on_dynlib`` (worker_js/kernel/dynlibs.js's ``compileAhead``) is told each dynamic library's
path as soon as it is written, so its WebAssembly compiles on another core while the rest of
the wheel (and the next package) unpacks, instead of when Pyodide's loader reaches it.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable
from io import BytesIO
from typing import Any

__all__ = ["unpack_wheel"]

_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def unpack_wheel(
    buffer: Any,
    filename: str,
    extract_dir: str,
    installer: str = "",
    source: str = "",
    on_dynlib: Callable[[str], object] | None = None,
) -> list[str] | None:
    """Unpack the wheel in ``buffer`` (a JS Uint8Array, bytes, or a file's path) into
    ``extract_dir`` as Pyodide's ``unpack_buffer`` does (the dist-info gets INSTALLER and
    PYODIDE_SOURCE), and return the absolute paths of the dynamic libraries Pyodide must load,
    in archive order.
    ``on_dynlib`` is called with each of those paths once its file is written. None (nothing
    written) for what this does not handle: not a wheel, a wheel with .data
    files or without exactly one .dist-info, an encrypted member or one of another compression."""
    from pyodide._package_loader import should_load_dynlib

    if not filename.endswith(".whl"):
        return None
    if isinstance(buffer, str):  # a file (unpack.js spools the wheel once the heap is past 2 GiB)
        with open(buffer, "rb") as spooled:
            data: bytes = spooled.read()
    else:
        data = buffer.to_py() if hasattr(buffer, "to_py") else bytes(buffer)
    view = memoryview(data)
    members = zipfile.ZipFile(BytesIO(data)).infolist()
    tops = {info.filename.split("/", 1)[0] for info in members}
    dist_info = [top for top in tops if top.endswith(".dist-info")]
    if len(dist_info) != 1 or any(top.endswith(".data") for top in tops):
        return None
    root = os.path.normpath(extract_dir)
    files = []
    for info in members:
        if info.is_dir():
            continue
        if info.flag_bits & 1 or info.compress_type not in _METHODS:
            return None
        target = os.path.normpath(os.path.join(root, info.filename))
        if not target.startswith(root + os.sep):
            raise ValueError(f"{filename}: the member {info.filename!r} lies outside {root}")
        files.append((info, target))
    dynlibs = [target for info, target in files if should_load_dynlib(info.filename)]
    _write(filename, view, files, set(dynlibs) if on_dynlib is not None else set(), on_dynlib)
    meta = os.path.join(root, dist_info[0])
    for name, text in (("INSTALLER", installer), ("PYODIDE_SOURCE", source)):
        if text:
            with open(os.path.join(meta, name), "w") as out:
                out.write(text)
    return dynlibs


def _write(
    filename: str,
    view: memoryview,
    files: list[tuple[zipfile.ZipInfo, str]],
    told: set[str],
    on_dynlib: Callable[[str], object] | None,
) -> None:
    """Inflate and write each member; tell ``on_dynlib`` each path in ``told`` once written."""
    made: set[str] = set()
    for info, target in files:
        at = info.header_offset
        start = at + 30 + int.from_bytes(view[at + 26 : at + 28], "little")
        start += int.from_bytes(view[at + 28 : at + 30], "little")
        raw = view[start : start + info.compress_size]
        content = zlib.decompress(raw, -15) if info.compress_type else bytes(raw)
        if len(content) != info.file_size:
            raise ValueError(f"{filename}: {info.filename} inflates to {len(content)} bytes")
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(target, "wb") as out:
            out.write(content)
        if on_dynlib is not None and target in told:
            on_dynlib(target)
