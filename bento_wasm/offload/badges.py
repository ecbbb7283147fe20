"""Badges: a cell's note about where its work ran, and why.

A badge is a display whose bundle holds ``{"label", "why"}`` under the ``badge`` MIME type of
protocol.json, next to a ``text/plain`` line. The notebook page shows it as a label on the cell
(worker_js/src/badges.js) with the line muted below; JupyterLab and other front ends show the
line. It is saved with the outputs, so a reopened notebook keeps its badges. The same badge
(by ``key``) is shown once per cell: a ``@remote`` function called in a loop adds one line.

It works in the bento worker (its publisher) and in IPython kernels (IPython's display); plain
Python (a script using ``@remote``) shows nothing, as there is no cell to label.
"""

from __future__ import annotations

import sys

from ..kernel.display import current_publisher, display
from ..protocol import mime_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["show"]

_cell: object = None  # the cell the keys below belong to
_shown: set[str] = set()


def _ipython() -> Any:
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _running_cell() -> object:
    """Something that changes from one cell to the next."""
    publisher = current_publisher.get()
    if publisher is not None:
        return publisher
    shell = _ipython()
    return shell.execution_count if shell is not None else None


def show(label: str, why: str, text: str, key: str | None = None) -> bool:
    """Show the badge ``label`` (hover: ``why``) with the line ``text``, once per cell and key.

    Returns whether it was shown (False when this cell already had it)."""
    global _cell
    cell = _running_cell()
    if cell is None:
        return False
    if cell != _cell:
        _cell = cell
        _shown.clear()
    key = key or label
    if key in _shown:
        return False
    _shown.add(key)
    bundle = {mime_type("badge"): {"label": label, "why": why}, "text/plain": text}
    if current_publisher.get() is None:  # an IPython kernel
        from IPython.display import display as ipython_display

        ipython_display(bundle, raw=True)  # type: ignore[no-untyped-call]
    else:
        display(bundle, raw=True)
    return True
