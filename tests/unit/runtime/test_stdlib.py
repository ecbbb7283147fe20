"""The standard library compiled ahead (bento_wasm/runtime/stdlib.py): what the zip holds, when
it is written, and, in real Pyodide under Node.js, that Pyodide starts from it without
compiling, with tracebacks and ``inspect`` still reading the source."""

import json
import marshal
import subprocess
import sys
import warnings
import zipfile

import pytest

from bento_wasm.runtime import stdlib
from tests.helpers import RUNTIME, run_in_node_pyodide

MODULES = {
    "bentodemo/__init__.py": b"from bentodemo.part import twice\nVALUE = twice(21)\n",
    "bentodemo/part.py": b"def twice(x):\n    return 2 * x\n",
    "bentodemo/broken.py": b"def (:\n",
    "bentodemo/data.txt": b"not a module\n",
}


@pytest.fixture
def runtime_dir(tmp_path):
    """A runtime folder whose official zip holds a small package."""
    with zipfile.ZipFile(tmp_path / stdlib.OFFICIAL, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in MODULES.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 6, 1, 12, 0, 0)), data)
    return tmp_path


def test_every_official_entry_stays_and_each_module_gets_an_unchecked_pyc(runtime_dir):
    compiled = stdlib.ensure(runtime_dir)
    assert compiled == runtime_dir / stdlib.COMPILED
    with zipfile.ZipFile(compiled) as archive:
        names = set(archive.namelist())
        assert {name: archive.read(name) for name in MODULES} == MODULES
        pyc = archive.read("bentodemo/part.pyc")
    assert names - set(MODULES) == {"bentodemo/__init__.pyc", "bentodemo/part.pyc"}  # not broken
    assert pyc[:4] == stdlib.PYODIDE_MAGIC
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked
    code = marshal.loads(pyc[16:])
    # The name Pyodide's zipimport compiles it under: tracebacks read as without the pyc.
    assert code.co_filename == "/lib/python312.zip/bentodemo/part.py"
    made = json.loads((runtime_dir / stdlib.STAMP).read_text())
    assert made["magic"] == stdlib.PYODIDE_MAGIC.hex() and len(made["from"]) == 64
    assert stdlib.compiled_stdlib(runtime_dir) == compiled


def test_zipimport_loads_the_pycs_and_passes_over_one_of_another_python(runtime_dir):
    compiled = stdlib.ensure(runtime_dir)
    spoiled = runtime_dir / "spoiled.zip"
    with zipfile.ZipFile(compiled) as source, zipfile.ZipFile(spoiled, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "bentodemo/part.pyc":
                data = b"\x00\x00\r\n" + data[4:]  # another magic number
            target.writestr(info, data)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import bentodemo, bentodemo.part\n"
        "print(bentodemo.VALUE, bentodemo.__file__.rsplit('/', 1)[-1],"
        " bentodemo.part.__file__.rsplit('/', 1)[-1])"
    )
    for archive, part in ((compiled, "part.pyc"), (spoiled, "part.py")):
        out = subprocess.run(
            [sys.executable, "-I", "-c", code, str(archive)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.split() == ["42", "__init__.pyc", part]


def test_another_python_without_node_writes_nothing_and_says_what_to_install(
    runtime_dir, monkeypatch
):
    monkeypatch.setenv("PATH", str(runtime_dir / "no-such-bin"))  # no node on it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert stdlib.ensure(runtime_dir, magic=b"\x00\x00\r\n") is None
    assert "install Node.js" in str(caught[0].message)
    assert sorted(p.name for p in runtime_dir.iterdir()) == [stdlib.OFFICIAL]
    assert stdlib.compiled_stdlib(runtime_dir) is None


def test_another_python_compiles_it_with_the_runtimes_own_pyodide(tmp_path):
    """A host Python other than 3.12 (another magic number) has the runtime's own CPython
    compile the zip, under Node.js; Pyodide then starts from it compiling nothing."""
    folder = tmp_path / "runtime"
    folder.mkdir()
    for name in ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "pyodide-lock.json"):
        (folder / name).symlink_to(RUNTIME / name)
    (folder / stdlib.OFFICIAL).symlink_to(RUNTIME / stdlib.OFFICIAL)
    compiled = stdlib.ensure(folder, magic=b"\x00\x00\r\n")
    assert compiled is not None and stdlib.compiled_stdlib(folder) == compiled
    assert json.loads((folder / stdlib.STAMP).read_text())["python"] == "pyodide"
    with zipfile.ZipFile(compiled) as mine, zipfile.ZipFile(RUNTIME / stdlib.COMPILED) as host:
        assert sorted(mine.namelist()) == sorted(host.namelist())
        pyc = mine.read("json/__init__.pyc")
    assert pyc[:4] == stdlib.PYODIDE_MAGIC
    assert marshal.loads(pyc[16:]).co_filename == "/lib/python312.zip/json/__init__.py"
    fresh = run_in_node_pyodide(COUNT_COMPILES, tmp_path, std_lib=compiled).split()[0]
    assert fresh == "0"


def test_it_is_written_once_and_again_for_another_official_zip(runtime_dir):
    compiled = stdlib.ensure(runtime_dir)
    written = compiled.stat().st_mtime_ns
    assert stdlib.ensure(runtime_dir) == compiled
    assert compiled.stat().st_mtime_ns == written  # not rewritten
    with zipfile.ZipFile(runtime_dir / stdlib.OFFICIAL, "a") as archive:
        archive.writestr("bentodemo/more.py", "MORE = 1\n")
    stdlib.ensure(runtime_dir)
    with zipfile.ZipFile(compiled) as archive:
        assert "bentodemo/more.pyc" in archive.namelist()


def test_a_folder_it_cannot_write_warns_and_leaves_nothing_half_written(runtime_dir):
    (runtime_dir / (stdlib.COMPILED + ".partial")).mkdir()  # the write fails (root ignores modes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert stdlib.ensure(runtime_dir) is None
    assert "make the runtime folder writable" in str(caught[0].message)
    assert not (runtime_dir / stdlib.COMPILED).exists()
    assert stdlib.compiled_stdlib(runtime_dir) is None


def test_the_runtimes_compiled_zip_has_a_pyc_for_each_module():
    compiled = stdlib.compiled_stdlib(RUNTIME)
    assert compiled is not None, "./dev setup compiles the runtime's standard library"
    with zipfile.ZipFile(RUNTIME / stdlib.OFFICIAL) as official:
        sources = {n for n in official.namelist() if n.endswith(".py")}
    with zipfile.ZipFile(compiled) as archive:
        pycs = {n[:-1] for n in archive.namelist() if n.endswith(".pyc")}
    assert pycs == sources  # the stdlib of 0.27.7 has no module that does not compile


COUNT_COMPILES = """
import sys, zipimport
compiled = []
original = zipimport._compile_source
zipimport._compile_source = lambda path, source: compiled.append(path) or original(path, source)
import difflib, fractions, email.message
import asyncio, json
zipped = [m for m in sys.modules.values()
          if type(getattr(m, "__loader__", None)).__name__ == "zipimporter"]
from_pyc = sum(m.__file__.endswith(".pyc") for m in zipped)
f"{len(compiled)} {from_pyc} {len(zipped)} {asyncio.__file__} {json.__file__}"
"""


def test_pyodide_starts_from_the_compiled_zip_and_compiles_nothing(tmp_path):
    compiled = stdlib.compiled_stdlib(RUNTIME)
    assert compiled is not None
    out = run_in_node_pyodide(COUNT_COMPILES, tmp_path, std_lib=compiled).split()
    fresh, from_pyc, zipped = map(int, out[:3])
    assert fresh == 0  # difflib, fractions, email.message: from their pycs
    assert from_pyc == zipped and zipped > 100  # and all that loadPyodide imported
    assert out[3:] == [
        "/lib/python312.zip/asyncio/__init__.pyc",
        "/lib/python312.zip/json/__init__.pyc",
    ]
    # The same imports from the official zip compile each module (twice: CPython 3.12's
    # zipimport compiles once for the spec and once to run it).
    official = run_in_node_pyodide(COUNT_COMPILES, tmp_path).split()
    assert int(official[0]) > 2 * 3 and official[1] == "0"


TRACEBACK_AND_SOURCE = """
import inspect, json, traceback
try:
    json.loads("{")
except ValueError:
    text = traceback.format_exc()
lines = inspect.getsource(json.dumps).splitlines()
line = "obj, end = self.scan_once(s, idx)" in text
where = 'File "/lib/python312.zip/json/decoder.py"' in text
"|".join([str(line), str(where), lines[0]])
"""


def test_tracebacks_and_inspect_read_the_source_beside_the_pyc(tmp_path):
    compiled = stdlib.compiled_stdlib(RUNTIME)
    out = run_in_node_pyodide(TRACEBACK_AND_SOURCE, tmp_path, std_lib=compiled)
    assert out.split("|") == [
        "True",
        "True",
        "def dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True,",
    ]
