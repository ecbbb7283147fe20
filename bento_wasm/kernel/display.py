"""Rich outputs without IPython: mime bundles, ``display()`` and live display updates.

A kernel sets the :class:`Publisher` for the cell it runs (a context variable), and
``display(obj)`` sends a ``display_data`` message through it. ``display(..., display_id=True)``
returns a :class:`DisplayHandle` whose ``update()`` replaces that output in place,
which is how long jobs show live status. Formatting follows IPython's conventions
(``_repr_mimebundle_``, ``_repr_html_``, ``_repr_png_`` ...), so pandas DataFrames,
matplotlib figures and user classes render as they do in Jupyter.
"""

from __future__ import annotations

import io
import sys
from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["DisplayHandle", "Publisher", "display", "flush_figures", "mimebundle"]

MimeBundle = dict[str, "Any"]

_REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
)
_BINARY = {"image/png", "image/jpeg"}


def mimebundle(obj: Any) -> tuple[MimeBundle, MimeBundle]:
    """Return ``(data, metadata)`` for ``obj`` the way Jupyter front ends expect them."""
    data: MimeBundle = {}
    metadata: MimeBundle = {}
    custom = getattr(obj, "_repr_mimebundle_", None)
    if callable(custom) and not isinstance(obj, type):
        result = custom()
        if isinstance(result, tuple):
            data, metadata = dict(result[0] or {}), dict(result[1] or {})
        elif result:
            data = dict(result)
    for mime, method_name in _REPR_METHODS:
        method = getattr(obj, method_name, None)
        if mime in data or not callable(method) or isinstance(obj, type):
            continue
        value = method()
        if isinstance(value, tuple):
            value, metadata[mime] = value
        if value is not None:
            data[mime] = value
    if _is_figure(obj) and "image/png" not in data:
        data["image/png"] = _figure_png(obj)
    for mime in _BINARY & data.keys():
        if isinstance(data[mime], bytes | bytearray | memoryview):
            from base64 import b64encode

            data[mime] = b64encode(bytes(data[mime])).decode("ascii")
    data.setdefault("text/plain", repr(obj))
    return data, metadata


class Publisher:
    """Sends display messages for one cell through ``emit(kind, **fields)``."""

    def __init__(self, cell_id: str, emit: Callable[..., None]) -> None:
        self.cell_id = cell_id
        self._emit = emit

    def publish(
        self,
        data: MimeBundle,
        metadata: MimeBundle | None = None,
        display_id: str | None = None,
        update: bool = False,
    ) -> None:
        self._emit(
            "display_data",
            id=self.cell_id,
            data=data,
            metadata=metadata or {},
            display_id=display_id,
            update=update,
        )

    def clear(self, wait: bool = False) -> None:
        """``clear_output(wait)``: clear what this cell (or an Output widget) shows."""
        self._emit("clear_output", id=self.cell_id, wait=wait)


current_publisher: ContextVar[Publisher | None] = ContextVar("bento_publisher", default=None)


class DisplayHandle:
    """A display that can be replaced in place (``update``) after it was shown."""

    def __init__(self, display_id: str) -> None:
        self.display_id = display_id

    def __repr__(self) -> str:
        return f"DisplayHandle({self.display_id!r})"

    def display(self, obj: Any, *, raw: bool = False) -> None:
        display(obj, display_id=self.display_id, raw=raw)

    def update(self, obj: Any, *, raw: bool = False) -> None:
        display(obj, display_id=self.display_id, update=True, raw=raw)


def display(
    *objs: Any,
    display_id: str | bool | None = None,
    update: bool = False,
    raw: bool = False,
) -> DisplayHandle | None:
    """Show objects in the running cell's output, as IPython's ``display`` does.

    ``raw=True`` takes each object as a ready mime bundle (a dict). Outside a
    kernel (plain Python), it prints the text form instead.
    """
    if display_id is True:
        import uuid

        display_id = uuid.uuid4().hex
    publisher = current_publisher.get()
    for obj in objs:
        data, metadata = (obj, {}) if raw else mimebundle(obj)
        if publisher is None:
            print(data.get("text/plain", repr(obj)), file=sys.stdout)
            continue
        publisher.publish(data, metadata, display_id or None, update)
    return DisplayHandle(display_id) if isinstance(display_id, str) else None


def flush_figures() -> int:
    """Display and close every open matplotlib figure; returns how many were shown.

    Runs after each cell, like matplotlib-inline does in Jupyter. Costs nothing
    unless the cell imported matplotlib.pyplot.
    """
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return 0
    numbers = list(pyplot.get_fignums())
    for number in numbers:
        display(pyplot.figure(number))
    pyplot.close("all")
    return len(numbers)


def _is_figure(obj: Any) -> bool:
    figure_module = sys.modules.get("matplotlib.figure")
    return figure_module is not None and isinstance(obj, figure_module.Figure)


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
