"""The judge stage: verdicts computed from per-criterion answers, failures recorded, resumable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anthropic
import pytest
from fake_anthropic import FakeAnthropic, Reply
from test_llm_samples import SAMPLES, lexical_embed, seed_workspace

from pipeline.config import GenerateConfig, JudgeConfig, LLMConfig
from pipeline.llm.anthropic import AnthropicProvider
from pipeline.llm.offline.generator import OfflineGenerator
from pipeline.llm.offline.judge import OfflineJudge
from pipeline.llm.stage import LLM
from pipeline.prompts import load_prompts
from pipeline.records import Task
from pipeline.stages.generate import generate_instances
from pipeline.stages.judge import judge_instances
from pipeline.store import Workspace
from pipeline.store.status import funnel

MODEL = "claude-haiku-4-5"
CRITERIA = [c.id for c in load_prompts().tasks[Task.GENERATION].criteria]


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def remote(fake: FakeAnthropic, concurrency: int = 4) -> AnthropicProvider:
    c = anthropic.Anthropic(api_key="k", base_url=fake.url, max_retries=0, timeout=10)
    return AnthropicProvider(c, concurrency=concurrency, backoff_s=0.01, max_retries=1)


def offline_judge() -> OfflineJudge:
    return OfflineJudge(
        lexical_embed, embed_key="lexical", cfg=JudgeConfig(relevance_threshold=0.2)
    )


def generate(ws: Workspace, task: str | None = None) -> None:
    cfg = GenerateConfig(task_mix={task: 1.0}) if task else GenerateConfig()
    generate_instances(ws, LLM(OfflineGenerator(), "offline", LLMConfig()), cfg=cfg)


def judgments(ws: Workspace) -> dict[str, dict[str, tuple[bool, str]]]:
    out: dict[str, dict[str, tuple[bool, str]]] = {}
    for r in ws.db.execute(
        "SELECT i.sample_id, j.criterion, j.passed, j.rationale FROM judgments j "
        "JOIN instances i ON i.id = j.instance_id"
    ):
        out.setdefault(r[0], {})[r[1]] = (bool(r[2]), r[3])
    return out


def test_offline_judge_end_to_end(ws: Workspace) -> None:
    ids = seed_workspace(ws)
    generate(ws)
    report = judge_instances(ws, LLM(offline_judge(), "offline", LLMConfig()), cfg=JudgeConfig())
    f = funnel(ws)
    assert f["judged"] == f["instances"] == report.counts["to_judge"]
    assert f["accepted"] + f["rejected"] == f["judged"] and f["accepted"] > 0
    assert f["instances"] + f["skipped"] + f["rule_failed"] + f["failed"] == len(ids)
    # every verdict is the conjunction of its criteria
    for instance_id, verdict in ws.db.execute("SELECT instance_id, verdict FROM judge_results"):
        passed = [p for (p,) in ws.db.execute(
            "SELECT passed FROM judgments WHERE instance_id = ?", (instance_id,))]  # fmt: skip
        assert passed and verdict == ("accept" if all(passed) else "reject")
    again = judge_instances(ws, LLM(offline_judge(), "offline", LLMConfig()), cfg=JudgeConfig())
    assert again.counts["to_judge"] == 0 and again.current and "calls" not in again.counts


def test_offline_judge_names_the_missing_helper(ws: Workspace) -> None:
    seed_workspace(ws, [SAMPLES[8], SAMPLES[9]])  # `scaled` calls `_checked`; `file_digest` hashlib
    generate(ws, "code_generation")
    judge_instances(ws, LLM(offline_judge(), "offline", LLMConfig()), cfg=JudgeConfig())
    found = judgments(ws)
    passed, why = found[SAMPLES[8].id]["imports_used"]
    assert (
        not passed
        and why
        == "`_checked` (line 3) is defined or imported elsewhere in funcs.py, not in the solution."
    )
    assert found[SAMPLES[9].id]["imports_used"][0]  # `import hashlib` was inferred


def test_verdict_is_computed_in_code_not_taken_from_the_model(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    seed_workspace(ws, SAMPLES[:2])
    generate(ws, "code_generation")
    yes = {c: {"rationale": "Fine.", "answer": "yes"} for c in CRITERIA}
    one_no = {**yes, "imports_used": {"rationale": "`re` is never imported.", "answer": "no"}}
    fake.script(
        Reply(text=json.dumps({**one_no, "verdict": "accept"})),  # a stray overall verdict
        Reply(text="Here you go:\n```json\n" + json.dumps(yes) + "\n```"),
    )
    report = judge_instances(
        ws, LLM(remote(fake, concurrency=1), MODEL, LLMConfig()), cfg=JudgeConfig()
    )
    assert (report.counts["accepted"], report.counts["rejected"]) == (1, 1)
    verdicts = sorted(v for (v,) in ws.db.execute("SELECT verdict FROM judge_results"))
    assert verdicts == ["accept", "reject"]
    body = fake.requests[0]
    assert body["output_config"]["format"]["schema"]["required"] == CRITERIA
    assert report.counts["cost_usd"] > 0 and report.counts["cost_per_accepted_usd"] > 0
    status = funnel(ws)  # status --json carries the same figures
    assert status["cost_per_accepted_usd"] == report.counts["cost_per_accepted_usd"]
    assert status["cost_by_role"]["judge"]["calls"] == 2


def test_unusable_judgments_are_failures_that_retry_failed_redoes(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    seed_workspace(ws, SAMPLES[:3])
    generate(ws, "code_generation")
    fake.script(
        Reply(text='{"names_language": {"rationale": "The instr', stop_reason="max_tokens"),
        Reply(text="No.", stop_reason="refusal"),
        Reply(text=json.dumps({"names_language": {"rationale": "x", "answer": "yes"}})),
    )
    first = judge_instances(
        ws, LLM(remote(fake, concurrency=1), MODEL, LLMConfig()), cfg=JudgeConfig()
    )
    assert first.counts["judge_failed"] == 3
    errors = sorted(e for (e,) in ws.db.execute("SELECT error FROM judge_results"))
    assert errors[0].startswith("no answer for criterion 'relevant'")
    assert errors[1].startswith("refused") and errors[2].startswith("truncated")
    assert funnel(ws)["judge_failed"] == 3
    judge_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=JudgeConfig())
    assert len(fake.requests) == 3  # failures are not retried unless asked
    retry = judge_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=replace(JudgeConfig(),
                            retry_failed=True))  # fmt: skip
    assert retry.counts["accepted"] == 3 and len(fake.requests) == 6
    f = funnel(ws)
    assert (f["judged"], f["judge_failed"], f["accepted"]) == (3, 0, 3)


def test_offline_judge_skips_what_it_cannot_check(ws: Workspace, fake: FakeAnthropic) -> None:
    seed_workspace(ws, SAMPLES[:1])

    def translation(body: dict[str, Any]) -> Reply:
        return Reply(text=json.dumps({
            "task": "code_translation",
            "instruction": "Translate the following Python function into Go.",
            "input": SAMPLES[0].code,
            "output": "func hypotenuse(a, b float64) float64 {\n\treturn math.Sqrt(a*a + b*b)\n}",
        }))  # fmt: skip

    fake.responder = translation
    c = anthropic.Anthropic(api_key="k", base_url=fake.url, max_retries=0)
    generate_instances(ws, LLM(AnthropicProvider(c), MODEL, LLMConfig()), cfg=GenerateConfig(
        task_mix={"code_translation": 1.0}))  # fmt: skip
    report = judge_instances(ws, LLM(offline_judge(), "offline", LLMConfig()), cfg=JudgeConfig())
    assert report.counts["judge_failed"] == 1
    [(error,)] = ws.db.execute("SELECT error FROM judge_results").fetchall()
    assert "cannot check that a translation keeps the behaviour" in error
