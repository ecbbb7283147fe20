"""Arrow types pandas cannot take as they are, rewritten in Arrow before the conversion.

Every valid Arrow type arrives as a column (the README's type table). Most map directly
(:mod:`bento_wasm.arrow.frames`); these are rewritten first, column by column, and cost
nothing when a table has none of them:

- extension types (``arrow.uuid``, ``arrow.fixed_shape_tensor``, ``arrow.bool8``, any
  registered one): their storage column (``bool8`` as booleans), since pyarrow 18 fails
  on them inside ``to_pandas``;
- dictionaries whose dictionary holds nulls: the indices pointing at a null become null
  (pandas categories cannot be null); dictionaries of nested values (lists, structs),
  which pandas cannot hash into categories: decoded to their values;
- run-end encoded: decoded; string and binary views: cast to string and binary;
  decimal32 and decimal64: cast to decimal128 of the same precision and scale where the
  pyarrow release can (>= 19; pyarrow 18, the browser's, reads them but can neither cast
  nor convert them: an ArrowError naming the type and the release).

Month and day-time intervals cannot arrive: pyarrow reads them, but neither 18.1 nor 26
has a Python array class for them (nor a cast), so not even ``pd.ArrowDtype`` can hold
them. A type that cannot be rewritten is an :class:`ArrowError` naming the column, the
type and the pyarrow release that read it.
"""

from __future__ import annotations

import re

from ..errors import ArrowError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["normalise", "unsupported"]

#: Types pyarrow reads but cannot hand to Python at all (no array class: KeyError), even as
#: ``pd.ArrowDtype`` (18.1 and 26 alike).
_UNWRAPPABLE = ("month_interval", "day_time_interval")
_DECIMAL = re.compile(r"decimal(32|64)\((\d+), (-?\d+)\)")


def normalise(table: Any) -> Any:
    """The table with every column pandas cannot take rewritten (the same table if none)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    columns, fields, changed = list(table.columns), list(table.schema), False
    for position, fld in enumerate(fields):
        column = columns[position]
        try:
            rewritten = _column(column)
        except (pa.ArrowException, ValueError, TypeError, KeyError, NotImplementedError) as exc:
            raise unsupported(fld.name, column.type, exc) from exc
        if rewritten is not column:
            columns[position] = rewritten
            fields[position] = pa.field(fld.name, rewritten.type, fld.nullable, fld.metadata)
            changed = True
    if not changed:
        return table
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=table.schema.metadata))


def unsupported(name: str, kind: Any, exc: BaseException | str) -> ArrowError:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    return ArrowError(
        f"column {name!r} has Arrow type {kind}, which this kernel's pyarrow {pa.__version__} "
        f"cannot turn into a pandas column ({exc}). Cast it at the source to a type pyarrow "
        f"{pa.__version__} knows (e.g. decimal128, string, month_day_nano_interval), or send the "
        "column in another type"
    )


def _column(column: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    kind = column.type
    if not _needs_rewrite(kind):
        return column
    if str(kind) in _UNWRAPPABLE:
        raise NotImplementedError(
            "it reads the column, but its Python layer cannot hold arrays of this type"
        )
    match = _DECIMAL.fullmatch(str(kind))
    if match:  # pyarrow >= 19 casts them; 18 reads them but cannot even wrap their arrays
        try:
            return column.cast(pa.decimal128(int(match[2]), int(match[3])))
        except (AttributeError, KeyError, pa.ArrowException) as exc:
            raise NotImplementedError("it reads them but cannot cast them to decimal128") from exc
    if column.num_chunks == 0:  # a schema-only stream: the type of an empty array
        if pa.types.is_dictionary(kind):
            return column
        return pa.chunked_array([], type=_array(pa.nulls(0, kind)).type)
    chunks = [_array(chunk) for chunk in column.chunks]
    return pa.chunked_array(chunks, type=chunks[0].type)


def _needs_rewrite(kind: Any) -> bool:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    t = pa.types
    name = str(kind)
    return bool(
        isinstance(kind, pa.BaseExtensionType)
        or t.is_dictionary(kind)
        or name.startswith(("run_end_encoded<", "string_view", "binary_view"))
        or name in _UNWRAPPABLE
        or _DECIMAL.fullmatch(name)
    )


def _array(array: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    kind = array.type
    name = str(kind)
    if isinstance(kind, pa.BaseExtensionType):
        storage = array.storage
        if getattr(kind, "extension_name", "") == "arrow.bool8":
            return pc.not_equal(storage, 0)
        return _array(storage)
    if pa.types.is_dictionary(kind):
        return _dictionary(array)
    if name.startswith("run_end_encoded<"):
        return _array(pc.run_end_decode(array))
    if name.startswith("string_view"):
        return array.cast(pa.string())
    if name.startswith("binary_view"):
        return array.cast(pa.binary())
    return array


def _dictionary(array: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    values = array.dictionary
    # pandas makes categories of scalars only; lists, structs, maps and unions are decoded.
    hashable = not pa.types.is_nested(values.type)
    if not hashable:  # pandas cannot make categories of lists or structs: the values
        return _array(array.dictionary_decode())
    if not values.null_count:
        return array
    # Indices that point at a null value become null; the nulls leave the dictionary.
    import numpy as np

    keep = values.is_valid().to_numpy(zero_copy_only=False)
    remap = pa.array(np.cumsum(keep) - 1, array.indices.type, mask=~keep)
    indices = pc.take(remap, array.indices)
    return pa.DictionaryArray.from_arrays(
        indices, values.filter(pa.array(keep)), ordered=array.type.ordered
    )
