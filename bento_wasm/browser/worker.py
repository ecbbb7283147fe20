"""The Python half of the worker: ``start()`` is what worker_js/worker.js calls after boot.

JavaScript passes its ``post`` function and the boot options as data
(STYLE.md #12); Python sends every message through ``post`` as a plain JS object.
"""

from __future__ import annotations

import re
from typing import Any

from ..kernel.interpreter import Kernel

__all__ = ["WorkerKernel", "start"]

#: A cell that may import a widget module (kernel/comms.py WIDGET_MODULES).
_WIDGET_WORD = re.compile(r"\b(?:ipywidgets|comm)\b")


class WorkerKernel:
    """The object JavaScript holds: one :class:`Kernel` and the bridge to ``postMessage``."""

    def __init__(self, post: Any, options: dict[str, Any]) -> None:
        from js import Object  # type: ignore[import-not-found]
        from pyodide.ffi import to_js

        def emit(message: dict[str, Any]) -> None:
            post(to_js(message, dict_converter=Object.fromEntries))

        self.options = options
        self.kernel = Kernel(emit)
        from . import memory

        self.memory = memory.install(self.kernel, options)
        from ..offload import (
            calls as remote,  # registers %%remote; the executor comes from the options
        )

        self.offload = remote.install(self.kernel, options, memory=self.memory)
        from . import magics

        magics.install(self.kernel, options)
        from . import pip

        pip.install(self.kernel, options)  # %pip, and micropip pointed at the package index
        self._install_stdin(options)
        from . import timezones

        timezones.install()  # pandas' import reads one zone file, not dateutil's ~350
        if options.get("run"):  # a headless run: data cells read prefetched files (bento run)
            from ..runs import sandbox

            sandbox.install(self.kernel, dict(options["run"]))

    def _install_stdin(self, options: dict[str, Any]) -> None:
        """input() waits for the page through worker_js/kernel/worker.js (bentoStdin): a shared
        buffer when the page is cross-origin isolated, else the bento server's stdin endpoint.
        A headless run (no bentoStdin) has no user: input() raises StdinNotImplementedError."""
        import js  # type: ignore[import-not-found,unused-ignore]

        stdin = getattr(js, "bentoStdin", None)
        if stdin is None or options.get("run"):
            return  # the kernel's own message: a headless run
        if stdin.available():
            self.kernel.stdin = _read_stdin
            return
        self.kernel.no_stdin = (
            "input() needs the page to answer it, and this kernel has no way to wait for the "
            "answer: the page is not cross-origin isolated (no SharedArrayBuffer) and no bento "
            "server was given. Serve the page with the headers Cross-Origin-Opener-Policy: "
            "same-origin and Cross-Origin-Embedder-Policy: require-corp, or pass the bento "
            "server to BentoKernel (options stdin: {url, token}, or executor: {url, token}); "
            "or pass the value in a variable instead"
        )

    def import_scan_source(self, code: str) -> str:
        """The cell as Pyodide's import scan (loadPackagesFromImports) must see it.

        A cell that needs IPython (``classic.route``) loads it, with the Python body of magics
        such as ``%%time``. A ``%line`` magic is not Python and would hide every import of the
        cell from the scan; it becomes the call the kernel runs. A cell magic's body is not
        Python.

        A cell that first imports pandas also loads pyarrow: pandas decides once, when it is
        imported, whether pyarrow exists, and Arrow-backed columns (data magics, offload
        results) fail for good if pyarrow came later (the background preload usually loads
        both; ``preload: []`` does not).
        """
        import sys

        from ..errors import MagicError, NoShellError
        from ..kernel import classic
        from ..kernel.magics import split_cell_magic, transform_line_magics

        try:
            way = classic.route(code, self.kernel.magics)
        except (NoShellError, MagicError):
            return ""  # the cell is refused before it runs: nothing to load
        if way == classic.IPYTHON:
            source = classic.scan_source(code)
        else:
            source = "" if split_cell_magic(code) is not None else transform_line_magics(code)
        if "ipywidgets" in source and "IPython" not in sys.modules:
            source += "\nimport IPython"  # ipywidgets' dependencies in the lock (traitlets ...)
        if "pandas" in source and "pandas" not in sys.modules and "pyarrow" not in sys.modules:
            from pyodide.code import find_imports

            if "pandas" in find_imports(source):
                source += "\nimport pyarrow"
        return source

    def runtime_wheels_for(self, code: str) -> list[str]:
        """URLs of the runtime's extra wheels (runtime_wheels.json: ipywidgets, comm) that the
        cell imports and that are not installed yet; worker_js/kernel/packages.js installs
        them with micropip from the runtime folder (no network), as JupyterLite installs its
        own wheels. A cell that imports ipywidgets also gets comms (kernel/comms.py)."""
        if not _WIDGET_WORD.search(code):  # most cells: no parse (and no import) at all
            return []
        import importlib.util
        import json

        from pyodide.code import find_imports

        from ..kernel.comms import WIDGET_MODULES

        try:
            imported = set(find_imports(self.import_scan_source(code)))
        except SyntaxError:
            return []
        if not imported & WIDGET_MODULES:
            return []
        self._widgets_wanted = True
        from ..runtime import EXTRA_WHEELS  # argparse, tarfile ...: only for a widget cell

        table = json.loads(EXTRA_WHEELS.read_text("utf-8"))["wheels"]
        base = str(self.options.get("indexURL") or "")
        return [
            base + wheel["file"]
            for wheel in table
            if set(wheel["imports"]) & imported
            and importlib.util.find_spec(wheel["name"].replace("-", "_")) is None
        ]

    async def execute(self, cell_id: str, code: str) -> None:
        if getattr(self, "_widgets_wanted", False) and self.kernel.comms is None:
            import contextlib

            from ..kernel import comms

            # If the wheels did not install, the cell's own import names the missing module.
            with contextlib.suppress(ImportError):
                comms.install(self.kernel)
        await self.kernel.execute(cell_id, code)

    async def comm_message(self, message: Any) -> None:
        """A comm_open / comm_msg / comm_close from the page (a widget moved): run its
        handler as a short cell of the message's id (kernel/comms.py)."""
        message = message.to_py() if hasattr(message, "to_py") else message
        if self.kernel.comms is None:
            return  # no widget was ever created here: nothing listens
        await self.kernel.comms.receive(dict(message))

    def request_scan_source(self, request: Any) -> str:
        """What Pyodide's import scan must load before ``request`` (complete, inspect,
        is_complete) can be answered: IPython and jedi, the first time they are needed."""
        import sys

        from ..kernel import introspect

        request = request.to_py() if hasattr(request, "to_py") else request
        if not introspect.needs_ipython(self.kernel, request):
            return ""
        return "".join(f"import {m}\n" for m in ("IPython", "jedi") if m not in sys.modules)

    def answer(self, request: Any) -> None:
        """Answer a complete, inspect or is_complete request (its reply goes through post)."""
        from ..kernel import introspect

        request = request.to_py() if hasattr(request, "to_py") else request
        self.kernel._emit(introspect.answer(self.kernel, request))


def _read_stdin(prompt: str, password: bool, request: str) -> str | None:
    """Wait for the page's answer to input_request ``request``: worker_js/kernel/worker.js
    blocks on the shared stdin buffer (Atomics.wait) or in a long poll of the bento server's
    stdin endpoint (synchronous XHR). None if the cell was interrupted meanwhile."""
    import js  # type: ignore[import-not-found,unused-ignore]
    from pyodide.ffi import JsException

    from .. import protocol
    from ..errors import NetworkError

    _waiting, _answer, interrupted = protocol.spec()["stdin_states"]
    try:
        got = js.bentoStdin.read(request)
    except JsException as exc:  # the server could not be reached or refused the wait
        raise NetworkError(getattr(exc, "message", None) or str(exc)) from exc
    if got.state == interrupted:
        return None
    return str(got.value)


def start(post: Any, options: Any = None) -> WorkerKernel:
    """Create the worker's kernel. ``options`` is the boot options object, as a dict."""
    if hasattr(options, "to_py"):
        options = options.to_py()
    return WorkerKernel(post, dict(options or {}))
