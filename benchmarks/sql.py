"""SQL into the browser: a 10^6-row DuckDB query as a DataFrame, Arrow vs JSON, in one run.

    python benchmarks/sql.py [--rows 1000000] [--runs 3]

One executor server (demo database) and one page with the worker kernel. Both paths go
from the cell to a pandas DataFrame in the worker, timed on the page around the cell:
- arrow: ``%%sql -o df`` (the JS middleware fetches the Arrow IPC stream and streams it into
  wasm memory; pyarrow reads it in place);
- json: the same query with ``format: "json"`` through the same JS fetch, then
  ``pd.DataFrame(json.loads(body))`` in the worker — the usual way without Arrow.
Each path's median of ``--runs`` is reported with its spread (IQR, min-max). Last line (medians):
sql: rows=<n> arrow_s=<..> json_s=<..> ratio=<json/arrow>
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from tests.helpers import BentoServer, PageKernel, chromium

TIMED_JS = """
const done = arguments[arguments.length - 1];
const t0 = performance.now();
window.kernel.execute(arguments[0]).then(
  (r) => done({ok: r.reply.status === "ok", seconds: (performance.now() - t0) / 1000,
               outputs: r.outputs}),
  (err) => done({ok: false, message: err.message}));
"""

QUERY = "select * from orders limit {rows}"

ARROW_CELL = "%%sql -o df_arrow\n" + QUERY

JSON_CELL = """
import json
import pandas as pd
from bento_wasm.data.cells import session
_data = session()
_request = _data.executor.request("sql", "POST", {{"sql": "{query}", "format": "json"}})
_answer = await _data.transport.fetch(_request)
df_json = pd.DataFrame(json.loads(_answer.body))
del _answer
"""


def timed(page: PageKernel, code: str) -> float:
    result = page.driver.execute_async_script(TIMED_JS, code)
    if not result.get("ok"):
        raise RuntimeError(f"cell failed: {result}")
    return float(result["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bento-bench-")
    demo = Path(scratch) / "demo.duckdb"
    query = QUERY.format(rows=args.rows)
    try:
        run_benchmark(args, demo, query)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, demo: Path, query: str) -> None:
    with BentoServer(f"--BentoApp.demo_database={demo}") as server, chromium() as driver:
        page = PageKernel(driver, server)
        started = page.start()
        if not started.get("ok"):
            raise RuntimeError(f"kernel did not start: {started}")
        page.run_ok("import pandas, pyarrow")
        page.run_ok("%%sql\nselect 1")  # warm: the demo database exists, the middleware is ready
        arrow, json_ = [], []
        for run in range(args.runs):
            arrow.append(timed(page, ARROW_CELL.format(rows=args.rows)))
            page.run_ok("del df_arrow")
            json_.append(timed(page, JSON_CELL.format(query=query)))
            shape = page.text("df_json.shape")
            page.run_ok("del df_json")
            print(f"run {run + 1}: arrow {arrow[-1]:.2f} s, json {json_[-1]:.2f} s, {shape}")
        rows = int(page.text("%%sql\n" + f"select count(*) as n from ({query})").split()[-1])
    arrow_s, json_s = statistics.median(arrow), statistics.median(json_)
    print(f"arrow: {spread(arrow, 's')}")
    print(f"baseline, json: {spread(json_, 's')}")
    print(f"sql: rows={rows} arrow_s={arrow_s:.3f} json_s={json_s:.3f} "
          f"ratio={json_s / arrow_s:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
