"""The generate stage: one instance of a drawn task for each selected sample.

For each coreset sample (in rank order) without an instance for the current prompt version, the
stage draws a task by the configured mix, renders the Generator's prompt with few-shot examples
of that task (good ones, and bad ones with the Discriminator's analysis), calls the provider
through the call cache, parses the answer and applies the rule checks. Every sample ends as one
instance row: `ok` (ready to judge), `rules` (broke a rule check), `skipped` (the provider
declined, with the reason) or `failed` (no usable answer; the raw text is kept; `--retry-failed`
retries). Instance ids hash (sample, task, prompt version), so re-running never duplicates.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import GenerateConfig
from pipeline.llm.base import Provider, Request
from pipeline.llm.cache import CallResult
from pipeline.llm.cost import estimate_tokens
from pipeline.llm.parse import parse_generation
from pipeline.llm.render import generation_request
from pipeline.llm.stage import LLM, LLMStageResult, estimate_calls, run_llm_stage
from pipeline.progress import Progress, no_progress
from pipeline.prompts import Example, PromptSet, load_prompts
from pipeline.records import Instance, InstanceStatus, StoredSample, Task, Verdict
from pipeline.stages.tasks import check_mix, draw_target_language, draw_task, rule_violations
from pipeline.store import Workspace
from pipeline.store.instances import instance_status_by_sample, pool_rows, upsert_instance
from pipeline.store.samples import get_samples
from pipeline.store.vectors import coreset_rows

# judged instances longer than this (instruction, input and output) never become examples
MAX_EXAMPLE_CHARS = 4000


def instance_id(sample_id: str, task: Task | str, prompt_version: str) -> str:
    """The id of a sample's instance: the same sample, task and prompt give the same id."""
    text = f"{sample_id}\x00{Task(task).value}\x00{prompt_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def few_shot_pools(
    ws: Workspace, prompts: PromptSet, task: Task
) -> tuple[list[Example], list[Example]]:
    """(good, bad) examples of `task`: the hand-written ones and every judged instance by its
    final verdict (a reviewer's decision wins over the judge's)."""
    good = [e for e in prompts.examples if e.task is task and e.kind == "good"]
    bad = [e for e in prompts.examples if e.task is task and e.kind == "bad"]
    for row in pool_rows(ws, task.value):
        if len(row.instruction) + len(row.input) + len(row.output) > MAX_EXAMPLE_CHARS:
            continue  # a long example would crowd out the prompt
        example = Example(
            row.id, task, "good" if row.verdict == Verdict.ACCEPT else "bad",
            row.instruction, row.input, row.output, row.analysis,
        )  # fmt: skip
        (good if row.verdict == Verdict.ACCEPT else bad).append(example)
    return good, bad


def choose_examples(
    good: Sequence[Example], bad: Sequence[Example], n_good: int, n_bad: int, seed: int
) -> tuple[list[Example], list[Example]]:
    """The examples a run shows for one task: drawn by `seed` from each pool, in pool order.

    One choice per task and run keeps the prompt prefix stable, so providers can cache it.
    """
    rng = random.Random(f"{seed}:few-shot:{len(good)}:{len(bad)}")
    pick_good = sorted(rng.sample(range(len(good)), min(n_good, len(good))))
    pick_bad = sorted(rng.sample(range(len(bad)), min(n_bad, len(bad))))
    return [good[i] for i in pick_good], [bad[i] for i in pick_bad]


@dataclass(frozen=True, slots=True)
class _Item:
    sample: StoredSample
    task: Task
    target_language: str
    request: Request
    example_ids: tuple[str, ...]


def _plan(
    ws: Workspace,
    prompts: PromptSet,
    cfg: GenerateConfig,
    model: str,
    retry_failed: bool,
    limit: int | None,
) -> tuple[list[_Item], set[int], dict[str, int]]:
    mix = check_mix(cfg.task_mix)
    selected = [sample_id for _rank, sample_id, _radius in coreset_rows(ws)]
    if limit is not None:
        selected = selected[:limit]
    existing = instance_status_by_sample(ws, prompts.version)
    wanted = [
        s
        for s in selected
        if s not in existing or (retry_failed and existing[s][1] == InstanceStatus.FAILED)
    ]
    samples = get_samples(ws, wanted)
    examples: dict[Task, tuple[list[Example], list[Example]]] = {}
    items: list[_Item] = []
    refresh: set[int] = set()
    for sample_id in wanted:
        sample = samples.get(sample_id)
        if sample is None:
            continue
        if sample_id in existing:  # a retry keeps the task it was drawn
            _id, _status, drawn, target = existing[sample_id]
            task = Task(drawn)
            refresh.add(len(items))
        else:
            task = draw_task(sample_id, mix, cfg.seed)
            target = ""
            if task is Task.TRANSLATION:
                target = draw_target_language(
                    sample_id, cfg.target_languages, sample.language, cfg.seed
                )
        if task not in examples:
            good_pool, bad_pool = few_shot_pools(ws, prompts, task)
            examples[task] = choose_examples(
                good_pool, bad_pool, cfg.good_examples, cfg.bad_examples, cfg.seed
            )
        good, bad = examples[task]
        request = generation_request(
            sample, task, prompts=prompts, good=good, bad=bad, target_language=target,
            model=model, max_tokens=cfg.max_tokens,
        )  # fmt: skip
        ids = tuple(e.id for e in (*good, *bad))
        items.append(_Item(sample, task, target, request, ids))
    counts = {
        "selected": len(selected),
        "already_done": len(selected) - len(wanted),
        "to_generate": len(items),
    }
    return items, refresh, counts


def _instance(item: _Item, result: CallResult, provider: Provider, prompts: PromptSet) -> Instance:
    answer = result.answer
    instruction = input_ = output = error = ""
    if answer.stop_reason == "skipped":
        status, error = InstanceStatus.SKIPPED, answer.error
    elif not answer.ok:
        status, error = InstanceStatus.FAILED, f"call failed: {answer.error}"
    else:
        parsed = parse_generation(answer.text, answer.stop_reason, item.task.value)
        if parsed.value is None:
            status, error = InstanceStatus.FAILED, parsed.error
        else:
            instruction, input_, output = (
                parsed.value.instruction, parsed.value.input, parsed.value.output,
            )  # fmt: skip
            broken = rule_violations(parsed.value, prompts.tasks[item.task])
            status = InstanceStatus.RULES if broken else InstanceStatus.OK
            error = "; ".join(broken)
    rendered = item.request.rendered()
    return Instance(
        id=instance_id(item.sample.id, item.task, prompts.version),
        sample_id=item.sample.id,
        task=item.task.value,
        target_language=item.target_language,
        instruction=instruction,
        input=input_,
        output=output,
        status=status.value,
        error=error,
        provider=provider.name,
        model=item.request.model,
        prompt_version=prompts.version,
        prompt_hash=hashlib.sha256(rendered.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        few_shot_ids=json.dumps(list(item.example_ids)),
        raw_prompt=rendered,
        raw_answer=answer.text,
        call_key=result.key,
    )


def generate_instances(
    ws: Workspace, llm: LLM, *, cfg: GenerateConfig, progress: Progress = no_progress
) -> LLMStageResult:
    """Generate the instances still missing for the coreset; see the module docstring.

    `llm` is the Generator: provider, model (`llm.generator_model`, or `offline`) and the `[llm]`
    settings. Run-time options on `cfg`: `limit` takes only the first N coreset samples,
    `retry_failed` calls again for failed ones, `dry_run` makes no call and writes nothing (the
    report carries the estimate). The run's counts (calls, cache hits, tokens, cost, instances
    per status) go to its `runs` row and the report. Current (nothing done, `current=True`)
    when the coreset, prompts and settings are those of the last complete run.
    """
    prompts = load_prompts()
    provider, model = llm.provider, llm.model
    items, refresh, plan_counts = _plan(ws, prompts, cfg, model, cfg.retry_failed, cfg.limit)
    requests = [item.request for item in items]
    if cfg.dry_run:
        expected = [estimate_tokens(item.sample.code) + 150 for item in items]
        estimate = estimate_calls(
            ws, provider, requests, expected, prices=llm.settings.prices, model=model,
            refresh=refresh, batch=cfg.batch,
        )  # fmt: skip
        return LLMStageResult(counts=plan_counts, estimate=estimate)

    statuses = {s.value: 0 for s in InstanceStatus}

    def on_result(index: int, result: CallResult) -> None:
        row = _instance(items[index], result, provider, prompts)
        upsert_instance(ws, row)
        statuses[row.status] += 1

    inputs = {"model": model, "prompts": prompts.version, "coreset": _digest(coreset_ids(ws))}
    return run_llm_stage(
        ws, llm, "generate", cfg, inputs, requests, on_result, plan_counts=plan_counts,
        outcome_counts=lambda: statuses, refresh=refresh, progress=progress, unit="sample",
    )  # fmt: skip


def coreset_ids(ws: Workspace) -> list[str]:
    return [sample_id for _rank, sample_id, _radius in coreset_rows(ws)]


def _digest(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()
