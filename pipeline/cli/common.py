"""Helpers shared by CLI commands: the --workspace option, opening, printing."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.progress import Bar
from pipeline.store import Workspace, WorkspaceError


def add_workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        "-w",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="workspace folder (default: the current folder)",
    )


def add_executor_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="where the work runs: local, or ray (the cluster at RAY_ADDRESS, else a local one; "
        "default: [run] executor)",
    )


def with_executor(cfg: Config, executor: str | None) -> Config:
    """`cfg` with `[run] executor` set to `executor` (unchanged when None)."""
    if executor is None:
        return cfg
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, executor=executor))


def open_workspace(args: argparse.Namespace, *, create: bool = False) -> Workspace:
    """Open the workspace named by --workspace; create it (with a default config) if asked."""
    if create:
        return Workspace.init(args.workspace)
    try:
        return Workspace(args.workspace)
    except WorkspaceError as e:
        raise SystemExit(f"error: {e}") from None


def fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def progress(iterable: Any = None, **kwargs: Any) -> Any:
    """A tqdm progress bar on stderr; quiet when stderr is not a terminal unless forced."""
    from tqdm import tqdm

    kwargs.setdefault("disable", None)  # tqdm: None means "off when not a terminal"
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, **kwargs)


def tqdm_progress(*, total: int | None, desc: str, unit: str) -> Bar:
    """The CLI's `Progress`: a tqdm bar on stderr (off when stderr is not a terminal)."""
    bar: Bar = progress(total=total, desc=desc, unit=unit)
    return bar
