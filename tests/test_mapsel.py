"""Map selection geometry: boxes, lassos (point in polygon), picks, the density layer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.mapsel import (
    density_grid,
    in_box,
    in_polygon,
    picked_ids,
    select_points,
    selection_is_empty,
    smoothed,
    spread_sample,
)

SQUARE = ([0, 2, 2, 0], [0, 0, 2, 2])


def _brute_polygon(px: list[float], py: list[float], x: float, y: float) -> bool:
    """Textbook crossing-number test, one point at a time."""
    inside = False
    n = len(px)
    j = n - 1
    for i in range(n):
        if (py[i] > y) != (py[j] > y):
            x_cross = px[i] + (y - py[i]) * (px[j] - px[i]) / (py[j] - py[i])
            if x < x_cross:
                inside = not inside
        j = i
    return inside


def test_box_is_closed_and_takes_ends_in_any_order() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert in_box(x, y, [2.0, 1.0], [3.0, 1.0]).tolist() == [False, True, True, False]


def test_square_polygon() -> None:
    x = np.array([1.0, 3.0, 1.0, -0.5, 1.9])
    y = np.array([1.0, 1.0, 2.5, 1.0, 0.1])
    assert in_polygon(x, y, *SQUARE).tolist() == [True, False, False, False, True]


def test_concave_polygon_excludes_its_notch() -> None:
    # a U shape: the notch (1, 1.5) is outside, the arms are inside
    px = [0, 3, 3, 2, 2, 1, 1, 0]
    py = [0, 0, 2, 2, 1, 1, 2, 2]
    x = np.array([0.5, 1.5, 2.5, 1.5])
    y = np.array([1.5, 1.5, 1.5, 0.5])
    assert in_polygon(x, y, px, py).tolist() == [True, False, True, True]


def test_self_intersecting_lasso_follows_even_odd() -> None:
    # a bow tie: both lobes are inside, the crossing's neighbourhood left and right too
    px, py = [0, 2, 2, 0], [0, 2, 0, 2]
    x = np.array([0.2, 1.8, 1.0, 1.0])
    y = np.array([1.0, 1.0, 0.2, 1.8])
    assert in_polygon(x, y, px, py).tolist() == [True, True, False, False]


def test_degenerate_polygons_select_nothing() -> None:
    x = np.array([0.0, 1.0])
    assert not in_polygon(x, x, [0, 1], [0, 1]).any()
    assert not in_polygon(x, x, [], []).any()
    with pytest.raises(ValueError):
        in_polygon(x, x, [0, 1, 2], [0, 1])


@settings(max_examples=60, deadline=None)
@given(
    poly=st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=3, max_size=12),
    seed=st.integers(0, 2**16),
)
def test_polygon_matches_a_textbook_crossing_test(
    poly: list[tuple[float, float]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-12, 12, 300)
    y = rng.uniform(-12, 12, 300)
    px = [p[0] for p in poly]
    py = [p[1] for p in poly]
    got = in_polygon(x, y, px, py)
    want = [_brute_polygon(px, py, float(a), float(b)) for a, b in zip(x, y, strict=True)]
    assert got.tolist() == want


def test_select_points_unions_boxes_and_lassos() -> None:
    x = np.array([0.5, 5.0, 9.0, 20.0])
    y = np.array([0.5, 5.0, 9.0, 20.0])
    selection = {
        "box": [{"x": [4, 6], "y": [4, 6], "xref": "x", "yref": "y"}],
        "lasso": [{"x": [8, 10, 10, 8], "y": [8, 8, 10, 10]}, {"x": SQUARE[0], "y": SQUARE[1]}],
        "points": [],
    }
    assert select_points(x, y, selection).tolist() == [True, True, True, False]


def test_select_points_falls_back_to_picked_points_by_id() -> None:
    x = y = np.zeros(3)
    ids = ["a", "b", "c"]
    selection = {"box": [], "lasso": [], "points": [{"customdata": "c"}, {"customdata": ["a"]}]}
    assert select_points(x, y, selection, ids=ids).tolist() == [True, False, True]
    assert picked_ids(selection) == ["c", "a"]
    # a shape wins over the points the browser reports inside it
    selection["box"] = [{"x": [5, 6], "y": [5, 6]}]
    assert not select_points(x, y, selection, ids=ids).any()


def test_empty_selection() -> None:
    assert selection_is_empty(None)
    assert selection_is_empty({"box": [], "lasso": [], "points": []})
    assert not selection_is_empty({"points": [{"customdata": "a"}]})
    assert not select_points([1.0], [1.0], None).any()


def test_lasso_over_100k_points_splits_inside_from_outside() -> None:
    # the speed of this selection is measured by benchmarks/bench_mapsel.py, not asserted here
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=100_000), rng.normal(size=100_000)
    angle = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    lasso = {"x": np.cos(angle).tolist(), "y": np.sin(angle).tolist()}
    mask = select_points(x, y, {"lasso": [lasso]})
    inside = (x**2 + y**2) < 0.999
    outside = (x**2 + y**2) > 1.001
    assert mask[inside].all() and not mask[outside].any()


def test_density_grid_counts_every_point_once() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=5000), rng.normal(3, 2, size=5000)
    grid = density_grid(x, y, bins=32)
    assert grid.counts.shape == (32, 32)
    assert grid.counts.sum() == 5000
    assert grid.x[0] > x.min() and grid.x[-1] < x.max()
    # rows run along y: the densest row is near y's mean
    assert abs(grid.y[grid.counts.sum(axis=1).argmax()] - 3) < 1.5
    blurred = smoothed(grid.counts, sigma=1.0)
    assert blurred.sum() == pytest.approx(5000, rel=0.02)
    assert density_grid([], [], bins=4).counts.sum() == 0


def test_spread_sample_prefers_then_fills() -> None:
    idx = spread_sample(100, 10, prefer=[5, 7, 99])
    assert {5, 7, 99} <= set(idx.tolist()) and len(idx) == 10
    assert list(idx) == sorted(idx)
    only = spread_sample(100, 2, prefer=[1, 2, 3, 4])
    assert set(only.tolist()) <= {1, 2, 3, 4} and len(only) == 2
    assert len(spread_sample(5, 10)) == 5
