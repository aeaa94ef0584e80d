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


READER = """
import json, sys, time
from pathlib import Path
from pipeline.store import Workspace
from pipeline.store.queue import queue_rows
from pipeline.store.status import funnel
root, go, stop = sys.argv[1], sys.argv[2], sys.argv[3]
ws = Workspace(Path(root))
while not Path(go).exists():
    time.sleep(0.005)
seen = []
while not Path(stop).exists():
    queue_rows(ws)
    funnel(ws)
    seen.append(ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0])
seen.append(ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0])  # after every write
ws.close()
print(json.dumps(seen))
"""


def test_readers_see_a_consistent_workspace_while_reviewers_write(tmp_path: Path) -> None:
    """WAL: a reader (the Review page's queue, the Overview's funnel) reads throughout while
    reviewers write, without an error, and the review rows it sees only grow (undos add rows)."""
    built = build_workspace(tmp_path / "w", samples=200, coreset=40, reviewers=(), hostile=False)
    ids = built.instance_ids
    go, stop = tmp_path / "go", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(built.root), str(go), str(stop)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(built.root), f"r{i}", ",".join(ids), str(go), "40"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    time.sleep(0.5)
    go.touch()
    for p in writers:
        p.communicate(timeout=180)
        assert p.returncode == 0
    stop.touch()
    seen = json.loads(reader.communicate(timeout=180)[0])
    assert reader.returncode == 0 and len(seen) >= 2
    assert seen == sorted(seen)  # never goes back
    ws = Workspace(built.root)
    try:
        final = int(ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0])
    finally:
        ws.close()
    assert seen[-1] == final and final >= 3 * 40
