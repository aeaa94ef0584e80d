"""Interval arithmetic against known values and exact coverage."""

from __future__ import annotations

import math

import pytest
from scipy.stats import beta, hypergeom

from pipeline.audit.intervals import (
    Interval,
    draws_for_margin,
    kappa_interval,
    share_interval,
    wilson_interval,
)


def test_wilson_known_value() -> None:
    # Wilson score interval for 10 of 100 (Newcombe 1998, method 3)
    iv = wilson_interval(10, 100)
    assert iv.estimate == 0.1
    assert iv.low == pytest.approx(0.0552, abs=5e-5)
    assert iv.high == pytest.approx(0.1744, abs=5e-5)


def test_wilson_finite_population_shrinks_and_census_is_exact() -> None:
    wide = wilson_interval(10, 100)
    narrow = wilson_interval(10, 100, population=200)
    assert narrow.low > wide.low and narrow.high < wide.high
    census = wilson_interval(7, 40, population=40)
    assert census.low == census.high == census.estimate == 7 / 40


def test_exact_share_matches_clopper_pearson_for_a_large_population() -> None:
    x, n, big_n = 10, 100, 1_000_000
    iv = share_interval(x, n, big_n)
    low = beta.ppf(0.025, x, n - x + 1)
    high = beta.ppf(0.975, x + 1, n - x)
    assert iv.low == pytest.approx(low, abs=2e-4)
    assert iv.high == pytest.approx(high, abs=2e-4)


def test_exact_share_edges() -> None:
    none = share_interval(0, 30, 500)
    assert none.low == 0.0 and 0.0 < none.high < 0.15
    every = share_interval(30, 30, 500)
    assert every.high == 1.0 and 0.85 < every.low < 1.0
    census = share_interval(4, 20, 20)
    assert census.low == census.high == 0.2
    assert math.isnan(share_interval(0, 0, 10).estimate)
    with pytest.raises(ValueError):
        share_interval(5, 4, 10)
    with pytest.raises(ValueError):
        share_interval(1, 20, 10)


@pytest.mark.parametrize("true_k", [0, 3, 10, 25, 49])
def test_exact_share_covers_at_least_95_percent(true_k: int) -> None:
    """Exact coverage: sum the probability of every outcome whose interval holds the truth."""
    big_n, n = 50, 20
    covered = 0.0
    for x in range(0, n + 1):
        p = hypergeom.pmf(x, big_n, true_k, n)
        if p == 0:
            continue
        iv = share_interval(x, n, big_n)
        if iv.low - 1e-12 <= true_k / big_n <= iv.high + 1e-12:
            covered += p
    assert covered >= 0.95


def test_kappa_interval_known_value() -> None:
    # po = 0.8, pe = 0.5 -> kappa 0.6, se = sqrt(0.16 / 100) / 0.5 = 0.08
    iv = kappa_interval(0.6, 0.8, 0.5, 100)
    assert iv.low == pytest.approx(0.6 - 1.959964 * 0.08, abs=1e-6)
    assert iv.high == pytest.approx(0.6 + 1.959964 * 0.08, abs=1e-6)
    undefined = kappa_interval(math.nan, 1.0, 1.0, 10)
    assert math.isnan(undefined.low)


def test_draws_for_margin() -> None:
    empty = Interval(math.nan, math.nan, math.nan, 0)
    assert draws_for_margin(empty, 10**9) == 385  # 1.96^2 * 0.25 / 0.05^2 = 384.1
    assert draws_for_margin(empty, 1000) == 278  # with the finite-population correction
    done = share_interval(2, 400, 1000)
    assert draws_for_margin(done, 1000) == 0
    some = share_interval(3, 30, 5000)
    more = draws_for_margin(some, 5000)
    assert more > 0
    # after that many more draws at the same rate, the Wilson half-width is about the margin
    n = 30 + more
    after = wilson_interval(round(n * 0.1), n, population=5000)
    assert after.half_width <= 0.05 + 0.005


def test_interval_as_dict_is_json_able() -> None:
    assert share_interval(0, 0, 5).as_dict() == {
        "estimate": None,
        "low": None,
        "high": None,
        "n": 0,
    }
    assert share_interval(1, 10, 100).as_dict()["n"] == 10
