"""``bento``: the command table dispatches to each capability's own ``main``."""

from __future__ import annotations

from bento_wasm import cli
from tests.helpers import ROOT


def test_no_command_prints_the_table_and_fails(capsys):
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    assert "usage: bento COMMAND" in out
    for name in cli.COMMANDS:
        assert f"  {name}" in out


def test_an_unknown_command_is_named(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_runtime_verify_runs_the_runtime_command(capsys):
    assert cli.main(["runtime", "verify", "--dest", str(ROOT / "runtime" / "pyodide")]) == 0
    assert "pyodide" in capsys.readouterr().out.lower()


def test_a_bad_runtime_folder_fails_with_its_name(tmp_path, capsys):
    assert cli.main(["runtime", "verify", "--dest", str(tmp_path)]) == 1
    assert str(tmp_path) in capsys.readouterr().err
