"""Arrow injection: JS bytes -> pandas DataFrame, by Arrow vs JSON vs CSV vs a bare copy.

    python benchmarks/arrow.py [--mib 100] [--runs 11]

Two datasets of about 100 MiB each (as Arrow IPC), written on the host with pyarrow:
numeric (four float64 columns) and mixed (strings, a dictionary column, floats and ints
with nulls, timestamps with and without time zone and nulls, booleans). The page fetches
each file into an ArrayBuffer (not timed), then times, from the page, until the
DataFrame is bound in the worker:

- arrow:  kernel.injectArrow(name, buffer): transfer, one copy into wasm memory, read
          (one record batch; `arrow_batches`: the same in 512 Ki-row batches, printed too).
- json:   the same data as columnar JSON text: kernel.injectBytes + one cell
          `pd.DataFrame(json.loads(...))` (+ the timestamp parsing the dtypes need).
- csv:    the same data as CSV: kernel.injectBytes + `pd.read_csv(...)` (C engine).
- memcpy: kernel.injectBytes of the Arrow bytes: transfer + one copy, no parsing;
          the physical baseline.

MiB/s is the dataset's Arrow size over the time (the same numerator for every format).
Arrow and memcpy: median of --runs, each printed with its spread (IQR, min-max) and the
per-run ratio to memcpy (the baseline, measured in the same run); their runs alternate (run i
of each side by side, the first of the pair taking turns: until issue 17's last session all
arrow runs came first, then all memcpy runs, and a ~27 ms measurement drifted between the two
sets by more than the difference measured), 11 by default (each takes ~0.1 s); JSON and CSV:
one run each (they take seconds). Last line:
arrow: numeric_mibps=<..> mixed_mibps=<..> json_mibps=<..> csv_mibps=<..> memcpy_mibps=<..> ratio_vs_json=<numeric/json>
(json, csv and memcpy on the numeric dataset; the mixed figures are printed above it).

    python benchmarks/arrow.py --profile [--runs 9]

prints where one read of the mixed dataset goes, step by step inside the worker (bento_wasm's
own functions over a landing filled untimed), beside injectArrow and injectBytes timed from
the page. 2026-11-30, 2.2 M rows, 100.8 MiB, median of 9 each, both profiles minutes apart
in one session (load average 2.5-2.8; two other developers' tests on the same 2 cores), ms:

    step                                          before (e62c439)       after (issue 17.4)
    injectArrow, whole, from the page                  97.2                   57.7
    injectBytes (transfer + the one copy: the floor)   24.2                   31.8 (noise)
    framing walk, open_stream + read_all                0.6                    0.8
    validate name (string offsets, numpy, one pass)     5.0                    4.4
    validate kind (dictionary indices)        pyarrow full 5.0      numpy max 3.0
    validate the other five columns                     0.2                    0.2
    types.normalise + frames.plan                       1.0                    1.2
    name (string -> string[pyarrow], a view)            0.9                    1.0
    kind (dictionary -> category)              to_pandas 9.1          built 1.8
    value, count (nulls -> Float64, Int64)       2.5 + 2.3              1.3 + 1.4
    ts (timestamp tz -> datetime64[ms, UTC], a view)    1.2                    1.4
    ts_nulls (-> datetime64[ms], NaT at nulls)  fill_null 8.7 + 0.5  built 7.5, in place
    flag (bool -> bool)                        to_pandas 2.8          built 0.7
    = read_ipc, whole                                  40.5                   27.5

pyarrow's own to_pandas of the built columns, for scale: value, count and ts_nulls ~80 ms each
(and other dtypes than the README's: float64 with NaN for nulls), kind 12.8, flag 3.1. In a
landing (an injection; bytes passed to read_ipc are never written) ts_nulls is filled in place
and stays a view: 5 of 7 columns zero-copy (was 4), the admitted conversion bytes 20 MiB less.
What is left: the copy into wasm memory (the floor, ~40% of the injection), the string
offsets and dictionary index checks that keep corrupt input out (~7 ms), the NaT positions
(unpacking the validity bits, np.flatnonzero, one scattered store) and ~4 ms between the page
and Python. Interleaved in one session (e62c439's wheel and this one alternately, 7 runs each,
load 6-7): mixed 832, 1122, 734 MiB/s before; 1426, 1662, 1456 after (memcpy 1139-4135 MiB/s).
Whole benchmark after, three runs at load 1.7-2.2 (14:35-14:46 UTC): mixed_mibps 1962, 1577,
2110 (memcpy 4644, 4298, 4483 in the same runs); numeric 4155, 3809, 4102 against memcpy 4811,
4988, 4220 (per-run-pair ratio medians 0.86, 0.80, 0.85; the numeric path is unchanged).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.stats import spread
from tests.helpers import BentoServer, DataServer, PageKernel, chromium

CACHE = Path.home() / ".cache" / "bento-wasm" / "arrow-bench"
DATA_VERSION = 1  # bump when the generated data changes
WORDS = ["alpha", "beta", "gamma", "delta-epsilon", "zeta", "eta theta iota", "kappa", "λ-mu"]

MEASURE_JS = """
const [cases, runs] = arguments;  // [{kind, url, parse}]: their runs alternate
const done = arguments[arguments.length - 1];
(async () => {
  const kernel = window.kernel;
  const sources = [];
  for (const c of cases) sources.push(await (await fetch(c.url)).arrayBuffer());
  const results = cases.map((c, j) => ({ times: [], bytes: sources[j].byteLength, report: null }));
  for (let i = 0; i < runs; i++) {
    const order = cases.map((c, j) => j);
    if (i % 2) order.reverse();  // neither always goes first
    for (const j of order) {
      const { kind, parse } = cases[j];
      const copy = sources[j].slice(0);  // not timed: the transfer detaches it
      const t0 = performance.now();
      if (kind === "arrow") {
        results[j].report = await kernel.injectArrow("df", copy);
      } else {
        results[j].report = await kernel.injectBytes("raw", copy);
        if (parse) {
          const { reply, outputs } = await kernel.execute(parse);
          if (reply.status !== "ok") throw new Error(JSON.stringify(outputs));
        }
      }
      results[j].times.push((performance.now() - t0) / 1000);
      await kernel.execute("df = raw = None");
    }
  }
  return results;
})().then(done, (err) => done({ error: err.message }));
"""

INJECT_RAW_JS = """
const [url] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  await window.kernel.injectBytes("raw", await (await fetch(url)).arrayBuffer());
})().then(() => done(null), (err) => done(err.message));
"""

JSON_PARSE = {
    "numeric": "import json, pandas as pd\ndf = pd.DataFrame(json.loads(bytes(raw)))",
    "mixed": (
        "import json, pandas as pd\n"
        "df = pd.DataFrame(json.loads(bytes(raw)))\n"
        "df['ts'] = pd.to_datetime(df['ts'], unit='ms', utc=True)\n"
        "df['ts_nulls'] = pd.to_datetime(df['ts_nulls'], unit='ms')\n"
        "df['kind'] = df['kind'].astype('category')"
    ),
}
CSV_PARSE = {
    "numeric": "import io, pandas as pd\ndf = pd.read_csv(io.BytesIO(raw))",
    "mixed": (
        "import io, pandas as pd\n"
        "df = pd.read_csv(io.BytesIO(raw), dtype={'kind': 'category', 'count': 'Int64'},"
        " parse_dates=['ts', 'ts_nulls'])"
    ),
}


def numeric_table(mib: int) -> pa.Table:
    rows = mib * 2**20 // 32
    rng = np.random.default_rng(1)
    return pa.table({f"f{i}": rng.random(rows) for i in range(4)})


def mixed_table(mib: int) -> pa.Table:
    rng = np.random.default_rng(2)
    rows = mib * 2**20 // 47
    nulls = rng.random(rows) < 0.1
    ms = rng.integers(1_600_000_000_000, 1_700_000_000_000, rows)
    return pa.table(
        {
            "name": pa.array(np.array(WORDS, dtype=object)[rng.integers(0, len(WORDS), rows)]),
            "kind": pa.array(
                np.array(WORDS[:5], dtype=object)[rng.integers(0, 5, rows)]
            ).dictionary_encode(),
            "value": pa.array(rng.random(rows), mask=nulls),
            "count": pa.array(rng.integers(0, 10_000, rows), mask=nulls),
            "ts": pa.array(ms, pa.timestamp("ms", tz="UTC")),
            "ts_nulls": pa.array(ms[::-1].copy(), pa.timestamp("ms"), mask=nulls[::-1].copy()),
            "flag": pa.array(rng.random(rows) < 0.5),
        }
    )


# --profile: one mixed read, step by step, inside the worker (bento_wasm's own functions over
# a Landing filled from the injected bytes, untimed). Per built column, pyarrow's to_pandas of
# that column alone is timed beside it (what it replaced).
PROFILE_CELL = """
import json, statistics, time
import pyarrow as pa
from bento_wasm.arrow import columns, frames, framing, ipc, types
steps = {}
def timed(label, call):
    started = time.perf_counter()
    result = call()
    steps.setdefault(label, []).append((time.perf_counter() - started) * 1000)
    return result
source = memoryview(pa.py_buffer(raw)).cast("B")
for _ in range(RUNS):
    landing = ipc.Landing(len(source))
    landing.view()[: len(source)] = source
    landing.size = len(source)
    buffer = landing.filled()
    timed("framing walk", lambda: framing.check(memoryview(buffer)))
    table = timed("open_stream + read_all", lambda: pa.ipc.open_stream(buffer).read_all())
    timed("validate (structure)", table.validate)
    for f, column in zip(table.schema, table.columns):
        check = {"string": lambda: ipc._check_offsets(column, "int32")}.get(str(f.type))
        if pa.types.is_dictionary(f.type):
            check = lambda: ipc._check_indices(column)
        timed(f"validate {f.name} ({f.type})", check or (lambda: column.validate(full=True)))
    table = timed("types.normalise", lambda: types.normalise(table))
    plan = timed("frames.plan", lambda: frames.plan(table))
    memory = columns.Memory(landing.view()[: landing.size], buffer.address, table)
    for i, f in enumerate(table.schema):
        chunk = table.column(i).chunk(0)
        alone = table.select([i])
        if i in plan.built:
            timed(f"pyarrow's own to_pandas of {f.name}", lambda: alone.to_pandas(split_blocks=True))
            timed(f"build {f.name} ({f.type})", lambda: columns.build(chunk, memory))
        else:
            timed(f"to_pandas {f.name} ({f.type})", lambda: alone.to_pandas(
                split_blocks=True, types_mapper=frames._arrow_backed))
    del table, alone, chunk, memory, landing, buffer
    landing = ipc.Landing(len(source))
    landing.view()[: len(source)] = source
    landing.size = len(source)
    frame, _ = timed("= read_ipc (all of the above, once)", lambda: ipc.read_ipc(landing))
    del frame, landing
print(json.dumps({k: [statistics.median(v), min(v), max(v)] for k, v in steps.items()}))
"""


def profile(page: PageKernel, url: str, runs: int) -> None:
    """Print where one read's time goes (``--profile [mixed|numeric]``)."""
    copy = measure(page, "bytes", url, runs)  # the handoff and the one copy into wasm memory
    arrow = measure(page, "arrow", url, runs)
    page.driver.execute_async_script(INJECT_RAW_JS, url)  # measure() unbinds raw after each run
    result = page.execute(PROFILE_CELL.replace("RUNS", str(runs)))
    assert result["ok"] and result["reply"]["status"] == "ok", result
    text = "".join(o.get("text", "") for o in result["outputs"] if o["type"] == "stream")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"the profile cell printed no figures:\n{text[-3000:]}")
    steps = json.loads(lines[-1])
    print(f"profile of one read of {url.rsplit('/', 1)[-1]} (ms: median, min-max of {runs}):")
    for label, times in (("injectArrow, whole", arrow["times"]), ("injectBytes", copy["times"])):
        ms = [t * 1000 for t in times]
        print(f"  {label:58s} {statistics.median(ms):7.2f}  {min(ms):.2f}-{max(ms):.2f}")
    for label, (median, low, high) in steps.items():
        print(f"  {label:58s} {median:7.2f}  {low:.2f}-{high:.2f}")


def write_files(folder: Path, name: str, table: pa.Table) -> None:
    files = {fmt: folder / f"{name}.{fmt}" for fmt in ("arrows", "json", "csv")}
    with pa.ipc.new_stream(str(files["arrows"]), table.schema) as writer:
        writer.write_table(table)  # one record batch, as tableToIPC writes an in-memory table
    with pa.ipc.new_stream(str(folder / f"{name}.batches.arrows"), table.schema) as writer:
        writer.write_table(table, max_chunksize=1 << 19)  # as a streaming producer would
    columns = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())  # epoch milliseconds, as JSON APIs send them
        elif pa.types.is_dictionary(field.type):
            column = column.cast(pa.string())
        columns[field.name] = column.to_pylist()
    files["json"].write_text(json.dumps(columns, separators=(",", ":")))
    pacsv.write_csv(table, str(files["csv"]))


def measure_alternately(page: PageKernel, cases: list[dict], runs: int) -> list[dict]:
    """Each case ({kind, url, parse}) ``runs`` times, their runs alternating (run i of each
    case side by side, so that the machine's drift hits them alike): times and reports."""
    result = page.driver.execute_async_script(MEASURE_JS, cases, runs)
    if "error" in result:
        raise SystemExit(f"{cases} failed: {result['error']}")
    return list(result)


def measure(page: PageKernel, kind: str, url: str, runs: int, parse: str = "") -> dict:
    [result] = measure_alternately(page, [{"kind": kind, "url": url, "parse": parse}], runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="mixed",
        choices=("mixed", "numeric"),
        help="profile one read of the dataset (mixed unless named), then stop",
    )
    args = parser.parse_args()
    folder = CACHE / f"{args.mib}mib-v{DATA_VERSION}"
    datasets = ("numeric", "mixed")
    if not (folder / "done").exists():  # writing the JSON takes minutes: keep the files
        folder.mkdir(parents=True, exist_ok=True)
        write_files(folder, "numeric", numeric_table(args.mib))
        write_files(folder, "mixed", mixed_table(args.mib))
        (folder / "done").write_text("")
    payloads = {path.name: path.read_bytes() for path in folder.iterdir() if path.name != "done"}
    figures: dict[str, dict[str, float]] = {}
    with BentoServer() as server, DataServer(payloads) as data, chromium() as driver:
        page = PageKernel(driver, server)
        started = page.start()
        assert started["ok"], started
        page.run_ok("import pandas, pyarrow")
        measure(page, "arrow", f"{data.url}/numeric.arrows", 1)  # warm-up: grows wasm memory
        if args.profile:
            profile(page, f"{data.url}/{args.profile}.arrows", args.runs)
            return
        for name in datasets:
            mib = len(payloads[f"{name}.arrows"]) / 2**20
            arrow, memcpy = measure_alternately(
                page,
                [{"kind": kind, "url": f"{data.url}/{name}.arrows"} for kind in ("arrow", "bytes")],
                args.runs,
            )
            batches = measure(page, "arrow", f"{data.url}/{name}.batches.arrows", args.runs)
            as_json = measure(page, "bytes", f"{data.url}/{name}.json", 1, JSON_PARSE[name])
            as_csv = measure(page, "bytes", f"{data.url}/{name}.csv", 1, CSV_PARSE[name])
            seconds = {
                "arrow": statistics.median(arrow["times"]),
                "arrow_batches": statistics.median(batches["times"]),
                "memcpy": statistics.median(memcpy["times"]),
                "json": as_json["times"][0],
                "csv": as_csv["times"][0],
            }
            figures[name] = {k: mib / s for k, s in seconds.items()}
            report = arrow["report"]
            print(
                f"{name}: {mib:.1f} MiB Arrow ({report['rows']} rows, {report['batches']} batches, "
                f"{report['zero_copy_columns']}/{report['columns']} columns zero-copy, "
                f"peak extra {report['peak_extra_bytes'] / 2**20:.0f} MiB); JSON "
                f"{as_json['bytes'] / 2**20:.0f} MiB, CSV {as_csv['bytes'] / 2**20:.0f} MiB"
            )
            print(
                "  "
                + ", ".join(
                    f"{k} {s * 1000:.0f} ms = {mib / s:.0f} MiB/s" for k, s in seconds.items()
                )
            )
            for label, runs in (("arrow", arrow), ("arrow_batches", batches), ("memcpy", memcpy)):
                per_run = [mib / t for t in runs["times"]]
                print(f"  {label}: {spread(per_run, 'MiB/s', 0)}")
            ratios = [a / m for a, m in zip(arrow["times"], memcpy["times"], strict=True)]
            print(f"  arrow vs the bare copy (memcpy time / arrow time, per run pair): "
                  f"{spread([1 / r for r in ratios], '', 2)}")  # fmt: skip
    numeric, mixed = figures["numeric"], figures["mixed"]
    print(
        f"mixed: arrow_mibps={mixed['arrow']:.0f} json_mibps={mixed['json']:.1f} "
        f"csv_mibps={mixed['csv']:.1f} memcpy_mibps={mixed['memcpy']:.0f} "
        f"ratio_vs_json={mixed['arrow'] / mixed['json']:.1f}"
    )
    print(
        f"arrow: numeric_mibps={numeric['arrow']:.0f} mixed_mibps={mixed['arrow']:.0f} "
        f"json_mibps={numeric['json']:.1f} csv_mibps={numeric['csv']:.1f} "
        f"memcpy_mibps={numeric['memcpy']:.0f} ratio_vs_json={numeric['arrow'] / numeric['json']:.1f}"
    )


if __name__ == "__main__":
    main()
