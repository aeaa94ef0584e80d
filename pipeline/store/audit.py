"""SQL for auditing the judge: calibration draws, bulk decisions and their undo, reviewer flags,
review import and export, and what the audit report and the risk order read.

- A *calibration draw* is a uniform random draw, without replacement, from the instances whose
  final verdict is accept and that no person has reviewed (table `calibration_draws`). Each call
  is one numbered draw with its seed and its frame size (`population`: eligible instances plus
  those drawn before, at draw time), so the estimate knows the population it speaks for.
- A *bulk decision* writes one review row per instance, all sharing a `batch_id`;
  `undo_batch` appends one undo row per row of the batch that is still in force.
- A *flag* (bulk action "flag") is not a verdict: it marks an instance for a second look
  (table `review_flags`, append-only like reviews). It leaves the final verdict as it was and is
  in force until it is undone or a person reviews the instance after it.
- An *imported review* carries an `import_key` (sha256 of its content): a line imported before
  is not written again.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.records import EDITABLE_FIELDS, UNDO, InstanceStatus, Verdict
from pipeline.store import Workspace, chunks, now
from pipeline.store.executions import execution_verdicts as stored_execution_verdicts

__all__ = [
    "FLAG",
    "BatchSummary",
    "CalibrationDraw",
    "ImportedReview",
    "JudgedRow",
    "add_imported_reviews",
    "bulk_review",
    "calibration_draws",
    "calibration_ids",
    "calibration_outcomes",
    "draw_calibration",
    "eligible_for_calibration",
    "execution_verdicts",
    "exported_reviews",
    "flagged_by_reviewers",
    "judged_rows",
    "last_batch",
    "undo_batch",
]

FLAG = "flag"  # the bulk action that marks instances for a second look (not a verdict)
EXECUTION_TABLE = "executions"  # the verify stage's table: (instance_id, verdict, ...)


# -- execution evidence ------------------------------------------------------------------------
def execution_verdicts(ws: Workspace) -> dict[str, str]:
    """{instance id: pass | fail | inconclusive | not_applicable} from the verify stage (the
    `executions` table, `pipeline.store.executions`); every audit function takes the execution
    verdicts as an optional input and defaults to this."""
    return stored_execution_verdicts(ws)


def _gate_on(ws: Workspace) -> bool:
    """`[verify] gate` as the workspace mirrors it into meta (what view `final_verdicts` reads)."""
    row = ws.db.execute("SELECT value FROM meta WHERE key = 'verify_gate'").fetchone()
    return (row[0] if row else "1") == "1"


def _gated(judge: str | None, execution: str | None, gate: bool) -> str | None:
    """The final verdict without people, as view `final_verdicts` computes it for stored verdicts
    (reject when execution failed and the gate is on, else the judge's); here for the execution
    verdicts a caller passes in (a simulation), so it must follow that view's rule."""
    if judge is None:
        return None
    return Verdict.REJECT.value if gate and execution == "fail" else judge


# -- calibration draws ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CalibrationDraw:
    """One drawn instance: `draw` numbers the `audit sample` call; `population` is that draw's
    frame size; `human_verdict` the latest effective review's verdict (None: not yet reviewed)."""

    instance_id: str
    draw: int
    seed: int
    population: int
    drawn_at: str
    human_verdict: str | None


def eligible_for_calibration(
    ws: Workspace, execution: Mapping[str, str] | None = None
) -> list[str]:
    """Instances whose final verdict is accept (the judge's, and execution did not fail) and that
    no person has reviewed and that are not drawn yet, sorted by id."""
    execution = execution_verdicts(ws) if execution is None else execution
    rows = ws.db.execute(
        "SELECT f.instance_id FROM final_verdicts f "
        "WHERE f.verdict = ? AND f.human_verdict IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM effective_reviews e WHERE e.instance_id = f.instance_id) "
        "AND NOT EXISTS (SELECT 1 FROM calibration_draws d WHERE d.instance_id = f.instance_id) "
        "ORDER BY f.instance_id",
        (Verdict.ACCEPT,),
    )
    return [str(r[0]) for r in rows if execution.get(r[0]) != "fail"]


def draw_calibration(
    ws: Workspace,
    n: int,
    seed: int | None = None,
    *,
    execution: Mapping[str, str] | None = None,
) -> list[str]:
    """Draw `n` instances uniformly without replacement from `eligible_for_calibration` and record
    them as one calibration draw; returns the drawn ids in draw order (fewer when fewer are
    eligible, none when none are). `seed` None picks a random seed (recorded with the draw).

    Successive draws are uniform from what earlier draws left, so together they stay a uniform
    sample of the first frame (as long as people review the drawn instances, not others first).
    """
    if n < 0:
        raise ValueError(f"cannot draw {n} instances")
    seed = secrets.randbits(31) if seed is None else int(seed)
    with ws.write() as db:
        pool = eligible_for_calibration(ws, execution)
        drawn_before = int(db.execute("SELECT COUNT(*) FROM calibration_draws").fetchone()[0])
        picked = random.Random(seed).sample(pool, min(n, len(pool)))
        if not picked:
            return []
        number = int(
            db.execute("SELECT COALESCE(MAX(draw), 0) + 1 FROM calibration_draws").fetchone()[0]
        )
        stamp = now()
        db.executemany(
            "INSERT INTO calibration_draws(instance_id, draw, seed, population, drawn_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(iid, number, seed, len(pool) + drawn_before, stamp) for iid in picked],
        )
    return picked


def calibration_ids(ws: Workspace) -> list[str]:
    """Every drawn instance in draw order: the Review page's "calibration sample" queue."""
    return [
        str(r[0])
        for r in ws.db.execute("SELECT instance_id FROM calibration_draws ORDER BY draw, rowid")
    ]


def calibration_draws(ws: Workspace) -> list[CalibrationDraw]:
    """Every drawn instance in draw order with its latest human verdict (None: not reviewed)."""
    return [
        CalibrationDraw(str(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4]), r[5])
        for r in ws.db.execute(
            "SELECT d.instance_id, d.draw, d.seed, d.population, d.drawn_at, l.verdict "
            "FROM calibration_draws d LEFT JOIN latest_reviews l ON l.instance_id = d.instance_id "
            "ORDER BY d.draw, d.rowid"
        )
    ]


def calibration_outcomes(ws: Workspace) -> tuple[int, int, int, int]:
    """(frame size, drawn, reviewed draws, reviewed draws a person rejected).

    The frame is the largest recorded at a draw (the first draw's, unless the accepted pool grew
    since), never smaller than the number drawn."""
    draws = calibration_draws(ws)
    reviewed = [d for d in draws if d.human_verdict is not None]
    population = max((d.population for d in draws), default=0)
    rejected = sum(1 for d in reviewed if d.human_verdict == Verdict.REJECT)
    return max(population, len(draws)), len(draws), len(reviewed), rejected


# -- bulk decisions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BatchSummary:
    """A bulk decision: its id, the action (accept, reject or flag), who made it, the reason, when,
    how many rows it wrote and how many of them are still in force."""

    batch_id: str
    action: str
    reviewer: str
    reason: str
    created_at: str
    rows: int
    in_force: int


def bulk_review(
    ws: Workspace, ids: Sequence[str], action: Verdict | str, reviewer: str, reason: str = ""
) -> str:
    """Accept, reject or flag (`FLAG`) every instance in `ids` with one reason, in one transaction.

    Each instance gets its own review row (or flag row), all sharing the returned batch id;
    duplicates in `ids` are written once. Raises ValueError on an empty reviewer, an unknown
    action, no ids, or ids that are not generated instances (nothing is written then).
    """
    reviewer = reviewer.strip()
    if not reviewer:
        raise ValueError("a bulk decision needs a reviewer name")
    action = str(action)
    if action != FLAG:
        action = Verdict(action).value
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise ValueError("a bulk decision needs at least one instance")
    batch = uuid.uuid4().hex[:16]
    stamp = now()
    with ws.write() as db:
        known: set[str] = set()
        for chunk, marks in chunks(unique):
            known |= {
                str(r[0])
                for r in db.execute(
                    f"SELECT id FROM instances WHERE status = ? AND id IN ({marks})",
                    [InstanceStatus.OK, *chunk],
                )
            }
        unknown = [i for i in unique if i not in known]
        if unknown:
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise ValueError(f"not generated instances: {', '.join(unknown[:3])}{more}")
        if action == FLAG:
            db.executemany(
                "INSERT INTO review_flags(instance_id, reviewer, reason, batch_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(i, reviewer, reason, batch, stamp) for i in unique],
            )
        else:
            db.executemany(
                "INSERT INTO reviews(instance_id, reviewer, verdict, reason, batch_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(i, reviewer, action, reason, batch, stamp) for i in unique],
            )
    return batch


def undo_batch(ws: Workspace, batch_id: str, reviewer: str, reason: str = "") -> int:
    """Take back a whole bulk decision: one undo row (by `reviewer`) for each of the batch's rows
    still in force, in one transaction. Returns how many rows were undone (0: nothing left).

    Later reviews of the same instances stay in force; an instance whose batch row was its only
    review is unreviewed again."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise ValueError("an undo needs a reviewer name")
    stamp = now()
    with ws.write() as db:
        rows = db.execute(
            "SELECT r.id, r.instance_id FROM reviews r WHERE r.batch_id = ? AND r.verdict != ? "
            "AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)",
            (batch_id, UNDO),
        ).fetchall()
        db.executemany(
            "INSERT INTO reviews(instance_id, reviewer, verdict, reason, undoes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(r[1], reviewer, UNDO, reason, int(r[0]), stamp) for r in rows],
        )
        flags = db.execute(
            "SELECT f.id, f.instance_id FROM review_flags f WHERE f.batch_id = ? "
            "AND f.undoes IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM review_flags u WHERE u.undoes = f.id)",
            (batch_id,),
        ).fetchall()
        db.executemany(
            "INSERT INTO review_flags(instance_id, reviewer, reason, undoes, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r[1], reviewer, reason, int(r[0]), stamp) for r in flags],
        )
    return len(rows) + len(flags)


def last_batch(ws: Workspace, reviewer: str | None = None) -> BatchSummary | None:
    """The newest bulk decision (by `reviewer`, or by anyone), or None: what "undo" offers."""
    found: list[BatchSummary] = []
    who = "" if reviewer is None else " AND reviewer = ?"
    params: list[str] = [] if reviewer is None else [reviewer]
    for table, action_sql, live_sql in (
        (
            "reviews",
            "MIN(r.verdict)",
            "SUM(NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id))",
        ),
        (
            "review_flags",
            f"'{FLAG}'",
            "SUM(NOT EXISTS (SELECT 1 FROM review_flags u WHERE u.undoes = r.id))",
        ),
    ):
        row = ws.db.execute(
            f"SELECT r.batch_id, {action_sql}, MIN(r.reviewer), MIN(r.reason), MIN(r.created_at), "
            f"COUNT(*), {live_sql}, MAX(r.id) FROM {table} r "
            f"WHERE r.batch_id IS NOT NULL{who.replace('reviewer', 'r.reviewer')} "
            "GROUP BY r.batch_id ORDER BY MAX(r.id) DESC LIMIT 1",
            params,
        ).fetchone()
        if row is not None:
            found.append(
                BatchSummary(
                    str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                    int(row[5]), int(row[6] or 0),
                )
            )  # fmt: skip
    if not found:
        return None
    return max(found, key=lambda b: b.created_at)


def flagged_by_reviewers(ws: Workspace) -> set[str]:
    """Instances with a reviewer flag in force: not undone, and nobody reviewed them since."""
    return {
        str(r[0])
        for r in ws.db.execute(
            "SELECT DISTINCT f.instance_id FROM review_flags f WHERE f.undoes IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM review_flags u WHERE u.undoes = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM effective_reviews e "
            "WHERE e.instance_id = f.instance_id AND e.created_at >= f.created_at)"
        )
    }


# -- import and export -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImportedReview:
    """One valid line of a reviews JSONL file. `criteria`: {criterion: passed as the reviewer
    sees it} (stored as the review's flips); `key`: sha256 of the content, the import key."""

    instance_id: str
    verdict: str
    reviewer: str
    reason: str = ""
    criteria: Mapping[str, bool] = field(default_factory=dict)
    edits: Mapping[str, str] = field(default_factory=dict)
    key: str = ""


def add_imported_reviews(ws: Workspace, reviews: Iterable[ImportedReview]) -> tuple[int, int]:
    """Write imported reviews in one transaction; returns (written, already there).

    A review is already there when its import key was imported before, or when the reviewer's
    latest effective review of the instance says the same (verdict, reason, criteria, edits): so
    importing a file twice, or importing what `exported_reviews` wrote, adds nothing."""
    written = present = 0
    stamp = now()
    with ws.write() as db:
        for r in reviews:
            if set(r.edits) - set(EDITABLE_FIELDS):
                raise ValueError(f"{r.instance_id}: cannot edit {sorted(r.edits)}")
            flips = json.dumps({k: bool(v) for k, v in r.criteria.items()}, sort_keys=True)
            edits = json.dumps(dict(r.edits), sort_keys=True, ensure_ascii=False)
            if db.execute("SELECT 1 FROM reviews WHERE import_key = ?", (r.key,)).fetchone():
                present += 1
                continue
            same = db.execute(
                "SELECT 1 FROM reviewer_latest_reviews WHERE instance_id = ? AND reviewer = ? "
                "AND verdict = ? AND reason = ? AND flips = ? AND edits = ?",
                (r.instance_id, r.reviewer, r.verdict, r.reason, flips, edits),
            ).fetchone()
            if same:
                present += 1
                continue
            db.execute(
                "INSERT INTO reviews(instance_id, reviewer, verdict, flips, edits, reason, "
                "import_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (r.instance_id, r.reviewer, r.verdict, flips, edits, r.reason, r.key, stamp),
            )
            written += 1
    return written, present


def exported_reviews(ws: Workspace) -> list[ImportedReview]:
    """Every effective review (not an undo row, not undone), oldest first, in import shape."""
    out: list[ImportedReview] = []
    for r in ws.db.execute(
        "SELECT instance_id, verdict, reviewer, reason, flips, edits FROM effective_reviews "
        "ORDER BY id"
    ):
        out.append(
            ImportedReview(
                str(r[0]), str(r[1]), str(r[2]), str(r[3]),
                {str(k): bool(v) for k, v in json.loads(r[4] or "{}").items()},
                {str(k): str(v) for k, v in json.loads(r[5] or "{}").items()},
            )
        )  # fmt: skip
    return out


def instance_criteria(ws: Workspace, ids: Iterable[str]) -> dict[str, set[str]]:
    """{instance id: criteria the judge answered} for those of `ids` that are generated
    instances (an instance the judge has not answered maps to an empty set)."""
    out: dict[str, set[str]] = {}
    for chunk, marks in chunks(list(dict.fromkeys(ids))):
        for (iid,) in ws.db.execute(
            f"SELECT id FROM instances WHERE status = ? AND id IN ({marks})",
            [InstanceStatus.OK, *chunk],
        ):
            out[str(iid)] = set()
        for iid, criterion in ws.db.execute(
            f"SELECT instance_id, criterion FROM judgments WHERE instance_id IN ({marks})", chunk
        ):
            out.setdefault(str(iid), set()).add(str(criterion))
    return out


# -- what the report and the risk order read -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class JudgedRow:
    """A judged, generated instance as the audit reads it: the judge's verdict and answers
    ({criterion: (passed, rationale)}), the machine verdict (the judge's after the execution
    gate), execution verdict, and the latest human review (verdict and flips) if any."""

    instance_id: str
    sample_id: str
    task: str
    judge_verdict: str
    machine_verdict: str
    execution: str | None
    criteria: dict[str, tuple[bool, str]]
    human_verdict: str | None
    human_flips: dict[str, bool]
    drawn: bool


def judged_rows(ws: Workspace, execution: Mapping[str, str] | None = None) -> list[JudgedRow]:
    """Every generated instance the judge answered, by id; three queries for the whole workspace."""
    execution = execution_verdicts(ws) if execution is None else execution
    gate = _gate_on(ws)
    db = ws.db
    criteria: dict[str, dict[str, tuple[bool, str]]] = {}
    for iid, criterion, passed, rationale in db.execute(
        "SELECT instance_id, criterion, passed, rationale FROM judgments ORDER BY rowid"
    ):
        criteria.setdefault(iid, {})[criterion] = (bool(passed), rationale)
    drawn = {r[0] for r in db.execute("SELECT instance_id FROM calibration_draws")}
    # the latest effective review per instance is its newest effective row (the newest of each
    # reviewer's latest, as the view latest_reviews says); read in one pass, not joined per row
    latest: dict[str, tuple[str, str]] = {}
    for iid, verdict, flips in db.execute(
        "SELECT instance_id, verdict, flips FROM effective_reviews ORDER BY id"
    ):
        latest[iid] = (verdict, flips)
    out: list[JudgedRow] = []
    for iid, sid, task, judge in db.execute(
        "SELECT i.id, i.sample_id, i.task, j.verdict FROM instances i "
        "JOIN judge_results j ON j.instance_id = i.id "
        "WHERE i.status = ? AND j.verdict IS NOT NULL ORDER BY i.id",
        (InstanceStatus.OK,),
    ):
        ex = execution.get(iid)
        human, flips = latest.get(iid, (None, "{}"))
        out.append(
            JudgedRow(
                instance_id=iid,
                sample_id=sid,
                task=task,
                judge_verdict=judge,
                machine_verdict=_gated(judge, ex, gate) or judge,
                execution=ex,
                criteria=criteria.get(iid, {}),
                human_verdict=human,
                human_flips={}
                if flips == "{}"
                else {str(k): bool(v) for k, v in json.loads(flips).items()},
                drawn=iid in drawn,
            )
        )
    return out
