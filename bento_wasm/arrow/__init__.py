"""Arrow IPC <-> pandas: reading a stream in place, binding it to a name, writing one back.

Owns: :mod:`~bento_wasm.arrow.ipc` (``read_ipc``, ``bind``, ``to_ipc``, the landing buffer
and the injection report), :mod:`~bento_wasm.arrow.framing` (the IPC framing checked in pure
Python before pyarrow reads it), :mod:`~bento_wasm.arrow.types` (types pandas cannot take as
they are, rewritten in Arrow), :mod:`~bento_wasm.arrow.frames` (how each Arrow type becomes
a pandas column, zero-copy where it can) and :mod:`~bento_wasm.arrow.columns` (the columns
built with numpy where pyarrow's conversion is slow in wasm).

May import: the standard library and ``bento_wasm.errors``; pyarrow and pandas only inside
functions, so ``import bento_wasm.arrow`` stays cheap.
"""

from __future__ import annotations

from .ipc import InjectionReport, bind, read_ipc, to_ipc

__all__ = ["InjectionReport", "bind", "read_ipc", "to_ipc"]
