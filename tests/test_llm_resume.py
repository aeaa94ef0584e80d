"""Crash and resume: `wavecurate generate` in a real subprocess, killed with SIGKILL mid-run, then
run again. No finished call is repeated, no instance is duplicated, and a run with nothing left to
do makes no call. The same for a batch run: the second run resumes the batch the first created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_anthropic import FakeAnthropic
from test_llm_samples import SAMPLES, seed_workspace

from pipeline.store import Workspace

# the `generate` command alone (the full CLI imports every command's module)
RUNNER = (
    "import argparse, sys\n"
    "from pipeline.cli import llm\n"
    "p = argparse.ArgumentParser(); s = p.add_subparsers(); llm.add_parser(s)\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    ws = Workspace.init(root)
    seed_workspace(ws)
    ws.close()
    (root / "wavecurate.toml").write_text(
        '[llm]\ngenerator_model = "claude-haiku-4-5"\nbatch_poll_s = 0.05\nbackoff_s = 0.01\n'
    )
    return root


def _start(root: Path, fake: FakeAnthropic, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url}
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, "generate", "--workspace", str(root), "--provider",
         "anthropic", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"finished too early: {proc.communicate()}"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _count(root: Path, sql: str) -> int:
    ws = Workspace(root)
    try:
        return int(ws.db.execute(sql).fetchone()[0])
    finally:
        ws.close()


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def test_sigkill_mid_run_then_resume(tmp_path: Path, fake: FakeAnthropic) -> None:
    root = _workspace(tmp_path)
    fake.delay = 0.25
    proc = _start(root, fake, "--concurrency", "2")
    _wait_for(
        lambda: _count(root, "SELECT COUNT(*) FROM llm_calls WHERE status = 'ok'") >= 4, proc, 60
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    ws = Workspace(root)
    finished = {
        json.loads(r[0])["messages"][0]["content"]
        for r in ws.db.execute("SELECT request FROM llm_calls WHERE status = 'ok'")
    }
    made = ws.db.execute("SELECT COUNT(*) FROM instances").fetchone()[0]
    ws.close()
    assert 4 <= len(finished) < len(SAMPLES) and made == len(finished)

    sent_before = len(fake.requests)
    fake.delay = 0.0
    out = _finish(_start(root, fake))
    resent = [b["messages"][0]["content"] for b in fake.requests[sent_before:]]
    assert not finished & set(resent), "a finished call was repeated"
    assert len(resent) == len(SAMPLES) - len(finished)
    assert f"{len(finished)} from the cache" not in out  # they were never asked for again
    assert _count(root, "SELECT COUNT(*) FROM instances") == len(SAMPLES)
    assert _count(root, "SELECT COUNT(DISTINCT sample_id) FROM instances") == len(SAMPLES)

    sent = len(fake.requests)
    out = _finish(_start(root, fake))
    assert len(fake.requests) == sent, "a run with nothing to do made a call"
    assert out.startswith("generate: nothing new since the last run")


def test_sigkill_during_batch_polling_resumes_the_same_batch(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    root = _workspace(tmp_path)
    fake.batch_polls = 10**6  # never ends while the first process lives
    proc = _start(root, fake, "--batch")
    _wait_for(lambda: any(p.startswith("GET /v1/messages/batches/") for p in fake.paths), proc, 60)
    # the batch id was stored before the first poll
    assert _count(root, "SELECT COUNT(*) FROM batches WHERE status = 'in_progress'") == 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(fake.batch_creates) == 1
    assert _count(root, "SELECT COUNT(*) FROM llm_calls WHERE status = 'pending'") == len(SAMPLES)

    fake.batch_polls = 0
    _finish(_start(root, fake, "--batch"))
    assert len(fake.batch_creates) == 1, "the resumed run created another batch"
    assert fake.requests == []
    assert _count(root, "SELECT COUNT(*) FROM instances WHERE status != 'failed'") == len(SAMPLES)
    assert _count(root, "SELECT COUNT(*) FROM batches WHERE status = 'collected'") == 1
    assert _count(root, "SELECT COUNT(*) FROM llm_calls WHERE status = 'pending'") == 0


@pytest.mark.parametrize("how", ["forgotten", "abandoned"])
def test_a_batch_the_server_forgot_or_the_user_abandons_is_resubmitted_once(
    tmp_path: Path, fake: FakeAnthropic, how: str
) -> None:
    root = _workspace(tmp_path)
    fake.batch_polls = 10**6
    proc = _start(root, fake, "--batch")
    _wait_for(lambda: any(p.startswith("GET /v1/messages/batches/") for p in fake.paths), proc, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    [old] = list(fake.batches)
    if how == "forgotten":
        fake.forget()  # e.g. older than 29 days, or another organisation's key
        args: tuple[str, ...] = ("--batch",)
    else:
        args = ("--batch", "--abandon-batch", old)
    fake.batch_polls = 0
    _finish(_start(root, fake, *args))  # exit 0: was "run the same command to resume" forever
    assert [len(b["requests"]) for b in fake.batch_creates] == [len(SAMPLES), len(SAMPLES)]
    assert fake.cancels == ([] if how == "forgotten" else [old])
    lost = "lost" if how == "forgotten" else "abandoned"
    assert _count(root, f"SELECT COUNT(*) FROM batches WHERE status = '{lost}'") == 1
    assert _count(root, "SELECT COUNT(*) FROM instances WHERE status != 'failed'") == len(SAMPLES)
    _finish(_start(root, fake, "--batch"))
    assert len(fake.batch_creates) == 2 and fake.requests == []
