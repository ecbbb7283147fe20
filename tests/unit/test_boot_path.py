"""What the worker imports at boot stays cheap: in wasm, argparse (with gettext) costs ~80 ms,
html.entities ~40 ms and dataclasses ~35 ms, and boot time is the number users feel first
(benchmarks/startup.py). These modules load on first use instead."""

import subprocess
import sys

from tests.helpers import ROOT

#: What bento_wasm.browser.worker.start() imports, minus the Pyodide-only modules.
BOOT = (
    "bento_wasm.kernel.interpreter bento_wasm.memory.budget bento_wasm.memory.magic "
    "bento_wasm.offload.calls bento_wasm.data.magics "
    "bento_wasm.offload.client bento_wasm.offload.values bento_wasm.offload.planner "
    "bento_wasm.environment"
)
EXPENSIVE = {"argparse", "shlex", "gettext", "dataclasses", "html", "urllib.request"}


def test_the_boot_path_imports_nothing_expensive():
    code = (
        f"import sys, importlib\nfor m in {BOOT.split()!r}: importlib.import_module(m)\n"
        f"print(sorted(set({sorted(EXPENSIVE)!r}) & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
