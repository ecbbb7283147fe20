"""The data endpoints of the executor: SQL out as Arrow IPC, uploads in as background jobs.

    POST   /bento/api/sql              {"connection", "sql", "params": [...], "limit", "format"}
                                       -> Arrow IPC stream (format "arrow", the default) or
                                          JSON records (format "json", for comparisons)
    GET    /bento/api/connections      -> [{"name", "kind"}]
    POST   /bento/api/uploads?table=T&connection=C&mode=create|append|replace
                                       body: Arrow IPC stream -> 202 {job}
    GET    /bento/api/uploads          -> [{job}, ...]
    GET    /bento/api/uploads/ID       -> {job}
    DELETE /bento/api/uploads/ID       -> {job} (cancel requested)

Queries and uploads run on the server's thread pool; the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado import web

from ..data.requests import ARROW_STREAM, MODES
from ..errors import ArrowError, BentoError, ExecutorError, PayloadTooLarge, WarehouseError
from . import limits
from .api import BentoAPIHandler
from .uploads import UploadJobs
from .warehouse import QueryStream, Warehouse

__all__ = ["handlers"]

CHUNK_BYTES = 1 << 20


class _DataHandler(BentoAPIHandler):
    def initialize(self, warehouse: Warehouse, uploads: UploadJobs) -> None:
        self.warehouse = warehouse
        self.uploads = uploads

    def body_refused(self, limit: int, what: str) -> bool:
        """Answer 413 when the body is over ``limit`` bytes (server/limits.py); True if so."""
        try:
            limits.check_body(self.request.body, limit, what)
        except PayloadTooLarge as exc:
            self.fail(413, exc)
            return True
        return False

    async def in_pool(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.uploads.pool, fn, *args)


class SqlHandler(_DataHandler):
    @web.authenticated
    async def post(self) -> None:
        if self.body_refused(limits.SMALL_BODY, "a query"):
            return
        body = self.json_body()
        params = body.get("params") or []
        limit = body.get("limit")
        if not isinstance(params, list) or not (limit is None or isinstance(limit, int)):
            raise web.HTTPError(400, "params must be a list and limit an integer")
        try:
            stream: QueryStream = await self.in_pool(
                self.warehouse.open_query,
                str(body.get("connection") or "default"),
                str(body.get("sql") or ""),
                params,
                limit,
            )
        except WarehouseError as exc:
            self.fail(404 if "no connection named" in exc.message else 400, exc)
            return
        try:
            if body.get("format") == "json":
                table = await self.in_pool(stream.read_all)
                self.reply(table.to_pylist())
                return
            # The whole stream is written first, so Content-Length tells the client how much
            # wasm memory to reserve (one allocation, no growing); it then goes out in chunks.
            body = await self.in_pool(stream.read_stream)
            self.set_header("Content-Type", ARROW_STREAM)
            self.set_header("Content-Length", str(len(body)))
            view = memoryview(body)
            for start in range(0, len(body), CHUNK_BYTES):
                self.write(bytes(view[start : start + CHUNK_BYTES]))
                await self.flush()
            self.finish(set_content_type=ARROW_STREAM)
        finally:
            await self.in_pool(stream.close)


class ConnectionsHandler(_DataHandler):
    @web.authenticated
    def get(self) -> None:
        if self.body_refused(limits.SMALL_BODY, "a connections request"):
            return
        self.reply(self.warehouse.names())


class UploadsHandler(_DataHandler):
    @web.authenticated
    def get(self) -> None:
        if self.body_refused(limits.SMALL_BODY, "a jobs request"):
            return
        self.reply([job.to_dict() for job in self.uploads.list()])

    @web.authenticated
    async def post(self) -> None:
        if self.body_refused(self.settings.get("bento_max_upload_bytes", 512 << 20), "an upload"):
            return
        table = self.get_query_argument("table", "")
        mode = self.get_query_argument("mode", "create")
        connection = self.get_query_argument("connection", "default")
        if mode not in MODES or not table:
            raise web.HTTPError(400, f"need ?table=NAME and mode one of {', '.join(MODES)}")
        try:
            self.uploads.admit()
        except ExecutorError as exc:  # too many uploads waiting (server/limits.py)
            self.fail(int(getattr(exc, "status", None) or 429), exc)
            return
        try:
            job = await self.in_pool(
                self.uploads.submit, connection, table, mode, self.request.body
            )
        except (WarehouseError, ArrowError) as exc:
            self.fail(400, exc)
            return
        self.reply(job.to_dict(), status=202)


class UploadHandler(_DataHandler):
    @web.authenticated
    def get(self, job_id: str) -> None:
        if self.body_refused(limits.SMALL_BODY, "a job request"):
            return
        job = self.uploads.get(job_id)
        if job is None:
            self.fail(404, _no_job(job_id))
            return
        self.reply(job.to_dict())

    @web.authenticated
    def delete(self, job_id: str) -> None:
        if self.body_refused(limits.SMALL_BODY, "a cancel request"):
            return
        job = self.uploads.cancel(job_id)
        if job is None:
            self.fail(404, _no_job(job_id))
            return
        self.reply(job.to_dict())


def _no_job(job_id: str) -> BentoError:
    return WarehouseError(f"no upload job {job_id!r}; list the jobs with %uploads")


def handlers(app: Any) -> list[tuple[str, type[web.RequestHandler], dict[str, Any]]]:
    """The routes, for ``BentoApp.initialize_handlers``; ``app`` has .warehouse and .uploads."""
    args = {"warehouse": app.warehouse, "uploads": app.uploads}
    return [
        (r"/bento/api/sql", SqlHandler, args),
        (r"/bento/api/connections", ConnectionsHandler, args),
        (r"/bento/api/uploads", UploadsHandler, args),
        (r"/bento/api/uploads/([\w-]+)", UploadHandler, args),
    ]
