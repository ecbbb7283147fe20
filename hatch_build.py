"""Hatch build hook: the wheel carries the browser side as package data.

``bento_wasm/assets/`` gets ``worker_js/kernel`` (BentoKernel, the worker), ``worker_js/node``
(the Node.js host of headless runs), ``worker_js/page``
and ``worker_js/dist`` (the notebook page and its esbuild bundle, without source maps), so a
``pip install``ed server has its page and worker. The browser wheel (``./dev wheel``, what the
worker installs with micropip) is built with ``BENTO_BROWSER_WHEEL=1`` and carries none of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ASSETS = {
    "worker_js/kernel": "kernel",
    "worker_js/node": "node",
    "worker_js/page": "page",
    "worker_js/dist": "dist",
}


class AssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # An editable install (./dev setup's `pip install -e`) serves worker_js/ from the checkout.
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get("BENTO_BROWSER_WHEEL"):
            return
        root = Path(self.root)
        if not (root / "worker_js" / "dist" / "page.js").is_file():
            raise RuntimeError(
                "worker_js/dist/page.js is missing: build the page first "
                "(`cd worker_js && npm ci && npm run build`, or `./dev setup`)"
            )
        for source, target in ASSETS.items():
            for path in sorted((root / source).rglob("*")):
                if path.is_file() and not path.name.endswith(".map"):
                    relative = path.relative_to(root / source).as_posix()
                    inside = f"bento_wasm/assets/{target}/{relative}"
                    build_data["force_include"][str(path)] = inside
