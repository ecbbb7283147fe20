"""The offload planner's decisions on many cells (pure, CPython, milliseconds)."""

import json

import pytest

from bento_wasm.offload.analysis import analyze
from bento_wasm.offload.planner import Available, plan
from tests.helpers import RUNTIME

STDLIB = {"os", "sys", "json", "math", "re", "collections", "itertools", "asyncio", "sqlite3"}
LOCK = {
    "packages": {
        "numpy": {"imports": ["numpy"]},
        "pandas": {"imports": ["pandas"]},
        "scikit-learn": {"imports": ["sklearn"]},
        "lightgbm": {"imports": ["lightgbm"]},  # in the lock, absent from the runtime folder
        "python-dateutil": {"imports": ["dateutil"]},
    }
}
PRESENT = ["numpy", "pandas", "scikit-learn", "python-dateutil"]
AVAILABLE = Available.from_runtime(LOCK, PRESENT, stdlib=STDLIB, pure_python=["tqdm"])


@pytest.mark.parametrize(
    ("cell", "reads", "binds"),
    [
        ("x + 1", ["x"], []),
        ("y = x + 1", ["x"], ["y"]),
        ("x = 1\ny = x + 1", [], ["x", "y"]),
        ("total += value", ["value", "total"], ["total"]),
        ("print(len(items))", ["items"], []),
        ("for row in rows:\n    acc.append(row)", ["rows", "acc"], ["row"]),
        ("a, (b, *c) = triple", ["triple"], ["a", "b", "c"]),
        ("df['z'] = df.x * k", ["df", "k"], []),
        ("obj.attr = 3", ["obj"], []),
        ("import numpy as np\narr = np.zeros(n)", ["n"], ["np", "arr"]),
        ("import os.path\nos.path.join(base, 'x')", ["base"], ["os"]),
        ("from collections import Counter as C\nc = C(words)", ["words"], ["C", "c"]),
        (
            "def f(a, b=default):\n    return a + b + scale\nr = f(1)",
            ["default", "scale"],
            ["f", "r"],
        ),
        ("def f():\n    return helper()\ndef helper():\n    return 1", [], ["f", "helper"]),
        ("def f():\n    local = 1\n    return local", [], ["f"]),
        ("def f():\n    global counter\n    counter = 1", [], ["f", "counter"]),
        ("sq = [i * i for i in range(n)]", ["n"], ["sq"]),
        ("m = {k: v for k, v in pairs if v > cut}", ["pairs", "cut"], ["m"]),
        ("g = sum(x for x in xs)", ["xs"], ["g"]),
        ("ys = [y for xs in nested for y in xs]", ["nested"], ["ys"]),
        (
            "found = [hit for w in words if (hit := lookup(w))]",
            ["words", "lookup"],
            ["hit", "found"],
        ),
        ("fn = lambda v: v * factor", ["factor"], ["fn"]),
        (
            "class Model(Base):\n    size = width\n    def go(self):\n        return self.size",
            ["Base", "width"],
            ["Model"],
        ),
        ("with open(path) as fh:\n    text = fh.read()", ["path"], ["fh", "text"]),
        (
            "try:\n    risky()\nexcept ValueError as err:\n    msg = str(err)",
            ["risky"],
            ["err", "msg"],
        ),
        ("if flag:\n    out = a\nelse:\n    out = b", ["flag", "a", "b"], ["out"]),
        ("while n > 0:\n    n -= 1", ["n"], ["n"]),
        ("del tmp", ["tmp"], []),
        ("x = 1\ndel x", [], []),
        ("n: int = size", ["size"], ["n"]),
        (
            "match cmd:\n    case [op, *rest]:\n        r = op\n"
            "    case {'k': v, **others}:\n        r = v",
            ["cmd"],
            ["op", "rest", "r", "v", "others"],
        ),
        (
            "async def fetch():\n    return await source()\nvalue = await fetch()",
            ["source"],
            ["fetch", "value"],
        ),
        ("result = df.groupby('k').agg(total=('v', 'sum'))", ["df"], ["result"]),
        ("print('no names')", [], []),
        ("%who\ny = x * 2\nrows = %sql select 1", ["x"], ["y", "rows"]),
    ],
)
def test_reads_and_binds(cell, reads, binds):
    if cell.startswith("%"):
        from bento_wasm.offload.analysis import python_source

        cell = python_source(cell)
    analysis = analyze(cell)
    assert list(analysis.reads) == reads, analysis
    assert list(analysis.binds) == binds, analysis


@pytest.mark.parametrize(
    ("cell", "imports"),
    [
        ("import numpy as np, pandas", ["numpy", "pandas"]),
        ("from sklearn.linear_model import LinearRegression", ["sklearn"]),
        ("from . import sibling", []),
        ("def f():\n    import torch\n    return torch.zeros(1)", ["torch"]),
        ("mod = __import__('xgboost')", ["xgboost"]),
        ("import importlib\nm = importlib.import_module('polars.lazy')", ["importlib", "polars"]),
    ],
)
def test_imports(cell, imports):
    assert list(analyze(cell).imports) == imports


def test_star_import_is_flagged():
    assert analyze("from math import *").star_import


@pytest.mark.parametrize(
    "cell",
    [
        "import numpy as np\nnp.ones(3)",
        "import pandas as pd\nfrom dateutil import parser",
        "import json, os, sqlite3",
        "from sklearn.cluster import KMeans",
        "import tqdm",
        "x = 1 + 1",
        "%%sql -o sales\nselect * from t",  # cell magics decide for themselves
        "def broken(:\n    pass",  # the kernel reports the SyntaxError, in the browser
    ],
)
def test_lite_cells(cell):
    decision = plan(cell, AVAILABLE)
    assert decision.lite, decision.reason
    assert decision.suggestion() == ""


@pytest.mark.parametrize(
    ("cell", "missing"),
    [
        ("import torch", ["torch"]),
        ("import tensorflow as tf\nimport numpy as np", ["tensorflow"]),
        ("from lightgbm import LGBMClassifier", ["lightgbm"]),  # in the lock, not present
        ("import tkinter", ["tkinter"]),  # stdlib, but not in Pyodide
        ("def train():\n    import xgboost\n    return xgboost", ["xgboost"]),
        ("import psycopg2, cv2", ["psycopg2", "cv2"]),
    ],
)
def test_cells_importing_what_pyodide_cannot_provide_are_not_lite(cell, missing):
    decision = plan(cell, AVAILABLE)
    assert not decision.lite
    assert list(decision.missing) == missing
    assert all(name in decision.reason for name in missing)
    assert "Pyodide cannot provide" in decision.reason
    assert "%%remote" in decision.suggestion()


def test_installed_modules_count_as_available():
    decision = plan("import torch", AVAILABLE.with_modules(["torch"]))
    assert decision.lite


def test_data_larger_than_the_budget_is_not_lite():
    sizes = {"big": 600 * 2**20, "small": 2**20}
    over = plan("big.describe()", AVAILABLE, sizes=sizes, budget_bytes=1024 * 2**20)
    assert not over.lite and over.data_bytes == 600 * 2**20
    assert "600.0 MiB" in over.reason and "memory budget" in over.reason
    under = plan("small.describe()", AVAILABLE, sizes=sizes, budget_bytes=1024 * 2**20)
    assert under.lite
    rebound = plan("big = small.copy()\nbig.sum()", AVAILABLE, sizes=sizes, budget_bytes=4 * 2**20)
    assert rebound.lite, "a name the cell binds before reading is not read from the namespace"
    assert plan("big.sum()", AVAILABLE, sizes=sizes).lite, "no budget: size alone never offloads"


def test_both_reasons_are_given():
    decision = plan("import torch\nt = torch.tensor(big)", AVAILABLE, sizes={"big": 10**9},
                    budget_bytes=10**8)  # fmt: skip
    assert not decision.lite and len(decision.reasons) == 2


def test_the_real_runtime_lock_and_manifest():
    lock = json.loads((RUNTIME / "pyodide-lock.json").read_text())
    manifest = json.loads((RUNTIME / "bento-runtime.json").read_text())
    available = Available.from_runtime(lock, manifest["packages"])
    assert plan("import pandas, pyarrow, sklearn, scipy, matplotlib.pyplot", available).lite
    assert plan("import sqlite3, json, asyncio", available).lite
    # in Pyodide's lock but not carried into this runtime: would fail to import
    assert list(plan("import shapely", available).missing) == ["shapely"]
    assert list(plan("import torch", available).missing) == ["torch"]
    everything = Available.from_runtime(lock)
    assert plan("import shapely", everything).lite
