"""The data magics' handlers in the project's kernel (CPython), over an in-memory transport."""

import asyncio
import json

import pyarrow as pa
import pytest

from bento_wasm.arrow.ipc import bind
from bento_wasm.data import magics  # noqa: F401 - registers the data magics, as the worker does
from bento_wasm.data import session as data_session
from bento_wasm.environment.interface import HttpResponse
from bento_wasm.errors import MemoryBudgetExceeded, WarehouseError
from bento_wasm.kernel.interpreter import Kernel


def ipc(table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class MemoryTransport:
    """Answers from a dict url-prefix -> HttpResponse; records the requests."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def _answer(self, request):
        self.requests.append(request)
        for prefix, response in self.answers.items():
            if request.url.startswith(prefix):
                return response
        raise OSError(f"nothing listens at {request.url}")

    async def fetch(self, request, admit=None):
        response = self._answer(request)
        if admit is not None:
            admit(len(response.body), request.url)
        return response

    def fetch_now(self, request):
        return self._answer(request)

    async def fetch_arrow(self, request, namespace, name, admit):
        response = self._answer(request)
        if not response.ok:
            return response
        bind(namespace, name, response.body, admit=admit)
        return None

    def spawn(self, make):
        raise AssertionError("no background work expected")


@pytest.fixture
def run():
    messages = []
    kernel = Kernel(messages.append)

    def execute(code, transport, admit=None):
        data_session.configure(
            data_session.DataSession(
                transport, {"executor": {"url": "http://127.0.0.1:1", "token": "t"}}, {}, admit
            )
        )
        messages.clear()
        asyncio.run(kernel.execute("c", code))
        return kernel, [m for m in messages if m["type"] in ("error", "execute_result")]

    yield execute
    data_session.configure(data_session.DataSession(MemoryTransport({})))


def test_sql_binds_the_arrow_answer_and_sends_values_apart_from_the_sql(run):
    answer = HttpResponse(200, {"content-type": "application/vnd.apache.arrow.stream"},
                          ipc(pa.table({"x": [1, 2]})))  # fmt: skip
    transport = MemoryTransport({"http://127.0.0.1:1/bento/api/sql": answer})
    kernel, _ = run("limit = 2", transport)
    kernel, [result] = run("%%sql -o out\nselect * from t where x <= :limit", transport)
    assert result["data"]["text/plain"] == "out: 2 rows x 1 columns from %%sql -c default"
    assert list(kernel.namespace["out"].x) == [1, 2]
    sent = json.loads(transport.requests[-1].body)
    assert sent["sql"] == "select * from t where x <= $1" and sent["params"] == [2]
    assert transport.requests[-1].headers["Authorization"] == "token t"


def test_a_refused_query_binds_nothing(run):
    error = {"error": WarehouseError("Catalog Error: no t", connection="default").to_dict()}
    answer = HttpResponse(400, {"content-type": "application/json"}, json.dumps(error).encode())
    transport = MemoryTransport({"http://127.0.0.1:1/bento/api/sql": answer})
    kernel, [result] = run("%%sql -o out\nselect * from t", transport)
    assert (result["ename"], result["evalue"]) == ("WarehouseError", "Catalog Error: no t")
    assert "out" not in kernel.namespace


def test_admission_is_asked_before_a_graphql_answer_is_copied(run):
    body = json.dumps({"data": {"xs": [{"a": 1}]}}).encode()
    transport = MemoryTransport(
        {"http://g": HttpResponse(200, {"content-type": "application/json"}, body)}
    )

    def refuse(nbytes, what):
        raise MemoryBudgetExceeded(f"{what}: {nbytes} bytes do not fit")

    kernel, [result] = run("%%graphql --endpoint http://g -o xs\n{ xs { a } }", transport, refuse)
    assert result["ename"] == "MemoryBudgetExceeded" and "xs" not in kernel.namespace
    kernel, [result] = run("%%graphql --endpoint http://g -o xs\n{ xs { a } }", transport)
    assert list(kernel.namespace["xs"].a) == [1]


def test_an_unreachable_executor_says_how_to_start_one(run):
    _, [result] = run("%%sql\nselect 1", MemoryTransport({}))
    assert result["ename"] == "ExecutorError" and "./dev run" in result["evalue"]
