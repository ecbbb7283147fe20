"""End to end: a second visit imports pandas from the bytecode the first visit kept in the
browser's Cache API (worker_js/kernel/bytecode.js, bento_wasm/runtime/bytecode.py), and a
cache that holds rubbish costs nothing but the speed-up. Those visits start as from a server
that compiled no bundle (``bytecodeBundles: []``: another Python than 3.12); the last test is
a first visit to one that did."""

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, wait_for

pytestmark = pytest.mark.browser

KEYS_JS = """
const done = arguments[arguments.length - 1];
caches.open("bento-bytecode").then((c) => c.keys()).then((keys) => done(keys.map((r) => r.url)));
"""

SPOIL_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const cache = await caches.open("bento-bytecode");
  for (const request of await cache.keys()) await cache.put(request, new Response("not pycs"));
  return (await cache.keys()).length;
})().then(done);
"""

PYC_OF = (
    "import importlib.util, pathlib, sys\n"
    "spec = importlib.util.find_spec({name!r})\n"
    "pyc = pathlib.Path(importlib.util.cache_from_source(spec.origin))\n"
    "print(pyc.is_file() and int.from_bytes(pyc.read_bytes()[4:8], 'little'))"
)


@pytest.fixture(scope="module")
def server():
    with BentoServer() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def statuses(page):
    return [e["detail"] for e in page.driver.execute_script("return window.bento_log")
            if e["event"] == "status"]  # fmt: skip


def preloaded(page):
    return wait_for(
        lambda: [d for d in statuses(page) if d.startswith("preloaded")], 120, "the preload"
    )[0]


def visit(browser, server, **options):
    page = PageKernel(browser, server)
    started = page.start(**{"bytecodeBundles": [], **options})
    assert started["ok"], started
    return page


def test_the_second_visit_imports_pandas_from_the_kept_bytecode(browser, server):
    first = visit(browser, server)
    assert "earlier visit" not in preloaded(first)
    assert first.text(PYC_OF.format(name="pandas")) == "False\n"  # nothing kept yet
    assert first.text("import pandas\npandas.__version__") == "'2.2.3'"
    # pandas, numpy, pyarrow and their four dependencies, each under its wheel's sha256
    keys = wait_for(
        lambda: (keys := first.driver.execute_async_script(KEYS_JS)) and len(keys) == 7 and keys,
        30,
        "the kept bytecode",
    )
    wheels = sorted(k.rsplit("/", 1)[1] for k in keys)
    assert "pandas-2.2.3-cp312-cp312-pyodide_2024_0_wasm32.whl.pycs" in wheels, wheels
    assert any(w.startswith("pyarrow-18.1.0") for w in wheels), wheels

    second = visit(browser, server)  # a reload: a new worker, the same browser profile
    assert "(bytecode of 7 packages from an earlier visit)" in preloaded(second)
    # Restored before any import: hash-based pycs (flags 0b11) of the package's own sources.
    assert second.text(PYC_OF.format(name="pandas")) == "3\n"
    assert second.text(PYC_OF.format(name="six")) == "3\n"  # a top-level module, not a package
    # A source that differs from the one the pyc was compiled from wins over the pyc.
    second.run_ok(
        "import importlib.util, pathlib\n"
        "six_py = pathlib.Path(importlib.util.find_spec('six').origin)\n"
        "six_py.write_text(six_py.read_text() + '\\nBENTO_EDIT = 1\\n')"
    )
    assert second.text("import six\nsix.BENTO_EDIT") == "1"
    frame = "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\nint(df.a.sum())"
    assert second.text(frame) == "6"


def test_a_spoiled_cache_is_ignored_and_pandas_still_imports(browser, server):
    page = visit(browser, server)
    page.text("1 + 1")
    assert page.driver.execute_async_script(SPOIL_JS) > 0
    again = visit(browser, server)
    assert "earlier visit" not in preloaded(again)
    assert again.text("import pandas as pd\nint(pd.Series([1, 2]).sum())") == "3"


def test_a_first_visit_imports_pandas_from_the_bytecode_the_server_compiled(server):
    """The server compiled the preload's packages ahead (bento_wasm/runtime/bytecode.py
    ensure): a first visit, with an empty cache, restores their bytecode before any import
    and keeps it for the next visit."""
    served = server.config()["bytecodeBundles"]
    assert len(served) == 7 and any(w.startswith("pandas-2.2.3") for w in served), served
    with chromium() as fresh:  # a new profile: nothing kept by any visit
        first = PageKernel(fresh, server)
        assert first.start()["ok"]
        assert "(bytecode of 7 packages compiled by the server)" in preloaded(first)
        assert first.text(PYC_OF.format(name="pandas")) == "3\n"  # before the first import
        assert first.text("import pandas\npandas.__version__") == "'2.2.3'"
        assert len(fresh.execute_async_script(KEYS_JS)) == 7  # kept for the next visit
        second = PageKernel(fresh, server)
        assert second.start()["ok"]
        assert "(bytecode of 7 packages from an earlier visit)" in preloaded(second)
