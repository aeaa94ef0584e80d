"""What every benchmark does with its figures besides printing them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_figures(path: Path | None, figures: dict[str, Any]) -> None:
    """Write `figures` as indented JSON to `path` (its folder made) when `--json` named one."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2))
