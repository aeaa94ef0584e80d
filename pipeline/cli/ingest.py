"""`wavecurate ingest stdlib | tree PATH... | codesearchnet PATH...`: run the ingest stage
(`pipeline.stages.ingest`) and print its problems and a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_group, add_workspace_arg, open_workspace, tqdm_progress
from pipeline.config import IngestConfig
from pipeline.stages.ingest import IngestReport, ingest
from pipeline.textsafe import for_terminal

SHOWN_PROBLEMS = 20
INGEST = """collect (docstring, code) samples from a source

    Collect functions with their docstrings into the workspace (created if missing). Ingesting
    the same input again adds nothing. Bad input is reported with file and line and skipped; the
    command fails only when nothing could be read."""


def add_parser(subparsers: Any) -> None:
    """Add `ingest` and its sources to the `wavecurate` parser."""
    kinds = add_group(subparsers, "ingest", INGEST, dest="source", metavar="SOURCE")
    stdlib = kinds.add_parser(
        "stdlib",
        help="the running Python's standard library (tests left out)",
        description="Every function and method with a docstring in the running interpreter's "
        "standard library, test packages and site-packages left out.",
    )
    tree = kinds.add_parser(
        "tree",
        help="local source trees (Python, JavaScript, TypeScript, Java, Go, Ruby, PHP)",
        description="Functions and methods with a docstring or leading doc comment (JSDoc, "
        "Javadoc, PHPDoc, Go and Ruby comment blocks) in local files and folders; hidden and "
        "vendored folders (.git, node_modules, virtual environments, vendor) are not entered.",
    )
    tree.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    csn = kinds.add_parser(
        "codesearchnet",
        help="CodeSearchNet .jsonl, .jsonl.gz or .parquet files",
        description="CodeSearchNet records in the original field names (original_string, "
        "docstring, ...) or the Hugging Face ones (whole_func_string, "
        "func_documentation_string, ...), recognised per file. A folder means every .jsonl, "
        ".jsonl.gz and .parquet file under it.",
    )
    csn.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    for sub in (stdlib, tree, csn):
        add_workspace_arg(sub)
        sub.add_argument(
            "--problems",
            type=Path,
            metavar="FILE",
            help="write every problem (file:line: reason) to FILE, not only the first "
            f"{SHOWN_PROBLEMS}",
        )
        sub.set_defaults(func=run_ingest)


def run_ingest(args: argparse.Namespace) -> int:
    """Handle `wavecurate ingest SOURCE`: 0 when anything was read, 1 when nothing could be."""
    paths: list[Path] = list(getattr(args, "paths", []) or [])
    cfg = IngestConfig(args.source, [str(p) for p in paths])
    with open_workspace(args, create=True) as ws:
        return print_ingest(ingest(ws, cfg=cfg, progress=tqdm_progress), args.problems)


def print_ingest(report: IngestReport, problems_file: Path | None = None) -> int:
    """Print an ingest run's problems (the first few, or all into `problems_file`) and summary;
    0 when anything was read, else 1."""
    problems = report.tally.problems
    dropped = report.tally.problems_dropped
    for problem in problems[:SHOWN_PROBLEMS]:
        print(problem.message, file=sys.stderr)
    if len(problems) + dropped > SHOWN_PROBLEMS:
        more = f"... and {len(problems) + dropped - SHOWN_PROBLEMS:,} more"
        where = for_terminal(str(problems_file))
        kept = "all" if not dropped else f"the first {len(problems):,}"
        hint = f" ({kept} in {where})" if problems_file else " (all of them: --problems FILE)"
        print(more + hint, file=sys.stderr)
    if problems_file:
        tail = [f"... and {dropped:,} more not kept\n"] if dropped else []
        problems_file.write_text(
            "".join([*(p.message + "\n" for p in problems), *tail]), encoding="utf-8"
        )
    print(report.summary())
    for line in report.table():
        print(for_terminal(line))
    if report.tally.read == 0:
        print(f"error: ingest {report.source}: nothing could be read", file=sys.stderr)
        return 1
    return 0
