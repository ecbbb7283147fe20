"""The memory probe of a CPython kernel (the page's server kernel, any Jupyter kernel).

``%memory`` there reports this process's resident memory against the limit the kernel really
has: the container's (cgroup v2 ``memory.max``, or v1 ``memory.limit_in_bytes``) when set, else
the machine's physical memory. There is no wasm heap and no hard 4 GiB ceiling: the budget is a
fraction of that limit, and nothing is refused (admission is the browser kernel's job).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .heap import Snapshot

__all__ = ["ProcessProbe", "memory_limit"]

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


def memory_limit() -> int:
    """Bytes this process may use: the cgroup's limit if there is one, else physical memory."""
    physical = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < physical:
            return int(text)
    return physical


def resident_bytes() -> int:
    """This process's resident set size (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, IndexError, ValueError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


class ProcessProbe:
    """``probe(exact) -> Snapshot`` for this process (resident memory is always exact)."""

    def __init__(self) -> None:
        self.limit_bytes = memory_limit()

    def __call__(self, exact: bool) -> Snapshot:
        started = time.perf_counter()
        rss = resident_bytes()
        return Snapshot(
            heap_bytes=rss,
            ceiling_bytes=self.limit_bytes,
            reserved_bytes=rss,
            used_bytes=rss,
            probe_ms=(time.perf_counter() - started) * 1000,
            host="process",
        )
