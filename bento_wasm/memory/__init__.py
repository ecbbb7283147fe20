"""The memory budget: snapshots, the budget and its thresholds, admission, ``%memory``.

Owns: :mod:`~bento_wasm.memory.heap` (snapshots and sizes), :mod:`~bento_wasm.memory.budget`
(the budget, the monitor, admission before copy), :mod:`~bento_wasm.memory.report` (what
``%memory`` shows), :mod:`~bento_wasm.memory.magic` (its registration) and
:mod:`~bento_wasm.memory.process` (the probe of a CPython kernel). The wasm heap's probe is
``bento_wasm.browser.memory``, reached through the environment seam.

May import: the standard library, the shared top level and ``kernel`` (the registry).
"""
