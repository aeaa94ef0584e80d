"""`wavecurate verify`: run generated code against the raw code it came from, in a sandbox."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from pipeline.cli.common import add_command, add_executor_arg, open_workspace, with_executor
from pipeline.config import Config
from pipeline.textsafe import for_terminal


def add_parser(sub: Any) -> None:
    p = add_command(sub, "verify", cmd_verify)
    p.add_argument("--force", action="store_true", help="verify every instance again")
    p.add_argument("--json", action="store_true", help="print the counts as JSON for programs")
    add_executor_arg(p)


def cmd_verify(args: argparse.Namespace) -> int:
    """run generated code against its source function in a sandbox (execution verdicts)

    For every generated instance, run the output (and a repair task's buggy input) against the
    sample's own code on inputs built from the sample, each run in a sandbox, and store pass,
    fail, inconclusive or not_applicable with the inputs tried. Instances with a verdict under
    the same [verify] settings are not run again. With [verify] gate = true (the default) a fail
    rejects an instance no person has reviewed."""
    from pipeline.cli.steps import run_one

    def configure(cfg: Config) -> Config:
        verify = dataclasses.replace(cfg.verify, force=args.force)
        return with_executor(dataclasses.replace(cfg, verify=verify), args.executor)

    with open_workspace(args) as ws:
        return run_one(ws, "verify-json" if args.json else "verify", configure)


def format_verify(result: Any) -> str:
    """A verify run's summary for people: this run, then every stored verdict per task."""
    if result.current:
        head = f"verify: nothing new to run ({result.already:,} instances verified before)"
    else:
        head = (
            f"verify: {result.verified:,} instances in {result.seconds:.1f} s "
            f"({result.rate:.2f}/s), {result.already:,} verified before; sandbox: "
            f"{result.mechanism}"
        )
    lines = [head]
    names = ("pass", "fail", "inconclusive", "not_applicable")
    lines.append(f"  {'task':<20}" + "".join(f"{n:>16}" for n in names))
    for task, counts in result.by_task.items():
        lines.append(
            f"  {for_terminal(task):<20}" + "".join(f"{counts.get(n, 0):>16,}" for n in names)
        )
    lines.append(f"  {'all':<20}" + "".join(f"{result.counts.get(n, 0):>16,}" for n in names))
    lines.append(f"  conclusive (pass or fail) among runnable: {result.conclusive_share:.0%}")
    return "\n".join(lines)
