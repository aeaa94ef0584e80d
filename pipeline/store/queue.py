"""SQL for the review page: the queue (one row of review state per instance), its facets, and
one instance with everything the page shows."""

from __future__ import annotations

from pipeline.records import (
    INSTANCE_COLUMNS,
    CriterionAnswer,
    Instance,
    InstanceStatus,
    Judgment,
    QueueRow,
)
from pipeline.store import Workspace
from pipeline.store.reviews import latest_review, review_history
from pipeline.store.samples import get_samples

__all__ = ["instance_detail", "queue_facets", "queue_rows", "reviewed_instance_ids"]


def instance_detail(ws: Workspace, instance_id: str) -> Instance | None:
    """The instance with its sample, the judge's result and answers, its review history and
    latest effective review, or None when there is no such instance."""
    r = ws.db.execute("SELECT * FROM instances WHERE id = ?", (instance_id,)).fetchone()
    if r is None:
        return None
    sample = get_samples(ws, [r["sample_id"]]).get(r["sample_id"])
    j = ws.db.execute(
        "SELECT verdict, status, model, COALESCE(error, '') FROM judge_results "
        "WHERE instance_id = ?",
        (instance_id,),
    ).fetchone()
    judgment = None
    if j is not None:
        criteria = tuple(
            CriterionAnswer(c[0], bool(c[1]), c[2])
            for c in ws.db.execute(
                "SELECT criterion, passed, rationale FROM judgments WHERE instance_id = ? "
                "ORDER BY rowid",
                (instance_id,),
            )
        )
        judgment = Judgment(j[0], j[1], j[2], j[3], criteria)
    return Instance(
        **{k: r[k] for k in INSTANCE_COLUMNS},
        language="" if sample is None else sample.language,
        sample=sample,
        judgment=judgment,
        history=tuple(review_history(ws, instance_id)),
        latest=latest_review(ws, instance_id),
    )


def queue_rows(ws: Workspace) -> list[QueueRow]:
    """Every generated instance (status ok) in ingestion order of its sample."""
    db = ws.db
    failed: dict[str, list[str]] = {}
    for iid, criterion in db.execute(
        "SELECT instance_id, criterion FROM judgments WHERE passed = 0 ORDER BY rowid"
    ):
        failed.setdefault(iid, []).append(criterion)
    flagged = {r[0] for r in db.execute("SELECT instance_id FROM flagged_instances")}
    reviewers: dict[str, list[tuple[str, str]]] = {}
    for iid, reviewer, verdict in db.execute(
        "SELECT instance_id, reviewer, verdict FROM reviewer_latest_reviews"
    ):
        reviewers.setdefault(iid, []).append((reviewer, verdict))
    out: list[QueueRow] = []
    for r in db.execute(
        "SELECT i.id, i.sample_id, i.task, s.language, s.seq, j.verdict, l.verdict, l.id, "
        "x.verdict FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id "
        "LEFT JOIN latest_reviews l ON l.instance_id = i.id "
        "LEFT JOIN executions x ON x.instance_id = i.id "
        "WHERE i.status = ? ORDER BY s.seq, i.id",
        (InstanceStatus.OK,),
    ):
        iid = r[0]
        out.append(
            QueueRow(
                instance_id=iid,
                sample_id=r[1],
                seq=int(r[4]),
                task=r[2],
                language=r[3],
                judge_verdict=r[5],
                human_verdict=r[6],
                reviewers=tuple(sorted(reviewers.get(iid, []))),
                failed=tuple(failed.get(iid, [])),
                flagged=iid in flagged,
                last_review_id=None if r[7] is None else int(r[7]),
                execution_verdict=r[8],
            )
        )
    return out


def queue_facets(ws: Workspace) -> tuple[list[str], list[str]]:
    """(tasks of generated instances, criteria the judge answered), each sorted."""
    tasks = [r[0] for r in ws.db.execute("SELECT DISTINCT task FROM instances ORDER BY task")]
    criteria = [
        r[0] for r in ws.db.execute("SELECT DISTINCT criterion FROM judgments ORDER BY criterion")
    ]
    return tasks, criteria


def reviewed_instance_ids(ws: Workspace) -> set[str]:
    """Instances with at least one effective review: cheap enough to read on every rerun."""
    return {r[0] for r in ws.db.execute("SELECT DISTINCT instance_id FROM effective_reviews")}
