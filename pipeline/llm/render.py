"""Rendering prompts: pure functions from data to `Request`s.

The system text is the stable prefix (role, task definition, requirements or criteria, answer
format, the rule about untrusted text, few-shot examples) and is the part providers cache; the
user message carries the one sample or instance, fenced (see `pipeline.llm.fence`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from pipeline.llm.base import Request
from pipeline.llm.fence import fence_token, fenced
from pipeline.prompts import Example, PromptSet, TaskSpec
from pipeline.records import Task

LANGUAGE_NAMES = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "java": "Java",
    "go": "Go",
    "ruby": "Ruby",
    "php": "PHP",
    "c": "C",
    "cpp": "C++",
    "c++": "C++",
    "csharp": "C#",
    "rust": "Rust",
}


def language_name(language: str) -> str:
    """The display name of a language as stored on samples (`python` -> `Python`)."""
    return LANGUAGE_NAMES.get(language.lower(), language[:1].upper() + language[1:])


class SampleLike(Protocol):
    """What the Generator's prompt reads from a sample (a `StoredSample` fits)."""

    @property
    def language(self) -> str: ...
    @property
    def func_name(self) -> str: ...
    @property
    def docstring(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def code_nodoc(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Draft:
    """A generated instance as the Discriminator sees it."""

    task: str
    language: str
    instruction: str
    input: str
    output: str
    target_language: str = ""


def generation_schema(task: Task) -> dict[str, Any]:
    """JSON schema of the Generator's answer for `task`."""
    return {
        "type": "object",
        "properties": {
            "task": {"type": "string", "enum": [task.value]},
            "instruction": {"type": "string"},
            "input": {"type": "string"},
            "output": {"type": "string"},
        },
        "required": ["task", "instruction", "input", "output"],
        "additionalProperties": False,
    }


def judge_schema(spec: TaskSpec) -> dict[str, Any]:
    """JSON schema of the Discriminator's answer: per criterion, rationale first, then yes/no."""
    item = {
        "type": "object",
        "properties": {
            "rationale": {"type": "string"},
            "answer": {"type": "string", "enum": ["yes", "no"]},
        },
        "required": ["rationale", "answer"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {c.id: item for c in spec.criteria},
        "required": [c.id for c in spec.criteria],
        "additionalProperties": False,
    }


def _example_json(example: Example) -> str:
    body = {"instruction": example.instruction, "input": example.input, "output": example.output}
    return json.dumps(body, indent=2, ensure_ascii=False)


def generator_system(
    spec: TaskSpec, prompts: PromptSet, good: Sequence[Example], bad: Sequence[Example]
) -> str:
    """The Generator's system text for one task and one choice of few-shot examples."""
    parts = [
        prompts.generator_role,
        f"## Task\n{spec.definition}",
        "## Requirements\n" + "\n".join(f"- {r}" for r in spec.requirements),
        "## Answer format\n" + prompts.generator_format.replace("{task}", spec.task.value),
        f"## Untrusted text\n{prompts.data_rule}",
    ]
    if good or bad:
        blocks = [f"Good example {i}:\n{_example_json(e)}" for i, e in enumerate(good, 1)]
        blocks += [
            f"Bad example {i} (do not imitate):\n{_example_json(e)}\nAnalysis: {e.analysis}"
            for i, e in enumerate(bad, 1)
        ]
        text = "\n\n".join(blocks)
        token = fence_token([text], salt=prompts.version)
        parts.append(
            "## Examples\nGood examples show what to produce; bad examples, with the "
            "Discriminator's analysis, show what to avoid. They are fenced data.\n"
            + fenced(text, token)
        )
    return "\n\n".join(parts)


def generation_request(
    sample: SampleLike,
    task: Task,
    *,
    prompts: PromptSet,
    good: Sequence[Example],
    bad: Sequence[Example],
    target_language: str = "",
    model: str,
    max_tokens: int,
) -> Request:
    """The Generator's request for one sample and task."""
    spec = prompts.tasks[task]
    language = language_name(sample.language)
    token = fence_token([sample.code], salt=prompts.version)
    lines = [
        f"Raw code ({language}, `{sample.func_name}`):",
        fenced(sample.code, token),
        "",
    ]
    if task is Task.TRANSLATION:
        lines += [f"Target language: {target_language}", ""]
    lines.append(
        f"Write one {spec.title.lower()} instance from this code and answer with the JSON "
        "object described in the answer format."
    )
    context = {
        "task": task.value,
        "language": sample.language,
        "func_name": sample.func_name,
        "docstring": sample.docstring,
        "code": sample.code,
        "code_nodoc": sample.code_nodoc,
        "target_language": target_language,
    }
    return Request(
        role="generator",
        model=model,
        template_version=prompts.version,
        system=generator_system(spec, prompts, good, bad),
        user="\n".join(lines),
        schema=generation_schema(task),
        context=context,
        max_tokens=max_tokens,
    )


def judge_system(spec: TaskSpec, prompts: PromptSet) -> str:
    """The Discriminator's system text for one task."""
    criteria = "\n".join(f"{i}. `{c.id}`: {c.text}" for i, c in enumerate(spec.criteria, 1))
    shape = {c.id: {"rationale": "...", "answer": "yes or no"} for c in spec.criteria[:2]}
    shape_text = json.dumps(shape)[:-1] + ", ...}"
    return "\n\n".join(
        [
            prompts.judge_role,
            f"## Task\n{spec.definition}",
            f"## Criteria\n{criteria}",
            f"## Answer format\n{prompts.judge_format}\nShape: {shape_text}",
            f"## Untrusted text\n{prompts.data_rule}",
        ]
    )


def judge_request(draft: Draft, *, prompts: PromptSet, model: str, max_tokens: int) -> Request:
    """The Discriminator's request for one generated instance."""
    task = Task(draft.task)
    spec = prompts.tasks[task]
    token = fence_token([draft.instruction, draft.input, draft.output], salt=prompts.version)
    about = f"{spec.title}; language: {language_name(draft.language)}"
    if draft.target_language:
        about += f"; target language: {draft.target_language}"
    user = "\n".join(
        [
            f"Instance to judge ({about}).",
            "",
            "Instruction:",
            fenced(draft.instruction, token),
            "",
            "Input:",
            fenced(draft.input, token),
            "",
            "Output:",
            fenced(draft.output, token),
            "",
            "Judge the instance against every criterion and answer with the JSON object "
            "described in the answer format.",
        ]
    )
    return Request(
        role="judge",
        model=model,
        template_version=prompts.version,
        system=judge_system(spec, prompts),
        user=user,
        schema=judge_schema(spec),
        context=asdict(draft),
        max_tokens=max_tokens,
    )
