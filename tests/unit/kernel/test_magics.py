import asyncio

import pytest

from bento_wasm.errors import MagicError
from bento_wasm.kernel.interpreter import Kernel
from bento_wasm.kernel.magics import (
    MagicArgumentParser,
    MagicRegistry,
    split_cell_magic,
    transform_line_magics,
)


def test_split_cell_magic():
    assert split_cell_magic("%%sql -o df\nselect 1\n") == ("sql", "-o df", "select 1\n")
    assert split_cell_magic("  %%remote\nx = 1") == ("remote", "", "x = 1")
    assert split_cell_magic("x = 1\n%%sql") is None
    assert split_cell_magic("%sql") is None


def test_line_magics_become_calls_with_literal_arguments():
    code = "a = 1\n%memory --top 3\nx = %memory\n  %who 'q\"'"
    out = transform_line_magics(code)
    assert "__bento_line_magic__('memory', '--top 3')" in out
    assert "x = __bento_line_magic__('memory', '')" in out
    assert "  __bento_line_magic__('who', '\\'q\"\\'')" in out
    assert transform_line_magics("y = 5 % 3") == "y = 5 % 3"


def test_parser_raises_magic_error_with_usage():
    parser = MagicArgumentParser("%%sql")
    parser.add_argument("-o", "--output")
    parser.add_argument("--limit", type=int)
    assert parser.parse_line("-o df --limit 3").limit == 3
    with pytest.raises(MagicError, match="unrecognized arguments: --nope"):
        parser.parse_line("--nope")
    with pytest.raises(MagicError, match="invalid int value"):
        parser.parse_line("--limit many")
    with pytest.raises(MagicError, match="No closing quotation"):
        parser.parse_line("-o 'df")


def run(kernel, code):
    messages = []
    kernel._emit = messages.append
    asyncio.run(kernel.execute("c", code))
    return messages


def test_kernel_dispatches_cell_and_line_magics():
    registry = MagicRegistry()
    registry.register_cell("upper", lambda ctx, args, body: body.upper() + args)

    async def bind(ctx, args):
        ctx.namespace["bound"] = args
        return len(args)

    registry.register_cell("bind", lambda ctx, args, body: bind(ctx, body.strip()))
    registry.register_line("double", lambda ctx, args: int(args) * 2)
    kernel = Kernel(lambda m: None, magics=registry)
    result = [m for m in run(kernel, "%%upper !\nabc") if m["type"] == "execute_result"]
    assert result[0]["data"]["text/plain"] == "'ABC!'"
    run(kernel, "%%bind\nvalue")
    assert kernel.namespace["bound"] == "value"
    result = [m for m in run(kernel, "x = %double 21\nx") if m["type"] == "execute_result"]
    assert result[0]["data"]["text/plain"] == "42"


def test_unknown_magic_is_ipythons_usage_error_and_namespace_survives():
    """A magic neither bento nor IPython has: IPython's UsageError, as ipykernel shows it."""
    kernel = Kernel(lambda m: None, magics=MagicRegistry())
    kernel.namespace["keep"] = 1
    messages = run(kernel, "%%nope\nbody")
    [stderr] = [m["text"] for m in messages if m["type"] == "stream"]
    assert stderr.strip() == "UsageError: Cell magic `%%nope` not found."
    assert messages[-1]["status"] == "error"
    assert kernel.namespace["keep"] == 1


def test_a_known_name_called_wrongly_is_bentos_magic_error():
    kernel = Kernel(lambda m: None, magics=MagicRegistry())
    kernel.magics.register_line("double", lambda ctx, args: int(args) * 2)
    [error] = [m for m in run(kernel, "x = %double\nx") if m["type"] == "error"]
    assert error["ename"] == "ValueError"
