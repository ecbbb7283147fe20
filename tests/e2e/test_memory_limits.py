"""The memory budget at the real limit: the wasm heap grown toward its 4 GiB ceiling.

One dedicated browser and kernel for the whole module (the heap never shrinks, so the
tests run in order and build on each other): per-cell memory events, the probe against
malloc, the threshold warnings in order, an oversized injection refused before any
copy, and a cell that hits the real ceiling leaving a usable kernel. Blocks are big
(256 MiB bytearrays) to keep the module to about a minute.
"""

from __future__ import annotations

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, wait_for

pytestmark = pytest.mark.browser

MiB, GiB = 1 << 20, 1 << 30
CEILING = 4 * GiB - 64 * 1024  # Pyodide 0.27.7 in Chromium (RUNTIME.md)
BUDGET = int(0.75 * CEILING)  # the default budget


@pytest.fixture(scope="module")
def page():
    with BentoServer() as server, chromium() as driver:
        kernel = PageKernel(driver, server)
        started = kernel.start(preload=[])  # the heap holds only what these tests put there
        assert started["ok"], started
        yield kernel


def events(page, kind):
    entries = page.driver.execute_script("return window.bento_log")
    return [e for e in entries if e["event"] == kind]


def memory_event(page, cell_id):
    found = [e for e in events(page, "memory") if e["id"] == cell_id]
    assert len(found) == 1, events(page, "memory")[-3:]
    return found[0]


def last_cell_id(page):
    return page.driver.execute_script("return `cell-${window.kernel._nextId}`")


def stderr_of(outputs):
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == "stderr")


def grow_to(page, fraction):
    """Hold blocks (in ``blocks``) until ``fraction`` of the budget is in use; the outputs."""
    code = (
        "from bento_wasm.memory.budget import active\n"
        "blocks = globals().get('blocks', [])\n"
        f"target = {fraction} * active().limit_bytes\n"
        "while (need := int(target - active().snapshot(exact=True).in_use)) > 0:\n"
        f"    blocks.append(bytearray(min(need, {256 * MiB})))\n"
    )
    return page.run_ok(code)


OTHER_KERNEL_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import("./static/kernel/kernel.js");
  const config = await (await fetch("./config.json")).json();
  const kernel = new BentoKernel({ ...config, preload: [], memory: arguments[0] });
  const events = [];
  kernel.addEventListener("memory", (e) => events.push(e.detail));
  await kernel.start();
  const { outputs } = await kernel.execute("x = 1");
  kernel.shutdown();
  return { outputs, events };
})().then(done, (err) => done({ error: err.message }));
"""


def test_memory_options_are_boot_data_and_a_bad_one_does_not_stop_the_kernel(page):
    good = page.driver.execute_async_script(
        OTHER_KERNEL_JS, {"budget_bytes": "1GiB", "thresholds": [50, 90]}
    )
    [event] = good["events"]
    assert event["budget_bytes"] == GiB and event["thresholds"] == [0.5, 0.9]
    bad = page.driver.execute_async_script(OTHER_KERNEL_JS, {"budget": "1GiB"})
    [event] = bad["events"]
    assert event["budget_bytes"] == BUDGET
    notice = stderr_of(bad["outputs"])
    assert "was ignored" in notice and "unknown memory options ['budget']" in notice


def test_the_page_shows_a_meter_that_updates_after_each_cell(page):
    # The notebook page's meter (worker_js/src/memory.js), following this module's kernel;
    # tests/e2e/test_notebook_page.py checks it with the page's own kernel.
    before, after = page.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const meter = document.getElementById("memory-meter");
        window.bento.memory.attach(window.kernel, () => null);
        (async () => {
          await window.kernel.execute("meter_block = None");
          const before = meter.innerText;
          await window.kernel.execute("meter_block = bytearray(64 * 2**20)");
          return [before, meter.innerText];
        })().then(done, (err) => done([err.message, ""]));
        """
    )
    assert before.startswith("memory ") and " of 3.00 GiB" in before, before
    assert after.startswith("memory ") and after != before, (before, after)


INJECT_JS = """
const done = arguments[arguments.length - 1];
window.kernel.injectArrow(arguments[0], new ArrayBuffer(arguments[1])).then(
  (report) => done({ ok: true, report }),
  (err) => done({ ok: false, ename: err.ename, evalue: err.evalue || err.message }));
"""

EXPORT_INJECT_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const buffer = await window.kernel.exportArrow(arguments[0]);
  return await window.kernel.injectArrow(arguments[1], buffer);
})().then((report) => done({ ok: true, report }), (err) => done({ ok: false, error: String(err) }));
"""

HEAP_CODE = (
    "from bento_wasm.memory.budget import active\n"
    "s = active().snapshot(exact=True)\n"
    "print(s.heap_bytes, s.used_bytes)"
)


def test_each_cell_reports_a_snapshot_that_matches_the_heap(page):
    heap = int(page.text("import pyodide_js\npyodide_js._module.HEAP8.length"))
    event = memory_event(page, last_cell_id(page))
    snapshot = event["snapshot"]
    assert snapshot["heap_bytes"] == heap
    assert snapshot["ceiling_bytes"] == CEILING
    assert event["budget_bytes"] == BUDGET
    assert 0 < snapshot["reserved_bytes"] <= heap
    assert event["thresholds"] == [0.7, 0.85, 0.95]
    # The page adds its own JS heap (performance.memory exists on the page, not in a worker).
    latest = page.driver.execute_script("return window.kernel.memory")
    assert latest["snapshot"]["js_heap_bytes"] > 0


def test_exact_use_follows_malloc_not_the_heap_high_water(page):
    page.run_ok("probe_block = bytearray(300 * 2**20)")
    grew = memory_event(page, last_cell_id(page))
    assert 290 * MiB <= grew["delta_bytes"] <= 320 * MiB
    outputs = page.run_ok("full = %memory\ndel probe_block\nempty = %memory")
    assert stderr_of(outputs) == ""
    used = page.text("print(full.snapshot.used_bytes - empty.snapshot.used_bytes)")
    assert 299 * MiB <= int(used) <= 301 * MiB
    same_heap = page.text("print(full.snapshot.heap_bytes == empty.snapshot.heap_bytes)")
    assert same_heap.strip() == "True"  # the heap never shrinks; the budget sees the free


def test_memory_magic_lists_the_largest_objects(page):
    # One cell: a %line magic must not hide the cell's imports from the package loader.
    text = page.text("import numpy as np\narr = np.ones((1024, 1024))\n%memory --top 3")
    assert "budget" in text and "█" in text
    assert "arr" in text and "8.00 MiB" in text and "ndarray float64" in text


def test_an_arrow_injection_that_fits_is_admitted(page):
    page.run_ok("import pandas as pd, pyarrow\nsmall = pd.DataFrame({'a': range(1000)})")
    done = page.driver.execute_async_script(EXPORT_INJECT_JS, "small", "small_again")
    assert done["ok"], done
    assert page.text("int(small_again['a'].sum())") == str(sum(range(1000)))


def test_warnings_fire_once_per_threshold_in_order(page):
    warnings = []
    for fraction in (0.72, 0.74, 0.87, 0.96):
        outputs = grow_to(page, fraction)
        warnings.append(stderr_of(outputs))
    assert "crossed 70%" in warnings[0]
    assert warnings[1] == ""  # still above 70%: no second warning
    assert "crossed 85%" in warnings[2] and "70%" not in warnings[2].split("crossed")[1]
    assert "crossed 95%" in warnings[3] and "may fail" in warnings[3]
    event = memory_event(page, last_cell_id(page))
    assert event["used_fraction"] >= 0.95 and event["snapshot"]["used_bytes"] is not None


def test_oversized_injection_is_refused_before_any_copy(page):
    grow_to(page, 0.96)  # near the budget (as the warnings test leaves it), also when run alone
    code = (
        "import js, pyodide_js\n"
        "from bento_wasm.browser.memory import copy_into_wasm\n"
        "buffer = js.ArrayBuffer.new(512 * 2**20)\n"
        "heap_before = pyodide_js._module.HEAP8.length\n"
        "try:\n"
        "    injected = copy_into_wasm(buffer, 'a 512 MiB test buffer')\n"
        "except MemoryError as exc:\n"
        "    refused = exc\n"
        "print(type(refused).__name__, refused.requested_bytes, refused.available_bytes)\n"
        "print(pyodide_js._module.HEAP8.length == heap_before, 'injected' in globals())\n"
        "print(refused)"
    )
    lines = page.text(code).splitlines()
    name, requested, available = lines[0].split()
    assert name == "MemoryBudgetExceeded"
    assert int(requested) == 512 * MiB and int(available) < 0.05 * BUDGET
    assert lines[1] == "True False"
    assert "512 MiB" in lines[2] and "--limit" in lines[2] and "%%remote" in lines[2]
    # The same path admits what fits.
    assert page.text("len(copy_into_wasm(js.ArrayBuffer.new(1024), 'small'))") == "1024"


def test_an_oversized_arrow_injection_is_refused_before_any_copy(page):
    # The injection's own modules loaded first (as the earlier tests leave them), and 512 MiB
    # must not fit: the same state when this test runs alone.
    page.run_ok("import pandas, pyarrow, bento_wasm.browser.arrow")
    grow_to(page, 0.96)
    heap_before, used_before = map(int, page.text(HEAP_CODE).split())
    refused = page.driver.execute_async_script(INJECT_JS, "too_big", 512 * MiB)
    assert not refused["ok"] and refused["ename"] == "MemoryBudgetExceeded", refused
    assert "512 MiB" in refused["evalue"] and "--limit" in refused["evalue"]
    heap_after, used_after = map(int, page.text(HEAP_CODE).split())
    assert heap_after == heap_before and abs(used_after - used_before) < 4 * MiB
    assert page.text("print('too_big' in globals())").strip() == "False"


def test_injection_and_the_probe_work_with_the_heap_past_2_gib():
    """Pyodide 0.27.7 cannot make a proxy of a typed array from a call whose C stack lies past
    2 GiB, and its getBuffer turns such an address into a negative offset: the injection path
    and the memory probe never go through either. A kernel of its own, whose pandas and pyarrow
    load only once the heap is past 2 GiB (this failed with 'Unknown typed array type')."""
    with BentoServer() as server, chromium() as driver:
        fresh = PageKernel(driver, server)
        assert fresh.start(preload=[])["ok"]
        grow_to(fresh, 0.96)
        heap, _ = map(int, fresh.text(HEAP_CODE).split())
        assert heap > 2 * GiB
        for _ in range(3):  # where the call's stack lies varies from call to call
            refused = driver.execute_async_script(INJECT_JS, "too_big", 512 * MiB)
            assert refused["ename"] == "MemoryBudgetExceeded", refused
            assert "512.0 MiB for 'too_big'" in refused["evalue"], refused
            bad = driver.execute_async_script(INJECT_JS, "zeros", 64)  # read, refused as such
            assert bad["ename"] == "ArrowError" and "framing is corrupt" in bad["evalue"], bad
        fresh.run_ok("import pandas as pd\nsmall = pd.DataFrame({'a': range(1000)})")
        done = driver.execute_async_script(EXPORT_INJECT_JS, "small", "again")
        assert done["ok"], done
        assert fresh.text("int(again['a'].sum())") == str(sum(range(1000)))


def test_a_cell_that_hits_the_real_ceiling_leaves_a_usable_kernel(page):
    page.run_ok(
        "size = 256 * 2**20\n"
        "while size >= 2**20:\n"
        "    try:\n"
        "        blocks.append(bytearray(size))\n"
        "    except MemoryError:\n"
        "        size //= 2\n"
        "keep = 'still here'"
    )
    result = page.execute("too_much = bytearray(512 * 2**20)")
    assert result["ok"] and result["reply"]["status"] == "error"
    [error] = [o for o in result["outputs"] if o["type"] == "error"]
    assert error["ename"] == "MemoryError"
    notice = stderr_of(result["outputs"])
    assert "ran out of wasm memory" in notice and "variables are intact" in notice
    event = memory_event(page, result["reply"]["id"])
    assert event["snapshot"]["heap_bytes"] > CEILING - 128 * MiB
    # The namespace is intact and the kernel runs cells; freeing makes room again.
    assert page.text("print(keep, 'too_much' in globals())").strip() == "still here False"
    page.run_ok("del blocks\nagain = bytearray(512 * 2**20)\ndel again")
    assert page.text("6 * 7") == "42"
    # the reply can arrive a moment before the worker's idle status
    wait_for(
        lambda: page.driver.execute_script("return window.kernel.state") == "idle",
        10,
        "the kernel to be idle",
    )
    assert events(page, "fatal") == []
