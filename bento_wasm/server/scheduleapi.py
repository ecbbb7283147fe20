"""The Schedule dialog's and the Runs pane's endpoints (token auth, as every ``/bento/api``).

    GET  /bento/api/schedule/notebook?path=P  what the dialog prefills: the ``parameters`` cell's
                                               defaults, the tables it reads (as assets), the DAG id
    POST /bento/api/schedule/preview          the DAG file for the dialog's choices (the generator
                                               ``bento schedule`` uses), and where to save it
    POST /bento/api/schedule/run              Run now: one headless run, its record's path
                                               ({{ ds }} and friends rendered as for a manual run)
    GET  /bento/api/schedule/runs?path=P&output_dir=D   the notebook's run records, newest first

Paths are the contents API's: relative to the server's root, never outside it. The page saves
the DAG itself through Jupyter Server's contents API (``PUT /api/contents/<dags>/<id>.py``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tornado import web

from ..errors import BentoError, ConfigError, RunFailed
from ..schedule.dag import ScheduleSpec, asset_uri, dag_id_for, render_dag, render_now
from ..schedule.notebook import parameters_of, read_notebook
from ..schedule.report import failure_fields
from .api import BentoAPIHandler

__all__ = ["handlers", "run_summary"]

#: Where a notebook's records go unless the dialog says otherwise (beside the notebook).
DEFAULT_OUTPUT_DIR = "runs"
DEFAULT_DAGS_DIR = "dags"


def run_summary(record: dict[str, Any]) -> dict[str, Any]:
    """Status, start, parameters and the failing cell (its index in the record, first line,
    error) of one run record, as the Runs pane lists it."""
    papermill = record.get("metadata", {}).get("papermill", {})
    bento = record.get("metadata", {}).get("bento", {})
    failing = None
    for index, cell in enumerate(record.get("cells", [])):
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "failed":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            error: dict[str, Any] = errors[0] if errors else {}
            failing = {
                "index": index,
                "first_line": text.strip().splitlines()[0] if text.strip() else "",
                "ename": error.get("ename", ""),
                "evalue": error.get("evalue", ""),
            }
            break
    failed = bool(papermill.get("exception")) or failing is not None
    return {
        "status": bento.get("status") or ("failed" if failed else "completed"),
        "started": papermill.get("start_time"),
        "duration": papermill.get("duration"),
        "parameters": papermill.get("parameters", {}),
        "failing_cell": failing,
    }


class _ScheduleHandler(BentoAPIHandler):
    def local(self, relative: str, what: str) -> Path:
        """``relative`` (a contents path) as a path under the server's root, or a ConfigError."""
        root = Path(self.settings.get("server_root_dir", ".")).expanduser().resolve()
        path = (root / relative.lstrip("/")).resolve()
        if not relative or not path.is_relative_to(root):
            raise ConfigError(f"{what} {relative!r} is not a path under the server's root")
        return path

    def contents_path(self, path: Path) -> str:
        root = Path(self.settings.get("server_root_dir", ".")).expanduser().resolve()
        return path.relative_to(root).as_posix()

    def output_dir(self, notebook: str, given: str | None) -> Path:
        folder = given if given else str(Path(notebook).parent / DEFAULT_OUTPUT_DIR)
        return self.local(folder, "output folder")

    async def describe(self, relative: str) -> dict[str, Any]:
        """What the dialog prefills for the notebook at ``relative``."""
        from ..runs import plan_run

        path = self.local(relative, "notebook")
        plan = await asyncio.to_thread(plan_run, path)
        return {
            "parameters": parameters_of(read_notebook(path)),
            "inputs": sorted({asset_uri(conn, table) for conn, table in plan.inputs}),
            "dag_id": dag_id_for(relative),
            "output_dir": str(Path(relative).parent / DEFAULT_OUTPUT_DIR),
            "dags_dir": DEFAULT_DAGS_DIR,
        }

    async def guarded(self, work: Any) -> None:
        try:
            self.reply(await work)
        except BentoError as exc:
            self.fail(400, exc)


class NotebookHandler(_ScheduleHandler):
    @web.authenticated
    async def get(self) -> None:
        await self.guarded(self.describe(self.get_argument("path", "")))


class PreviewHandler(_ScheduleHandler):
    @web.authenticated
    async def post(self) -> None:
        await self.guarded(self._preview(self.json_body()))

    async def _preview(self, body: dict[str, Any]) -> dict[str, Any]:
        relative = str(body.get("notebook", ""))
        spec = dict(body)
        spec["notebook"] = str(self.local(relative, "notebook"))
        spec["output_dir"] = str(self.output_dir(relative, body.get("output_dir")))
        if spec.pop("on_assets", False):
            spec["assets"] = (await self.describe(relative))["inputs"]
            spec["cron"] = None
        dags_dir = str(spec.pop("dags_dir", "") or DEFAULT_DAGS_DIR)
        checked = ScheduleSpec.from_dict(spec)
        target = self.local(f"{dags_dir}/{checked.effective_dag_id}.py", "dags folder")
        return {
            "dag_id": checked.effective_dag_id,
            "path": self.contents_path(target),
            "exists": target.exists(),
            "source": render_dag(checked),
        }


class RunNowHandler(_ScheduleHandler):
    @web.authenticated
    async def post(self) -> None:
        await self.guarded(self._run(self.json_body()))

    async def _run(self, body: dict[str, Any]) -> dict[str, Any]:
        from datetime import UTC, datetime

        from ..runs import execute_notebook

        relative = str(body.get("notebook", ""))
        notebook = self.local(relative, "notebook")
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ConfigError("parameters must be an object of name: value")
        folder = self.output_dir(relative, body.get("output_dir"))
        now = datetime.now(UTC)
        run_id = f"manual__{now.strftime('%Y%m%dT%H%M%S')}"
        parameters = render_now(parameters, now, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        record = folder / f"{notebook.stem}-{run_id}.ipynb"
        try:
            await asyncio.to_thread(execute_notebook, notebook, record, parameters, progress=False)
        except RunFailed as exc:
            return {
                "status": "failed",
                "record": self.contents_path(record),
                "error": failure_fields(exc),  # the cell's own error, not RunFailed's
                "failing_cell": self._failing_cell(record),
            }
        return {
            "status": "completed",
            "record": self.contents_path(record),
            "error": None,
            "failing_cell": None,
        }

    @staticmethod
    def _failing_cell(record: Path) -> dict[str, Any] | None:
        """The failing cell as the Runs pane lists it (its index counts the record's cells,
        so the page's link scrolls to it), or None when no record was written."""
        try:
            summary = run_summary(json.loads(record.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
        failing: dict[str, Any] | None = summary["failing_cell"]
        return failing


class RunsHandler(_ScheduleHandler):
    @web.authenticated
    async def get(self) -> None:
        await self.guarded(self._runs())

    async def _runs(self) -> dict[str, Any]:
        relative = self.get_argument("path", "")
        stem = self.local(relative, "notebook").stem
        folder = self.output_dir(relative, self.get_argument("output_dir", ""))
        runs = []
        for path in sorted(folder.glob(f"{stem}-*.ipynb")) if folder.is_dir() else []:
            try:
                summary = run_summary(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a record being written, or not a notebook: not listed
            runs.append({"record": self.contents_path(path), **summary})
        runs.sort(key=lambda run: str(run.get("started") or ""), reverse=True)
        return {"runs": runs}


def handlers(app: Any) -> list[tuple[str, type, dict[str, Any]]]:
    return [
        (r"/bento/api/schedule/notebook", NotebookHandler, {}),
        (r"/bento/api/schedule/preview", PreviewHandler, {}),
        (r"/bento/api/schedule/run", RunNowHandler, {}),
        (r"/bento/api/schedule/runs", RunsHandler, {}),
    ]
