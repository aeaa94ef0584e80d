"""`wavecurate generate` and `wavecurate judge` invoked as commands, output checked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from fake_anthropic import FakeAnthropic, error_reply
from test_llm_samples import seed_workspace

from pipeline.cli import llm
from pipeline.store import Workspace
from pipeline.store.status import funnel


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="wavecurate")
    llm.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def root(ws: Workspace) -> Path:
    seed_workspace(ws)
    ws.config_path.write_text('[generate]\ntask_mix = { "code_repair" = 1.0 }\n')
    return ws.root


def test_generate_offline_prints_the_counts(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("generate", "--workspace", str(root)) == 0
    out = capsys.readouterr().out
    assert out == (
        "generate: 12 samples: 11 ok, 0 broke a rule, 1 skipped, 0 failed; "
        "12 calls, 0 from the cache, 0 tokens in, 0 out, $0.0000\n"
    )
    assert run("generate", "--workspace", str(root), "--json") == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["to_generate"] == 0 and counts["already_done"] == 12


def test_dry_run_prints_calls_and_cost(
    root: Path, fake_env: FakeAnthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("generate", "-w", str(root), "--provider", "anthropic", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("generate: would make 12 calls (0 answered from the cache) to ")
    assert "estimated $0.0" in out and fake_env.requests == []
    assert (
        run(
            "generate", "-w", str(root), "--provider", "anthropic", "--batch", "--dry-run", "--json"
        )
        == 0
    )
    batch = json.loads(capsys.readouterr().out)["estimate"]
    assert batch["calls"] == 12 and f"estimated ${batch['cost_usd'] * 2:.4f}" in out


def test_spend_limit_exits_2_and_says_how_to_resume(
    root: Path, fake_env: FakeAnthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_env.script(error_reply(402, "Your credit balance is too low"))
    code = run("generate", "-w", str(root), "--provider", "anthropic", "--concurrency", "1")
    assert code == llm.EXIT_STOPPED
    err = capsys.readouterr().err
    assert "stopped early" in err and "credit balance" in err and "to resume" in err


def test_missing_key_is_a_clear_error(root: Path) -> None:
    with pytest.raises(SystemExit, match="needs a key in \\$ANTHROPIC_API_KEY"):
        run("generate", "-w", str(root), "--provider", "anthropic")


@pytest.mark.slow
def test_judge_offline_with_the_embedding_model(
    root: Path, capsys: pytest.CaptureFixture[str], embedding_model: object
) -> None:
    assert run("generate", "-w", str(root)) == 0
    assert run("judge", "-w", str(root)) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    assert out.startswith("judge: 11 instances: ")
    ws = Workspace(root)
    f = funnel(ws)
    assert f["judged"] == 11 and f["accepted"] + f["rejected"] == 11
    ws.close()


def test_dry_run_needs_no_key(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("generate", "-w", str(root), "--provider", "anthropic", "--dry-run") == 0
    assert "would make 12 calls" in capsys.readouterr().out
