"""The browser wheel is a stored zip (bento_wasm/server/browser_wheel.py): the worker reads a
stored entry's bytes in place instead of inflating 118 files during loadPyodide. Both ways it is
made are checked: ``./dev wheel`` (a checkout's wheels/) and a pip-installed server's own."""

import zipfile

from bento_wasm.server.browser_wheel import ensure_browser_wheel, store
from bento_wasm.server.static import latest_wheel
from tests.helpers import ROOT


def entries(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return {
            i.filename: (i.compress_type, i.date_time, archive.read(i)) for i in archive.infolist()
        }


def test_store_keeps_every_name_date_and_content_and_stores_them(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        dated = zipfile.ZipInfo("demo/__init__.py", (2020, 5, 17, 10, 0, 0))
        archive.writestr(dated, "x = 1\n" * 500, zipfile.ZIP_DEFLATED)
        archive.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,,\n")
    before = entries(wheel)
    store(wheel)
    after = entries(wheel)
    assert {n: (d, c) for n, (_, d, c) in after.items()} == {
        n: (d, c) for n, (_, d, c) in before.items()
    }
    assert {t for t, _, _ in after.values()} == {zipfile.ZIP_STORED}
    assert before["demo/__init__.py"][0] == zipfile.ZIP_DEFLATED  # it was not stored already
    assert not list(tmp_path.glob("*.partial"))


def test_the_checkouts_browser_wheel_is_stored():
    wheel = latest_wheel(ROOT / "wheels")
    assert wheel is not None, "no wheel in wheels/: run ./dev wheel"
    found = entries(wheel)
    assert "bento_wasm/browser/worker.py" in found
    assert {t for t, _, _ in found.values()} == {zipfile.ZIP_STORED}


def test_a_pip_installed_servers_browser_wheel_is_stored(tmp_path):
    wheel = ensure_browser_wheel(tmp_path)
    found = entries(wheel)
    assert b"def runtime_wheels_for" in found["bento_wasm/browser/worker.py"][2]
    assert {t for t, _, _ in found.values()} == {zipfile.ZIP_STORED}
    with zipfile.ZipFile(wheel) as archive:
        assert archive.testzip() is None
