"""The memory budget's core in CPython: sizes, budget, admission, thresholds, per-cell deltas."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

import bento_wasm.memory.magic  # noqa: F401 - registers %memory, as the worker does
from bento_wasm import protocol
from bento_wasm.errors import ConfigError, MagicError, MemoryBudgetExceeded
from bento_wasm.kernel.interpreter import Kernel
from bento_wasm.kernel.magics import MagicContext
from bento_wasm.memory import report as memory_report
from bento_wasm.memory.budget import Budget, Monitor, active
from bento_wasm.memory.heap import (
    CEILING_BYTES,
    CellDelta,
    GiB,
    MiB,
    Snapshot,
    format_size,
    parse_size,
)


class HeapModel:
    """The numbers a wasm heap would report (the real probe runs in the browser tier)."""

    def __init__(self, used: int = 100 * MiB, slack: int = 20 * MiB) -> None:
        self.used = used
        self.slack = slack  # free chunks inside malloc's arena
        self.heap = used + slack
        self.exact_calls = 0

    def set_used(self, used: int) -> None:
        self.used = used
        self.heap = max(self.heap, used + self.slack)  # grows, never shrinks

    def __call__(self, exact: bool) -> Snapshot:
        self.exact_calls += exact
        reserved = max(self.used + self.slack, self.heap - 4 * MiB)
        return Snapshot(self.heap, CEILING_BYTES, reserved, self.used if exact else None)


def run(kernel: Kernel, code: str, cell_id: str = "c") -> None:
    asyncio.run(kernel.execute(cell_id, code))


def make(budget: Budget | None = None, used: int = 100 * MiB):
    messages: list[dict] = []
    kernel = Kernel(messages.append, namespace={})
    heap = HeapModel(used)
    monitor = Monitor(heap, budget or Budget(budget_bytes=1 * GiB)).install(kernel)
    kernel.namespace["use"] = lambda mib: heap.set_used(int(mib * MiB))
    return kernel, heap, monitor, messages


def stderr(messages: list[dict], cell_id: str) -> str:
    return "".join(m["text"] for m in messages if m["type"] == "stream" and m["id"] == cell_id)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2GiB", 2 * GiB), ("1.5 GB", 3 * GiB // 2), ("512m", 512 * MiB), ("100", 100), (7, 7)],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "2 parsecs", "-1", "60%", -5])
def test_parse_size_refuses_what_it_cannot_read(bad):
    with pytest.raises(ConfigError, match="size"):
        parse_size(bad)


def test_format_size():
    assert format_size(512) == "512 B"
    assert format_size(3 * GiB // 2) == "1.50 GiB"
    assert format_size(12 * MiB) == "12.0 MiB"
    assert format_size(-300 * MiB) == "-300 MiB"


def test_default_budget_is_three_quarters_of_the_ceiling_and_options_are_data():
    assert Budget().limit(CEILING_BYTES) == int(0.75 * CEILING_BYTES)
    budget = Budget.from_options({"budget_bytes": "2GiB", "thresholds": [60, "80%", 0.9]})
    assert budget.limit(CEILING_BYTES) == 2 * GiB
    assert budget.thresholds == (0.6, 0.8, 0.9)
    assert Budget.from_options({"budget_bytes": 8 * GiB}).limit(CEILING_BYTES) == CEILING_BYTES
    assert Budget.from_options({"budget_fraction": 50}).limit(4 * GiB) == 2 * GiB


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"budget": "2GiB"}, "unknown memory options"),
        ({"thresholds": [70, 150]}, "between 0 and 100"),
        ({"thresholds": ["high"]}, "percentage"),
        ({"budget_bytes": "huge"}, "size"),
    ],
)
def test_bad_options_say_what_is_wrong(options, match):
    with pytest.raises(ConfigError, match=match):
        Budget.from_options(options)


def test_admission_fast_path_does_not_walk_the_heap():
    heap = HeapModel(100 * MiB)
    monitor = Monitor(heap, Budget(budget_bytes=1 * GiB))
    monitor.admit(500 * MiB, "sales")
    assert heap.exact_calls == 0


def test_admission_asks_malloc_when_the_upper_bound_does_not_fit():
    heap = HeapModel(100 * MiB)
    heap.heap = 900 * MiB  # grown once, mostly free again: reserved is a loose bound
    monitor = Monitor(heap, Budget(budget_bytes=1 * GiB))
    monitor.admit(500 * MiB, "sales")  # 100 MiB used + 500 MiB fits
    assert heap.exact_calls == 1


def test_oversized_admission_is_refused_with_sizes_and_what_to_do():
    monitor = Monitor(HeapModel(700 * MiB), Budget(budget_bytes=1 * GiB))
    with pytest.raises(MemoryBudgetExceeded) as caught:
        monitor.admit(600 * MiB, "the result of %%sql (sales)")
    error = caught.value
    assert isinstance(error, MemoryError)
    assert error.requested_bytes == 600 * MiB
    assert error.available_bytes == 324 * MiB
    text = str(error)
    for needed in ("%%sql (sales)", "600 MiB", "324 MiB", "1.00 GiB", "--limit", "%%remote"):
        assert needed in text
    assert error.to_dict()["requested_bytes"] == 600 * MiB


def test_install_fills_the_kernel_contract():
    kernel, _, monitor, _ = make()
    assert kernel.admit == monitor.admit
    assert active() is monitor
    run(kernel, "from bento_wasm.errors import MemoryBudgetExceeded\nok = 1")
    kernel.namespace["admit"] = kernel.admit
    run(kernel, "try:\n    admit(2**40, 'x')\nexcept MemoryBudgetExceeded as e:\n    err = e")
    assert kernel.namespace["err"].requested_bytes == 2**40


def test_each_cell_sends_a_memory_message_with_its_delta():
    kernel, _, _, messages = make()
    run(kernel, "use(300)", "grow")
    [report] = [m for m in messages if m["type"] == "memory"]
    protocol.check(report)
    assert report["id"] == "grow"
    assert report["delta_bytes"] == 200 * MiB
    assert report["budget_bytes"] == 1 * GiB
    assert report["heap_grew_bytes"] > 0
    assert Snapshot.from_dict(report["snapshot"]).heap_bytes == 320 * MiB


def test_warnings_fire_once_per_crossing_in_order():
    kernel, _, monitor, messages = make()
    steps = {"a": 300, "b": 720, "c": 730, "d": 880, "e": 980, "f": 990, "g": 300, "h": 750}
    for cell, mib in steps.items():
        run(kernel, f"use({mib} * 1024 / 1000)", cell)
    warned = {cell: stderr(messages, cell) for cell in steps}
    assert warned["a"] == "" and warned["c"] == "" and warned["f"] == ""
    assert "crossed 70%" in warned["b"]
    assert "crossed 85%" in warned["d"]
    assert "crossed 95%" in warned["e"] and "may fail" in warned["e"]
    assert "freed" in warned["g"]  # a large delta is shown
    assert "crossed 70%" in warned["h"]  # re-armed after falling below it
    assert [d.cell_id for d in monitor.cells] == list(steps)


def test_a_jump_over_several_thresholds_warns_once_at_the_highest():
    kernel, _, _, messages = make()
    run(kernel, "use(1000)", "jump")
    text = stderr(messages, "jump")
    assert text.count("memory warning") == 1 and "crossed 95%" in text


def test_exact_probes_only_near_a_threshold():
    kernel, heap, _, _ = make()
    for i in range(5):
        run(kernel, "x = 1", f"small{i}")
    assert heap.exact_calls == 0
    run(kernel, "use(800)", "big")
    assert heap.exact_calls >= 1


def test_memory_error_reports_the_snapshot_and_keeps_the_namespace():
    kernel, _, _, messages = make()
    run(kernel, "keep = 41", "a")
    run(kernel, "use(990)\nraise MemoryError()", "boom")
    assert [m["ename"] for m in messages if m["type"] == "error"] == ["MemoryError"]
    text = stderr(messages, "boom")
    assert "ran out of wasm memory" in text and "variables are intact" in text
    run(kernel, "keep += 1", "after")
    assert kernel.namespace["keep"] == 42


def test_memory_magic_shows_bars_budget_and_largest_objects():
    kernel, _, _, messages = make()
    run(kernel, "blob = b'x' * (3 * 2**20)\nsame = blob\nsmall = 'hi'\n%memory --budget 2GiB")
    [result] = [m for m in messages if m["type"] == "execute_result"]
    text = result["data"]["text/plain"]
    assert "2.00 GiB budget" in text and "█" in text
    assert "blob, same" in text and "3.00 MiB" in text
    assert text.index("blob, same") < text.index("small")
    assert "<table" in result["data"]["text/html"]
    run(kernel, "report = %memory --thresholds 50,90 --budget 50%")
    report = kernel.namespace["report"]
    assert report.thresholds == (0.5, 0.9)
    assert report.budget_bytes == CEILING_BYTES // 2


def test_memory_magic_sizes_dataframes_deep_and_arrays_by_nbytes():
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    frame = pd.DataFrame({"s": ["x" * 100] * 1000, "f": np.zeros(1000)})
    found = memory_report.largest_objects({"df": frame, "arr": np.zeros((100, 100)), "n": 3})
    assert [o.names for o in found] == [("df",), ("arr",)]
    assert found[0].nbytes == int(frame.memory_usage(deep=True).sum()) > 100_000
    assert found[1].nbytes == 80_000 and "float64" in found[1].kind


def test_largest_objects_imports_nothing_the_user_did_not():
    code = (
        "import sys\nfrom bento_wasm.memory.report import largest_objects\n"
        "print(largest_objects({'b': b'1' * 10})[0].names)\n"
        "assert not {'pandas', 'numpy', 'pyarrow'} & set(sys.modules), sys.modules.keys()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('b',)"


def test_memory_magic_bad_arguments_raise_magic_error():
    _, _, _, _ = make()
    ctx = MagicContext({}, print)
    with pytest.raises(MagicError, match="size"):
        memory_report.memory_magic(ctx, "--budget lots")
    with pytest.raises(MagicError, match="percentage"):
        memory_report.memory_magic(ctx, "--thresholds high")


def test_cell_delta_compares_like_with_like():
    exact = Snapshot(200, CEILING_BYTES, 180, 150)
    cheap = Snapshot(300, CEILING_BYTES, 260)
    assert CellDelta("c", exact, Snapshot(300, CEILING_BYTES, 260, 170)).delta_bytes == 20
    assert CellDelta("c", exact, cheap).delta_bytes == 80
    assert CellDelta("c", exact, cheap).heap_grew_bytes == 100


def test_pending_notices_show_once_in_the_next_cell():
    kernel, _, monitor, messages = make()
    monitor.pending.append("memory: the boot option was ignored")
    run(kernel, "x = 1", "first")
    run(kernel, "x = 2", "second")
    assert "was ignored" in stderr(messages, "first")
    assert stderr(messages, "second") == ""


def test_a_cell_that_grew_the_heap_and_freed_it_says_so():
    kernel, _, _, messages = make()
    run(kernel, "use(600)\nuse(100)", "peak")
    text = stderr(messages, "peak")
    assert "took 496 MiB more from the wasm heap" in text and "never shrinks" in text
    assert "100 MiB of the 1.00 GiB budget in use now" in text


def test_headroom_is_cheap_far_from_the_thresholds_and_exact_near_them():
    heap = HeapModel(100 * MiB)
    monitor = Monitor(heap, Budget(budget_bytes=1 * GiB))
    assert monitor.headroom() == 1 * GiB - 120 * MiB  # the reserved upper bound
    assert heap.exact_calls == 0
    heap.set_used(100 * MiB)
    heap.heap = 900 * MiB  # grown once, freed again
    assert monitor.headroom() == 1 * GiB - 100 * MiB
    assert heap.exact_calls == 1


def test_a_cpython_kernel_reports_its_resident_memory_against_its_limit():
    from bento_wasm.memory.process import ProcessProbe, memory_limit, resident_bytes
    from bento_wasm.memory.report import build_report

    ballast = bytearray(64 * 2**20)  # touched below, so resident
    ballast[::4096] = b"x" * len(ballast[::4096])
    probe = ProcessProbe()
    snap = probe(False)
    assert snap.host == "process" and snap.exact
    assert 64 * 2**20 < snap.in_use == snap.heap_bytes <= snap.ceiling_bytes == memory_limit()
    assert abs(resident_bytes() - snap.in_use) < 64 * 2**20
    text = repr(build_report(Monitor(probe), {"ballast": ballast}))
    assert "process" in text and "resident" in text and "wasm heap" not in text
    assert "ballast" in text and "64.0 MiB" in text
