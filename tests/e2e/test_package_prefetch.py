"""worker_js/kernel/prefetch.js in headless Chromium: the helper worker fetches the preload's
wheels (and their dependencies, from the lock), passes on only those whose sha256 is the lock's,
inflated, and the worker takes a wheel only if the sha256 is the one Pyodide's own lock gives
(else Pyodide's loader unpacks the bytes it fetched and checked itself).

The page here is a plain static site with the three scripts, two wheels and a lock that gives
pytz a sha256 it does not have (a tampered or stale file); the whole kernel with the prefetch
is tested in test_startup_preload.py."""

import hashlib
import json
import shutil
import zipfile

import pytest

from tests.helpers import ROOT, StaticSite, chromium

pytestmark = pytest.mark.browser

RUNTIME = ROOT / "runtime" / "pyodide"
SIX = "six-1.16.0-py2.py3-none-any.whl"
PYTZ = "pytz-2024.1-py2.py3-none-any.whl"

PREFETCH_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { PackagePrefetch } = await import("./prefetch.js");
  const run = async () => {
    const prefetch = new PackagePrefetch(location.origin + "/", ["six", "pytz"]);
    await prefetch.done;
    return prefetch;
  };
  const first = await run();
  const second = await run();
  const taken = second.take(arguments[0], arguments[1]);
  return {
    planned: [...first.planned].sort(),
    received: first.received,
    failures: first.failures,
    wrong_sha256: first.take(arguments[0], "0".repeat(64)),
    again: second.take(arguments[0], arguments[1]),
    files: taken && taken.map(([path, content]) => [path, content.length]),
  };
})().then(done, (err) => done({ error: String(err) }));
"""


@pytest.fixture
def site(tmp_path):
    if not (RUNTIME / SIX).is_file() or not (RUNTIME / PYTZ).is_file():
        pytest.skip("no runtime (bento runtime assemble)")
    for script in ("prefetch.js", "prefetch_worker.js", "wheel.js"):
        shutil.copy(ROOT / "worker_js" / "kernel" / script, tmp_path / script)
    lock = json.loads((RUNTIME / "pyodide-lock.json").read_text())
    packages = {name: lock["packages"][name] for name in ("six", "pytz")}
    for package in packages.values():
        shutil.copy(RUNTIME / package["file_name"], tmp_path / package["file_name"])
    packages["pytz"] = {**packages["pytz"], "sha256": "ab" * 32}  # not the file's
    (tmp_path / "pyodide-lock.json").write_text(json.dumps({"packages": packages}))
    (tmp_path / "index.html").write_text("<!doctype html><title>prefetch</title>")
    with StaticSite(tmp_path) as served:
        yield served


def test_only_wheels_with_the_locks_sha256_are_passed_on_and_taken(site):
    sha256 = hashlib.sha256((RUNTIME / SIX).read_bytes()).hexdigest()
    with chromium() as driver:
        driver.get(site.url + "/index.html")
        got = driver.execute_async_script(PREFETCH_JS, SIX, sha256)
    assert "error" not in got, got
    assert got["planned"] == ["pytz", "six"], got
    assert got["received"] == 1, got  # six; pytz refused
    [failure] = got["failures"]
    assert failure.startswith(f"{PYTZ}: sha256 ") and "the lock says abab" in failure, failure
    assert got["wrong_sha256"] is None  # the worker's lock disagrees: Pyodide unpacks it
    assert got["again"] is None  # taken once
    with zipfile.ZipFile(RUNTIME / SIX) as wheel:
        expected = [[i.filename, i.file_size] for i in wheel.infolist() if not i.is_dir()]
    assert got["files"] == expected
