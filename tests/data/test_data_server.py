"""The executor's data API on a real Jupyter Server: DuckDB demo data, PostgreSQL via ADBC,
upload jobs, token auth and CORS limited to the page's origin."""

import json
import time
import urllib.error
import urllib.request

import pyarrow as pa
import pytest

from tests.dataservers import postgres
from tests.helpers import BentoServer, wait_for

PAGE_ORIGIN = "http://127.0.0.1:9"  # a page served elsewhere that may call the API


@pytest.fixture(scope="module")
def pg():
    with postgres() as uri:
        yield uri


@pytest.fixture(scope="module")
def server(pg, tmp_path_factory):
    demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
    with BentoServer(
        f"--BentoApp.demo_database={demo}",
        f"--BentoApp.connections=pg={pg}",
        f"--BentoApp.page_origins={PAGE_ORIGIN}",
        "--BentoApp.upload_throttle_s=0.05",
    ) as running:
        yield running


def call(server, path, payload=None, *, method=None, body=None, token=None, headers=None):
    kind = "application/vnd.apache.arrow.stream"
    if payload is not None:
        body, kind = json.dumps(payload).encode(), "application/json"
    request = urllib.request.Request(
        server.url + "/bento/api/" + path,
        data=body,
        method=method,
        headers={
            "Authorization": f"token {token or server.token}",
            "Content-Type": kind,
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def arrow(body):
    return pa.ipc.open_stream(body).read_all()


def ipc(table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_demo_database_is_created_and_queried_with_bound_parameters(server):
    status, headers, body = call(
        server,
        "sql",
        {"sql": "select count(*) as n, min(quantity) as q from orders where quantity >= $1",
         "params": [3]},
    )  # fmt: skip
    assert status == 200 and headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    assert arrow(body).to_pylist() == [{"n": 600000, "q": 3}]
    status, _, body = call(server, "sql", {"sql": "select * from customers", "limit": 10})
    table = arrow(body)
    assert table.num_rows == 10 and table.column_names[:2] == ["customer_id", "name"]
    status, _, body = call(server, "sql", {"sql": "select 42 as x", "format": "json"})
    assert json.loads(body) == [{"x": 42}]


def test_a_million_rows_stream_as_arrow(server):
    status, _, body = call(server, "sql", {"sql": "select order_id, amount from orders"})
    table = arrow(body)
    assert status == 200
    assert table.num_rows == 1_000_000 and len(table.to_batches()) > 1  # streamed batch by batch


def test_sql_errors_carry_the_database_message_and_the_server_keeps_serving(server):
    status, _, body = call(server, "sql", {"sql": "select * from no_such_table"})
    error = json.loads(body)["error"]
    assert status == 400 and error["ename"] == "WarehouseError"
    assert "no_such_table does not exist" in error["evalue"]
    status, _, body = call(server, "sql", {"sql": "select 1", "connection": "nope"})
    assert status == 404 and "no connection named 'nope'" in json.loads(body)["error"]["evalue"]
    status, _, body = call(server, "sql", {"sql": "select 1 as x"})
    assert status == 200 and arrow(body).to_pylist() == [{"x": 1}]


def test_postgres_through_adbc(server):
    status, _, body = call(
        server, "sql", {"connection": "pg", "sql": "select $1::int + 1 as x", "params": [41]}
    )
    assert status == 200 and arrow(body).to_pylist() == [{"x": 42}]
    status, _, body = call(server, "sql", {"connection": "pg", "sql": "selec 1"})
    assert status == 400
    assert 'syntax error at or near "selec"' in json.loads(body)["error"]["evalue"]
    status, _, body = call(server, "connections")
    assert {"name": "pg", "kind": "postgresql"} in json.loads(body)


def test_wrong_token_and_foreign_origins_are_refused(server):
    status, _, _ = call(server, "sql", {"sql": "select 1"}, token="wrong")
    assert status == 403
    status, _, _ = call(server, "connections", token="wrong")
    assert status == 403
    status, headers, body = call(server, "connections", headers={"Origin": "http://127.0.0.1:1"})
    # The refusal is readable by the refused page (it holds only the message), nothing else is.
    assert status == 403 and headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:1"
    assert "--BentoApp.page_origins=http://127.0.0.1:1" in json.loads(body)["message"]
    status, headers, _ = call(server, "connections", headers={"Origin": PAGE_ORIGIN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN


def wait_job(server, job_id, states=("done", "failed", "cancelled")):
    def finished():
        job = json.loads(call(server, f"uploads/{job_id}")[2])
        return job if job["state"] in states else None

    return wait_for(finished, 60, "the upload job to finish")


@pytest.mark.parametrize("connection", ["default", "pg"])
def test_upload_jobs_create_append_and_refuse_an_existing_table(server, connection):
    table = pa.table({"id": list(range(200_000)), "name": [f"n{i}" for i in range(200_000)]})
    target = f"uploaded_{connection}"
    path = f"uploads?table={target}&connection={connection}&mode=create"
    status, _, body = call(server, path, body=ipc(table), method="POST")
    job = json.loads(body)
    assert status == 202, job
    assert job["state"] in ("queued", "running") and job["total_rows"] == 200_000
    seen = set()
    while job["state"] not in ("done", "failed"):
        job = json.loads(call(server, f"uploads/{job['id']}")[2])
        seen.add((job["state"], job["rows"] > 0))
        time.sleep(0.02)
    assert job["state"] == "done" and job["rows"] == 200_000, job
    assert ("running", True) in seen  # progress was visible while it ran
    count = {"sql": f"select count(*) as n from {target}", "connection": connection}
    assert arrow(call(server, "sql", count)[2]).column("n")[0].as_py() == 200_000

    status, _, body = call(server, path, body=ipc(table.slice(0, 10)), method="POST")
    failed = wait_job(server, json.loads(body)["id"])
    assert failed["state"] == "failed" and "already exists" in failed["error"]["evalue"]
    assert "--mode append" in failed["error"]["evalue"]

    append = path.replace("mode=create", "mode=append")
    status, _, body = call(server, append, body=ipc(table.slice(0, 10)), method="POST")
    assert wait_job(server, json.loads(body)["id"])["state"] == "done"
    assert arrow(call(server, "sql", count)[2]).column("n")[0].as_py() == 200_010


def test_cancelled_upload_leaves_nothing_behind(server):
    table = pa.table({"x": list(range(1_000_000))})
    status, _, body = call(
        server, "uploads?table=cancelled_one&mode=create", body=ipc(table), method="POST"
    )
    job_id = json.loads(body)["id"]
    wait_for(
        lambda: json.loads(call(server, f"uploads/{job_id}")[2])["rows"] > 0,
        30,
        "the upload to report rows",
    )
    status, _, body = call(server, f"uploads/{job_id}", method="DELETE")
    assert status == 200
    assert wait_job(server, job_id)["state"] == "cancelled"
    listed = json.loads(call(server, "uploads")[2])
    assert job_id in [job["id"] for job in listed]
    status, _, body = call(server, "sql", {"sql": "select * from cancelled_one"})
    assert status == 400 and "does not exist" in json.loads(body)["error"]["evalue"]


def test_an_upload_that_is_not_arrow_is_refused(server):
    status, _, body = call(server, "uploads?table=t&mode=create", body=b"a,b\n1,2", method="POST")
    error = json.loads(body)["error"]
    assert status == 400 and error["ename"] == "ArrowError" and "%%dataframe" in error["evalue"]
