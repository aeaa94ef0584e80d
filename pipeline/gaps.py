"""Where the coreset covers the pool thinly: each sample's distance to its nearest coreset centre.

Pure numpy over L2-normalised vectors; the Map page colours by it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def nearest_centre_distance(
    vectors: npt.NDArray[np.float32], centres: npt.NDArray[np.intp], *, chunk: int = 8192
) -> npt.NDArray[np.float64]:
    """For each row of `vectors` (n, dim; unit length), the euclidean distance (0 to 2) to the
    nearest of the rows `centres` (indices into `vectors`). Computed in chunks of `chunk` rows,
    so memory stays at chunk × len(centres) floats. All NaN when there are no centres."""
    n = vectors.shape[0]
    out = np.full(n, np.nan, dtype=np.float64)
    if n == 0 or centres.size == 0:
        return out
    c = np.asarray(vectors[centres], dtype=np.float32)
    for start in range(0, n, chunk):
        block = np.asarray(vectors[start : start + chunk], dtype=np.float32)
        best = (block @ c.T).max(axis=1).astype(np.float64)
        out[start : start + block.shape[0]] = np.sqrt(np.clip(2.0 - 2.0 * best, 0.0, 4.0))
    return out
