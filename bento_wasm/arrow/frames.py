"""How Arrow columns become pandas columns: planned per column, converted in one call.

The mapping (the README's table) keeps values and types exact and avoids copies:

- int, uint, float without nulls: numpy views of the Arrow buffer. With nulls: pandas'
  nullable dtypes (``Int64``, ``Float64`` ...), so a null stays ``<NA>`` and is never turned
  into NaN or a float; their values are a view of the Arrow buffer and only the mask is new.
  A NaN stays a NaN value, distinct from ``<NA>``, as pandas' conversion keeps it. bool:
  ``bool``, or ``boolean`` with nulls, unpacked from the bits.
- timestamp (with or without time zone) and duration: ``datetime64[unit]`` /
  ``datetime64[unit, tz]`` / ``timedelta64[unit]``, views when null-free; nulls become
  NaT, written at the null positions only (in place in the landed bytes when they are ours).
- dictionary: ``category`` (pandas picks the codes' width from the category count).
- string, large_string, binary, date, time, decimal, list, struct, map, union, interval:
  ``pd.ArrowDtype``: no Python objects are made, the column stays Arrow memory, and
  writing it back gives the same Arrow type.
- null: an ``object`` column of ``None``.

Masked ints and floats, bools, timestamps and durations with nulls and dictionaries are
built with numpy (:mod:`bento_wasm.arrow.columns`: pyarrow's conversion of them takes
several passes, 3-10x slower in wasm); the other columns go through one ``to_pandas``
call, and the frame is assembled from both without consolidating (no copy per dtype).
Columns that pandas keeps in numpy and that arrived in several record batches are
combined first (one copy; pyarrow's chunked numpy conversion is 70x slower in wasm).
Pandas metadata written by pandas (``Table.from_pandas``) is honoured: its index and
its dtypes come back (such tables take pyarrow's path for every column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import ArrowError
from . import columns
from .columns import NULLABLE as _NULLABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Plan", "count_views", "make_writable", "plan", "to_pandas"]

_NAT = -(2**63)


@dataclass
class Plan:
    """What to do to each column before the one ``to_pandas`` call."""

    #: Column positions to combine into one chunk.
    combine: list[int] = field(default_factory=list)
    #: Column positions (timestamp/duration) whose nulls become NaT in Arrow.
    fill_nat: list[int] = field(default_factory=list)
    #: Column positions built with numpy (:mod:`bento_wasm.arrow.columns`), not by pyarrow.
    built: list[int] = field(default_factory=list)
    #: The schema's pandas metadata, rewritten (None: keep the schema's own).
    metadata: bytes | None = None
    #: Bytes the conversion allocates (columns that cannot be views).
    copy_bytes: int = 0


def plan(table: Any, memory: columns.Memory | None = None) -> Plan:
    """What to do to each column; ``memory``: the landing the table was read from, when it is
    ours (built columns may then be written in place, which the planned bytes count)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    result = Plan()
    entries, columns_meta = _pandas_metadata(table.schema)
    changed = False
    unique = len(set(table.schema.names)) == table.num_columns  # built columns go by name
    for position, (fld, column) in enumerate(zip(table.schema, table.columns, strict=True)):
        kind, rows = fld.type, column.length()
        entry = entries.get(fld.name)
        if _arrow_backed(kind) is not None:
            if entry is not None and entry.get("numpy_type") != "object":
                entry["numpy_type"] = "object"  # pandas cannot parse nested type names back
                changed = True
            continue
        in_numpy = _in_numpy(kind)
        if in_numpy and column.num_chunks > 1:
            result.combine.append(position)
            result.copy_bytes += column.nbytes
        one_chunk = column.num_chunks == 1 or (in_numpy and column.num_chunks > 1)  # combined
        buildable = columns.buildable(kind, column.null_count, ours=memory is not None)
        if not entries and unique and one_chunk and buildable:
            result.built.append(position)
            result.copy_bytes += columns.allocates(column, memory)
            continue
        if column.null_count and (pa.types.is_timestamp(kind) or pa.types.is_duration(kind)):
            result.fill_nat.append(position)
            result.copy_bytes += 8 * rows
        elif column.null_count and str(kind) in _NULLABLE and entry is None:
            columns_meta.append(_entry(fld.name, _NULLABLE[str(kind)]))
            changed = True
            result.copy_bytes += column.nbytes + rows
        elif pa.types.is_boolean(kind) or not in_numpy:
            result.copy_bytes += max(column.nbytes, rows)
    if changed:
        result.metadata = json.dumps(_metadata_with(table.schema, columns_meta)).encode()
    return result


def to_pandas(table: Any, plan: Plan, memory: columns.Memory | None = None) -> Any:
    """Convert with the plan; the table is consumed (``self_destruct``).

    ``memory``: the landing the table was read from, when it is ours (a
    :class:`~bento_wasm.arrow.ipc.Landing`): built columns may then be written in place (NaT
    at the nulls) and stay views of it.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    table = _prepared(table, plan)
    schema = table.schema  # self_destruct empties the table, even when it fails
    rows = table.num_rows
    built = {}
    try:
        for position in plan.built:
            (chunk,) = table.column(position).chunks  # the plan combined several chunks
            built[position] = columns.build(chunk, memory)
        if built:
            table = table.select([i for i in range(table.num_columns) if i not in built])
        frame: Any = None  # every column built: nothing left for pyarrow
        if not built or table.num_columns:
            frame = table.to_pandas(
                split_blocks=True, self_destruct=True, types_mapper=_arrow_backed
            )
    except (pa.ArrowException, TypeError, ValueError, KeyError, NotImplementedError) as exc:
        raise ArrowError(
            f"the Arrow schema cannot convert to pandas ({_culprit(schema)}): {exc}. "
            "Cast that column at the source (e.g. decode dictionary-encoded nested values), "
            "or read the bytes with pyarrow yourself"
        ) from exc
    if built:  # the columns in the schema's order, none copied (insert() would copy)
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]

        others = iter(range(frame.shape[1] if frame is not None else 0))
        arrays = {
            fld.name: built[i] if i in built else frame._mgr.iget_values(next(others))
            for i, fld in enumerate(schema)
        }
        if frame is not None and frame.shape[1]:
            index = frame.index
        else:
            index = pd.RangeIndex(len(frame.index) if frame is not None else rows)
        frame = pd.DataFrame(arrays, index=index, copy=False)
    return frame


def count_views(frame: Any, buffer: Any) -> int:
    """How many of the frame's columns are views of ``buffer`` (no conversion copy)."""
    low, high = buffer.address, buffer.address + buffer.size
    count = 0
    manager: Any = getattr(frame, "_mgr", None)  # pandas 2.x: each column's array, no Series made
    for position in range(frame.shape[1]):
        if hasattr(manager, "iget_values"):
            array = manager.iget_values(position)
        else:
            array = frame.iloc[:, position].array
        spans = _spans(array)
        if spans and all(low <= start and start + size <= high for start, size in spans):
            count += 1
    return count


def make_writable(frame: Any, memory: memoryview, address: int) -> int:
    """Swap the frame's read-only numpy views of ``memory`` for writable views of it.

    pyarrow hands numpy read-only views, so ``df.loc[0, "x"] = 1`` would fail on a zero-copy
    column. The landing buffer is this frame's alone (the table was consumed), so the same
    bytes are re-viewed through the landing's writable memoryview: still no copy. Uses
    pandas 2.x block internals; with other layouts the columns stay as they were (read-only).
    """
    import numpy as np

    end = address + memory.nbytes
    count = 0
    for block in getattr(getattr(frame, "_mgr", None), "blocks", ()):
        values = block.values
        masked = hasattr(values, "_mask")  # Int64, Float64...: values in _data, mask apart
        data = values._data if masked else getattr(values, "_ndarray", values)
        if not isinstance(data, np.ndarray) or data.flags.writeable or data.dtype == object:
            continue
        start = int(data.__array_interface__["data"][0])
        if not (address <= start and start + data.nbytes <= end and data.flags.c_contiguous):
            continue
        view = np.frombuffer(memory, data.dtype, data.size, start - address).reshape(data.shape)
        try:
            if masked:
                values._data = view
            else:
                block.values = view if values is data else values._from_backing_data(view)
        except AttributeError:  # another pandas layout: leave the column read-only
            continue
        count += 1
    return count


def _arrow_backed(kind: Any) -> Any:
    """The types_mapper: Arrow types kept as Arrow memory in pandas (``pd.ArrowDtype``)."""
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    t = pa.types
    if (
        t.is_string(kind)
        or t.is_large_string(kind)
        or t.is_binary(kind)
        or t.is_large_binary(kind)
        or t.is_fixed_size_binary(kind)
        or t.is_date(kind)
        or t.is_time(kind)
        or t.is_decimal(kind)
        or t.is_interval(kind)
        or (t.is_nested(kind) and not t.is_dictionary(kind))
    ):
        return pd.ArrowDtype(kind)
    return None


def _in_numpy(kind: Any) -> bool:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    t = pa.types
    return bool(
        t.is_integer(kind)
        or t.is_floating(kind)
        or t.is_boolean(kind)
        or t.is_timestamp(kind)
        or t.is_duration(kind)
    )


def _prepared(table: Any, plan: Plan) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    if not (plan.combine or plan.fill_nat or plan.metadata):
        return table
    columns = list(table.columns)
    for position in plan.combine:
        columns[position] = pa.chunked_array([columns[position].combine_chunks()])
    for position in plan.fill_nat:
        kind = columns[position].type
        columns[position] = pa.chunked_array(
            [
                pc.fill_null(chunk.view(pa.int64()), _NAT).view(kind)
                for chunk in columns[position].chunks
            ],
            type=kind,
        )
    schema = table.schema
    if plan.metadata is not None:
        schema = schema.with_metadata({**(schema.metadata or {}), b"pandas": plan.metadata})
    return pa.Table.from_arrays(columns, schema=schema)


def _pandas_metadata(schema: Any) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return {}, []
    try:
        columns = list(json.loads(raw)["columns"])
        return {str(c.get("field_name", c.get("name"))): c for c in columns}, columns
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArrowError(
            f"the schema's pandas metadata is not valid ({exc}); drop the 'pandas' key from "
            "the schema metadata at the source, or rewrite it with pandas"
        ) from exc


def _metadata_with(schema: Any, columns: list[dict[str, Any]]) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(b"pandas")
    metadata: dict[str, Any] = (
        json.loads(raw) if raw else {"index_columns": [], "column_indexes": []}
    )
    metadata["columns"] = columns
    return metadata


def _entry(name: str, dtype: str) -> dict[str, Any]:
    return {
        "name": name,
        "field_name": name,
        "pandas_type": "object",
        "numpy_type": dtype,
        "metadata": None,
    }


def _culprit(schema: Any) -> str:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    suspects = [
        f"column {f.name!r} of type {f.type}"
        for f in schema
        if pa.types.is_dictionary(f.type)
        and not _in_numpy(f.type.value_type)
        and not pa.types.is_string(f.type.value_type)
    ]
    return "; ".join(suspects) or f"schema {schema.to_string(show_schema_metadata=False)}"


def _spans(array: Any) -> list[tuple[int, int]]:
    """(address, size) of the memory behind a pandas array, when it can be told."""
    import numpy as np

    if hasattr(array, "__arrow_array__") and hasattr(array, "_pa_array"):
        chunked = array.__arrow_array__()
        return [
            (buf.address, buf.size)
            for chunk in chunked.chunks
            for buf in chunk.buffers()
            if buf is not None
        ]
    data = getattr(array, "_data", None) if hasattr(array, "_mask") else None
    data = getattr(array, "_ndarray", data)  # masked arrays: their values (the mask is new)
    if isinstance(array, np.ndarray):
        data = array
    if isinstance(data, np.ndarray) and data.dtype != object and data.size:
        return [(int(data.__array_interface__["data"][0]), int(data.nbytes))]
    return []
