"""``OwnerNotifier``: the owner's email when a scheduled notebook fails.

Airflow's notifier interface (``on_failure_callback=OwnerNotifier(owner=...)``), sent through
the SMTP provider's notifier and its connection (``smtp_default``, or ``smtp_conn_id``), so
the mail server is configured as for any Airflow email. The email names the notebook, the
failing cell (number and first line), the error and where the record is.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from ..schedule.report import failure_email
from .operator import NotebookRunFailed

__all__ = ["OwnerNotifier"]


def _failure(context: Any) -> tuple[str, dict[str, Any]]:
    """(notebook, RunFailed fields) from the failed task's context; an error that is not a
    failed run (the runner refused to start, a timeout) still names itself."""
    task = context.get("task")
    notebook = str(getattr(task, "notebook", "") or getattr(task, "task_id", "the notebook"))
    exc = context.get("exception")
    if isinstance(exc, NotebookRunFailed):
        return notebook, dict(exc.failure)
    ti = context.get("ti")
    record = ti.xcom_pull(task_ids=ti.task_id, key="record") if ti is not None else None
    return notebook, {
        "cell_index": getattr(exc, "cell_index", None),
        "cell_first_line": getattr(exc, "cell_first_line", None),
        "ename": type(exc).__name__ if exc is not None else "Error",
        "evalue": str(exc) if exc is not None else "the task failed",
        "output_path": record,
    }


class OwnerNotifier(SmtpNotifier):  # type: ignore[misc]  # Airflow ships no type stubs
    """Email ``owner`` (one address or several) when the task fails."""

    def __init__(
        self, *, owner: str | list[str], from_email: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(to=owner, from_email=from_email, **kwargs)
        self.owner = owner

    def notify(self, context: Any) -> None:
        notebook, failure = _failure(context)
        ti = context.get("ti")
        self.subject, self.html_content = failure_email(
            notebook,
            failure,
            dag_id=str(getattr(ti, "dag_id", "")),
            run_id=str(getattr(ti, "run_id", "")),
            try_number=getattr(ti, "try_number", None),
        )
        super().notify(context)
