"""Honest exit codes for generate and judge: a run whose calls all (or mostly) failed exits
non-zero and says why; a dead server is found after a few calls (llm.breaker_errors), not after
the whole queue."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_anthropic import FakeAnthropic, Reply, error_reply
from test_llm_cli import run
from test_llm_samples import seed_workspace

from pipeline.cli import llm
from pipeline.store import Workspace

FAST = "[llm]\nmax_retries = 0\nbackoff_s = 0.01\nmax_backoff_s = 0.01\n"


def generate(root: Path) -> int:
    """`wavecurate generate` with the anthropic provider, one call at a time."""
    return run("generate", "-w", str(root), "--provider", "anthropic", "--concurrency", "1")


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _root(ws: Workspace, extra: str = "") -> Path:
    seed_workspace(ws)  # 12 coreset samples
    ws.config_path.write_text('[generate]\ntask_mix = { "code_repair" = 1.0 }\n' + FAST + extra)
    return ws.root


@pytest.mark.parametrize(
    ("setting", "error", "says", "calls"),
    [
        # breaker off: the whole queue was tried
        ("breaker_errors = 0\n", "boom", ("every call of this run failed (12 of 12)",), (12, 12)),
        # not the queue of 12 (at most one more was in flight)
        (
            "breaker_errors = 3\n",
            "server down",
            ("the last 3 calls failed in a row (llm.breaker_errors = 3)", "server down"),
            (3, 4),
        ),
    ],
)
def test_failing_calls_exit_2_and_say_why(
    ws: Workspace,
    fake_env: FakeAnthropic,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    error: str,
    says: tuple[str, ...],
    calls: tuple[int, int],
) -> None:
    """Every call failing stops the run with exit 2; with the breaker on, after N in a row."""
    root = _root(ws, setting)
    fake_env.script(*[error_reply(500, error)] * 12)
    assert generate(root) == llm.EXIT_STOPPED
    err = capsys.readouterr().err
    assert all(line in err for line in says), err
    assert calls[0] <= len(fake_env.requests) <= calls[1]


def test_a_share_of_failures_exits_2_below_it_exits_0(
    ws: Workspace, fake_env: FakeAnthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _root(ws, "breaker_errors = 0\nmax_failure_share = 0.5\nmin_failures = 3\n")
    # 6 of 12 fail (alternating): 50% >= 0.5 and 6 >= 3
    fake_env.script(*[error_reply(500, "boom") if i % 2 else Reply() for i in range(12)])
    code = generate(root)
    assert code == llm.EXIT_STOPPED
    assert "6 of 12 calls failed (50%, llm.max_failure_share = 0.5)" in capsys.readouterr().err
    # the re-run calls the 6 failed ones again; 2 fail: below min_failures, exit 0
    fake_env.script(error_reply(500, "boom"), error_reply(500, "boom"))
    code = generate(root)
    assert code == 0, capsys.readouterr().err


def test_a_closed_port_stops_after_a_few_calls(
    ws: Workspace, anthropic_at: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    anthropic_at(closed_port_url())
    root = _root(ws, "breaker_errors = 4\n")
    code = generate(root)
    assert code == llm.EXIT_STOPPED
    err = capsys.readouterr().err
    assert "the last 4 calls failed in a row" in err
    with Workspace(root) as reopened:
        rows = reopened.db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]
        last = reopened.last_runs()[-1]
    assert rows == 4  # four calls recorded (as errors), the other eight never made
    assert last["stage"] == "generate" and last["counts"]["call_errors"] == 4


def test_run_stops_at_a_generate_whose_calls_failed(
    ws: Workspace, anthropic_at: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli.steps import STAGES, Resources, run_steps

    anthropic_at(closed_port_url())
    root = _root(ws, "breaker_errors = 2\n")
    with open(root / "wavecurate.toml", "a") as fh:
        fh.write('[judge]\nprovider = "anthropic"\n')
    text = (
        (root / "wavecurate.toml")
        .read_text()
        .replace("[generate]\n", '[generate]\nprovider = "anthropic"\n')
    )
    (root / "wavecurate.toml").write_text(text)
    steps = [(n, f) for n, f in STAGES if n in ("generate", "judge")]
    with Workspace(root) as opened:
        assert run_steps(opened, Resources(opened), steps) == llm.EXIT_STOPPED
        stages = [r["stage"] for r in opened.last_runs()]
    err = capsys.readouterr().err
    assert "run: stopped at `generate` (exit 2)" in err
    assert "== generate" in err and "== judge" not in err  # the judge never started
    assert stages[-1] == "generate"
