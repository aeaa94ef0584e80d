"""Raw code collection: the sources that turn code on disk into `Sample` records.

Every source is a pure generator function (no database, no printing) that yields one of:

- `Sample`: a (docstring, code) pair to store;
- `IngestProblem`: input that could not be used, with the file and line to report;
- `Skipped`: functions passed over on purpose (no docstring), counted per file, never reported.

The sources: `iter_stdlib()` (`pipeline.sources.stdlib`), `iter_tree(paths)`
(`pipeline.sources.tree`) and `iter_codesearchnet(paths)` (`pipeline.sources.codesearchnet`).
`Tally` counts what a source yielded; the CLI stores the samples in batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from pipeline.records import Sample
from pipeline.textsafe import for_terminal

__all__ = [
    "IngestProblem",
    "Item",
    "Skipped",
    "Tally",
    "collect",
    "reindent",
]


@dataclass(frozen=True, slots=True)
class IngestProblem:
    """Input that could not be used.

    `file` is the path as the user named it (or as found under a folder they named); `line` is
    1-based, 0 when the problem concerns the whole file; `reason` is a short category that the
    summary counts ("malformed JSON"); `detail` says exactly what was wrong (defaults to `reason`).
    """

    file: str
    line: int
    reason: str
    detail: str = ""

    @property
    def message(self) -> str:
        """`file:line: detail` (`file: detail` when the whole file is concerned), one line, safe
        to print: control characters in the file name or detail are shown as escapes
        (`pipeline.textsafe.for_terminal`), so a file name holding a newline or an ANSI
        sequence cannot forge a line of output."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return for_terminal(f"{where}: {self.detail or self.reason}")

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Skipped:
    """`count` functions of one file passed over on purpose, for `reason` (e.g. no docstring)."""

    reason: str
    count: int = 1


Item: TypeAlias = Sample | IngestProblem | Skipped
"""What a source yields."""


@dataclass
class Tally:
    """Running counts over a source's items: what was read, skipped on purpose, or unusable."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    passed_over: Counter[str] = field(default_factory=Counter)
    problems: list[IngestProblem] = field(default_factory=list)

    def add(self, item: Item) -> Sample | None:
        """Count `item`; return it when it is a sample to store, else None."""
        if isinstance(item, Sample):
            self.read += 1
            return item
        if isinstance(item, IngestProblem):
            self.skipped[item.reason] += 1
            self.problems.append(item)
        else:
            self.passed_over[item.reason] += item.count
        return None

    @property
    def skipped_total(self) -> int:
        """How many unusable inputs (rows, files, functions) were skipped."""
        return sum(self.skipped.values())


def collect(items: Iterable[Item]) -> tuple[list[Sample], Tally]:
    """Drain a source: (the samples in order, the tally of everything it yielded)."""
    tally = Tally()
    samples = [s for s in map(tally.add, items) if s is not None]
    return samples, tally


def reindent(text: str, indent: int) -> str:
    """`text` with up to `indent` leading blanks removed from every line after the first.

    Used to dedent a method cut out of a file: its first line is cut at the definition's column
    already; the following lines lose the indentation that line had. Lines indented less (inside
    a multi-line string) lose what blanks they have, as `textwrap.dedent` would.
    """
    if indent <= 0 or "\n" not in text:
        return text
    first, *rest = text.split("\n")
    out = [first]
    for line in rest:
        head = line[:indent]
        if not head or head.isspace():
            out.append(line[indent:])
        else:
            out.append(line.lstrip(" \t") if head[:1] in (" ", "\t") else line)
    return "\n".join(out)
