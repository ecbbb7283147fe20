"""Shared files between the executor and a local kernel (CPython, real files)."""

import os

import numpy as np
import pandas as pd
import pytest

from bento_wasm.errors import ExecutorError, TransferError
from bento_wasm.offload import shared
from bento_wasm.offload.runner import send_reply
from bento_wasm.offload.values import Decoder, Encoder


def test_a_created_file_is_read_back_through_a_mapping(tmp_path):
    created = shared.SharedFile.create(5, "t", str(tmp_path))
    created.view()[:] = b"hello"
    created.close()
    assert os.path.basename(created.path).startswith("bento-t-")
    assert os.stat(created.path).st_mode & 0o777 == 0o600
    opened = shared.SharedFile.open(created.path)
    assert bytes(opened.view()) == b"hello"
    with pytest.raises(TypeError):
        opened.view()[0] = 1  # read-only mapping


def test_a_private_mapping_may_be_written_without_changing_the_file(tmp_path):
    created = shared.SharedFile.create(4, "t", str(tmp_path))
    created.view()[:] = b"abcd"
    created.close()
    private = shared.SharedFile.open(created.path, private=True)
    private.view()[0] = ord("z")
    assert bytes(private.view()) == b"zbcd"
    with open(created.path, "rb") as handle:
        assert handle.read() == b"abcd"


def test_the_mapping_outlives_the_name(tmp_path):
    created = shared.SharedFile.create(3, "t", str(tmp_path))
    created.view()[:] = b"xyz"
    opened = shared.SharedFile.open(created.path)
    opened.unlink()
    opened.unlink()  # twice is harmless
    assert not os.path.exists(created.path)
    assert bytes(opened.view()) == b"xyz"


def test_only_bento_files_are_opened(tmp_path):
    other = tmp_path / "secrets"
    other.write_bytes(b"no")
    with pytest.raises(TransferError, match="not a bento shared file"):
        shared.SharedFile.open(str(other))


def test_spans_and_their_bounds():
    assert shared.spans([3, 0, 5], start=10) == [[10, 3], [13, 0], [13, 5]]
    view = memoryview(bytes(range(8)))
    assert [bytes(v) for v in shared.slices(view, [[0, 2], [6, 2]])] == [b"\0\1", b"\6\7"]
    with pytest.raises(TransferError, match="outside a shared file of 8 bytes"):
        shared.slices(view, [[6, 3]])


def test_arrow_parts_are_written_once_into_the_file_and_read_in_place(tmp_path):
    frame = pd.DataFrame({"a": np.arange(1000.0), "s": [str(i) for i in range(1000)]})
    encoder = Encoder()
    spec = encoder.encode("frame", frame)
    path, sizes = shared.write_parts([*encoder.buffers, b"raw"], "t", str(tmp_path))
    assert os.path.getsize(path) == sum(sizes) and sizes[-1] == 3
    opened = shared.SharedFile.open(path, private=True)
    buffers = shared.slices(opened.view(), shared.spans(sizes))
    assert bytes(buffers[1]) == b"raw"
    back = Decoder(buffers).decode(spec)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    address = back["a"].to_numpy().__array_interface__["data"][0]
    start = np.frombuffer(opened.mapping, np.uint8).__array_interface__["data"][0]
    assert start <= address < start + opened.size  # a view of the mapping, not a copy


def test_a_part_that_fails_to_write_leaves_no_file(tmp_path):
    class Broken:
        nbytes = 4

    with pytest.raises(TypeError):
        shared.write_parts([Broken()], "t", str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_sweep_removes_only_the_tag_s_files(tmp_path):
    for tag in ("a", "a", "b"):
        shared.SharedFile.create(1, tag, str(tmp_path)).close()
    (tmp_path / "unrelated").write_bytes(b"")
    assert shared.sweep("a", str(tmp_path)) == 2
    assert sorted(n.split("-")[1] for n in os.listdir(tmp_path) if n.startswith("bento-")) == ["b"]
    assert (tmp_path / "unrelated").exists()
    assert shared.sweep("a", str(tmp_path / "missing")) == 0


def test_no_space_is_an_os_error_up_front_and_leaves_no_file(tmp_path):
    with pytest.raises(OSError):
        shared.SharedFile.create(2**62, "t", str(tmp_path))
    assert os.listdir(tmp_path) == []


class Comm:
    """Records what the runner sends (a comm needs a kernel; the e2e tests use real ones)."""

    def __init__(self):
        self.sent = []

    def send(self, data, buffers=None):
        self.sent.append((data, buffers))


def large_answer():
    encoder = Encoder()
    encoder.encode("out", pd.DataFrame({"a": np.arange(2**18, dtype="float64")}))
    return encoder.buffers


def test_a_large_answer_goes_through_a_shared_file(tmp_path):
    comm = Comm()
    destination = {"dir": str(tmp_path), "tag": "s"}
    send_reply(comm, {"status": "ok"}, large_answer(), destination, binary=True)
    [(reply, buffers)] = comm.sent
    assert buffers is None and os.path.getsize(reply["shared"]["path"]) == sum(
        reply["shared"]["sizes"]
    )


def test_small_answers_and_full_shared_memory_fall_back_to_messages(tmp_path):
    comm = Comm()
    small = {"dir": str(tmp_path), "tag": "s"}
    send_reply(comm, {"status": "ok"}, [b"tiny"], small, binary=True)
    missing = {"dir": str(tmp_path / "no-such-dir"), "tag": "s"}  # like a full /dev/shm: OSError
    send_reply(comm, {"status": "ok"}, large_answer(), missing, binary=True)
    send_reply(comm, {"status": "ok"}, [b"tiny"], None, binary=False)
    (first, frames), (second, big_frames), (third, none) = comm.sent
    assert "shared" not in first and [bytes(f) for f in frames] == [b"tiny"]
    assert "shared" not in second and sum(f.nbytes for f in big_frames) > 2**21
    assert third["b64"] == ["dGlueQ=="] and none is None
    assert os.listdir(tmp_path) == []


def test_the_probe_holds_its_tag_and_an_answer_file_is_read_then_unnamed(tmp_path):
    probe = shared.probe("abc", str(tmp_path))
    with open(probe.path, "rb") as handle:
        assert handle.read() == b"abc"
    path, sizes = shared.write_parts([b"one", b"three"], "t", str(tmp_path))
    views = shared.answer_buffers({"path": path, "sizes": sizes})
    assert [bytes(v) for v in views] == [b"one", b"three"] and not os.path.exists(path)
    with pytest.raises(ExecutorError, match="answer file is gone") as caught:
        shared.answer_buffers({"path": path, "sizes": sizes})
    assert caught.value.status == 502
