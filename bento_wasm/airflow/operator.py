"""``BentoOperator``: one headless run of a notebook (``bento run``) as an Airflow task.

Thin over the runner, as Airflow's papermill operator is over papermill: the parameters and
the output path are templated from the task's context, then :func:`bento_wasm.runs.
execute_notebook` runs the notebook on this worker (data prefetched, no network inside the
run, uploads after it succeeded). A failed run fails the task with the cell, its first line
and the error in the message, and leaves the record's path in XCom (key ``record``), so
Airflow's retries, alerts and notifiers apply. Inlets and outlets are the tables the
notebook's data cells read and upload, found before the run as Airflow assets
(``bento://<connection>/<table>``); Airflow emits an asset event for each outlet when the task
succeeds, i.e. once its uploads are done, which is what asset-scheduled DAGs wait for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowException

from ..errors import RunFailed
from ..schedule.dag import asset_uri
from ..schedule.report import failure_fields, failure_line

__all__ = ["BentoOperator", "NotebookRunFailed", "table_asset"]


def table_asset(connection: str | None, table: str) -> Asset:
    """The asset of a warehouse table, as BentoOperator names it; put it in any task's
    ``outlets`` and the notebooks that read the table run when that task succeeds."""
    return Asset(uri=asset_uri(connection, table))


class NotebookRunFailed(AirflowException):  # type: ignore[misc]  # no stubs
    """The notebook's run failed; ``failure`` holds the RunFailed fields (cell, error,
    record), the notifier's source for the owner's email."""

    def __init__(self, message: str, failure: dict[str, Any]) -> None:
        super().__init__(message)
        self.failure = failure


class BentoOperator(BaseOperator):  # type: ignore[misc]  # Airflow ships no type stubs
    """Run ``notebook`` headless and write its record to ``output_path``.

    :param notebook: the notebook to run (a path on the Airflow worker).
    :param output_path: where the record (the executed notebook) goes; templated, so
        ``runs/daily-{{ run_id }}.ipynb`` keeps one record per run.
    :param parameters: injected as papermill does; values are templated (``{{ ds }}``).
    :param cwd: the run's working folder (default: the runner's, the notebook's folder).
    :param cell_timeout: seconds one cell may run (the runner's ``execution_timeout``); the
        task's own ``execution_timeout`` still bounds the whole task.
    :param network: the run's network (``"none"``: no network at all inside the run).
    :param connections: warehouse connections, as ``bento run`` takes them.
    :param keep_files: keep the run's prefetched files (for debugging).

    ``inlets``/``outlets`` default to the assets of the tables the notebook reads and uploads.
    """

    template_fields: Sequence[str] = ("parameters", "output_path")
    template_fields_renderers: ClassVar[dict[str, str]] = {"parameters": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        notebook: str | Path,
        output_path: str,
        parameters: dict[str, Any] | None = None,
        cwd: str | None = None,
        cell_timeout: float | None = None,
        network: str = "none",
        connections: Any = None,
        keep_files: bool = False,
        **kwargs: Any,
    ) -> None:
        if "inlets" not in kwargs or "outlets" not in kwargs:
            inlets, outlets = self.assets_of(str(notebook))
            kwargs.setdefault("inlets", inlets)
            kwargs.setdefault("outlets", outlets)
        super().__init__(**kwargs)
        self.notebook = str(notebook)
        self.output_path = output_path
        self.parameters = dict(parameters or {})
        self.cwd = cwd
        self.cell_timeout = cell_timeout
        self.network = network
        self.connections = connections
        self.keep_files = keep_files

    @staticmethod
    def assets_of(notebook: str) -> tuple[list[Asset], list[Asset]]:
        """(inlets, outlets): the tables the notebook's SQL reads and the ones it uploads,
        read from its cells before any run (the runner's own plan)."""
        from ..runs import plan_run

        plan = plan_run(notebook)
        return (
            [table_asset(conn, table) for conn, table in plan.inputs],
            [table_asset(conn, table) for conn, table in plan.outputs],
        )

    def execute(self, context: Any) -> str:
        from ..runs import execute_notebook

        ti = context["ti"]
        Path(self.output_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            result = execute_notebook(
                self.notebook,
                self.output_path,
                self.parameters,
                cwd=self.cwd,
                execution_timeout=self.cell_timeout,
                network=self.network,
                connections=self.connections,
                keep_files=self.keep_files,
                log_output=True,
                progress=False,
            )
        except RunFailed as exc:
            failure = failure_fields(exc)
            if exc.output_path:
                ti.xcom_push(key="record", value=str(exc.output_path))
            raise NotebookRunFailed(failure_line(self.notebook, failure), failure) from exc
        record = str(result.output_path)
        ti.xcom_push(key="record", value=record)
        for asset in self.outlets:
            if isinstance(asset, Asset):
                context["outlet_events"][asset].extra = {"record": record}
        self.log.info("ran %s; record at %s", self.notebook, record)
        return record
