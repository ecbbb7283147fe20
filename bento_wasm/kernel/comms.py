"""Jupyter comms in the serverless kernel: what ipywidgets talks through.

ipykernel and JupyterLite's Pyodide kernel provide the ``comm`` package's two hooks
(``comm.create_comm`` and ``comm.get_comm_manager``); :func:`install` provides them for a
bento :class:`~bento_wasm.kernel.interpreter.Kernel`, the first time a cell imports
ipywidgets (so a plain cell pays nothing). A comm's ``comm_open`` / ``comm_msg`` /
``comm_close`` leave as worker protocol messages (``protocol.json``) under the id of the
running cell; the page's messages come back through :meth:`CommBridge.receive`, which runs the
comm's handler as a short cell of the page message's own id, so what the handler prints or
shows goes out under that id and an ``Output`` widget (``interact``) captures it, as in
JupyterLab. Binary buffers travel as base64 strings.

Stdlib only at import; ``comm`` and IPython are imported by :func:`install`.
"""

from __future__ import annotations

import base64
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    #: bento_wasm.kernel.interpreter.Kernel (which may import this module lazily).
    Kernel = Any

__all__ = ["WIDGET_MODULES", "CommBridge", "decode_buffers", "encode_buffers", "install"]

#: Top-level imports that need comms (and the extra wheels of the runtime) before they run.
WIDGET_MODULES = frozenset({"ipywidgets", "comm"})
#: matplotlib's inline backend: the one ipywidgets' ``interact`` flushes figures with, so a
#: figure drawn by an interact callback lands in its Output widget (as under ipykernel).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def encode_buffers(buffers: Any) -> list[str]:
    """Binary buffers (bytes, memoryviews) as base64 strings for the worker protocol."""
    return [base64.b64encode(bytes(buffer)).decode("ascii") for buffer in buffers or ()]


def decode_buffers(buffers: Any) -> list[memoryview]:
    """The page's base64 buffers as memoryviews (what ipywidgets' deserialisers take)."""
    return [memoryview(base64.b64decode(text)) for text in buffers or ()]


class _Parent:
    """What ipywidgets' ``Output`` asks ``get_ipython().kernel`` for: the request being
    handled, whose ``msg_id`` the page uses to route outputs into the widget."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel

    def get_parent(self) -> dict[str, Any]:
        msg_id = self._kernel.cell_id
        return {"header": {"msg_id": msg_id}} if msg_id else {}


class CommBridge:
    """The kernel's comm manager and the factory of its comms."""

    def __init__(self, kernel: Kernel) -> None:
        from comm.base_comm import CommManager

        self.kernel = kernel
        self.manager = CommManager()
        self.comm_class = _comm_class()

    def create_comm(self, *args: Any, **kwargs: Any) -> Any:
        """``comm.create_comm``: a comm whose messages go to the page."""
        return self.comm_class(*args, bridge=self, **kwargs)

    def get_comm_manager(self) -> Any:
        """``comm.get_comm_manager``."""
        return self.manager

    def publish(self, msg_type: str, comm_id: str, **content: Any) -> None:
        fields: dict[str, Any] = {"id": self.kernel.cell_id, "comm_id": comm_id}
        buffers = content.pop("buffers", None)
        if buffers:
            fields["buffers"] = encode_buffers(buffers)
        for key in ("target_name", "data", "metadata"):
            if content.get(key) is not None:
                fields[key] = _jsonable(content[key])
        if msg_type != "comm_close":
            fields.setdefault("data", {})
        self.kernel.send(msg_type, **fields)

    async def receive(self, message: dict[str, Any]) -> None:
        """Handle a comm_open/comm_msg/comm_close from the page as a short cell of its id."""
        kind = str(message["type"])
        content = {k: message[k] for k in ("comm_id", "target_name", "data") if k in message}
        content.setdefault("data", {})
        jupyter_msg = {
            "header": {"msg_id": message["id"], "msg_type": kind},
            "parent_header": {},
            "metadata": message.get("metadata") or {},
            "content": content,
            "buffers": decode_buffers(message.get("buffers")),
        }
        handler = getattr(self.manager, kind)
        with self.kernel.handling(str(message["id"])):
            handler(None, None, jupyter_msg)


def _jsonable(value: Any) -> Any:
    """Plain JSON data (tuples become lists), as Jupyter's session serialises it."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _comm_class() -> Any:
    from comm.base_comm import BaseComm

    class BentoComm(BaseComm):
        """A comm whose messages leave as worker protocol messages."""

        def __init__(self, *args: Any, bridge: CommBridge, **kwargs: Any) -> None:
            self.bridge = bridge
            super().__init__(*args, **kwargs)

        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            self.bridge.publish(
                msg_type,
                self.comm_id,
                data=data,
                metadata=metadata,
                buffers=buffers,
                target_name=keys.get("target_name"),
            )

    return BentoComm


def install(kernel: Kernel) -> CommBridge:
    """Give ``kernel`` comms (once): the ``comm`` package's hooks, and an IPython shell whose
    ``kernel`` answers ``get_parent()`` (ipywidgets' ``Output`` and ``interact`` need both)."""
    bridge: CommBridge | None = getattr(kernel, "comms", None)
    if bridge is not None:
        return bridge
    import comm

    from .shell import shell_for

    bridge = CommBridge(kernel)
    comm.create_comm = bridge.create_comm
    comm.get_comm_manager = bridge.get_comm_manager
    shell = shell_for(kernel)
    shell.kernel = _Parent(kernel)
    kernel.comms = bridge
    _inline_figures()
    return bridge


def _inline_figures() -> None:
    """Draw figures with matplotlib's inline backend from now on (ipykernel's default), so
    ``interact`` shows them inside its Output widget. bento's own Agg default stays for
    notebooks without widgets (the inline backend needs IPython, seconds to load)."""
    import os

    if os.environ.get("MPLBACKEND", "Agg").lower() != "agg":
        return  # the user chose a backend
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.switch_backend(INLINE_BACKEND)
    elif "matplotlib" in sys.modules:
        sys.modules["matplotlib"].rcParams["backend"] = INLINE_BACKEND
