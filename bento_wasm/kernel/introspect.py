"""Completion, inspection and is-complete answers, as ipykernel gives them.

``complete`` and ``inspect`` use IPython's completer (with jedi) and inspector through the
kernel's IPython shell (:func:`~bento_wasm.kernel.shell.shell_for`, created on first use).
``is_complete`` answers plain Python and bento's own magics with the standard library's
``codeop`` (Shift+Enter must not wait for IPython to load), and cells only IPython runs with
IPython's own check. Every answer is the content of the Jupyter reply of the same name.
"""

from __future__ import annotations

from . import classic
from .shell import shell_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    #: bento_wasm.kernel.interpreter.Kernel (which imports this package's shell module).
    Kernel = Any

__all__ = ["complete", "inspect", "is_complete"]


def complete(kernel: Kernel, code: str, cursor_pos: int) -> dict[str, Any]:
    """Jupyter's complete_reply content for ``code`` with the cursor at ``cursor_pos``."""
    from IPython.core.completer import provisionalcompleter, rectify_completions

    shell = shell_for(kernel)
    cursor_pos = len(code) if cursor_pos is None else cursor_pos
    with provisionalcompleter():
        found = list(rectify_completions(code, shell.Completer.completions(code, cursor_pos)))
    start, end = (found[0].start, found[0].end) if found else (cursor_pos, cursor_pos)
    types = [
        {"start": c.start, "end": c.end, "text": c.text, "type": c.type, "signature": c.signature}
        for c in found
    ]
    return {
        "status": "ok",
        "matches": [c.text for c in found],
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {"_jupyter_types_experimental": types},
    }


def inspect(kernel: Kernel, code: str, cursor_pos: int, detail_level: int = 0) -> dict[str, Any]:
    """Jupyter's inspect_reply content: help on the name at the cursor."""
    from IPython.utils.tokenutil import token_at_cursor

    shell = shell_for(kernel)
    name = token_at_cursor(code, cursor_pos)
    try:
        data: dict[str, Any] = shell.object_inspect_mime(name, detail_level=detail_level)
    except KeyError:  # IPython's way of saying the name is not defined
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    if not shell.enable_html_pager:
        data.pop("text/html", None)
    return {"status": "ok", "found": True, "data": data, "metadata": {}}


def is_complete(kernel: Kernel, code: str) -> dict[str, Any]:
    """Jupyter's is_complete_reply content: complete, incomplete (with indent) or invalid."""
    from ..errors import MagicError, NoShellError

    try:
        way = classic.route(code, kernel.magics)
    except (NoShellError, MagicError):
        return {"status": "complete"}  # it runs, and says why it cannot
    if way == classic.IPYTHON:
        status, indent = shell_for(kernel).input_transformer_manager.check_complete(code)
        return _answer(status, indent)
    return python_is_complete(code)


def python_is_complete(code: str) -> dict[str, Any]:
    """The answer IPython's check gives, for plain Python (and bento's magics), without it."""
    import codeop
    import warnings

    from .magics import split_cell_magic, transform_line_magics

    if split_cell_magic(code) is not None or not code.strip():
        return {"status": "complete"}
    source = transform_line_magics(code)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = codeop.compile_command(source, "<cell>", "exec")
    except (SyntaxError, ValueError, OverflowError):
        return {"status": "invalid"}
    last = next((line for line in reversed(source.splitlines()) if line.strip()), "")
    indent = len(last) - len(last.lstrip())
    if compiled is not None:
        # Like IPython: a block is open until a line ends it (the cell's final newline).
        block_open = indent > 0 and not source.endswith("\n")
        return _answer("incomplete" if block_open else "complete", indent)
    if last.rstrip().endswith(":"):
        indent += 4
    return _answer("incomplete", indent)


def _answer(status: str, indent: int | None) -> dict[str, Any]:
    if status == "incomplete":
        return {"status": status, "indent": " " * (indent or 0)}
    return {"status": status}


#: The reply to each request type, all defined in protocol.json.
REPLIES = {
    "complete_request": "complete_reply",
    "inspect_request": "inspect_reply",
    "is_complete_request": "is_complete_reply",
}


def answer(kernel: Kernel, request: dict[str, Any]) -> dict[str, Any]:
    """The reply message to a complete, inspect or is_complete request (never raises: a
    failure is a reply with status error, or unknown, and the error)."""
    from .. import protocol

    kind = str(request["type"])
    code = str(request["code"])
    try:
        if kind == "complete_request":
            content = complete(kernel, code, int(request["cursor_pos"]))
        elif kind == "inspect_request":
            level = int(request.get("detail_level") or 0)
            content = inspect(kernel, code, int(request["cursor_pos"]), level)
        else:
            content = is_complete(kernel, code)
    except Exception as exc:  # the request boundary: the editor shows nothing, the kernel goes on
        error = {"ename": type(exc).__name__, "evalue": str(exc)}
        status = "unknown" if kind == "is_complete_request" else "error"
        content = {"status": status, "error": error}
        if kind == "complete_request":
            content.update(matches=[], cursor_start=0, cursor_end=0, metadata={})
        elif kind == "inspect_request":
            content.update(found=False, data={}, metadata={})
    return protocol.message(REPLIES[kind], id=request["id"], **content)


def needs_ipython(kernel: Kernel, request: dict[str, Any]) -> bool:
    """Whether answering ``request`` loads IPython (and jedi): not for plain is_complete."""
    if request["type"] != "is_complete_request":
        return True
    from ..errors import MagicError, NoShellError

    try:
        return classic.route(str(request["code"]), kernel.magics) == classic.IPYTHON
    except (NoShellError, MagicError):
        return False
