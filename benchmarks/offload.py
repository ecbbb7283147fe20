"""Remote offload: round trips from the browser worker to the executor on loopback.

    python benchmarks/offload.py [--calls 50] [--df-runs 5]

In one headless Chromium page against one bento server (executor on a real ipykernel):
- baseline: a plain synchronous XHR GET of /bento/config.json from the worker (the
  transport's floor) and the Arrow encode + decode of the DataFrame inside the worker
  (the codec's share, no network);
- noop: median round trip of a no-op ``@remote`` call (after warm-up);
- df: a 100 MiB DataFrame (four float64 columns) sent to an ``@remote`` function that
  returns it; df_mibps counts the bytes moved both ways (2 x 100 MiB) per second of the
  median round trip.
Each figure is printed as its median with its spread (IQR, min-max) over the runs, then
the last line: offload: noop_ms=<median> df_mibps=<of the median round trip>

What a 100 MiB round trip crosses (executor on this machine): the worker sends the envelope
with fetch under JSPI (a request body of 1 MiB or more; smaller ones go by synchronous XHR);
the executor reads it from the socket straight into a file in /dev/shm, which the kernel
maps; the kernel writes its answer's Arrow stream into a file of its own, which the executor
maps and sends; the worker streams the answer into wasm memory chunk by chunk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stats import spread
from tests.helpers import BentoServer, PageKernel, chromium

SETUP = """
import json, statistics, time
import numpy as np, pandas as pd
from bento_wasm.environment import current
from bento_wasm import remote
from bento_wasm.offload.values import Decoder, Encoder, pack, unpack

@remote
def noop():
    return None

@remote
def echo(frame):
    return frame

rows = 100 * 2**20 // 32
frame = pd.DataFrame({c: np.random.default_rng(1).random(rows) for c in "abcd"})
assert frame.memory_usage(index=False).sum() == 100 * 2**20
"""

MEASURE = """
def times_ms(fn, runs, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times

def codec():
    encoder = Encoder()
    spec = encoder.encode("frame", frame)
    header, buffers = unpack(pack({"v": spec}, encoder.buffers))
    return Decoder(buffers).decode(header["v"])

config_url = EXECUTOR_URL + "/bento/config.json"
xhr_ms = times_ms(lambda: current().fetch(config_url), CALLS)
noop_ms = times_ms(noop, CALLS)
codec_ms = times_ms(codec, DF_RUNS, warmup=1)
back = echo(frame)
assert back.shape == frame.shape and float(back.a.sum()) == float(frame.a.sum())
df_ms = times_ms(lambda: echo(frame), DF_RUNS, warmup=0)
json.dumps({"xhr_ms": xhr_ms, "noop_ms": noop_ms, "codec_ms": codec_ms, "df_ms": df_ms})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--df-runs", type=int, default=5)
    args = parser.parse_args()
    with BentoServer() as server, chromium() as driver:
        page = PageKernel(driver, server)
        started = page.start(executor={"url": server.url, "token": server.token})
        assert started["ok"], started
        page.run_ok(SETUP)
        code = MEASURE.replace("EXECUTOR_URL", repr(server.url))
        code = code.replace("CALLS", str(args.calls)).replace("DF_RUNS", str(args.df_runs))
        outputs = page.run_ok(code)
    [result] = [o for o in outputs if o["type"] == "execute_result"]
    runs = json.loads(result["data"]["text/plain"].strip("'"))
    mib = 100
    df_ms, codec_ms = statistics.median(runs["df_ms"]), statistics.median(runs["codec_ms"])
    noop_ms = statistics.median(runs["noop_ms"])
    print(f"baseline: sync XHR GET from the worker, {spread(runs['xhr_ms'], 'ms', 2)}")
    print(
        f"baseline: Arrow encode+decode of {mib} MiB in the worker, {spread(runs['codec_ms'], 'ms', 0)} "
        f"({2 * mib / (codec_ms / 1000):.0f} MiB/s)"
    )
    print(f"noop @remote round trip: {spread(runs['noop_ms'], 'ms', 2)}")
    print(f"{mib} MiB DataFrame sent and returned: {spread(runs['df_ms'], 'ms', 0)}")
    df_mibps_runs = [2 * mib / (ms / 1000) for ms in runs["df_ms"]]
    print(f"  both ways, per run: {spread(df_mibps_runs, 'MiB/s', 0)}")
    print(f"offload: noop_ms={noop_ms:.2f} df_mibps={2 * mib / (df_ms / 1000):.0f}")


if __name__ == "__main__":
    main()
