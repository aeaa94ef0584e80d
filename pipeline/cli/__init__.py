"""`wavecurate`: the command line. The one place that reads the environment and wires stages.

Each command lives in a submodule of `pipeline.cli` that defines `add_parser(subparsers)`; the
parser sets `func(args) -> int`. Heavy imports (numpy, torch, the SDK) happen inside handlers so
that `wavecurate --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
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
    "verify": "pipeline.cli.verify",
    "judge": "pipeline.cli.llm",
    "decontaminate": "pipeline.cli.export",
    "export": "pipeline.cli.export",
    "audit": "pipeline.cli.audit",
    "reviews": "pipeline.cli.reviews",
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
    """Run one command. Every known failure (a bad config, a workspace that cannot be opened or
    written, a file that is not a database, a closed pipe) is one line on stderr and a non-zero
    exit; anything else is a bug and keeps its traceback."""
    from pipeline.config import ConfigError
    from pipeline.store import WorkspaceError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except KeyboardInterrupt:
        print(
            "interrupted: finished work is saved; run the same command to resume", file=sys.stderr
        )
        return 130
    except BrokenPipeError:
        # the reader went away (`status | head -1`): stop quietly; point stdout at devnull so
        # that the interpreter's final flush does not raise again (Python docs, SIGPIPE note)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ConfigError, WorkspaceError) as e:
        return _error(str(e))
    except sqlite3.DatabaseError as e:
        if not any(known in str(e) for known in _KNOWN_SQLITE):
            raise  # a bug (a missing table, bad SQL): keep the traceback
        where = getattr(args, "workspace", None)
        return _error(f"{where}/wavecurate.db: {e}" if where is not None else str(e))
    except OSError as e:
        if e.filename is None:
            raise
        return _error(f"{e.filename}: {e.strerror or e}")


# SQLite failures that come from the file or the machine, not from wavecurate's SQL
_KNOWN_SQLITE = (
    "not a database",
    "readonly",
    "unable to open",
    "disk I/O error",
    "database or disk is full",
    "database is locked",
    "malformed",
)


def _error(message: str) -> int:
    from pipeline.textsafe import for_terminal

    print(f"error: {for_terminal(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
