"""OpenLineage run events of a headless run, built with the client's own models.

START when the run begins, then COMPLETE or FAIL (with the error facet). Inputs are the
tables the SQL reads (sqlglot, in :mod:`bento_wasm.runs.plan`), the GraphQL endpoints and the
sheets, with schema and row-count facets once prefetched; outputs are the uploaded tables;
the job carries the SQL facet. Dataset naming: the connection's URI without credentials is
the namespace, the table the name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["JOB_NAMESPACE", "event", "namespace_of"]

JOB_NAMESPACE = "bento"
PRODUCER = "https://github.com/bento-wasm/bento-wasm"


def namespace_of(uri: str) -> str:
    """``duckdb:///abs/path.duckdb`` stays; ``postgresql://u:p@h:5432/db`` -> ``postgres://h:5432``."""
    if uri.startswith("duckdb:"):
        return uri
    parts = urlsplit(uri)
    scheme = "postgres" if parts.scheme.startswith("postgres") else parts.scheme
    host = parts.hostname or "localhost"
    return f"{scheme}://{host}:{parts.port}" if parts.port else f"{scheme}://{host}"


def _schema(fields: list[dict[str, str]]) -> Any:
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"]) for f in fields
        ]
    )


def _dataset_name(uri: str, table: str) -> str:
    if uri.startswith("postgres"):
        database = urlsplit(uri).path.strip("/") or "postgres"
        return f"{database}.{table}" if "." in table else f"{database}.public.{table}"
    return table


def inputs(entries: list[dict[str, Any]], uris: dict[str, str]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import data_quality_metrics_input_dataset as dq

    found: list[Any] = []
    for entry in entries:
        facets: dict[str, Any] = {"schema": _schema(entry.get("schema") or [])}
        stats: dict[str, Any] = {
            "dataQualityMetrics": dq.DataQualityMetricsInputDatasetFacet(
                columnMetrics={}, rowCount=entry.get("rows"), bytes=entry.get("bytes")
            )
        }
        if entry["kind"] == "sql":
            uri = uris.get(entry["connection"], entry["connection"])
            for table in entry.get("tables") or []:
                found.append(
                    InputDataset(
                        namespace_of(uri),
                        _dataset_name(uri, table),
                        facets=facets,
                        inputFacets=stats,
                    )
                )
        elif entry["kind"] == "graphql":
            parts = urlsplit(entry["endpoint"])
            found.append(
                InputDataset(
                    f"{parts.scheme}://{parts.netloc}",
                    parts.path or "/",
                    facets=facets,
                    inputFacets=stats,
                )
            )
        else:
            parts = urlsplit(entry["url"])
            found.append(
                InputDataset(
                    f"{parts.scheme}://{parts.netloc}",
                    f"spreadsheets/{entry['sheet']}/gid={entry['gid']}",
                    facets=facets,
                    inputFacets=stats,
                )
            )
    return found


def planned_inputs(tables: list[tuple[str, str]], uris: dict[str, str]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset

    return [
        InputDataset(namespace_of(uris.get(c, c)), _dataset_name(uris.get(c, c), t))
        for c, t in tables
    ]


def outputs(uploads: list[dict[str, Any]], uris: dict[str, str]) -> list[Any]:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset as stats

    found = []
    for up in uploads:
        if up.get("state") != "done":
            continue
        uri = uris.get(up["connection"], up["connection"])
        found.append(
            OutputDataset(
                namespace_of(uri),
                _dataset_name(uri, up["table"]),
                facets={"schema": _schema(up.get("schema") or [])},
                outputFacets={
                    "outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
                        rowCount=up.get("rows"), size=up.get("bytes")
                    )
                },
            )
        )
    return found


def event(
    state: str,
    run_id: str,
    job_name: str,
    *,
    sql: list[str],
    inputs: list[Any],
    outputs: list[Any],
    error: dict[str, Any] | None = None,
    event_time: str,
) -> Any:
    """One RunEvent (``state``: START, COMPLETE, FAIL)."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, sql_job

    run_facets: dict[str, Any] = {}
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"{error.get('ename')}: {error.get('evalue')}",
            programmingLanguage="python",
            stackTrace="\n".join(error.get("traceback") or []) or None,
        )
    job_facets: dict[str, Any] = {}
    if sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=";\n".join(sql))
    return RunEvent(
        eventType=getattr(RunState, state),
        eventTime=event_time,
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=JOB_NAMESPACE, name=job_name, facets=job_facets),
        producer=PRODUCER,
        inputs=inputs,
        outputs=outputs,
    )
