"""The bento Jupyter Server extension: serves the serverless page and (later) the executor.

    python -m bento_wasm.server --port 8888

Paths (under the server's base URL):
    /bento/                      the notebook page
    /bento/config.json           kernel options for BentoKernel (data, not code)
    /bento/static/pyodide/...    the assembled Pyodide runtime
    /bento/static/wheels/...     the bento_wasm wheel
    /bento/static/worker/...     worker_js/ and protocol.json
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Int, List, Unicode

from .static import AssetHandler, ConfigHandler, latest_wheel

__all__ = ["BentoApp"]

REPO = Path(__file__).resolve().parents[2]


class BentoApp(ExtensionApp):
    name = "bento"
    extension_url = "/bento/"
    load_other_extensions = True
    serverapp_config = {"open_browser": False}  # noqa: RUF012 - the base class declares it so

    runtime_dir = Unicode(str(REPO / "runtime" / "pyodide"), help="assembled Pyodide runtime").tag(
        config=True
    )
    wheels_dir = Unicode(str(REPO / "wheels"), help="folder with the bento_wasm wheel").tag(
        config=True
    )
    worker_dir = Unicode(str(REPO / "worker_js"), help="the worker_js folder").tag(config=True)
    preload = List(
        Unicode(),
        default_value=["pandas", "pyarrow"],
        help="packages loaded in the background after boot",
    ).tag(config=True)
    boot_timeout_ms = Int(60000, help="how long the worker may take to boot").tag(config=True)

    def kernel_config(self) -> dict[str, Any]:
        assert self.serverapp is not None
        base = url_path_join(self.serverapp.base_url, "bento", "static")
        wheel = latest_wheel(Path(self.wheels_dir))
        return {
            "indexURL": url_path_join(base, "pyodide") + "/",
            "wheelURL": url_path_join(base, "wheels", wheel.name) if wheel else "",
            "workerURL": url_path_join(base, "worker", "worker.js"),
            "protocolURL": url_path_join(base, "worker", "protocol.json"),
            "preload": list(self.preload),
            "bootTimeoutMs": self.boot_timeout_ms,
        }

    def initialize_handlers(self) -> None:
        protocol_dir = str(resources.files("bento_wasm"))
        self.handlers.extend(
            [
                (
                    r"/bento/?()",
                    AssetHandler,
                    {"path": self.worker_dir, "default_filename": "index.html"},
                ),
                (r"/bento/config.json", ConfigHandler, {"config": self.kernel_config}),
                (r"/bento/static/pyodide/(.*)", AssetHandler, {"path": self.runtime_dir}),
                (r"/bento/static/wheels/(.*)", AssetHandler, {"path": self.wheels_dir}),
                (r"/bento/static/worker/(protocol\.json)", AssetHandler, {"path": protocol_dir}),
                (r"/bento/static/worker/(.*)", AssetHandler, {"path": self.worker_dir}),
            ]
        )
