"""The static handlers' caching headers: validators everywhere, immutable only for the package
files a runtime's pyodide-lock.json names (bento_wasm/server/static.py)."""

import json
import os
import shutil
import urllib.error
import urllib.request

import pytest

from bento_wasm.server.static import IMMUTABLE, locked_files
from tests.helpers import RUNTIME, BentoServer

PANDAS = "pandas-2.2.3-cp312-cp312-pyodide_2024_0_wasm32.whl"


@pytest.fixture(scope="module")
def server():
    with BentoServer() as running:
        yield running


def get(url, **headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


def test_locked_package_files_are_immutable_and_the_rest_revalidates(server):
    base = server.url + "/bento/static/pyodide/"
    status, headers = get(base + PANDAS)
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    for name in ("pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json", "pyodide.mjs"):
        status, headers = get(base + name)
        assert status == 200 and headers["Cache-Control"] == "no-cache", name
        # a returning visit revalidates: the same validator answers 304 without the body
        assert get(base + name, **{"If-None-Match": headers["Etag"]})[0] == 304, name
    status, headers = get(server.url + "/bento/static/kernel/worker.js")
    assert headers["Cache-Control"] == "no-cache"
    wheel = server.config()["wheelURL"]
    assert get(server.url + wheel)[1]["Cache-Control"] == "no-cache"  # rebuilt under one name


def test_the_lock_is_read_again_when_it_changes_and_a_bad_lock_makes_nothing_immutable(tmp_path):
    assert locked_files(tmp_path) == frozenset()  # no lock
    lock = json.loads((RUNTIME / "pyodide-lock.json").read_text())
    assert PANDAS in locked_files(RUNTIME)
    folder = tmp_path / "runtime"
    folder.mkdir()
    shutil.copy(RUNTIME / "pyodide-lock.json", folder)
    assert PANDAS in locked_files(folder)
    lock["packages"] = {"pandas": {**lock["packages"]["pandas"], "file_name": "other.whl"}}
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))

    os.utime(folder / "pyodide-lock.json", (1, 1))  # a different mtime, whatever the clock
    assert locked_files(folder) == frozenset({"other.whl"})
    (folder / "pyodide-lock.json").write_text("{not json")
    os.utime(folder / "pyodide-lock.json", (2, 2))
    assert locked_files(folder) == frozenset()
