"""How every benchmark reports its runs: the median, then the spread (IQR and min-max).

from benchmarks.stats import spread
print(f"bare first cell: {spread(times, 's')}")
# bare first cell: median 1.438 s (IQR 1.401-1.502, min-max 1.390-1.611, n=5)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def spread(values: Sequence[float], unit: str = "", digits: int = 3) -> str:
    """The median of ``values`` and their spread, in one phrase."""
    if not values:
        raise ValueError("no runs to summarise")
    ordered = sorted(values)
    low, high = _quartiles(ordered)
    f = f"{{:.{digits}f}}"
    unit = f" {unit}" if unit else ""
    return (
        f"median {f.format(statistics.median(ordered))}{unit} "
        f"(IQR {f.format(low)}-{f.format(high)}, "
        f"min-max {f.format(ordered[0])}-{f.format(ordered[-1])}, n={len(ordered)})"
    )


def _quartiles(ordered: Sequence[float]) -> tuple[float, float]:
    if len(ordered) < 2:
        return ordered[0], ordered[0]
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive")
    return quartiles[0], quartiles[2]
