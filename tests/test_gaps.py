"""Distance to the nearest coreset centre, against a brute-force loop."""

from __future__ import annotations

import numpy as np

from pipeline.gaps import nearest_centre_distance


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
