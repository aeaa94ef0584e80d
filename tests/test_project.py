"""UMAP projection: shape, determinism, fit-on-a-sample, and the stage's skip."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from pipeline.config import ProjectConfig
from pipeline.embedding import model_key
from pipeline.records import Sample
from pipeline.stages.embed import kept_texts, load_kept_embeddings
from pipeline.stages.project import project, project_samples
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples, kept_ids
from pipeline.store.status import funnel
from pipeline.store.vectors import append_vectors, insert_embedding_rows, projection_rows

pytestmark = pytest.mark.slow  # UMAP compiles its numba kernels once per process (~30 s)


def clusters(n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((4, 16))
    x = centres[rng.integers(4, size=n)] + 0.3 * rng.standard_normal((n, 16))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_projection_shape_and_determinism() -> None:
    x = clusters(150)
    xy, fitted = project(x, seed=3)
    assert xy.shape == (150, 2) and xy.dtype == np.float32 and fitted == 150
    assert np.isfinite(xy).all()
    again, _ = project(x, seed=3)
    np.testing.assert_array_equal(xy, again)


def test_fit_on_a_sample_and_transform_the_rest() -> None:
    x = clusters(200, seed=1)
    xy, fitted = project(x, fit_sample=120, seed=0)
    assert fitted == 120 and xy.shape == (200, 2) and np.isfinite(xy).all()
    again, _ = project(x, fit_sample=120, seed=0)
    np.testing.assert_array_equal(xy, again)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_inputs(n: int) -> None:
    xy, fitted = project(clusters(n) if n else np.zeros((0, 16), np.float32))
    assert xy.shape == (n, 2) and fitted == n


def test_project_stage_stores_one_point_per_kept_sample(ws: Workspace) -> None:
    samples = [
        Sample("tree", "python", "r", f"m{i}.py", f"f{i}", 1, "", f"def f{i}(): return {i}", "")
        for i in range(80)
    ]
    insert_samples(ws, samples)
    key = model_key(ws.config.embed)
    _, hashes, _ = kept_texts(ws, ws.config.embed.text)
    append_vectors(ws, key, clusters(80))
    insert_embedding_rows(ws, key, [(h, i) for i, h in enumerate(hashes)])

    done = project_samples(
        ws, load_kept_embeddings(ws, ws.config.embed), cfg=ProjectConfig(fit_sample=60)
    )
    assert (done.projected, done.fitted, done.current) == (80, 60, False)
    rows = projection_rows(ws)
    assert [r[0] for r in rows] == kept_ids(ws)
    assert funnel(ws)["projected"] == 80
    assert project_samples(
        ws, load_kept_embeddings(ws, ws.config.embed), cfg=ProjectConfig(fit_sample=60)
    ).current
    assert projection_rows(ws) == rows
    redo = project_samples(
        ws, load_kept_embeddings(ws, ws.config.embed), cfg=ProjectConfig(fit_sample=60, seed=1)
    )
    assert not redo.current and projection_rows(ws) != rows
