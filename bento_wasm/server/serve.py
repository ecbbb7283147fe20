"""``bento serve``: the notebook page and the executor, from a checkout or a pip install.

    bento serve [--port 8888] [--ip 127.0.0.1] [--runtime DIR] [Jupyter Server options...]

The Pyodide runtime is ``--runtime DIR`` (verified first; a folder that fails verification
is an error naming the file and what to run), else the checkout's ``runtime/pyodide``, else
the user's cache (``~/.cache/bento-wasm/pyodide-0.27.7``), assembled there with progress on
first start (``bento runtime assemble`` does the same on its own). Other options go to
Jupyter Server and the extension (``--BentoApp.page_origins=...``,
``--IdentityProvider.token=...``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import RuntimeAssemblyError
from ..runtime import runtime_folder

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bento serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--runtime", type=Path, default=None, help="an assembled runtime folder")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    from .app import REPO, BentoApp, in_checkout

    checkout = REPO / "runtime" / "pyodide" if in_checkout() else None
    try:
        runtime = runtime_folder(args.runtime, checkout)
    except RuntimeAssemblyError as exc:
        print(f"bento serve: {exc}", file=sys.stderr)
        return 1
    BentoApp.launch_instance(  # type: ignore[no-untyped-call]
        [
            f"--port={args.port}",
            f"--ip={args.ip}",
            f"--BentoApp.runtime_dir={runtime.resolve()}",
            *rest,
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
