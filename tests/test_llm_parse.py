"""Table tests of the answer parsers: clean, noisy, truncated and empty answers never raise."""

from __future__ import annotations

import json

import pytest

from pipeline.llm.parse import extract_json, parse_generation, parse_judgment

GEN = {"task": "code_generation", "instruction": "Write a Python function.", "input": "",
       "output": "def f():\n    return 1\n"}  # fmt: skip
GEN_TEXT = json.dumps(GEN)
JUDGE = {"a": {"rationale": "Fine.", "answer": "yes"}, "b": {"rationale": "Bad.", "answer": "no"}}


@pytest.mark.parametrize(
    ("text", "stop", "error"),
    [
        (GEN_TEXT, "end_turn", ""),
        (f"Here is the instance:\n{GEN_TEXT}\nHope this helps!", "end_turn", ""),
        (f"```json\n{GEN_TEXT}\n```", "end_turn", ""),
        (f"Sure.\n```\n{GEN_TEXT}\n```\n", "end_turn", ""),
        (json.dumps({**GEN, "input": None}), "end_turn", "no 'input'"),
        (json.dumps({k: v for k, v in GEN.items() if k != "input"}), "end_turn", ""),
        (GEN_TEXT[: len(GEN_TEXT) // 2], "end_turn", "looks cut off"),
        (GEN_TEXT[: len(GEN_TEXT) // 2], "max_tokens", "truncated"),
        (GEN_TEXT, "max_tokens", "truncated"),
        ("I can't help with that.", "refusal", "refused"),
        ("", "end_turn", "empty answer"),
        ("   \n ", "end_turn", "empty answer"),
        ("no json here at all", "end_turn", "no JSON object"),
        ("[1, 2, 3]", "end_turn", "no JSON object"),
        (json.dumps({**GEN, "output": 42}), "end_turn", "not a string"),
        (json.dumps({**GEN, "instruction": None}), "end_turn", "no 'instruction'"),
        (json.dumps({**GEN, "task": "code_repair"}), "end_turn", "not 'code_generation'"),
        ("{not json} " + GEN_TEXT, "end_turn", ""),
    ],
)
def test_parse_generation_table(text: str, stop: str, error: str) -> None:
    parsed = parse_generation(text, stop, "code_generation")
    if error:
        assert parsed.value is None
        assert error in parsed.error
    else:
        assert parsed.error == ""
        assert parsed.value is not None
        assert parsed.value.output.startswith("def f()")


@pytest.mark.parametrize(
    ("text", "stop", "error"),
    [
        (json.dumps(JUDGE), "end_turn", ""),
        ("Verdicts follow.\n" + json.dumps(JUDGE) + "\nDone.", "end_turn", ""),
        ("```json\n" + json.dumps(JUDGE) + "\n```", "end_turn", ""),
        (
            json.dumps(
                {
                    "a": {"rationale": "x", "answer": "Yes."},
                    "b": {"rationale": "y", "answer": False},
                }
            ),
            "end_turn",
            "",
        ),
        (
            json.dumps(
                {
                    "criteria": [
                        {"criterion": "a", "rationale": "x", "answer": "yes"},
                        {"criterion": "b", "rationale": "y", "answer": "no"},
                    ]
                }
            ),
            "end_turn",
            "",
        ),
        (json.dumps({"a": JUDGE["a"]}), "end_turn", "no answer for criterion 'b'"),
        (json.dumps({**JUDGE, "b": {"rationale": "y", "answer": "maybe"}}), "end_turn", "not yes"),
        (json.dumps({**JUDGE, "b": {"rationale": "", "answer": "no"}}), "end_turn", "no rationale"),
        (json.dumps(JUDGE)[:30], "max_tokens", "truncated"),
        ("", "end_turn", "empty answer"),
        ("Sorry.", "refusal", "refused"),
    ],
)
def test_parse_judgment_table(text: str, stop: str, error: str) -> None:
    parsed = parse_judgment(text, stop, ["a", "b"])
    if error:
        assert parsed.value is None
        assert error in parsed.error
    else:
        assert parsed.value is not None
        assert [(c.criterion, c.passed) for c in parsed.value] == [("a", True), ("b", False)]


@pytest.mark.parametrize(
    "garbage",
    ["{", "}", "{{{{", '{"a": ', "```json\n```", "\x00\x01", "{" * 10_000, "null", "💥"],
)
def test_parsers_never_raise(garbage: str) -> None:
    assert parse_generation(garbage, "end_turn", "code_generation").value is None
    assert parse_judgment(garbage, "end_turn", ["a"]).value is None
    assert extract_json(garbage)[0] is None
