"""Remote offload: round trips from the browser worker to the executor on loopback.

    python benchmarks/offload.py [--calls 50] [--df-runs 3]

In one headless Chromium page against one bento server (executor on a real ipykernel):
- baseline: a plain synchronous XHR GET of /bento/config.json from the worker (the
  transport's floor) and the Arrow encode + decode of the DataFrame inside the worker
  (the codec's share, no network);
- noop: median round trip of a no-op ``@remote`` call (after warm-up);
- df: a 100 MiB DataFrame (four float64 columns) sent to an ``@remote`` function that
  returns it; df_mibps counts the bytes moved both ways (2 x 100 MiB) per second of the
  median round trip.
Last line: offload: noop_ms=<median> df_mibps=<..>
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
def median_ms(fn, runs, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)

def codec():
    encoder = Encoder()
    spec = encoder.encode("frame", frame)
    header, buffers = unpack(pack({"v": spec}, encoder.buffers))
    return Decoder(buffers).decode(header["v"])

config_url = EXECUTOR_URL + "/bento/config.json"
xhr_ms = median_ms(lambda: current().fetch(config_url), CALLS)
noop_ms = median_ms(noop, CALLS)
codec_ms = median_ms(codec, DF_RUNS, warmup=1)
back = echo(frame)
assert back.shape == frame.shape and float(back.a.sum()) == float(frame.a.sum())
df_ms = median_ms(lambda: echo(frame), DF_RUNS, warmup=0)
json.dumps({"xhr_ms": xhr_ms, "noop_ms": noop_ms, "codec_ms": codec_ms, "df_ms": df_ms})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--df-runs", type=int, default=3)
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
    figures = json.loads(result["data"]["text/plain"].strip("'"))
    mib = 100
    df_mibps = 2 * mib / (figures["df_ms"] / 1000)
    codec_mibps = 2 * mib / (figures["codec_ms"] / 1000)
    print(
        f"baseline: sync XHR GET from the worker {figures['xhr_ms']:.2f} ms (median of {args.calls})"
    )
    print(
        f"baseline: Arrow encode+decode of {mib} MiB in the worker {figures['codec_ms']:.0f} ms ({codec_mibps:.0f} MiB/s)"
    )
    print(f"noop @remote round trip: {figures['noop_ms']:.2f} ms (median of {args.calls})")
    print(
        f"{mib} MiB DataFrame sent and returned: {figures['df_ms']:.0f} ms (median of {args.df_runs}), {df_mibps:.0f} MiB/s both ways"
    )
    print(f"offload: noop_ms={figures['noop_ms']:.2f} df_mibps={df_mibps:.0f}")


if __name__ == "__main__":
    main()
