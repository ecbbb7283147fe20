"""The DAG generator: a schedule, which is data, in; a plain Airflow DAG file's text out.

Pure (no IO, no Airflow import), so ``bento schedule`` and the page's Schedule dialog write
the same file. Every value the user chose is written as a Python literal (``repr`` of str,
int, float, bool, None, lists and dicts, checked with ``ast.literal_eval``), and every name
that is not a literal (the DAG id, parameter names) is checked against a strict pattern:
nothing the user types can become code in the file (STYLE.md #14).
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from ..errors import ConfigError

__all__ = ["ScheduleSpec", "asset_uri", "dag_id_for", "literal", "render_dag", "render_now"]

#: Airflow's own presets, accepted as they are besides five-field cron expressions.
PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")
_DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_TABLE = re.compile(r"^[A-Za-z0-9_.$-]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The run's identifier, always in Airflow's context (a cron run's ``ds`` is not in an
#: asset-triggered run's): one record per run.
RUN_TEMPLATE = "{{ run_id }}"
UTC = "datetime.timezone.utc"


def asset_uri(connection: str | None, table: str) -> str:
    """The Airflow asset URI of a warehouse table: ``bento://<connection>/<table>``.

    The same for the operator's inlets/outlets and for any Airflow task that updates the
    table, so a notebook that reads ``orders`` runs when ``orders`` has been updated.
    """
    name = connection or "default"
    for part in (name, table):
        if not _TABLE.match(part):
            raise ConfigError(
                f"{part!r} cannot name an asset (letters, digits, _ . $ - only); "
                "rename the connection or table"
            )
    return f"bento://{name}/{table}"


def dag_id_for(notebook: str) -> str:
    """``bento_<stem>``, the notebook's file name made a valid DAG id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePath(notebook).stem).strip("_") or "notebook"
    return f"bento_{stem}"[:200]


def literal(value: Any, indent: int = 0) -> str:
    """``value`` as Python source that ``ast.literal_eval`` reads back equal; dicts and lists
    one item a line. Anything but JSON-like data is refused."""
    pad = "    " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"parameter names must be strings, not {key!r}")
            items.append(f"{pad}{key!r}: {literal(item, indent + 1)},")
        return "{\n" + "\n".join(items) + "\n" + "    " * indent + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        rows = [f"{pad}{literal(item, indent + 1)}," for item in value]
        return "[\n" + "\n".join(rows) + "\n" + "    " * indent + "]"
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{value!r} cannot be a parameter value; use a finite number or a string")
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        if ast.literal_eval(text) != value:  # pragma: no cover - repr of these round-trips
            raise ConfigError(f"{value!r} does not survive as a literal")
        return text
    raise ConfigError(
        f"a {type(value).__name__} cannot be written into a DAG file; use str, int, float, "
        "bool, None, lists or dicts of them"
    )


@dataclass(frozen=True)
class ScheduleSpec:
    """What to schedule: a notebook, when (a cron expression, or the assets it reads), with
    which parameters, for whom, and where each run's record goes."""

    notebook: str
    owner: str
    output_dir: str
    cron: str | None = None
    #: Asset URIs (:func:`asset_uri`): run when all of them have been updated.
    assets: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    dag_id: str = ""
    start_date: str = "2026-01-01"
    retries: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleSpec:
        """The page's request body (JSON) as a spec; unknown keys are refused by name."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown schedule fields {unknown}; known: {sorted(known)}")
        values = dict(data)
        values["assets"] = tuple(values.get("assets") or ())
        values["parameters"] = dict(values.get("parameters") or {})
        return cls(**values).checked()

    @property
    def effective_dag_id(self) -> str:
        return self.dag_id or dag_id_for(self.notebook)

    def output_path(self) -> str:
        """Where a run's record goes: ``<output_dir>/<stem>-{{ run_id }}.ipynb``."""
        stem = PurePath(self.notebook).stem
        return str(PurePath(self.output_dir) / f"{stem}-{RUN_TEMPLATE}.ipynb")

    def checked(self) -> ScheduleSpec:
        """The spec itself, or a ConfigError naming the field to fix."""
        self._check_when()
        for uri in self.assets:
            if not uri.startswith("bento://"):
                raise ConfigError(f"{uri!r} is not a bento asset URI (bento://CONNECTION/TABLE)")
        if not _EMAIL.match(self.owner):
            raise ConfigError(f"owner {self.owner!r} is not an email address; pass --owner EMAIL")
        if not _DAG_ID.match(self.effective_dag_id):
            raise ConfigError(
                f"DAG id {self.effective_dag_id!r} may hold only letters, digits, _ . - "
                "(at most 200)"
            )
        for name in self.parameters:
            if not (isinstance(name, str) and name.isidentifier()) or keyword.iskeyword(name):
                raise ConfigError(f"parameter name {name!r} is not a Python identifier")
        if not _DATE.match(self.start_date):
            raise ConfigError(f"start date {self.start_date!r} is not YYYY-MM-DD")
        if not self.notebook.endswith(".ipynb") or not self.output_dir:
            raise ConfigError(
                f"{self.notebook!r} is not a notebook path (.ipynb), or no output folder given"
            )
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ConfigError(f"retries must be a whole number >= 0, not {self.retries!r}")
        literal(self.parameters)
        return self

    def _check_when(self) -> None:
        if bool(self.cron) == bool(self.assets):
            raise ConfigError(
                "a schedule needs either a cron expression (--cron '0 6 * * *') or the "
                "notebook's input assets (--on-assets), not both and not neither"
            )
        fields = (self.cron or "").split()
        five = len(fields) == 5 and all(map(_CRON_FIELD.match, fields))
        if self.cron and not (self.cron in PRESETS or five):
            raise ConfigError(
                f"{self.cron!r} is not a cron expression; give five fields like "
                f"'0 6 * * *' or one of {', '.join(PRESETS)}"
            )


_HEADER = '''"""A scheduled bento notebook: the DAG `bento schedule` wrote, to review like any code.

Everything this schedule does is in this file. Each run executes NOTEBOOK headless on the
Airflow worker (as `bento run` does: data prefetched, no network while it runs, uploads after
it succeeded) and writes its record, the executed notebook, to OUTPUT_PATH. A failed cell fails
the task (Airflow's retries apply) and OWNER gets an email naming the cell.
"""

from __future__ import annotations

import datetime

from airflow.sdk import {airflow_names}

from bento_wasm.airflow import BentoOperator, OwnerNotifier

'''


def render_dag(spec: ScheduleSpec) -> str:
    """The DAG file's source for ``spec`` (checked first: a bad spec raises ConfigError)."""
    spec = spec.checked()
    year, month, day = (int(part) for part in spec.start_date.split("-"))
    if spec.cron:
        when = (
            f"#: Cron: minute hour day-of-month month day-of-week (UTC).\n"
            f"SCHEDULE = {literal(spec.cron)}\n"
        )
    else:
        rows = "".join(f"    Asset(uri={literal(uri)}),\n" for uri in spec.assets)
        when = (
            "#: Runs once every one of these tables has been updated since the last run (by a\n"
            "#: bento notebook that uploads it, or any Airflow task with it in its outlets).\n"
            f"SCHEDULE = [\n{rows}]\n"
        )
    return (
        _HEADER.format(airflow_names="DAG" if spec.cron else "DAG, Asset")
        + f"NOTEBOOK = {literal(spec.notebook)}\n"
        + f"OWNER = {literal(spec.owner)}\n"
        + "#: Injected into the notebook's `parameters` cell. Strings are Jinja templates\n"
        + "#: rendered from the run's context, e.g. {{ ds }} (a cron run's date).\n"
        + f"PARAMETERS = {literal(spec.parameters)}\n"
        + "#: One record per run.\n"
        + f"OUTPUT_PATH = {literal(spec.output_path())}\n"
        + when
        + "\n"
        + "with DAG(\n"
        + f"    dag_id={literal(spec.effective_dag_id)},\n"
        + "    schedule=SCHEDULE,\n"
        + f"    start_date=datetime.datetime({year}, {month}, {day}, tzinfo={UTC}),\n"
        + "    catchup=False,\n"
        + "    tags=['bento'],\n"
        + f"    default_args={{'owner': OWNER, 'retries': {spec.retries}}},\n"
        + "):\n"
        + "    BentoOperator(\n"
        + "        task_id='run_notebook',\n"
        + "        notebook=NOTEBOOK,\n"
        + "        parameters=PARAMETERS,\n"
        + "        output_path=OUTPUT_PATH,\n"
        + "        on_failure_callback=OwnerNotifier(owner=OWNER),\n"
        + "    )\n"
    )


_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")


def render_now(parameters: dict[str, Any], now: Any, run_id: str) -> dict[str, Any]:
    """The parameters of a run started by hand now (the page's *Run now*): ``{{ ds }}``,
    ``{{ ds_nodash }}``, ``{{ ts }}`` and ``{{ run_id }}`` rendered as Airflow would render them
    for a manual run at ``now`` (an aware datetime); any other template is refused by name,
    since only Airflow knows its value."""
    known = {
        "ds": now.date().isoformat(),
        "ds_nodash": now.strftime("%Y%m%d"),
        "ts": now.isoformat(),
        "run_id": run_id,
    }

    def one(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        rendered = _TEMPLATE.sub(lambda m: known.get(m.group(1), m.group(0)), value)
        if "{{" in rendered or "{%" in rendered:
            raise ConfigError(
                f"parameter {name!r} = {value!r}: Run now renders only "
                f"{', '.join('{{ ' + k + ' }}' for k in known)}; give a plain value to try it, "
                "Airflow renders the rest on schedule"
            )
        return rendered

    return {name: one(name, value) for name, value in parameters.items()}
