import asyncio

import pytest

from bento_wasm.kernel.display import DisplayHandle, display
from bento_wasm.kernel.interpreter import Kernel


@pytest.fixture
def kernel():
    messages = []
    k = Kernel(messages.append)
    k.messages = messages
    return k


def run(kernel, code, cell="c"):
    kernel.messages.clear()
    asyncio.run(kernel.execute(cell, code))
    return list(kernel.messages)


def of_type(messages, kind):
    return [m for m in messages if m["type"] == kind]


def test_last_expression_is_the_result_and_stdout_streams(kernel):
    messages = run(kernel, "x = 20\nprint('hi', x)\nx + 22")
    assert of_type(messages, "stream") == [
        {"type": "stream", "id": "c", "name": "stdout", "text": "hi 20\n"}
    ]
    [result] = of_type(messages, "execute_result")
    assert result["data"] == {"text/plain": "42"} and result["execution_count"] == 1
    assert messages[-1]["type"] == "execute_reply" and messages[-1]["status"] == "ok"


def test_state_persists_and_semicolon_hides_result(kernel):
    run(kernel, "y = 5")
    messages = run(kernel, "y * 2;")
    assert of_type(messages, "execute_result") == []
    assert kernel.namespace["y"] == 5
    assert messages[-1]["execution_count"] == 2


def test_top_level_await(kernel):
    messages = run(kernel, "import asyncio\nawait asyncio.sleep(0)\n'awaited'")
    assert of_type(messages, "execute_result")[0]["data"]["text/plain"] == "'awaited'"


def test_error_reports_user_frames_only_and_namespace_survives(kernel):
    run(kernel, "keep = [1, 2]")
    messages = run(kernel, "def f():\n    return 1 / 0\nf()")
    [error] = of_type(messages, "error")
    assert error["ename"] == "ZeroDivisionError"
    text = "\n".join(error["traceback"])
    assert "<cell 2>" in text and "return 1 / 0" in text
    assert "kernel.py" not in text
    assert messages[-1]["status"] == "error"
    assert kernel.namespace["keep"] == [1, 2]


def test_syntax_error_is_reported(kernel):
    [error] = of_type(run(kernel, "def (:"), "error")
    assert error["ename"] == "SyntaxError"
    assert any("def (:" in line for line in error["traceback"])


def test_stderr_and_partial_lines_are_flushed(kernel):
    messages = run(kernel, "import sys\nsys.stderr.write('warn')\nprint('a', end='')")
    streams = {(m["name"], m["text"]) for m in of_type(messages, "stream")}
    assert streams == {("stderr", "warn"), ("stdout", "a")}


def test_display_and_update_in_place(kernel):
    messages = run(kernel, "h = display('one', display_id=True)\nh.update('two')")
    first, second = of_type(messages, "display_data")
    assert first["data"]["text/plain"] == "'one'" and not first["update"]
    assert second["update"] and second["display_id"] == first["display_id"]


def test_rich_repr_is_used(kernel):
    code = (
        "class Card:\n"
        "    def _repr_html_(self): return '<b>card</b>'\n"
        "    def _repr_png_(self): return b'\\x89PNG'\n"
        "Card()"
    )
    [result] = of_type(run(kernel, code), "execute_result")
    assert result["data"]["text/html"] == "<b>card</b>"
    assert result["data"]["image/png"] == "iVBORw=="


def test_pre_cell_hook_can_refuse_a_cell(kernel):
    def refuse(k, cell_id, code):
        if "forbidden" in code:
            raise MemoryError("too big")

    kernel.pre_cell.append(refuse)
    messages = run(kernel, "forbidden = 1")
    assert of_type(messages, "error")[0]["ename"] == "MemoryError"
    assert "forbidden" not in kernel.namespace


def test_broken_post_hook_does_not_lose_outputs(kernel):
    def broken(k, cell_id, code):
        raise RuntimeError("hook broke")

    kernel.post_cell.append(broken)
    messages = run(kernel, "print('kept')\n7")
    assert of_type(messages, "stream")[0]["text"] == "kept\n"
    assert of_type(messages, "execute_result")[0]["data"]["text/plain"] == "7"
    assert "hook broke" in of_type(messages, "error")[0]["evalue"]


def test_display_outside_a_kernel_prints(capsys):
    handle = display("plain", display_id="abc")
    assert isinstance(handle, DisplayHandle)
    assert capsys.readouterr().out == "'plain'\n"


def test_matplotlib_figures_become_png(kernel):
    messages = run(
        kernel,
        "import matplotlib\nmatplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])",
    )
    pngs = [m for m in of_type(messages, "display_data") if "image/png" in m["data"]]
    assert len(pngs) == 1 and pngs[0]["data"]["image/png"].startswith("iVBOR")


def test_input_and_getpass_ask_the_page_and_wait(kernel):
    asked = []

    def stdin(prompt, password, request):
        asked.append((prompt, password, [m["type"] for m in kernel.messages], request))
        return "Ada" if not password else "s3cret"

    kernel.stdin = stdin
    messages = run(kernel, "print('before')\nname = input('Name? ')\nimport getpass\n"
                   "secret = getpass.getpass()\nprint(name, len(secret))")  # fmt: skip
    requests = [m for m in messages if m["type"] == "input_request"]
    assert [(r["prompt"], r["password"]) for r in requests] == [
        ("Name? ", False),
        ("Password: ", True),
    ]
    assert asked[0][2][-2:] == ["stream", "input_request"], "stdout flushed before asking"
    assert [r["request"] for r in requests] == [a[3] for a in asked], "each names its wait"
    assert len({a[3] for a in asked}) == 2, "every input() is a request of its own"
    assert "".join(m["text"] for m in of_type(messages, "stream")) == "before\nAda 6\n"
    import builtins

    assert builtins.input is not kernel.input, "input() is the kernel's only while a cell runs"


def test_input_interrupted_is_keyboard_interrupt_and_no_stdin_is_a_clear_error(kernel):
    kernel.stdin = lambda prompt, password, request: None
    [error] = of_type(run(kernel, "x = input('wait? ')"), "error")
    assert (error["ename"], error["evalue"]) == ("KeyboardInterrupt", "Interrupted by user")
    kernel.stdin = None  # a headless run: papermill's kernel raises StdinNotImplementedError
    messages = run(kernel, "input()")
    [error] = of_type(messages, "error")
    assert error["ename"] == "StdinNotImplementedError", error
    assert "no user to answer it" in error["evalue"] and "-p NAME VALUE" in error["evalue"]
    assert not of_type(messages, "input_request"), "no prompt goes out that no one can answer"
    caught = run(kernel, "try:\n    input()\nexcept NotImplementedError:\n    ok = 1\nok")
    assert of_type(caught, "execute_result")[0]["data"]["text/plain"] == "1", "as ipykernel's"
