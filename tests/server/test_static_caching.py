"""The static handlers' caching headers: validators everywhere, immutable only for the package
files a runtime's pyodide-lock.json names (bento_wasm/server/static.py)."""

import json
import os
import shutil
import urllib.error
import urllib.request

import pytest

from bento_wasm.server.static import IMMUTABLE, files_version, locked_files
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


def test_the_worker_is_served_immutable_under_its_version_and_a_stale_version_revalidates(server):
    """The config names the worker's scripts under a digest of their files: a returning visit
    starts the worker with no round trip per module; a page from before an upgrade (another
    digest) gets the current files, revalidated, so no cache keeps them under the old name."""
    config = server.config()
    worker, protocol = config["workerURL"], config["protocolURL"]
    assert worker.rsplit("/", 2)[1].startswith("v-") and worker.endswith("/worker.js"), worker
    assert protocol.rsplit("/", 1)[0] == worker.rsplit("/", 1)[0], (worker, protocol)
    status, headers = get(server.url + worker)
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    assert "javascript" in headers["Content-Type"], headers["Content-Type"]
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    module = worker.replace("worker.js", "protocol.js")  # what worker.js imports, beside it
    assert get(server.url + module)[1]["Cache-Control"] == IMMUTABLE
    status, headers = get(server.url + protocol)
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    with urllib.request.urlopen(server.url + protocol) as response:
        assert json.loads(response.read())["name"] == "bento-wasm worker protocol"
    request = urllib.request.Request(server.url + worker, method="HEAD")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == IMMUTABLE
    stale = worker.replace(worker.rsplit("/", 2)[1], "v-0123456789abcdef")
    status, headers = get(server.url + stale)
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert get(server.url + stale.replace("worker.js", "no-such.js"))[0] == 404


def test_the_version_follows_the_files(tmp_path):
    (tmp_path / "worker.js").write_text("one")
    (tmp_path / "protocol.json").write_text("{}")
    first = files_version(tmp_path / "worker.js", tmp_path / "protocol.json")
    assert files_version(tmp_path, tmp_path / "protocol.json") != first  # another set of files
    assert files_version(tmp_path / "worker.js", tmp_path / "protocol.json") == first
    (tmp_path / "worker.js").write_text("two")
    os.utime(tmp_path / "worker.js", (1, 1))
    assert files_version(tmp_path / "worker.js", tmp_path / "protocol.json") != first
