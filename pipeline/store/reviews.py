"""SQL for human review: append-only review rows, the review queue, and what agreement reads.

A review row is never changed or deleted. Undo appends a row (`verdict = 'undo'`) naming the row
it cancels (`undoes`). The effective reviews are the rows that are neither undo rows nor undone
(the `effective_reviews` view); per instance the latest effective row decides (`latest_reviews`,
`final_verdicts`). Every write is one `BEGIN IMMEDIATE` transaction (`Workspace.write()`), so
reviewers in several sessions or processes lose nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.records import Verdict
from pipeline.store import Workspace, now

__all__ = [
    "EDITABLE_FIELDS",
    "Criterion",
    "InstanceBrief",
    "InstanceDetail",
    "QueueRow",
    "Review",
    "ReviewerActivity",
    "SampleLabel",
    "add_review",
    "change_tokens",
    "instance_detail",
    "instance_ids_of_samples",
    "instances_of_samples",
    "judge_verdicts",
    "judgment_labels",
    "latest_per_reviewer",
    "latest_review",
    "queue_facets",
    "queue_rows",
    "review_history",
    "reviewed_instance_ids",
    "reviewer_activity",
    "sample_labels",
    "sample_verdicts",
    "undo_review",
]

EDITABLE_FIELDS = ("instruction", "input", "output")

_REVIEW_COLUMNS = "id, instance_id, reviewer, verdict, flips, edits, reason, undoes, created_at"

# the latest effective review of each (instance, reviewer)
_LATEST_PER_REVIEWER = f"""
    SELECT {_REVIEW_COLUMNS} FROM (
        SELECT e.*, ROW_NUMBER() OVER (
            PARTITION BY e.instance_id, e.reviewer ORDER BY e.id DESC) AS rn
        FROM effective_reviews e
    ) WHERE rn = 1
"""


@dataclass(frozen=True, slots=True)
class Review:
    """One review row. `flips`: {criterion: passed as the reviewer sees it}; `edits`:
    {field: new text}; `undoes`: the id of the row an undo row cancels."""

    id: int
    instance_id: str
    reviewer: str
    verdict: str
    flips: dict[str, bool]
    edits: dict[str, str]
    reason: str
    undoes: int | None
    created_at: str


def _review(r: Any) -> Review:
    return Review(
        id=int(r["id"]),
        instance_id=r["instance_id"],
        reviewer=r["reviewer"],
        verdict=r["verdict"],
        flips={str(k): bool(v) for k, v in json.loads(r["flips"] or "{}").items()},
        edits={str(k): str(v) for k, v in json.loads(r["edits"] or "{}").items()},
        reason=r["reason"],
        undoes=None if r["undoes"] is None else int(r["undoes"]),
        created_at=r["created_at"],
    )


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
            "SELECT id FROM effective_reviews WHERE instance_id = ? AND reviewer = ? "
            "ORDER BY id DESC LIMIT 1",
            (instance_id, reviewer),
        ).fetchone()
        if row is None:
            return None
        cur = db.execute(
            "INSERT INTO reviews(instance_id, reviewer, verdict, reason, undoes, created_at) "
            "VALUES (?, ?, 'undo', ?, ?, ?)",
            (instance_id, reviewer, reason, int(row[0]), now()),
        )
        return int(cur.lastrowid or 0)


# -- reads: one instance --------------------------------------------------------------------


def review_history(ws: Workspace, instance_id: str) -> list[Review]:
    """Every review row of the instance, undo rows included, oldest first."""
    rows = ws.db.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE instance_id = ? ORDER BY id", (instance_id,)
    )
    return [_review(r) for r in rows]


def latest_review(ws: Workspace, instance_id: str, reviewer: str | None = None) -> Review | None:
    """The latest effective review of the instance (by anyone, or by `reviewer`)."""
    sql = f"SELECT {_REVIEW_COLUMNS} FROM effective_reviews WHERE instance_id = ?"
    params: list[Any] = [instance_id]
    if reviewer is not None:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    row = ws.db.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
    return None if row is None else _review(row)


@dataclass(frozen=True, slots=True)
class Criterion:
    """The Discriminator's answer on one criterion."""

    name: str
    passed: bool
    rationale: str


@dataclass(frozen=True, slots=True)
class InstanceDetail:
    """Everything the review page shows for one instance."""

    id: str
    sample_id: str
    task: str
    target_language: str
    instruction: str
    input: str
    output: str
    status: str
    provider: str
    model: str
    language: str
    repo: str
    path: str
    func_name: str
    line: int
    url: str
    docstring: str
    code: str
    judge_verdict: str | None
    judge_status: str | None
    judge_model: str | None
    judge_error: str
    criteria: tuple[Criterion, ...]
    history: tuple[Review, ...]

    @property
    def latest(self) -> Review | None:
        """The latest effective review (the human decision in force), if any."""
        undone = {r.undoes for r in self.history if r.undoes is not None}
        for r in reversed(self.history):
            if r.verdict != "undo" and r.id not in undone:
                return r
        return None

    def field(self, name: str) -> str:
        """The Generator's text of an editable field."""
        if name not in EDITABLE_FIELDS:
            raise KeyError(name)
        return str(getattr(self, name))


def instance_detail(ws: Workspace, instance_id: str) -> InstanceDetail | None:
    """The instance with its sample, the judge's answers and its review history, or None."""
    r = ws.db.execute(
        "SELECT i.id, i.sample_id, i.task, i.target_language, i.instruction, i.input, i.output, "
        "i.status, i.provider, i.model, s.language, s.repo, s.path, s.func_name, s.line, s.url, "
        "s.docstring, s.code, j.verdict AS judge_verdict, j.status AS judge_status, "
        "j.model AS judge_model, COALESCE(j.error, '') AS judge_error "
        "FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id WHERE i.id = ?",
        (instance_id,),
    ).fetchone()
    if r is None:
        return None
    criteria = tuple(
        Criterion(c["criterion"], bool(c["passed"]), c["rationale"])
        for c in ws.db.execute(
            "SELECT criterion, passed, rationale FROM judgments WHERE instance_id = ? "
            "ORDER BY rowid",
            (instance_id,),
        )
    )
    return InstanceDetail(
        **{k: r[k] for k in r.keys()},  # noqa: SIM118 - sqlite3.Row
        criteria=criteria,
        history=tuple(review_history(ws, instance_id)),
    )


# -- reads: the queue -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One generated instance as the review queue filters and sorts it.

    `reviewers`: ((reviewer, verdict), ...) of each reviewer's latest effective review, by name;
    `human_verdict`: the latest effective review's verdict; `failed`: criteria the judge failed.
    """

    instance_id: str
    sample_id: str
    seq: int
    task: str
    language: str
    judge_verdict: str | None
    human_verdict: str | None
    reviewers: tuple[tuple[str, str], ...]
    failed: tuple[str, ...]
    flagged: bool
    last_review_id: int | None


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
    latest: dict[str, tuple[int, str]] = {}
    for r in db.execute(f"SELECT id, instance_id, reviewer, verdict FROM ({_LATEST_PER_REVIEWER})"):
        iid = r["instance_id"]
        reviewers.setdefault(iid, []).append((r["reviewer"], r["verdict"]))
        if iid not in latest or r["id"] > latest[iid][0]:
            latest[iid] = (int(r["id"]), r["verdict"])
    out: list[QueueRow] = []
    for r in db.execute(
        "SELECT i.id, i.sample_id, i.task, s.language, s.seq, j.verdict "
        "FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id "
        "WHERE i.status = 'ok' ORDER BY s.seq, i.id"
    ):
        iid = r[0]
        last = latest.get(iid)
        out.append(
            QueueRow(
                instance_id=iid,
                sample_id=r[1],
                seq=int(r[4]),
                task=r[2],
                language=r[3],
                judge_verdict=r[5],
                human_verdict=None if last is None else last[1],
                reviewers=tuple(sorted(reviewers.get(iid, []))),
                failed=tuple(failed.get(iid, [])),
                flagged=iid in flagged,
                last_review_id=None if last is None else last[0],
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


def change_tokens(ws: Workspace) -> tuple[tuple[int | str, ...], tuple[int, ...]]:
    """Two cheap fingerprints for caches: (pipeline data, human decisions).

    The first changes when a stage writes (samples, vectors, instances, judgments, flags, runs,
    metrics); the second when a review or a flag clearance is added. Each is a handful of
    index lookups, so the app reads them on every rerun.
    """
    db = ws.db
    data = db.execute(
        "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM samples), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM projection), "
        "(SELECT COALESCE(MAX(rank), -1) FROM coreset), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM instances), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM judge_results), "
        "(SELECT COALESCE(MAX(rowid), 0) FROM flags), "
        "(SELECT COALESCE(MAX(id), 0) FROM runs), "
        "(SELECT COALESCE(MAX(updated_at), '') FROM metrics)"
    ).fetchone()
    human = db.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM reviews), "
        "(SELECT COALESCE(MAX(id), 0) FROM flag_clearances)"
    ).fetchone()
    return tuple(data), tuple(int(v) for v in human)


def reviewed_instance_ids(ws: Workspace) -> set[str]:
    """Instances with at least one effective review: cheap enough to read on every rerun."""
    return {r[0] for r in ws.db.execute("SELECT DISTINCT instance_id FROM effective_reviews")}


# -- reads: agreement -----------------------------------------------------------------------


def latest_per_reviewer(ws: Workspace) -> list[Review]:
    """The latest effective review of every (instance, reviewer), by instance then reviewer."""
    rows = ws.db.execute(_LATEST_PER_REVIEWER + " ORDER BY instance_id, reviewer")
    return [_review(r) for r in rows]


def judge_verdicts(ws: Workspace) -> dict[str, str]:
    """{instance id: the judge's verdict} for instances the judge answered."""
    return {
        r[0]: r[1]
        for r in ws.db.execute(
            "SELECT instance_id, verdict FROM judge_results WHERE verdict IS NOT NULL"
        )
    }


def judgment_labels(ws: Workspace) -> dict[str, dict[str, bool]]:
    """{instance id: {criterion: passed}} as the judge answered."""
    out: dict[str, dict[str, bool]] = {}
    for iid, criterion, passed in ws.db.execute(
        "SELECT instance_id, criterion, passed FROM judgments ORDER BY rowid"
    ):
        out.setdefault(iid, {})[criterion] = bool(passed)
    return out


@dataclass(frozen=True, slots=True)
class ReviewerActivity:
    """What one reviewer has done: effective reviews by verdict, undo rows, flips and edits."""

    reviewer: str
    instances: int
    accepted: int
    rejected: int
    undone: int
    with_flips: int
    with_edits: int
    last_at: str


def reviewer_activity(ws: Workspace) -> list[ReviewerActivity]:
    """Per reviewer counts, most active first. `instances`/`accepted`/`rejected` count each
    reviewer's latest effective review per instance; `undone` counts their undo rows."""
    undos = {
        r[0]: int(r[1])
        for r in ws.db.execute(
            "SELECT reviewer, COUNT(*) FROM reviews WHERE verdict = 'undo' GROUP BY reviewer"
        )
    }
    last = {
        r[0]: str(r[1])
        for r in ws.db.execute("SELECT reviewer, MAX(created_at) FROM reviews GROUP BY reviewer")
    }
    out: list[ReviewerActivity] = []
    for r in ws.db.execute(
        "SELECT reviewer, COUNT(*), SUM(verdict = 'accept'), SUM(verdict = 'reject'), "
        "SUM(flips != '{}'), SUM(edits != '{}') "
        f"FROM ({_LATEST_PER_REVIEWER}) GROUP BY reviewer"
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


# -- reads: the map -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleLabel:
    """What the map shows of a kept sample: its function name and language, and the task of its
    first generated instance (None without one)."""

    func_name: str
    language: str
    task: str | None


def sample_labels(ws: Workspace) -> dict[str, SampleLabel]:
    """{sample id: SampleLabel} for every kept sample. Changes only when a stage runs."""
    first: dict[str, str] = {}
    for sid, task in ws.db.execute(
        "SELECT sample_id, task FROM instances WHERE status = 'ok' "
        "ORDER BY created_at DESC, id DESC"
    ):
        first[sid] = task  # later rows are older: the oldest one wins
    return {
        sid: SampleLabel(name, language, first.get(sid))
        for sid, name, language in ws.db.execute(
            "SELECT id, func_name, language FROM samples WHERE dropped_by IS NULL"
        )
    }


def sample_verdicts(ws: Workspace) -> dict[str, str]:
    """{sample id: final verdict of its first generated instance} for samples that have one.
    Changes with every review."""
    out: dict[str, str] = {}
    for sid, verdict in ws.db.execute(
        "SELECT i.sample_id, f.verdict FROM instances i "
        "JOIN final_verdicts f ON f.instance_id = i.id ORDER BY i.created_at DESC, i.id DESC"
    ):
        if verdict is not None:
            out[sid] = verdict
        else:
            out.pop(sid, None)
    return out


@dataclass(frozen=True, slots=True)
class InstanceBrief:
    """An instance of a sample as the map lists it."""

    id: str
    sample_id: str
    task: str
    status: str
    verdict: str | None
    verdict_source: str | None
    instruction: str


def _chunks(ids: Iterable[str], size: int = 500) -> Iterable[list[str]]:
    chunk: list[str] = []
    for i in ids:
        chunk.append(i)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def instances_of_samples(ws: Workspace, sample_ids: Iterable[str]) -> list[InstanceBrief]:
    """Every instance (any status) of the given samples, with its final verdict when it has one."""
    out: list[InstanceBrief] = []
    for chunk in _chunks(sample_ids):
        marks = ",".join("?" * len(chunk))
        for r in ws.db.execute(
            "SELECT i.id, i.sample_id, i.task, i.status, f.verdict, f.verdict_source, "
            "i.instruction FROM instances i "
            "LEFT JOIN final_verdicts f ON f.instance_id = i.id "
            f"WHERE i.sample_id IN ({marks}) ORDER BY i.created_at, i.id",
            chunk,
        ):
            out.append(InstanceBrief(*r))
    return out


def instance_ids_of_samples(ws: Workspace, sample_ids: Iterable[str]) -> list[str]:
    """Ids of the generated (status ok) instances of the given samples, in ingestion order."""
    found: list[tuple[int, str]] = []
    for chunk in _chunks(sample_ids):
        marks = ",".join("?" * len(chunk))
        found += [
            (int(r[0]), r[1])
            for r in ws.db.execute(
                "SELECT s.seq, i.id FROM instances i JOIN samples s ON s.id = i.sample_id "
                f"WHERE i.status = 'ok' AND i.sample_id IN ({marks})",
                chunk,
            )
        ]
    return [iid for _, iid in sorted(found)]
