"""An answer's Arrow buffers left unchanged in the request's file are named, not written
(CPython, real files and mappings, the kernel's and the executor's halves in one process)."""

import ctypes
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bento_wasm.environment.interface import Pieces
from bento_wasm.errors import TransferError
from bento_wasm.offload import shared
from bento_wasm.offload.runner import _request_buffers
from bento_wasm.offload.values import Decoder, Encoder, pack, unpack

ROWS = 2**19  # 4 MiB a column: over the 1 MiB of a shared answer


def landed(tmp_path, frame):
    """The request's file as the executor lands it, and the spec of ``frame`` in it."""
    encoder = Encoder()
    spec = encoder.encode("frame", frame)
    path, sizes = shared.write_parts(encoder.buffers, "request", str(tmp_path))
    return path, sizes, spec


def kernel(tmp_path, path, sizes, spec, call):
    """The kernel's half: map the request, run ``call`` on its frame, place the answer."""
    header = {"shared": {"path": path, "spans": shared.spans(sizes)}}
    frame = Decoder(_request_buffers(header, [], True)).decode(spec)
    encoder = Encoder()
    out_spec = encoder.encode("answer", call(frame))
    reply = {}
    left = shared.place(
        reply, encoder.buffers, {"dir": str(tmp_path), "tag": "s"}, header["source"]
    )
    assert left == [] and "shared" in reply
    return reply["shared"], out_spec


def executor(answer, path, spec):
    """The executor's half: the answer's buffers (views of both files), sent as an envelope
    and decoded as the browser would."""
    request = shared.SharedFile.open(path)
    buffers = shared.answer_buffers(answer, request)
    header, views = unpack(pack({"v": spec}, buffers))
    return Decoder(views).decode(header["v"]), buffers


def frame():
    rng = np.random.default_rng(3)
    return pd.DataFrame({"a": rng.random(ROWS), "b": np.arange(ROWS, dtype="int64")})


def test_an_argument_returned_as_it_came_is_not_written_again(tmp_path):
    data = frame()
    path, sizes, spec = landed(tmp_path, data)
    answer, out_spec = kernel(tmp_path, path, sizes, spec, lambda df: df)
    kinds = [kind for kind, _, _ in answer["segments"]]
    assert kinds.count(1) == 2  # both columns: ranges of the request's file
    assert os.path.getsize(answer["path"]) < 2**16  # only the stream's metadata was written
    back, _ = executor(answer, path, out_spec)
    pd.testing.assert_frame_equal(back, data)
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(path)]  # the answer's file unnamed


def test_a_buffer_changed_in_place_is_written_with_its_change(tmp_path):
    data = frame()
    path, sizes, spec = landed(tmp_path, data)

    def change(df):
        # the kernel's mapping is private: a write copies the page, the file keeps the old value
        address = df["a"].to_numpy().__array_interface__["data"][0]
        ctypes.memmove(address + 8 * 1000, np.float64(-1.0).tobytes(), 8)
        return df

    answer, out_spec = kernel(tmp_path, path, sizes, spec, change)
    assert [kind for kind, _, _ in answer["segments"]].count(1) == 1  # "b" only
    assert os.path.getsize(answer["path"]) > ROWS * 8  # "a" was written
    back, _ = executor(answer, path, out_spec)
    expected = data.copy()
    expected.loc[1000, "a"] = -1.0
    pd.testing.assert_frame_equal(back, expected)
    with open(path, "rb") as handle:  # the request's file itself never changes
        assert -1.0 not in np.frombuffer(handle.read()[-ROWS * 16 :], "float64")


def test_a_slice_of_the_argument_is_named_at_its_offset(tmp_path):
    data = frame()
    path, sizes, spec = landed(tmp_path, data)
    answer, out_spec = kernel(tmp_path, path, sizes, spec, lambda df: df.iloc[1000:])
    assert [kind for kind, _, _ in answer["segments"]].count(1) == 2
    back, buffers = executor(answer, path, out_spec)
    pd.testing.assert_frame_equal(back, data.iloc[1000:])
    assert isinstance(buffers[0], Pieces)  # one buffer made of ranges of both files


def test_new_values_and_small_buffers_are_written_as_before(tmp_path):
    data = frame()
    path, sizes, spec = landed(tmp_path, data)
    answer, out_spec = kernel(tmp_path, path, sizes, spec, lambda df: df * 2)
    assert "segments" not in answer  # nothing of the request's file: the plain answer file
    back, _ = executor(answer, path, out_spec)
    pd.testing.assert_frame_equal(back, data * 2)


def test_a_source_names_only_large_buffers_inside_its_mapping(tmp_path):
    path, _, _ = landed(tmp_path, frame())
    mapped = shared.SharedFile.open(path, private=True)
    source = shared.Source(path, mapped)
    inside = pa.py_buffer(mapped.view()[4096 : 4096 + 2**16])
    assert source.offset(inside) == 4096
    assert source.offset(pa.py_buffer(mapped.view()[4096 : 4096 + 100])) is None  # small
    assert source.offset(pa.py_buffer(bytearray(2**17))) is None  # elsewhere
    assert source.offset(b"x" * 2**17) is None  # not a pyarrow Buffer: no address


def test_segments_that_do_not_add_up_are_refused(tmp_path):
    path, _, _ = landed(tmp_path, frame())
    written, _ = shared.write_parts([b"abc"], "s", str(tmp_path))
    answer = {"path": written, "sizes": [10], "segments": [[0, 0, 3]]}
    with pytest.raises(TransferError, match="shorter"):
        shared.answer_buffers(answer, shared.SharedFile.open(path))
    written, _ = shared.write_parts([b"abc"], "s", str(tmp_path))
    with pytest.raises(TransferError, match="did not have"):
        shared.answer_buffers({**answer, "path": written}, None)
