"""A lasso over the whole map: `pipeline.mapsel.select_points` against the textbook per-point
crossing-number test, measured side by side in one run on this machine.

    .venv/bin/python benchmarks/bench_mapsel.py                  # 100,000 points, 400-vertex lasso
    .venv/bin/python benchmarks/bench_mapsel.py --n 1000000     # the map's scale limit

- textbook: one point at a time, every polygon edge in Python (what a page would do without
  numpy). It is timed over the first `--textbook-points` points and extrapolated linearly to N
  (each point costs the same), as the output says.
- ours: `select_points` on all N points (vectorised over points, one pass per edge).
Both must agree on the points they timed; the best of `--repeat` runs counts (other processes on
a shared machine only slow a run down). Aim: well under a second at 100,000 points.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402

from pipeline.mapsel import select_points  # noqa: E402


def textbook(px: list[float], py: list[float], x: float, y: float) -> bool:
    """Crossing-number test for one point."""
    inside = False
    j = len(px) - 1
    for i in range(len(px)):
        crosses = (py[i] > y) != (py[j] > y)
        if crosses and x < px[i] + (y - py[i]) * (px[j] - px[i]) / (py[j] - py[i]):
            inside = not inside
        j = i
    return inside


def best_of(repeat: int, fn: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="points (default 100,000)")
    ap.add_argument("--vertices", type=int, default=400, help="lasso vertices (default 400)")
    ap.add_argument("--textbook-points", type=int, default=2_000, help="points timed, then scaled")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=args.n), rng.normal(size=args.n)
    angle = np.linspace(0, 2 * np.pi, args.vertices, endpoint=False)
    px, py = np.cos(angle).tolist(), np.sin(angle).tolist()
    lasso = {"x": px, "y": py}

    m = min(args.textbook_points, args.n)
    sub_x, sub_y = x[:m].tolist(), y[:m].tolist()
    ref = [textbook(px, py, a, b) for a, b in zip(sub_x, sub_y, strict=True)]
    mask = select_points(x, y, {"lasso": [lasso]})
    if mask[:m].tolist() != ref:
        print("MISMATCH: select_points disagrees with the textbook test")
        return 1

    t_book = best_of(
        args.repeat, lambda: [textbook(px, py, a, b) for a, b in zip(sub_x, sub_y, strict=True)]
    )
    t_book_all = t_book * args.n / m
    t_ours = best_of(args.repeat, lambda: select_points(x, y, {"lasso": [lasso]}))
    print(f"N={args.n:,} points, lasso of {args.vertices} vertices, best of {args.repeat}")
    print(f"textbook  {t_book_all:9.3f} s  (timed on {m:,} points, scaled to N)")
    print(f"ours      {t_ours:9.3f} s  ({int(mask.sum()):,} selected)")
    print(f"ratio     {t_book_all / t_ours:9.1f}x faster than the textbook loop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
