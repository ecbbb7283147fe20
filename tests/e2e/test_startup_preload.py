"""End to end: the pandas preload in a real page (worker_js/kernel/worker.js, dynlibs.js,
bytecode.js): pyarrow's big library is loaded once, the kernel says busy while a cell runs even
if the preload ends meanwhile, and the bytecode of a visit is kept although the page goes away
as soon as the kernel says idle (benchmarks/startup.py does; a user closing the tab does)."""

import re

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, wait_for

pytestmark = pytest.mark.browser

ARROW_LIB = "/lib/python3.12/site-packages/pyarrow/libarrow_python.so"

# The cell waits (awaiting, so the worker loads packages meanwhile) until the preload is done.
# Runs until the preload is over, and one second more: the preload's news (posted once its
# bytecode is restored too) comes while this cell still runs.
WAIT_FOR_PRELOAD = (
    "import asyncio, pyodide_js\n"
    "for _ in range(1200):\n"
    "    if 'pyarrow' in pyodide_js.loadedPackages.object_keys():\n"
    "        break\n"
    "    await asyncio.sleep(0.1)\n"
    "await asyncio.sleep(1)\n"
    "'waited'"
)

# Like benchmarks/startup.py: import pandas, wait until the kernel says idle, shut it down.
IMPORT_THEN_LEAVE_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const kernel = window.kernel;
  await kernel.execute("import pandas");
  await new Promise((resolve) => {
    if (kernel.state === "idle") return resolve();
    kernel.addEventListener("status", (e) => { if (e.detail.state === "idle") resolve(); });
  });
  kernel.shutdown();
  return (await (await caches.open("bento-bytecode")).keys()).length;
})().then(done, (err) => done(String(err)));
"""


@pytest.fixture(scope="module")
def server():
    with BentoServer() as running:
        yield running


@pytest.fixture
def browser():
    with chromium() as driver:  # a fresh profile each: no bytecode of another test
        yield driver


def visit(browser, server, **options):
    page = PageKernel(browser, server)
    started = page.start(**options)
    assert started["ok"], started
    return page


def statuses(page):
    return [
        e for e in page.driver.execute_script("return window.bento_log") if e["event"] == "status"
    ]


def marks(driver):
    """The worker's timeline marks logged so far (the kernel option ``timeline``)."""
    found = [MARK.search(entry["message"]) for entry in driver.get_log("browser")]
    return [m.group(1).strip() for m in found if m]


MARK = re.compile(r"bento timeline [\d.]+ ([^\"]+)")


def test_pyarrow_loads_its_40_mb_library_once_and_works(browser, server):
    page = PageKernel(browser, server)
    started = page.start(timeline=True)
    assert started["ok"], started
    code = (
        "import pyarrow as pa, pyodide_js, js\n"
        "libs = pyodide_js._module.LDSO.loadedLibsByName\n"
        "by_name = js.Reflect.get(libs, 'libarrow_python.so')\n"
        f"by_path = js.Reflect.get(libs, {ARROW_LIB!r})\n"
        "print(js.Object.is_(by_name, by_path))\n"
        "print(int(pa.table({'a': [1, 2, 3]}).to_pandas().a.sum()))"
    )
    assert page.text(code) == "True\n6\n"
    # unpacked by bento_wasm/browser/unpack.py, recorded as Pyodide records its own
    record = (
        "import sys, importlib.metadata as md\n"
        "d = md.distribution('pandas')\n"
        "print('bento_wasm.browser.unpack' in sys.modules, d.read_text('INSTALLER'),"
        " d.read_text('PYODIDE_SOURCE'), len(d.files), all(f.locate().is_file() for f in d.files))"
    )
    assert page.text(record) == "True pyodide.loadPackage pyodide 396 True\n"
    seen = marks(browser)
    # every library of numpy, pandas and pyarrow instantiated from a module compiled ahead
    [libraries] = [m for m in seen if m.startswith("libraries:")] or ["; ".join(seen)]
    ahead, from_bytes = map(int, re.findall(r"\d+", libraries))
    assert ahead >= 70 and from_bytes == 0, libraries


def test_the_kernel_stays_busy_when_the_preload_ends_during_a_cell(browser, server):
    page = visit(browser, server)
    assert page.text("1 + 1") == "2"  # the preload starts once the first cell is over
    assert page.text(WAIT_FOR_PRELOAD) == "'waited'"
    log = statuses(page)
    [preloaded] = [e for e in log if e["detail"].startswith("preloaded")]
    assert preloaded["state"] == "busy", preloaded  # said "idle" while the cell still ran
    after = log.index(preloaded) + 1
    # idle once the cell is over (its bytecode kept), never between
    ends = wait_for(lambda: [e["state"] for e in statuses(page)[after:]], 30, "the cell's end")
    assert ends == ["idle"], ends


# Completion requests one after another until the preload's news arrives: one is being
# answered when it does (the first loads IPython and jedi, seconds long).
COMPLETE_UNTIL_PRELOADED_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const kernel = window.kernel;
  let preloaded = false;
  kernel.addEventListener("status", (e) => {
    if (e.detail.detail.startsWith("preloaded")) preloaded = true;
  });
  let answered = 0;
  while (!preloaded && answered < 2000) {
    await kernel.complete("import o", 8);
    answered += 1;
  }
  return { answered, state: kernel.state };
})().then(done, (err) => done(String(err)));
"""


def test_the_kernel_stays_idle_when_the_preload_ends_during_a_completion(browser, server):
    page = visit(browser, server)
    assert page.text("1 + 1") == "2"  # the preload starts once the first cell is over
    answer = page.driver.execute_async_script(COMPLETE_UNTIL_PRELOADED_JS)
    assert answer["answered"] >= 1, answer
    # said "busy" when a completion was being answered, and nothing said idle after it: the page
    # then ran Shift+Enter's unfinished block instead of adding a line
    [preloaded] = [e for e in statuses(page) if e["detail"].startswith("preloaded")]
    assert preloaded["state"] == "idle", preloaded
    assert answer["state"] == "idle", answer


def test_the_bytecode_is_kept_although_the_page_leaves_once_idle(browser, server):
    # As from a server that compiled no bundle (another Python): the browser makes its own.
    first = visit(browser, server, bytecodeBundles=[])
    kept = first.driver.execute_async_script(IMPORT_THEN_LEAVE_JS)
    assert kept == 7, kept  # pandas, numpy, pyarrow and four dependencies
    second = visit(browser, server, bytecodeBundles=[])
    detail = wait_for(
        lambda: [e["detail"] for e in statuses(second) if e["detail"].startswith("preloaded")],
        120,
        "the preload",
    )[0]
    assert "(bytecode of 7 packages from an earlier visit)" in detail, detail


KERNEL_KEYS_JS = """
const done = arguments[arguments.length - 1];
caches.open("bento-kernel-bytecode").then((c) => c.keys())
  .then((keys) => done(keys.map((r) => r.url)));
"""

SPOIL_KERNEL_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const cache = await caches.open("bento-kernel-bytecode");
  for (const request of await cache.keys()) await cache.put(request, new Response("not pycs"));
  return (await cache.keys()).length;
})().then(done);
"""

# The pyc flags of a module (PEP 552): 0 compiled here from its source (timestamp-based), 3 a
# checked hash-based pyc written back from the cache.
PYC_FLAGS = (
    "import importlib.util, pathlib\n"
    "spec = importlib.util.find_spec({name!r})\n"
    "pyc = pathlib.Path(importlib.util.cache_from_source(spec.origin))\n"
    "print(pyc.is_file() and int.from_bytes(pyc.read_bytes()[4:8], 'little'))"
)


def test_the_kernel_starts_from_its_own_kept_bytecode(browser, server):
    first = visit(browser, server)
    assert first.text(PYC_FLAGS.format(name="bento_wasm.kernel.interpreter")) == "0\n"
    keys = wait_for(
        lambda: first.driver.execute_async_script(KERNEL_KEYS_JS), 30, "the kernel's bytecode"
    )
    assert len(keys) == 1 and "/bento-bytecode/bento_wasm/" in keys[0], keys
    second = visit(browser, server)  # a reload: a new worker, the same browser profile
    assert second.text(PYC_FLAGS.format(name="bento_wasm.kernel.interpreter")) == "3\n"
    assert second.text("6 * 7") == "42"


def test_a_spoiled_kernel_bytecode_cache_costs_only_the_speed(browser, server):
    first = visit(browser, server)
    first.text("1 + 1")
    wait_for(lambda: first.driver.execute_async_script(KERNEL_KEYS_JS), 30, "the kernel's bytecode")
    assert first.driver.execute_async_script(SPOIL_KERNEL_JS) == 1
    second = visit(browser, server)
    assert second.text(PYC_FLAGS.format(name="bento_wasm.kernel.interpreter")) == "0\n"
    assert second.text("6 * 7") == "42"


def test_the_preload_waits_for_a_first_cell_that_outlasts_its_grace(browser, server):
    """Packages loaded during the first cell would be that cell's (a %pip cell reported them as
    installed by it) and their CPU work would run between its steps."""
    page = visit(browser, server)
    code = (
        "import asyncio, pyodide_js\n"
        "await asyncio.sleep(2)\n"
        "sorted({'six', 'numpy', 'pandas'} & set(pyodide_js.loadedPackages.object_keys()))"
    )
    assert page.text(code) == "[]"
    assert page.text("import pandas\npandas.__version__") == "'2.2.3'"


# Imports colorsys (nothing at boot does) and prints how many times its source was compiled.
COUNT_COMPILES = (
    "from bento_wasm.browser import stdlib\n"
    "calls, real = [], stdlib._original\n"
    "stdlib._original = lambda path, source: (calls.append(path), real(path, source))[1]\n"
    "import colorsys\n"
    "stdlib._original = real\n"
    "print(len(calls), colorsys.rgb_to_hsv(1.0, 0.0, 0.0))"
)

STDLIB_KEYS_JS = """
const done = arguments[arguments.length - 1];
caches.open("bento-stdlib-bytecode").then((c) => c.keys())
  .then((keys) => done(keys.map((r) => r.url)));
"""

SPOIL_STDLIB_JS = SPOIL_KERNEL_JS.replace("bento-kernel-bytecode", "bento-stdlib-bytecode")


def test_the_standard_library_is_compiled_once_and_kept_for_the_next_visit(browser, server):
    """Pyodide's zipped stdlib holds sources, and zipimport compiled each module twice per
    import (bento_wasm/browser/stdlib.py); a returning visit takes the kept code; a spoiled
    cache costs only the speed. With the official zip: a server whose Python could not compile
    the standard library ahead (bento_wasm/runtime/stdlib.py) gives no stdLibURL."""
    first = visit(browser, server, stdLibURL="")
    assert first.text(COUNT_COMPILES) == "1 (0.0, 1.0, 1.0)\n"
    keys = wait_for(
        lambda: first.driver.execute_async_script(STDLIB_KEYS_JS), 30, "the stdlib's bytecode"
    )
    assert len(keys) == 1 and keys[0].endswith("/bento-bytecode/python-stdlib.code"), keys
    second = visit(browser, server, stdLibURL="")  # a reload: a new worker, the same profile
    assert second.text(COUNT_COMPILES) == "0 (0.0, 1.0, 1.0)\n"
    assert second.driver.execute_async_script(SPOIL_STDLIB_JS) == 1
    third = visit(browser, server, stdLibURL="")
    assert third.text(COUNT_COMPILES) == "1 (0.0, 1.0, 1.0)\n"
    assert third.text("import json; json.dumps({'a': 1})") == "'{\"a\": 1}'"
