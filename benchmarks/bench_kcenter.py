"""KCenterGreedy: wavecurate's lazy blocked implementation against the textbook loop and the floor
of any method that rescans all N rows for each pick, measured in one run on this machine.

    .venv/bin/python benchmarks/bench_kcenter.py                       # N=100,000 d=384 k=5,000
    .venv/bin/python benchmarks/bench_kcenter.py --n 20000 --k 1000    # a quick look

- textbook: each pick computes sklearn's `pairwise_distances` from the new centre to every row,
  takes a running minimum and `argmax`. It is timed over the first `--textbook-picks` picks and
  extrapolated linearly to k (each of its picks costs the same), as the output says.
- rescan floor: k matrix-vector products over the whole matrix (one per pick, nothing else), the
  least any method that rescans all N rows per pick must spend; timed in full.
- memory: peak of numpy allocations (tracemalloc) during the call, against the matrix's size.
- every method runs `--repeat` times (default 3) and the best run counts: other processes on a
  shared machine only ever slow a run down. All runs are printed.

Data: float32 unit vectors, Gaussian (`random`: the hardest case, all distances alike) or a
mixture of 200 Gaussian clusters (`clustered`: closer to real embeddings).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import pairwise_distances

from pipeline.stages.select import kcenter_greedy


def make_data(n: int, d: int, kind: str, seed: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    if kind == "random":
        x = rng.standard_normal((n, d), dtype=np.float32)
    else:
        centres = rng.standard_normal((200, d), dtype=np.float32)
        x = centres[rng.integers(200, size=n)]
        x += 0.7 * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def textbook(x: npt.NDArray[Any], picks: int, first: int) -> tuple[list[int], float]:
    """The textbook loop for `picks` picks: (pick order, seconds)."""
    started = time.perf_counter()
    order = [first]
    mind = pairwise_distances(x[first : first + 1], x).ravel()
    for _ in range(picks - 1):
        p = int(np.argmax(mind))
        order.append(p)
        mind = np.minimum(mind, pairwise_distances(x[p : p + 1], x).ravel())
    return order, time.perf_counter() - started


def rescan_floor(x: npt.NDArray[np.float32], centres: npt.NDArray[np.int64]) -> float:
    """Seconds for one matrix-vector product over all rows per centre."""
    started = time.perf_counter()
    for c in centres:
        x @ x[c]
    return time.perf_counter() - started


def timed(fn: Any, repeat: int) -> tuple[Any, list[float], int]:
    """(last result, seconds of each run, peak bytes numpy allocated in a run)."""
    times: list[float] = []
    peak = 0
    out = None
    for _ in range(repeat):
        tracemalloc.start()
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return out, times, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--k", type=int, default=5_000)
    ap.add_argument("--data", choices=["random", "clustered"], default="random")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each method; best is shown")
    ap.add_argument("--textbook-picks", type=int, default=100, help="textbook picks timed")
    ap.add_argument("--no-exact", action="store_true", help="skip the float64 exact run")
    args = ap.parse_args()

    x = make_data(args.n, args.d, args.data, args.seed)
    n, k, r = args.n, args.k, args.repeat
    mb = x.nbytes / 2**20
    print(f"KCenterGreedy, N={n:,} d={args.d} k={k:,}, {args.data} float32 unit vectors")
    print(f"matrix: {mb:,.0f} MiB; first centre: row 0; CPU only; best of {r} runs each\n")

    fast, t_fast, mem_fast = timed(lambda: kcenter_greedy(x, k, first=0, device="cpu"), r)
    rows: list[tuple[str, list[float], str]] = [
        ("wavecurate kcenter_greedy (float32)", t_fast, f"peak {mem_fast / 2**20:,.0f} MiB")
    ]
    exact = None
    if not args.no_exact:
        exact, t_exact, mem_exact = timed(
            lambda: kcenter_greedy(x, k, first=0, exact=True, device="cpu"), r
        )
        rows.append(
            ("wavecurate kcenter_greedy exact=True", t_exact, f"peak {mem_exact / 2**20:,.0f} MiB")
        )

    _, t_floor, _ = timed(lambda: rescan_floor(x, fast.indices), r)
    rows.append(("rescan floor: k matvecs over all rows", t_floor, "k matvecs, measured in full"))

    m = min(args.textbook_picks, k)
    (order, _), t_part, _ = timed(lambda: textbook(x, m, 0), r)
    t_book_runs = [t * k / m for t in t_part]
    rows.append(
        ("textbook (sklearn pairwise_distances)", t_book_runs, f"{m} picks timed, x{k / m:g}")
    )

    t_book, floor = min(t_book_runs), min(t_floor)
    print(f"{'method':<40} {'best s':>8} {'runs s':>22} {'vs textbook':>12} {'vs floor':>9}  note")
    for name, runs, note in rows:
        best = min(runs)
        every = " ".join(f"{t:.1f}" for t in runs)
        print(
            f"{name:<40} {best:>8.2f} {every:>22} {t_book / best:>11.1f}x "
            f"{floor / best:>8.2f}x  {note}"
        )

    print()
    ref = exact.indices if exact is not None else fast.indices
    label = "exact=True" if exact is not None else "float32 default"
    agree = bool(np.array_equal(np.asarray(order), ref[:m]))
    print(f"textbook's first {m} picks equal {label}'s: {agree}")
    if exact is not None:
        differ = np.nonzero(exact.indices != fast.indices)[0]
        first_diff = "none" if len(differ) == 0 else f"at pick {int(differ[0]):,}"
        print(f"float32 default vs exact=True: first differing pick {first_diff}")
    print(f"covering radius after 1 pick {fast.radii[0]:.4f}, after k picks {fast.radii[-1]:.4f}")
    print(
        f"memory: peak {mem_fast / 2**20:,.0f} MiB of numpy allocations vs the {mb:,.0f} MiB matrix"
    )


if __name__ == "__main__":
    main()
