"""Execution evidence: run generated code against the raw code it came from, in a sandbox.

Low layer: imports only the standard library and ``pipeline.records``. Public surface:

* :func:`verify_instance` / :func:`verify_many`: one verdict, or many on parallel sandboxes;
* :func:`bug_is_observable`: lets the offline repair generator discard bugs that change nothing;
* :func:`run_python` and :class:`Limits`: the sandbox itself; :func:`mechanism` says which one.
"""

from pipeline.verify.differential import (
    VerifyConfig,
    bug_is_observable,
    verify_instance,
    verify_many,
)
from pipeline.verify.inputs import build_inputs
from pipeline.verify.model import CallInput, ExecJob, ExecutionVerdict, ExecVerdict
from pipeline.verify.sandbox import Limits, SandboxResult, mechanism, run_python

__all__ = [
    "CallInput",
    "ExecJob",
    "ExecVerdict",
    "ExecutionVerdict",
    "Limits",
    "SandboxResult",
    "VerifyConfig",
    "bug_is_observable",
    "build_inputs",
    "mechanism",
    "run_python",
    "verify_instance",
    "verify_many",
]
