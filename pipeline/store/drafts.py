"""Review drafts: a reviewer's flips, edits and reason on one instance, kept until decided.

One row per (instance, reviewer) in `review_drafts`; a draft holds only what differs from the
Generator's text and the judge's answers (or from the reviewer's decision in force). Writing an
empty draft deletes it. A decision (`reviews.add_review`) does not touch drafts: the caller
discards the draft once the decision is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.store import Workspace, now


@dataclass(frozen=True, slots=True)
class Draft:
    """Unsaved review work: `flips` {criterion: passes}, `edits` {field: text}, `reason`."""

    instance_id: str
    reviewer: str
    flips: dict[str, bool] = field(default_factory=dict)
    edits: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    updated_at: str = ""

    @property
    def empty(self) -> bool:
        """True when the draft holds nothing."""
        return not (self.flips or self.edits or self.reason.strip())


def save_draft(
    ws: Workspace,
    instance_id: str,
    reviewer: str,
    *,
    flips: Mapping[str, bool] | None = None,
    edits: Mapping[str, str] | None = None,
    reason: str = "",
) -> bool:
    """Store the draft of `reviewer` on the instance (replacing theirs); an empty draft deletes
    it. Returns True when a draft is stored. Raises ValueError on an empty reviewer."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise ValueError("a draft needs a reviewer name")
    draft = Draft(instance_id, reviewer, dict(flips or {}), dict(edits or {}), reason)
    if draft.empty:
        discard_draft(ws, instance_id, reviewer)
        return False
    with ws.write() as db:
        db.execute(
            "INSERT INTO review_drafts(instance_id, reviewer, flips, edits, reason, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(instance_id, reviewer) DO UPDATE SET "
            "flips = excluded.flips, edits = excluded.edits, reason = excluded.reason, "
            "updated_at = excluded.updated_at",
            (
                instance_id,
                reviewer,
                json.dumps({k: bool(v) for k, v in draft.flips.items()}, sort_keys=True),
                json.dumps(draft.edits, sort_keys=True, ensure_ascii=False),
                reason,
                now(),
            ),
        )
    return True


def get_draft(ws: Workspace, instance_id: str, reviewer: str) -> Draft | None:
    """The reviewer's draft on the instance, or None."""
    r = ws.db.execute(
        "SELECT flips, edits, reason, updated_at FROM review_drafts "
        "WHERE instance_id = ? AND reviewer = ?",
        (instance_id, reviewer.strip()),
    ).fetchone()
    if r is None:
        return None
    return Draft(instance_id, reviewer.strip(), json.loads(r[0]), json.loads(r[1]), r[2], r[3])


def discard_draft(ws: Workspace, instance_id: str, reviewer: str) -> bool:
    """Delete the reviewer's draft on the instance; True when there was one."""
    with ws.write() as db:
        cur = db.execute(
            "DELETE FROM review_drafts WHERE instance_id = ? AND reviewer = ?",
            (instance_id, reviewer.strip()),
        )
        return cur.rowcount > 0


def drafted_instance_ids(ws: Workspace, reviewer: str) -> set[str]:
    """Ids of the instances on which `reviewer` has a draft."""
    return {
        r[0]
        for r in ws.db.execute(
            "SELECT instance_id FROM review_drafts WHERE reviewer = ?", (reviewer.strip(),)
        )
    }
