"""Airflow: scheduled notebooks as Airflow tasks (needs the ``airflow`` extra, Airflow 3).

Owns: :mod:`~bento_wasm.airflow.operator` (``BentoOperator``: one headless run of a
notebook as a task, its inlets/outlets as assets from the notebook's data cells) and
:mod:`~bento_wasm.airflow.notifier` (``OwnerNotifier``: the owner's email when a run fails).
The DAG file that uses them is written by :mod:`bento_wasm.schedule` (no Airflow needed).

May import: ``airflow`` (its task SDK and the SMTP provider), the standard library, ``errors``,
``runs`` (the headless runner) and ``schedule`` (asset names, failure texts). Thin: each class
turns Airflow's conventions into one call of the project's API (STYLE.md #8).
"""

from __future__ import annotations

from .notifier import OwnerNotifier
from .operator import BentoOperator, table_asset

__all__ = ["BentoOperator", "OwnerNotifier", "table_asset"]
