"""The executor's side of an offloaded call: runs in the remote kernel's namespace.

:class:`Runner` takes one request header + buffers (see :mod:`bento_wasm.offload.values`) and
returns the reply header + buffers. It is stdlib only, so the same code serves the
real executor (inside an ipykernel, installed by :func:`install` as a comm target)
and the in-memory transport of the unit tests. Requests:

- ``{"op": "cell", "code", "outputs", ...}``: run a cell; return the named bindings;
- ``{"op": "call", "function": {"name", "source"}, "args", "kwargs", ...}``: define the
  function from its source (never bytecode: the two Pythons may differ) and call it;

both with ``inputs`` (name -> value spec), ``imports`` ([module, attribute, alias]) and
``definitions`` (source of helper functions) bound first. stdout/stderr and displays
go wherever the host sends them (the kernel's iopub); the last expression of a cell
comes back as a mime bundle.
"""

from __future__ import annotations

import ast
import importlib
import linecache
import sys
import traceback
import types

from ..errors import TransferError
from .values import Decoder, Encoder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import CodeType
    from typing import Any

    Formatter = Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]

__all__ = ["COMM_TARGET", "Runner", "install"]

COMM_TARGET = "bento_offload"


def _plain_bundle(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..kernel.display import mimebundle

    return mimebundle(value)


class Runner:
    """Runs requests in one namespace (the remote session's state)."""

    def __init__(self, namespace: dict[str, Any], formatter: Formatter | None = None) -> None:
        self.namespace = namespace
        self.formatter = formatter or _plain_bundle
        self.count = 0

    def handle(
        self, header: dict[str, Any], buffers: Sequence[Any]
    ) -> tuple[dict[str, Any], list[Any]]:
        self.count += 1
        encoder = Encoder()
        try:
            self._bind(header, Decoder(buffers))
            if header.get("op") == "call":
                reply = self._call(header, Decoder(buffers), encoder)
            else:
                reply = self._cell(header, encoder)
        except BaseException as exc:  # the user's error goes back as data
            return self._error(exc), []
        return {"status": "ok", **reply}, list(encoder.buffers)

    def _bind(self, header: dict[str, Any], decoder: Decoder) -> None:
        for module, attribute, alias in header.get("imports") or []:
            value: Any = importlib.import_module(module)
            for part in (attribute or "").split(".") if attribute else ():
                value = getattr(value, part)
            self.namespace[alias] = value
        for index, source in enumerate(header.get("definitions") or []):
            self._exec(source, f"<remote definition {self.count}.{index}>")
        for name, spec in (header.get("inputs") or {}).items():
            self.namespace[name] = decoder.decode(spec)

    def _call(self, header: dict[str, Any], decoder: Decoder, encoder: Encoder) -> dict[str, Any]:
        function = header["function"]
        self._exec(function["source"], f"<remote {function['name']}>")
        target = self.namespace[function["name"]]
        args = [decoder.decode(spec) for spec in header.get("args") or []]
        kwargs = {k: decoder.decode(v) for k, v in (header.get("kwargs") or {}).items()}
        value = target(*args, **kwargs)
        return {"result": encoder.encode(f"the return value of {function['name']}()", value)}

    def _cell(self, header: dict[str, Any], encoder: Encoder) -> dict[str, Any]:
        filename = f"<remote cell {self.count}>"
        body, last = _compile_cell(header.get("code", ""), filename)
        exec(body, self.namespace)
        reply: dict[str, Any] = {}
        if last is not None:
            value = eval(last, self.namespace)
            if value is not None and not header.get("code", "").rstrip().endswith(";"):
                data, metadata = self.formatter(value)
                reply["result"] = {"data": data, "metadata": metadata}
        values: dict[str, Any] = {}
        kept: dict[str, str] = {}
        strict = bool(header.get("strict_outputs"))
        for name in header.get("outputs") or []:
            if isinstance(self.namespace.get(name), types.ModuleType) and not strict:
                continue  # imports in a remote cell stay remote, silently
            if name not in self.namespace:
                if strict:
                    raise NameError(f"--out {name}: the cell did not bind {name!r}")
                continue
            try:
                values[name] = encoder.encode(f"`{name}`", self.namespace[name])
            except TransferError as exc:
                if strict:
                    raise
                kept[name] = exc.type_name or "value"
        reply.update(values=values, kept=kept)
        return reply

    def _exec(self, source: str, filename: str) -> None:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec", dont_inherit=True), self.namespace)

    def _error(self, exc: BaseException) -> dict[str, Any]:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        if isinstance(exc, SyntaxError):
            tb = None
        lines = [line.rstrip("\n") for line in traceback.format_exception(type(exc), exc, tb)]
        error: dict[str, Any] = {"ename": type(exc).__name__, "evalue": str(exc)}
        if isinstance(exc, TransferError):
            error.update(exc.to_dict())
        return {"status": "error", **error, "traceback": lines}


def _compile_cell(code: str, filename: str) -> tuple[CodeType, CodeType | None]:
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = ast.parse(code, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop()
        assert isinstance(final, ast.Expr)
        last = compile(ast.Expression(final.value), filename, "eval", dont_inherit=True)
    return compile(tree, filename, "exec", dont_inherit=True), last


def install(target: str = COMM_TARGET) -> None:
    """In an ipykernel: answer requests sent to comm ``target`` (the executor opens it).

    With ``binary`` requests the buffers ride as ZMQ frames (no copies, no base64);
    through a Kernel Gateway, whose websocket bridge carries JSON only, as base64. When the
    executor runs on this machine (it proves it when it opens the comm: a ``probe`` file
    this kernel can read) large buffers go through shared files instead
    (:mod:`bento_wasm.offload.shared`): ``shared`` names the request's file and its spans,
    ``reply_shared`` where the answer's file goes; and when it also names a ``channel``
    socket, calls come through that (:mod:`bento_wasm.offload.channel`), not the comm.
    """
    from comm import get_comm_manager  # type: ignore[import-not-found,unused-ignore]
    from IPython import get_ipython  # type: ignore[import-not-found,unused-ignore]

    shell = get_ipython()
    runner = Runner(shell.user_ns, formatter=shell.display_formatter.format)

    def answer(header: dict[str, Any], frames: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        """One request: its reply and the buffers of its values."""
        try:
            buffers = _request_buffers(header, frames, bool(header.get("binary")))
        except (OSError, TransferError) as exc:  # the request's file is gone or unreadable
            return runner._error(exc), []
        reply, out = runner.handle(header, buffers)
        del buffers  # the request's shared file is unmapped once no value holds a view
        return reply, out

    def opened(comm: Any, open_msg: dict[str, Any]) -> None:
        def on_msg(msg: dict[str, Any]) -> None:
            header = dict(msg["content"]["data"])
            reply, out = answer(header, list(msg.get("buffers") or []))
            # The call's output goes out before its answer (one IOPub queue, in order), so the
            # executor may answer the browser at once instead of waiting for the idle status.
            sys.stdout.flush()
            sys.stderr.flush()
            reply["flushed"] = True
            binary, source = bool(header.get("binary")), header.get("source")
            send_reply(comm, reply, out, header.get("reply_shared"), binary, source)

        comm.on_msg(on_msg)
        data = open_msg.get("content", {}).get("data") or {}
        probe = data.get("probe")
        if isinstance(probe, dict):
            local = _probe(probe)
            path = data.get("channel")
            linked = local and isinstance(path, str) and _connect(path, shell, answer)
            comm.send({"shared": local, "channel": bool(linked)})

    get_comm_manager().register_target(target, opened)


def _connect(path: str, shell: Any, answer: Any) -> bool:
    from . import channel

    return channel.connect(path, shell, answer)


def send_reply(
    comm: Any,
    reply: dict[str, Any],
    out: list[Any],
    destination: Any,
    binary: bool,
    source: Any = None,
) -> None:
    """Answer through the comm: a large answer through a shared file when the executor offers
    one (:func:`bento_wasm.offload.shared.place`), else as ZMQ frames or base64 (a gateway)."""
    import base64

    from . import shared

    out = shared.place(reply, out, destination, source)
    if "shared" in reply:
        comm.send(reply)
    elif binary:
        comm.send(reply, buffers=[memoryview(b) for b in out])
    else:
        reply["b64"] = [base64.b64encode(memoryview(b)).decode("ascii") for b in out]
        comm.send(reply)


def _request_buffers(header: dict[str, Any], frames: list[Any], binary: bool) -> list[Any]:
    import base64

    from . import shared

    request = header.pop("shared", None)
    if isinstance(request, dict):
        mapped = shared.SharedFile.open(str(request["path"]), private=True)
        # the answer may leave buffers of the request's file there (shared.place)
        header["source"] = shared.Source(mapped.path, mapped)
        return shared.slices(mapped.view(), request["spans"])
    if not binary:
        return [base64.b64decode(b) for b in header.pop("b64", [])]
    return frames


def _probe(probe: dict[str, Any]) -> bool:
    """True when the executor's probe file is readable here with the expected content."""
    try:
        with open(str(probe["path"]), "rb") as handle:
            return handle.read() == str(probe["token"]).encode()
    except (OSError, KeyError):
        return False
