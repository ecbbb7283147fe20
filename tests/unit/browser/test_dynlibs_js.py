"""worker_js/kernel/dynlibs.js and unpack.js in Pyodide under Node.js (Debian's, as the headless
host): the libraries of a package are compiled ahead while its wheel unpacks and instantiated
from those modules; a library whose file changed after it was compiled ahead is instantiated
from its bytes, the new ones."""

import json
import shutil
import subprocess
import zipfile

import pytest

from tests.helpers import ROOT

NODE = shutil.which("node")
RUNTIME = ROOT / "runtime" / "pyodide"
NUMPY = RUNTIME / "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed (./dev setup)"),
    pytest.mark.skipif(not NUMPY.is_file(), reason="no runtime (bento runtime assemble)"),
]

KERNEL = (ROOT / "worker_js" / "kernel").as_uri()

AHEAD = f"""
const {{ loadPyodide }} = await import(process.argv[2] + "/pyodide.mjs");
const {{ loadEachLibraryOnce, dynlibCounts }} = await import("{KERNEL}/dynlibs.js");
const {{ unpackWheelsFaster }} = await import("{KERNEL}/unpack.js");
const pyodide = await loadPyodide({{ indexURL: process.argv[2] + "/" }});
pyodide.FS.mkdirTree("/bento");
pyodide.FS.writeFile("/bento/unpack.py", (await import("node:fs")).readFileSync(process.argv[3]));
pyodide.runPython("import sys; sys.path.insert(0, '/bento')");
pyodide.runPython("import types, sys, unpack; sys.modules['bento_wasm'] = types.ModuleType('b');"
  + "sys.modules['bento_wasm.browser'] = types.ModuleType('b');"
  + "sys.modules['bento_wasm.browser.unpack'] = unpack");
const mode = process.argv[4];
if (mode !== "bare") {{
  loadEachLibraryOnce(pyodide);
  unpackWheelsFaster(pyodide);
}}
await pyodide.loadPackage("numpy", {{ messageCallback: () => {{}} }});
const total = pyodide.runPython("import numpy; int(numpy.arange(10).sum())");
console.log(JSON.stringify({{ total, ...dynlibCounts }}));
"""

CHANGED = f"""
const {{ loadPyodide }} = await import(process.argv[2] + "/pyodide.mjs");
const {{ loadEachLibraryOnce, compileAhead, dynlibCounts }} = await import("{KERNEL}/dynlibs.js");
const {{ readFileSync }} = await import("node:fs");
const pyodide = await loadPyodide({{ indexURL: process.argv[2] + "/" }});
loadEachLibraryOnce(pyodide);
const [first, second] = [readFileSync(process.argv[3]), readFileSync(process.argv[4])];
pyodide.FS.writeFile("/tmp/lib.so", first);
compileAhead(pyodide, "/tmp/lib.so");             // the first library, compiled ahead
await new Promise((resolve) => setTimeout(resolve, 20));
pyodide.FS.writeFile("/tmp/lib.so", second);      // ... then the file is another library
await pyodide._api.loadDynlib("/tmp/lib.so", false);
const exports = Object.keys(pyodide._module.LDSO.loadedLibsByName["/tmp/lib.so"].exports);
console.log(JSON.stringify({{ exports, ...dynlibCounts }}));
"""


def node(tmp_path, source, *args):
    script = tmp_path / "script.mjs"
    script.write_text(source)
    out = subprocess.run(
        [NODE, str(script), str(RUNTIME), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_numpys_libraries_are_compiled_ahead_and_instantiated_from_those_modules(tmp_path):
    unpack = ROOT / "bento_wasm" / "browser" / "unpack.py"
    ours = node(tmp_path, AHEAD, unpack, "ahead")
    with zipfile.ZipFile(NUMPY) as wheel:
        libraries = [n for n in wheel.namelist() if n.endswith(".so")]
    assert ours == {"total": 45, "ahead": len(libraries), "bytes": 0}, ours
    bare = node(tmp_path, AHEAD, unpack, "bare")  # Pyodide's own: nothing compiled ahead
    assert bare == {"total": 45, "ahead": 0, "bytes": 0}, bare


def test_a_library_changed_after_it_was_compiled_ahead_is_loaded_from_its_bytes(tmp_path):
    with zipfile.ZipFile(NUMPY) as wheel:
        names = {n.rsplit("/", 1)[-1].split(".")[0]: n for n in wheel.namelist()}
        first, second = tmp_path / "first.so", tmp_path / "second.so"
        first.write_bytes(wheel.read(names["_umath_tests"]))
        second.write_bytes(wheel.read(names["_rational_tests"]))
    got = node(tmp_path, CHANGED, first, second)
    assert got["ahead"] == 0 and got["bytes"] == 1, got
    assert "PyInit__rational_tests" in got["exports"], got["exports"]
    assert "PyInit__umath_tests" not in got["exports"]
