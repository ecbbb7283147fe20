"""Real data servers for the data-magic tests, all on loopback, all started and stopped here.

- :func:`postgres`: PostgreSQL from Debian's packages (initdb + pg_ctl), in a temp dir, on a
  free port; as root it runs as the ``postgres`` user (PostgreSQL refuses to run as root).
- :func:`graphql_server`: a strawberry GraphQL app on uvicorn, with CORS for the page origin.
- :func:`sheets_server`: an HTTP server answering like Google Sheets' CSV export
  (``/spreadsheets/d/ID/export?format=csv&gid=N``), incl. private sheets and non-CSV answers.
"""

from __future__ import annotations

import glob
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.helpers import free_port, wait_for

# -- PostgreSQL ----------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise FileNotFoundError("PostgreSQL is not installed: run ./dev setup (apt postgresql)")
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster; yields its URI (trust auth on 127.0.0.1)."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="bento-pg-"))
    data = root / "data"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = {"check": True, "capture_output": True}
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        **run,
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]
    subprocess.run(_as_postgres([*pg_ctl, "-w", "start"]), **run)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


# -- GraphQL -------------------------------------------------------------------------------


def _graphql_app(page_origins: list[str]) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Route
    from strawberry.asgi import GraphQL

    from tests.graphql_app import schema

    app = GraphQL(schema)
    return Starlette(
        routes=[Route("/graphql", app, methods=["GET", "POST", "OPTIONS"])],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=page_origins,
                allow_methods=["POST", "GET"],
                allow_headers=["content-type", "accept"],
            )
        ],
    )


@contextmanager
def graphql_server(page_origins: list[str]) -> Iterator[str]:
    """A strawberry GraphQL server on uvicorn; yields the endpoint URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        _graphql_app(page_origins), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, "GraphQL server")
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(10)


# -- Google Sheets CSV export --------------------------------------------------------------

PUBLIC_SHEET = "1PublicSheetAbcdefghijklmnopqrstuvwxyz012"
PRIVATE_SHEET = "1PrivateSheetAbcdefghijklmnopqrstuvwxyz01"
LOCKED_SHEET = "1LockedSheetAbcdefghijklmnopqrstuvwxyz012"
JSON_SHEET = "1NotCsvSheetAbcdefghijklmnopqrstuvwxyz012"
SHEET_TABS = {
    "0": 'name,amount,when\nalpha,1.5,2024-01-01\nbeta,2,2024-01-02\n"g, h",3,2024-01-03\n',
    "77": "city\nBerlin\nLagos\n",
}
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Google Sheets - Sign in</title></head></html>"


class _SheetsHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, kind: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if url.path == "/ServiceLogin":
            self._send(200, "text/html; charset=utf-8", LOGIN_PAGE)
            return
        if len(parts) != 4 or parts[:2] != ["spreadsheets", "d"] or parts[3] != "export":
            self._send(404, "text/html", b"<html>Not Found</html>")
            return
        sheet, query = parts[2], parse_qs(url.query)
        gid = query.get("gid", ["0"])[0]
        if sheet == PRIVATE_SHEET:  # what Google does for a sheet you may not read
            self.send_response(302)
            self.send_header("Location", "/ServiceLogin?continue=" + url.path)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
        elif sheet == LOCKED_SHEET:
            self._send(401, "text/html; charset=utf-8", LOGIN_PAGE)
        elif sheet == JSON_SHEET:
            self._send(200, "application/json", b'{"error": "not a sheet"}')
        elif sheet == PUBLIC_SHEET and gid in SHEET_TABS and query.get("format") == ["csv"]:
            self._send(
                200,
                "text/csv; charset=utf-8",
                SHEET_TABS[gid].encode("utf-8"),
                Content_Disposition=f'attachment; filename="Sheet-{gid}.csv"',
            )
        else:
            self._send(404, "text/html", b"<html>Sorry, unable to open the file</html>")


@contextmanager
def sheets_server() -> Iterator[str]:
    """Yields the export base URL (what --BentoApp.sheets_export_base takes)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _SheetsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- a CPython ipykernel -------------------------------------------------------------------


class IPyKernel:
    """A real ipykernel (jupyter_client KernelManager) running this checkout's bento_wasm."""

    def __init__(self, env: dict[str, str]) -> None:
        from jupyter_client.manager import KernelManager

        from tests.helpers import ROOT

        self.manager = KernelManager(kernel_name="python3")
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.root = ROOT

    def __enter__(self) -> IPyKernel:
        import sys

        self.manager.kernel_cmd = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]
        self.manager.start_kernel(env=self.env, cwd=str(self.root))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def execute(self, code: str, timeout_s: float = 60) -> dict[str, Any]:
        """Run a cell; returns {status, outputs} with iopub messages as {type, ...content}."""
        msg_id = self.client.execute(code)
        outputs: list[dict[str, Any]] = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout_s)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "execute_result", "display_data", "update_display_data", "error"):
                outputs.append({"type": kind, **msg["content"]})
        reply = self.client.get_shell_msg(timeout=timeout_s)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout_s)
        return {"status": reply["content"]["status"], "outputs": outputs}

    def updates(self, timeout_s: float = 0.5) -> list[dict[str, Any]]:
        """Display updates that arrived after their cell ended (background jobs)."""
        import queue

        found = []
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout_s)
            except queue.Empty:
                return found
            if msg["msg_type"] in ("update_display_data", "display_data"):
                found.append({"type": msg["msg_type"], **msg["content"]})
