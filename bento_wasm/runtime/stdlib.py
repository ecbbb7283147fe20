"""The standard library compiled ahead: Pyodide's ``python_stdlib.zip`` with a ``.pyc`` beside
each module.

Pyodide's zip holds sources only, so every start compiles what Python imports from it:
loadPyodide itself imports 112 modules from the zip (``asyncio`` for its event loop,
``pyodide``'s own modules, ``inspect``, ``ast``...), and compiling them in WebAssembly was about
1 s of a 1.7 s loadPyodide (Node.js, this machine: 1.65-1.83 s with the stock zip, 0.69-0.75 s
with this one). ``import pandas`` compiles 31 more.

:func:`ensure` writes ``python_stdlib.compiled.zip`` into the runtime folder, once: every entry
of the official zip as it is, plus each module's code as an unchecked hash-based pyc (PEP 552:
zipimport loads it without reading the source; the source stays, for tracebacks and
``inspect``). The code is compiled under the very name Pyodide imports it by
(``/lib/python312.zip/json/__init__.py``), so tracebacks read as before. A CPython whose
magic number is the runtime's (3.12) compiles it itself (~2 s); another Python has the
runtime's own Pyodide compile it under Node.js (~5 s). Without either there is none, the page
and headless runs load the official zip, and Pyodide compiles as before
(``bento_wasm/browser/stdlib.py`` then compiles each module once per visit and keeps it). A pyc
whose magic Pyodide does not accept is passed over by zipimport for the source.

The file is derived, not official: it is not in the runtime's manifest of checked files;
its name says which official zip and which Python made it (``python_stdlib.compiled.json``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]
from pathlib import Path

__all__ = ["COMPILED", "PYODIDE_MAGIC", "compiled_stdlib", "ensure"]

#: The magic number of Pyodide 0.27's CPython 3.12 (importlib.util.MAGIC_NUMBER in it).
PYODIDE_MAGIC = bytes.fromhex("cb0d0d0a")
#: Where Pyodide 0.27 writes python_stdlib.zip in its file system (loadPyodide's installStdlib).
ZIP_PATH = "/lib/python312.zip"
OFFICIAL = "python_stdlib.zip"
COMPILED = "python_stdlib.compiled.zip"
STAMP = "python_stdlib.compiled.json"


def _stamp(official: Path) -> dict[str, str]:
    digest = hashlib.sha256(official.read_bytes()).hexdigest()
    return {"from": digest, "magic": PYODIDE_MAGIC.hex(), "python": sys.version.split()[0]}


def compiled_stdlib(runtime: Path) -> Path | None:
    """The runtime's compiled standard library, if :func:`ensure` wrote it for this zip."""
    compiled, stamp = runtime / COMPILED, runtime / STAMP
    try:
        made = json.loads(stamp.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return compiled if compiled.is_file() and made.get("magic") == PYODIDE_MAGIC.hex() else None


def ensure(runtime: Path, *, magic: bytes = importlib.util.MAGIC_NUMBER) -> Path | None:
    """Write the compiled zip into ``runtime`` unless it is there for this official zip; None
    when it cannot (the folder is not writable; another Python and no Node.js)."""
    official = runtime / OFFICIAL
    if not official.is_file():
        return None
    stamp = _stamp(official)
    found = compiled_stdlib(runtime)
    if found is not None:
        made = json.loads((runtime / STAMP).read_text("utf-8"))
        if made.get("from") == stamp["from"]:
            return found
    partial = runtime / (COMPILED + ".partial")
    try:
        if magic == PYODIDE_MAGIC:
            _write(official, partial)
        else:  # another Python: the runtime's own compiles it, under Node.js
            stamp["python"] = "pyodide"
            _write_with_pyodide(runtime, official, partial)
        partial.replace(runtime / COMPILED)
        (runtime / STAMP).write_text(json.dumps(stamp, indent=1), "utf-8")
    except (OSError, subprocess.SubprocessError) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        warnings.warn(
            f"cannot write {runtime / COMPILED} ({exc}): Pyodide compiles its standard library "
            "at every start (about 1 s); make the runtime folder writable (and, with a Python "
            "other than 3.12, install Node.js) to save that",
            stacklevel=2,
        )
        return None
    return runtime / COMPILED


#: Runs this module's _write in the runtime's own Pyodide (argv: runtime, this file, official
#: zip, target): its CPython 3.12 compiles, whatever Python the host has.
_NODE = """
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [runtime, module, official, target] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(runtime + "/pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: runtime + "/" });
pyodide.FS.writeFile("/tmp/official.zip", readFileSync(official));
const scope = pyodide.toPy({});
pyodide.runPython(readFileSync(module, "utf8"), { globals: scope });
const write = "from pathlib import Path; _write(Path('/tmp/official.zip'), Path('/tmp/out.zip'))";
pyodide.runPython(write, { globals: scope });
writeFileSync(target, pyodide.FS.readFile("/tmp/out.zip"));
"""


def _write_with_pyodide(runtime: Path, official: Path, target: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise OSError("this Python is not 3.12 and there is no Node.js to compile with")
    argv = [node, "--input-type=module", "-e", _NODE, str(runtime.resolve()), __file__]
    argv += [str(official), str(target)]
    subprocess.run(argv, check=True, capture_output=True, timeout=900)


def _write(official: Path, target: Path) -> None:
    with zipfile.ZipFile(official) as source, zipfile.ZipFile(target, "w") as out:
        names = set(source.namelist())
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info, data)
            if not info.filename.endswith(".py") or info.filename + "c" in names:
                continue
            try:
                code = compile(
                    data, f"{ZIP_PATH}/{info.filename}", "exec", dont_inherit=True, optimize=0
                )
            except (SyntaxError, ValueError):
                continue  # zipimport compiles it (and reports the error) if it is imported
            pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
            entry = zipfile.ZipInfo(info.filename + "c", info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(entry, bytes(pyc))
