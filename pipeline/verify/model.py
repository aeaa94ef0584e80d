"""Records of the verify engine: what to check (:class:`ExecJob`) and what was found."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.records import ExecutionEvidence, ExecVerdict, Task

__all__ = ["CallInput", "ExecJob", "ExecVerdict", "ExecutionVerdict"]


@dataclass(frozen=True)
class ExecJob:
    """One instance to check. ``key`` is the caller's id, handed back with the verdict.

    ``reference_code`` is the sample's raw code (the oracle); ``reference_imports`` the import lines
    of its source file (may be empty); ``candidate_code`` the generated output; ``buggy_code`` the
    repair task's input (code_repair only).
    """

    key: str
    task: Task
    language: str
    func_name: str
    reference_code: str
    candidate_code: str
    reference_imports: str = ""
    buggy_code: str = ""
    target_language: str = ""


@dataclass(frozen=True)
class CallInput:
    """One call: ``setup`` statements run first, then ``call`` evaluates to ``(args, kwargs)``.

    ``shown`` is how a person reads it (``f(1, 'a')``); ``origin`` is ``doctest``, ``docstring``,
    ``signature`` (types, defaults, names) or ``literals``.
    """

    call: str
    shown: str
    origin: str
    setup: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionVerdict(ExecutionEvidence):
    """The execution evidence for one instance, its verdict typed.

    ``inputs`` are the calls tried (as shown); ``agreed`` counts inputs on which the reference
    returned normally and the candidate agreed; for a failure ``failing_input``, ``expected`` and
    ``got`` name it. ``mechanism`` says which sandbox ran it; ``seconds`` the wall time of the
    whole check. ``to_json`` is the shape the store and the ``full`` export carry.
    """

    verdict: ExecVerdict
