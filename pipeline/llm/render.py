"""Rendering prompts: pure functions from data to `Request`s.

The system text is the stable prefix (role, task definition, requirements or criteria, answer
format, the rule about untrusted text, few-shot examples) and is the part providers cache; the
user message carries the one sample or instance, fenced (see `pipeline.llm.fence`).

Every text that comes from the input or a model (code, function name, every generated field,
examples) sits inside a fence. A language (of a sample, or a translation target) is written as
a word of the prompt only when it is one of `LANGUAGE_NAMES`, in the spelling of that table;
any other value is fenced like the rest of the data.
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


_BY_DISPLAY = {name.lower(): name for name in LANGUAGE_NAMES.values()}


def language_name(language: str) -> str:
    """The display name of a language as stored on samples (`python` -> `Python`); an unknown
    one capitalised. For messages and generated text, never for prompt words (`known_language`)."""
    return known_language(language) or language[:1].upper() + language[1:]


def known_language(language: str) -> str | None:
    """The display name of `language` when it is a known language (a key of `LANGUAGE_NAMES`
    or one of its display names, any case: `python`, `C++`), else None."""
    key = language.strip().lower()
    return LANGUAGE_NAMES.get(key) or _BY_DISPLAY.get(key)


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
    # the source sample: its file and code (where a name the solution does not define comes from)
    source_path: str = ""
    source_code: str = ""


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
    language = known_language(sample.language)
    target = known_language(target_language) if target_language else ""
    data = [sample.code, sample.func_name]
    data += [sample.language] if language is None else []
    data += [target_language] if target is None else []
    token = fence_token(data, salt=prompts.version)
    lines = [
        f"Raw code ({language}):" if language else "Raw code:",
        fenced(sample.code, token),
        "",
        "Its function name:",
        fenced(sample.func_name, token),
        "",
    ]
    if language is None:
        lines += ["Its language, as the source names it (not a language we know):"]
        lines += [fenced(sample.language, token), ""]
    if task is Task.TRANSLATION and target:
        lines += [f"Target language: {target}", ""]
    elif task is Task.TRANSLATION and target is None:
        lines += ["Target language, as configured (not a language we know):"]
        lines += [fenced(target_language, token), ""]
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
    imports = str(getattr(sample, "imports", "") or "")
    if imports:  # only when known: requests of samples without imports keep their cache keys
        context["imports"] = imports
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
    language = known_language(draft.language)
    target = known_language(draft.target_language) if draft.target_language else ""
    data = [draft.instruction, draft.input, draft.output]
    data += [draft.language] if language is None else []
    data += [draft.target_language] if target is None else []
    token = fence_token(data, salt=prompts.version)
    about = f"{spec.title}; language: {language}" if language else spec.title
    if target:
        about += f"; target language: {target}"
    lines = [f"Instance to judge ({about}).", ""]
    if language is None:
        lines += ["Its language, as the source names it (not a language we know):"]
        lines += [fenced(draft.language, token), ""]
    if target is None:
        lines += ["Its target language, as configured (not a language we know):"]
        lines += [fenced(draft.target_language, token), ""]
    lines += [
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
    user = "\n".join(lines)
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
