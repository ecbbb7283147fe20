"""``%memory`` in bento's own kernel: registered on import, the report loaded on first use.

The report (:mod:`bento_wasm.memory.report`) needs argparse and html, which cost start-up
in wasm; registering the name here keeps them off the worker's boot path.
"""

from __future__ import annotations

from ..kernel.magics import registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..kernel.magics import MagicContext

__all__ = ["memory_magic"]


def memory_magic(ctx: MagicContext, args: str) -> Any:
    """``%memory`` (bento_wasm.memory.report, imported when first used)."""
    from .report import memory_magic as report

    return report(ctx, args)


registry.register_line("memory", memory_magic)
