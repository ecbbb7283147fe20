"""The CPython side of the environment seam against a loopback HTTP server."""

import http.server
import threading

import pytest

from bento_wasm.environment.cpython import CPythonEnvironment
from bento_wasm.errors import MemoryBudgetExceeded, NetworkError
from tests.helpers import free_port

BODY = b"x" * 2**20


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data"
    server.shutdown()


def test_admit_is_asked_with_the_size_before_the_body_is_read(url):
    asked = []

    def refuse(nbytes, what):
        asked.append((nbytes, what))
        raise MemoryBudgetExceeded("no room", requested_bytes=nbytes, available_bytes=0)

    with pytest.raises(MemoryBudgetExceeded):
        CPythonEnvironment().fetch(url, admit=refuse)
    assert asked == [(len(BODY), f"the answer of GET {url}")]
    admitted = CPythonEnvironment().fetch(url, admit=lambda n, what: None)
    assert admitted.ok and admitted.body == BODY


def test_an_unreachable_server_is_a_network_error():
    with pytest.raises(NetworkError, match="is the server running"):
        CPythonEnvironment().fetch(f"http://127.0.0.1:{free_port()}/", timeout_s=5)
