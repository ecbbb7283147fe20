"""JupyterLite's own kernel installs from the bento server's package index: micropip with
``index_urls`` pointing at /bento/pypi/simple on another origin (the index is readable from any
origin), the browser cut off from every host but loopback, so the wheel came through the server
(which fetched it with pip). JupyterLite's own ``%pip`` (piplite) is left alone."""

import pytest

from tests.e2e.test_jupyterlite import START_JS, Lite
from tests.helpers import BentoServer, StaticSite, chromium, wait_for
from tests.jupyterlite_site import build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    site_folder = build()
    cache = tmp_path_factory.mktemp("pypi-cache")
    with StaticSite(site_folder) as site, BentoServer(
        f"--BentoApp.package_cache={cache}"
    ) as server, chromium() as driver:  # fmt: skip
        driver.get(site.url + "/tree/index.html")
        wait_for(
            lambda: driver.execute_script("return !!navigator.serviceWorker.controller"),
            60,
            "JupyterLite's service worker",
        )
        driver.get(site.url + "/tree/index.html")
        started = driver.execute_async_script(START_JS)
        assert started["ok"], started
        yield Lite(driver, server, site)


def test_micropip_in_jupyterlite_installs_from_the_bento_index(lite):
    index = f"{lite.server.url}/bento/pypi/simple"
    lite.run(f"import micropip\nawait micropip.install('tabulate', index_urls=[{index!r}])")
    table = lite.text("import tabulate\nprint(tabulate.tabulate([[1, 2]], headers=['a', 'b']))")
    assert table.splitlines()[:2] == ["  a    b", "---  ---"], table


def test_a_compiled_package_is_not_offered_to_jupyterlite_either(lite):
    index = f"{lite.server.url}/bento/pypi/simple"
    result = lite.run(
        f"import micropip\nawait micropip.install('psutil', index_urls=[{index!r}])", ok=False
    )
    [error] = [o for o in result["outputs"] if o["type"] == "error"]
    assert "psutil" in error["evalue"], error  # micropip's own words: no wheel for psutil
