"""`wavecurate reviews import FILE | export FILE`: reviews in and out as JSONL.

The format is in `pipeline.audit.review_io`. Import names every bad line as `file:line: reason`,
writes every good one (a bad line writes nothing), and exits 1 when any line was bad; importing the
same file twice adds nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_command, add_group, fail, open_workspace

SHOWN_ERRORS = 50
REVIEWS = """import or export human reviews as JSONL

    Reviews as JSONL, one object a line: instance_id, verdict (accept|reject), reviewer, and
    optional reason, criteria ({name: true|false}, pass/fail as the reviewer sees it) and edits
    ({instruction|input|output: text})."""


def add_parser(sub: Any) -> None:
    actions = add_group(sub, "reviews", REVIEWS, dest="action", metavar="ACTION")
    imp = add_command(actions, "import", cmd_import)
    imp.add_argument("file", type=Path, metavar="FILE", help="the JSONL file to read")
    exp = add_command(actions, "export", cmd_export)
    exp.add_argument("file", type=Path, metavar="FILE", help="the JSONL file to write")


def cmd_import(args: argparse.Namespace) -> int:
    """add reviews from a JSONL file (bad lines named, none of them written)

    Add the reviews in FILE. Every bad line is reported as file:line: reason and contributes
    nothing; the good lines are written. A line imported before (or equal to the reviewer's
    latest review of that instance) is not written again."""
    from pipeline.audit.review_io import read_reviews
    from pipeline.store.audit import add_imported_reviews

    with open_workspace(args) as ws:
        try:
            result = read_reviews(ws, args.file)
        except OSError as e:
            return fail(f"{args.file}: {e.strerror or e}")
        written, present = add_imported_reviews(ws, result.reviews)
    for line in result.errors[:SHOWN_ERRORS]:
        print(line, file=sys.stderr)
    if len(result.errors) > SHOWN_ERRORS:
        print(f"... and {len(result.errors) - SHOWN_ERRORS:,} more bad lines", file=sys.stderr)
    print(
        f"reviews import: {written:,} written, {present:,} already there, "
        f"{len(result.errors):,} bad lines"
    )
    return 1 if result.errors else 0


def cmd_export(args: argparse.Namespace) -> int:
    """write every review in force as JSONL (the import format)

    Write every effective review (not undone, not an undo) to FILE, oldest first, in the format
    `reviews import` reads."""
    from pipeline.audit.review_io import export_reviews

    with open_workspace(args) as ws:
        try:
            count = export_reviews(ws, args.file)
        except OSError as e:
            return fail(f"{args.file}: {e.strerror or e}")
    print(f"reviews export: {count:,} reviews -> {args.file}")
    return 0
