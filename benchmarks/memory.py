"""Memory monitor: per-cell overhead against the same cells without it, in one run of one browser.

    python benchmarks/memory.py [--cells 40]

Two kernels in one page, both with pandas and numpy imported (a realistic heap: it makes
malloc's statistics walk many chunks): one with the memory monitor (the default), one
booted with ``memory: {enabled: false}``. The same small cells run alternately on both;
each reply's ``duration_ms`` (measured in Python, hooks and the memory message
included) gives the per-cell time. Medians. Also measured, in the monitored kernel:
- ``snapshot_ms``: one exact snapshot (heap size, break, and malloc's free bytes via
  mallinfo), what ``%memory``, a tight admission and a near-threshold cell pay;
- the cheap snapshot (heap size and break only) that a cell far from the thresholds pays;
- the per-cell overhead near the limit (a budget so small that every cell takes exact
  snapshots).
Cell times are printed as medians with their spread (IQR, min-max); the snapshot costs are
medians of 25, with their spread too. Last line: memory: overhead_ms_per_cell=<median difference> snapshot_ms=<exact snapshot median>
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from tests.helpers import BentoServer, chromium

SETUP = "import pandas as pd, numpy as np\ndf = pd.DataFrame({'a': np.arange(100_000)})"
CELLS = ["x = 1", "total = sum(range(1000))", "y = [i * i for i in range(200)]\nlen(y)"]

RUN_JS = """
const done = arguments[arguments.length - 1];
const [setup, cells, rounds] = [arguments[0], arguments[1], arguments[2]];
(async () => {
  const { BentoKernel } = await import("./static/kernel/kernel.js");
  const config = await (await fetch("./config.json")).json();
  const kernels = {
    monitored: new BentoKernel({ ...config, preload: [] }),
    bare: new BentoKernel({ ...config, preload: [], memory: { enabled: false } }),
  };
  window.kernels = kernels;
  const times = { monitored: [], bare: [] };
  for (const [name, kernel] of Object.entries(kernels)) {
    await kernel.start();
    const r = await kernel.execute(setup);
    if (r.reply.status !== "ok") throw new Error(`${name} setup: ${JSON.stringify(r.outputs)}`);
  }
  for (let round = 0; round < rounds; round++) {
    for (const code of cells) {
      for (const name of round % 2 ? ["bare", "monitored"] : ["monitored", "bare"]) {
        const r = await kernels[name].execute(code);
        if (r.reply.status !== "ok") throw new Error(`${name}: ${JSON.stringify(r.outputs)}`);
        if (round > 0) times[name].push(r.reply.duration_ms);
      }
    }
  }
  return times;
})().then(done, (err) => done({ error: err.message }));
"""

PROBE_CODE = """
import json, time
from bento_wasm.memory.budget import active
monitor = active()
def costs_ms(exact, n=25):
    costs = []
    for _ in range(n):
        t0 = time.perf_counter()
        monitor.snapshot(exact=exact)
        costs.append((time.perf_counter() - t0) * 1000)
    return costs
print(json.dumps([costs_ms(True), costs_ms(False)]))
"""

NEAR_LIMIT_JS = """
const done = arguments[arguments.length - 1];
const [cells, rounds] = [arguments[0], arguments[1]];
(async () => {
  const kernel = window.kernels.monitored;
  await kernel.execute("%memory --budget 32MiB");
  const times = [];
  for (let round = 0; round < rounds; round++) {
    for (const code of cells) {
      const r = await kernel.execute(code);
      if (round > 0) times.push(r.reply.duration_ms);
    }
  }
  return times;
})().then(done, (err) => done({ error: err.message }));
"""

EXECUTE_JS = """
const done = arguments[arguments.length - 1];
window.kernels.monitored.execute(arguments[0]).then((r) => done(r.outputs), (e) => done(e.message));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=60, help="cells per kernel")
    args = parser.parse_args()
    rounds = max(2, args.cells // len(CELLS) + 1)
    with BentoServer() as server, chromium() as driver:
        driver.get(server.url + "/bento/?kernel=none")
        times = driver.execute_async_script(RUN_JS, SETUP, CELLS, rounds)
        if "error" in times:
            raise SystemExit(f"benchmark failed: {times['error']}")
        outputs = driver.execute_async_script(EXECUTE_JS, PROBE_CODE)
        exact, cheap = json.loads(outputs[0]["text"])
        exact_ms = statistics.median(exact)
        near = driver.execute_async_script(NEAR_LIMIT_JS, CELLS, rounds)
        if isinstance(near, dict):
            raise SystemExit(f"benchmark failed: {near['error']}")
    monitored, bare = statistics.median(times["monitored"]), statistics.median(times["bare"])
    print(f"cells per kernel: {len(times['bare'])} (pandas and numpy imported in both)")
    print(f"baseline, without monitor: {spread(times['bare'], 'ms per cell')} (duration_ms)")
    print(f"with monitor:              {spread(times['monitored'], 'ms per cell')}")
    print(f"near the limit (exact snapshots every cell): {spread(near, 'ms per cell')}")
    print(f"snapshot, cheap (heap, break): {spread(cheap, 'ms')}")
    print(f"snapshot, exact (+ mallinfo):  {spread(exact, 'ms')}")
    print(f"memory: overhead_ms_per_cell={monitored - bare:.3f} snapshot_ms={exact_ms:.3f}")


if __name__ == "__main__":
    main()
