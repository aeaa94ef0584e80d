"""Coverage curves against brute force, and the trade-off they exist to show."""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import pairwise_distances

from pipeline.stages.coverage import (
    checkpoints,
    coverage_curves,
    measure_coverage,
    random_picks,
)
from pipeline.stages.select import kcenter_greedy


def unit(n: int, d: int, seed: int) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_checkpoints() -> None:
    ks = checkpoints(5000)
    assert ks[0] == 1 and ks[-1] == 5000
    assert np.all(np.diff(ks) > 0) and 100 <= len(ks) <= 300
    assert checkpoints(1).tolist() == [1]
    assert checkpoints(7).tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_curves_equal_brute_force() -> None:
    x = unit(250, 5, 0)
    centres = random_picks(250, 40, seed=2)
    ks = np.array([1, 2, 5, 17, 40])
    radius = 0.5
    got = coverage_curves(x, centres, ks, delta_radius=radius, block_rows=16)
    d = pairwise_distances(x.astype(np.float64), x[centres].astype(np.float64))
    for i, j in enumerate(ks):
        nearest = d[:, :j].min(axis=1)
        assert got["radius"][i] == pytest.approx(nearest.max(), abs=1e-5)
        assert got["mean"][i] == pytest.approx(nearest.mean(), abs=1e-5)
        assert got["within"][i] == pytest.approx((nearest <= radius).mean(), abs=1 / 250)
    nearest = d.min(axis=1)
    assert got["final"]["p99"] == pytest.approx(np.percentile(nearest, 99), abs=1e-5)
    assert got["final"]["radius"] == pytest.approx(got["radius"][-1], abs=1e-6)


def test_kcenter_curve_is_its_radii() -> None:
    x = unit(400, 6, 1)
    result = kcenter_greedy(x, 50, device="cpu")
    ks = checkpoints(50)
    got = coverage_curves(x, result.indices, ks, delta_radius=0.6)
    np.testing.assert_allclose(got["radius"], result.radii[ks - 1], atol=1e-5)


def test_measure_coverage_shows_the_trade_off() -> None:
    # clusters of very different sizes: k-center covers the outliers, random the crowd
    rng = np.random.default_rng(5)
    crowd = 0.05 * rng.standard_normal((900, 8)) + np.eye(8)[0]
    outliers = rng.standard_normal((60, 8))
    x = np.vstack([crowd, outliers]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    picks = kcenter_greedy(x, 40, device="cpu").indices
    cov = measure_coverage(x, picks, seed=0, delta=0.8)
    json.dumps(cov)  # stored as a metric: plain JSON
    assert cov["size"] == 40 and cov["n"] == 960 and cov["k"][-1] == 40
    assert cov["delta_radius"] == pytest.approx(math.sqrt(0.4))
    for name in ("kcenter", "random", "kmeanspp"):
        assert len(cov[name]) == len(cov["k"]) == len(cov["within"][name])
        assert all(a >= b - 1e-6 for a, b in zip(cov[name], cov[name][1:], strict=False))
        final = cov["final"][name]
        assert 0 <= final["mean"] <= final["p99"] <= final["radius"] + 1e-6
        assert 0 <= final["within"] <= 1
    final = cov["final"]
    assert final["kcenter"]["radius"] < final["random"]["radius"]
    assert final["kcenter"]["mean"] > final["random"]["mean"]  # k-center can lose on the mean


def test_measure_coverage_without_baselines() -> None:
    x = unit(100, 4, 2)
    cov = measure_coverage(x, kcenter_greedy(x, 10).indices, seed=0, delta=0.9, baselines=False)
    assert set(cov["final"]) == {"kcenter"} and "random" not in cov


def test_curves_on_a_sample_of_rows_equal_brute_force_on_those_rows() -> None:
    """Above `max_rows` the curves measure a seeded sample of rows; centres may lie outside it."""
    x = unit(600, 5, 3)
    centres = random_picks(600, 30, seed=4)
    rows_of = np.sort(np.random.default_rng(5).choice(600, size=150, replace=False))
    ks = np.array([1, 3, 30])
    got = coverage_curves(x, centres, ks, delta_radius=0.5, block_rows=16, rows_of=rows_of)
    d = pairwise_distances(x[rows_of].astype(np.float64), x[centres].astype(np.float64))
    for i, j in enumerate(ks):
        nearest = d[:, :j].min(axis=1)
        assert got["radius"][i] == pytest.approx(nearest.max(), abs=1e-5)
        assert got["mean"][i] == pytest.approx(nearest.mean(), abs=1e-5)
    m = measure_coverage(x, centres, seed=0, delta=0.9, max_rows=150)
    assert m["rows"] == 150 and len(m["kcenter"]) == len(m["k"])
    assert set(m["final"]) == {"kcenter", "random", "kmeanspp"}
    assert measure_coverage(x, centres, seed=0, delta=0.9, baselines=False)["rows"] == 600
    big = measure_coverage(x, centres, seed=0, delta=0.9, max_rows=150, kmeanspp_max_work=100)
    assert set(big["final"]) == {"kcenter", "random"} and "150 x 30" in big["skipped"]["kmeanspp"]
