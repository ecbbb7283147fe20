"""bento_wasm/browser/stdlib.py in real Pyodide (run by Node.js, Debian's, from the assembled
runtime): a zipped standard library module is compiled once per import (CPython 3.12's
zipimport compiled it twice), kept code is used for the same source only, and a blob that is
damaged, stale or of another Python costs only the speed. The browser side (the Cache API, a
returning visit) is tested in tests/e2e/test_startup_preload.py."""

import json
import shutil

import pytest

from tests.helpers import RUNTIME, run_in_node_pyodide

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (RUNTIME / "pyodide.mjs").is_file(),
    reason="Node.js or the assembled runtime is missing (./dev setup)",
)

# Each case imports colorsys (nothing at boot does) afresh and counts the real compiles.
CASES = """
import json, marshal, sys, zipimport, zlib
from bento_wasm.browser import stdlib

def fresh_import(blob=None):
    stdlib._kept.clear()
    sys.modules.pop("colorsys", None)
    stdlib.install(blob)
    calls = []
    real = stdlib._original
    stdlib._original = lambda path, source: (calls.append(path), real(path, source))[1]
    try:
        import colorsys
        works = colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    finally:
        stdlib._original = real
    return {"compiles": len(calls), "works": works, "file": colorsys.__file__}

def unwrapped():
    sys.modules.pop("colorsys", None)
    calls = []
    real = zipimport._compile_source
    zipimport._compile_source = lambda path, source: (calls.append(path), real(path, source))[1]
    try:
        import colorsys
    finally:
        zipimport._compile_source = real
    return len(calls)

out = {"before": unwrapped()}
out["first"] = fresh_import()
blob = stdlib.dump()
out["dump_again_is_empty"] = stdlib.dump() == b""
out["kept"] = fresh_import(blob)
header = blob[: len(stdlib._HEADER)]
table = marshal.loads(blob[len(header):])
path = next(p for p in table if p.endswith("colorsys.py"))
length, crc, _ = table[path]
bogus = marshal.dumps(compile("raise SystemExit('stale code')", path, "exec"))
out["stale"] = fresh_import(header + marshal.dumps({**table, path: (length, crc ^ 1, bogus)}))
out["other_python"] = fresh_import(b"bento-stdlib\\0" + b"\\0\\0\\r\\n" + blob[len(header):])
out["truncated"] = fresh_import(blob[: len(blob) // 2])
out["damaged_entry"] = fresh_import(header + marshal.dumps({**table, path: (length, crc, b"x")}))
out["not_a_blob"] = fresh_import(b"not code")
json.dumps(out)
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return json.loads(run_in_node_pyodide(CASES, tmp_path_factory.mktemp("stdlib")))


def test_zipimport_compiled_twice_and_now_once(results):
    assert results["before"] == 2, results
    assert results["first"] == {
        "compiles": 1,
        "works": True,
        "file": "/lib/python312.zip/colorsys.py",
    }


def test_kept_code_is_used_for_the_same_source_and_dumped_once(results):
    assert results["dump_again_is_empty"] is True
    assert results["kept"]["compiles"] == 0 and results["kept"]["works"], results["kept"]


@pytest.mark.parametrize(
    "case", ["stale", "other_python", "truncated", "damaged_entry", "not_a_blob"]
)
def test_a_blob_that_does_not_fit_costs_only_the_speed(results, case):
    assert results[case] == {
        "compiles": 1,
        "works": True,
        "file": "/lib/python312.zip/colorsys.py",
    }, case
