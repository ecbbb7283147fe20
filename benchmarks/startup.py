"""Startup: bare Pyodide in a worker vs bento-wasm's worker, in one run of one browser.

    python benchmarks/startup.py [--runs 5]

Each run starts a fresh worker and times, from `new Worker`:
- bare: loadPyodide, then `1 + 1` (a plain cell) — the baseline;
- bento: BentoKernel.start() (preflight, loadPyodide, wheel install), then `1 + 1`;
- bento pandas ready: the same kernel then runs `import pandas` (the preload is under way).
Runs alternate bare/bento so machine noise hits both. Each figure is printed as its median with
its spread (IQR, min-max) over the runs, then the last line (medians; ratio of the medians):
startup: bare_first_cell_s=<median> bento_first_cell_s=<median> ratio=<bento/bare> bento_pandas_ready_s=<median>
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from tests.helpers import BentoServer, chromium

BARE_JS = """
const done = arguments[arguments.length - 1];
const indexURL = new URL(arguments[0], location.href).href;
const source = `
  const t0 = performance.now();
  const { loadPyodide } = await import("${indexURL}pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: "${indexURL}" });
  const value = pyodide.runPython("1 + 1");
  postMessage({ value, worker_s: (performance.now() - t0) / 1000 });
`;
const t0 = performance.now();
const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
worker.onmessage = (e) => { worker.terminate(); done({ ...e.data, first_cell_s: (performance.now() - t0) / 1000 }); };
worker.onerror = (e) => done({ error: e.message });
"""

BENTO_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import("./static/kernel/kernel.js");
  const config = await (await fetch("./config.json")).json();
  const t0 = performance.now();
  const kernel = new BentoKernel(config);
  await kernel.start();
  const first = await kernel.execute("1 + 1");
  const first_cell_s = (performance.now() - t0) / 1000;
  const pandas = await kernel.execute("import pandas\\npandas.__version__");
  const pandas_ready_s = (performance.now() - t0) / 1000;
  kernel.shutdown();
  return { value: first.outputs[0].data["text/plain"], first_cell_s, pandas_ready_s,
           pandas: pandas.outputs[0].data["text/plain"] };
})().then(done, (err) => done({ error: err.message }));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare: list[float] = []
    bento: list[float] = []
    pandas_ready: list[float] = []
    with BentoServer() as server, chromium() as driver:
        driver.get(server.url + "/bento/?kernel=none")
        index_url = server.config()["indexURL"]
        for run in range(args.runs + 1):
            b = driver.execute_async_script(BARE_JS, index_url)
            k = driver.execute_async_script(BENTO_JS)
            for result in (b, k):
                if "error" in result:
                    raise SystemExit(f"run {run} failed: {result['error']}")
            assert b["value"] == 2 and k["value"] == "2", (b, k)
            label = "warm-up" if run == 0 else f"run {run}"
            print(
                f"{label}: bare {b['first_cell_s']:.2f} s, bento {k['first_cell_s']:.2f} s, "
                f"bento pandas ready {k['pandas_ready_s']:.2f} s (pandas {k['pandas']})"
            )
            if run == 0:
                continue  # the first start fills the HTTP cache for both
            bare.append(b["first_cell_s"])
            bento.append(k["first_cell_s"])
            pandas_ready.append(k["pandas_ready_s"])
    bare_s, bento_s = statistics.median(bare), statistics.median(bento)
    ratios = [k / b for b, k in zip(bare, bento, strict=True)]
    pandas_ratio = [p / b for b, p in zip(bare, pandas_ready, strict=True)]
    print(f"baseline, bare first cell: {spread(bare, 's')}")
    print(f"bento first cell:          {spread(bento, 's')}")
    print(f"ratio per run:             {spread(ratios)}")
    print(f"bento pandas ready:        {spread(pandas_ready, 's')}")
    print(f"pandas ready / bare:       {spread(pandas_ratio)}")
    print(
        f"startup: bare_first_cell_s={bare_s:.3f} bento_first_cell_s={bento_s:.3f} "
        f"ratio={bento_s / bare_s:.3f} bento_pandas_ready_s={statistics.median(pandas_ready):.3f}"
    )


if __name__ == "__main__":
    main()
