"""The bento Jupyter Server extension: serves the serverless page and (later) the executor.

    python -m bento_wasm.server --port 8888

Paths (under the server's base URL):
    /bento/                      the notebook page
    /bento/config.json           kernel options for BentoKernel (data, not code)
    /bento/static/pyodide/...    the assembled Pyodide runtime
    /bento/static/wheels/...     the bento_wasm wheel
    /bento/static/kernel/...     worker_js/kernel/ (BentoKernel, the worker) and protocol.json
    /bento/static/page/...       the notebook page's bundle (worker_js/dist/)
    /bento/api/...               the executor's API (token auth; see dataapi.py)
    /bento/api/schedule/...      the Schedule dialog and Runs pane (see scheduleapi.py)
    /bento/pypi/simple/...       the package index %pip installs from (see packages.py)
    /bento/api/stdin/...         input() in a page without isolation (see stdinapi.py)
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Dict, Float, Int, List, Unicode

from . import api, dataapi, packages
from .scheduleapi import handlers as schedule_handlers
from .sessionapi import handlers as session_handlers
from .static import (
    AssetHandler,
    ConfigHandler,
    PublicAssetHandler,
    VersionedAssetHandler,
    files_version,
    latest_wheel,
)
from .stdinapi import handlers as stdin_handlers

__all__ = ["BentoApp"]

REPO = Path(__file__).resolve().parents[2]
#: The page, worker and bundle inside an installed package (hatch_build.py puts them there).
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def in_checkout() -> bool:
    """Running from a git checkout (``./dev run``), not from a pip-installed wheel."""
    return (REPO / "pyproject.toml").is_file() and (REPO / "worker_js" / "kernel").is_dir()


def _cache() -> Path:
    from ..runtime import default_cache

    return default_cache()


def default_runtime_dir() -> str:
    from ..runtime import PYODIDE_VERSION

    if in_checkout():
        return str(REPO / "runtime" / "pyodide")
    return str(_cache() / f"pyodide-{PYODIDE_VERSION}")


def default_wheels_dir() -> str:
    return str(REPO / "wheels") if in_checkout() else str(_cache() / "wheels")


PROTOCOL_DIR = str(resources.files("bento_wasm"))  # protocol.json, served with the worker


def default_worker_dir() -> str:
    return str(REPO / "worker_js") if in_checkout() or not ASSETS.is_dir() else str(ASSETS)


class BentoApp(ExtensionApp):
    name = "bento"
    extension_url = "/bento/"
    load_other_extensions = True
    serverapp_config = {  # noqa: RUF012 - the base class declares it so
        "open_browser": False,
        # Origins are checked on token-authenticated requests too (server/limits.py).
        "identity_provider_class": "bento_wasm.server.limits.OriginCheckingIdentityProvider",
    }

    runtime_dir = Unicode(
        default_runtime_dir(),
        help="assembled Pyodide runtime (a checkout's runtime/pyodide, else the user's cache; "
        "`bento serve` assembles it there on first start)",
    ).tag(config=True)
    wheels_dir = Unicode(
        default_wheels_dir(),
        help="folder with the bento_wasm browser wheel (installed: written there at start)",
    ).tag(config=True)
    worker_dir = Unicode(
        default_worker_dir(),
        help="the worker_js folder (kernel/, page/, dist/); installed: the package's assets",
    ).tag(config=True)
    preload = List(
        Unicode(),
        default_value=["pandas", "pyarrow"],
        help="packages loaded in the background after boot",
    ).tag(config=True)
    boot_timeout_ms = Int(60000, help="how long the worker may take to boot").tag(config=True)
    notebook = Unicode(
        "notebooks/demo.ipynb", help="the notebook the page opens when its URL names none"
    ).tag(config=True)
    server_kernel_setup = List(
        Unicode(),
        default_value=["%load_ext bento_wasm"],
        help="code the page runs in a server kernel after each (re)start, e.g. %load_ext",
    ).tag(config=True)
    connections = Dict(
        Unicode(),
        default_value={},
        help="warehouse connections, name -> URI (duckdb:///f.duckdb, postgresql://..., "
        "adbc+DRIVER:URI); 'default' is the demo DuckDB database unless given here",
    ).tag(config=True)
    demo_database = Unicode(
        "", help="the DuckDB file of the 'default' connection (created with demo data if absent)"
    ).tag(config=True)
    page_origins = List(
        Unicode(),
        default_value=[],
        help="origins besides this server's own whose pages may call /bento/api (CORS)",
    ).tag(config=True)
    upload_throttle_s = Float(
        0.0, help="pause between the batches of an upload job (to watch or test progress)"
    ).tag(config=True)
    sheets_export_base = Unicode(
        "", help="base URL of Google Sheets' CSV export (default https://docs.google.com)"
    ).tag(config=True)
    graphql_endpoint = Unicode("", help="default endpoint of %%graphql").tag(config=True)
    max_upload_mib = Int(512, help="largest upload body accepted, in MiB").tag(config=True)
    wheel_dir = Unicode(
        "",
        help="a folder of wheels the package index (/bento/pypi/simple/) serves first: pure "
        "ones and Pyodide 0.27 WebAssembly builds",
    ).tag(config=True)
    pip_fallback = Bool(
        True,
        help="fetch a project's pure wheel with `pip download` on its first request to the "
        "package index when wheel_dir has none",
    ).tag(config=True)
    pip_options = List(
        Unicode(),
        default_value=[],
        help="extra options of that `pip download`, e.g. ['--index-url', 'https://mirror/simple']",
    ).tag(config=True)
    pip_timeout_s = Float(120.0, help="longest a `pip download` may take").tag(config=True)
    package_cache = Unicode(
        "", help="where pip's downloads are kept (default: the user's cache, bento-wasm/pypi)"
    ).tag(config=True)
    max_queued_uploads = Int(
        32, help="most upload jobs waiting to run; over it an upload is refused (429)"
    ).tag(config=True)

    #: The browser wheel written from the installed package at start (None in a checkout).
    browser_wheel: Path | None = None
    #: The preloaded wheels whose bytecode this server compiled (check_parts).
    bytecode_bundles: tuple[str, ...] = ()

    @classmethod
    def get_extension_package(cls) -> str:
        """The package Jupyter Server enables (``jpserver_extensions``): the server layer, whose
        ``_jupyter_server_extension_points`` names this app; the core never imports it."""
        return "bento_wasm.server"

    def initialize_settings(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from .demo import DEFAULT_PATH, ensure_demo
        from .pypi import PackageIndex
        from .uploads import UploadJobs
        from .warehouse import Warehouse

        uris = {"default": "duckdb://" + (self.demo_database or str(DEFAULT_PATH))}
        uris.update(self.connections)
        self.warehouse = Warehouse(uris, on_create=ensure_demo)
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bento-data")
        self.uploads = UploadJobs(
            self.warehouse, self.pool, self.upload_throttle_s, max_queued=self.max_queued_uploads
        )
        self.package_index = PackageIndex(
            Path(self.wheel_dir) if self.wheel_dir else None,
            Path(self.package_cache) if self.package_cache else _cache() / "pypi",
            pip_fallback=self.pip_fallback,
            runtime_lock=Path(self.runtime_dir) / "pyodide-lock.json",
            pip_options=list(self.pip_options),
            timeout_s=self.pip_timeout_s,
        )
        # pip runs here, never on the IOLoop nor in the data pool (a slow registry would hold it).
        self.package_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bento-pypi")
        self.settings["bento_max_upload_bytes"] = self.max_upload_mib * 2**20
        self.settings["bento_page_origins"] = list(self.page_origins)
        self.check_parts()

    def check_parts(self) -> None:
        """Say at start what is missing, naming what to set, instead of a page that hangs."""
        from .browser_wheel import ensure_browser_wheel

        # Installed: the cache's wheel is rewritten when it is not this package's code (an
        # upgrade would otherwise serve the old Python to the new worker). A folder set by
        # --BentoApp.wheels_dir holds the user's own wheel: written there only when empty.
        wheels = Path(self.wheels_dir)
        if not in_checkout() and (
            self.wheels_dir == default_wheels_dir() or latest_wheel(wheels) is None
        ):
            self.browser_wheel = ensure_browser_wheel(wheels)
        runtime = Path(self.runtime_dir)
        if (runtime / "bento-runtime.json").is_file():
            from ..runtime import bytecode, stdlib

            # Once per runtime folder (about 2 s and 5 s), when this Python can: loadPyodide
            # ~1 s sooner, and a first visit imports the preloaded packages from bytecode.
            stdlib.ensure(runtime)
            self.bytecode_bundles = tuple(bytecode.ensure(runtime, self.preload))
        else:
            self.log.error(
                "bento: no assembled Pyodide runtime at %s: start with `bento serve` (it "
                "assembles one into the user's cache), run `bento runtime assemble --dest %s`, "
                "or set --BentoApp.runtime_dir=DIR",
                runtime,
                runtime,
            )
        if not (Path(self.worker_dir) / "kernel" / "worker.js").is_file():
            self.log.error(
                "bento: no worker scripts in %s: set --BentoApp.worker_dir to a worker_js "
                "folder, or reinstall bento-wasm from a wheel built with its assets",
                self.worker_dir,
            )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Runs once the server listens (its port is final)."""
        self.export_executor_env()
        server = getattr(serverapp, "http_server", None)
        if server is not None:
            # Tornado reads request bodies in 64 KiB chunks: 1600 reads and appends for one
            # 100 MiB offload request. 4 MiB chunks take ~1/3 off the time to receive it.
            server.conn_params.chunk_size = 1 << 22
            server.read_chunk_size = 1 << 22

    def export_executor_env(self) -> None:
        """Kernels this server starts (the page's server kernel, JupyterLab's) find the executor
        through BENTO_EXECUTOR_URL/TOKEN (data magics, ``@remote``, ``%%remote``)."""
        assert self.serverapp is not None
        os.environ.setdefault("BENTO_EXECUTOR_URL", self.serverapp.connection_url.rstrip("/"))
        token = self.serverapp.identity_provider.token
        if token:
            os.environ.setdefault("BENTO_EXECUTOR_TOKEN", token)

    def kernel_config(self) -> dict[str, Any]:
        assert self.serverapp is not None
        base = url_path_join(self.serverapp.base_url, "bento", "static")
        wheel = self.browser_wheel or latest_wheel(Path(self.wheels_dir))
        kernel = url_path_join(base, "kernel", f"v-{self.kernel_version()}")
        return {
            "indexURL": url_path_join(base, "pyodide") + "/",
            # The standard library with its bytecode (bento_wasm/runtime/stdlib.py), if made.
            "stdLibURL": self.stdlib_url(url_path_join(base, "pyodide")),
            "wheelURL": url_path_join(base, "wheels", wheel.name) if wheel else "",
            # Versioned: immutable, so a returning visit starts the worker with no round trip.
            "workerURL": url_path_join(kernel, "worker.js"),
            "protocolURL": url_path_join(kernel, "protocol.json"),
            "preload": list(self.preload),
            # The preloaded wheels whose bytecode the server compiled (runtime/bytecode.py).
            "bytecodeBundles": list(self.bytecode_bundles),
            "bootTimeoutMs": self.boot_timeout_ms,
            # The page adds the token from its own URL (?token=...); see kernel.js.
            "executor": {"url": self.serverapp.base_url},
            # input() in a page that is not cross-origin isolated waits through this server.
            "stdin": {"url": self.serverapp.base_url},
            "sheets": {"exportBase": self.sheets_export_base},
            "graphql": {"endpoint": self.graphql_endpoint},
            # %pip installs from here; micropip appends /<project>/ (kernel/pip.py).
            "packageIndex": url_path_join(self.serverapp.base_url, "bento", "pypi", "simple"),
            "notebook": self.notebook,
            "serverKernel": {"name": "python3", "setup": list(self.server_kernel_setup)},
        }

    def stdlib_url(self, runtime_url: str) -> str:
        from ..runtime.stdlib import compiled_stdlib

        compiled = compiled_stdlib(Path(self.runtime_dir))
        return url_path_join(runtime_url, compiled.name) if compiled else ""

    def kernel_version(self) -> str:
        """The digest of the worker's scripts and protocol.json, as served now."""
        return files_version(Path(self.worker_dir) / "kernel", Path(PROTOCOL_DIR) / "protocol.json")

    def initialize_handlers(self) -> None:
        protocol_dir = PROTOCOL_DIR
        worker = Path(self.worker_dir)
        versioned = {"version": self.kernel_version}
        self.handlers.extend(
            [
                (
                    r"/bento/?()",
                    AssetHandler,
                    {"path": str(worker / "page"), "default_filename": "index.html"},
                ),
                (r"/bento/config.json", ConfigHandler, {"config": self.kernel_config}),
                (r"/bento/static/pyodide/(.*)", AssetHandler, {"path": self.runtime_dir}),
                (r"/bento/static/wheels/(.*)", PublicAssetHandler, {"path": self.wheels_dir}),
                (
                    r"/bento/static/kernel/v-([0-9a-f]{16})/(protocol\.json)",
                    VersionedAssetHandler,
                    {"path": protocol_dir, **versioned},
                ),
                (
                    r"/bento/static/kernel/v-([0-9a-f]{16})/(.*)",
                    VersionedAssetHandler,
                    {"path": str(worker / "kernel"), **versioned},
                ),
                (r"/bento/static/kernel/(protocol\.json)", AssetHandler, {"path": protocol_dir}),
                (r"/bento/static/kernel/(.*)", AssetHandler, {"path": str(worker / "kernel")}),
                (r"/bento/static/page/(.*)", AssetHandler, {"path": str(worker / "dist")}),
            ]
        )
        self.handlers.extend(api.handlers())
        self.handlers.extend(dataapi.handlers(self))
        self.handlers.extend(packages.handlers(self))
        self.handlers.extend(session_handlers(self))
        self.handlers.extend(schedule_handlers(self))
        self.handlers.extend(stdin_handlers())
