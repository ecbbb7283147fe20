"""The host layer of headless runs (CPython): the Node.js process, prefetch, uploads, lineage.

Owns: :mod:`~bento_wasm.host.node` (the WebAssembly kernel in a Node.js process, in its own
network namespace, protocol.json messages as JSON lines), :mod:`~bento_wasm.host.prefetch`
(data cells resolved on the host into Arrow files), :mod:`~bento_wasm.host.run`
(``execute_notebook``: plan, prefetch, run, record, upload, lineage), :mod:`~bento_wasm.host.cli`
(``bento run``) and :mod:`~bento_wasm.host.engine` (the papermill engine ``bento``).

May import: every core package, ``runs``, and ``server`` (the warehouse's named connections
and the demo database); subprocess, pyarrow, papermill, openlineage, yaml. Nothing in the
core imports it except ``bento_wasm.runs.execute_notebook``, its one public door.
"""
