"""IPython in the kernel, for the cells that need it (CPython's IPython here; the browser's is
tested by tests/e2e/test_classic_kernel.py against ipykernel)."""

import asyncio
import re
import subprocess
import sys

import pytest

from bento_wasm.kernel import introspect
from bento_wasm.kernel.interpreter import Kernel
from bento_wasm.kernel.magics import MagicRegistry
from tests.helpers import ROOT, fresh_ipython


@pytest.fixture
def kernel():
    registry = MagicRegistry()
    registry.register_line("double", lambda ctx, args: int(args) * 2)
    with fresh_ipython():
        yield Kernel(lambda m: None, magics=registry)


def run(kernel, code):
    messages = []
    kernel._emit = messages.append
    asyncio.run(kernel.execute(f"c{kernel.execution_count + 1}", code))
    return messages


def stdout(messages):
    return "".join(m["text"] for m in messages if m["type"] == "stream" and m["name"] == "stdout")


def results(messages, kind="execute_result"):
    return [m["data"]["text/plain"] for m in messages if m["type"] == kind]


def test_who_lists_the_users_names_only(kernel):
    run(kernel, "b = 2\na = 1\n_hidden = 3")
    assert stdout(run(kernel, "%who")) == "a\t b\t \n"
    assert "display" not in stdout(run(kernel, "%who"))


def test_timeit_and_time_print_as_ipython_does(kernel):
    out = stdout(run(kernel, "%timeit -n 2 -r 3 sum(range(10))"))
    assert " per loop (mean ± std. dev. of 3 runs, 2 loops each)\n" in out
    messages = run(kernel, "%%time\nz = 20\nz + 1")
    assert "CPU times: " in stdout(messages) and "Wall time: " in stdout(messages)
    assert results(messages) == ["21"]
    assert kernel.namespace["z"] == 20


def test_help_shows_signature_and_docstring_in_the_output(kernel):
    for code in ("len?", "?len", "len??"):
        [help_text] = results(run(kernel, code), "display_data")
        assert "Signature:" in help_text and "Return the number of items" in help_text


def test_capture_writefile_run_and_env(kernel, tmp_path):
    assert stdout(run(kernel, "%%capture cap\nprint('hidden')")) == ""
    assert results(run(kernel, "cap.stdout")) == ["'hidden\\n'"]
    script = tmp_path / "script.py"
    out = stdout(run(kernel, f"%%writefile {script}\nq = 41 + 1\nprint('ran', q)"))
    assert out == f"Writing {script}\n"
    assert stdout(run(kernel, f"%run {script}")) == "ran 42\n"
    assert kernel.namespace["q"] == 42
    assert stdout(run(kernel, "%env BENTO_TEST_ENV=yes")) == "env: BENTO_TEST_ENV=yes\n"
    assert results(run(kernel, "%env BENTO_TEST_ENV")) == ["'yes'"]


def test_history_holds_the_cells_before_ipython_loaded(kernel):
    run(kernel, "x = 1")
    run(kernel, "y = %double 2")
    assert kernel._ipython is None, "plain cells and bento's magics do not load IPython"
    run(kernel, "%who")
    run(kernel, "z = 3")
    out = stdout(run(kernel, "%history"))
    assert out.splitlines() == ["x = 1", "y = %double 2", "%who", "z = 3", "%history"]


def test_results_errors_and_bentos_magics_inside_an_ipython_cell(kernel):
    run(kernel, "x = 1")
    messages = run(kernel, "%who\nv = %double 21\nv")
    assert results(messages) == ["42"]
    [result] = [m for m in messages if m["type"] == "execute_result"]
    assert result["execution_count"] == 2
    assert run(kernel, "v")[-1]["execution_count"] == 3
    messages = run(kernel, "%who\n1/0")
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "ZeroDivisionError" and messages[-1]["status"] == "error"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))
    assert "----> 2 1/0" in plain, "IPython's traceback, as ipykernel sends it"
    assert kernel.last_error is not None
    assert run(kernel, "%who")[-1]["status"] == "ok", "the next cell is not an error"


def test_shell_escapes_inside_ipython_cells_are_refused(kernel):
    messages = run(kernel, "%%time\nfiles = !ls")
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "NoShellError" and "%%remote" in error["evalue"]
    [error] = [m for m in run(kernel, "!ls") if m["type"] == "error"]
    assert error["ename"] == "NoShellError"
    assert "IPython" not in {m.get("ename") for m in run(kernel, "1")}


def test_plain_cells_never_import_ipython():
    code = (
        "import asyncio, sys\n"
        "from bento_wasm.kernel.interpreter import Kernel\n"
        "from bento_wasm.memory import magic\n"
        "k = Kernel(lambda m: None)\n"
        "cells = ['x = 1', 'x != 2', 'print(\"a?\")', 's = \"\"\"\\n!ls\\n\"\"\"', '%memory']\n"
        "for cell in cells:\n"
        "    asyncio.run(k.execute('c', cell))\n"
        "print(sorted(m for m in ('IPython', 'jedi') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def request(kernel, kind, **fields):
    reply = introspect.answer(kernel, {"type": kind, "id": "r1", **fields})
    assert reply["id"] == "r1" and reply["type"] == kind.replace("request", "reply")
    return reply


def test_completion_comes_from_ipythons_completer(kernel):
    run(kernel, "import collections\nvalue_one = 1\nvalue_two = 2")
    reply = request(kernel, "complete_request", code="value_", cursor_pos=6)
    assert reply["status"] == "ok"
    assert reply["matches"] == ["value_one", "value_two"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (0, 6)
    code = "x = collections.Ord"
    reply = request(kernel, "complete_request", code=code, cursor_pos=len(code))
    assert "OrderedDict" in reply["matches"] and reply["cursor_start"] == len("x = collections.")
    types = reply["metadata"]["_jupyter_types_experimental"]
    assert {"text": "OrderedDict", "type": "class"}.items() <= types[0].items()


def test_inspection_gives_signature_and_docstring(kernel):
    run(kernel, "def area(width, height=2):\n    'The area of a rectangle.'\n    return width")
    reply = request(kernel, "inspect_request", code="area(3, ", cursor_pos=5, detail_level=0)
    text = re.sub(r"\x1b\[[0-9;]*m", "", reply["data"]["text/plain"])
    assert reply["found"] and "Signature: area(width, height=2)" in text
    assert "The area of a rectangle." in text
    reply = request(kernel, "inspect_request", code="nothing_here", cursor_pos=3, detail_level=0)
    assert reply == {**reply, "status": "ok", "found": False, "data": {}}


def test_is_complete_answers_without_loading_ipython_for_plain_python(kernel):
    assert request(kernel, "is_complete_request", code="x = 1\n")["status"] == "complete"
    reply = request(kernel, "is_complete_request", code="for i in range(3):\n")
    assert reply == {**reply, "status": "incomplete", "indent": "    "}
    assert request(kernel, "is_complete_request", code="1 +\n")["status"] == "invalid"
    assert kernel._ipython is None
    reply = request(kernel, "is_complete_request", code="%%time\nfor i in x:\n")
    assert reply["status"] == "incomplete" and kernel._ipython is not None


@pytest.mark.parametrize(
    "code",
    [
        "x = 1",
        "for i in range(3):",
        "def f():\n    return 1",
        "foo(1,",
        'x = """abc',
        "if x:\n    pass\nelse:",
        "1 +",
        "x = [\n  1,",
        "if x:\n    y = (1,",
        "while True:\n    x = 1\n\n",
    ],
)
@pytest.mark.parametrize("end", ["", "\n"])
def test_the_plain_python_answer_is_ipythons(code, end):
    from IPython.core.inputtransformer2 import TransformerManager

    status, indent = TransformerManager().check_complete(code + end)
    expected = {"status": status}
    if status == "incomplete":
        expected["indent"] = " " * (indent or 0)
    assert introspect.python_is_complete(code + end) == expected


def test_a_failing_request_is_a_reply_not_a_crash(kernel):
    reply = request(kernel, "complete_request", code="x", cursor_pos="nope")
    assert reply["status"] == "error" and reply["error"]["ename"] == "ValueError"
    assert reply["matches"] == []
