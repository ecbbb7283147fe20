"""``%load_ext bento_wasm`` in a real IPython shell (in-process): ``%offload``, the pre-cell
planner's suggestion, the input transformer of automatic offload, ``%executor`` for both the
data magics and ``@remote``."""

import pytest
from IPython.core.interactiveshell import InteractiveShell

from bento_wasm.offload import calls


@pytest.fixture
def shell(monkeypatch):
    monkeypatch.delenv("BENTO_EXECUTOR_URL", raising=False)
    monkeypatch.delenv("BENTO_EXECUTOR_TOKEN", raising=False)
    calls.configure(None)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "bento_wasm")
    yield ip
    ip.run_line_magic("offload", "suggest")
    calls.configure(None)
    InteractiveShell.clear_instance()


MISSING = "import zz_not_installed_anywhere\nzz_not_installed_anywhere.run()\n"


def test_a_cell_this_kernel_cannot_run_gets_a_suggestion(shell, capsys):
    shell.run_cell("x = 1")
    assert "[offload]" not in capsys.readouterr().err
    shell.run_cell(MISSING)
    err = capsys.readouterr().err
    assert "[offload] This cell may not run in the browser" in err
    assert "zz_not_installed_anywhere" in err and "%%remote" in err


def test_offload_auto_turns_the_cell_into_a_remote_cell_once_an_executor_is_set(shell):
    assert shell.run_line_magic("offload", "") == "suggest"
    assert shell.run_line_magic("offload", "auto") == "auto"
    # No executor yet: the cell stays as it is (and the pre-cell hook suggests instead).
    assert "run_cell_magic('remote'" not in shell.transform_cell(MISSING)
    shell.run_line_magic("executor", "http://127.0.0.1:1 --token t")
    assert calls.current().transport.url == "http://127.0.0.1:1"  # @remote's executor too
    assert "run_cell_magic('remote'" in shell.transform_cell(MISSING)
    assert "run_cell_magic('remote'" not in shell.transform_cell("y = 2\n")
    shell.run_line_magic("offload", "suggest")
    assert "run_cell_magic('remote'" not in shell.transform_cell(MISSING)


def test_offload_refuses_an_unknown_mode(shell):
    from bento_wasm.errors import MagicError

    with pytest.raises(MagicError, match="auto"):
        shell.run_line_magic("offload", "sometimes")
