"""The offline provider: import inference, bug injection, the Generator per task, the checks."""

from __future__ import annotations

import ast
import hashlib
import json
import textwrap

import pytest
from test_llm_samples import SAMPLES, lexical_embed

from pipeline.config import JudgeConfig
from pipeline.llm.base import NoJournal
from pipeline.llm.offline.checks import CHECKS, CheckEnv
from pipeline.llm.offline.generator import OfflineGenerator, generation_instruction
from pipeline.llm.offline.imports import free_names, infer_imports
from pipeline.llm.offline.judge import OfflineJudge, judge_draft
from pipeline.llm.offline.mutate import mutate
from pipeline.llm.render import Draft, judge_request
from pipeline.prompts import load_prompts
from pipeline.records import Task


def _sim(a: str, b: str) -> float:
    v = lexical_embed([a, b])
    return float(v[0] @ v[1])


ENV = CheckEnv(similarity=_sim, relevance_threshold=0.2)


# -- imports ------------------------------------------------------------------------------------
def test_free_names_report_line_and_module_use() -> None:
    code = "def f(x):\n    y = helper(x)\n    return math.sqrt(y) + len(x)\n"
    names = free_names(code)
    assert names is not None
    assert [(n.name, n.line, n.as_module) for n in names] == [
        ("helper", 2, False),
        ("math", 3, True),
    ]


def test_free_names_follow_python_scoping() -> None:
    code = textwrap.dedent(
        """
        import os
        def f(a, *args, k=1, **kw):
            total = 0
            def inner():
                return total + a
            squares = [i * i for i in range(k)]
            try:
                pass
            except ValueError as e:
                print(e)
            return os.sep, inner, squares, args, kw, f
        """
    )
    assert free_names(code) == []
    assert free_names("def f(:\n") is None


def test_infer_imports_adds_stdlib_modules_used_as_attributes() -> None:
    code = (
        "def f(p):\n    x = xml.dom.minidom.parseString(p)\n"
        "    return os.path.join(math.pi, x), helper.run(), collections.OrderedDict()\n"
    )
    assert infer_imports(code) == [
        "import collections",
        "import math",
        "import os",
        "import xml.dom.minidom",
    ]  # never `helper`: not a standard-library module


# -- mutations ----------------------------------------------------------------------------------
MUTABLE = '''def find(items, target, limit):
    """Index of target among the first limit items, or -1."""
    for i in range(limit + 1):
        if items[i] == target and i < len(items) - 1:
            return items.index(target, i)
    return -1
'''


def test_mutation_is_deterministic_parses_and_explains_the_line() -> None:
    first = mutate(MUTABLE, "seed")
    assert first is not None
    assert first == mutate(MUTABLE, "seed")
    ast.parse(first.buggy_code)
    assert first.buggy_code != MUTABLE
    assert f"Line {first.line}" in first.explanation
    assert first.buggy in first.buggy_code.splitlines()[first.line - 1] or "\n" in first.buggy
    # exactly one place changed: the rest of the code is byte for byte the same
    changed = [
        i
        for i, (a, b) in enumerate(
            zip(MUTABLE.splitlines(), first.buggy_code.splitlines(), strict=True)
        )
        if a != b
    ]
    assert len(changed) <= 1


def test_every_kind_of_mutation_is_reachable() -> None:
    kinds = {m.kind for seed in range(80) if (m := mutate(MUTABLE, str(seed)))}
    assert kinds == {
        "flipped_comparison", "off_by_one", "swapped_arguments", "dropped_return",
        "boolean_operator", "arithmetic_operator",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("code", "kind", "buggy", "fixed"),
    [
        ("def f(a, b):\n    return a < b\n", "flipped_comparison", "a > b", "a < b"),
        ("def f(n):\n    return list(range(1, n + 1))\n", "off_by_one", "range(1, n)", "range(1, n + 1)"),
        ("def f(x):\n    return x[len(x) - 1]\n", "off_by_one", "len(x)", "len(x) - 1"),
        ("def f(d, k):\n    return isinstance(d, k)\n", "swapped_arguments", "isinstance(k, d)", "isinstance(d, k)"),
        ("def f(a, b):\n    return a and b\n", "boolean_operator", "a or b", "a and b"),
    ],
)  # fmt: skip
def test_mutation_kinds(code: str, kind: str, buggy: str, fixed: str) -> None:
    found = [m for s in range(40) if (m := mutate(code, str(s))) and m.kind == kind]
    assert found, kind
    m = found[0]
    assert (m.buggy, m.fixed) == (buggy, fixed)
    assert f"`{buggy}`" in m.explanation and f"`{fixed}`" in m.explanation


def test_no_site_no_mutation() -> None:
    assert mutate("def f():\n    pass\n", "0") is None
    assert mutate("not python (", "0") is None


# -- the Generator ------------------------------------------------------------------------------
def _generate(sample_index: int, task: Task, target: str = "") -> dict[str, str] | str:
    s = SAMPLES[sample_index]
    context = {
        "task": task.value, "language": s.language, "func_name": s.func_name,
        "docstring": s.docstring, "code": s.code, "code_nodoc": s.code_nodoc,
        "target_language": target,
    }  # fmt: skip
    answer = OfflineGenerator(seed=0).generate(context)
    if answer.stop_reason == "skipped":
        return answer.error
    return dict(json.loads(answer.text))


def test_generation_turns_docstring_and_signature_into_the_instruction() -> None:
    out = _generate(0, Task.GENERATION)
    assert isinstance(out, dict)
    assert out["instruction"] == (
        "Write a Python function `hypotenuse(a, b)` that returns the length of the hypotenuse "
        "of a right triangle with legs a and b."
    )
    assert out["output"].startswith("import math\n\n\ndef hypotenuse(a, b):")
    assert out["input"] == ""


@pytest.mark.parametrize(
    ("signature", "doc", "expected"),
    [
        ("f(x)", "Compute the mean.", "Write a Python function `f(x)` that computes the mean."),
        ("f(x)", "Returns a copy.", "Write a Python function `f(x)` that returns a copy."),
        ("g(self)", "Apply it.", "Write a Python method `g(self)` that applies it."),
        ("h()", "Helper for e.g. parsing. More text.", "Write a Python function `h()` for this purpose: helper for e.g. parsing."),
    ],
)  # fmt: skip
def test_generation_instruction(signature: str, doc: str, expected: str) -> None:
    assert generation_instruction(signature, doc, "Python") == expected


def test_summarization_documents_with_the_human_docstring() -> None:
    out = _generate(3, Task.SUMMARIZATION)
    assert isinstance(out, dict)
    assert out["output"] == "Limit value to the closed range from low to high."
    assert '"""' not in out["input"] and "def clamp" in out["input"]
    assert "Python" in out["instruction"]


def test_repair_injects_a_bug_and_explains_the_fix() -> None:
    out = _generate(5, Task.REPAIR)
    assert isinstance(out, dict)
    assert out["input"] != SAMPLES[5].code
    assert out["output"].startswith(SAMPLES[5].code.rstrip())
    assert "# Fix: Line " in out["output"]
    ast.parse(out["input"])
    ast.parse(out["output"])


def test_translation_and_non_python_code_are_skipped_with_the_reason() -> None:
    reason = _generate(0, Task.TRANSLATION, "Go")
    assert isinstance(reason, str) and "cannot translate Python into Go" in reason
    assert "Python only" in str(_generate(10, Task.GENERATION))
    js = _generate(10, Task.SUMMARIZATION)
    assert isinstance(js, dict) and "JavaScript" in js["instruction"]


# -- the checks ---------------------------------------------------------------------------------
def _check(name: str, **fields: str) -> tuple[bool | None, str]:
    base = {"task": "code_generation", "language": "python", "instruction": "", "input": "",
            "output": ""}  # fmt: skip
    return CHECKS[name](Draft(**{**base, **fields}), ENV)


def test_imports_check_names_the_module_and_line() -> None:
    passed, why = _check(
        "imports_used", output="def f(x):\n    y = abs(x)\n    return math.sqrt(y)\n"
    )
    assert passed is False
    assert why == "`math` is used on line 3 but never imported."
    passed, why = _check("imports_used", output="import math\n\ndef f(x):\n    return math.e\n")
    assert passed is True


def test_imports_check_names_the_file_a_missing_helper_comes_from() -> None:
    source = "def compare(self, other):\n    other = _convert_other(other)\n    return other\n"
    passed, why = _check(
        "imports_used", output=source, source_path="Lib/decimal.py", source_code=source
    )
    assert passed is False
    assert (
        why
        == "`_convert_other` (line 2) is defined or imported elsewhere in decimal.py, not in the solution."
    )
    # a name the source does not use (the output made it up) is not blamed on the file
    made_up = "def compare(self, other):\n    return _helper(other)\n"
    passed, why = _check(
        "imports_used", output=made_up, source_path="Lib/decimal.py", source_code=source
    )
    assert why == "`_helper` is used on line 2 but never defined or imported."


@pytest.mark.parametrize(
    ("output", "passed", "phrase"),
    [
        ("def f(self):\n    return self.x\n", False, "a bare return of an attribute (`return self.x`)"),
        ("def f(self):\n    \"\"\"Doc.\"\"\"\n    pass\n", False, "one statement, `pass`"),
        ("def f():\n    ...\n", False, "`...`"),
        ("def f():\n    raise NotImplementedError\n", False, "NotImplementedError"),
        ("def set_x(self, x):\n    self.x = x\n", False, "one attribute assignment"),
        ("def f(xs):\n    return sum(x * x for x in xs)\n", True, "does real work"),
        ("def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n", True, "4 statements"),
        ("class A:\n    def g(self):\n        return self.y\n    def h(self, n):\n        return n * 2\n", True, "`h` does real work"),
    ],
)  # fmt: skip
def test_trivial_code_fails_the_nontrivial_criterion(
    output: str, passed: bool, phrase: str
) -> None:
    got, why = _check("nontrivial", output=output)
    assert got is passed and phrase in why, why


@pytest.mark.parametrize(
    ("name", "fields", "passed", "phrase"),
    [
        ("names_language", {"instruction": "Write a Python function."}, True, "names Python"),
        ("names_language", {"instruction": "Write a function."}, False, "never names Python"),
        ("code_only", {"output": "Here is the code:\ndef f():\n    return 1\n"}, False, "Line 1"),
        ("code_only", {"output": "```python\ndef f():\n    pass\n```"}, False, "Markdown fence"),
        ("code_only", {"output": "def f():\n    return 1  # one\n"}, True, "parses as Python"),
        ("clear_logic", {"output": "def f(x):\n" + "".join("    " * (i + 1) + "if x:\n" for i in range(6)) + "    " * 7 + "return 1\n"}, False, "6 levels"),
        ("clear_logic", {"output": "def f(x):\n    return x\n"}, True, "at most 0 levels"),
        ("relevant", {"instruction": "Write a Python function `area(r)` for a circle.", "output": "def size(r):\n    return r\n"}, False, "asks for `area`"),
        ("relevant", {"instruction": "Return the circle area from the radius.", "output": "def circle_area(radius):\n    return 3.14 * radius * radius\n"}, True, "cosine similarity"),
        ("input_is_code", {"input": "# just a comment\n"}, False, "no executable statement"),
        ("input_is_code", {"input": "def f():\n    return 1\n"}, True, "Python code"),
        ("concise", {"output": "word " * 200}, False, "200 words"),
        ("prose_only", {"input": "def f(x):\n    return x * 2 + 1\n", "output": "return x * 2 + 1"}, False, "copied"),
        ("real_error", {"input": "def f(a):\n    return a\n", "output": "def f(a):\n    return a\n"}, False, "nothing was fixed"),
        ("real_error", {"input": "def f(a, b):\n    return a > b\n", "output": "def f(a, b):\n    return a < b\n"}, True, "line 2"),
        ("explains_error", {"input": "x = 1\n", "output": "x = 2\n# Fix: line 1 set `x` to 1, it must be 2.\n"}, True, "line 1"),
        ("explains_error", {"input": "x = 1\n", "output": "x = 2\n"}, False, "no comment"),
        ("minimal_fix", {"input": "def f(a, b):\n    return a > b\n", "output": "def f(a, b):\n    return a < b\n"}, True, "like the input"),
        ("fix_valid", {"output": "def f(:\n"}, False, "does not parse"),
        ("target_language", {"output": "func f() int {\n\treturn 1\n}", "target_language": "Go"}, True, "Go syntax"),
        ("target_language", {"output": "def f():\n    return 1\n", "target_language": "Go"}, False, "Python"),
        ("equivalent", {"output": "x"}, None, "cannot check"),
    ],
)  # fmt: skip
def test_checks_table(name: str, fields: dict[str, str], passed: bool | None, phrase: str) -> None:
    result, why = _check(name, **fields)
    assert result is passed, why
    assert phrase in why


def test_offline_judge_answers_every_criterion_in_the_schema() -> None:
    prompts = load_prompts()
    draft = Draft(
        "code_generation", "python",
        "Write a Python function `circle_area(radius)` that returns the area of a circle.", "",
        "import math\n\n\ndef circle_area(radius):\n    \"\"\"Area of a circle.\"\"\"\n"
        "    return math.pi * radius * radius\n",
    )  # fmt: skip
    request = judge_request(draft, prompts=prompts, model="offline", max_tokens=10)
    judge = OfflineJudge(lexical_embed, embed_key="lexical", cfg=JudgeConfig())
    [(_key, answer)] = list(judge.answer({"k": request}, NoJournal()))
    body = json.loads(answer.text)
    assert list(body) == [c.id for c in prompts.tasks[Task.GENERATION].criteria]
    assert all(v["answer"] == "yes" for v in body.values()), body
    skipped = judge_draft(
        Draft("code_translation", "python", "Translate into Go.", "x = 1", "x := 1", "Go"),
        ["equivalent"], ENV,
    )  # fmt: skip
    assert skipped.stop_reason == "skipped" and "behaviour" in skipped.error


_NOTHING_SHOWS = '''def settle(x: int) -> None:
    """Work out a flag and a total for x, and keep neither."""
    flag = x > 0
    total = x + 1
'''
_ONE_INVISIBLE = '''def bump(x: int) -> int:
    """Return x plus one."""
    unused = x > 0
    return x + 1
'''


def _repair_context(code: str) -> dict[str, str]:
    name = code.split("(")[0].removeprefix("def ")
    return {"task": "code_repair", "language": "python", "func_name": name, "code": code,
            "docstring": ast.get_docstring(ast.parse(code).body[0]) or ""}  # type: ignore[arg-type]  # fmt: skip


def test_repair_discards_bugs_that_change_nothing_observable() -> None:
    # the generator's seeds for which the unchecked mutator picks the invisible flip
    digest = hashlib.sha256(_ONE_INVISIBLE.encode()).hexdigest()
    unchecked = {s: mutate(_ONE_INVISIBLE, f"{s}:{digest}") for s in range(16)}
    flips = [s for s, m in unchecked.items() if m and m.kind == "flipped_comparison"]
    assert flips
    # the generator, for those seeds, keeps a bug that changes what bump returns instead
    for seed in flips[:3]:
        out = OfflineGenerator(seed).generate(_repair_context(_ONE_INVISIBLE))
        body = json.loads(out.text)
        assert "unused = x > 0" in body["input"], body["input"]
        assert body["input"] != _ONE_INVISIBLE
    # a function where no bug can show is skipped, with the reason
    out = OfflineGenerator(0).generate(_repair_context(_NOTHING_SHOWS))
    assert out.stop_reason == "skipped"
    assert "changes nothing" in out.error
