"""Differential execution on real standard-library functions, with planted bugs and without."""

from __future__ import annotations

import textwrap

import pytest

from pipeline.records import Task
from pipeline.verify import (
    ExecJob,
    ExecVerdict,
    VerifyConfig,
    bug_is_observable,
    build_inputs,
    limits_for,
    verify_instance,
    verify_many,
)
from pipeline.verify.stdlib_cases import plant_bug, stdlib_function

# real functions whose inputs the engine can build from their signature or docstring
CASES = [
    ("string", "capwords"),
    ("textwrap", "indent"),
    ("colorsys", "rgb_to_hsv"),
    ("html", "escape"),
]
# real functions with a comparison or an operator to flip
PLANTABLE = [
    ("textwrap", "indent"),
    ("colorsys", "rgb_to_hsv"),
    ("calendar", "isleap"),
    ("heapq", "nlargest"),
]


def _job(
    module: str,
    name: str,
    candidate: str | None = None,
    task: Task = Task.GENERATION,
    buggy: str = "",
) -> ExecJob:
    fn = stdlib_function(module, name)
    return ExecJob(
        key=f"{module}.{name}",
        task=task,
        language="python",
        func_name=name,
        reference_code=fn.code,
        candidate_code=fn.code if candidate is None else candidate,
        reference_imports=fn.imports,
        buggy_code=buggy,
    )


@pytest.mark.parametrize(("module", "name"), CASES)
def test_the_unchanged_function_passes(module: str, name: str) -> None:
    verdict = verify_instance(_job(module, name))
    assert verdict.verdict == ExecVerdict.PASS, verdict.detail
    assert verdict.agreed >= 3
    assert len(verdict.inputs) >= 3


@pytest.mark.parametrize(("module", "name"), PLANTABLE)
def test_a_planted_bug_fails_naming_the_input(module: str, name: str) -> None:
    fn = stdlib_function(module, name)
    buggy = plant_bug(fn.code)
    assert buggy is not None
    verdict = verify_instance(_job(module, name, candidate=buggy))
    assert verdict.verdict == ExecVerdict.FAIL, verdict.detail
    assert verdict.failing_input is not None and verdict.failing_input.startswith(f"{name}(")
    assert verdict.failing_input in verdict.detail
    assert verdict.expected != verdict.got


def test_capwords_bug_detail_shows_expected_and_got() -> None:
    fn = stdlib_function("string", "capwords")
    verdict = verify_instance(
        _job("string", "capwords", fn.code.replace("str.capitalize", "str.upper"))
    )
    assert verdict.verdict == ExecVerdict.FAIL
    assert verdict.expected is not None and verdict.got is not None
    assert verdict.got == verdict.expected.upper()


def test_output_that_does_not_parse_or_define_the_function_fails() -> None:
    assert (
        verify_instance(_job("string", "capwords", "def capwords(s:\n")).verdict == ExecVerdict.FAIL
    )
    missing = verify_instance(_job("string", "capwords", "def other(s):\n    return s\n"))
    assert missing.verdict == ExecVerdict.FAIL
    assert "does not define a function named capwords" in missing.detail


def test_a_hostile_output_costs_only_its_verdict() -> None:
    loop = verify_instance(
        _job("string", "capwords", "def capwords(s, sep=None):\n    while True:\n        pass\n")
    )
    assert loop.verdict == ExecVerdict.FAIL
    assert loop.got is not None and "timed out" in loop.got
    bomb = verify_instance(
        _job("string", "capwords", "def capwords(s, sep=None):\n    return bytearray(10**11)\n")
    )
    assert bomb.verdict == ExecVerdict.FAIL
    exits = verify_instance(
        _job("string", "capwords", "import os\ndef capwords(s, sep=None):\n    os._exit(0)\n")
    )
    assert exits.verdict == ExecVerdict.FAIL
    assert "broke the sandbox" in exits.detail


def test_a_crash_the_reference_does_not_have_fails() -> None:
    crash = "def capwords(s, sep=None):\n    raise ValueError('no')\n"
    verdict = verify_instance(_job("string", "capwords", crash))
    assert verdict.verdict == ExecVerdict.FAIL
    assert verdict.got is not None and "ValueError" in verdict.got


def test_repair_with_a_visible_bug_and_a_correct_fix_passes() -> None:
    fn = stdlib_function("colorsys", "rgb_to_hsv")
    buggy = plant_bug(fn.code)
    assert buggy is not None
    verdict = verify_instance(_job("colorsys", "rgb_to_hsv", task=Task.REPAIR, buggy=buggy))
    assert verdict.verdict == ExecVerdict.PASS, verdict.detail
    assert "buggy input differs" in verdict.detail


def test_repair_whose_bug_changes_nothing_fails() -> None:
    fn = stdlib_function("string", "capwords")
    invisible = fn.code.replace("(sep or ' ')", '(sep or " ")')  # same program, new spelling
    assert invisible != fn.code
    verdict = verify_instance(_job("string", "capwords", task=Task.REPAIR, buggy=invisible))
    assert verdict.verdict == ExecVerdict.FAIL
    assert "changes nothing observable" in verdict.detail
    assert bug_is_observable(fn.code, invisible, "capwords", fn.imports) is False
    assert bug_is_observable(fn.code, plant_bug(fn.code) or "", "capwords", fn.imports) is True


def test_repair_whose_fix_is_still_wrong_fails() -> None:
    fn = stdlib_function("colorsys", "rgb_to_hsv")
    buggy = plant_bug(fn.code) or ""
    verdict = verify_instance(
        _job("colorsys", "rgb_to_hsv", candidate=buggy, task=Task.REPAIR, buggy=buggy)
    )
    assert verdict.verdict == ExecVerdict.FAIL
    assert verdict.failing_input is not None


def test_doctest_examples_become_inputs_with_their_setup() -> None:
    code = textwrap.dedent(
        '''
        def total(xs, scale=1):
            """Sum, scaled.

            >>> data = [1, 2, 3]
            >>> total(data, scale=2)
            12
            Also total([4]) is 4.
            """
            return sum(xs) * scale
        '''
    )
    inputs = build_inputs(code, "total")
    assert inputs[0].origin == "doctest"
    assert inputs[0].shown == "total(data, scale=2)"
    assert inputs[0].setup == "data = [1, 2, 3]"
    assert inputs[1].origin == "docstring" and inputs[1].shown == "total([4])"
    assert build_inputs(code, "total") == inputs  # deterministic


def test_the_reference_crashing_everywhere_is_inconclusive() -> None:
    ref = "def f(x):\n    return undefined_helper(x)\n"
    job = ExecJob("k", Task.GENERATION, "python", "f", ref, ref)
    verdict = verify_instance(job)
    assert verdict.verdict == ExecVerdict.INCONCLUSIVE
    assert "normal return" in verdict.detail


def test_methods_summaries_and_other_languages_are_not_run() -> None:
    method = "def area(self, scale):\n    return self.w * scale\n"
    assert (
        verify_instance(ExecJob("k", Task.GENERATION, "python", "area", method, method)).verdict
        == ExecVerdict.INCONCLUSIVE
    )
    assert (
        verify_instance(
            ExecJob("k", Task.SUMMARIZATION, "python", "f", "def f(): pass", "")
        ).verdict
        == ExecVerdict.NOT_APPLICABLE
    )
    assert (
        verify_instance(ExecJob("k", Task.GENERATION, "go", "f", "func f() {}", "")).verdict
        == ExecVerdict.NOT_APPLICABLE
    )
    assert (
        verify_instance(
            ExecJob(
                "k", Task.TRANSLATION, "python", "f", "def f(): pass", "", target_language="java"
            )
        ).verdict
        == ExecVerdict.NOT_APPLICABLE
    )


def test_verify_many_returns_every_job_once() -> None:
    jobs = [_job(m, n) for m, n in CASES]
    results = list(verify_many(jobs, VerifyConfig(), workers=2))
    assert sorted(j.key for j, _ in results) == sorted(j.key for j in jobs)
    assert all(v.verdict == ExecVerdict.PASS for _, v in results)


def test_the_reference_runs_with_its_files_import_lines() -> None:
    ref = "def norm(xs: list[float]) -> float:\n    return float(np.sqrt(np.sum(np.square(xs))))\n"
    wrong = "def norm(xs: list[float]) -> float:\n    return float(np.sum(np.abs(xs)))\n"
    job = ExecJob(
        "k", Task.GENERATION, "python", "norm", ref, ref, reference_imports="import numpy as np"
    )
    assert verify_instance(job).verdict == ExecVerdict.PASS
    bad = ExecJob(
        "k", Task.GENERATION, "python", "norm", ref, wrong, reference_imports="import numpy as np"
    )
    assert verify_instance(bad).verdict == ExecVerdict.FAIL


def test_a_slow_reference_is_judged_on_the_inputs_done_within_budget() -> None:
    ref = "import time\ndef slow(n: int) -> int:\n    time.sleep(0.3)\n    return n * 2\n"
    config = VerifyConfig(cpu_s=4, wall_s=4, per_call_s=1.0, max_inputs=24)
    verdict = verify_instance(ExecJob("k", Task.GENERATION, "python", "slow", ref, ref), config)
    # 24 inputs x 3 calls x 0.3 s would pass the 4 s wall clock; the budget stops early instead
    assert verdict.verdict == ExecVerdict.PASS, verdict.detail
    assert 3 <= verdict.agreed < 24


def test_a_reference_without_its_context_is_no_oracle() -> None:
    # a nested function's enclosing names are not in the sample: the reference raises NameError
    # on every input, and an output that brings the name in is not failed for it
    reference = (
        "def scaled(x: int) -> int:\n"
        '    """Return x times the enclosing factor."""\n'
        "    return x * factor\n"
    )
    candidate = "factor = 3\n\n" + reference
    job = ExecJob("k", Task.GENERATION, "python", "scaled", reference, candidate)
    verdict = verify_instance(job)
    assert verdict.verdict == ExecVerdict.INCONCLUSIVE, verdict.detail


def test_an_output_importing_a_module_this_machine_lacks_is_inconclusive() -> None:
    fn = stdlib_function("textwrap", "indent")
    candidate = "import no_such_module_here\n\n" + fn.code
    job = ExecJob("k", Task.GENERATION, "python", "indent", fn.code, candidate, fn.imports)
    verdict = verify_instance(job)
    assert verdict.verdict == ExecVerdict.INCONCLUSIVE
    assert "lacks" in verdict.detail


def test_limits_for_takes_every_sandbox_limit_of_verify_config() -> None:
    config = VerifyConfig(
        cpu_s=3, wall_s=7.5, memory_mb=300, processes=5, file_mb=2, per_call_s=0.5
    )
    limits = limits_for(config)
    assert (limits.cpu_s, limits.wall_s, limits.memory_mb) == (3, 7.5, 300)
    assert (limits.processes, limits.file_mb, limits.per_call_s) == (5, 2, 0.5)
    assert limits.output_kb == 64 and limits.audit_hook  # not in [verify]: the defaults
