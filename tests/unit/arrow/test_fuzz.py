"""The Arrow fuzzer: thousands of mutated streams and files, read as the worker reads them.

Cases run in a child process (tests/arrow_fuzz.py) so a segfault or a hang is counted,
not fatal. With the interpreter in ``BENTO_ARROW18_PYTHON`` (a Python 3.12 with the
runtime's pyarrow 18.1.0, pandas 2.2.3 and numpy 2.0.2 from PyPI; ``./dev setup`` makes it as
.venv-arrow18 and ``./dev test`` sets the variable) the same cases also run against the
browser's pyarrow release; the host's pyarrow runs them always.
"""

import os
import sys

import pytest

from tests import arrow_fuzz

CASES = 5000


def assert_clean(result, label):
    counts = result["counts"]
    print(
        f"arrow fuzz ({label}): cases={sum(counts.values())} refused={counts['refused']} "
        f"accepted={counts['accepted']} accepted_invalid={counts['accepted-invalid']} "
        f"raw={counts['raw']} crashes={counts['crash']} hangs={counts['hang']}"
    )
    bad = {k: counts[k] for k in ("accepted-invalid", "raw", "crash", "hang")}
    assert bad == dict.fromkeys(bad, 0), "\n".join(result["findings"][:20])
    # Both outcomes occur: the mutations reach the reader and valid inputs still pass.
    assert counts["refused"] > CASES // 2 and counts["accepted"] > CASES // 50, counts


def test_thousands_of_mutated_inputs_never_crash_and_never_pass_corrupt():
    assert_clean(arrow_fuzz.run(0, CASES), "host pyarrow")


@pytest.mark.skipif(
    not os.environ.get("BENTO_ARROW18_PYTHON"),
    reason="BENTO_ARROW18_PYTHON is not set (./dev test sets it, after ./dev setup made it)",
)
def test_the_same_cases_against_the_runtimes_pyarrow_release():
    assert_clean(arrow_fuzz.run(0, CASES, python=os.environ["BENTO_ARROW18_PYTHON"]), "18.1")


def test_the_mutator_is_deterministic_and_mutates_every_way():
    assert arrow_fuzz.case(17) == arrow_fuzz.case(17)
    kinds = {arrow_fuzz.case(i)[1].split("@")[0] for i in range(200)}
    assert kinds == {"bits", "meta_bits", "meta_bytes", "truncate", "field"}
    seeds = arrow_fuzz.seeds()
    assert all(arrow_fuzz.outcome(seed) == "accepted" for seed in seeds)
    assert sum(arrow_fuzz.case(i)[0] != seeds[i % len(seeds)] for i in range(200)) > 190


CRASHER = """
import ctypes, sys, time
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    if i == 3:
        ctypes.string_at(0)  # a segfault, as a corrupt input in C++ would cause
    if i == 6:
        time.sleep(60)  # a hang
    print(i, "refused", flush=True)
"""


def test_the_runner_counts_crashes_and_hangs_and_goes_on(tmp_path, monkeypatch):
    (tmp_path / "crasher.py").write_text(CRASHER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = arrow_fuzz.run(0, 9, python=sys.executable, module="crasher", case_s=2)
    counts = result["counts"]
    assert (counts["crash"], counts["hang"], counts["refused"]) == (1, 1, 7), result
    assert result["findings"][0].startswith("case 3: exit -11")
    assert result["findings"][1] == "case 6: hang"
