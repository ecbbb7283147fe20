"""The executor holds its limits, on a real Jupyter Server with real ipykernels: a maximum of
sessions (429), idle sessions culled (the next call says so), a body limit on every endpoint
(413), a bound on waiting upload jobs (429)."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from bento_wasm.errors import ExecutorError, RemoteError
from bento_wasm.offload.client import Executor, HttpTransport
from tests.helpers import BentoServer, wait_for


@pytest.fixture(scope="module")
def server():
    with BentoServer(
        "--BentoExecutor.max_sessions=2",
        "--BentoExecutor.cull_idle_s=4",
        "--BentoExecutor.cull_interval_s=0.5",
        "--BentoApp.max_upload_mib=1",
        "--BentoApp.max_queued_uploads=1",
        "--BentoApp.upload_throttle_s=0.5",
    ) as running:
        yield running


def client(server, session):
    return Executor(HttpTransport(server.url, server.token), session)


def cell(executor, code, outputs=()):
    return executor.run_cell(code, {}, inputs=(), outputs=outputs)


def call(server, method, path, body=b"", content_type="application/json"):
    request = urllib.request.Request(
        server.url + path,
        data=body if method in ("POST", "PUT", "DELETE") or body else None,
        method=method,
        headers={"Authorization": f"token {server.token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def session_ids(server):
    return {s["id"] for s in json.loads(call(server, "GET", "/bento/api/sessions")[1])["sessions"]}


def test_a_session_over_the_maximum_is_refused_with_what_to_do(server):
    first, second = client(server, "one"), client(server, "two")
    cell(first, "a = 1")
    cell(second, "b = 2")
    with pytest.raises(ExecutorError) as caught:
        cell(client(server, "three"), "c = 3")
    assert caught.value.status == 429
    assert "maximum of 2 remote sessions" in caught.value.message
    assert "--BentoExecutor.max_sessions" in caught.value.message
    assert cell(first, "a + 1", outputs=[])["result"]["data"]["text/plain"] == "2"  # still works
    first.shutdown()
    assert cell(client(server, "three"), "c = 3", outputs=["c"])["values"]["c"] == 3
    for name in ("two", "three"):
        client(server, name).shutdown()


def test_an_idle_session_is_culled_and_the_next_call_says_so(server, capsys):
    executor = client(server, "idle")
    cell(executor, "kept = 1")
    assert "idle" in session_ids(server)
    wait_for(lambda: "idle" not in session_ids(server), 30, "the idle session's culling")
    capsys.readouterr()
    with pytest.raises(RemoteError, match="NameError"):
        cell(executor, "kept")
    notice = capsys.readouterr().err
    assert "culled after" in notice and "variables from earlier remote cells" in notice
    executor.shutdown()


def test_a_busy_session_is_not_culled(server):
    executor = client(server, "busy")
    assert cell(executor, "import time\ntime.sleep(6)\nx = 1", outputs=["x"])["values"]["x"] == 1
    assert cell(executor, "x + 1", outputs=[])["result"]["data"]["text/plain"] == "2"
    executor.shutdown()


ARROW = "application/vnd.apache.arrow.stream"
BIG_JSON = json.dumps({"sql": "select 1", "pad": "x" * (2 << 20)}).encode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/bento/api/sql"),
        ("GET", "/bento/api/connections"),
        ("GET", "/bento/api/uploads"),
        ("GET", "/bento/api/uploads/upload-1"),
        ("DELETE", "/bento/api/uploads/upload-1"),
        ("POST", "/bento/api/uploads?table=t"),
        ("POST", "/bento/api/sessions/limits/interrupt"),
        ("DELETE", "/bento/api/sessions/limits"),
        ("GET", "/bento/api/sessions"),
    ],
)
def test_every_endpoint_refuses_a_body_over_its_limit(server, method, path):
    status, body = call(server, method, path, BIG_JSON)
    assert status == 413, (status, body[:300])
    error = json.loads(body)["error"]
    assert error["ename"] == "PayloadTooLarge" and "over its limit" in error["evalue"]


def arrow_stream(rows):
    table = pa.table({"n": pa.array([i % 100 for i in range(rows)], pa.int8())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_uploads_beyond_the_queue_bound_are_refused_until_it_drains(server):
    stream = arrow_stream(3 * 65_536)  # three batches: 1.5 s a job at the throttle
    assert len(stream) < 2**20
    path = "/bento/api/uploads?table=limit_{}&mode=replace"
    with ThreadPoolExecutor(8) as pool:  # eight notebooks uploading at once
        answers = list(
            pool.map(
                lambda i: call(server, "POST", path.format(i), stream, ARROW),
                range(8),
            )
        )
    statuses = [status for status, _ in answers]
    assert 202 in statuses and 429 in statuses, statuses
    refused = json.loads(next(body for status, body in answers if status == 429))["error"]
    assert "already waiting" in refused["evalue"] and "max_queued_uploads" in refused["evalue"]
    ids = [json.loads(body)["id"] for status, body in answers if status == 202]

    def finished():
        jobs = json.loads(call(server, "GET", "/bento/api/uploads")[1])
        return all(job["state"] in ("done", "failed") for job in jobs if job["id"] in ids)

    wait_for(finished, 60, "the accepted uploads")
    assert call(server, "POST", path.format("after"), stream, ARROW)[0] == 202
