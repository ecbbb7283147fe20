"""The built wheel inside a stock Pyodide 0.27.7 page (pytest-pyodide's, not our worker)."""

import pytest
from pytest_pyodide import run_in_pyodide

from tests.helpers import wheel_path

pytestmark = pytest.mark.browser


@run_in_pyodide(packages=["micropip"])
async def _install_by_url(selenium, url):
    import micropip

    await micropip.install(url)
    import bento_wasm
    from bento_wasm import environment

    return bento_wasm.__version__, environment.current().name


def test_micropip_installs_the_wheel_by_url_and_it_imports(selenium_standalone):
    wheel = wheel_path()
    version, env = _install_by_url(
        selenium_standalone, f"{selenium_standalone.base_url}/{wheel.name}"
    )
    assert wheel.name.startswith(f"bento_wasm-{version}-")
    assert env == "pyodide"


@pytest.fixture
def selenium_bento(selenium):
    """A shared Pyodide page with the wheel loaded (by URL, the way Pyodide loads any wheel)."""
    selenium.run_js(f"await pyodide.loadPackage('{selenium.base_url}/{wheel_path().name}')")
    return selenium


@run_in_pyodide
async def test_kernel_runs_cells_inside_pyodide(selenium_bento):
    from bento_wasm.kernel.interpreter import Kernel

    messages = []
    kernel = Kernel(messages.append)
    await kernel.execute("a", "import sys\nprint(sys.platform)\nx = 41\nx + 1")
    await kernel.execute("b", "import asyncio\nawait asyncio.sleep(0)\n[][1]")
    await kernel.execute("c", "x")
    kinds = [(m["type"], m.get("id")) for m in messages]
    assert ("stream", "a") in kinds
    assert messages[0]["text"] == "emscripten\n"
    results = [m for m in messages if m["type"] == "execute_result"]
    assert [r["data"]["text/plain"] for r in results] == ["42", "41"]
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "IndexError"
    assert any("<cell 2>" in line for line in error["traceback"])


@run_in_pyodide
def test_pyodide_fetch_on_the_main_thread_says_to_use_a_worker(selenium_bento):
    import pytest

    from bento_wasm.environment import current
    from bento_wasm.errors import NetworkError

    env = current()
    assert env.name == "pyodide"
    with pytest.raises(NetworkError, match="Web Worker"):
        env.fetch("http://127.0.0.1:9/nothing")


@run_in_pyodide
def test_core_imports_only_the_standard_library(selenium_bento):
    import sys

    before = set(sys.modules)
    import bento_wasm.kernel.interpreter
    import bento_wasm.protocol  # noqa: F401

    added = {m.split(".")[0] for m in set(sys.modules) - before}
    assert "pandas" not in added and "pyarrow" not in added and "numpy" not in added
