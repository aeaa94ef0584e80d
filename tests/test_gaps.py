"""Distance to the nearest coreset centre, against a brute-force loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from synthetic import build_workspace

from pipeline.gaps import nearest_centre_distance
from pipeline.store import Workspace
from pipeline.store.vectors import (
    append_vectors,
    coreset_model_key,
    coreset_rows,
    insert_embedding_rows,
    kept_texts,
    projection_rows,
)


def test_nearest_centre_distance_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    v = rng.normal(size=(257, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    centres = np.array([0, 17, 99, 200])
    got = nearest_centre_distance(v, centres, chunk=50)
    want = [min(float(np.linalg.norm(row - v[c])) for c in centres) for row in v]
    assert np.allclose(got, want, atol=1e-5)
    assert np.all(got[centres] < 1e-3)  # a centre is at distance 0 from itself


def test_no_centres_gives_nan() -> None:
    v = np.eye(3, dtype=np.float32)
    assert np.isnan(nearest_centre_distance(v, np.array([], dtype=np.intp))).all()


def test_the_map_measures_distances_in_the_coresets_embedding_space(tmp_path: Path) -> None:
    """`app.data._nearest_centre` reads the vectors under the coreset's model key: centres are at
    0, every other sample at its brute-force nearest distance; without vectors, all NaN."""
    from app.data import _nearest_centre

    built = build_workspace(tmp_path / "w", samples=300, coreset=20)
    with Workspace(built.root) as ws:
        ids = [sid for sid, _, _ in projection_rows(ws)]
        centres = [sid for _, sid, _ in coreset_rows(ws)]
        assert np.isnan(_nearest_centre(ws, ids, centres)).all()  # no vectors yet
        kept, hashes, _ = kept_texts(ws, ws.config.embed.text)
        rng = np.random.default_rng(5)
        v = rng.normal(size=(len(kept), 16)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        first = append_vectors(ws, coreset_model_key(ws) or "", v)
        insert_embedding_rows(
            ws, coreset_model_key(ws) or "", [(h, first + i) for i, h in enumerate(hashes)]
        )
        got = _nearest_centre(ws, ids, centres)
    row = {sid: i for i, sid in enumerate(kept)}
    for sid, d in zip(ids, got, strict=True):
        want = min(float(np.linalg.norm(v[row[sid]] - v[row[c]])) for c in centres)
        assert abs(d - want) < 1e-3  # float32 dot products: sqrt(2 - 2cos) near 0
    assert all(got[ids.index(c)] < 1e-3 for c in centres)
