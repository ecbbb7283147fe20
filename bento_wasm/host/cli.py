"""``bento run IN.ipynb [OUT.ipynb]``: a notebook run headless in WebAssembly.

The options are papermill's where they apply (``-p``, ``-r``, ``-f``, ``-y``,
``--prepare-only``, ``--execution-timeout``, ``--report-mode``, ``--cwd``,
``--log-output``), plus ``--network``, ``--connection NAME=URI`` and ``--keep-files``.
Exit status: 0 completed, 1 the run failed (the record names the cell), 2 refused or bad
arguments.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import RunFailed, RunRefused, RuntimeAssemblyError

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bento run", description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="the notebook to run")
    p.add_argument("output", nargs="?", help="the record (default: IN stem + .out.ipynb)")
    p.add_argument(
        "-p",
        "--parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter, typed as papermill types it",
    )
    p.add_argument(
        "-r",
        "--parameters_raw",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter kept as a string",
    )
    p.add_argument(
        "-f", "--parameters_file", action="append", default=[], help="a YAML file of parameters"
    )
    p.add_argument(
        "-y", "--parameters_yaml", action="append", default=[], help="parameters as a YAML string"
    )
    p.add_argument(
        "--prepare-only",
        action="store_true",
        help="write the parameterized notebook without running it",
    )
    p.add_argument(
        "--execution-timeout",
        type=float,
        default=None,
        help="seconds a cell may run; past it the WebAssembly process is stopped",
    )
    p.add_argument("--report-mode", action="store_true", help="hide the code cells' input")
    p.add_argument("--cwd", default=None, help="working directory of the notebook (mounted)")
    p.add_argument("--log-output", action="store_true", help="cells' output on stderr too")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    p.add_argument(
        "--network",
        choices=("none", "allow"),
        default="none",
        help="none (default): a network namespace of its own; allow: the host's",
    )
    p.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="NAME=URI",
        help="a warehouse connection besides the server's (default: demo DuckDB)",
    )
    p.add_argument("--keep-files", action="store_true", help="keep the run's folder")
    p.add_argument(
        "--runtime",
        default=None,
        metavar="DIR",
        help="the Pyodide runtime (default: the checkout's, else the user's cache, assembled once)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from ..runs.params import merge_parameters
    from .run import execute_notebook

    output = args.output or args.input.removesuffix(".ipynb") + ".out.ipynb"
    connections = {}
    for item in args.connection:
        name, sep, uri = item.partition("=")
        if not sep:
            print(f"bento run: --connection {item!r} is not NAME=URI", file=sys.stderr)
            return 2
        connections[name] = uri
    try:
        parameters = merge_parameters(
            files=args.parameters_file,
            yamls=args.parameters_yaml,
            typed=args.parameters,
            raw=args.parameters_raw,
        )
        result = execute_notebook(
            args.input,
            output,
            parameters,
            cwd=args.cwd,
            execution_timeout=args.execution_timeout,
            network=args.network,
            connections=connections,
            keep_files=args.keep_files,
            log_output=args.log_output,
            progress=not args.no_progress,
            report_mode=args.report_mode,
            prepare_only=args.prepare_only,
            runtime=args.runtime,
        )
    except RuntimeAssemblyError as exc:
        print(f"bento run: {exc.message}", file=sys.stderr)
        return 2
    except RunRefused as exc:
        print(f"bento run: refused: {exc.message}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"bento run: {exc.message}", file=sys.stderr)
        return 1
    print(f"bento run: {result.status}; the record is in {result.output_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
