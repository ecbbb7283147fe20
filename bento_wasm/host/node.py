"""The WebAssembly kernel of a run: Pyodide in a Node.js process (worker_js/node/host.mjs).

The process gets its own network namespace (``unshare -n`` as root, ``unshare -rn``
otherwise), so not even loopback is reachable from a cell; if no namespace can be made the
run refuses to start, unless the caller allows the network explicitly. Messages are the
worker protocol's (bento_wasm/protocol.json), one JSON object per line. A cell that runs
past its time limit stops the process (the reliable way to stop wasm in Node).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from .. import protocol
from ..errors import ProtocolError, RunRefused
from ..runtime.bytecode import present
from ..runtime.stdlib import compiled_stdlib

__all__ = ["CellOutcome", "NodeKernel", "namespace_prefix"]

REPO = Path(__file__).resolve().parents[2]
#: The checkout's host script, else the installed package's copy (bento_wasm/assets/node).
HOST_SCRIPT = next(
    (
        path
        for path in (
            REPO / "worker_js" / "node" / "host.mjs",
            Path(__file__).resolve().parents[1] / "assets" / "node" / "host.mjs",
        )
        if path.is_file()
    ),
    REPO / "worker_js" / "node" / "host.mjs",
)
RUN_MOUNT = "/bento-run"


class CellOutcome(NamedTuple):
    outputs: list[dict[str, Any]]
    ok: bool
    execution_count: int | None
    ename: str = ""
    evalue: str = ""
    memory: dict[str, Any] | None = None


def namespace_prefix(network: str) -> list[str]:
    """The command prefix that cuts the network, or [] for ``network="allow"``."""
    if network == "allow":
        return []
    if network != "none":
        raise RunRefused(f"--network must be 'none' or 'allow', not {network!r}")
    unshare = shutil.which("unshare")
    tried: list[str] = []
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]) if unshare else ():
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return prefix
        tried.append(f"{' '.join(prefix)}: {probe.stderr.strip() or probe.returncode}")
    raise RunRefused(
        "cannot give the run a network namespace of its own ("
        + ("; ".join(tried) or "no unshare command (util-linux)")
        + "); run as root, allow unprivileged user namespaces, or pass --network allow to run "
        "with the host's network"
    )


class NodeKernel:
    """One Node.js process running bento's kernel; ``execute`` runs a cell and waits for it."""

    def __init__(
        self,
        *,
        run_dir: Path,
        runtime: Path,
        wheel: Path,
        kernel_options: dict[str, Any],
        network: str = "none",
        cwd: str | None = None,
        preload: list[str] | None = None,
        preload_from: str = "",
        cache_dir: Path | None = None,
        log: Any = None,
    ) -> None:
        self.log = log
        self.prefix = namespace_prefix(network)
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise RunRefused("Node.js is needed for `bento run`: apt-get install nodejs")
        options = {
            "indexURL": str(runtime.resolve()) + "/",
            "stdLibURL": str(compiled.resolve()) if (compiled := compiled_stdlib(runtime)) else "",
            "wheelPath": str(wheel.resolve()),
            "runDir": str(run_dir.resolve()),
            "runMount": RUN_MOUNT,
            "cwd": str(Path(cwd).resolve()) if cwd else "",
            "preload": preload or [],
            # The packages' bytecode compiled ahead (bento_wasm/runtime/bytecode.py).
            "bytecodeBundles": present(runtime),
            "preloadFrom": preload_from,
            "cacheDir": str(cache_dir) if cache_dir else "",
            "kernelOptions": kernel_options,
            "protocol": protocol.spec(),
        }
        options_file = run_dir / "node-options.json"
        options_file.write_text(json.dumps(options))
        self.stderr: list[str] = []
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.process = subprocess.Popen(
            [*self.prefix, node, str(HOST_SCRIPT), str(options_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.fatal: str = ""
        self.counter = 0

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                self.messages.put(protocol.check(json.loads(raw)))
            except (ValueError, ProtocolError):
                self.stderr.append(raw.decode("utf-8", "replace"))
        self.messages.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.stderr.append(raw.decode("utf-8", "replace"))

    def _next(self, deadline: float | None) -> dict[str, Any] | None:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.messages.get(timeout=timeout)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self._next(deadline)
            except queue.Empty:
                self.stop()
                raise RunRefused(
                    f"the WebAssembly kernel did not start within {timeout:.0f} s"
                ) from None
            if msg is None or msg["type"] == "fatal":
                detail = msg["message"] if msg else "".join(self.stderr[-20:])
                raise RunRefused(f"the WebAssembly kernel could not start: {detail}")
            if msg["type"] == "status" and msg["state"] == "idle":
                return

    def execute(
        self, code: str, timeout: float | None = None, on_output: Any = None
    ) -> CellOutcome:
        self.counter += 1
        cell_id = f"cell-{self.counter}"
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(
                (json.dumps(protocol.message("execute", id=cell_id, code=code)) + "\n").encode()
            )
            self.process.stdin.flush()
        except OSError:
            return self._died([])
        outputs: list[dict[str, Any]] = []
        memory = None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                msg = self._next(deadline)
            except queue.Empty:
                self.stop()
                return CellOutcome(
                    outputs,
                    False,
                    None,
                    "TimeoutError",
                    f"the cell ran past the --execution-timeout of {timeout:g} s; "
                    "the WebAssembly process was stopped",
                    memory,
                )
            if msg is None or msg["type"] == "fatal":
                if msg is not None:
                    self.fatal = msg["message"]
                return self._died(outputs)
            kind = msg["type"]
            if msg.get("id") not in (None, cell_id):
                continue
            if kind == "memory":
                memory = {k: v for k, v in msg.items() if k not in ("type", "id")}
            elif kind == "execute_reply":
                ok = msg["status"] == "ok"
                error = next((o for o in outputs if o["output_type"] == "error"), None)
                return CellOutcome(
                    outputs,
                    ok,
                    int(msg["execution_count"]) or None,
                    error["ename"] if error else "",
                    error["evalue"] if error else "",
                    memory,
                )
            else:
                _add_output(outputs, msg)
                if on_output is not None:
                    on_output(msg)

    def _died(self, outputs: list[dict[str, Any]]) -> CellOutcome:
        self.process.wait(timeout=30)
        detail = (
            self.fatal
            or "".join(self.stderr[-20:]).strip()
            or f"exit status {self.process.returncode}"
        )
        evalue = (
            f"the WebAssembly process ended during the cell ({detail}); the 4 GiB wasm "
            "memory ceiling or a crash: use less data in this cell"
        )
        outputs.append(
            {
                "output_type": "error",
                "ename": "KernelError",
                "evalue": evalue,
                "traceback": [f"KernelError: {evalue}"],
            }
        )
        return CellOutcome(outputs, False, None, "KernelError", evalue)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.stop()


def _add_output(outputs: list[dict[str, Any]], msg: dict[str, Any]) -> None:
    """One protocol message as an nbformat output (streams merged, display updates applied)."""
    kind = msg["type"]
    if kind == "stream":
        last = outputs[-1] if outputs else None
        if last and last["output_type"] == "stream" and last["name"] == msg["name"]:
            last["text"] += msg["text"]
        else:
            outputs.append({"output_type": "stream", "name": msg["name"], "text": msg["text"]})
    elif kind == "display_data":
        out = {"output_type": "display_data", "data": msg["data"], "metadata": msg["metadata"]}
        if msg.get("update") and msg.get("display_id"):
            for i, old in enumerate(outputs):
                if old.get("_display_id") == msg["display_id"]:
                    outputs[i] = {**out, "_display_id": msg["display_id"]}
            return
        if msg.get("display_id"):
            out["_display_id"] = msg["display_id"]
        outputs.append(out)
    elif kind == "execute_result":
        outputs.append(
            {
                "output_type": "execute_result",
                "data": msg["data"],
                "metadata": msg["metadata"],
                "execution_count": msg["execution_count"],
            }
        )
    elif kind == "error":
        outputs.append(
            {
                "output_type": "error",
                "ename": msg["ename"],
                "evalue": msg["evalue"],
                "traceback": msg["traceback"],
            }
        )


def clean_outputs(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k != "_display_id"} for o in outputs]
