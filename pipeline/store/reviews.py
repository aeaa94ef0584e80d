"""SQL for human review rows: append, undo, history, and what agreement reads of them.

A review row is never changed or deleted. Undo appends a row (`verdict = UNDO`) naming the row
it cancels (`undoes`). The effective reviews are the rows that are neither undo rows nor undone
(view `effective_reviews`); the latest effective review is defined once, in SQL: per instance and
reviewer (view `reviewer_latest_reviews`) and per instance (view `latest_reviews`, the decision in
force; `final_verdicts` builds on it). Every write is one `BEGIN IMMEDIATE` transaction
(`Workspace.write()`), so reviewers in several sessions or processes lose nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pipeline.records import EDITABLE_FIELDS, UNDO, Review, ReviewerActivity, Verdict
from pipeline.store import Workspace, now

__all__ = [
    "REVIEW_COLUMNS",
    "add_review",
    "latest_per_reviewer",
    "latest_review",
    "review_history",
    "reviewer_activity",
    "undo_review",
]

REVIEW_COLUMNS = "id, instance_id, reviewer, verdict, flips, edits, reason, undoes, created_at"


# -- writes ---------------------------------------------------------------------------------


def add_review(
    ws: Workspace,
    instance_id: str,
    reviewer: str,
    verdict: Verdict | str,
    *,
    flips: Mapping[str, bool] | None = None,
    edits: Mapping[str, str] | None = None,
    reason: str = "",
) -> int:
    """Append a review (accept or reject, with criterion flips, field edits and a reason).

    Returns the new row's id. Raises ValueError on an empty reviewer, an unknown verdict or an
    edit of a field that is not in EDITABLE_FIELDS; sqlite3.IntegrityError on an unknown instance.
    """
    reviewer = reviewer.strip()
    if not reviewer:
        raise ValueError("a review needs a reviewer name")
    verdict = Verdict(verdict)
    bad = sorted(set(edits or {}) - set(EDITABLE_FIELDS))
    if bad:
        raise ValueError(f"cannot edit {', '.join(bad)}; editable: {', '.join(EDITABLE_FIELDS)}")
    with ws.write() as db:
        cur = db.execute(
            "INSERT INTO reviews(instance_id, reviewer, verdict, flips, edits, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                instance_id,
                reviewer,
                verdict.value,
                json.dumps({k: bool(v) for k, v in (flips or {}).items()}, sort_keys=True),
                json.dumps(dict(edits or {}), sort_keys=True, ensure_ascii=False),
                reason,
                now(),
            ),
        )
        return int(cur.lastrowid or 0)


def undo_review(ws: Workspace, instance_id: str, reviewer: str, reason: str = "") -> int | None:
    """Cancel `reviewer`'s latest effective review of the instance by appending an undo row.

    Returns the undo row's id, or None when the reviewer has nothing left to undo there. The
    reviewer's earlier review (if any) becomes their latest again.
    """
    with ws.write() as db:
        row = db.execute(
            "SELECT id FROM reviewer_latest_reviews WHERE instance_id = ? AND reviewer = ?",
            (instance_id, reviewer),
        ).fetchone()
        if row is None:
            return None
        cur = db.execute(
            "INSERT INTO reviews(instance_id, reviewer, verdict, reason, undoes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (instance_id, reviewer, UNDO, reason, int(row[0]), now()),
        )
        return int(cur.lastrowid or 0)


# -- reads ----------------------------------------------------------------------------------


def review_history(ws: Workspace, instance_id: str) -> list[Review]:
    """Every review row of the instance, undo rows included, oldest first."""
    rows = ws.db.execute(
        f"SELECT {REVIEW_COLUMNS} FROM reviews WHERE instance_id = ? ORDER BY id", (instance_id,)
    )
    return [Review.from_row(r) for r in rows]


def latest_review(ws: Workspace, instance_id: str, reviewer: str | None = None) -> Review | None:
    """The latest effective review of the instance (by anyone, or by `reviewer`)."""
    if reviewer is None:
        sql, params = (
            f"SELECT {REVIEW_COLUMNS} FROM latest_reviews WHERE instance_id = ?",
            [instance_id],
        )
    else:
        sql = f"SELECT {REVIEW_COLUMNS} FROM reviewer_latest_reviews WHERE instance_id = ? "
        sql += "AND reviewer = ?"
        params = [instance_id, reviewer]
    row = ws.db.execute(sql, params).fetchone()
    return None if row is None else Review.from_row(row)


def latest_per_reviewer(ws: Workspace) -> list[Review]:
    """The latest effective review of every (instance, reviewer), by instance then reviewer."""
    rows = ws.db.execute(
        f"SELECT {REVIEW_COLUMNS} FROM reviewer_latest_reviews ORDER BY instance_id, reviewer"
    )
    return [Review.from_row(r) for r in rows]


def reviewer_activity(ws: Workspace) -> list[ReviewerActivity]:
    """Per reviewer counts, most active first. `instances`/`accepted`/`rejected` count each
    reviewer's latest effective review per instance; `undone` counts their undo rows."""
    undos = {
        r[0]: int(r[1])
        for r in ws.db.execute(
            "SELECT reviewer, COUNT(*) FROM reviews WHERE verdict = ? GROUP BY reviewer",
            (UNDO,),
        )
    }
    last = {
        r[0]: str(r[1])
        for r in ws.db.execute("SELECT reviewer, MAX(created_at) FROM reviews GROUP BY reviewer")
    }
    out: list[ReviewerActivity] = []
    for r in ws.db.execute(
        "SELECT reviewer, COUNT(*), SUM(verdict = ?), SUM(verdict = ?), "
        "SUM(flips != '{}'), SUM(edits != '{}') "
        "FROM reviewer_latest_reviews GROUP BY reviewer",
        (Verdict.ACCEPT, Verdict.REJECT),
    ):
        out.append(
            ReviewerActivity(
                reviewer=r[0],
                instances=int(r[1]),
                accepted=int(r[2] or 0),
                rejected=int(r[3] or 0),
                undone=undos.pop(r[0], 0),
                with_flips=int(r[4] or 0),
                with_edits=int(r[5] or 0),
                last_at=last.get(r[0], ""),
            )
        )
    for reviewer, n in undos.items():  # reviewers whose every review is undone
        out.append(ReviewerActivity(reviewer, 0, 0, 0, n, 0, 0, last.get(reviewer, "")))
    out.sort(key=lambda a: (-a.instances, a.reviewer))
    return out
