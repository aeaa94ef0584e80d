"""Several reviewers at once, in separate processes, each with its own connection: none lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from synthetic import build_workspace

from pipeline.store import Workspace
from pipeline.store.reviews import latest_per_reviewer

WORKERS = 4
REVIEWS_EACH = 60

# Each reviewer is a separate interpreter (not multiprocessing: a spawned child re-imports the
# parent's __main__, which under AppTest is the app script). All wait for a start file, then
# write at once; each prints the review ids it made and how many undos took effect.
WORKER = """
import json, sys, time
from pathlib import Path
from pipeline.store import Workspace
from pipeline.store.reviews import add_review, undo_review
root, name, ids, go, n_reviews = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4], int(sys.argv[5])
ws = Workspace(Path(root))
while not Path(go).exists():
    time.sleep(0.005)
made, undone = [], 0
for n in range(n_reviews):
    iid = ids[n % len(ids)]
    made.append(add_review(ws, iid, name, "accept" if n % 3 else "reject", reason=str(n)))
    if n % 10 == 9 and undo_review(ws, iid, name) is not None:
        undone += 1
ws.close()
print(json.dumps([name, made, undone]))
"""


def test_concurrent_reviewers_lose_nothing(tmp_path: Path) -> None:
    built = build_workspace(tmp_path / "w", samples=200, coreset=40, reviewers=(), hostile=False)
    ids = built.instance_ids[:12]  # few instances: reviewers collide on the same rows
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(built.root),
                f"r{i}",
                ",".join(ids),
                str(go),
                str(REVIEWS_EACH),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    time.sleep(0.5)  # let every worker open its connection
    go.touch()
    results = []
    for p in procs:
        stdout, _ = p.communicate(timeout=180)
        assert p.returncode == 0
        results.append(json.loads(stdout))

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
