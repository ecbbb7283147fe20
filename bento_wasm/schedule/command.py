"""``bento schedule NOTEBOOK``: write the notebook's DAG file into a dags folder, for review.

    bento schedule notebooks/daily.ipynb --cron "0 6 * * *" -p day "{{ ds }}" \\
        --owner ana@example.com --dags-folder dags --output-dir runs
    bento schedule notebooks/report.ipynb --on-assets --owner ana@example.com

``--on-assets`` schedules the notebook on the tables its data cells read (found before any
run, as ``bento run`` plans it). An existing DAG file is kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import BentoError
from .dag import ScheduleSpec, asset_uri, dag_id_for, render_dag

__all__ = ["main", "parse_value"]


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads it: True/False/None, an int, a float, else the text."""
    named = {"True": True, "False": False, "None": None}
    if text in named:
        return named[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def input_assets(notebook: Path) -> tuple[str, ...]:
    """The asset URIs of the tables the notebook's data cells read (before any run)."""
    from ..runs import plan_run

    plan = plan_run(notebook)
    return tuple(dict.fromkeys(asset_uri(conn, table) for conn, table in plan.inputs))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bento schedule", description=__doc__.splitlines()[0])
    p.add_argument("notebook", type=Path)
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='cron expression (UTC), e.g. "0 6 * * *", or @daily')
    when.add_argument(
        "--on-assets", action="store_true", help="run when the tables it reads are updated"
    )
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE")
    )
    p.add_argument("--owner", required=True, help="email of who is told when a run fails")
    p.add_argument(
        "--dags-folder",
        type=Path,
        default=Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "dags")),
        help="where the DAG file goes (default: $AIRFLOW__CORE__DAGS_FOLDER, else ./dags)",
    )
    p.add_argument(
        "--output-dir", type=Path, help="where each run's record goes (default: runs/ beside it)"
    )
    p.add_argument("--dag-id", default="", help="default: bento_<notebook name>")
    p.add_argument("--retries", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace an existing DAG file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    notebook = args.notebook.resolve()
    try:
        if not notebook.is_file():
            raise BentoError(f"no notebook at {notebook}; give the path of an .ipynb file")
        spec = ScheduleSpec(
            notebook=str(notebook),
            owner=args.owner,
            output_dir=str((args.output_dir or notebook.parent / "runs").resolve()),
            cron=args.cron,
            assets=input_assets(notebook) if args.on_assets else (),
            parameters={name: parse_value(value) for name, value in args.parameter},
            dag_id=args.dag_id,
            start_date=datetime.datetime.now(datetime.UTC).date().isoformat(),
            retries=args.retries,
        )
        if args.on_assets and not spec.assets:
            raise BentoError(
                f"{notebook.name} reads no warehouse table, so it has no input to wait for; "
                "schedule it with --cron instead"
            )
        text = render_dag(spec)
        target = args.dags_folder / f"{spec.dag_id or dag_id_for(spec.notebook)}.py"
        if target.exists() and not args.force:
            raise BentoError(f"{target} exists; review it, then pass --force to replace it")
    except BentoError as exc:
        print(f"bento schedule: {exc}", file=sys.stderr)
        return 1
    args.dags_folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
