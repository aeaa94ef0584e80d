"""The ingest stage: collect raw samples from a source (`pipeline.sources`) into the workspace.

A source yields samples and problems; this stage stores the samples in batches (each batch its own
transaction, so an interrupted run keeps what it stored) and records an `ingest` run with its
counts. The CLI (`pipeline.cli.ingest`) prints the problems and a summary.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import IngestConfig
from pipeline.progress import Progress, no_progress
from pipeline.records import Sample
from pipeline.sources import Item, Tally
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples

__all__ = ["SOURCES", "IngestReport", "ingest", "source_items"]

SOURCES = ("stdlib", "tree", "codesearchnet")
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


def source_items(cfg: IngestConfig) -> Iterable[Item]:
    """What `cfg.source` yields over `cfg.paths` (lazily: reading starts on iteration)."""
    paths = [Path(p) for p in cfg.paths]
    if cfg.source == "stdlib":
        from pipeline.sources.stdlib import iter_stdlib

        return iter_stdlib()
    if cfg.source == "tree":
        from pipeline.sources.tree import iter_tree

        return iter_tree(paths)
    if cfg.source == "codesearchnet":
        from pipeline.sources.codesearchnet import iter_codesearchnet

        return iter_codesearchnet(paths)
    raise ValueError(f"unknown source {cfg.source!r} (known: {', '.join(SOURCES)})")


def ingest(
    ws: Workspace,
    items: Iterable[Item] | None = None,
    *,
    cfg: IngestConfig,
    progress: Progress = no_progress,
) -> IngestReport:
    """Store the samples of `cfg.source` (or of `items`, when given) into `ws` in batches.

    Returns the report: samples read, how many were new (a second ingest of the same input adds
    0), and every problem. Never current: a source on disk can change, and reading it again is
    how new samples arrive (storing is idempotent). Each batch is its own transaction, so an
    interrupted run keeps what it stored. `progress` counts samples read (total unknown).
    """
    started = time.perf_counter()
    report = IngestReport(source=cfg.source, tally=Tally(), paths=list(cfg.paths))
    if items is None:
        items = source_items(cfg)
    bar = progress(total=None, desc=f"ingest {cfg.source}", unit=" samples")
    with ws.stage("ingest", cfg, force=True) as run:
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
            bar.update()
            if len(batch) >= BATCH:
                flush()
        flush()
        bar.close()
        report.seconds = time.perf_counter() - started
    return report
