"""Arrow columns built into pandas arrays with numpy, where pyarrow's conversion is slow in wasm.

Each builder gives the dtype and values pyarrow's ``to_pandas`` gives (the README's type
table), from one chunk, without its extra passes (profiled in ``benchmarks/arrow.py``):

- ints and floats with nulls: ``Int64``, ``Float64`` ... (pandas' masked arrays): the values a
  view of the Arrow buffer, the mask unpacked from the validity bits in one pass (the
  inverted bits unpacked straight into booleans);
- booleans: ``bool`` (no nulls) or ``boolean`` (nulls), unpacked from the bits in one pass;
- timestamps and durations with nulls: ``datetime64[unit]`` / ``datetime64[unit, tz]`` /
  ``timedelta64[unit]`` with NaT at the nulls, written at the null positions only: in place
  when the values lie in our own landing buffer (their null slots hold nothing), otherwise
  into a copy; pyarrow fills every row through a new array;
- dictionaries: ``category`` with pandas' code width, the codes cast from the indices in one
  pass (a view when the indices already have that width), -1 at the nulls; the categories
  are pyarrow's own conversion of the dictionary, so they are what ``to_pandas`` gives.

``Landing`` says which memory is ours to write: the landed bytes, re-viewed writable, and
the spans of every buffer in the table, so that a value is never written where another
column reads (a crafted stream may overlap buffers).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Memory", "allocates", "build", "buildable"]

NULLABLE = {
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "float": "Float32",
    "double": "Float64",
    "halffloat": "halffloat[pyarrow]",
    "bool": "boolean",
}


class Memory:
    """The landing buffer's bytes, writable, and the spans the table's buffers occupy."""

    def __init__(self, memory: memoryview, address: int, table: Any) -> None:
        self.memory, self.address = memory, address
        self.spans = sorted(_table_spans(table))

    def writable(self, array: Any) -> Any:
        """A writable view of ``array`` if it lies in the landing and no other buffer
        overlaps it; otherwise None (the caller copies)."""
        import numpy as np

        start = int(array.__array_interface__["data"][0])
        end = start + array.nbytes
        if not (self.address <= start and end <= self.address + self.memory.nbytes):
            return None
        owners = [s for s in self.spans if s[0] < end and start < s[0] + s[1]]
        if len(owners) != 1:  # only the buffer the array is a view of
            return None
        return np.frombuffer(self.memory, array.dtype, array.size, start - self.address)


def buildable(kind: Any, null_count: int, ours: bool = False) -> bool:
    """Whether a column of this type (one chunk) is built here rather than by pyarrow;
    ``ours``: the bytes are our landing's (a null-free int or float column is then a writable
    view of them, where pyarrow's conversion took ~0.3 ms a column in wasm for a read-only
    view that ``frames.make_writable`` swapped)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    t = pa.types
    if t.is_boolean(kind) or t.is_dictionary(kind):
        return True
    if not null_count:
        return ours and _plain(kind)
    return bool(
        t.is_integer(kind)
        or t.is_float32(kind)
        or t.is_float64(kind)
        or t.is_timestamp(kind)
        or t.is_duration(kind)
    )


def allocates(column: Any, memory: Memory | None) -> int:
    """The bytes ``build`` will allocate for this column (one chunk, or several to combine):
    masks, null positions, unpacked bits, codes, and copies where it cannot write in place."""
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    kind, rows, nulls = column.type, len(column), column.null_count
    with_nulls = rows + 8 * nulls if nulls else 0  # the mask, the null positions (int64)
    if pa.types.is_boolean(kind):
        return rows + (rows if nulls else 0)
    one = column.chunk(0) if column.num_chunks == 1 else None
    if pa.types.is_timestamp(kind) or pa.types.is_duration(kind):
        ours = one is not None and _ours(_values(one, np.int64), memory)
        return with_nulls + (0 if ours else 8 * rows)
    if pa.types.is_dictionary(kind):  # one chunk: several keep pyarrow's conversion
        chunk = column.chunk(0)
        width = _code_width(len(chunk.dictionary))
        index = np.dtype(kind.index_type.to_pandas_dtype())
        view = index == width and _ours(_values(chunk.indices, index), memory)
        codes = 0 if view else int(width.itemsize) * rows
        return with_nulls + codes + int(chunk.dictionary.nbytes)
    if not nulls:  # a plain int or float column: a view (of the landing, or of a combined chunk)
        return 0
    return rows  # masked ints and floats: the mask


def build(chunk: Any, memory: Memory | None) -> Any:
    """The pandas array for one chunk of a ``buildable`` type."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    kind = chunk.type
    if pa.types.is_dictionary(kind):
        return _categorical(chunk, memory)
    if pa.types.is_boolean(kind):
        return _boolean(chunk)
    if pa.types.is_timestamp(kind) or pa.types.is_duration(kind):
        return _with_nat(chunk, memory)
    if not chunk.null_count:
        values = _values(chunk, kind.to_pandas_dtype())
        # Writable where the landing holds it alone; else (a combined chunk, or overlapping
        # buffers) the read-only view pyarrow's conversion gives too.
        view = memory.writable(values) if memory is not None else None
        return view if view is not None else values
    return _masked(chunk)


def _plain(kind: Any) -> bool:
    """int, uint, float32 or float64: numpy's own layout (float16 is left to pyarrow)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    t = pa.types
    return bool(t.is_integer(kind) or t.is_float32(kind) or t.is_float64(kind))


def _nulls(chunk: Any) -> Any:
    """A boolean array, True at the nulls: the inverted validity bits, unpacked in one pass."""
    import numpy as np

    validity = chunk.buffers()[0]
    start, stop = chunk.offset, chunk.offset + len(chunk)
    if validity is None or not chunk.null_count:
        return np.zeros(len(chunk), dtype=bool)
    inverted = ~np.frombuffer(validity, np.uint8, count=(stop + 7) // 8)
    return np.unpackbits(inverted, count=stop, bitorder="little")[start:].view(bool)


def _values(chunk: Any, dtype: Any) -> Any:
    import numpy as np

    data = chunk.buffers()[1]
    if data is None or not len(chunk):  # some writers give no buffer for no rows
        return np.empty(0, dtype)
    stop = chunk.offset + len(chunk)
    return np.frombuffer(data, dtype=dtype, count=stop)[chunk.offset :]


def _masked(chunk: Any) -> Any:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    values = _values(chunk, chunk.type.to_pandas_dtype())
    dtype = pd.api.types.pandas_dtype(NULLABLE[str(chunk.type)])
    return dtype.construct_array_type()(values, _nulls(chunk))


def _boolean(chunk: Any) -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    data = chunk.buffers()[1]
    if data is None or not len(chunk):
        return np.empty(0, bool)
    start, stop = chunk.offset, chunk.offset + len(chunk)
    packed = np.frombuffer(data, np.uint8, count=(stop + 7) // 8)
    values = np.unpackbits(packed, count=stop, bitorder="little")[start:].view(bool)
    if not chunk.null_count:
        return values
    return pd.arrays.BooleanArray(values, _nulls(chunk))


def _with_nat(chunk: Any, memory: Memory | None) -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    values = _values(chunk, np.int64)
    positions = np.flatnonzero(_nulls(chunk))  # ~nulls/rows of the rows: write only those
    writable = memory.writable(values) if memory is not None else None
    values = values.copy() if writable is None else writable
    values[positions] = np.iinfo(np.int64).min  # NaT
    dtype = _empty(chunk).dtype  # exactly the dtype pyarrow gives (unit, time zone object)
    if isinstance(dtype, np.dtype):
        return values.view(dtype)
    return pd.array(values, dtype=dtype, copy=False)  # tz-aware: int64 are UTC instants


def _categorical(chunk: Any, memory: Memory | None) -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    # pyarrow's categories: the whole dictionary, converted once (signed indices: pyarrow 18
    # converts no unsigned ones)
    empty = pa.DictionaryArray.from_arrays(
        pa.array([], pa.int32()), chunk.dictionary, ordered=chunk.type.ordered
    ).to_pandas()
    indices = _values(chunk.indices, chunk.type.index_type.to_pandas_dtype())
    width = _code_width(len(empty.dtype.categories))
    codes = indices.astype(width, copy=False)
    if chunk.null_count:
        writable = memory.writable(codes) if memory is not None and codes is indices else None
        if codes is indices:
            codes = codes.copy() if writable is None else writable
        codes[np.flatnonzero(_nulls(chunk))] = -1
    elif codes is indices and memory is not None:  # a view: writable, like the other views
        codes = memory.writable(codes)
        if codes is None:
            codes = indices.copy()
    elif codes is indices:  # a read-only view of the caller's bytes: pandas writes codes
        codes = indices.copy()
    return pd.Categorical.from_codes(codes, dtype=empty.dtype, validate=False)


def _ours(values: Any, memory: Memory | None) -> bool:
    return memory is not None and memory.writable(values) is not None


def _code_width(categories: int) -> Any:
    """The codes' dtype pandas gives ``categories`` categories."""
    import numpy as np
    from pandas.core.dtypes.cast import (  # type: ignore[import-untyped,unused-ignore]
        coerce_indexer_dtype,
    )

    return coerce_indexer_dtype(np.empty(0, np.int64), range(categories)).dtype


def _empty(chunk: Any) -> Any:
    """pyarrow's conversion of no rows of this chunk: the pandas dtype it would give."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    return pa.chunked_array([chunk.slice(0, 0)], type=chunk.type).to_pandas()


def _table_spans(table: Any) -> list[tuple[int, int]]:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    spans: list[tuple[int, int]] = []
    for column in table.columns:
        for chunk in column.chunks:
            arrays = [chunk]
            if pa.types.is_dictionary(chunk.type):
                arrays.append(chunk.dictionary)
            for array in arrays:
                spans.extend((b.address, b.size) for b in array.buffers() if b is not None)
    return spans
