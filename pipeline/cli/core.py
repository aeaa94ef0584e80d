"""Workspace-level commands: init, filter, run, status, demo."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_workspace_arg, fail, open_workspace, print_json
from pipeline.config import Config
from pipeline.store.status import funnel
from pipeline.textsafe import for_terminal

# what `run --until` accepts: the stages of `pipeline.cli.steps.STAGES` (kept here so that
# `--help` stays free of the stages' imports)
RUN_STAGES = (
    "ingest",
    "filter",
    "embed",
    "select",
    "project",
    "generate",
    "verify",
    "judge",
    "decontaminate",
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "init", help="create a workspace: wavecurate.toml (commented) and wavecurate.db"
    )
    add_workspace_arg(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "filter", help="drop samples by length, blacklist, exact and near duplicates"
    )
    add_workspace_arg(p)
    p.add_argument("--force", action="store_true", help="re-filter even if nothing changed")
    p.set_defaults(func=cmd_filter)

    p = sub.add_parser("run", help="run every stage in order, resumably (ingest .. decontaminate)")
    add_workspace_arg(p)
    p.add_argument("--until", choices=RUN_STAGES, help="stop after this stage")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="print the funnel: what each stage kept, made and cost")
    add_workspace_arg(p)
    p.add_argument("--json", action="store_true", help="print the funnel as JSON for programs")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "demo",
        help="make a workspace from the standard library, run everything offline, open the app",
    )
    p.add_argument("--workspace", "-w", type=Path, default=Path("demo"), metavar="DIR",
                   help="workspace folder (default: ./demo)")  # fmt: skip
    p.add_argument("--port", type=int, default=8501, help="app port (default 8501)")
    p.add_argument("--no-app", action="store_true", help="run the pipeline, do not open the app")
    p.set_defaults(func=cmd_demo)


def cmd_init(args: argparse.Namespace) -> int:
    existed = (args.workspace / "wavecurate.toml").exists()
    ws = open_workspace(args, create=True)
    note = "kept the existing wavecurate.toml" if existed else "wrote wavecurate.toml"
    print(f"workspace {for_terminal(str(ws.root))}: {note}, schema version {ws.schema_version}")
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    from pipeline.cli.steps import run_one

    def configure(cfg: Config) -> Config:
        return dataclasses.replace(cfg, filter=dataclasses.replace(cfg.filter, force=args.force))

    return run_one(open_workspace(args), "filter", configure)


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.cli.steps import STAGES, Resources, run_steps

    names = [name for name, _ in STAGES]
    steps = STAGES[: names.index(args.until) + 1] if args.until else STAGES
    started = time.perf_counter()
    with open_workspace(args, create=True) as ws:
        code = run_steps(ws, Resources(ws), steps)
        if code != 0:
            return code
        print(f"\nrun: done in {time.perf_counter() - started:.1f} s\n", file=sys.stderr)
        print(format_funnel(funnel(ws), ws.last_runs()))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    f = funnel(ws)
    if args.json:
        print_json(f)
        return 0
    print(format_funnel(f, ws.last_runs()))
    return 0


def format_funnel(f: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The funnel as an aligned table for people."""
    rows: list[tuple[str, str]] = [("ingested", f"{f['ingested']:,}")]
    rows += [(f"  dropped: {rule}", f"-{n:,}") for rule, n in f["dropped"].items()]
    rows += [
        ("kept", f"{f['kept']:,}"),
        ("embedded", f"{f['embedded']:,}"),
        ("coreset", f"{f['coreset']:,}"),
        ("instances generated", f"{f['instances']:,}"),
    ]
    rows += [(f"  {for_terminal(str(task))}", f"{n:,}") for task, n in f["by_task"].items()]
    rows += [
        ("  failed / rule-failed / skipped", f"{f['failed']:,} / {f['rule_failed']:,} / {f['skipped']:,}"),
        ("judged", f"{f['judged']:,}  ({f['judge_accepted']:,} accept, {f['judge_rejected']:,} reject)"),
        ("  judge failed", f"{f['judge_failed']:,}"),
        ("executed (pass / fail / inconclusive / n/a)", " / ".join(f"{f['execution'][k]:,}" for k in ("pass", "fail", "inconclusive", "not_applicable"))),
        ("  rejected by execution (gate)", f"{f['rejected_by_execution']:,}"),
        ("reviewed by people", f"{f['reviewed']:,}"),
        ("final verdicts", f"{f['accepted']:,} accept, {f['rejected']:,} reject"),
        ("flagged (benchmark overlap)", f"{f['flagged']:,}"),
        ("exportable", f"{f['exportable']:,}"),
        ("LLM calls / tokens in / out", f"{f['llm_calls']:,} / {f['tokens']['input']:,} / {f['tokens']['output']:,}"),
        ("cost", f"${f['cost_usd']:.4f}  (${f['cost_per_accepted_usd']:.4f} per accepted instance)"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if f["by_source"] or f["by_language"]:
        lines.append("")
        lines.append(
            "kept by source:   "
            + ", ".join(f"{for_terminal(str(k))} {v:,}" for k, v in f["by_source"].items())
        )
        lines.append(
            "kept by language: "
            + ", ".join(f"{for_terminal(str(k))} {v:,}" for k, v in f["by_language"].items())
        )
    if runs:
        lines += ["", "last runs:"]
        lines += [f"  {r['stage']:<14} {r['status']:<11} {r['seconds'] or 0:>8.1f} s" for r in runs]
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.cli import main

    cmd_init(args)
    code = cmd_run(argparse.Namespace(workspace=args.workspace, until=None))
    if code != 0:
        return fail(f"demo: the pipeline stopped (exit {code}); re-run to resume", code)
    if args.no_app:
        return 0
    return main(["app", "--workspace", str(args.workspace), "--port", str(args.port)])
