"""Coverage of a selection: how close every sample is to its nearest selected centre.

K-center minimises the worst case (the covering radius) but can lose to a random sample on the
average distance, so the `coverage` metric records both, for the selection and, at the same k, for
a seeded random sample and k-means++ seeding (`sklearn.cluster.kmeans_plusplus`); see
`measure_coverage` for the metric's shape:

- `radius`: the largest distance of any sample to its nearest centre, after the first j centres;
- `mean`: the mean of that distance; `within`: the share of samples whose nearest centre is within
  cosine `delta` (for unit vectors: euclidean distance <= sqrt(2 - 2·delta));
- at the full k also `p99`, the 99th percentile.

Curves are sampled at a few hundred values of j (`ks`), denser at small j where they fall fastest.
Distances are euclidean between L2-normalised vectors (0..2; cosine = 1 - d²/2).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["checkpoints", "coverage_curves", "measure_coverage"]

CURVE_POINTS = 300
# above this many samples, coverage is measured on a seeded sample of this many rows (and the
# k-means++ baseline seeds on it): every curve costs N x k distances per method, and sklearn's
# k-means++ about (2 + ln k) x N x k, which at the paper's N = 1.2M and k = 20,000 is hours
COVERAGE_ROWS = 50_000
# the k-means++ baseline runs only while rows x k stays under this (the default k = 1,000 on up
# to 200,000 rows); above it the metric says it was skipped ("skipped": {"kmeanspp": why})
KMEANSPP_MAX_WORK = 2 * 10**8


def checkpoints(k: int, points: int = CURVE_POINTS) -> npt.NDArray[np.int64]:
    """Sorted distinct centre counts in 1..k at which curves are sampled (always 1 and k)."""
    half = max(2, points // 2)
    lin = np.linspace(1, k, half)
    geo = np.geomspace(1, k, half)
    ks = np.unique(np.rint(np.concatenate([lin, geo, [1, k]])).astype(np.int64))
    return ks[(ks >= 1) & (ks <= k)]


def coverage_curves(
    x: npt.NDArray[Any],
    centres: npt.NDArray[np.integer[Any]],
    ks: npt.NDArray[np.int64],
    *,
    delta_radius: float,
    block_rows: int = 0,
    rows_of: npt.NDArray[np.int64] | None = None,
) -> dict[str, Any]:
    """Coverage of `x` (N, d) by the centres `centres` (k,) taken in order, at each j in `ks`.

    `rows_of`: the sorted rows of `x` to measure (default: all); centres may lie anywhere in `x`.

    Returns {"radius": [..], "mean": [..], "within": [..]} (one value per j in `ks`) and "final":
    {"radius", "mean", "p99", "within"} for all k centres. Computed in float32 blocks of rows
    (block rows x k distances at a time), never an N x k matrix.
    """
    n = int(x.shape[0]) if rows_of is None else len(rows_of)
    k = len(centres)
    cols = np.asarray(ks, dtype=np.int64) - 1
    c = np.asarray(x[np.asarray(centres)], dtype=np.float32)  # (k, d)
    csq = np.einsum("ij,ij->i", c, c)
    order_cols = np.arange(k)
    order_rows = np.asarray(centres, dtype=np.int64)
    if rows_of is not None:  # a centre's position among the measured rows, else -1
        at_pos = np.searchsorted(rows_of, order_rows)
        hit = (at_pos < len(rows_of)) & (
            rows_of[np.minimum(at_pos, len(rows_of) - 1)] == order_rows
        )
        order_rows = np.where(hit, at_pos, -1)
    limit_sq = np.float32(delta_radius**2)
    rows = block_rows or max(64, min(4096, (1 << 23) // max(k, 1)))
    radius_sq = np.zeros(len(cols), dtype=np.float64)
    total = np.zeros(len(cols), dtype=np.float64)
    within = np.zeros(len(cols), dtype=np.int64)
    nearest = np.empty(n, dtype=np.float32)  # distance to the nearest of all k centres
    nearest_sq_ok = np.empty(n, dtype=bool)
    for s in range(0, n, rows):
        if rows_of is None:
            xb = np.asarray(x[s : s + rows], dtype=np.float32)
        else:
            xb = np.asarray(x[rows_of[s : s + rows]], dtype=np.float32)
        d2 = xb @ c.T  # (rows, k)
        d2 *= -2
        d2 += csq
        d2 += np.einsum("ij,ij->i", xb, xb)[:, None]
        np.maximum(d2, 0, out=d2)
        mine = (order_rows >= s) & (order_rows < s + rows)
        d2[order_rows[mine] - s, order_cols[mine]] = 0  # a centre is at distance 0 from itself
        np.minimum.accumulate(d2, axis=1, out=d2)  # column j: nearest of the first j+1 centres
        at = d2[:, cols]
        np.maximum(radius_sq, at.max(axis=0), out=radius_sq)
        total += np.sqrt(at).sum(axis=0, dtype=np.float64)
        within += (at <= limit_sq).sum(axis=0)
        nearest[s : s + rows] = np.sqrt(d2[:, k - 1])
        nearest_sq_ok[s : s + rows] = d2[:, k - 1] <= limit_sq
    radius = np.sqrt(radius_sq).tolist()
    mean = (total / n).tolist()
    share = (within / n).tolist()
    final = {"radius": float(nearest.max()), "mean": float(nearest.mean(dtype=np.float64))}
    final["p99"] = float(np.percentile(nearest, 99))
    final["within"] = float(np.count_nonzero(nearest_sq_ok) / n)
    return {"radius": radius, "mean": mean, "within": share, "final": final}


def random_picks(n: int, k: int, seed: int) -> npt.NDArray[np.int64]:
    """k distinct rows of n drawn by `seed`: the random baseline, in draw order."""
    return np.random.default_rng([seed, 1]).choice(n, size=k, replace=False).astype(np.int64)


def kmeanspp_picks(x: npt.NDArray[Any], k: int, seed: int) -> npt.NDArray[np.int64]:
    """k rows chosen by k-means++ seeding (sklearn's greedy variant), in pick order."""
    from sklearn.cluster import kmeans_plusplus

    # sklearn's float32 distance path upcasts in small chunks and is ~10x slower than float64
    x64 = np.asarray(x, dtype=np.float64)
    _, indices = kmeans_plusplus(x64, k, random_state=seed)
    return np.asarray(indices, dtype=np.int64)


def measure_coverage(
    x: npt.NDArray[Any],
    picks: npt.NDArray[np.integer[Any]],
    *,
    seed: int,
    delta: float,
    baselines: bool = True,
    points: int = CURVE_POINTS,
    max_rows: int = COVERAGE_ROWS,
    kmeanspp_max_work: int = KMEANSPP_MAX_WORK,
) -> dict[str, Any]:
    """The `coverage` metric for a selection `picks` (k,) of `x` (N, d) unit vectors.

    Methods: "kcenter" (the selection, in pick order) and, with `baselines`, "random" (k rows
    drawn by `seed`) and "kmeanspp" (k-means++ seeding with `seed`). Returns a JSON-able dict:

    - "k": the centre counts j the curves are sampled at (a few hundred, 1..k);
    - "<method>": the covering radius after the first j centres, one per entry of "k";
    - "mean" / "within": {method: curve}: mean distance to the nearest centre, share of samples
      within cosine `delta` of it;
    - "final": {method: {"radius", "mean", "p99", "within"}} at the full k;
    - "seconds": {method: time to choose its centres}; "n", "size" (= k), "seed", "delta",
      "delta_radius" (the euclidean radius equal to cosine `delta` on unit vectors); "rows":
      how many samples the curves measure: all N, or above `max_rows` a sample of `max_rows`
      rows drawn by `seed` (then radii are those of the sample, a lower bound; the coreset's
      exact covering radius is in the `coreset` table), on which k-means++ also seeds;
      "skipped": {method: why} for a baseline left out (k-means++ when rows x k is over
      `kmeanspp_max_work`).
    """
    n, k = int(x.shape[0]), len(picks)
    rows_of: npt.NDArray[np.int64] | None = None
    if 0 < max_rows < n:
        rows_of = np.sort(np.random.default_rng([seed, 2]).choice(n, size=max_rows, replace=False))
    delta_radius = math.sqrt(max(0.0, 2.0 - 2.0 * delta))
    ks = checkpoints(k, points)
    chosen: dict[str, tuple[npt.NDArray[np.int64], float]] = {
        "kcenter": (np.asarray(picks, dtype=np.int64), 0.0)
    }
    if baselines:
        started = time.perf_counter()
        chosen["random"] = (random_picks(n, k, seed), time.perf_counter() - started)
    rows = n if rows_of is None else len(rows_of)
    skipped: dict[str, str] = {}
    if baselines and rows * k > kmeanspp_max_work:
        skipped["kmeanspp"] = (
            f"k-means++ seeding: rows x k = {rows:,} x {k:,} is over the limit of "
            f"{kmeanspp_max_work:,}"
        )
    elif baselines:
        started = time.perf_counter()
        if rows_of is None:
            seeded = kmeanspp_picks(x, k, seed)
        else:
            seeded = rows_of[kmeanspp_picks(x[rows_of], min(k, len(rows_of)), seed)]
        chosen["kmeanspp"] = (seeded, time.perf_counter() - started)
    out: dict[str, Any] = {
        "k": ks.tolist(),
        "mean": {},
        "within": {},
        "final": {},
        "seconds": {},
        "n": n,
        "size": k,
        "seed": seed,
        "delta": delta,
        "delta_radius": delta_radius,
        "rows": rows,
        "skipped": skipped,
    }
    for name, (centres, seconds) in chosen.items():
        curves = coverage_curves(x, centres, ks, delta_radius=delta_radius, rows_of=rows_of)
        out[name] = curves["radius"]
        out["mean"][name] = curves["mean"]
        out["within"][name] = curves["within"]
        out["final"][name] = curves["final"]
        out["seconds"][name] = seconds
    return out
