"""The data magics: ``%%sql``, ``%%graphql``, ``%%googlesheet``, ``%dataframe`` uploads.

Owns: :mod:`~bento_wasm.data.parsing` (each magic's options and ``:name`` parameters, pure),
:mod:`~bento_wasm.data.requests` (requests to the executor as data),
:mod:`~bento_wasm.data.answers` (GraphQL and sheet answers into rows),
:mod:`~bento_wasm.data.session` (one kernel's options, transport and admission),
:mod:`~bento_wasm.data.transport` (HTTP through the environment seam),
:mod:`~bento_wasm.data.cells` and :mod:`~bento_wasm.data.uploads` (the handlers) and
:mod:`~bento_wasm.data.magics` (their registration).

May import: the standard library, the shared top level, ``kernel`` (the registry) and
``arrow`` (binding Arrow answers). pandas and pyarrow only inside functions.
"""
