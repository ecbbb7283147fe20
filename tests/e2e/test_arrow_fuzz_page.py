"""A sample of the Arrow fuzzer's cases (tests/arrow_fuzz.py) injected into the browser.

The worker's pyarrow 18 in WebAssembly reads every 10th of the 5000 cases the CPython
fuzzer reads: none may kill the worker, a refused case binds nothing, and every case the
worker accepts passes the host pyarrow's full validation.
"""

import base64

import pyarrow as pa
import pytest

from tests import arrow_fuzz
from tests.helpers import BentoServer, PageKernel, chromium

pytestmark = pytest.mark.browser

SAMPLE = range(0, 5000, 10)
BATCH = 50

INJECT_ALL_JS = """
const [cases] = arguments;
const done = arguments[arguments.length - 1];
const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
(async () => {
  const outcomes = {};
  for (const [index, b64] of cases) {
    try {
      await window.kernel.injectArrow(`case_${index}`, decode(b64));
      outcomes[index] = "accepted";
    } catch (err) {
      outcomes[index] = err.ename || `raw ${err.message}`;
    }
  }
  return outcomes;
})().then(done, (err) => done({ error: err.message }));
"""


@pytest.fixture(scope="module")
def page():
    with BentoServer() as server, chromium() as driver:
        kernel = PageKernel(driver, server)
        started = kernel.start()
        assert started["ok"], started
        kernel.run_ok("import pandas, pyarrow")
        yield kernel


def host_accepts(data):
    try:
        reader = pa.ipc.open_file(data) if data[:6] == b"ARROW1" else pa.ipc.open_stream(data)
        reader.read_all().validate(full=True)
    except (pa.ArrowException, OSError, ValueError):
        return False
    return True


def test_a_sample_of_fuzzed_inputs_never_kills_the_worker_or_binds_corrupt_data(page):
    counts = {"accepted": 0, "refused": 0}
    indexes = list(SAMPLE)
    for start in range(0, len(indexes), BATCH):
        batch = {i: arrow_fuzz.case(i)[0] for i in indexes[start : start + BATCH]}
        payload = [[i, base64.b64encode(data).decode()] for i, data in batch.items()]
        outcomes = page.driver.execute_async_script(INJECT_ALL_JS, payload)
        assert "error" not in outcomes, outcomes
        # The worker lives, and exactly the accepted cases are bound.
        bound = page.text("sorted(int(n[5:]) for n in globals() if n.startswith('case_'))")
        accepted = sorted(int(i) for i, outcome in outcomes.items() if outcome == "accepted")
        assert bound == str(accepted), (bound, outcomes)
        page.run_ok("for _n in [n for n in globals() if n.startswith('case_')]: del globals()[_n]")
        for index, outcome in outcomes.items():
            data = batch[int(index)]
            if outcome == "accepted":
                assert host_accepts(data), f"case {index} was bound but is corrupt"
                counts["accepted"] += 1
            else:
                assert outcome in ("ArrowError", "MemoryBudgetExceeded"), (index, outcome)
                counts["refused"] += 1
    print(f"arrow fuzz (browser, pyarrow 18.1 in wasm): cases={len(indexes)} {counts}")
    assert counts["accepted"] > len(indexes) // 50 and counts["refused"] > len(indexes) // 2
