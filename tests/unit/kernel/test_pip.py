"""``%pip``'s pure part (bento_wasm/kernel/pip.py) and the awaited line magics it relies on."""

import asyncio

import pytest

from bento_wasm.errors import MagicError
from bento_wasm.kernel import classic, pip
from bento_wasm.kernel.interpreter import Kernel
from bento_wasm.kernel.magics import MagicRegistry, transform_line_magics


def test_install_with_pins_quiet_and_no_deps():
    command = pip.parse("install tabulate 'humanize==4.9.0' -q --no-deps --upgrade")
    assert command.action == "install"
    assert command.requirements == ["tabulate", "humanize==4.9.0"]
    assert command.quiet and not command.deps


def test_list_uninstall_and_config():
    assert pip.parse("list --format=columns").action == "list"
    uninstall = pip.parse("uninstall -y tabulate")
    assert (uninstall.action, uninstall.requirements) == ("uninstall", ["tabulate"])
    config = pip.parse("config set global.index-url http://host/bento/pypi/simple")
    assert config.setting == ("global.index-url", "http://host/bento/pypi/simple")
    assert pip.parse("config list").setting is None


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "install PKG"),
        ("download six", "install PKG"),
        ("install", "needs a package name"),
        ("install -r requirements.txt", "-r is not available"),
        ("install --index-url http://x six", "%pip config set global.index-url"),
        ("install --frobnicate six", "unknown option --frobnicate"),
        ("install https://host/x-1.0-py3-none-any.whl", "micropip.install(URL)"),
        ("install 'unclosed", "No closing quotation"),
        ("config set global.timeout 3", "global.index-url"),
    ],
)
def test_what_is_not_understood_says_what_is(line, says):
    with pytest.raises(MagicError) as refused:
        pip.parse(line)
    assert says in str(refused.value)


def test_the_index_comes_from_options_then_environment_then_executor():
    env = {pip.INDEX_ENV: "http://env/simple/"}
    assert pip.index_from({"packageIndex": "/bento/pypi/simple"}, env, "http://x") == (
        "/bento/pypi/simple"
    )
    assert pip.index_from({}, env, "http://x") == "http://env/simple"
    assert pip.index_from({}, {}, "http://exec:8888/") == "http://exec:8888/bento/pypi/simple"
    assert pip.index_from({}, {}, "") == ""


def test_the_report_reads_like_pips():
    before = {"numpy": "2.0.2", "six": "1.16.0"}
    after = {"numpy": "2.0.2", "six": "1.16.0", "tabulate": "0.9.0", "wcwidth": "0.2.13"}
    lines = pip.report_installed(before, after, ["numpy", "tabulate"])
    assert lines == [
        "Requirement already satisfied: numpy (2.0.2)",
        "Successfully installed tabulate-0.9.0 wcwidth-0.2.13",
    ]
    assert pip.report_installed(before, before, ["six"]) == [
        "Requirement already satisfied: six (1.16.0)"
    ]


def test_the_projects_micropip_could_not_install_are_found_in_its_message():
    message = "Can't find a pure Python 3 wheel for: 'psutil', 'Py_Foo==1.0'\nSee: https://..."
    assert pip.failed_projects(message) == ["psutil", "py-foo"]
    assert pip.failed_projects("Can't fetch metadata for 'nope'. Please make sure") == ["nope"]
    assert pip.failed_projects("something else") == []


def test_an_awaited_magic_is_awaited_where_it_stands():
    registry = MagicRegistry()
    calls = []

    async def slow(ctx, line):
        await asyncio.sleep(0)
        calls.append(line)
        return line.upper()

    registry.register_line("pip", slow, awaited=True)
    registry.register_line("plain", lambda ctx, line: line)
    code = "%pip install six\nx = %pip list\n%plain a"
    rewritten = transform_line_magics(code, registry.awaited)
    assert rewritten.splitlines() == [
        "await __bento_await_magic__('pip', 'install six')",
        "x = await __bento_await_magic__('pip', 'list')",
        "__bento_line_magic__('plain', 'a')",
    ]
    assert classic.route(code, registry) == classic.NATIVE  # not IPython's shell %pip

    messages = []
    kernel = Kernel(messages.append, magics=registry)
    asyncio.run(kernel.execute("c", code + "\nprint(x)"))
    assert calls == ["install six", "list"]
    assert [m["text"] for m in messages if m["type"] == "stream"] == ["LIST\n"]
    assert messages[-1]["status"] == "ok"

    messages.clear()
    asyncio.run(kernel.execute("d", "def f():\n    %pip list\nf()"))
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["ename"] == "MagicError" and "top level of a cell" in error["evalue"]


def test_a_magics_error_shows_the_cells_line_and_the_message_only():
    from bento_wasm.errors import PackageUnavailable

    registry = MagicRegistry()

    async def refuse(ctx, line):
        raise PackageUnavailable("psutil has compiled code", project="psutil", reason="compiled")

    registry.register_line("pip", refuse, awaited=True)
    messages = []
    asyncio.run(Kernel(messages.append, magics=registry).execute("c", "%pip install psutil"))
    [error] = [m for m in messages if m["type"] == "error"]
    assert error["traceback"] == [
        "Traceback (most recent call last):",
        '  File "<cell 1>", line 1, in <module>\n    %pip install psutil',
        "bento_wasm.errors.PackageUnavailable: psutil has compiled code",
    ]


def test_in_a_cell_ipython_runs_pip_says_where_it_must_stand():
    from tests.helpers import fresh_ipython

    registry = MagicRegistry()

    async def install(ctx, line):
        return line

    registry.register_line("pip", install, awaited=True)
    messages = []
    with fresh_ipython():
        kernel = Kernel(messages.append, magics=registry)
        asyncio.run(kernel.execute("c", "%pip install six\n%timeit -n 1 -r 1 pass"))
    [error] = [m for m in messages if m["type"] == "error"]
    assert "MagicError" in error["ename"] + "".join(error["traceback"]), error
    assert "on a line of its own" in error["evalue"] and "%timeit" in error["evalue"], error
