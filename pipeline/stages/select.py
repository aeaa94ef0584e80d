"""Coreset selection: exact KCenterGreedy (farthest-first traversal) and the `select` stage.

`kcenter_greedy(x, k)` starts from a given centre (or an existing selection) and then repeatedly
picks the row farthest from its nearest centre (euclidean distance; ties go to the lowest row
index), recording the covering radius after each pick. It is exact, not an approximation: the
picks are those of the textbook loop (one distance row per pick, a running minimum, `argmax`), made
fast on the CPU by lazy, blocked evaluation:

- Rows are cut into blocks. Each block keeps the minimum distance of its rows to the centres
  applied to it so far, the number of centres applied, and the largest of those minima.
- Distances only shrink as centres are added, so a block's largest minimum is an upper bound of its
  true current largest minimum: a max-heap over blocks keyed by it finds the farthest row lazily.
  The top block is brought up to date against all the centres it missed in one matrix product
  (block rows x missed centres); once the top block is up to date, its largest row is the argmax.
- Work is at most the textbook's N·k distance evaluations, done as matrix products instead of k
  passes over the whole matrix; memory is the matrix itself, the k centres and O(N) bookkeeping.

Distances use sklearn's formula and order of operations, sqrt(max(-2·x·c + |c|² + |x|², 0)), so
with `exact=True` (float64 arithmetic) the picks equal sklearn's `pairwise_distances` textbook
loop's index for index; the fast default computes in the input's dtype (float32 for embeddings),
where a pick can differ only when two candidates' distances agree to within float32 rounding.
With torch and a CUDA device, a GPU path does the textbook loop itself (one matrix-vector product
per pick on the GPU).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.config import SelectConfig
from pipeline.progress import Bar, Progress, no_progress
from pipeline.store import Workspace
from pipeline.store.vectors import KeptEmbeddings

__all__ = ["KCenterResult", "SelectResult", "kcenter_greedy", "resolve_k", "select_coreset"]

DEFAULT_BLOCK_ROWS = 256  # measured best on 100k x 384 float32 (128-512 within 10%)


@dataclass(frozen=True)
class KCenterResult:
    """The outcome of `kcenter_greedy`.

    indices: int64 (k,), row indices in pick order (distinct; existing picks first).
    radii: float64 (k,), the covering radius after each pick: the largest euclidean distance of
        any row to its nearest centre once that pick is a centre (non-increasing; 0 once k = N).
    """

    indices: npt.NDArray[np.int64]
    radii: npt.NDArray[np.float64]


def kcenter_greedy(
    x: npt.ArrayLike,
    k: int,
    *,
    first: int | Sequence[int] | npt.NDArray[np.integer[Any]] = 0,
    exact: bool = False,
    device: str = "auto",
    block_rows: int = DEFAULT_BLOCK_ROWS,
    on_pick: Callable[[int], None] | None = None,
) -> KCenterResult:
    """Pick `k` rows of `x` (N, d) by greedy k-center (farthest-first traversal).

    first: the first centre's row index, or a sequence of rows to keep as the first picks in
        order (an existing selection to extend); must be distinct and at most k of them.
    exact: compute in float64 (picks equal the float64 textbook loop's); else in x's own dtype
        (float32 embeddings: about 2.5x faster).
    device: "auto" (CUDA when torch sees one), "cpu" or "cuda".
    block_rows: rows per block of the lazy CPU evaluation (a speed knob, never changes picks
        beyond float rounding).
    on_pick: called with the number of picks made so far after each pick (progress bars).

    Returns a `KCenterResult` with `indices` (k,) and `radii` (k,). Raises ValueError for a k
    outside 1..N or a bad `first`.
    """
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"x must be 2-D (rows, dim), got shape {arr.shape}")
    n = int(arr.shape[0])
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), got {k}")
    forced = _forced_picks(first, n, k)
    if block_rows < 1:
        raise ValueError(f"block_rows must be positive, got {block_rows}")
    if exact or arr.dtype == np.float64:
        dtype: type[np.floating[Any]] = np.float64
    else:
        dtype = np.float32
    if _resolve_device(device) == "cuda":
        return _kcenter_torch(arr, k, forced, dtype, on_pick, device="cuda")
    return _kcenter_blocked(arr, k, forced, dtype, block_rows, on_pick)


def _forced_picks(first: Any, n: int, k: int) -> list[int]:
    if isinstance(first, int | np.integer):
        picks = [int(first)]
    else:
        picks = [int(i) for i in first]
        if not picks:
            raise ValueError("first must be a row index or a non-empty sequence of row indices")
    if len(picks) > k:
        raise ValueError(f"first holds {len(picks)} picks, more than k = {k}")
    if len(set(picks)) != len(picks):
        raise ValueError("first holds a row index twice")
    bad = [i for i in picks if not 0 <= i < n]
    if bad:
        raise ValueError(f"first holds row indices outside 0..{n - 1}: {bad[:5]}")
    return picks


def _resolve_device(device: str) -> str:
    """Where to pick: cuda when asked for (or auto) and torch sees a CUDA device, else cpu."""
    if device == "cpu":
        return "cpu"
    if device not in ("auto", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ValueError("device = 'cuda' but torch sees no CUDA device")
    return "cpu"


def _kcenter_blocked(
    x: npt.NDArray[Any],
    k: int,
    forced: list[int],
    dtype: type[np.floating[Any]],
    block: int,
    on_pick: Callable[[int], None] | None,
) -> KCenterResult:
    n, d = x.shape
    nblocks = -(-n // block)
    same = x.dtype == dtype

    def rows(s: int, e: int) -> npt.NDArray[Any]:
        return x[s:e] if same else np.asarray(x[s:e], dtype=dtype)

    sq = np.empty(n, dtype=dtype)  # squared norms, as sklearn's row_norms computes them
    for s in range(0, n, block):
        xb = rows(s, s + block)
        sq[s : s + block] = np.einsum("ij,ij->i", xb, xb)
    mind = np.full(n, np.inf, dtype=dtype)  # distance to the nearest applied centre; -1: a centre
    centres = np.empty((k, d), dtype=dtype)
    centre_sq = np.empty(k, dtype=dtype)
    applied = [0] * nblocks  # centres 0..applied[b]-1 are folded into block b's minima
    argmax_in = [0] * nblocks  # offset of block b's largest minimum (valid when up to date)
    heap: list[tuple[float, int]] = [(-math.inf, b) for b in range(nblocks)]  # (-bound, block)
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k, dtype=np.float64)

    def farthest(t: int) -> tuple[float, int]:
        """(distance, row) of the row farthest from centres 0..t-1, lowest row on ties."""
        while True:
            neg_bound, b = heap[0]
            a = applied[b]
            if a == t:  # up to date and no other block's bound is higher (or equal and lower)
                return -neg_bound, b * block + argmax_in[b]
            s, e = b * block, min(b * block + block, n)
            dist = rows(s, e) @ centres[a:t].T  # (block rows, missed centres)
            dist *= -2
            dist += centre_sq[a:t]
            dist += sq[s:e, None]
            nearest = dist.min(axis=1)
            np.maximum(nearest, 0, out=nearest)
            np.sqrt(nearest, out=nearest)
            mb = mind[s:e]
            np.minimum(mb, nearest, out=mb)
            j = int(mb.argmax())
            argmax_in[b] = j
            applied[b] = t
            heapq.heapreplace(heap, (-float(mb[j]), b))

    for t in range(k):
        if t < len(forced):
            p = forced[t]
            if t > 0:
                radii[t - 1] = max(farthest(t)[0], 0.0)
        else:
            r, p = farthest(t)
            radii[t - 1] = max(r, 0.0)
        picks[t] = p
        centres[t] = x[p]
        centre_sq[t] = sq[p]
        mind[p] = -1.0  # a centre is never picked again, even among exact duplicates
        if on_pick is not None:
            on_pick(t + 1)
    radii[k - 1] = max(farthest(k)[0], 0.0)
    return KCenterResult(indices=picks, radii=radii)


def _kcenter_torch(
    x: npt.NDArray[Any],
    k: int,
    forced: list[int],
    dtype: type[np.floating[Any]],
    on_pick: Callable[[int], None] | None,
    device: str = "cuda",
) -> KCenterResult:
    """The textbook loop in torch on `device` (the GPU path): one matrix-vector product per
    pick, picks and radii kept on the device until the end (no host round trip per pick)."""
    import torch

    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    dev = torch.device(device)
    n, d = x.shape
    xs = torch.empty((n, d), dtype=tdtype, device=dev)
    for s in range(0, n, 65536):  # upload in slices: no full host copy of a memory-mapped matrix
        xs[s : s + 65536] = torch.from_numpy(np.asarray(x[s : s + 65536])).to(dev, tdtype)
    sq = (xs * xs).sum(dim=1)
    mind = torch.full((n,), math.inf, dtype=tdtype, device=dev)
    picks = torch.empty(k, dtype=torch.int64, device=dev)
    radii = torch.empty(k, dtype=tdtype, device=dev)
    forced_t = torch.tensor(forced, dtype=torch.int64, device=dev)
    p = forced_t[0]
    with torch.inference_mode():
        for t in range(k):
            if t > 0:
                best = torch.argmax(mind)  # first maximal index on ties
                radii[t - 1] = mind[best].clamp_min(0)
                p = forced_t[t] if t < len(forced) else best
            picks[t] = p
            c = xs[p]
            dist = ((-2 * (xs @ c)) + sq[p]) + sq
            dist = dist.clamp_min_(0).sqrt_()
            torch.minimum(mind, dist, out=mind)
            mind[p] = -1.0
            if on_pick is not None:
                on_pick(t + 1)
        radii[k - 1] = mind.max().clamp_min(0)
    return KCenterResult(
        indices=picks.cpu().numpy().astype(np.int64),
        radii=radii.cpu().numpy().astype(np.float64),
    )


# -- the stage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectResult:
    """What a `select` run did.

    size: coreset size after the run; added: picks this run made (0 when current); kept: kept
    samples selected from; radius: covering radius of the whole coreset (euclidean, on unit
    vectors: 0..2); current: same inputs and settings as the coreset already stored; seconds:
    time spent picking.
    """

    size: int
    added: int
    kept: int
    radius: float
    current: bool
    seconds: float = 0.0


def resolve_k(n: int, *, k: int | None = None, fraction: float | None = None) -> int:
    """The coreset size for `n` kept samples: `k` itself or round(fraction·n), within 1..n."""
    if (k is None) == (fraction is None):
        raise ValueError("give exactly one of k and fraction")
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        k = max(1, round(fraction * n))
    assert k is not None
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return max(1, min(k, n))


def select_coreset(
    ws: Workspace,
    kept: KeptEmbeddings,
    *,
    cfg: SelectConfig,
    progress: Progress = no_progress,
) -> SelectResult:
    """Select a coreset of the kept samples' embeddings with KCenterGreedy and store it.

    Size: `cfg.k`, or `cfg.fraction` of the kept samples when k is 0; a k above the number of
    kept samples selects them all. Without `cfg.extend` the first centre is drawn by `cfg.seed`
    and the coreset is replaced; with it the stored coreset is kept, in order, and grown to k.
    Rank and the covering radius after each pick go to the `coreset` table; coverage against
    random and k-means++ baselines to the `coverage` metric. A run with the same inputs and
    settings as the stored coreset does nothing (`current=True`).

    Raises ValueError for bad sizes or a coreset that cannot be extended.
    """
    from pipeline.store.vectors import coreset_rows, replace_coreset

    ids, x = kept.ids, kept.vectors
    n = len(ids)
    if n == 0:
        raise ValueError("no kept samples to select from: run `wavecurate ingest` and `filter`")
    size = resolve_k(n, k=cfg.k) if cfg.k > 0 else resolve_k(n, fraction=cfg.fraction)
    existing = coreset_rows(ws)
    inputs = {"model_key": kept.model_key, "text": kept.text, "samples": kept.digest()}
    settings = {"k": size, "seed": cfg.seed, "exact": cfg.exact, "extend": cfg.extend}

    first: int | list[int]
    if cfg.extend and existing:
        position = {sid: i for i, sid in enumerate(ids)}
        lost = [sid for _, sid, _ in existing if sid not in position]
        if lost:
            raise ValueError(
                f"{len(lost)} coreset samples are no longer kept (e.g. {lost[0]}); "
                "run `wavecurate select` without --extend"
            )
        first = [position[sid] for _, sid, _ in existing]
        if len(first) >= size:  # nothing to add
            _update_coverage(ws, cfg, x, ids, existing, inputs)
            return SelectResult(len(existing), 0, n, existing[-1][2], current=True)
    else:
        first = int(np.random.default_rng(cfg.seed).integers(n))

    with ws.stage("select", settings, inputs, force=len(existing) != size) as run:
        if run.current:
            _update_coverage(ws, cfg, x, ids, existing, inputs)
            radius = existing[-1][2] if existing else 0.0
            return SelectResult(len(existing), 0, n, radius, current=True)
        bar = progress(total=size, desc="select", unit="pick")
        started = time.perf_counter()
        try:
            result = kcenter_greedy(
                x, size, first=first, exact=cfg.exact, device=cfg.device, on_pick=_ticker(bar)
            )
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        rows = [
            (rank, ids[int(i)], float(r))
            for rank, (i, r) in enumerate(zip(result.indices, result.radii, strict=True))
        ]
        replace_coreset(ws, rows, kept.model_key)
        added = size - (len(first) if isinstance(first, list) else 0)
        run.counts.update(
            {"size": size, "added": added, "kept": n, "radius": rows[-1][2], "seconds": seconds}
        )
        _update_coverage(ws, cfg, x, ids, rows, inputs)
    return SelectResult(size, added, n, rows[-1][2], current=False, seconds=seconds)


def _ticker(bar: Bar) -> Callable[[int], None]:
    def tick(_picks: int) -> None:
        bar.update(1)

    return tick


def _update_coverage(
    ws: Workspace,
    cfg: SelectConfig,
    x: npt.NDArray[Any],
    ids: list[str],
    rows: Sequence[tuple[int, str, float]],
    inputs: dict[str, Any],
) -> None:
    """Measure and store the `coverage` metric unless it is current for these picks."""
    from pipeline.stages.coverage import measure_coverage

    seed = cfg.seed
    if not rows:
        return
    params = {
        "inputs": inputs,
        "picks": hashlib.sha256("\n".join(sid for _, sid, _ in rows).encode()).hexdigest()[:16],
        "seed": seed,
        "delta": cfg.delta,
        "baselines": cfg.baselines,
    }
    old = ws.get_metric("coverage")
    if isinstance(old, dict) and old.get("params") == params:
        return
    position = {sid: i for i, sid in enumerate(ids)}
    picks = np.array([position[sid] for _, sid, _ in rows], dtype=np.int64)
    value = measure_coverage(x, picks, seed=seed, delta=cfg.delta, baselines=cfg.baselines)
    value["params"] = params
    ws.set_metric("coverage", value)
