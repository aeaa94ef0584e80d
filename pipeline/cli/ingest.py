"""`wavecurate ingest stdlib | tree PATH... | codesearchnet PATH...`: collect raw samples.

A source yields samples and problems (`pipeline.sources`); this module stores the samples in
batches (each batch its own transaction, so an interrupted run keeps what it stored), records an
`ingest` run with its counts, and prints the problems and a summary. `ingest()` is the same
without printing, for `wavecurate run`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_workspace_arg, open_workspace, progress
from pipeline.records import Sample
from pipeline.sources import Item, Tally
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples

BATCH = 2000
SHOWN_PROBLEMS = 20


@dataclass
class IngestReport:
    """What one ingest run did: samples read and newly stored, the tally, seconds taken."""

    source: str
    tally: Tally
    added: int = 0
    seconds: float = 0.0
    paths: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, Any]:
        """The run's counts as stored in `runs.counts`."""
        return {
            "source": self.source,
            "paths": self.paths,
            "read": self.tally.read,
            "added": self.added,
            "skipped": dict(sorted(self.tally.skipped.items())),
            "passed_over": dict(sorted(self.tally.passed_over.items())),
        }

    def summary(self) -> str:
        """`ingest stdlib: 6,859 read, 6,859 new, 0 skipped in 2.1 s`."""
        t = self.tally
        return (
            f"ingest {self.source}: {t.read:,} read, {self.added:,} new, "
            f"{t.skipped_total:,} skipped in {self.seconds:.1f} s"
        )

    def table(self) -> list[str]:
        """Lines of the skipped-by-reason table (empty when nothing was skipped or passed over)."""
        note = "  (passed over, not an error)"
        rows = [(reason, n, "") for reason, n in sorted(self.tally.skipped.items())]
        rows += [(reason, n, note) for reason, n in sorted(self.tally.passed_over.items())]
        if not rows:
            return []
        width = max(len("reason"), *(len(r[0]) for r in rows))
        digits = max(len("count"), *(len(f"{r[1]:,}") for r in rows))
        lines = [f"  {'reason':<{width}}  {'count':>{digits}}"]
        lines += [f"  {reason:<{width}}  {n:>{digits},}{note}" for reason, n, note in rows]
        return lines


def ingest(
    ws: Workspace,
    source: str,
    items: Iterable[Item],
    *,
    paths: Sequence[str] = (),
    on_sample: Callable[[], None] | None = None,
) -> IngestReport:
    """Store the samples `items` yields into `ws` in batches, recording an `ingest` run.

    Returns the report: samples read, how many were new (a second ingest of the same input adds
    0), and every problem. `on_sample` is called once per sample read (a progress bar).
    """
    started = time.perf_counter()
    report = IngestReport(source=source, tally=Tally(), paths=list(paths))
    config_hash = hashlib.sha256(json.dumps([source, list(paths)]).encode()).hexdigest()[:16]
    with ws.run("ingest", config_hash) as run:
        batch: list[Sample] = []

        def flush() -> None:
            report.added += insert_samples(ws, batch)
            batch.clear()
            run.counts.update(report.counts)

        for item in items:
            sample = report.tally.add(item)
            if sample is None:
                continue
            batch.append(sample)
            if on_sample is not None:
                on_sample()
            if len(batch) >= BATCH:
                flush()
        flush()
        report.seconds = time.perf_counter() - started
    return report


def add_parser(subparsers: Any) -> None:
    """Add `ingest` and its sources to the `wavecurate` parser."""
    p = subparsers.add_parser(
        "ingest",
        help="collect (docstring, code) samples from a source",
        description="Collect functions with their docstrings into the workspace (created if "
        "missing). Ingesting the same input again adds nothing. Bad input is reported with "
        "file and line and skipped; the command fails only when nothing could be read.",
    )
    kinds = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
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
    source: str = args.source
    paths: list[Path] = list(getattr(args, "paths", []) or [])
    items: Iterable[Item]
    if source == "stdlib":
        from pipeline.sources.stdlib import iter_stdlib

        items = iter_stdlib()
    elif source == "tree":
        from pipeline.sources.tree import iter_tree

        items = iter_tree(paths)
    else:
        from pipeline.sources.codesearchnet import iter_codesearchnet

        items = iter_codesearchnet(paths)

    with open_workspace(args, create=True) as ws:
        bar = progress(
            total=None, desc=f"ingest {source}", unit=" samples", leave=False, disable=None
        )
        try:
            report = ingest(
                ws, source, items, paths=[str(p) for p in paths], on_sample=lambda: bar.update()
            )
        finally:
            bar.close()

    problems = report.tally.problems
    for problem in problems[:SHOWN_PROBLEMS]:
        print(problem.message, file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        more = f"... and {len(problems) - SHOWN_PROBLEMS:,} more"
        hint = f" (all in {args.problems})" if args.problems else " (all of them: --problems FILE)"
        print(more + hint, file=sys.stderr)
    if args.problems:
        args.problems.write_text("".join(p.message + "\n" for p in problems), encoding="utf-8")
    print(report.summary())
    for line in report.table():
        print(line)
    if report.tally.read == 0:
        print(f"error: ingest {source}: nothing could be read", file=sys.stderr)
        return 1
    return 0
