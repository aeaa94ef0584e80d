"""Guards that make a pathological file or line cost only itself.

Parsing hostile input can exhaust the recursion limit (`return 1+1+...` of 200,000 terms, a JSON
line of 100,000 nested `[`), the parser's stack (5,000 nested `lambda:`, reported by CPython as
MemoryError), or time. A source wraps each file in `guard_file` and each line or record in
`problem_for`, so the failure becomes an `IngestProblem` naming the file and line, and the
source goes on with the next one. A `Deadline` bounds the time spent on one file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from pipeline.sources import IngestProblem, Item

FILE_SECONDS = 20.0  # the most time one file's parsing and cutting may take


class TooSlow(Exception):
    """Parsing one file took longer than its deadline."""


class Deadline:
    """A point in time after which the work on one input stops (`check()` raises `TooSlow`)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = FILE_SECONDS if seconds is None else seconds
        self.at = time.monotonic() + self.seconds

    def passed(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() > self.at

    def check(self) -> None:
        """Raise `TooSlow` once the deadline has passed."""
        if self.passed():
            raise TooSlow(f"took longer than {self.seconds:g} s")


def problem_for(name: str, line: int, error: BaseException, what: str = "file") -> IngestProblem:
    """The problem to report for `error`, raised while parsing `what` (file, line, record) at
    `name:line` (line 0: the whole file)."""
    if isinstance(error, RecursionError):
        return IngestProblem(
            name, line, "too deeply nested", f"too deeply nested to parse (recursion limit); "
            f"{what} skipped",
        )  # fmt: skip
    if isinstance(error, MemoryError):
        # CPython's parser reports a stack overflow (thousands of nested lambdas or elifs) so
        return IngestProblem(
            name,
            line,
            "too complex",
            f"too complex to parse (out of parser memory); {what} skipped",
        )
    if isinstance(error, TooSlow):
        return IngestProblem(name, line, "too slow", f"parsing {error}; {what} skipped")
    return IngestProblem(
        name, line, "parser failure", f"could not be parsed ({type(error).__name__}: {error}); "
        f"{what} skipped",
    )  # fmt: skip


def guard_file(name: str, items: Iterator[Item]) -> Iterator[Item]:
    """Yield from `items` (the items of the file `name`); an exception raised while producing
    them ends this file only: it becomes one `IngestProblem`, and what was yielded before stays.

    Ctrl-C and generator shutdown (BaseExceptions that are not errors) pass through.
    """
    try:
        yield from items
    except Exception as e:  # RecursionError, MemoryError and TooSlow among them
        yield problem_for(name, 0, e)
