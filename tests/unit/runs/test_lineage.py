"""OpenLineage events, checked by rebuilding them with the client's own models."""

import json
import uuid

from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from bento_wasm.runs import lineage
from tests.helpers import rebuild_lineage_event as rebuild

URIS = {"default": "duckdb:///data/demo.duckdb", "pg": "postgresql://u:secret@db.example:5432/shop"}
INPUTS = [
    {
        "kind": "sql",
        "connection": "pg",
        "tables": ["orders", "sales.items"],
        "rows": 3,
        "bytes": 99,
        "schema": [{"name": "id", "type": "int64"}],
    },
    {
        "kind": "graphql",
        "endpoint": "http://127.0.0.1:8000/graphql",
        "rows": 2,
        "bytes": 10,
        "schema": [],
    },
    {
        "kind": "sheet",
        "sheet": "1abc",
        "gid": "0",
        "url": "https://docs.google.com/x",
        "rows": 1,
        "bytes": 5,
        "schema": [],
    },
]
UPLOADS = [
    {
        "connection": "default",
        "table": "results",
        "state": "done",
        "rows": 7,
        "bytes": 70,
        "schema": [{"name": "k", "type": "string"}],
    },
    {"connection": "pg", "table": "nope", "state": "failed", "rows": 1, "bytes": 1},
]


def test_complete_event_names_tables_endpoints_sheets_and_uploads():
    event = lineage.event(
        "COMPLETE",
        str(uuid.uuid4()),
        "daily",
        sql=["SELECT * FROM orders"],
        inputs=lineage.inputs(INPUTS, URIS),
        outputs=lineage.outputs(UPLOADS, URIS),
        event_time="2026-11-30T08:00:00+00:00",
    )
    data = json.loads(Serde.to_json(event))
    again = rebuild(data)
    assert again.eventType == RunState.COMPLETE
    names = [(d["namespace"], d["name"]) for d in data["inputs"]]
    assert names == [
        ("postgres://db.example:5432", "shop.public.orders"),
        ("postgres://db.example:5432", "shop.sales.items"),
        ("http://127.0.0.1:8000", "/graphql"),
        ("https://docs.google.com", "spreadsheets/1abc/gid=0"),
    ]
    assert "secret" not in json.dumps(data)
    assert data["inputs"][0]["facets"]["schema"]["fields"][0]["name"] == "id"
    assert data["inputs"][0]["inputFacets"]["dataQualityMetrics"]["rowCount"] == 3
    assert [(d["namespace"], d["name"]) for d in data["outputs"]] == [
        ("duckdb:///data/demo.duckdb", "results")  # the failed upload is not an output
    ]
    assert data["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 7
    assert data["job"]["facets"]["sql"]["query"] == "SELECT * FROM orders"


def test_fail_event_carries_the_error_facet():
    error = {"ename": "RunFailed", "evalue": "cell 3 failed", "traceback": ["Traceback", "E"]}
    event = lineage.event(
        "FAIL",
        str(uuid.uuid4()),
        "daily",
        sql=[],
        inputs=[],
        outputs=[],
        error=error,
        event_time="2026-11-30T08:00:00+00:00",
    )
    data = json.loads(Serde.to_json(event))
    assert rebuild(data).eventType == RunState.FAIL
    facet = data["run"]["facets"]["errorMessage"]
    assert facet["message"] == "RunFailed: cell 3 failed"
    assert facet["stackTrace"] == "Traceback\nE"
