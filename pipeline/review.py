"""The review queue and the shape of a review: filtering, sorting, moving, composing a decision.

Pure functions over `pipeline.records.QueueRow`; the app's Review page only wires widgets to
them. A queue is a snapshot (a list of instance ids) taken when the filters change, so that an
instance a reviewer has just accepted stays where it was and "previous" finds it again.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pipeline.records import CriterionAnswer, ExecVerdict, QueueRow, Verdict

__all__ = [
    "ANY_FAILED",
    "NOT_JUDGED",
    "NOT_VERIFIED",
    "Disagreement",
    "HumanStatus",
    "QueueFilter",
    "QueueSource",
    "SortOrder",
    "build_queue",
    "calibration_queue",
    "changed_edits",
    "changed_flips",
    "criteria_verdict",
    "filter_rows",
    "move",
    "progress",
    "sort_rows",
]

ANY_FAILED = "(any criterion)"
NOT_JUDGED = "not judged"
NOT_VERIFIED = "not verified"


class HumanStatus(StrEnum):
    ANY = "any"
    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Disagreement(StrEnum):
    ANY = "any"
    JUDGE_HUMAN = "judge vs human"  # the latest human verdict differs from the judge's
    REVIEWERS = "between reviewers"  # reviewers' latest verdicts differ
    EITHER = "either"  # judge vs human, or between reviewers
    # the Discriminator and the execution evidence disagree
    JUDGE_ACCEPTS_EXEC_FAILS = "judge accepts, execution fails"
    JUDGE_REJECTS_EXEC_PASSES = "judge rejects, execution passes"


class SortOrder(StrEnum):
    INGESTION = "ingestion order"
    TASK = "task"
    JUDGE_REJECTS_FIRST = "judge rejects first"
    MOST_FAILED = "most failed criteria"
    SHUFFLED = "shuffled (per reviewer)"
    RECENTLY_REVIEWED = "recently reviewed"
    MOST_LIKELY_WRONG = "most likely wrong first"  # the audit's risk ranking (`ranking=`)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue keeps. Empty collections and ANY mean no restriction.

    `judge_verdicts` holds "accept", "reject" and/or NOT_JUDGED; `failed_criterion` a criterion
    name or ANY_FAILED; `flagged` True keeps only flagged instances, False only unflagged ones;
    `ids` restricts the queue to these instances (a selection sent from the map);
    `execution_verdicts` holds pass, fail, inconclusive, not_applicable and/or NOT_VERIFIED.
    """

    tasks: frozenset[str] = frozenset()
    judge_verdicts: frozenset[str] = frozenset()
    human: HumanStatus = HumanStatus.ANY
    failed_criterion: str | None = None
    disagreement: Disagreement = Disagreement.ANY
    flagged: bool | None = None
    ids: frozenset[str] | None = field(default=None)
    execution_verdicts: frozenset[str] = frozenset()


def _judge_vs_human(row: QueueRow) -> bool:
    return (
        row.human_verdict is not None
        and row.judge_verdict is not None
        and row.human_verdict != row.judge_verdict
    )


def _between_reviewers(row: QueueRow) -> bool:
    return len({v for _, v in row.reviewers}) > 1


def _keep(row: QueueRow, f: QueueFilter) -> bool:
    if f.ids is not None and row.instance_id not in f.ids:
        return False
    if f.tasks and row.task not in f.tasks:
        return False
    if f.judge_verdicts and (row.judge_verdict or NOT_JUDGED) not in f.judge_verdicts:
        return False
    human = row.human_verdict
    if f.human is HumanStatus.UNREVIEWED and human is not None:
        return False
    if f.human is HumanStatus.REVIEWED and human is None:
        return False
    if f.human is HumanStatus.ACCEPTED and human != Verdict.ACCEPT:
        return False
    if f.human is HumanStatus.REJECTED and human != Verdict.REJECT:
        return False
    if f.failed_criterion == ANY_FAILED and not row.failed:
        return False
    if f.failed_criterion not in (None, ANY_FAILED) and f.failed_criterion not in row.failed:
        return False
    if f.disagreement is Disagreement.JUDGE_HUMAN and not _judge_vs_human(row):
        return False
    if f.disagreement is Disagreement.REVIEWERS and not _between_reviewers(row):
        return False
    if f.disagreement is Disagreement.JUDGE_ACCEPTS_EXEC_FAILS and not (
        row.judge_verdict == Verdict.ACCEPT and row.execution_verdict == ExecVerdict.FAIL
    ):
        return False
    if f.disagreement is Disagreement.JUDGE_REJECTS_EXEC_PASSES and not (
        row.judge_verdict == Verdict.REJECT and row.execution_verdict == ExecVerdict.PASS
    ):
        return False
    if f.execution_verdicts and (row.execution_verdict or NOT_VERIFIED) not in f.execution_verdicts:
        return False
    if f.disagreement is Disagreement.EITHER and not (
        _judge_vs_human(row) or _between_reviewers(row)
    ):
        return False
    return f.flagged is None or row.flagged == f.flagged


def filter_rows(rows: Iterable[QueueRow], f: QueueFilter) -> list[QueueRow]:
    """The rows `f` keeps, in their given order."""
    return [r for r in rows if _keep(r, f)]


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def sort_rows(
    rows: Sequence[QueueRow], order: SortOrder, *, seed: str = "", ranking: Sequence[str] = ()
) -> list[QueueRow]:
    """Rows in `order`; ties keep ingestion order. SHUFFLED is a fixed permutation per `seed`
    (the reviewer's name), so that reviewers working one queue at once rarely meet.
    MOST_LIKELY_WRONG puts the rows in `ranking` (instance ids, most likely wrong first: the
    order of `pipeline.audit.report.next_to_audit`) first in that order, then the rest (reviewed
    instances, calibration draws, unjudged ones: what the risk model does not rank) in ingestion
    order."""
    base = sorted(rows, key=lambda r: (r.seq, r.instance_id))
    if order is SortOrder.MOST_LIKELY_WRONG:
        place = {iid: i for i, iid in enumerate(ranking)}
        return sorted(base, key=lambda r: place.get(r.instance_id, len(place)))
    if order is SortOrder.TASK:
        return sorted(base, key=lambda r: r.task)
    if order is SortOrder.JUDGE_REJECTS_FIRST:
        rank: dict[str | None, int] = {Verdict.REJECT: 0, None: 1, Verdict.ACCEPT: 2}
        return sorted(base, key=lambda r: rank.get(r.judge_verdict, 1))
    if order is SortOrder.MOST_FAILED:
        return sorted(base, key=lambda r: -len(r.failed))
    if order is SortOrder.SHUFFLED:
        random.Random(_seed(seed)).shuffle(base)
        return base
    if order is SortOrder.RECENTLY_REVIEWED:
        return sorted(base, key=lambda r: -(r.last_review_id or 0))
    return base


def build_queue(
    rows: Iterable[QueueRow],
    f: QueueFilter,
    order: SortOrder,
    *,
    seed: str = "",
    ranking: Sequence[str] = (),
) -> list[str]:
    """The instance ids of the queue: filtered, then sorted (`seed`, `ranking`: see sort_rows)."""
    kept = filter_rows(rows, f)
    return [r.instance_id for r in sort_rows(kept, order, seed=seed, ranking=ranking)]


class QueueSource(StrEnum):
    """Where a queue's instances come from, before any filter."""

    ALL = "all instances"
    CALIBRATION = "calibration sample"  # the calibration draws, in draw order


def calibration_queue(rows: Iterable[QueueRow], draws: Sequence[str], f: QueueFilter) -> list[str]:
    """The calibration queue: the drawn instance ids (`pipeline.store.audit.calibration_ids`, in
    draw order) that `f` keeps, in draw order; reviewed draws stay, so that progress counts them
    and "previous" finds them. No sort order applies: every draw is to be reviewed, and the
    estimate does not depend on the order they are read in."""
    kept = {r.instance_id for r in filter_rows(rows, f)}
    return [iid for iid in dict.fromkeys(draws) if iid in kept]


def move(
    queue: Sequence[str], cursor: int, step: int, *, skip: Collection[str] = frozenset()
) -> int:
    """The position `step` places (+1 next, -1 previous) from `cursor`, passing over ids in
    `skip` (for example, instances another reviewer finished meanwhile). Stays at the end it
    would run past; with everything skipped, it moves one place anyway."""
    if not queue:
        return 0
    cursor = min(max(cursor, 0), len(queue) - 1)
    direction = 1 if step >= 0 else -1
    target = min(max(cursor + step, 0), len(queue) - 1)
    probe = target
    while 0 <= probe < len(queue):
        if queue[probe] not in skip:
            return probe
        probe += direction
    return target


def progress(queue: Sequence[str], reviewed: Collection[str]) -> tuple[int, int]:
    """(reviewed, total) over the queue's instances."""
    return sum(1 for i in queue if i in reviewed), len(queue)


def changed_flips(
    criteria: Sequence[CriterionAnswer], reviewer_view: Mapping[str, bool]
) -> dict[str, bool]:
    """The criteria where the reviewer's pass/fail differs from the judge's: what a review stores
    as `flips` ({criterion: passed as the reviewer sees it}). Unknown criteria are ignored."""
    return {
        c.criterion: bool(reviewer_view[c.criterion])
        for c in criteria
        if c.criterion in reviewer_view and bool(reviewer_view[c.criterion]) != c.passed
    }


def changed_edits(original: Mapping[str, str], edited: Mapping[str, str]) -> dict[str, str]:
    """The fields whose edited text differs from the Generator's: what a review stores as
    `edits`."""
    return {k: v for k, v in edited.items() if k in original and v != original[k]}


def criteria_verdict(criteria: Sequence[CriterionAnswer], flips: Mapping[str, bool]) -> str | None:
    """The verdict the criteria give with the reviewer's flips applied: accept when every
    criterion passes (the judge's rule), None when there are no criteria."""
    if not criteria:
        return None
    ok = all(flips.get(c.criterion, c.passed) for c in criteria)
    return Verdict.ACCEPT if ok else Verdict.REJECT
