"""benchmarks/stats.py: the one way every benchmark prints its runs (median and spread)."""

import pytest

from benchmarks.stats import spread


def test_median_with_quartiles_and_range():
    text = spread([1.2, 1.0, 1.5, 1.1, 3.0], "s")
    assert text == "median 1.200 s (IQR 1.100-1.500, min-max 1.000-3.000, n=5)"


def test_one_run_has_no_spread_and_units_are_optional():
    assert spread([2.0], digits=1) == "median 2.0 (IQR 2.0-2.0, min-max 2.0-2.0, n=1)"


def test_no_runs_is_an_error():
    with pytest.raises(ValueError, match="no runs"):
        spread([])
