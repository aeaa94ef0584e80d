"""wavecurate: the WaveCoder data pipeline, as plain stages over one workspace."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "kcenter_greedy"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import pipeline` (and the CLI's start-up) stays free of numpy and torch.
    if name == "kcenter_greedy":
        from pipeline.stages.select import kcenter_greedy

        return kcenter_greedy
    raise AttributeError(name)
