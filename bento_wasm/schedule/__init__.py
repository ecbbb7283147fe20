"""Scheduling: a notebook as a plain, reviewable Airflow DAG file.

Owns: :mod:`~bento_wasm.schedule.dag` (the DAG generator: a :class:`ScheduleSpec`, which is
data, in; the DAG file's text out; pure, shared by ``bento schedule`` and the page's Schedule
dialog), :mod:`~bento_wasm.schedule.notebook` (what a notebook offers a schedule: its
``parameters`` cell's defaults) and :mod:`~bento_wasm.schedule.command` (``bento schedule``).
The Airflow side (``BentoOperator``, the owner's notifier) is the ``airflow`` layer package.

May import: the standard library, ``errors``, and ``runs`` (the notebook's inputs, for
``--on-assets``). Never ``airflow``: the generator runs where Airflow is not installed.
"""

from __future__ import annotations

from .dag import ScheduleSpec, asset_uri, dag_id_for, render_dag

__all__ = ["ScheduleSpec", "asset_uri", "dag_id_for", "render_dag"]
