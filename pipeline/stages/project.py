"""The project stage: UMAP of the kept samples' embeddings to 2-D, for the map.

UMAP (cosine metric, seeded: deterministic and single-threaded) is fitted on at most
`project.fit_sample` samples drawn by the seed and applied to the rest with `transform`, so the cost
stays bounded at any scale; `N_EPOCHS` layout epochs at every size. One (x, y) per kept sample goes to the `projection` table.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.config import ProjectConfig
from pipeline.progress import Progress, no_progress
from pipeline.store import Workspace
from pipeline.store.vectors import KeptEmbeddings

__all__ = ["ProjectResult", "project", "project_samples"]

TRANSFORM_ROWS = 10_000  # rows per `transform` call
# Up to this many fitted rows, the nearest neighbours come from one exact cosine matrix product
# (blocked) instead of UMAP's NN-descent, which costs more (and compiles more numba) at this size.
EXACT_KNN_ROWS = 20_000
# Layout epochs. UMAP's own default is 500 up to 10,000 fitted rows and 200 above; on the demo's
# 4,562 stdlib samples 200 epochs took 35 s against 67 s for 500 (after numba's compilation) and
# kept the map as readable: same clusters and satellites, trustworthiness (15 cosine neighbours,
# 2,000 rows) 0.934 against 0.932.
N_EPOCHS = 200


def exact_knn(
    x: npt.NDArray[Any], k: int, *, block_rows: int = 2048
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The k nearest rows of each row of `x` (N, d) by cosine distance, itself first:
    ((N, k) indices, (N, k) float32 distances in 0..2), ascending distance."""
    xs = np.asarray(x, dtype=np.float32)
    xs = xs / np.maximum(np.linalg.norm(xs, axis=1, keepdims=True), np.float32(1e-12))
    n = xs.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    for s in range(0, n, block_rows):
        sim = xs[s : s + block_rows] @ xs.T
        rows = np.arange(sim.shape[0])
        sim[rows, rows + s] = np.inf  # itself first, whatever the rounding
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        d = 1.0 - np.take_along_axis(sim, top, axis=1)
        d[:, 0] = 0.0
        idx[s : s + block_rows] = top
        dist[s : s + block_rows] = np.clip(d, 0.0, 2.0)
    return idx, dist


def numba_cache_dir() -> Path:
    """Where UMAP's compiled numba code is kept between runs: `$NUMBA_CACHE_DIR` when set, else
    `$XDG_CACHE_HOME/wavecurate/numba` (default `~/.cache/wavecurate/numba`)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wavecurate" / "numba"


def _import_umap() -> Any:
    """`umap`, with its module-level numba functions compiled once per machine, not per process.

    umap-learn declares them without `cache=True`, so each process compiled them again (most of
    a small fit: 55 s against 1.9 s for 600 rows on the loaded 2-core machine, the second process
    reading the cache). Caching is switched on for those dispatchers, into `numba_cache_dir()`
    (numba keys each entry by the source file's path, size and time, and the CPU).
    """
    folder = numba_cache_dir()
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    import numba
    import umap
    import umap.layouts
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.registry import CPUDispatcher

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache: compile as before
        return umap
    numba.config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]  # numba read the variable when it was first imported
    for module in (umap.umap_, umap.layouts, umap.spectral, umap.utils):
        for value in list(vars(module).values()):
            cache = getattr(value, "_cache", None)
            if isinstance(value, CPUDispatcher) and type(cache).__name__ == "NullCache":
                value.enable_caching()
    return umap


@dataclass(frozen=True)
class ProjectResult:
    """What a project run did: samples projected, how many the fit used, whether it was current
    (same inputs and settings as the stored projection: nothing done), seconds spent."""

    projected: int
    fitted: int
    current: bool
    seconds: float = 0.0


def project(
    x: npt.NDArray[Any],
    *,
    fit_sample: int = 50_000,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float32], int]:
    """2-D coordinates of the rows of `x` (N, d): ((N, 2) float32, rows the fit used).

    UMAP with the cosine metric and `random_state=seed` is fitted on all rows when N <= fit_sample,
    else on fit_sample rows drawn by the seed; the other rows go through `transform`. When all rows
    are fitted and N <= EXACT_KNN_ROWS, the neighbour graph is the exact one (`exact_knn`). The same
    input and settings give the same output. Fewer than 3 rows get fixed coordinates.
    """
    n = int(x.shape[0])
    if n < 3:
        return np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32), n
    umap = _import_umap()

    rng = np.random.default_rng(seed)
    if n > fit_sample > 0:
        fit_rows = np.sort(rng.choice(n, size=fit_sample, replace=False))
    else:
        fit_rows = np.arange(n)
    m = len(fit_rows)
    k = max(2, min(n_neighbors, m - 1))
    extra: dict[str, Any] = {}
    if m == n and m <= EXACT_KNN_ROWS:
        # no `transform` follows, so UMAP needs no search index of its own
        knn_idx, knn_dist = exact_knn(x, k)
        extra["precomputed_knn"] = (knn_idx, knn_dist, None)
    reducer = umap.UMAP(
        n_components=2,
        metric="cosine",
        n_neighbors=k,
        min_dist=min_dist,
        random_state=seed,
        init="spectral" if m > 10 else "random",
        n_epochs=N_EPOCHS,
        **extra,
    )
    out = np.empty((n, 2), dtype=np.float32)
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state": seeded UMAP is single-threaded, as we want
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        # "precomputed_knn ... no search index": we never transform in that case
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")
        out[fit_rows] = reducer.fit_transform(np.asarray(x[fit_rows], dtype=np.float32))
        if m < n:
            rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
            for s in range(0, len(rest), TRANSFORM_ROWS):
                rows = rest[s : s + TRANSFORM_ROWS]
                out[rows] = reducer.transform(np.asarray(x[rows], dtype=np.float32))
    return out, m


def project_samples(
    ws: Workspace,
    kept: KeptEmbeddings,
    *,
    cfg: ProjectConfig,
    progress: Progress = no_progress,
) -> ProjectResult:
    """Project every kept sample to 2-D and store it; current (nothing done) when the stored
    projection was made from the same embeddings and settings, unless `cfg.force`."""
    from pipeline.store.vectors import count_projection, replace_projection

    if cfg.fit_sample < 1:
        raise ValueError(f"project.fit_sample must be positive, got {cfg.fit_sample}")
    ids = kept.ids
    inputs = {"model_key": kept.model_key, "text": kept.text, "samples": kept.digest(),
              "n_epochs": N_EPOCHS}  # fmt: skip
    force = cfg.force or count_projection(ws) != len(ids)
    with ws.stage("project", cfg, inputs, force=force) as run:
        if run.current:
            return ProjectResult(len(ids), 0, current=True)
        bar = progress(total=len(ids), desc="project", unit="sample")
        started = time.perf_counter()
        xy, fitted = project(
            kept.vectors,
            fit_sample=cfg.fit_sample,
            n_neighbors=cfg.n_neighbors,
            min_dist=cfg.min_dist,
            seed=cfg.seed,
        )
        bar.update(len(ids))
        bar.close()
        seconds = time.perf_counter() - started
        replace_projection(
            ws,
            ((sid, float(a), float(b)) for sid, (a, b) in zip(ids, xy, strict=True)),
            kept.model_key,
        )
        run.counts.update({"projected": len(ids), "fitted": fitted, "seconds": seconds})
    return ProjectResult(len(ids), fitted, current=False, seconds=seconds)
