"""The warehouse: database connections by name, queries out as Arrow, uploads in from Arrow.

Connections are configured as data, a name -> URI mapping
(``--BentoApp.connections='{"pg": "postgresql://user@127.0.0.1:5432/db"}'``):

- ``duckdb:///path/to/file.duckdb`` (or a bare ``.duckdb`` path): embedded DuckDB. The
  connection named ``default`` is the demo database unless configured otherwise;
- ``postgresql://...`` / ``postgres://...``: PostgreSQL through ADBC (adbc-driver-postgresql);
- ``adbc+DRIVER:URI``: any other ADBC driver, loaded by adbc-driver-manager (e.g.
  ``adbc+adbc_driver_sqlite:/tmp/x.db``).

Further schemes plug in through the entry point group ``bento_wasm.warehouse`` (STYLE.md #13):
each entry point, named after the scheme, is a ``Connector`` class taking ``(name, uri)``.

Database errors are translated here, once, into :class:`~bento_wasm.errors.WarehouseError`
carrying the database's own message. Query parameters are bound positionally (``$1``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa  # type: ignore[import-untyped]

from ..errors import WarehouseError

__all__ = ["Connector", "QueryStream", "Warehouse"]

BATCH_ROWS = 65_536


class Connector(Protocol):
    name: str

    def query(self, sql: str, params: list[Any]) -> AbstractContextManager[pa.RecordBatchReader]:
        """The result of one statement as a reader (empty for statements without rows)."""
        ...

    def ingest(
        self, table: str, mode: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
    ) -> None:
        """Write the batches into ``table`` in one transaction: all of them or nothing."""
        ...


def _quote(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _empty(schema: pa.Schema | None = None) -> pa.RecordBatchReader:
    schema = schema or pa.schema([])
    return pa.RecordBatchReader.from_batches(schema, iter(()))


class DuckDBConnector:
    """An embedded DuckDB file, opened on first use; one cursor per operation."""

    def __init__(self, name: str, uri: str, on_create: Callable[[Path], object] | None = None):
        self.name = name
        self.path = Path(_duck_path(uri))
        self._on_create = on_create
        self._lock = threading.Lock()
        self._connection: Any = None

    def close(self) -> None:
        """Close the file (a run's warehouse closes it when the run ends)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _cursor(self) -> Any:
        import duckdb

        with self._lock:
            if self._connection is None:
                if self._on_create is not None and not self.path.exists():
                    self._on_create(self.path)
                try:
                    self._connection = duckdb.connect(str(self.path))
                except duckdb.Error as exc:
                    raise WarehouseError(
                        f"cannot open DuckDB file {self.path} for connection {self.name!r}: "
                        f"{exc}; is another server using it?",
                        connection=self.name,
                    ) from exc
            return self._connection.cursor()

    @contextmanager
    def query(self, sql: str, params: list[Any]) -> Iterator[pa.RecordBatchReader]:
        import duckdb

        cursor = self._cursor()
        try:
            try:
                relation = cursor.sql(sql, params=params or None)
                if relation is None:
                    reader = _empty()
                else:
                    to_reader = getattr(relation, "to_arrow_reader", None)
                    to_reader = to_reader or relation.fetch_arrow_reader
                    reader = to_reader(BATCH_ROWS)
            except duckdb.Error as exc:
                raise WarehouseError(f"DuckDB ({self.name}): {exc}", connection=self.name) from exc
            yield reader
        finally:
            cursor.close()

    def ingest(
        self, table: str, mode: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
    ) -> None:
        import duckdb

        cursor = self._cursor()
        target = _quote(table)
        try:
            cursor.sql("BEGIN TRANSACTION")
            try:
                _duck_prepare(cursor, target, table, mode, schema, self.name)
                for batch in batches:
                    cursor.register("bento_upload", pa.Table.from_batches([batch], schema))
                    cursor.sql(f"INSERT INTO {target} BY NAME SELECT * FROM bento_upload")
                    cursor.unregister("bento_upload")
                cursor.sql("COMMIT")
            except BaseException:
                cursor.sql("ROLLBACK")
                raise
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB ({self.name}): {exc}", connection=self.name) from exc
        finally:
            cursor.close()


def _duck_path(uri: str) -> str:
    if uri.startswith("duckdb://"):
        rest = uri.removeprefix("duckdb://")
        return rest if rest.startswith("/") else "/" + rest
    return uri


def _duck_prepare(
    cursor: Any, target: str, table: str, mode: str, schema: pa.Schema, name: str
) -> None:
    parts = table.split(".")
    exists = cursor.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $1"
        + (" AND table_schema = $2" if len(parts) > 1 else ""),
        params=[parts[-1], *parts[:-1]],
    ).fetchall()[0][0]
    if mode == "create" and exists:
        raise WarehouseError(
            f"table {table} already exists in {name!r}; use --mode append to add rows "
            "or --mode replace to overwrite it",
            connection=name,
        )
    if mode == "append" and not exists:
        raise WarehouseError(
            f"table {table} does not exist in {name!r}; use --mode create", connection=name
        )
    if mode in ("create", "replace"):
        cursor.register("bento_upload", pa.Table.from_batches([], schema))
        verb = "CREATE OR REPLACE TABLE" if mode == "replace" else "CREATE TABLE"
        cursor.sql(f"{verb} {target} AS SELECT * FROM bento_upload")
        cursor.unregister("bento_upload")


class AdbcConnector:
    """Any ADBC driver (PostgreSQL by default); a fresh ADBC connection per operation."""

    def __init__(self, name: str, uri: str) -> None:
        self.name = name
        self.uri = uri

    def _connect(self) -> Any:
        from adbc_driver_manager import Error as AdbcError

        try:
            if self.uri.startswith("adbc+"):
                from adbc_driver_manager import dbapi

                driver, _, uri = self.uri.removeprefix("adbc+").partition(":")
                return dbapi.connect(driver=driver, db_kwargs={"uri": uri})
            from adbc_driver_postgresql import dbapi as pg  # type: ignore[import-untyped]

            return pg.connect(self.uri)
        except (AdbcError, ImportError, OSError) as exc:
            raise WarehouseError(
                f"cannot connect {self.name!r} ({_redact(self.uri)}): {exc}; check that the "
                "database is running and the URI is right",
                connection=self.name,
            ) from exc

    @contextmanager
    def query(self, sql: str, params: list[Any]) -> Iterator[pa.RecordBatchReader]:
        from adbc_driver_manager import Error as AdbcError

        connection = self._connect()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params or None)
                reader = cursor.fetch_record_batch() if cursor.description else _empty()
            except AdbcError as exc:
                raise WarehouseError(f"{self.name}: {exc}", connection=self.name) from exc
            yield reader
            connection.commit()
        finally:
            connection.close()

    def ingest(
        self, table: str, mode: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
    ) -> None:
        from adbc_driver_manager import Error as AdbcError

        *schema_name, table_name = table.split(".")
        connection = self._connect()
        try:
            cursor = connection.cursor()
            reader = pa.RecordBatchReader.from_batches(schema, batches)
            try:
                cursor.adbc_ingest(
                    table_name,
                    reader,
                    mode=mode,
                    db_schema_name=schema_name[0] if schema_name else None,
                )
                connection.commit()
            except AdbcError as exc:
                connection.rollback()
                if mode == "create" and "already exists" in str(exc):
                    raise WarehouseError(
                        f"table {table} already exists in {self.name!r}; use --mode append to "
                        "add rows or --mode replace to overwrite it",
                        connection=self.name,
                    ) from exc
                raise WarehouseError(f"{self.name}: {exc}", connection=self.name) from exc
        finally:
            connection.close()


def _redact(uri: str) -> str:
    """The URI without its password."""
    head, sep, tail = uri.partition("@")
    if not sep or "://" not in head:
        return uri
    scheme, _, auth = head.partition("://")
    return f"{scheme}://{auth.split(':')[0]}:***@{tail}" if ":" in auth else uri


def connector_for(name: str, uri: str, on_create: Callable[[Path], object] | None) -> Connector:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme == "duckdb" or (uri.endswith((".duckdb", ".db")) and "://" not in uri):
        return DuckDBConnector(name, uri, on_create if name == "default" else None)
    if scheme in ("postgresql", "postgres") or scheme.startswith("adbc+"):
        return AdbcConnector(name, uri)
    from importlib.metadata import entry_points

    for entry in entry_points(group="bento_wasm.warehouse", name=scheme):
        return entry.load()(name, uri)  # type: ignore[no-any-return]
    raise WarehouseError(
        f"connection {name!r}: no connector for {_redact(uri)!r}; use duckdb:///file.duckdb, "
        "postgresql://..., or adbc+DRIVER:URI",
        connection=name,
    )


class Warehouse:
    """Connections by name, created on first use."""

    def __init__(
        self, uris: dict[str, str], on_create: Callable[[Path], object] | None = None
    ) -> None:
        self.uris = dict(uris)
        self._on_create = on_create
        self._connectors: dict[str, Connector] = {}
        self._lock = threading.Lock()

    def names(self) -> list[dict[str, str]]:
        return [{"name": n, "kind": self.uris[n].split(":", 1)[0]} for n in sorted(self.uris)]

    def get(self, name: str) -> Connector:
        with self._lock:
            if name not in self._connectors:
                if name not in self.uris:
                    raise WarehouseError(
                        f"no connection named {name!r}; known: {', '.join(sorted(self.uris))}. "
                        "Configure more with --BentoApp.connections",
                        connection=name,
                    )
                self._connectors[name] = connector_for(name, self.uris[name], self._on_create)
            return self._connectors[name]

    def close(self) -> None:
        """Close the connectors that keep a connection open (DuckDB files)."""
        with self._lock:
            connectors, self._connectors = list(self._connectors.values()), {}
        for connector in connectors:
            close = getattr(connector, "close", None)
            if close is not None:
                close()

    def open_query(
        self, name: str, sql: str, params: list[Any], limit: int | None = None
    ) -> QueryStream:
        """Run the statement now (errors raise here), and stream its rows as Arrow IPC."""
        context = self.get(name).query(sql, params)
        reader = context.__enter__()
        return QueryStream(reader, context, limit)


class _Sink(io.RawIOBase):
    """A file pyarrow writes into; ``take()`` hands over what was written so far."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._buffer += view
        return view.nbytes

    def take(self) -> bytes:
        chunk = bytes(self._buffer)
        self._buffer.clear()
        return chunk


class QueryStream:
    """A query's rows as Arrow IPC stream chunks: schema first, then batch by batch."""

    def __init__(
        self, reader: pa.RecordBatchReader, context: AbstractContextManager[Any], limit: int | None
    ) -> None:
        self.reader = reader
        self.rows = 0
        self._context = context
        self._limit = limit
        self._sink = _Sink()
        self._writer = pa.ipc.new_stream(self._sink, reader.schema)
        self._done = False

    def next_chunk(self) -> bytes | None:
        """The next bytes to send, or ``None`` after the end-of-stream marker was sent."""
        if self._done:
            return None
        try:
            batch = None if self._limit == self.rows else self.reader.read_next_batch()
        except StopIteration:
            batch = None
        if batch is None:
            self._writer.close()
            self._done = True
            return self._sink.take()
        if self._limit is not None and self.rows + batch.num_rows > self._limit:
            batch = batch.slice(0, self._limit - self.rows)
        self.rows += batch.num_rows
        self._writer.write_batch(batch)
        return self._sink.take()

    def read_stream(self) -> bytearray:
        """The whole Arrow IPC stream (schema, batches, end-of-stream marker)."""
        body = bytearray()
        while (chunk := self.next_chunk()) is not None:
            body += chunk
        return body

    def read_all(self) -> pa.Table:
        table = self.reader.read_all()
        return table.slice(0, self._limit) if self._limit is not None else table

    def close(self) -> None:
        self._context.__exit__(None, None, None)
