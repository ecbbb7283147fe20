"""Startup: bare Pyodide in a worker vs bento-wasm's worker, in one run of one browser.

    python benchmarks/startup.py [--runs 5]

Each run starts a fresh worker and times, from `new Worker`:
- bare: loadPyodide, then `1 + 1` (a plain cell) — the baseline;
- bare, compiled stdlib: the same with the runtime's python_stdlib.compiled.zip;
- bento: BentoKernel.start() (preflight, loadPyodide, wheel install), then `1 + 1`;
- bento pandas ready: the same kernel then runs `import pandas` (the preload is under way).
After that the kernel is left until it is idle again (it keeps the packages' bytecode for the
next visit then, as a user's open tab would; not timed), and shut down.

Visits. All runs share one fresh browser profile. Run 0 is the cold first visit: empty HTTP
cache, no compiled wasm cached, no kept bytecode; it is printed on its own (n=1). Runs 1..N
are returning visits: the HTTP cache revalidates with 304s (the locked package files are
immutable and not even revalidated), Chromium reuses the compiled pyodide.asm.wasm, and the
preloaded packages' bytecode comes from the Cache API (worker_js/kernel/bytecode.js). The
medians, the ratio and `pandas ready / bare` are over the returning visits.

Where the time goes: the worker's User Timing marks (worker_js/kernel/worker.js), logged with
the kernel option `timeline` and printed per phase below (cold | median of returning visits).
Before (df5219e, read by hand from the same marks, 2026-11-30, a loaded machine): loadPyodide
1.4-2.6 s; wheel install and kernel start 0.15-0.24 s; first cell 25-90 ms (the preload's
unzipping ran between its steps); preload 3.2-4.0 s (unpacking in Python ~1.5 s: pytz's 600
files 0.16-0.34 s, pyarrow's 55 MB 0.5-0.8 s; dynlibs ~1.5-1.7 s, libarrow_python.so's 40 MB
instantiated twice, 0.22-0.32 s each); kept bytecode read and written back after it, 0.1-0.3 s;
`import pandas` 1.2-1.5 s from kept bytecode, 2.9-3.1 s compiling. And the returning visits of
this benchmark mostly had *no* kept bytecode: the preload's "preloaded" status said idle while
the `import pandas` cell still ran, so the benchmark shut the kernel down at once and killed the
bytecode keep (after three visits only pandas' bundle was in the cache; the import compiled from
source on every visit and paid the cache read on top): why they were slower relative to bare
than the cold visit. After (this commit; see the README's "Start-up: the order of the worker's
work"): wheel install and kernel start 0.06-0.09 s (the wheel inflated while Pyodide loads, the
kernel's own bytecode kept); first cell ~25 ms (the preload waits for it); preload 2.0-2.3 s
(wheels unpacked by browser/unpack.py, libarrow_python.so once, the kept bytecode written back
meanwhile); `import pandas` 1.1-1.4 s from kept bytecode on every returning visit. Node.js, same
runtime: import from source 2.89 s, from bytecode 1.17 s.

The preload's libraries (issue 17, 2026-11-30, Chromium 156, measured in the worker with a CPU
profile over the DevTools protocol and timers around emscripten's calls, a returning visit):
the preload's ~1.1 s of loading numpy's, pandas' and pyarrow's 78 libraries was about 0.36 s
compiling (WebAssembly.instantiate of bytes; libarrow_python.so 0.12 s), 0.2 s instantiating,
0.06 s reading them from the file system, and the rest emscripten's linking in JavaScript
(relocations, GOT, symbol merging, reportUndefinedSymbols ~0.05 s per loadPackage). Chromium's
wasm code cache would not have helped: compileStreaming of the 78 libraries served as immutable
application/wasm took 434 ms on the first visit and 425-472 ms on returning ones (V8 compiles
them lazily and caches only tiered-up code). Now each library is compiled as unpack.py writes it
(dynlibs.js, on V8's background threads while the rest unpacks) and instantiated from that
module. Same-run pairs at d1db51f (returning-visit medians, branch | main, run alternately):
preload 1.736 | 1.947 s and 1.713 | 1.950 s; import pandas 0.904 | 0.963 s and 0.892 | 0.927 s;
pandas ready 4.570 | 4.914 s and 4.593 | 4.836 s. Tried and dropped: the wheels fetched and
inflated by a helper worker (DecompressionStream) took ~2 s against unpack.py's ~0.7 s, and
started with the boot it slowed the first cell.

Session 6 (2026-11-30): the standard library's modules were compiled twice per import from
Pyodide's zip and pandas' import read dateutil's whole zone tarball (~0.2 s); both fixed
(bento_wasm/browser/stdlib.py, timezones.py; the README's "what a returning visit reuses").
The phase table also prints both workers' start (from `new Worker` to the worker's first line:
bento's loads ten modules, now immutable under a versioned path) and bare's loadPyodide next to
bento's: on this 2-core machine the per-run difference between the two loadPyodide phases
spreads over +-0.2 s around a median of +0.06 s, which is most of what the start-up ratio varies by.

Session 7 (2026-11-30): the runtime's standard library is compiled ahead
(bento_wasm/runtime/stdlib.py: loadPyodide compiled the 112 modules it imports from source, ~1 s
of it) and the preloaded packages' bytecode too (bento_wasm/runtime/bytecode.py: a cold first
visit imports pandas from bytecode); the browser wheel is stored (its inflating put Pyodide's
instantiation ~0.09 s later). Each visit now also starts a third worker, bare Pyodide given the
same compiled standard library (`stdLibURL`): bento against it is bento's own overhead over an
equal runtime (`same_runtime_ratio`), while `ratio` stays bento against the official Pyodide a
JupyterLite kernel or a plain page loads.

Runs alternate bare/bento so machine noise hits both. Each figure is printed as its median with
its spread (IQR, min-max) over the runs, then the last line (medians; ratio of the medians):
startup: bare_first_cell_s=<median> bento_first_cell_s=<median> ratio=<bento/bare> bento_pandas_ready_s=<median> pandas_ready_ratio=<median per-run pandas ready/bare> cold_pandas_ready_ratio=<run 0> bare_compiled_stdlib_s=<median> same_runtime_ratio=<bento/that>
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from tests.helpers import BentoServer, chromium

BARE_JS = """
const done = arguments[arguments.length - 1];
const indexURL = new URL(arguments[0], location.href).href;
const stdLib = arguments.length > 2 ? `stdLibURL: "${new URL(arguments[1], location.href).href}",` : "";
const source = `
  const t0 = performance.now();
  const { loadPyodide } = await import("${indexURL}pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: "${indexURL}", ${stdLib} });
  const load_s = (performance.now() - t0) / 1000;
  const value = pyodide.runPython("1 + 1");
  postMessage({ value, load_s, worker_s: (performance.now() - t0) / 1000 });
`;
const t0 = performance.now();
const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
worker.onmessage = (e) => {
  const first_cell_s = (performance.now() - t0) / 1000;
  worker.terminate();
  done({ ...e.data, first_cell_s, worker_start_s: first_cell_s - e.data.worker_s });
};
worker.onerror = (e) => done({ error: e.message });
"""

BENTO_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const { BentoKernel } = await import("./static/kernel/kernel.js");
  const config = await (await fetch("./config.json")).json();
  const t0 = performance.now();
  const kernel = new BentoKernel({ ...config, timeline: true }); // the worker logs its marks
  const ready = await kernel.start();
  const worker_start_s = (performance.now() - t0) / 1000 - ready.elapsed_s; // before its first line
  const first = await kernel.execute("1 + 1");
  const first_cell_s = (performance.now() - t0) / 1000;
  const pandas = await kernel.execute("import pandas\\npandas.__version__");
  const pandas_ready_s = (performance.now() - t0) / 1000;
  // Not timed: the kernel finishes what a user's open tab would (it keeps the bytecode).
  await new Promise((resolve) => {
    if (kernel.state === "idle") return resolve();
    const timer = setTimeout(resolve, 30000);
    kernel.addEventListener("status", (e) => {
      if (e.detail.state === "idle") { clearTimeout(timer); resolve(); }
    });
  });
  kernel.shutdown();
  return { value: first.outputs[0].data["text/plain"], first_cell_s, pandas_ready_s, worker_start_s,
           pandas: pandas.outputs[0].data["text/plain"] };
})().then(done, (err) => done({ error: err.message }));
"""


# Phases of a bento run, from the worker's User Timing marks (worker_js/kernel/worker.js, logged
# to the console with the boot option `timeline`): name, first mark, last mark (a prefix).
PHASES = (
    ("loadPyodide", None, "loadPyodide done"),
    ("wheel + kernel start", "loadPyodide done", "kernel started"),
    ("first cell", "execute cell-1 start", "execute cell-1 ran"),
    ("preload (loadPackage)", "preload start", "preload done"),
    ("bytecode write-back, after", "preload done", "bytecode restored for"),
    ("import pandas", "execute cell-2 restored", "execute cell-2 ran"),
)
MARK = re.compile(r"bento timeline (\d+\.\d+) ([^\"]+)")


def phases(driver: Any) -> dict[str, float]:
    """The phases of the last bento run, in seconds, from the browser's console log."""
    marks: dict[str, float] = {}
    for entry in driver.get_log("browser"):
        if found := MARK.search(entry["message"]):
            marks.setdefault(found.group(2).strip(), float(found.group(1)))

    def at(prefix: str | None) -> float | None:
        if prefix is None:
            return 0.0
        return next((t for name, t in marks.items() if name.startswith(prefix)), None)

    out = {}
    for name, first, last in PHASES:
        start, end = at(first), at(last)
        if start is not None and end is not None:
            out[name] = end - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare: list[float] = []
    bare_same: list[float] = []  # bare Pyodide given the same compiled standard library
    cold_same = 0.0
    bento: list[float] = []
    pandas_ready: list[float] = []
    cold = (0.0, 0.0, 0.0)
    cold_phases: dict[str, float] = {}
    returning_phases: dict[str, list[float]] = {}
    with BentoServer() as server, chromium() as driver:
        driver.get(server.url + "/bento/?kernel=none")
        index_url, stdlib_url = server.config()["indexURL"], server.config()["stdLibURL"]
        if not stdlib_url:
            raise SystemExit("the runtime has no compiled standard library: run ./dev setup")
        for run in range(args.runs + 1):
            b = driver.execute_async_script(BARE_JS, index_url)
            same = driver.execute_async_script(BARE_JS, index_url, stdlib_url)
            driver.get_log("browser")  # the bare runs': not read
            k = driver.execute_async_script(BENTO_JS)
            for result in (b, same, k):
                if "error" in result:
                    raise SystemExit(f"run {run} failed: {result['error']}")
            timeline = phases(driver)
            timeline["worker start (page to worker)"] = k["worker_start_s"]
            timeline["bare: worker start"] = b["worker_start_s"]
            timeline["bare: loadPyodide"] = b["load_s"]
            timeline["bare, compiled stdlib: loadPyodide"] = same["load_s"]
            assert b["value"] == same["value"] == 2 and k["value"] == "2", (b, same, k)
            label = "cold first visit" if run == 0 else f"returning visit {run}"
            print(
                f"{label}: bare {b['first_cell_s']:.2f} s, bare with the compiled stdlib "
                f"{same['first_cell_s']:.2f} s, bento {k['first_cell_s']:.2f} s, "
                f"bento pandas ready {k['pandas_ready_s']:.2f} s (pandas {k['pandas']})"
            )
            if run == 0:
                cold = (b["first_cell_s"], k["first_cell_s"], k["pandas_ready_s"])
                cold_same = same["first_cell_s"]
                cold_phases = timeline
                continue  # measured apart: it fills the caches for both
            for name, seconds in timeline.items():
                returning_phases.setdefault(name, []).append(seconds)
            bare.append(b["first_cell_s"])
            bare_same.append(same["first_cell_s"])
            bento.append(k["first_cell_s"])
            pandas_ready.append(k["pandas_ready_s"])
    bare_s, bento_s = statistics.median(bare), statistics.median(bento)
    ratios = [k / b for b, k in zip(bare, bento, strict=True)]
    same_ratios = [k / b for b, k in zip(bare_same, bento, strict=True)]
    same_s = statistics.median(bare_same)
    pandas_ratio = [p / b for b, p in zip(bare, pandas_ready, strict=True)]
    cold_ratio = cold[2] / cold[0]
    print(
        f"cold first visit (n=1): bare first cell {cold[0]:.3f} s, bento first cell "
        f"{cold[1]:.3f} s (ratio {cold[1] / cold[0]:.3f}), pandas ready {cold[2]:.3f} s "
        f"= {cold_ratio:.2f}x the bare first cell; bare with the compiled stdlib {cold_same:.3f} s"
    )
    print("bento phases (worker marks): cold first visit | returning visits")
    names = [name for name, _, _ in PHASES]
    names += ["worker start (page to worker)", "bare: worker start", "bare: loadPyodide"]
    names += ["bare, compiled stdlib: loadPyodide"]
    for name in names:
        cold_s = f"{cold_phases[name]:.3f} s" if name in cold_phases else "-"
        back = returning_phases.get(name)
        print(f"  {name:<22} {cold_s:>9} | {spread(back, 's') if back else '-'}")
    print(f"returning visits (n={len(bare)}):")
    print(f"baseline, bare first cell: {spread(bare, 's')}")
    print(f"bento first cell:          {spread(bento, 's')}")
    print(f"ratio per run:             {spread(ratios)}")
    print(f"bare, compiled stdlib:     {spread(bare_same, 's')}")
    print(f"bento / that, per run:     {spread(same_ratios)} (bento's own overhead)")
    print(f"bento pandas ready:        {spread(pandas_ready, 's')}")
    print(f"pandas ready / bare:       {spread(pandas_ratio)}")
    print(
        f"startup: bare_first_cell_s={bare_s:.3f} bento_first_cell_s={bento_s:.3f} "
        f"ratio={bento_s / bare_s:.3f} bento_pandas_ready_s={statistics.median(pandas_ready):.3f} "
        f"pandas_ready_ratio={statistics.median(pandas_ratio):.2f} "
        f"cold_pandas_ready_ratio={cold_ratio:.2f} "
        f"bare_compiled_stdlib_s={same_s:.3f} same_runtime_ratio={bento_s / same_s:.3f}"
    )


if __name__ == "__main__":
    main()
