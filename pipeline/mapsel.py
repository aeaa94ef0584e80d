"""Selection geometry for the map: which points fall in a box or a lasso, and the density layer.

The map draws the whole pool as a density grid and only a few thousand points as selectable
markers, because a browser selection costs about 130 bytes a point on the way back. A box or
lasso drawn on the map is therefore applied here, on the server, to every projected point.

Shapes come as Plotly (through Streamlit) reports them in data coordinates:
box `{"x": [x0, x1], "y": [y0, y1]}` and lasso `{"x": [x...], "y": [y...]}` (a closed polygon;
the last vertex connects back to the first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DensityGrid",
    "density_grid",
    "in_box",
    "in_polygon",
    "picked_ids",
    "select_points",
    "selection_is_empty",
    "smoothed",
    "spread_sample",
]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def in_box(
    x: ArrayLike, y: ArrayLike, x_range: Sequence[float], y_range: Sequence[float]
) -> BoolArray:
    """Mask of points inside the closed rectangle `x_range` × `y_range` (ends in any order)."""
    xs, ys = _as_float(x), _as_float(y)
    x0, x1 = sorted(float(v) for v in x_range)
    y0, y1 = sorted(float(v) for v in y_range)
    mask: BoolArray = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    return mask


def in_polygon(x: ArrayLike, y: ArrayLike, poly_x: ArrayLike, poly_y: ArrayLike) -> BoolArray:
    """Mask of points inside a polygon by the even-odd rule (ray casting to the right).

    `poly_x`, `poly_y`: the vertices in order; the polygon closes itself, a repeated first vertex
    at the end is harmless. Fewer than three vertices select nothing. Self-intersecting lassos
    follow the even-odd rule, as the browser draws them. Points exactly on an edge may fall
    either way. Cost: one vectorised pass over the points inside the polygon's bounding box per
    edge.
    """
    xs, ys = _as_float(x), _as_float(y)
    px, py = _as_float(poly_x), _as_float(poly_y)
    if px.shape != py.shape:
        raise ValueError(f"polygon has {px.size} x and {py.size} y coordinates")
    mask = np.zeros(xs.shape, dtype=np.bool_)
    if px.size < 3:
        return mask
    box = (xs >= px.min()) & (xs <= px.max()) & (ys >= py.min()) & (ys <= py.max())
    idx = np.flatnonzero(box)
    if idx.size == 0:
        return mask
    bx, by = xs[idx], ys[idx]
    inside = np.zeros(idx.shape, dtype=np.bool_)
    xj, yj = px[-1], py[-1]
    # Rows whose ray misses an edge may overflow in x_cross on extreme coordinates; `crosses`
    # masks those rows out, so the overflow is harmless and not worth a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        for xi, yi in zip(px, py, strict=True):
            if yi != yj:  # a horizontal edge never crosses a horizontal ray
                crosses = (yi > by) != (yj > by)
                x_cross = xi + (by - yi) * (xj - xi) / (yj - yi)
                inside ^= crosses & (bx < x_cross)
            xj, yj = xi, yi
    mask[idx] = inside
    return mask


def selection_is_empty(selection: Mapping[str, Any] | None) -> bool:
    """True when a selection has no box, no lasso and no points."""
    if not selection:
        return True
    return not (selection.get("box") or selection.get("lasso") or selection.get("points"))


def select_points(
    x: ArrayLike,
    y: ArrayLike,
    selection: Mapping[str, Any] | None,
    *,
    ids: Sequence[str] | None = None,
) -> BoolArray:
    """Mask of the points a map selection covers: the union of its boxes and lassos.

    `selection`: Streamlit's Plotly selection state (`box`, `lasso`, `points` lists). When it has
    no shape (a click, or points picked one by one), the picked points count: their
    `customdata` holds the sample id, matched against `ids` (the ids of `x`, `y` in order).
    """
    xs = _as_float(x)
    mask = np.zeros(xs.shape, dtype=np.bool_)
    if not selection:
        return mask
    shapes = 0
    for box in selection.get("box") or []:
        if len(box.get("x", [])) == 2 and len(box.get("y", [])) == 2:
            mask |= in_box(xs, y, box["x"], box["y"])
            shapes += 1
    for lasso in selection.get("lasso") or []:
        mask |= in_polygon(xs, y, lasso.get("x", []), lasso.get("y", []))
        shapes += 1
    if shapes == 0 and ids is not None:
        picked = set(picked_ids(selection))
        if picked:
            mask |= np.fromiter((i in picked for i in ids), dtype=np.bool_, count=len(ids))
    return mask


def picked_ids(selection: Mapping[str, Any] | None) -> list[str]:
    """Sample ids of the points picked in the browser (from `customdata`), in pick order."""
    out: list[str] = []
    for point in (selection or {}).get("points") or []:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if isinstance(data, str) and data not in out:
            out.append(data)
    return out


@dataclass(frozen=True, slots=True)
class DensityGrid:
    """Counts of points per cell: `counts[j, i]` for the cell centred at (`x[i]`, `y[j]`)."""

    x: FloatArray
    y: FloatArray
    counts: NDArray[np.int64]


def density_grid(
    x: ArrayLike, y: ArrayLike, bins: int = 160, extent: Sequence[float] | None = None
) -> DensityGrid:
    """A `bins` × `bins` histogram of the points over `extent` (x0, x1, y0, y1; default: the data).

    Rows run along y, columns along x, as a heatmap draws them.
    """
    xs, ys = _as_float(x), _as_float(y)
    if extent is None:
        if xs.size == 0:
            extent = (0.0, 1.0, 0.0, 1.0)
        else:
            extent = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
    x0, x1, y0, y1 = (float(v) for v in extent)
    if x1 <= x0:
        x1 = x0 + 1.0
    if y1 <= y0:
        y1 = y0 + 1.0
    counts, y_edges, x_edges = np.histogram2d(ys, xs, bins=bins, range=[[y0, y1], [x0, x1]])
    return DensityGrid(
        x=(x_edges[:-1] + x_edges[1:]) / 2,
        y=(y_edges[:-1] + y_edges[1:]) / 2,
        counts=counts.astype(np.int64),
    )


def smoothed(counts: ArrayLike, sigma: float = 1.0) -> FloatArray:
    """`counts` blurred by a Gaussian of `sigma` cells (total preserved): a density to draw."""
    from scipy.ndimage import gaussian_filter

    grid = np.asarray(counts, dtype=np.float64)
    if sigma <= 0 or grid.size == 0:
        return grid
    out: FloatArray = gaussian_filter(grid, sigma=sigma, mode="constant")
    return out


def spread_sample(n: int, k: int, *, seed: int = 0, prefer: Iterable[int] = ()) -> NDArray[np.intp]:
    """At most `k` of `n` point indices, sorted: all of `prefer` first (up to `k`), then a seeded
    uniform draw from the rest. The selectable layer when there is no coreset or it is too big.
    """
    preferred = np.unique(np.fromiter(prefer, dtype=np.intp))
    preferred = preferred[(preferred >= 0) & (preferred < n)]
    rng = np.random.default_rng(seed)
    if preferred.size >= k:
        return np.sort(rng.choice(preferred, size=k, replace=False))
    rest = np.setdiff1d(np.arange(n, dtype=np.intp), preferred, assume_unique=True)
    extra = rng.choice(rest, size=min(k - preferred.size, rest.size), replace=False)
    return np.sort(np.concatenate([preferred, extra.astype(np.intp)]))
