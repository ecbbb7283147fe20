"""Headless runs: one notebook run unattended by ``bento run`` and by papermill, in one run.

    python benchmarks/runs.py [--runs 3]

The notebook: a parameter, a 10^6-row ``%%sql`` on the demo warehouse, a pandas group-by, a
matplotlib chart and an upload of the result. Both runners start from nothing each time and
read a copy of the demo database (created fresh in a scratch folder):
- bento: ``python -m bento_wasm.cli run`` (the query prefetched on the host into an Arrow
  file, the cells in Pyodide under Node.js in a network namespace, the upload after the run);
- papermill: ``papermill`` in an ipykernel with ``%load_ext bento_wasm`` against a local
  executor (``python -m bento_wasm.server``), the SQL and the upload through its data API.
DuckDB lets one process hold the file: the bento runs go first, then the server starts.
Each side's median of ``--runs``, with the spread (IQR, min-max); papermill is the baseline
(the per-run ratio is printed too). Last line:
runs: bento_s=<median> papermill_s=<median> ratio=<bento/papermill> prefetch_mibps=<..>
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from bento_wasm.server.demo import ensure_demo
from tests.helpers import ROOT, BentoServer, notebook

CELLS = [
    ("limit = 1000", ["parameters"]),
    "%%sql -o orders\nSELECT * FROM orders LIMIT :limit",
    "summary = orders.groupby('product_id', as_index=False)['amount'].sum()\nlen(summary)",
    "import matplotlib.pyplot as plt\n"
    "plt.bar(summary.product_id[:50], summary.amount[:50])\nplt.title('amount by product');",
    "%dataframe summary --table bench_runs_summary --mode replace",
]
#: In the ipykernel the upload is a background job: the run ends when it has.
WAIT_FOR_UPLOADS = """
import time
from bento_wasm.data.session import session
_data = session()
while not all(j["state"] in ("done", "failed", "cancelled")
              for j in _data.call_now(_data.executor.request("uploads"))):
    time.sleep(0.05)
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bento-bench-runs-"))
    try:
        run_benchmark(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, scratch: Path) -> None:
    demo = scratch / "demo.duckdb"
    ensure_demo(demo)
    bento_nb, paper_nb = scratch / "bento.ipynb", scratch / "papermill.ipynb"
    notebook(*CELLS, path=bento_nb)
    notebook("%load_ext bento_wasm", *CELLS, WAIT_FOR_UPLOADS, path=paper_nb)
    rows = ["-p", "limit", str(args.rows)]
    env = dict(os.environ)
    bento, prefetch = [], []
    for run in range(args.runs):
        out = scratch / f"bento-{run}.ipynb"
        bento.append(timed([sys.executable, "-m", "bento_wasm.cli", "run", str(bento_nb), str(out),
                            *rows, "--no-progress", "--connection", f"default=duckdb://{demo}"],
                           env))  # fmt: skip
        (entry,) = json.loads(out.read_text())["metadata"]["bento"]["inputs"]
        prefetch.append(entry["bytes"] / 2**20 / entry["seconds"])
        print(f"bento run {run + 1}: {bento[-1]:.2f} s ({entry['rows']} rows, "
              f"{entry['bytes'] / 2**20:.1f} MiB prefetched in {entry['seconds']:.2f} s)")  # fmt: skip
    paper = []
    with BentoServer(f"--BentoApp.demo_database={demo}") as server:
        env.update(BENTO_EXECUTOR_URL=server.url, BENTO_EXECUTOR_TOKEN=server.token)
        for run in range(args.runs):
            out = scratch / f"papermill-{run}.ipynb"
            paper.append(timed([sys.executable, "-m", "papermill", str(paper_nb), str(out),
                                *rows, "-k", "python3", "--no-progress-bar"], env))  # fmt: skip
            print(f"papermill run {run + 1}: {paper[-1]:.2f} s")
    print(f"bento run:           {spread(bento, 's', 2)}")
    print(f"baseline, papermill: {spread(paper, 's', 2)}")
    ratios = [b / p for b, p in zip(bento, paper, strict=True)]
    print(f"bento / papermill, per run: {spread(ratios, '', 2)}")
    print(f"prefetch:            {spread(prefetch, 'MiB/s', 0)}")
    b, p = statistics.median(bento), statistics.median(paper)
    print(f"runs: bento_s={b:.2f} papermill_s={p:.2f} ratio={b / p:.2f} "
          f"prefetch_mibps={statistics.median(prefetch):.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
