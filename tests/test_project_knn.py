"""The exact neighbour graph the project stage hands UMAP for small pools."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from pipeline.stages.project import exact_knn, project


def test_exact_knn_matches_brute_force_cosine() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 16)).astype(np.float32)
    idx, dist = exact_knn(x, 7, block_rows=64)  # several blocks, a ragged last one
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=7, metric="cosine").fit(x).kneighbors(x)
    assert idx.shape == dist.shape == (300, 7)
    assert (idx[:, 0] == np.arange(300)).all() and (dist[:, 0] == 0).all()
    assert (np.diff(dist, axis=1) >= -1e-6).all()
    np.testing.assert_allclose(dist[:, 1:], ref_dist[:, 1:], atol=1e-5)
    assert (idx[:, 1:] == ref_idx[:, 1:]).mean() > 0.99  # ties may order differently


def test_project_with_the_exact_graph_keeps_clusters_apart() -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((3, 32)).astype(np.float32) * 4
    labels = np.repeat(np.arange(3), 60)
    x = centres[labels] + rng.standard_normal((180, 32)).astype(np.float32) * 0.3
    xy, fitted = project(x)
    assert fitted == 180 and xy.shape == (180, 2)
    means = np.stack([xy[labels == c].mean(axis=0) for c in range(3)])
    spread = max(float(np.linalg.norm(xy[labels == c] - means[c], axis=1).mean()) for c in range(3))
    gaps = [np.linalg.norm(means[a] - means[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 2 * spread
    again, _ = project(x)
    np.testing.assert_array_equal(xy, again)
