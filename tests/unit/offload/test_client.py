"""The executor client over the in-memory transport: values, sources, errors (CPython)."""

import asyncio
import linecache

import numpy as np
import pandas as pd
import pytest

from bento_wasm.errors import ExecutorError, MagicError, RemoteError, TransferError
from bento_wasm.kernel.interpreter import Kernel
from bento_wasm.offload import calls as remote_module
from bento_wasm.offload.calls import AutoOffload, remote
from bento_wasm.offload.client import (
    Executor,
    HttpTransport,
    MemoryExecutor,
    MemoryTransport,
    Response,
)
from bento_wasm.offload.values import Decoder, Encoder, pack, unpack
from tests.helpers import BADGE


@pytest.fixture
def server():
    return MemoryExecutor()


@pytest.fixture
def executor(server):
    executor = Executor(MemoryTransport(server), "nb-1")
    remote_module.configure(executor)
    yield executor
    remote_module.configure(None)


def define(namespace, source, filename="<cell 1>"):
    """Run source as the kernel does, so inspect.getsource finds it."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def roundtrip(value):
    encoder = Encoder()
    spec = encoder.encode("`v`", value)
    header, buffers = unpack(pack({"v": spec}, encoder.buffers))
    return Decoder(buffers).decode(header["v"])


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "text", [1, "a", None], {"a": [1, 2], "b": {"c": "d"}}, (1, 2)],
)
def test_plain_values_travel_as_json(value):
    assert roundtrip(value) == value
    assert type(roundtrip(value)) is type(value)


def test_data_travels_as_arrow():
    frame = pd.DataFrame({"x": [1.5, 2.5], "s": ["a", "b"]}, index=pd.Index([10, 20], name="k"))
    back = roundtrip(frame)  # through bento_wasm.arrow: strings arrive Arrow-backed
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["x"].dtype == "float64" and back.index.name == "k"
    series = pd.Series([1, 2, 3], name="n")
    pd.testing.assert_series_equal(roundtrip(series), series)
    matrix = np.arange(12, dtype="float64").reshape(3, 4)
    np.testing.assert_array_equal(roundtrip(matrix), matrix)
    mixed = roundtrip({"frame": frame, "n": np.int64(4), "pair": (matrix, "x")})
    assert mixed["n"] == 4 and mixed["pair"][1] == "x"
    pd.testing.assert_frame_equal(mixed["frame"], frame, check_dtype=False)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            {
                "x": [1.0, np.nan, 3.0],
                "f32": np.array([np.nan, 1, 2], dtype="float32"),
                "i": [1, 2, 3],
                "u8": np.array([1, 2, 3], dtype="uint8"),
                "b": [True, False, True],
            }
        ),
        pd.DataFrame({"x": [1.0, 2.0]}, index=pd.RangeIndex(10, 14, 2)),
        pd.DataFrame(),
        pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]}),  # these three take from_pandas
        pd.DataFrame({"x": pd.array([1, None], dtype="Int64")}),
        pd.DataFrame({0: [1.0], 1: [2.0]}),
    ],
)
def test_frames_of_plain_numpy_columns_skip_the_nan_scan_and_keep_their_schema(frame):
    import pyarrow as pa

    from bento_wasm.offload.values import frame_table

    table = frame_table(frame)
    assert table.schema.equals(pa.Table.from_pandas(frame).schema, check_metadata=True)
    back = roundtrip(frame)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False, check_index_type=False)
    plain = all(isinstance(dtype, np.dtype) for dtype in frame.dtypes) and "x" in frame
    if plain and frame["x"].isna().any():
        assert table.column("x").null_count == 0, "NaN stays a float, as in pandas"
        assert back["x"].dtype == "float64" and np.isnan(back["x"][1])


def test_other_values_are_a_clear_error_naming_them():
    with pytest.raises(TransferError) as caught:
        Encoder().encode("argument `conn`", object())
    assert "argument `conn`" in str(caught.value) and "Arrow" in str(caught.value)
    assert caught.value.name == "argument `conn`"


def test_remote_function_runs_from_source_with_its_helpers(executor, server):
    namespace = {"__name__": "__main__", "remote": remote, "np": np, "scale": 10}
    define(
        namespace,
        "def helper(v):\n    return v * scale\n\n"
        "@remote\n"
        "def heavy(df, extra=0):\n"
        "    print('rows', len(df))\n"
        "    return df.assign(y=helper(df.x) + extra + np.float64(0))\n",
    )
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    result = namespace["heavy"](frame, extra=1)
    assert list(result["y"]) == [11.0, 21.0]
    [request] = server.requests
    header, _ = unpack(request.body)
    assert "@remote" not in header["function"]["source"]
    assert header["imports"] == [["numpy", None, "np"]]
    assert header["inputs"]["scale"] == {"codec": "json", "value": 10}
    assert "def helper" in header["definitions"][0]
    assert "co_code" not in str(header) and b"\x80" not in bytes(request.body[:8])


def test_remote_exception_keeps_the_remote_traceback(executor):
    namespace = {"__name__": "__main__", "remote": remote}
    define(namespace, "@remote\ndef fails(n):\n    return 1 / n\n", "<cell 7>")
    with pytest.raises(RemoteError) as caught:
        namespace["fails"](0)
    error = caught.value
    assert error.ename_remote == "ZeroDivisionError"
    assert any("return 1 / n" in line for line in error.traceback)
    assert "The remote traceback" in error.__notes__[0]


def test_argument_that_cannot_travel_is_named(executor):
    namespace = {"__name__": "__main__", "remote": remote}
    define(namespace, "@remote\ndef f(conn):\n    return 1\n")
    with pytest.raises(TransferError, match="argument `conn` of f"):
        namespace["f"](object())


def test_awaitable_form(executor):
    namespace = {"__name__": "__main__", "remote": remote}
    define(namespace, "@remote\ndef add(a, b):\n    return a + b\n")
    assert asyncio.run(namespace["add"].aio(2, 3)) == 5


def test_remote_calls_show_one_badge_per_cell_and_function(executor):
    kernel = Kernel(lambda m: None)
    kernel.namespace["remote"] = remote
    code = "@remote\ndef add(a, b):\n    return a + b\n\n@remote\ndef neg(a):\n    return -a\n"
    define(kernel.namespace, code, "<cell badges>")

    def badges(code):
        reply, messages = run_cell(kernel, code)
        assert reply["status"] == "ok", messages
        return [m["data"][BADGE] for m in messages if BADGE in m.get("data", {})]

    shown = badges("[add(i, 1) for i in range(5)] + [neg(1), neg(2)]")
    assert [b["why"] for b in shown] == [
        "@remote add() runs on the executor's kernel",
        "@remote neg() runs on the executor's kernel",
    ]
    assert len(badges("add(1, 2)")) == 1, "the next cell shows it again"
    assert badges("add.local(1, 2)") == [], "a local call is not remote"


def test_remote_calls_outside_a_kernel_show_no_badge(executor, capsys):
    namespace = {"__name__": "__main__", "remote": remote}
    define(namespace, "@remote\ndef one():\n    return 1\n", "<script badges>")
    assert namespace["one"]() == 1
    assert capsys.readouterr() == ("", ""), "a script has no cell to label"


def run_cell(kernel, code):
    messages = []
    kernel._emit = messages.append
    reply = asyncio.run(kernel.execute("c", code))
    return reply, messages


def test_remote_cell_sends_reads_and_binds_names(executor, server):
    kernel = Kernel(lambda m: None)
    kernel.namespace.update(df=pd.DataFrame({"v": [1, 2, 3]}), k=2)
    reply, messages = run_cell(
        kernel, "%%remote\nprint('remote!')\ntotal = int(df.v.sum()) * k\ndoubled = df * k\ntotal"
    )
    assert reply["status"] == "ok", messages
    assert kernel.namespace["total"] == 12
    assert list(kernel.namespace["doubled"]["v"]) == [2, 4, 6]
    kinds = {m["type"]: m for m in messages}
    assert kinds["stream"]["text"] == "remote!\n"
    assert kinds["execute_result"]["data"]["text/plain"] == "12"
    # state persists in the session between cells
    reply, messages = run_cell(kernel, "%%remote --in k --out again\nagain = total + k")
    assert reply["status"] == "ok", messages
    assert kernel.namespace["again"] == 14


def test_remote_cell_error_leaves_the_namespace_alone(executor):
    kernel = Kernel(lambda m: None)
    kernel.namespace["keep"] = 1
    reply, messages = run_cell(kernel, "%%remote\nkeep = 2\nnew = 3\nraise ValueError('no')")
    assert reply["status"] == "error"
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "RemoteError" and "ValueError: no" in error["evalue"]
    assert any("raise ValueError('no')" in line for line in error["traceback"])
    assert kernel.namespace["keep"] == 1 and "new" not in kernel.namespace


def test_unsendable_output_stays_remote_with_a_notice(executor):
    kernel = Kernel(lambda m: None)
    reply, messages = run_cell(kernel, "%%remote\nimport threading\nlock = threading.Lock()")
    assert reply["status"] == "ok"
    assert "lock" not in kernel.namespace
    notices = "".join(m["text"] for m in messages if m["type"] == "stream")
    assert "`lock`" in notices and "stays in the remote session" in notices


def test_explicit_outputs_that_cannot_travel_are_errors(executor):
    kernel = Kernel(lambda m: None)
    _, messages = run_cell(kernel, "%%remote --out lock\nimport threading\nlock = threading.Lock()")
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "TransferError" and "`lock`" in error["evalue"]


def test_magic_options_are_checked(executor):
    kernel = Kernel(lambda m: None)
    _, messages = run_cell(kernel, "%%remote --in 1x\npass")
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "MagicError" and "1x" in error["evalue"]
    with pytest.raises(MagicError):
        remote_module.remote_cell(kernel.magic_context(), "--in missing", "x = 1")


def test_no_executor_configured_says_how_to_configure_one():
    remote_module.configure(None)
    with pytest.raises(ExecutorError, match="connect"):
        remote_module.current()


def test_http_errors_become_clear_errors():
    def forbidden(request):
        return Response(403, b'{"message": "Forbidden"}')

    executor = Executor(MemoryTransport(forbidden))
    with pytest.raises(ExecutorError, match="refused the token") as caught:
        executor.send({"op": "cell", "code": ""}, [])
    assert caught.value.status == 403


def test_executor_down_is_a_clear_error():
    from tests.helpers import free_port

    transport = HttpTransport(f"http://127.0.0.1:{free_port()}", "t")
    with pytest.raises(ExecutorError, match="not reachable.*python -m bento_wasm.server"):
        Executor(transport).send({"op": "cell", "code": ""}, [])


def test_auto_offload_rewrites_non_lite_cells_when_configured(executor):
    kernel = Kernel(lambda m: None)
    hook = AutoOffload(auto=True)
    kernel.pre_cell.append(hook)
    reply, messages = run_cell(kernel, "import not_a_wasm_module_xyz")
    [badge] = [m["data"] for m in messages if BADGE in m.get("data", {})]
    assert badge[BADGE]["label"] == "remote (auto)"
    assert "not_a_wasm_module_xyz" in badge[BADGE]["why"]
    assert badge["text/plain"].startswith("[offload] running this cell on the executor: ")
    # the in-memory executor cannot import it either: the remote error comes back
    assert reply["status"] == "error" and "ModuleNotFoundError" in str(messages)
    reply, _ = run_cell(kernel, "x = 1")
    assert reply["status"] == "ok" and hook.last_plan.lite


def test_auto_offload_only_suggests_when_not_configured(executor):
    kernel = Kernel(lambda m: None)
    kernel.pre_cell.append(AutoOffload(auto=False))
    _, messages = run_cell(kernel, "import not_a_wasm_module_xyz")
    text = "".join(m.get("text", "") for m in messages if m["type"] == "stream")
    assert "%%remote" in text and "not_a_wasm_module_xyz" in text
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "ModuleNotFoundError"  # it ran here, as the user asked


def test_auto_offload_sends_cells_over_the_memory_budget(executor):
    kernel = Kernel(lambda m: None)
    kernel.namespace["big"] = np.zeros(2**20)  # 8 MiB
    kernel.pre_cell.append(AutoOffload(auto=True, headroom=lambda: 4 * 2**20))
    reply, messages = run_cell(kernel, "s = float(big.sum())")
    assert reply["status"] == "ok", messages
    assert "memory budget" in str(messages) and kernel.namespace["s"] == 0.0
