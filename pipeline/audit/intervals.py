"""Interval arithmetic for auditing the judge: shares, agreement and sample sizes.

Everything here is pure (numbers in, numbers out) and is tested against known values.

- `share_interval(x, n, population)`: the share of a finite population that has a property,
  estimated from `x` of `n` drawn uniformly without replacement. The interval is exact: it inverts
  the hypergeometric distribution (the finite-population analogue of Clopper–Pearson), so it holds
  its level for any n and needs no normal approximation; it is conservative (covers at least 95%).
- `wilson_interval(x, n, population=None)`: the Wilson score interval, with the finite-population
  correction when `population` is given. Shorter than the exact one; used where no finite
  population is defined (precision, recall).
- `kappa_interval`: Cohen's kappa with its large-sample standard error.
- `draws_for_margin`: how many draws narrow a share's interval to ± a margin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy.stats import hypergeom

__all__ = [
    "Z95",
    "Interval",
    "draws_for_margin",
    "kappa_interval",
    "share_interval",
    "wilson_interval",
]

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a two-sided interval; `n` is the number of observations behind it.

    `estimate`, `low` and `high` are NaN when `n` is 0 (nothing observed, nothing to say)."""

    estimate: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-able, NaN as None."""

        def clean(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        return {
            "estimate": clean(self.estimate),
            "low": clean(self.low),
            "high": clean(self.high),
            "n": self.n,
        }

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        if self.n == 0:
            return "n/a (n=0)"
        return f"{self.estimate:.1%} [{self.low:.1%}, {self.high:.1%}] (n={self.n})"


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, 0)


def _check(x: int, n: int) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= x <= n, got x={x}, n={n}")


def _first_k(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The least k in [lo, hi) with ok(k), for ok monotone (False then True); hi when none."""
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def share_interval(x: int, n: int, population: int, *, level: float = 0.95) -> Interval:
    """Exact interval for the share K/N of a population of N items that have a property, from
    x of n items drawn uniformly without replacement (hypergeometric inversion).

    The low end is the least K for which seeing x or more is still plausible (upper tail >
    alpha/2); the high end the largest K for which seeing x or fewer is (lower tail > alpha/2).
    With n == N the share is known exactly.
    """
    _check(x, n)
    if population < n:
        raise ValueError(f"population {population} is smaller than the sample {n}")
    if n == 0:
        return NAN_INTERVAL
    big_n = population
    alpha = 1.0 - level
    # K can only be in [x, N - (n - x)]: the sample already shows x with and n - x without.
    # P(X >= x | K) rises with K and P(X <= x | K) falls with K, so each end is a bisection
    # (about log2(N) evaluations instead of one per K).
    lo_k, hi_k = x, big_n - (n - x)
    if x == 0:
        k_low = 0
    else:
        k_low = _first_k(lo_k, hi_k, lambda k: float(hypergeom.sf(x - 1, big_n, k, n)) > alpha / 2)
    if x == n:
        k_high = hi_k
    else:
        # the largest K with P(X <= x | K) > alpha/2 is one before the first K where it is not
        k_high = (
            _first_k(lo_k, hi_k + 1, lambda k: float(hypergeom.cdf(x, big_n, k, n)) <= alpha / 2)
            - 1
        )
    return Interval(x / n, k_low / big_n, k_high / big_n, n)


def wilson_interval(x: int, n: int, population: int | None = None, *, z: float = Z95) -> Interval:
    """Wilson score interval for a proportion; with `population`, the finite-population correction
    (the variance shrinks by (N - n) / (N - 1), i.e. n is replaced by n / fpc)."""
    _check(x, n)
    if n == 0:
        return NAN_INTERVAL
    p = x / n
    n_eff = float(n)
    if population is not None:
        if population < n:
            raise ValueError(f"population {population} is smaller than the sample {n}")
        if population <= 1 or population == n:
            return Interval(p, p, p, n)
        fpc = (population - n) / (population - 1)
        n_eff = n / fpc
    z2 = z * z
    denom = 1 + z2 / n_eff
    centre = (p + z2 / (2 * n_eff)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def kappa_interval(
    kappa: float, observed: float, expected: float, n: int, *, z: float = Z95
) -> Interval:
    """Cohen's kappa with the large-sample interval kappa ± z·se, se = sqrt(po(1-po)/n)/(1-pe)
    (Cohen 1960), clipped to [-1, 1]. NaN when kappa is undefined or n is 0."""
    if n == 0 or math.isnan(kappa) or expected >= 1.0:
        return Interval(kappa if n else math.nan, math.nan, math.nan, n)
    se = math.sqrt(max(observed * (1 - observed), 0.0) / n) / (1 - expected)
    return Interval(kappa, max(-1.0, kappa - z * se), min(1.0, kappa + z * se), n)


def draws_for_margin(current: Interval, population: int, margin: float = 0.05) -> int:
    """How many more uniform draws would bring a share's 95% interval to about ± `margin`.

    Uses the normal approximation with the finite-population correction,
    n = n0 / (1 + (n0 - 1) / N) with n0 = z² p(1-p) / margin², and for p the value inside the
    current interval nearest 0.5 (conservative: the worst case the data still allow; 0.5 before
    any draw). Returns 0 when the draws made already suffice.
    """
    if not 0 < margin < 1:
        raise ValueError(f"margin must be in (0, 1), got {margin}")
    p = 0.5 if current.n == 0 else min(max(0.5, current.low), current.high)
    n0 = Z95 * Z95 * p * (1 - p) / (margin * margin)
    needed = n0 / (1 + (n0 - 1) / population) if population > 1 else n0
    return max(0, math.ceil(needed) - current.n)
