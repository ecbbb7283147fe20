"""The executor client: sends cells and calls to a remote session, behind a transport.

Transports are objects (STYLE.md #3, httpx's model): :class:`HttpTransport` talks to
the executor's ``/bento/api/sessions/<session>/...`` endpoints through the environment
seam (in the worker small calls on a WebSocket, else XHR or fetch; urllib in CPython);
:class:`MemoryTransport` hands requests to a function, e.g. :class:`MemoryExecutor`.

:class:`Executor` builds requests (values via :mod:`bento_wasm.offload.values`; functions and
helpers as source, modules as imports), replays the remote stdout and displays in the
calling cell, and turns failures into errors that say what to do: remote exceptions
become :class:`~bento_wasm.errors.RemoteError` with the remote traceback.
"""

from __future__ import annotations

import functools
import json
import sys

from ..errors import BentoError, ExecutorError, RemoteError
from .values import Decoder, Encoder, envelope, pack, unpack

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, Protocol

    from ..environment.interface import Environment, HttpResponse

    class Transport(Protocol):
        """Carries one request to the executor and returns its response."""

        url: str

        def handle(self, request: Request) -> Response: ...

        async def handle_async(self, request: Request) -> Response: ...


__all__ = ["Executor", "HttpTransport", "MemoryExecutor", "MemoryTransport", "Request", "Response"]

API = "/bento/api/sessions"
#: Seconds the client waits beyond the call's own limit (the executor answers first).
CLIENT_MARGIN_S = 30.0


class Request:
    """One request to the executor (a plain class: dataclasses cost ~35 ms to import in wasm)."""

    __slots__ = ("admit", "body", "headers", "method", "path", "timeout_s")

    def __init__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 60.0,
        admit: Callable[[int, str], None] | None = None,
    ) -> None:
        self.method, self.path, self.body = method, path, body
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        #: asked ``admit(nbytes, what)`` before the answer is copied into memory (the budget)
        self.admit = admit

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"


class Response:
    """The executor's answer: status, body, headers."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        self.status, self.body = status, body
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"Response({self.status})"

    def json(self) -> Any:
        return json.loads(bytes(self.body) or b"{}")


class HttpTransport:
    """HTTP to a real executor, with ``Authorization: token <token>``."""

    def __init__(self, url: str, token: str = "", environment: Environment | None = None) -> None:
        from ..environment import current

        self.url = url.rstrip("/")
        self.token = token
        self.environment = environment or current()

    def _headers(self, request: Request) -> dict[str, str]:
        headers = {"Content-Type": "application/octet-stream", **request.headers}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        return headers

    def _options(self, request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "headers": self._headers(request),
            "body": request.body,
            "timeout_s": request.timeout_s,
            "admit": request.admit,
        }

    def handle(self, request: Request) -> Response:
        from ..errors import NetworkError

        try:
            answer = self._exchange(request) if request.path.endswith("/execute") else None
            response = answer or self.environment.fetch(
                self.url + request.path, **self._options(request)
            )
        except NetworkError as exc:
            raise self._unreachable(exc) from exc
        return Response(response.status, response.body, response.headers)

    def _exchange(self, request: Request) -> HttpResponse | None:
        """The call on the session's WebSocket if the environment holds one (token: the query)."""
        from urllib.parse import quote

        url = "ws" + self.url.removeprefix("http") + request.path.removesuffix("/execute")
        url += "/calls" + (f"?token={quote(self.token)}" if self.token else "")
        timeout, admit = request.timeout_s, request.admit
        return self.environment.exchange(url, request.body, timeout_s=timeout, admit=admit)

    async def handle_async(self, request: Request) -> Response:
        """The same request, awaitable (``heavy.aio()``): the event loop runs meanwhile."""
        from ..errors import NetworkError

        try:
            response = await self.environment.fetch_async(
                self.url + request.path, **self._options(request)
            )
        except NetworkError as exc:
            raise self._unreachable(exc) from exc
        return Response(response.status, response.body, response.headers)

    def _unreachable(self, exc: Exception) -> BentoError:
        """No answer: down, a wrong URL or a refused origin (GET /bento/api/info tells)."""
        from ..environment.diagnose import diagnose

        return diagnose(self.environment, self.url, str(exc))


class MemoryTransport:
    """Hands each request to ``handler`` in-process (tests; no sockets)."""

    url = "memory://executor"

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler

    def handle(self, request: Request) -> Response:
        return self.handler(request)

    async def handle_async(self, request: Request) -> Response:
        return self.handler(request)


class MemoryExecutor:
    """An executor in this process: one :class:`~bento_wasm.offload.runner.Runner` per session."""

    def __init__(self) -> None:
        self.sessions: dict[str, Any] = {}
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        import contextlib
        import io

        from .runner import Runner

        self.requests.append(request)
        session, _, action = request.path[len(API) + 1 :].partition("/")
        if action != "execute":
            return Response(200, b"{}")
        runner = self.sessions.setdefault(session, Runner({"__name__": "__main__"}))
        header, buffers = unpack(request.body)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            reply, reply_buffers = runner.handle(header, buffers)
        streams = [("stdout", out.getvalue()), ("stderr", err.getvalue())]
        outputs = [{"type": "stream", "name": n, "text": t} for n, t in streams if t]
        return Response(200, pack({"reply": reply, "outputs": outputs}, reply_buffers))


class Executor:
    """One notebook's remote session, reached through ``transport``."""

    def __init__(
        self,
        transport: Transport,
        session: str = "default",
        *,
        timeout_s: float | None = None,
    ) -> None:
        self.transport = transport
        self.session = session
        self.timeout_s = timeout_s
        #: admission control for data coming back (the kernel's ``admit``: the memory budget)
        self.admit: Callable[[int, str], None] | None = None

    def __repr__(self) -> str:
        return f"Executor({self.transport.url!r}, session={self.session!r})"

    # -- building requests -----------------------------------------------------------
    def cell_request(
        self,
        code: str,
        namespace: dict[str, Any],
        inputs: Iterable[str],
        outputs: Iterable[str],
        *,
        strict_outputs: bool = False,
    ) -> tuple[dict[str, Any], list[Any]]:
        encoder = Encoder()
        header = collect(inputs, namespace, encoder)
        header.update(op="cell", code=code, outputs=list(outputs), strict_outputs=strict_outputs)
        return header, encoder.buffers

    def call_request(
        self, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Any]]:
        from .sources import function_source, parameter_names

        encoder = Encoder()
        name = function.__name__
        source = function_source(function)
        header = collect(_free_names(source, name), function.__globals__, encoder, {name})
        labels = parameter_names(function, args, kwargs)
        header.update(
            op="call",
            function={"name": name, "source": source},
            args=[encoder.encode(f"{labels[i]} of {name}()", a) for i, a in enumerate(args)],
            kwargs={k: encoder.encode(f"argument `{k}` of {name}()", v) for k, v in kwargs.items()},
        )
        return header, encoder.buffers

    # -- running ---------------------------------------------------------------------
    def run_cell(self, code: str, namespace: dict[str, Any], **options: Any) -> dict[str, Any]:
        """Run a cell remotely; returns the reply (``values`` already decoded)."""
        header, buffers = self.cell_request(code, namespace, **options)
        reply, reply_buffers = self.send(header, buffers)
        decoder = Decoder(reply_buffers, self.admit)
        reply["values"] = {k: decoder.decode(v) for k, v in (reply.get("values") or {}).items()}
        return reply

    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        header, buffers = self.call_request(function, args, kwargs)
        reply, reply_buffers = self.send(header, buffers)
        return Decoder(reply_buffers, self.admit).decode(reply["result"])

    async def call_async(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        header, buffers = self.call_request(function, args, kwargs)
        response = await self.transport.handle_async(self._execute_request(header, buffers))
        reply, reply_buffers = self._finish(response)
        return Decoder(reply_buffers, self.admit).decode(reply["result"])

    def send(self, header: dict[str, Any], buffers: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        return self._finish(self.transport.handle(self._execute_request(header, buffers)))

    def interrupt(self) -> None:
        self._check(self.transport.handle(Request("POST", f"{API}/{self.session}/interrupt")))

    def shutdown(self) -> None:
        self._check(self.transport.handle(Request("DELETE", f"{API}/{self.session}")))

    def _execute_request(self, header: dict[str, Any], buffers: list[Any]) -> Request:
        if self.timeout_s is not None:
            header["timeout_s"] = self.timeout_s
        limit = (self.timeout_s or 3600.0) + CLIENT_MARGIN_S
        body = envelope(header, buffers)  # large: in pieces, joined by the browser's Blob
        admit = self.admit
        what = (
            "the executor's answer (return less: a summary or a sample; or keep big results remote)"
        )
        checked = None if admit is None else (lambda n, _: admit(n, what))
        return Request(
            "POST", f"{API}/{self.session}/execute", body, timeout_s=limit, admit=checked
        )

    def _finish(self, response: Response) -> tuple[dict[str, Any], list[Any]]:
        self._check(response)
        envelope, buffers = unpack(response.body)
        if envelope.get("notice"):
            print(f"[executor] {envelope['notice']}", file=sys.stderr)
        replay(envelope.get("outputs") or [])
        reply = dict(envelope.get("reply") or {})
        if reply.get("status") == "error":
            raise remote_error(reply)
        return reply, buffers

    def _check(self, response: Response) -> None:
        if 200 <= response.status < 300:
            return
        url = self.transport.url
        try:
            data = response.json()
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            raise BentoError.from_dict(error)
        if response.status in (401, 403):
            raise ExecutorError(
                f"the executor at {url} refused the token (HTTP {response.status}). Use the token "
                "the server printed at start (its URL's ?token=) as executor.token.",
                url=url,
                status=response.status,
            )
        if not isinstance(data, dict) and isinstance(self.transport, HttpTransport):
            from ..environment.diagnose import diagnose  # not the bento API's JSON: who is it?

            raise diagnose(self.transport.environment, url, f"HTTP {response.status}")
        message = data.get("message") if isinstance(data, dict) else ""
        raise ExecutorError(
            f"the executor at {url} answered HTTP {response.status}: {message or 'no detail'}. "
            "Check the server's log.",
            url=url,
            status=response.status,
        )


def remote_error(reply: dict[str, Any]) -> BaseException:
    """The local error for a remote one: KeyboardInterrupt stays one; else RemoteError."""
    ename, evalue = str(reply.get("ename")), str(reply.get("evalue"))
    if ename == "KeyboardInterrupt":
        return KeyboardInterrupt("interrupted on the executor")
    if ename == "TransferError":
        return BentoError.from_dict(reply)
    error = RemoteError(
        f"{ename}: {evalue} (raised on the executor)",
        ename_remote=ename,
        evalue_remote=evalue,
        traceback=list(reply.get("traceback") or []),
    )
    error.add_note("The remote traceback:\n" + "\n".join(getattr(error, "traceback", [])))
    return error


def replay(outputs: list[dict[str, Any]]) -> None:
    """Show the remote stdout, stderr and displays in the running (local) cell."""
    from ..kernel.display import current_publisher, display

    for output in outputs:
        kind = output.get("type")
        if kind == "stream":
            stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
            stream.write(output.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            publisher = current_publisher.get()
            data, metadata = output.get("data") or {}, output.get("metadata") or {}
            if publisher is None:
                display(data, raw=True)
            else:
                publisher.publish(data, metadata)
    sys.stdout.flush()


def collect(
    names: Iterable[str],
    namespace: dict[str, Any],
    encoder: Encoder,
    seen: set[str] | None = None,
) -> dict[str, Any]:
    """What a remote run needs from ``namespace``: values, imports and helper sources."""
    from .sources import dependency

    seen = set() if seen is None else seen
    header: dict[str, Any] = {"inputs": {}, "imports": [], "definitions": []}
    pending = [n for n in names if n in namespace]
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        kind, payload = dependency(name, namespace[name])
        if kind == "import":
            header["imports"].append(payload)
        elif kind == "source":
            header["definitions"].insert(0, payload)
            pending.extend(n for n in _free_names(payload, name) if n in namespace)
        else:
            header["inputs"][name] = encoder.encode(f"`{name}`", namespace[name])
    return header


@functools.lru_cache(maxsize=256)
def _free_names(source: str, own: str) -> tuple[str, ...]:
    """Names a definition reads from its globals (parsed once per source: calls repeat)."""
    from .analysis import analyze

    return tuple(n for n in analyze(source).reads if n != own)
