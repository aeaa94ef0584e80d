"""Which task each selected sample gets, and the rule checks a generated instance must pass
before it is judged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from pipeline.llm.parse import Generated
from pipeline.llm.render import language_name
from pipeline.llm.text import count_sentences, normalise_space
from pipeline.prompts import TaskSpec
from pipeline.records import Task


def _unit(*parts: object) -> float:
    """A number in [0, 1) drawn from `parts` by hashing: the same parts, the same number."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def check_mix(mix: Mapping[str, float]) -> dict[Task, float]:
    """The task mix as shares summing to 1; raises ValueError naming a bad task or weight."""
    shares: dict[Task, float] = {}
    for name, weight in mix.items():
        try:
            task = Task(name)
        except ValueError:
            known = ", ".join(t.value for t in Task)
            raise ValueError(f"generate.task_mix: unknown task {name!r} (known: {known})") from None
        if weight < 0:
            raise ValueError(f"generate.task_mix: {name} has a negative share {weight}")
        shares[task] = float(weight)
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("generate.task_mix: the shares add up to 0")
    return {task: shares.get(task, 0.0) / total for task in Task if shares.get(task, 0.0) > 0}


def draw_task(sample_id: str, mix: Mapping[Task, float], seed: int) -> Task:
    """The task of a sample: drawn by the mix from a hash of (seed, sample id).

    Each sample's draw is independent of the others, so extending the selection never changes
    the task of a sample already drawn.
    """
    u = _unit(seed, sample_id, "task")
    cumulative = 0.0
    last = Task.GENERATION
    for task, share in mix.items():
        cumulative += share
        last = task
        if u < cumulative:
            return task
    return last


def draw_target_language(
    sample_id: str, languages: Sequence[str], source_language: str, seed: int
) -> str:
    """The translation target of a sample: one of `languages` other than its own."""
    source = language_name(source_language).lower()
    choices = [lang for lang in languages if lang.lower() != source]
    if not choices:
        return ""
    return choices[int(_unit(seed, sample_id, "target") * len(choices))]


def rule_violations(generated: Generated, spec: TaskSpec) -> list[str]:
    """The rules a generated instance breaks (empty: it may be judged).

    Rules: the instruction is one or two sentences; the instruction and output are present and
    non-empty, and so is the input when the task needs one; the output is not a copy of the input.
    """
    broken = []
    sentences = count_sentences(generated.instruction)
    if not generated.instruction.strip():
        broken.append("the instruction is empty")
    elif sentences > 2:
        broken.append(f"the instruction has {sentences} sentences (one or two allowed)")
    if not generated.output.strip():
        broken.append("the output is empty")
    if spec.input_required and not generated.input.strip():
        broken.append(f"the input is empty but {spec.task.value} needs one")
    if (
        generated.output.strip()
        and generated.input.strip()
        and normalise_space(generated.output) == normalise_space(generated.input)
    ):
        broken.append("the output is a copy of the input")
    return broken
