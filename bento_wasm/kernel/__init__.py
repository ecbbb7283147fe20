"""The kernel: the cell loop, the magics registry and the display system.

Owns: :mod:`~bento_wasm.kernel.interpreter` (``Kernel``: runs cells, hooks before and after
each, the worker protocol's messages), :mod:`~bento_wasm.kernel.magics` (the registry and
the argument parser every magic uses) and :mod:`~bento_wasm.kernel.display` (mime bundles,
live displays, figures).

May import: the standard library and the shared top level (``errors``, ``protocol``). Every
other capability registers with the kernel; the kernel imports none of them.
"""
