"""How a stage reports progress, without knowing who shows it.

A stage takes `progress: Progress = no_progress` and opens one bar per loop:

    bar = progress(total=len(todo), desc="embed", unit="row")
    ...
    bar.update(len(chunk))
    bar.close()

The CLI passes a factory that draws a tqdm bar on stderr (`pipeline.cli.common.tqdm_progress`);
the app passes one that draws a progress element; tests and library callers pass nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Bar", "Progress", "no_progress"]


class Bar(Protocol):
    """One progress bar: `update(n)` adds n done units; `close()` ends it."""

    def update(self, n: int = 1) -> Any: ...
    def close(self) -> Any: ...


class Progress(Protocol):
    """A factory of bars: `progress(total=N or None, desc="embed", unit="row") -> Bar`."""

    def __call__(self, *, total: int | None, desc: str, unit: str) -> Bar: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(*, total: int | None, desc: str, unit: str) -> Bar:
    """A progress factory that shows nothing (the default for stages called from code)."""
    return _NoBar()
