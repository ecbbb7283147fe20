"""The data sources' answers, made into rows: GraphQL JSON and Google Sheets' CSV export.

Pure functions from bytes and dicts to rows (STYLE.md #2); a useless answer raises a
:class:`~bento_wasm.errors.DataSourceError` that says what the source sent.
"""

from __future__ import annotations

from ..errors import DataSourceError, MagicError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["flatten_record", "graphql_rows", "sheet_csv"]


def graphql_rows(answer: Any, path: tuple[str, ...], url: str) -> list[dict[str, Any]]:
    """The list at ``path`` inside ``data``, each item flattened to ``{"a.b": value}``."""
    if not isinstance(answer, dict):
        raise DataSourceError(f"{url} did not answer a GraphQL JSON object", url=url)
    errors = answer.get("errors")
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        raise DataSourceError(
            f"the GraphQL server at {url} reported errors: {messages or errors}; fix the query",
            url=url,
        )
    node: Any = answer.get("data")
    if not path:
        if not isinstance(node, dict) or len(node) != 1:
            raise MagicError("%%graphql: the answer has several fields; say which with --path a.b")
        path = tuple(node)
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            raise MagicError(
                f"%%graphql: --path {'.'.join(path)}: no field {key!r} at "
                f"{'.'.join(path[:depth]) or 'data'}; fields there: {_fields(node)}"
            )
        node = node[key]
    if isinstance(node, dict):
        node = [node]
    if not isinstance(node, list):
        raise MagicError(
            f"%%graphql: --path {'.'.join(path)} is a {type(node).__name__}, not a list"
        )
    return [flatten_record(item) if isinstance(item, dict) else {"value": item} for item in node]


def _fields(node: Any) -> str:
    return ", ".join(node) if isinstance(node, dict) else f"a {type(node).__name__}"


def flatten_record(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_record(value, name + "."))
        else:
            flat[name] = value
    return flat


def sheet_csv(status: int, content_type: str, body: bytes, url: str) -> bytes:
    """The CSV bytes of an export answer, or the reason there are none."""
    share = "share the sheet as 'Anyone with the link can view', or publish it to the web"
    if status in (401, 403) or (status == 200 and _looks_like_html(content_type, body)):
        raise DataSourceError(
            f"the sheet at {url} is private (the export answered a login page); {share}",
            url=url,
            status=status,
        )
    if status == 404:
        raise DataSourceError(
            f"no sheet at {url} (HTTP 404); check the id and --sheet gid", url=url
        )
    if not 200 <= status < 300:
        raise DataSourceError(f"the sheet export {url} answered HTTP {status}", url=url)
    if not content_type.startswith("text/csv"):
        raise DataSourceError(
            f"the sheet export {url} answered {content_type or 'no type'}, not CSV; check that "
            "the export base URL points at a Google Sheets export",
            url=url,
            status=status,
        )
    return body


def _looks_like_html(content_type: str, body: bytes) -> bool:
    return content_type.startswith("text/html") or body.lstrip()[:15].lower().startswith(
        (b"<!doctype html", b"<html")
    )
