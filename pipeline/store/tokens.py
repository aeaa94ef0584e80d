"""The app's change tokens: cheap fingerprints of the workspace its caches key on."""

from __future__ import annotations

from pipeline.store import Workspace

__all__ = ["change_tokens"]


def change_tokens(ws: Workspace) -> tuple[tuple[int | str, ...], tuple[int, ...]]:
    """Two cheap fingerprints for caches: (pipeline data, human decisions).

    The first changes when a stage writes (samples, vectors, instances, judgments, flags, runs,
    metrics, execution verdicts, the verify gate); the second when a review, a flag clearance, a
    reviewer flag or a calibration draw is added. Each is a handful of index lookups, so the app
    reads them on every rerun.
    """
    db = ws.db
    data = db.execute(
        "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM samples), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM projection), "
        "(SELECT COALESCE(MAX(rank), -1) FROM coreset), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM instances), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM judge_results), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM flags), "
        "(SELECT COALESCE(MAX(id), 0) FROM runs), "
        "(SELECT COALESCE(MAX(updated_at), '') FROM metrics), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM executions), "
        "(SELECT COALESCE((SELECT value FROM meta WHERE key = 'verify_gate'), '1'))"
    ).fetchone()
    human = db.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM reviews), "
        "(SELECT COALESCE(MAX(id), 0) FROM flag_clearances), "
        "(SELECT COALESCE(MAX(id), 0) FROM review_flags), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM calibration_draws)"
    ).fetchone()
    return tuple(data), tuple(int(v) for v in human)
