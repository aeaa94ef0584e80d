"""The project stage: UMAP of the kept samples' embeddings to 2-D, for the map.

UMAP (cosine metric, seeded: deterministic and single-threaded) is fitted on at most
`project.fit_sample` samples drawn by the seed and applied to the rest with `transform`, so the cost
stays bounded at any scale. One (x, y) per kept sample goes to the `projection` table.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.config import ProjectConfig
from pipeline.progress import Progress, no_progress
from pipeline.store import Workspace
from pipeline.store.vectors import KeptEmbeddings

__all__ = ["ProjectResult", "project", "project_samples"]

TRANSFORM_ROWS = 10_000  # rows per `transform` call


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
    else on fit_sample rows drawn by the seed; the other rows go through `transform`. The same
    input and settings give the same output. Fewer than 3 rows get fixed coordinates.
    """
    n = int(x.shape[0])
    if n < 3:
        return np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32), n
    import umap

    rng = np.random.default_rng(seed)
    if n > fit_sample > 0:
        fit_rows = np.sort(rng.choice(n, size=fit_sample, replace=False))
    else:
        fit_rows = np.arange(n)
    m = len(fit_rows)
    reducer = umap.UMAP(
        n_components=2,
        metric="cosine",
        n_neighbors=max(2, min(n_neighbors, m - 1)),
        min_dist=min_dist,
        random_state=seed,
        init="spectral" if m > 10 else "random",
    )
    out = np.empty((n, 2), dtype=np.float32)
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state": seeded UMAP is single-threaded, as we want
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
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
    inputs = {"model_key": kept.model_key, "text": kept.text, "samples": kept.digest()}
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
