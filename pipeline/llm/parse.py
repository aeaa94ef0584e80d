"""Parsing model answers: pure functions that never raise.

A truncated, refused, empty or malformed answer becomes a `Parsed` with `error` set (the raw text
is kept by the caller), never an exception and never a silent drop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.records import CriterionAnswer

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)

# stop reasons that mean the answer is not complete or not an answer
_STOP_ERRORS = {
    "max_tokens": "truncated: the answer hit max_tokens",
    "model_context_window_exceeded": "truncated: the context window is full",
    "refusal": "refused: the model declined to answer",
    "pause_turn": "incomplete: the model paused its turn",
}


@dataclass(frozen=True, slots=True)
class Generated:
    """The Generator's structured answer."""

    task: str
    instruction: str
    input: str
    output: str


@dataclass(frozen=True, slots=True)
class ParsedGeneration:
    value: Generated | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ParsedJudgment:
    value: tuple[CriterionAnswer, ...] | None
    error: str = ""


def extract_json(text: str) -> tuple[dict[str, Any] | None, str]:
    """The first JSON object in `text`: the whole text, a ```json fence, or embedded in prose.

    Returns (object, "") or (None, reason).
    """
    stripped = text.strip()
    if not stripped:
        return None, "empty answer"
    candidates = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value, ""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value, ""
    if "{" in text and text.count("{") > text.count("}"):
        return None, "no complete JSON object (the answer looks cut off)"
    return None, "no JSON object in the answer"


def _stop_error(stop_reason: str) -> str:
    return _STOP_ERRORS.get(stop_reason, "")


def parse_generation(text: str, stop_reason: str, task: str) -> ParsedGeneration:
    """The Generator's answer for `task`, or the reason it cannot be used."""
    if error := _stop_error(stop_reason):
        return ParsedGeneration(None, error)
    obj, error = extract_json(text)
    if obj is None:
        return ParsedGeneration(None, error)
    fields: dict[str, str] = {}
    for name in ("instruction", "input", "output"):
        value = obj.get(name, "" if name == "input" else None)
        if value is None:
            return ParsedGeneration(None, f"the answer has no {name!r} field")
        if not isinstance(value, str):
            return ParsedGeneration(None, f"the {name!r} field is not a string")
        fields[name] = value
    answered_task = obj.get("task", task)
    if answered_task != task:
        return ParsedGeneration(None, f"the answer is for task {answered_task!r}, not {task!r}")
    return ParsedGeneration(Generated(task=task, **fields))


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().strip(".").lower()
        if word in ("yes", "y", "true", "pass"):
            return True
        if word in ("no", "n", "false", "fail"):
            return False
    return None


def parse_judgment(text: str, stop_reason: str, criteria: Sequence[str]) -> ParsedJudgment:
    """The Discriminator's per-criterion answers (in `criteria` order), or why they are unusable.

    Accepts `{criterion: {"rationale", "answer"}}` (the schema) and, from looser servers, a list
    `[{"criterion", "rationale", "answer"}]` under "criteria".
    """
    if error := _stop_error(stop_reason):
        return ParsedJudgment(None, error)
    obj, error = extract_json(text)
    if obj is None:
        return ParsedJudgment(None, error)
    if isinstance(obj.get("criteria"), list):
        obj = {
            str(item.get("criterion", "")): item
            for item in obj["criteria"]
            if isinstance(item, dict)
        }
    answers = []
    for name in criteria:
        item = obj.get(name)
        if not isinstance(item, dict):
            return ParsedJudgment(None, f"no answer for criterion {name!r}")
        passed = _yes_no(item.get("answer"))
        if passed is None:
            return ParsedJudgment(
                None, f"criterion {name!r}: answer {item.get('answer')!r} is not yes or no"
            )
        rationale = item.get("rationale", "")
        if not isinstance(rationale, str) or not rationale.strip():
            return ParsedJudgment(None, f"criterion {name!r}: no rationale")
        answers.append(CriterionAnswer(name, passed, rationale.strip()))
    return ParsedJudgment(tuple(answers))
