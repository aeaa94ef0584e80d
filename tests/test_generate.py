"""The generate stage on real workspaces: offline, and through the real SDK against the loopback
server (`fake_anthropic`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anthropic
import pytest
from fake_anthropic import FakeAnthropic, Reply, error_reply
from test_llm_samples import SAMPLES, seed_workspace

from pipeline.config import GenerateConfig, LLMConfig
from pipeline.llm.anthropic import AnthropicProvider
from pipeline.llm.offline.generator import OfflineGenerator
from pipeline.llm.stage import LLM
from pipeline.prompts import load_prompts
from pipeline.records import Task
from pipeline.stages.generate import generate_instances, instance_id
from pipeline.stages.tasks import check_mix, draw_target_language, draw_task
from pipeline.store import Workspace
from pipeline.store.reviews import add_review
from pipeline.store.status import funnel

MODEL = "claude-haiku-4-5"
VERSION = load_prompts().version


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def remote(fake: FakeAnthropic, concurrency: int = 4, **kwargs: Any) -> AnthropicProvider:
    c = anthropic.Anthropic(api_key="k", base_url=fake.url, max_retries=0, timeout=10)
    return AnthropicProvider(c, concurrency=concurrency, backoff_s=0.01, max_retries=2, **kwargs)


def rows(ws: Workspace) -> list[dict[str, Any]]:
    return [dict(r) for r in ws.db.execute("SELECT * FROM instances ORDER BY sample_id")]


def only(task: str, **kwargs: Any) -> GenerateConfig:
    return GenerateConfig(task_mix={task: 1.0}, **kwargs)


# -- task drawing -------------------------------------------------------------------------------
def test_draw_follows_the_mix_and_is_stable() -> None:
    mix = check_mix(GenerateConfig().task_mix)
    ids = [f"sample-{i}" for i in range(20_000)]
    counts = Counter(draw_task(i, mix, seed=0) for i in ids)
    for task, share in mix.items():
        assert abs(counts[task] / len(ids) - share) < 0.015, task
    assert [draw_task(i, mix, 0) for i in ids[:50]] == [draw_task(i, mix, 0) for i in ids[:50]]
    assert [draw_task(i, mix, 0) for i in ids[:50]] != [draw_task(i, mix, 1) for i in ids[:50]]
    assert draw_target_language("x", ["Python", "Go"], "python", 0) == "Go"


def test_bad_mix_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="unknown task 'code_golf'"):
        check_mix({"code_golf": 1.0})
    with pytest.raises(ValueError, match="add up to 0"):
        check_mix({"code_repair": 0.0})


# -- offline ------------------------------------------------------------------------------------
def test_offline_generate_makes_one_instance_per_sample_and_resumes(ws: Workspace) -> None:
    ids = seed_workspace(ws)
    cfg, llm = GenerateConfig(), LLMConfig()
    report = generate_instances(ws, LLM(OfflineGenerator(), "offline", llm), cfg=cfg)
    made = rows(ws)
    assert sorted(r["sample_id"] for r in made) == sorted(ids)
    assert report.counts["calls"] == len(ids) and report.counts["to_generate"] == len(ids)
    assert sum(report.counts[s] for s in ("ok", "rules", "skipped", "failed")) == len(ids)
    for r in made:
        assert r["id"] == instance_id(r["sample_id"], r["task"], VERSION)
        assert r["prompt_version"] == VERSION and r["raw_prompt"].startswith("[system]")
        if r["task"] == "code_translation":
            assert r["status"] == "skipped" and "cannot translate" in r["error"]
        assert json.loads(r["few_shot_ids"]), "the examples used are recorded"
    again = generate_instances(ws, LLM(OfflineGenerator(), "offline", llm), cfg=cfg)
    assert again.counts["to_generate"] == 0 and again.current  # no run
    assert rows(ws) == made
    last = ws.last_runs()[-1]
    assert last["stage"] == "generate" and last["counts"]["already_done"] == 0  # the first run


def test_generation_output_carries_the_inferred_imports(ws: Workspace) -> None:
    seed_workspace(ws, [SAMPLES[0]])
    generate_instances(
        ws, LLM(OfflineGenerator(), "offline", LLMConfig()), cfg=only("code_generation")
    )
    [row] = rows(ws)
    assert row["status"] == "ok" and row["output"].startswith("import math\n")


def test_few_shot_pools_grow_from_final_verdicts(ws: Workspace) -> None:
    first, second = SAMPLES[3], SAMPLES[4]
    seed_workspace(ws, [first])
    cfg = only("code_summarization", good_examples=10, bad_examples=10)
    generate_instances(ws, LLM(OfflineGenerator(), "offline", LLMConfig()), cfg=cfg)
    [row] = rows(ws)
    assert all(i.startswith("hand:") for i in json.loads(row["few_shot_ids"]))
    # a reviewer rejects it (no judge yet): it joins the bad pool with the reviewer's reason
    add_review(ws, row["id"], "ann", "reject", reason="the summary is too vague")
    insert = "INSERT INTO coreset(rank, sample_id, radius, model_key) VALUES (1, ?, 0.5, 'test')"
    from pipeline.store.samples import insert_samples

    insert_samples(ws, [second])
    with ws.write() as db:
        db.execute(insert, (second.id,))
    generate_instances(ws, LLM(OfflineGenerator(), "offline", LLMConfig()), cfg=cfg)
    new = next(r for r in rows(ws) if r["sample_id"] == second.id)
    assert row["id"] in json.loads(new["few_shot_ids"])
    assert "Reviewer: the summary is too vague" in new["raw_prompt"]


# -- through the SDK ----------------------------------------------------------------------------
def test_anthropic_generate_records_tokens_cost_and_makes_no_call_when_done(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    ids = seed_workspace(ws)
    cfg = only("code_generation")
    report = generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=cfg)
    assert report.counts["ok"] == len(ids) and len(fake.requests) == len(ids)
    assert report.counts["cost_usd"] > 0 and report.counts["input_tokens"] > 0
    calls = ws.db.execute("SELECT COUNT(*), SUM(cost_usd) FROM llm_calls WHERE status='ok'")
    n, cost = calls.fetchone()
    assert n == len(ids) and cost == pytest.approx(report.counts["cost_usd"], abs=1e-6)
    # the stable prefix was cached: later calls read it
    assert report.counts["cache_read_tokens"] > 0
    before = len(fake.requests)
    again = generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=cfg)
    assert len(fake.requests) == before and again.current and "calls" not in again.counts
    f = funnel(ws)
    assert f["instances"] == len(ids) and f["cost_usd"] == pytest.approx(cost, abs=1e-6)


def test_dry_run_counts_calls_and_cost_and_calls_nothing(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    ids = seed_workspace(ws)
    report = generate_instances(
        ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=replace(only("code_repair"), dry_run=True)
    )
    assert report.estimate is not None
    assert report.estimate.calls == len(ids) and report.estimate.cached == 0
    assert report.estimate.cost_usd > 0 and fake.requests == []
    assert rows(ws) == []
    assert "would make 12 calls" in report.estimate.describe("generate")


def test_unusable_answers_are_recorded_failures_and_retry_failed_redoes_them(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    seed_workspace(ws, SAMPLES[:5])
    fake.script(
        Reply(text='{"task": "code_generation", "instruction": "Wri', stop_reason="max_tokens"),
        Reply(text="I can't help with that.", stop_reason="refusal"),
        Reply(text="Sure! Here it is: instruction: do it"),
        Reply(
            text=json.dumps(
                {
                    "task": "code_generation",
                    "instruction": "One. Two. Three.",
                    "input": "",
                    "output": "x = 1",
                }
            )
        ),
        *[error_reply(500)] * 3,
    )
    cfg = only("code_generation")
    report = generate_instances(ws, LLM(remote(fake, concurrency=1), MODEL, LLMConfig()), cfg=cfg)
    assert (report.counts["failed"], report.counts["rules"], report.counts["ok"]) == (4, 1, 0)
    by_error = {r["error"]: r for r in rows(ws)}
    assert any(e.startswith("truncated") for e in by_error)
    assert any(e.startswith("refused") for e in by_error)
    assert any("no JSON object" in e for e in by_error)
    assert any("3 sentences" in e for e in by_error)
    assert any(e.startswith("call failed: HTTP 500") for e in by_error)
    raw = {r["raw_answer"] for r in rows(ws)}
    assert "I can't help with that." in raw  # the raw text is kept
    # a plain re-run leaves failures alone; --retry-failed calls again for them only
    generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=cfg)
    assert len(fake.requests) == 7
    retry = generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=replace(cfg,
                               retry_failed=True))  # fmt: skip
    assert retry.counts["to_generate"] == 4 and retry.counts["ok"] == 4
    assert len(fake.requests) == 11
    statuses = Counter(r["status"] for r in rows(ws))
    assert statuses == {"ok": 4, "rules": 1} and len(rows(ws)) == 5  # no duplicates


def test_configured_spend_limit_stops_the_run_cleanly(ws: Workspace, fake: FakeAnthropic) -> None:
    ids = seed_workspace(ws)
    llm = LLMConfig(spend_limit_usd=1e-9)
    report = generate_instances(
        ws, LLM(remote(fake, concurrency=1), MODEL, llm), cfg=only("code_generation")
    )
    assert "spend limit reached" in report.stopped
    assert report.counts["ok"] == 1 and len(rows(ws)) == 1
    run = ws.last_runs()[-1]
    assert run["status"] == "done" and "spend limit" in run["counts"]["stopped"]
    # the next run (limit raised) picks up where it stopped
    generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=only("code_generation"))
    assert len(rows(ws)) == len(ids)


def test_provider_spend_limit_error_stops_the_run(ws: Workspace, fake: FakeAnthropic) -> None:
    seed_workspace(ws)
    fake.script(Reply(), error_reply(402, "Your credit balance is too low"))
    report = generate_instances(
        ws, LLM(remote(fake, concurrency=1), MODEL, LLMConfig()), cfg=only("code_generation")
    )
    assert "credit balance" in report.stopped
    assert [r["status"] for r in rows(ws)] == ["ok"]


def test_batch_generate_is_half_price_and_journaled(ws: Workspace, fake: FakeAnthropic) -> None:
    ids = seed_workspace(ws, SAMPLES[:4])
    cfg = only("code_generation")
    online = generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=replace(cfg,
                                dry_run=True))  # fmt: skip
    batched = generate_instances(
        ws,
        LLM(remote(fake, batch=True, poll_s=0.01), MODEL, LLMConfig()),
        cfg=replace(only("code_generation", batch=True), dry_run=True),
    )
    assert online.estimate and batched.estimate
    assert batched.estimate.cost_usd == pytest.approx(online.estimate.cost_usd / 2, rel=1e-3)
    report = generate_instances(
        ws, LLM(remote(fake, batch=True, poll_s=0.01), MODEL, LLMConfig()), cfg=cfg
    )
    assert report.counts["ok"] == len(ids) and fake.requests == []
    [batch] = ws.db.execute("SELECT id, status, custom_ids FROM batches").fetchall()
    assert batch["status"] == "collected" and len(json.loads(batch["custom_ids"])) == len(ids)
    keys = {r[0] for r in ws.db.execute("SELECT batch_id FROM llm_calls")}
    assert keys == {batch["id"]}


def test_task_is_in_the_answer_schema(ws: Workspace, fake: FakeAnthropic) -> None:
    seed_workspace(ws, SAMPLES[:1])
    generate_instances(ws, LLM(remote(fake), MODEL, LLMConfig()), cfg=only("code_translation"))
    [body] = fake.requests
    schema = body["output_config"]["format"]["schema"]
    assert schema["properties"]["task"]["enum"] == [Task.TRANSLATION.value]
    assert "Target language: " in body["messages"][0]["content"]
    [row] = rows(ws)
    assert row["target_language"] and row["target_language"] != "Python"
