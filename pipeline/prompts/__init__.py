"""The prompt data: task definitions, requirements and criteria (`tasks.toml`) and the
hand-written few-shot examples (`examples.toml`), loaded into typed records.

Nothing here renders a prompt (that is `pipeline.llm.render`); this module only reads and checks
the data, so that a typo in a TOML file fails loudly at load time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pipeline.records import Task


@dataclass(frozen=True, slots=True)
class Criterion:
    """One yes/no question the Discriminator answers about an instance."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task: its definition and requirements (Generator) and criteria (Discriminator)."""

    task: Task
    title: str
    definition: str
    requirements: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    input_required: bool


@dataclass(frozen=True, slots=True)
class Example:
    """A few-shot example. `analysis` (bad examples) says what went wrong, per criterion."""

    id: str
    task: Task
    kind: str  # good | bad
    instruction: str
    input: str
    output: str
    analysis: str = ""


@dataclass(frozen=True, slots=True)
class PromptSet:
    """Everything the renderers need. `version` names the template set (part of instance ids)."""

    version: str
    generator_role: str
    generator_format: str
    judge_role: str
    judge_format: str
    data_rule: str
    tasks: dict[Task, TaskSpec]
    examples: tuple[Example, ...]


class PromptDataError(ValueError):
    """A prompt data file is malformed; the message names the file and the entry."""


def _read(name: str) -> dict[str, Any]:
    text = resources.files("pipeline.prompts").joinpath(name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PromptDataError(f"pipeline/prompts/{name}: {e}") from e


def _task(name: str, where: str) -> Task:
    try:
        return Task(name)
    except ValueError:
        raise PromptDataError(f"{where}: unknown task {name!r}") from None


@cache
def load_prompts() -> PromptSet:
    """Read and check `tasks.toml` and `examples.toml` (cached: they ship with the package)."""
    data = _read("tasks.toml")
    tasks: dict[Task, TaskSpec] = {}
    for name, spec in data["tasks"].items():
        where = f"tasks.toml [tasks.{name}]"
        task = _task(name, where)
        criteria = tuple(Criterion(c["id"], " ".join(c["text"].split())) for c in spec["criteria"])
        if len({c.id for c in criteria}) != len(criteria):
            raise PromptDataError(f"{where}: criterion ids repeat")
        tasks[task] = TaskSpec(
            task=task,
            title=spec["title"],
            definition=spec["definition"].strip(),
            requirements=tuple(spec["requirements"]),
            criteria=criteria,
            input_required=bool(spec["input_required"]),
        )
    missing = set(Task) - set(tasks)
    if missing:
        raise PromptDataError(f"tasks.toml: no entry for {sorted(missing)}")
    examples = []
    for i, ex in enumerate(_read("examples.toml")["examples"]):
        where = f"examples.toml example {i} ({ex.get('id', '?')})"
        if ex["kind"] not in ("good", "bad"):
            raise PromptDataError(f"{where}: kind must be good or bad")
        if ex["kind"] == "bad" and not ex.get("analysis"):
            raise PromptDataError(f"{where}: a bad example needs its analysis")
        examples.append(
            Example(
                id=ex["id"],
                task=_task(ex["task"], where),
                kind=ex["kind"],
                instruction=ex["instruction"].strip(),
                input=ex["input"].strip("\n"),
                output=ex["output"].strip("\n"),
                analysis=ex.get("analysis", "").strip(),
            )
        )
    return PromptSet(
        version=str(data["version"]),
        generator_role=data["generator"]["role"].strip(),
        generator_format=data["generator"]["answer_format"].strip(),
        judge_role=data["judge"]["role"].strip(),
        judge_format=data["judge"]["answer_format"].strip(),
        data_rule=data["data_rule"]["text"].strip(),
        tasks=tasks,
        examples=tuple(examples),
    )
