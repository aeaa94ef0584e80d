"""The judge stage: the Discriminator's verdict on every generated instance.

For each instance that passed the rule checks and has no judgment yet, the stage renders the
Discriminator's prompt (the task's criteria, the instance fenced as untrusted data), calls the
provider through the call cache, and parses one answer per criterion: a rationale, then yes or no.
The verdict is computed here, not by the model: accept when every criterion passes. An answer
that cannot be used (truncated, refused, unparseable, or a criterion the provider cannot check) is
recorded as a failed judgment with the raw text; `--retry-failed` retries those.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipeline.config import JudgeConfig
from pipeline.llm.base import Provider
from pipeline.llm.cache import CallResult
from pipeline.llm.parse import parse_judgment
from pipeline.llm.render import Draft, judge_request
from pipeline.llm.stage import LLM, LLMStageResult, estimate_calls, run_llm_stage
from pipeline.progress import Progress, no_progress
from pipeline.prompts import PromptSet, load_prompts
from pipeline.records import CriterionAnswer, Instance, Task, Verdict
from pipeline.store import Workspace
from pipeline.store.instances import instances_to_judge, ok_instance_ids, record_judgment
from pipeline.store.llm import cost_summary
from pipeline.store.samples import get_samples


def _record(
    ws: Workspace,
    item: Instance,
    result: CallResult,
    provider: Provider,
    prompts: PromptSet,
    rendered: str,
    model: str,
) -> str:
    """Write the judgment of one instance; return accept, reject or failed."""
    answer = result.answer
    criteria_ids = [c.id for c in prompts.tasks[Task(item.task)].criteria]
    verdict: str | None = None
    criteria: tuple[CriterionAnswer, ...] = ()
    if answer.stop_reason == "skipped" or not answer.ok:
        error = answer.error if answer.stop_reason == "skipped" else f"call failed: {answer.error}"
    else:
        parsed = parse_judgment(answer.text, answer.stop_reason, criteria_ids)
        error = parsed.error
        if parsed.value is not None:
            criteria = parsed.value
            passed = all(c.passed for c in parsed.value)
            verdict = (Verdict.ACCEPT if passed else Verdict.REJECT).value
    record_judgment(
        ws,
        item.id,
        verdict=verdict,
        status="ok" if verdict else "failed",
        error=error,
        provider=provider.name,
        model=model,
        prompt_version=prompts.version,
        raw_prompt=rendered,
        raw_answer=answer.text,
        call_key=result.key,
        criteria=criteria,
    )
    return verdict or "failed"


def judge_instances(
    ws: Workspace, llm: LLM, *, cfg: JudgeConfig, progress: Progress = no_progress
) -> LLMStageResult:
    """Judge the instances still unjudged; see the module docstring.

    `llm` is the Discriminator: provider, model (`llm.judge_model`, or `offline`) and the `[llm]`
    settings; run-time options (`limit`, `retry_failed`, `dry_run`) are on `cfg`. The run's
    counts (calls, cache hits, tokens, cost, accepted/rejected/failed, and the cost per accepted
    instance over the whole workspace) go to its `runs` row and the report. Current (nothing
    done) when the generated instances and settings are those of the last complete run.
    """
    prompts = load_prompts()
    provider, model = llm.provider, llm.model
    items = instances_to_judge(ws, retry_failed=cfg.retry_failed)
    if cfg.limit is not None:
        items = items[: cfg.limit]
    sources = get_samples(ws, {i.sample_id for i in items})
    drafts = [
        Draft(i.task, i.language, i.instruction, i.input, i.output, i.target_language,
              *((s.path, s.code) if (s := sources.get(i.sample_id)) else ("", "")))
        for i in items
    ]  # fmt: skip
    requests = [
        judge_request(d, prompts=prompts, model=model, max_tokens=cfg.max_tokens) for d in drafts
    ]
    # a failed judgment being retried must not be answered again from the cache
    refresh = set(range(len(items))) if cfg.retry_failed else set()
    plan_counts = {"to_judge": len(items)}
    if cfg.dry_run:
        expected = [80 * len(prompts.tasks[Task(i.task)].criteria) for i in items]
        estimate = estimate_calls(
            ws, provider, requests, expected, prices=llm.settings.prices, model=model,
            refresh=refresh, batch=cfg.batch,
        )  # fmt: skip
        return LLMStageResult(counts=plan_counts, estimate=estimate)

    verdicts = {Verdict.ACCEPT: 0, Verdict.REJECT: 0, "failed": 0}
    rendered = [r.rendered() for r in requests]

    def on_result(index: int, result: CallResult) -> None:
        outcome = _record(ws, items[index], result, provider, prompts, rendered[index], model)
        verdicts[outcome] += 1

    inputs = {"model": model, "prompts": prompts.version, "instances": _digest(ok_instance_ids(ws))}

    def outcome_counts() -> dict[str, Any]:
        return {
            "accepted": verdicts[Verdict.ACCEPT],
            "rejected": verdicts[Verdict.REJECT],
            "judge_failed": verdicts["failed"],
            "cost_per_accepted_usd": cost_summary(ws)["cost_per_accepted_usd"],
        }

    return run_llm_stage(
        ws, llm, "judge", cfg, inputs, requests, on_result, plan_counts=plan_counts,
        outcome_counts=outcome_counts, refresh=refresh, progress=progress, unit="instance",
    )  # fmt: skip


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()
