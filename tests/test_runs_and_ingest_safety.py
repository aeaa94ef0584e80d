"""Runs left `running` by a killed process become `interrupted` when the workspace next opens
(not those of a live process); an ingest keeps what it read when its source fails midway, and
keeps a bounded number of problems in memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.records import Sample
from pipeline.sources import KEPT_PROBLEMS, IngestProblem, Item, Tally
from pipeline.stages.ingest import ingest
from pipeline.store import Workspace

ROOT = Path(__file__).resolve().parent.parent

HOLDER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from pipeline.store import Workspace
    ws = Workspace(sys.argv[1])
    with ws.run("generate"):
        print("started", flush=True)
        time.sleep(600)
    """
)


def _status(root: Path) -> list[tuple[str, str]]:
    with Workspace(root) as ws:
        rows = ws.db.execute("SELECT stage, status FROM runs ORDER BY id").fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_killed_run_is_interrupted_a_live_one_stays_running(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "started\n"
        assert _status(root) == [("generate", "running")]  # alive: left alone
        with Workspace(root) as ws, ws.write():  # a run of another host is never touched
            ws.db.execute(
                "INSERT INTO runs(stage, started_at, status, pid, host, boot_id) "
                "VALUES ('judge', 'x', 'running', 1, 'elsewhere', 'b')"
            )
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert _status(root) == [("generate", "interrupted"), ("judge", "running")]
    with Workspace(root) as ws:
        row = ws.db.execute("SELECT finished_at FROM runs WHERE stage = 'generate'").fetchone()
        assert row[0] is not None
        assert [r["status"] for r in ws.last_runs()] == ["interrupted"]


def test_a_run_from_an_earlier_boot_is_interrupted(tmp_path: Path) -> None:
    import socket

    with Workspace.init(tmp_path / "ws") as ws, ws.write():
        ws.db.execute(
            "INSERT INTO runs(stage, started_at, status, pid, host, boot_id) "
            "VALUES ('embed', 'x', 'running', ?, ?, 'an-earlier-boot')",
            (os.getpid(), socket.gethostname()),  # even a pid alive now
        )
    assert _status(tmp_path / "ws") == [("embed", "interrupted")]


def _samples(n: int) -> Iterator[Item]:
    for i in range(n):
        code = f"def f{i}(x):\n    return x + {i}\n"
        yield Sample("tree", "python", "r", f"f{i}.py", f"f{i}", 1, f"Doc {i}.", code, code)


def test_ingest_keeps_what_it_read_when_the_source_fails_midway(tmp_path: Path) -> None:
    def source() -> Iterator[Item]:
        yield from _samples(1234)
        raise MemoryError("a pathological file")

    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(MemoryError):
            ingest(ws, source(), cfg=IngestConfig("tree", ["x"]))
        assert ws.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1234
        run = ws.db.execute("SELECT status, counts FROM runs").fetchone()
        assert run["status"] == "failed" and '"added": 1234' in run["counts"]


def test_ingest_commits_as_it_reads(tmp_path: Path) -> None:
    """A reader in another connection sees the first batches while the source still yields."""
    seen: list[int] = []
    root = tmp_path / "ws"
    Workspace.init(root).close()
    reader = Workspace(root)

    def source() -> Iterator[Item]:
        for i, item in enumerate(_samples(1500)):
            if i == 1100:
                seen.append(reader.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
            yield item

    with Workspace(root) as ws:
        report = ingest(ws, source(), cfg=IngestConfig("tree", ["x"]))
    reader.close()
    assert report.added == 1500
    assert seen and seen[0] >= 1000  # two batches of 500 were stored before sample 1100


def test_the_tally_keeps_the_first_problems_and_counts_the_rest() -> None:
    tally = Tally()
    for i in range(KEPT_PROBLEMS + 7):
        tally.add(IngestProblem("f.jsonl", i + 1, "malformed JSON"))
    assert len(tally.problems) == KEPT_PROBLEMS and tally.problems_dropped == 7
    assert tally.skipped["malformed JSON"] == KEPT_PROBLEMS + 7
    assert tally.problems[-1].line == KEPT_PROBLEMS
