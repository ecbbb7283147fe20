"""What a failed call to a bento server says, from what GET /bento/api/info answers (real
loopback HTTP servers, the CPython environment)."""

import http.server
import json
import threading
from contextlib import contextmanager

import pytest

from bento_wasm.environment.cpython import CPythonEnvironment
from bento_wasm.environment.diagnose import diagnose
from bento_wasm.errors import ExecutorError
from bento_wasm.offload.client import Executor, HttpTransport
from tests.helpers import free_port


@contextmanager
def answering(status, body, content_type):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = reply

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_bento_is_named_so():
    with answering(404, b"<html>Not Found</html>", "text/html") as url:
        error = diagnose(CPythonEnvironment(), url + "/", "HTTP 404")
    assert isinstance(error, ExecutorError) and error.status == 404
    assert f"{url} is not a bento server" in error.message
    assert "BENTO_EXECUTOR_URL" in error.message and "bento_wasm.server" in error.message


def test_the_servers_own_refusal_is_raised_as_sent():
    refusal = {"ename": "ExecutorError", "evalue": "set --BentoApp.page_origins=X", "status": 403}
    body = json.dumps({"error": refusal}).encode()
    with answering(403, body, "application/json") as url:
        error = diagnose(CPythonEnvironment(), url, "no answer")
    assert isinstance(error, ExecutorError) and error.message == refusal["evalue"]


def test_a_bento_server_that_answers_info_points_at_its_log():
    with answering(200, b'{"bento": "0.1.0", "api": 1}', "application/json") as url:
        error = diagnose(CPythonEnvironment(), url, "HTTP 502")
    assert "is up and allows this page" in error.message and "HTTP 502" in error.message


def test_nothing_listening_says_how_to_start_one():
    url = f"http://127.0.0.1:{free_port()}"
    error = diagnose(CPythonEnvironment(), url, "connection refused")
    assert "not reachable" in error.message and "bento serve" in error.message


def test_remote_call_to_a_plain_web_server_says_it_is_not_bento():
    with answering(404, b"<html>Not Found</html>", "text/html") as url:
        client = Executor(HttpTransport(url, "t"))
        with pytest.raises(ExecutorError, match="is not a bento server"):
            client.run_cell("x = 1", {}, inputs=[], outputs=["x"])
