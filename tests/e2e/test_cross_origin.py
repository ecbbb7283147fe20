"""Every endpoint family from a page on another loopback port, in headless Chromium.

Two real servers: ``api`` (the executor and data API, ``--BentoApp.page_origins`` names the
page server's origin) and ``pages`` (serves the page, worker and runtime; allows no other
origin). A kernel on ``pages`` whose executor is ``api`` runs ``%%sql``, ``%dataframe`` (the
upload's display reaches done), ``@remote`` and ``%%remote``: preflights and answers carry
CORS headers. A kernel on ``api`` whose executor is ``pages`` is refused, and each feature
says which option to set instead of a bare network error.
"""

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, wait_for

pytestmark = pytest.mark.browser

OPTION = "--BentoApp.page_origins="


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
    pages = BentoServer(f"--BentoApp.demo_database={demo}", token="pages-token")
    api = BentoServer(
        f"--BentoApp.demo_database={demo}",
        f"{OPTION}{pages.url}",
        "--BentoApp.upload_throttle_s=0.05",
        token="api-token",
    )
    with pages, api:
        yield pages, api


@pytest.fixture(scope="module")
def driver():
    with chromium() as running:
        yield running


def start(driver, page_server, executor_server):
    kernel = PageKernel(driver, page_server)
    executor = {"url": executor_server.url, "token": executor_server.token}
    started = kernel.start(executor=executor, preload=[])
    assert started["ok"], started
    return kernel


def test_an_allowed_origin_reaches_data_uploads_and_sessions(servers, driver):
    pages, api = servers
    kernel = start(driver, pages, api)
    assert driver.execute_script("return location.origin") == pages.url != api.url
    text = kernel.text("%%sql -o orders\nselect * from orders limit 5")
    assert "orders: 5 rows" in text, text
    kernel.run_ok("%dataframe orders --table cross_origin_copy --mode replace")

    def upload_state():
        updates = [
            m
            for m in driver.execute_script("return window.bento_log")
            if m.get("event") == "output"
        ]
        texts = [str(m.get("data", {}).get("text/plain", "")) for m in updates]
        return next((t for t in texts if "cross_origin_copy" in t and ": done" in t), None)

    wait_for(upload_state, 60, "the upload's display to reach done", lambda: api.tail())
    assert kernel.text("%%sql -o back\nselect count(*) as n from cross_origin_copy\n") != ""
    assert kernel.text("int(back.n[0])") == "5"
    kernel.run_ok(
        "from bento_wasm import remote\n"
        "@remote\ndef platform():\n    import sys\n    return sys.platform"
    )
    assert kernel.text("platform()") == "'linux'"
    assert kernel.text("%%remote\nimport sys\nremote_platform = sys.platform") is not None
    assert kernel.text("remote_platform") == "'linux'"
    assert kernel.text("int(orders.shape[0])") == "5"


def test_a_foreign_origin_is_refused_with_the_option_to_set(servers, driver):
    pages, api = servers
    kernel = start(driver, api, pages)  # a page on api's origin, which pages does not allow
    wanted = f"{OPTION}{api.url}"
    cells = {
        "%%sql": "%%sql -o refused\nselect 1",
        "%dataframe": "import pandas as pd\nd = pd.DataFrame({'x': [1]})\n%dataframe d --table t",
        "@remote": "from bento_wasm import remote\n@remote\ndef f():\n    return 1\nf()",
        "%%remote": "%%remote\ny = 1",
    }
    for what, code in cells.items():
        [error] = kernel.errors(code)
        assert error["ename"] == "ExecutorError", (what, error)
        assert wanted in error["evalue"], (what, error["evalue"])
    assert "refused" not in kernel.text("sorted(k for k in ('refused', 'y') if k in dir())")
