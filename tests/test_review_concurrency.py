"""Several reviewers at once, in separate processes, each with its own connection: none lost."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from synthetic import build_workspace

from pipeline.store import Workspace
from pipeline.store.reviews import add_review, latest_per_reviewer, undo_review

WORKERS = 4
REVIEWS_EACH = 60


def _reviewer(root: str, name: str, ids: list[str], barrier: Any, out: Any) -> None:
    ws = Workspace(Path(root))
    made: list[int] = []
    undone = 0
    barrier.wait()  # everyone writes at once
    for n in range(REVIEWS_EACH):
        iid = ids[n % len(ids)]
        made.append(add_review(ws, iid, name, "accept" if n % 3 else "reject", reason=f"{n}"))
        if n % 10 == 9 and undo_review(ws, iid, name) is not None:
            undone += 1
    ws.close()
    out.put((name, made, undone))


def test_concurrent_reviewers_lose_nothing(tmp_path: Path) -> None:
    built = build_workspace(tmp_path / "w", samples=200, coreset=40, reviewers=(), hostile=False)
    ids = built.instance_ids[:12]  # few instances: reviewers collide on the same rows
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_reviewer, args=(str(built.root), f"r{i}", ids, barrier, out))
        for i in range(WORKERS)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    ws = Workspace(built.root)
    try:
        rows = ws.db.execute("SELECT id, reviewer, verdict FROM reviews").fetchall()
        made = [i for _, ids_made, _ in results for i in ids_made]
        undos = sum(u for _, _, u in results)
        assert len(made) == WORKERS * REVIEWS_EACH
        assert len(set(made)) == len(made)  # every returned id is a distinct row
        assert len(rows) == len(made) + undos  # and every row is there
        assert {r[1] for r in rows} == {f"r{i}" for i in range(WORKERS)}
        per_reviewer = latest_per_reviewer(ws)
        assert {r.reviewer for r in per_reviewer} == {f"r{i}" for i in range(WORKERS)}
        assert ws.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        ws.close()
