"""The kernel: the cell loop, the magics registry and the display system.

Owns: :mod:`~bento_wasm.kernel.interpreter` (``Kernel``: runs cells, hooks before and after
each, the worker protocol's messages), :mod:`~bento_wasm.kernel.magics` (the registry and
the argument parser every magic uses), :mod:`~bento_wasm.kernel.display` (mime bundles,
live displays, figures), :mod:`~bento_wasm.kernel.pip` (``%pip``'s command line, index
URL and report; the browser layer installs) and :mod:`~bento_wasm.kernel.comms` (Jupyter
comms for ipywidgets, installed when a cell first imports them).

May import: the standard library and the shared top level (``errors``, ``protocol``); IPython
and ``comm`` only inside the functions that need them (``shell``, ``comms``). Every
other capability registers with the kernel; the kernel imports none of them.
"""
