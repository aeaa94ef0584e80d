"""`wavecurate`: the command line. The one place that reads the environment and wires stages.

Each command lives in a submodule of `pipeline.cli` that defines `add_parser(subparsers)`; the
parser sets `func(args) -> int`. Heavy imports (numpy, torch, the SDK) happen inside handlers so
that `wavecurate --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module; the order here is the order in `--help` and in the README
COMMANDS: dict[str, str] = {
    "init": "pipeline.cli.core",
    "ingest": "pipeline.cli.ingest",
    "filter": "pipeline.cli.core",
    "embed": "pipeline.cli.coreset",
    "select": "pipeline.cli.coreset",
    "project": "pipeline.cli.coreset",
    "generate": "pipeline.cli.llm",
    "judge": "pipeline.cli.llm",
    "decontaminate": "pipeline.cli.export",
    "export": "pipeline.cli.export",
    "run": "pipeline.cli.core",
    "status": "pipeline.cli.core",
    "app": "pipeline.cli.app",
    "demo": "pipeline.cli.core",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wavecurate",
        description="Curate LLM-generated code instruction data (the WaveCoder pipeline).",
    )
    from pipeline.version import __version__

    parser.add_argument("--version", action="version", version=f"wavecurate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    seen: set[str] = set()
    for module_name in COMMANDS.values():
        if module_name in seen:
            continue
        seen.add(module_name)
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    # argparse lists subcommands in the order added; put them in COMMANDS order
    actions = sub._choices_actions
    order = list(COMMANDS)
    actions.sort(key=lambda a: order.index(a.dest) if a.dest in order else len(order))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(
            "interrupted: finished work is saved; run the same command to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
