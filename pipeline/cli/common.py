"""Helpers shared by CLI commands: the --workspace option, opening, printing."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from collections.abc import Callable
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


def add_command(
    sub: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    options: Callable[[argparse.ArgumentParser], None] = add_workspace_arg,
) -> argparse.ArgumentParser:
    """Add the sub-command `name` that runs `run(args)` to `sub`, with `options` (--workspace).

    `run`'s docstring is the command's help: its first line the one-line help, the paragraph
    after the blank line the `--help` description (argparse folds its white space). One text
    says what the command does, to a reader of the code and on the terminal.
    """
    p = _add_documented(sub, name, run.__doc__ or "")
    options(p)
    p.set_defaults(func=run)
    return p


def add_group(sub: Any, name: str, doc: str, *, dest: str, metavar: str) -> Any:
    """Add the command group `name` to `sub`; return the set its sub-commands are added to (one
    of them required, its name in `args.<dest>`). `doc` is written as a command's docstring: the
    one-line help, a blank line, the `--help` description."""
    p = _add_documented(sub, name, doc)
    return p.add_subparsers(dest=dest, metavar=metavar, required=True)


def _add_documented(sub: Any, name: str, doc: str) -> argparse.ArgumentParser:
    help_line, _, description = inspect.cleandoc(doc).partition("\n\n")
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_line, description=description)
    return p


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
    from pipeline.textsafe import for_terminal

    try:
        return Workspace.init(args.workspace) if create else Workspace(args.workspace)
    except WorkspaceError as e:
        raise SystemExit(f"error: {for_terminal(str(e))}") from None


def fail(message: str, code: int = 1) -> int:
    """Print `error: message` (control characters escaped, one line) on stderr; return `code`."""
    from pipeline.textsafe import for_terminal

    print(f"error: {for_terminal(message)}", file=sys.stderr)
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
