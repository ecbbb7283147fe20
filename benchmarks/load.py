"""The executor under load: N notebooks at once, each querying SQL and calling @remote.

    python benchmarks/load.py [--clients 16] [--seconds 20]

One server (``python -m bento_wasm.server`` on loopback, as ``./dev run`` starts it), N client
threads (at most 64), each with its own remote session: each starts its session (not timed),
then for the given time (at most 120 s) alternates a SQL query (``POST /bento/api/sql``, 100
rows of the demo DuckDB database as an Arrow stream) and an ``@remote``-style call of a small
function in its session (``Executor.call``). Every request's latency is recorded; an error is
any request that raised or answered other than 200. Baseline, in the same run: one client alone
doing the same for a few seconds. Each side's latencies are printed as their median with the
spread (IQR, min-max) over its requests. Last line:

load: clients=<N> requests=<..> errors=<..> p50_ms=<..> p99_ms=<..>
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from bento_wasm.offload.client import Executor, HttpTransport
from tests.helpers import BentoServer

MAX_CLIENTS = 64
MAX_SECONDS = 120
SQL = {"sql": "select range as n, range * 0.5 as x from range(100)", "format": "arrow"}


def add(a: int, b: int) -> int:
    return a + b


def sql(server: BentoServer) -> None:
    request = urllib.request.Request(
        server.url + "/bento/api/sql",
        data=json.dumps(SQL).encode(),
        method="POST",
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status != 200 or not response.read():
            raise RuntimeError(f"SQL answered {response.status}")


def client(server: BentoServer, name: str, seconds: float, results: dict[str, list]) -> None:
    executor = Executor(HttpTransport(server.url, server.token), name)
    try:
        if executor.call(add, 1, 2) != 3:  # starts the session: not timed
            raise RuntimeError("the warm-up call gave a wrong answer")
    except Exception as exc:  # the benchmark's boundary: count it and stop this client
        results["errors"].append(f"{name} warm-up: {exc}")
        results["settled"].append(name)
        return
    results["settled"].append(name)
    while len(results["settled"]) < results["expected"][0]:  # start together
        time.sleep(0.01)
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            if turn % 2:
                if executor.call(add, turn, 1) != turn + 1:
                    raise RuntimeError("wrong answer")
            else:
                sql(server)
            results["latency"].append(time.perf_counter() - started)
        except Exception as exc:  # counted, as the figure asks
            results["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
        turn += 1
    executor.shutdown()


def run(server: BentoServer, clients: int, seconds: float, prefix: str) -> dict[str, list]:
    results: dict[str, list] = {"latency": [], "errors": [], "settled": [], "expected": [clients]}
    threads = [
        threading.Thread(target=client, args=(server, f"{prefix}{i}", seconds, results))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 180)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    with BentoServer(f"--BentoExecutor.max_sessions={clients}") as server:
        alone = run(server, 1, min(5.0, seconds), "baseline-")
        loaded = run(server, clients, seconds, "client-")
    base = alone["latency"]
    print(
        f"baseline (1 client): requests={len(base)} errors={len(alone['errors'])} "
        f"p50_ms={percentile(base, 0.5):.1f} p99_ms={percentile(base, 0.99):.1f}"
    )
    if base:
        print(f"  baseline latency: {spread([t * 1000 for t in base], 'ms', 1)}")
    for error in loaded["errors"][:5]:
        print("  error:", error[:300])
    latency = loaded["latency"]
    if latency:
        print(f"{clients} clients, latency: {spread([t * 1000 for t in latency], 'ms', 1)}")
    print(
        f"load: clients={clients} requests={len(latency) + len(loaded['errors'])} "
        f"errors={len(loaded['errors'])} p50_ms={percentile(latency, 0.5):.1f} "
        f"p99_ms={percentile(latency, 0.99):.1f}"
    )


if __name__ == "__main__":
    main()
