"""``bento``: the command line. Each command lives with its capability; this module only
dispatches to it (the table below is data, the commands' modules load on first use).

    bento runtime assemble|verify [--dest DIR]    the Pyodide runtime (bento_wasm.runtime)
    bento run IN.ipynb [OUT.ipynb] [-p NAME VALUE]  a headless run (bento_wasm.host.cli)
    bento serve [--port N] [--runtime DIR] ...    the page and the executor (server extra)
    bento schedule NOTEBOOK --cron CRON|--on-assets --owner EMAIL   its DAG file (schedule/)

A command module exposes ``main(argv: list[str] | None) -> int`` and parses its own
arguments, so ``python -m <module>`` and ``bento <command>`` take the same ones.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["COMMANDS", "main"]

#: command -> (module with ``main(argv)``, one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "runtime": ("bento_wasm.runtime", "assemble or verify the Pyodide runtime"),
    "run": ("bento_wasm.host.cli", "run a notebook headless in WebAssembly (papermill's options)"),
    "serve": ("bento_wasm.server.serve", "serve the notebook page and the executor"),
    "schedule": ("bento_wasm.schedule.command", "write a notebook's Airflow DAG file, for review"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())
    return (
        f"usage: bento COMMAND [ARGS...]\n\ncommands:\n{rows}\n\n`bento COMMAND --help` for more."
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"bento: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main())
