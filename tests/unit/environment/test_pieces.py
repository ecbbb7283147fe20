"""A request body in pieces: built from an envelope without joining it, sent by CPython piece
by piece to a real loopback server, read back the same."""

import hashlib
import http.server
import threading

import numpy as np
import pandas as pd
import pytest

from bento_wasm.environment.cpython import CPythonEnvironment
from bento_wasm.environment.interface import Pieces, joined
from bento_wasm.offload.values import PIECES_MIN_BYTES, Encoder, envelope, pack, unpack


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/echo"
    server.shutdown()


def encoded(rows):
    encoder = Encoder()
    frame = pd.DataFrame({"a": np.arange(rows, dtype="float64")})
    return {"v": encoder.encode("frame", frame)}, encoder.buffers, frame


def test_a_large_envelope_is_pieces_of_the_columns_own_memory():
    header, buffers, frame = encoded(PIECES_MIN_BYTES // 8 + 1)
    body = envelope(header, buffers)
    assert isinstance(body, Pieces) and len(body) == len(pack(header, buffers))
    assert body.join() == pack(header, buffers)
    column = frame["a"].to_numpy().__array_interface__["data"][0]
    addresses = [
        np.frombuffer(item, np.uint8).__array_interface__["data"][0]
        for item in body.items
        if item.nbytes
    ]
    assert column in addresses  # the column itself, not a copy of it
    decoded_header, views = unpack(body)
    assert decoded_header["v"] == header["v"] and len(views) == 1


def test_a_small_envelope_is_one_buffer_as_before():
    header, buffers, _ = encoded(16)
    body = envelope(header, buffers)
    assert isinstance(body, bytearray) and body == pack(header, buffers)
    assert joined(body) is body


def test_cpython_sends_pieces_without_joining_them(url):
    items = [b"head", memoryview(bytearray(b"x" * 3 * 2**20)), b"", b"tail"]
    body = Pieces(items)
    answer = CPythonEnvironment().fetch(url, method="POST", body=body)
    expected = b"head" + b"x" * 3 * 2**20 + b"tail"
    assert answer.text() == f"{len(expected)} {hashlib.sha256(expected).hexdigest()}"
    assert len(body) == len(expected) and bytes(joined(body)) == expected
