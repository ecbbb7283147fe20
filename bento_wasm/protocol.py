"""The worker protocol, read from ``protocol.json`` (the one definition, STYLE.md #11).

``message(kind, **fields)`` builds a message dict and checks it against the spec;
``check(msg)`` validates one that arrived. ``worker_js/protocol.js`` reads the same
JSON file, so neither language spells message types or fields on its own.
"""

from __future__ import annotations

import json
import os
from functools import cache

from .errors import ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["check", "message", "mime_type", "spec"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
}


@cache
def spec() -> dict[str, Any]:
    """The parsed protocol.json shipped inside the package."""
    # A plain file next to this module (importlib.resources costs 60 ms at start-up in wasm).
    with open(os.path.join(os.path.dirname(__file__), "protocol.json"), encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """Build a message of type ``kind``; raises ProtocolError if it does not fit the spec."""
    msg: dict[str, Any] = {"type": kind, **fields}
    check(msg)
    return msg


def mime_type(name: str) -> str:
    """A custom output MIME type by its short name (``mime_type("badge")``)."""
    types: dict[str, str] = spec()["mime_types"]
    if name == "comment" or name not in types:
        raise ProtocolError(f"protocol has no mime type {name!r}")
    return types[name]


def _enums(kind: str) -> dict[str, list[str]]:
    found = {}
    for key, allowed in spec().get("enums", {}).items():
        message_type, _, field = key.partition(".")
        if message_type == kind:
            found[field] = spec()[allowed] if isinstance(allowed, str) else allowed
    return found


def check(msg: dict[str, Any]) -> dict[str, Any]:
    """Validate ``msg`` against the spec and return it."""
    kind = str(msg.get("type"))
    messages = spec()["messages"]
    if kind not in messages:
        raise ProtocolError(
            f"unknown message type {kind!r}; protocol v{spec()['version']} knows "
            f"{', '.join(sorted(messages))}. Page and worker must come from the same release."
        )
    for name, declared in messages[kind]["fields"].items():
        optional = declared.endswith("?")
        value = msg.get(name)
        if value is None:
            if optional:
                continue
            raise ProtocolError(f"message {kind!r} lacks field {name!r}")
        expected = _TYPES[declared.rstrip("?")]
        if isinstance(value, bool) and bool not in expected:
            raise ProtocolError(f"field {name!r} of {kind!r} must be {declared}, not a boolean")
        if not isinstance(value, expected):
            raise ProtocolError(
                f"field {name!r} of {kind!r} must be {declared}, not {type(value).__name__}"
            )
    for name, allowed in _enums(kind).items():
        if msg.get(name) is not None and msg[name] not in allowed:
            raise ProtocolError(f"field {name!r} of {kind!r} must be one of {allowed}")
    unknown = set(msg) - set(messages[kind]["fields"]) - {"type"}
    if unknown:
        raise ProtocolError(f"message {kind!r} has unknown fields {sorted(unknown)}")
    return msg
