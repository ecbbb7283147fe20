"""Root pytest configuration: pytest-pyodide runs on Debian's Chromium against build/test-dist.

Helpers for tests live in tests/helpers.py (imported explicitly), not here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
os.environ.setdefault("SE_CHROMEDRIVER", "/usr/bin/chromedriver")


def pytest_configure(config: pytest.Config) -> None:
    from pytest_pyodide.config import get_global_config

    from tests.helpers import CHROMIUM_FLAGS

    # pytest-pyodide adds --headless and --no-sandbox itself.
    flags = [f for f in CHROMIUM_FLAGS if f not in ("--headless=new",)]
    get_global_config().set_flags("chrome", ["--js-flags=--expose-gc", *flags])


def pytest_sessionstart(session: pytest.Session) -> None:
    dist = Path(session.config.getoption("--dist-dir", default="build/test-dist"))
    if not (ROOT / dist / "pyodide-lock.json").exists():
        pytest.exit(
            f"{dist} is missing: run `./dev setup` (or `./dev test`) to assemble the runtime, "
            "build the wheel and the test dist.",
            returncode=4,
        )
