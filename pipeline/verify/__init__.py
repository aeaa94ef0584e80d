"""Execution evidence: run generated code against the raw code it came from, in a sandbox.

Low layer: imports only the standard library, ``pipeline.records`` and ``pipeline.config`` (whose
``VerifyConfig`` is the one settings type: ``[verify]``). Public surface:

* :func:`verify_instance` / :func:`verify_many`: one verdict, or many on parallel sandboxes;
* :func:`bug_is_observable`: lets the offline repair generator discard bugs that change nothing;
* :func:`run_python` and :class:`Limits`: the sandbox itself; :func:`mechanism` says which one.
"""

from pipeline.config import VerifyConfig
from pipeline.verify.differential import (
    ENGINE_VERSION,
    bug_is_observable,
    limits_for,
    verify_instance,
    verify_many,
)
from pipeline.verify.inputs import build_inputs
from pipeline.verify.model import CallInput, ExecJob, ExecutionVerdict, ExecVerdict
from pipeline.verify.sandbox import Limits, SandboxResult, mechanism, run_python

__all__ = [
    "ENGINE_VERSION",
    "CallInput",
    "ExecJob",
    "ExecVerdict",
    "ExecutionVerdict",
    "Limits",
    "SandboxResult",
    "VerifyConfig",
    "bug_is_observable",
    "build_inputs",
    "limits_for",
    "mechanism",
    "run_python",
    "verify_instance",
    "verify_many",
]
