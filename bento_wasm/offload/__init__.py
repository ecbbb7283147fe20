"""Offload: what is too heavy for the tab runs on the executor, and comes back as if local.

Owns: :mod:`~bento_wasm.offload.analysis` (what a cell reads, binds, imports),
:mod:`~bento_wasm.offload.planner` (lite or not), :mod:`~bento_wasm.offload.values` (the
value codec: Arrow and JSON), :mod:`~bento_wasm.offload.sources` (functions as source),
:mod:`~bento_wasm.offload.client` (the executor client and its transports),
:mod:`~bento_wasm.offload.calls` (``@remote``, ``%%remote``, automatic offload),
:mod:`~bento_wasm.offload.runner` (runs the work in the remote kernel),
:mod:`~bento_wasm.offload.channel` (its calls over a Unix socket from a local executor),
:mod:`~bento_wasm.offload.shared` (large buffers through shared files) and
:mod:`~bento_wasm.offload.badges` (where a cell's work ran, as an output).

May import: the standard library, the shared top level, ``kernel`` and ``arrow``.
``from bento_wasm import remote`` is the public path of the decorator.
"""
