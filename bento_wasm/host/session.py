"""One run's steps after planning: network, prefetch, the cells in Node.js, uploads, lineage."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..errors import BentoError, RunRefused
from ..runs import params as P
from ..runs import record
from ..runs.plan import RunPlan, first_line
from .node import RUN_MOUNT, NodeKernel, clean_outputs, namespace_prefix
from .outcome import RunResult, error_output, fail, refuse, say, write
from .prefetch import connections as named_connections
from .prefetch import prefetch, warehouse
from .uploads import pending, upload_all

__all__ = ["Run"]

#: Errors of a cell that tried the network in a run without one.
_NETWORK_HINTS = (
    "fetch failed",
    "ECONNREFUSED",
    "ENETUNREACH",
    "Network is unreachable",
    "NetworkError",
    "XMLHttpRequest is not defined",
    "socket",
)


class Run:
    def __init__(
        self,
        nb: dict[str, Any],
        out: Path,
        parameters: dict[str, Any],
        *,
        connections: dict[str, str] | None,
        network: str,
        progress: bool,
        log_output: bool,
        execution_timeout: float | None,
        cwd: Any,
        runtime: Path,
        wheel: Path | None,
        start_timeout: float,
    ) -> None:
        self.nb, self.out, self.parameters = nb, out, parameters
        self.job = Path(str(nb["metadata"]["papermill"]["input_path"])).stem
        self.uris = named_connections(connections)
        self.network, self.progress, self.log_output = network, progress, log_output
        self.timeout = execution_timeout
        self.cwd = str(cwd) if cwd is not None else None
        self.runtime, self.wheel, self.start_timeout = runtime, wheel, start_timeout
        self.graphql_endpoint = os.environ.get("BENTO_GRAPHQL_ENDPOINT", "")
        self.bento: dict[str, Any] = {
            "engine": "bento-wasm",
            "network": network,
            "runtime": str(runtime),
            "inputs": [],
            "uploads": [],
        }

    def dialects(self) -> dict[str, str]:
        return {
            n: "postgres" if u.startswith("postgres") else "duckdb" for n, u in self.uris.items()
        }

    def _wheel(self) -> Path:
        if self.wheel is not None:
            return self.wheel
        folder = Path(__file__).resolve().parents[2] / "wheels"
        found = sorted(
            folder.glob("bento_wasm-*-py3-none-any.whl"), key=lambda p: p.stat().st_mtime
        )
        if found:
            return found[-1]  # a checkout: the wheel ./dev wheel built
        from ..runtime import default_cache
        from ..server.browser_wheel import ensure_browser_wheel

        return ensure_browser_wheel(default_cache() / "wheels")  # installed: made from itself

    def execute(self, run_dir: Path, plan: RunPlan) -> RunResult:
        from .lineage import Lineage

        nb, out = self.nb, self.out
        lineage = Lineage(out, plan, self.uris, self.job)
        self.bento["lineage"] = lineage.describe()
        if plan.refusals:
            raise refuse(nb, out, plan.refusals[0], self.bento)
        try:
            namespace_prefix(self.network)
            wheel = self._wheel()
        except RunRefused as exc:
            raise refuse(nb, out, exc, self.bento) from None
        lineage.start()
        inputs_dir, outbox = run_dir / "inputs", run_dir / "outputs"
        inputs_dir.mkdir()
        outbox.mkdir()
        store = warehouse(self.uris)
        try:
            inbox = self._prefetch(plan, inputs_dir, store, lineage)
            return self._boot(run_dir, plan, wheel, inbox, store, outbox, lineage)
        finally:
            store.close()

    def _prefetch(
        self, plan: RunPlan, inputs_dir: Path, store: Any, lineage: Any
    ) -> dict[str, str]:
        nb, out = self.nb, self.out
        inbox: dict[str, str] = {}
        for fetch in plan.fetches:
            started = time.perf_counter()
            try:
                path, entry = prefetch(fetch, inputs_dir, store)
            except BentoError as exc:
                nb["cells"][fetch.cell_index]["outputs"] = [error_output(exc)]
                nb["cells"][fetch.cell_index]["metadata"]["papermill"].update(
                    status=record.FAILED, exception=True
                )
                error = fail(
                    nb,
                    out,
                    fetch.cell_index,
                    type(exc).__name__,
                    f"prefetch failed: {exc.message}",
                    self.bento,
                )
                lineage.fail(error)
                raise error from exc
            entry["seconds"] = round(time.perf_counter() - started, 3)
            self.bento["inputs"].append(entry)
            inbox[fetch.key] = f"{RUN_MOUNT}/inputs/{path.name}"
            say(
                self.progress,
                f"prefetched cell {fetch.cell_index + 1} ({fetch.kind}): "
                f"{entry['rows']} rows, {entry['bytes']} bytes in {entry['seconds']} s",
            )
        lineage.inputs(self.bento["inputs"])
        return inbox

    def _boot(
        self,
        run_dir: Path,
        plan: RunPlan,
        wheel: Path,
        inbox: dict[str, str],
        store: Any,
        outbox: Path,
        lineage: Any,
    ) -> RunResult:
        options = {
            "run": {
                "inputs": inbox,
                "outbox": f"{RUN_MOUNT}/outputs",
                "graphql_endpoint": self.graphql_endpoint,
            },
            "memory": {"enabled": True},
            "offload": {"auto": False},
        }
        kernel = NodeKernel(
            run_dir=run_dir,
            runtime=self.runtime,
            wheel=wheel,
            kernel_options=options,
            network=self.network,
            cwd=self.cwd,
            preload=["pandas", "pyarrow"] if plan.fetches or plan.uploads else [],
            preload_from=self._imports(),
            cache_dir=_cache_dir(),
        )
        try:
            return self._run(kernel, store, outbox, lineage)
        finally:
            kernel.close()

    def _imports(self) -> str:
        """The import lines of every code cell (Pyodide's scan picks the packages)."""
        lines = []
        for cell in self.nb["cells"]:
            if cell.get("cell_type") == "code":
                source = P.source_of(cell)
                lines += [ln.strip() for ln in source.splitlines()
                          if ln.strip().startswith(("import ", "from "))]  # fmt: skip
        return "\n".join(lines)

    def _run(self, kernel: NodeKernel, store: Any, outbox: Path, lineage: Any) -> RunResult:
        nb, out = self.nb, self.out
        try:
            try:
                kernel.wait_ready(self.start_timeout)
            except RunRefused as exc:
                error = fail(nb, out, None, "KernelError", exc.message, self.bento)
                lineage.fail(error)
                raise error from None
            self._cells(kernel, lineage)
        finally:
            kernel.close()
        return self._upload(outbox, store, lineage)

    def _cells(self, kernel: NodeKernel, lineage: Any) -> None:
        nb, out = self.nb, self.out
        code_cells = [i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
        for n, index in enumerate(code_cells, 1):
            cell = nb["cells"][index]
            source = P.source_of(cell)
            record.cell_started(cell)
            if not source.strip():
                record.cell_done(nb, cell, [], None, False)
                continue
            outcome = kernel.execute(source, self.timeout, self._logger(index))
            outputs = clean_outputs(outcome.outputs)
            record.cell_done(nb, cell, outputs, outcome.execution_count, not outcome.ok)
            if outcome.memory:
                cell["metadata"].setdefault("bento", {})["memory"] = outcome.memory
            meta = cell["metadata"]["papermill"]
            say(
                self.progress,
                f"cell {index + 1} ({n}/{len(code_cells)}) {meta['status']} in "
                f"{meta['duration']:.2f} s: {first_line(source)[:60]}",
            )
            if not outcome.ok:
                evalue = outcome.evalue
                if self.network == "none" and any(h in evalue for h in _NETWORK_HINTS):
                    evalue += (
                        "; this cell tried the network, which a run does not have "
                        "(--network none): read data through %%sql, %%graphql or "
                        "%%googlesheet cells, which are prefetched"
                    )
                error = fail(nb, out, index, outcome.ename or "Error", evalue, self.bento)
                lineage.fail(error)
                raise error

    def _logger(self, index: int) -> Any:
        if not self.log_output:
            return None

        def log(msg: dict[str, Any]) -> None:
            if msg["type"] == "stream":
                for line in msg["text"].splitlines():
                    say(True, f"[cell {index + 1}] {line}")

        return log

    def _upload(self, outbox: Path, store: Any, lineage: Any) -> RunResult:
        nb, out = self.nb, self.out
        results = upload_all(pending(outbox, RUN_MOUNT), store)
        self.bento["uploads"] = results
        for result in results:
            say(
                self.progress,
                f"upload {result['connection']}.{result['table']}: "
                f"{result['state']} ({result['rows']} rows)",
            )
        failed = [r for r in results if r["state"] != "done"]
        if failed:
            done = [f"{r['connection']}.{r['table']}" for r in results if r["state"] == "done"]
            text = "; ".join(
                f"{r['connection']}.{r['table']}: {r['error']['evalue']}" for r in failed
            )
            error = fail(
                nb,
                out,
                None,
                "UploadError",
                f"{len(failed)} of {len(results)} uploads failed ({text}); uploaded: "
                f"{', '.join(done) or 'none'}",
                self.bento,
            )
            lineage.fail(error, results)
            raise error
        lineage.complete(results)
        record.finish(nb, {**self.bento, "status": "completed"})
        write(nb, out)
        return RunResult(
            str(out), "completed", self.parameters, self.bento["inputs"], results, lineage.path
        )


def _cache_dir() -> Path | None:
    """The host's cache for the sandbox (matplotlib's font cache), or None if not writable."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "bento-wasm" / "runs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
