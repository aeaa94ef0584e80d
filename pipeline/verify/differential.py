"""Differential execution: run the candidate (and a repair task's buggy input) against the
reference on the same inputs, in one sandboxed process per instance, and decide a verdict.

Rules (issue 10):

* code_generation: ``pass`` when at least ``min_inputs`` inputs ran on which the reference returned
  normally (1 is enough when every input came from the docstring's own examples) and the candidate
  agreed on every input (equal value, or the same exception type); ``fail`` on any disagreement, a
  candidate that does not parse or define the function, or a crash/timeout the reference does not
  have; ``inconclusive`` when no input could be built or run (no inputs, a method, the reference
  fails to load or raises on everything, too few informative inputs).
* code_repair: as above for the fixed output, and the buggy input must disagree with the reference
  on at least one input, else ``fail`` ("the planted bug changes nothing observable").
* code_summarization and everything not Python→Python: ``not_applicable``.

Inputs on which the reference is not deterministic (two runs disagree) are dropped.
The harness stops starting new inputs once half the CPU/wall limit is spent and decides on the
inputs done (a slow but honest reference is not killed mid-run).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from pipeline.config import VerifyConfig
from pipeline.records import Task
from pipeline.verify.inputs import build_inputs, find_function, is_method
from pipeline.verify.model import CallInput, ExecJob, ExecutionVerdict, ExecVerdict
from pipeline.verify.sandbox import Limits, SandboxResult, mechanism, run_python

_HARNESS = (Path(__file__).parent / "harness_main.py").read_text(encoding="utf-8")
_RUNNABLE = {"python", "py"}
# bumped whenever a rule here changes a verdict: stored verdicts of an older engine are redone
ENGINE_VERSION = "verify-2"
# exceptions that say the reference's own context is missing, not how it behaves
_CONTEXT_MISSING = {"NameError", "ImportError", "ModuleNotFoundError"}
_MISSING_MODULE = ("ModuleNotFoundError", "ImportError")


# the `Limits` fields `[verify]` sets, under the same names
_VERIFY_LIMITS = ("cpu_s", "wall_s", "memory_mb", "processes", "file_mb", "per_call_s")


def limits_for(config: VerifyConfig) -> Limits:
    """The sandbox limits of `[verify]` (the other fields of `Limits` keep their defaults)."""
    return Limits(**{name: getattr(config, name) for name in _VERIFY_LIMITS})


def _verdict(
    kind: ExecVerdict, detail: str, inputs: list[CallInput] | None = None, **kw: Any
) -> ExecutionVerdict:
    shown = tuple(i.shown for i in inputs or [])
    return ExecutionVerdict(kind, detail, shown, mechanism=mechanism(), **kw)


def verify_instance(job: ExecJob, config: VerifyConfig | None = None) -> ExecutionVerdict:
    """The execution verdict for one instance under `config` (default: `[verify]`'s defaults),
    with the wall seconds it took. Never raises for anything the code does."""
    started = time.perf_counter()
    verdict = _verify(job, config or VerifyConfig())
    return dataclasses.replace(verdict, seconds=time.perf_counter() - started)


def _verify(job: ExecJob, config: VerifyConfig) -> ExecutionVerdict:
    if job.task == Task.SUMMARIZATION:
        return _verdict(ExecVerdict.NOT_APPLICABLE, "code summarization produces no code to run")
    if job.language.lower() not in _RUNNABLE:
        return _verdict(
            ExecVerdict.NOT_APPLICABLE, f"only Python is run (this sample is {job.language})"
        )
    if job.task == Task.TRANSLATION:
        return _verdict(
            ExecVerdict.NOT_APPLICABLE,
            f"translation to {job.target_language or 'another language'} is not run yet",
        )
    if not job.func_name or not job.reference_code.strip():
        return _verdict(ExecVerdict.INCONCLUSIVE, "no reference function to compare against")
    try:
        tree = ast.parse(job.reference_code)
    except SyntaxError as exc:
        return _verdict(
            ExecVerdict.INCONCLUSIVE, f"the reference does not parse: {exc.msg} (line {exc.lineno})"
        )
    func = find_function(tree, job.func_name)
    if func is None:
        return _verdict(ExecVerdict.INCONCLUSIVE, f"the reference does not define {job.func_name}")
    if is_method(func):
        # the raw sample is one method: its class (fields, other methods) is not in the sample,
        # so no instance can be built honestly
        return _verdict(
            ExecVerdict.INCONCLUSIVE, f"{job.func_name} is a method; its class is not in the sample"
        )
    try:
        ast.parse(job.candidate_code)
    except SyntaxError as exc:
        return _verdict(
            ExecVerdict.FAIL, f"the output does not parse: {exc.msg} (line {exc.lineno})"
        )
    inputs = build_inputs(job.reference_code, job.func_name, config.max_inputs)
    if not inputs:
        return _verdict(
            ExecVerdict.INCONCLUSIVE, "no input could be built from the signature or docstring"
        )
    repair = job.task == Task.REPAIR
    payload = {
        "func_name": job.func_name,
        "imports": job.reference_imports,
        "reference": job.reference_code,
        "cand": job.candidate_code,
        "buggy": job.buggy_code if repair else None,
        "inputs": [{"call": i.call, "setup": i.setup} for i in inputs],
        "per_call_s": config.per_call_s,
        # stop starting inputs well before the sandbox's CPU or wall limit would kill the run
        "budget_s": 0.5 * min(config.cpu_s, config.wall_s),
    }
    result = run_python(_HARNESS, limits_for(config), files={"job.json": json.dumps(payload)})
    return _decide(result, inputs, repair, config)


def _outcome(item: dict[str, Any]) -> str:
    if "ok" in item:
        return str(item.get("repr", ""))
    if item.get("timeout"):
        return "timed out (per-call limit)"
    if "exc" in item:
        msg = item.get("msg") or ""
        return f"raised {item['exc']}" + (f": {msg}" if msg else "")
    if "input_error" in item:
        return f"input could not be built: {item['input_error']}"
    return "no result"


def _decide(
    result: SandboxResult, inputs: list[CallInput], repair: bool, config: VerifyConfig
) -> ExecutionVerdict:
    loads = {e["load"]: str(e.get("error")) for e in result.events if "load" in e}
    rows = [e for e in result.events if "i" in e and "ref" in e and isinstance(e["i"], int)]
    done = any(e.get("done") is True for e in result.events)
    if "ref" in loads:
        return _verdict(
            ExecVerdict.INCONCLUSIVE, f"the reference does not load: {loads['ref']}", inputs
        )
    if "cand" in loads and loads["cand"].startswith(_MISSING_MODULE):
        # a module this machine lacks (tkinter on a server): the output cannot be judged here
        return _verdict(
            ExecVerdict.INCONCLUSIVE,
            f"the output imports a module this machine lacks: {loads['cand']}",
            inputs,
        )
    if "cand" in loads:
        return _verdict(ExecVerdict.FAIL, f"the output does not load: {loads['cand']}", inputs)
    informative = 0
    agreed = 0
    buggy_differs: tuple[str, str, str] | None = None
    for row in rows:
        i = row["i"]
        if not 0 <= i < len(inputs):
            continue
        ref = row["ref"]
        shown = inputs[i].shown
        if not row.get("ref_stable") or "input_error" in ref or ref.get("timeout"):
            continue  # nothing to compare against on this input
        if ref.get("exc") in _CONTEXT_MISSING:
            # the reference lacks its context (an enclosing function's names, a module this
            # machine lacks): it is no oracle on this input
            continue
        cand = row.get("cand", {})
        if "cand" in row and not row.get("cand_agrees"):
            return _verdict(
                ExecVerdict.FAIL,
                f"on {shown}: expected {_outcome(ref)}, got {_outcome(cand)}",
                inputs,
                agreed=agreed,
                failing_input=shown,
                expected=_outcome(ref),
                got=_outcome(cand),
            )
        if "ok" in ref:
            informative += 1
            agreed += 1
        if (
            repair
            and buggy_differs is None
            and ("buggy" in loads or ("buggy" in row and not row.get("buggy_agrees")))
        ):
            buggy_differs = (
                shown,
                _outcome(ref),
                loads.get("buggy") or _outcome(row.get("buggy", {})),
            )
    if not done:
        # the process died mid-run: blame the side that was running
        starts = [e for e in result.events if "start" in e]
        last = starts[-1] if starts else {"start": "ref", "i": 0}
        reason = result.reason or "the harness stopped without finishing"
        i = last.get("i", 0)
        shown = inputs[i].shown if isinstance(i, int) and 0 <= i < len(inputs) else "?"
        # the candidate breaking it fails the output; the reference breaking it proves nothing
        broke: dict[str, tuple[ExecVerdict, str, dict[str, Any]]] = {
            "cand": (
                ExecVerdict.FAIL,
                "the output",
                {"failing_input": shown, "expected": None, "got": reason},
            ),
            "ref": (ExecVerdict.INCONCLUSIVE, "the reference", {}),
        }
        if last["start"] in broke:
            kind, side, details = broke[last["start"]]
            message = f"{side} broke the sandbox on {shown}: {reason}"
            return _verdict(kind, message, inputs, agreed=agreed, **details)
        buggy_differs = buggy_differs or (shown, "", reason)
    needed = 1 if all(i.origin in ("doctest", "docstring") for i in inputs) else config.min_inputs
    if informative < needed:
        return _verdict(
            ExecVerdict.INCONCLUSIVE,
            f"only {informative} of {len(inputs)} inputs gave the reference a normal return "
            f"({needed} needed); the output agreed wherever compared",
            inputs,
            agreed=agreed,
        )
    if repair:
        if buggy_differs is None:
            return _verdict(
                ExecVerdict.FAIL,
                f"the planted bug changes nothing observable: the buggy input agrees with the "
                f"reference on all {informative} inputs",
                inputs,
                agreed=agreed,
            )
        shown, expected, got = buggy_differs
        return _verdict(
            ExecVerdict.PASS,
            f"the output agrees with the reference on {agreed} inputs; the buggy input differs on "
            f"{shown} (expected {expected}, buggy gave {got})",
            inputs,
            agreed=agreed,
        )
    return _verdict(
        ExecVerdict.PASS,
        f"the output agrees with the reference on {agreed} inputs",
        inputs,
        agreed=agreed,
    )


def bug_is_observable(
    reference_code: str,
    buggy_code: str,
    func_name: str,
    imports: str = "",
    config: VerifyConfig | None = None,
) -> bool | None:
    """For the offline repair generator: True when ``buggy_code`` disagrees with the reference on
    some built input, False when it agrees on enough of them (discard that bug), None when we
    cannot tell (too few inputs, a method, the reference does not run)."""
    job = ExecJob(
        key="",
        task=Task.REPAIR,
        language="python",
        func_name=func_name,
        reference_code=reference_code,
        candidate_code=reference_code,  # the "fix" is the reference itself: it always agrees
        reference_imports=imports,
        buggy_code=buggy_code,
    )
    verdict = verify_instance(job, config)
    if verdict.verdict == ExecVerdict.PASS:
        return True
    if verdict.verdict == ExecVerdict.FAIL and "changes nothing observable" in verdict.detail:
        return False
    return None


def verify_many(
    jobs: Iterable[ExecJob], config: VerifyConfig | None = None, workers: int = 2
) -> Iterator[tuple[ExecJob, ExecutionVerdict]]:
    """Verify ``jobs`` with ``workers`` sandboxes at once; yields ``(job, verdict)`` as each
    finishes (not in input order), so the caller can store each at once and resume after a kill.

    Threads suffice: each sandbox is its own process; a thread only waits on it.
    """
    pending: set[Future[ExecutionVerdict]] = set()
    owner: dict[Future[ExecutionVerdict], ExecJob] = {}
    source = iter(jobs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * max(1, workers):
                job = next(source, None)
                if job is None:
                    exhausted = True
                    break
                future = pool.submit(verify_instance, job, config)
                pending.add(future)
                owner[future] = job
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield owner.pop(future), future.result()
