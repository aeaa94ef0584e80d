"""The review queue: filters, sort orders, moving, and composing a decision (pipeline.review)."""

from __future__ import annotations

import pytest

from pipeline import review as rq
from pipeline.records import CriterionAnswer, QueueRow


def _row(
    iid: str,
    seq: int,
    *,
    task: str = "code_generation",
    judge: str | None = "accept",
    human: str | None = None,
    reviewers: tuple[tuple[str, str], ...] = (),
    failed: tuple[str, ...] = (),
    flagged: bool = False,
    last: int | None = None,
) -> QueueRow:
    return QueueRow(
        iid, f"s{iid}", seq, task, "python", judge, human, reviewers, failed, flagged, last
    )


ROWS = [
    _row("a", 0),
    _row("b", 1, task="code_repair", judge="reject", failed=("fix_correct",)),
    _row("c", 2, human="reject", reviewers=(("ana", "reject"),), last=5),
    _row("d", 3, judge=None, flagged=True),
    _row(
        "e",
        4,
        judge="reject",
        human="accept",
        reviewers=(("ana", "reject"), ("ben", "accept")),
        failed=("instruction_clear", "fix_correct"),
        last=9,
    ),
]


def _ids(f: rq.QueueFilter, order: rq.SortOrder = rq.SortOrder.INGESTION) -> list[str]:
    return rq.build_queue(ROWS, f, order)


@pytest.mark.parametrize(
    ("f", "want"),
    [
        (rq.QueueFilter(), ["a", "b", "c", "d", "e"]),
        (rq.QueueFilter(tasks=frozenset({"code_repair"})), ["b"]),
        (rq.QueueFilter(judge_verdicts=frozenset({"reject"})), ["b", "e"]),
        (rq.QueueFilter(judge_verdicts=frozenset({rq.NOT_JUDGED})), ["d"]),
        (rq.QueueFilter(human=rq.HumanStatus.UNREVIEWED), ["a", "b", "d"]),
        (rq.QueueFilter(human=rq.HumanStatus.REVIEWED), ["c", "e"]),
        (rq.QueueFilter(human=rq.HumanStatus.ACCEPTED), ["e"]),
        (rq.QueueFilter(human=rq.HumanStatus.REJECTED), ["c"]),
        (rq.QueueFilter(failed_criterion=rq.ANY_FAILED), ["b", "e"]),
        (rq.QueueFilter(failed_criterion="instruction_clear"), ["e"]),
        (rq.QueueFilter(disagreement=rq.Disagreement.JUDGE_HUMAN), ["c", "e"]),
        (rq.QueueFilter(disagreement=rq.Disagreement.REVIEWERS), ["e"]),
        (rq.QueueFilter(disagreement=rq.Disagreement.EITHER), ["c", "e"]),
        (rq.QueueFilter(flagged=True), ["d"]),
        (rq.QueueFilter(flagged=False), ["a", "b", "c", "e"]),
        (rq.QueueFilter(ids=frozenset({"e", "a", "zz"})), ["a", "e"]),
        (
            rq.QueueFilter(judge_verdicts=frozenset({"reject"}), human=rq.HumanStatus.UNREVIEWED),
            ["b"],
        ),
    ],
)
def test_filters(f: rq.QueueFilter, want: list[str]) -> None:
    assert _ids(f) == want


def test_sort_orders() -> None:
    every = rq.QueueFilter()
    assert _ids(every, rq.SortOrder.TASK) == ["a", "c", "d", "e", "b"]
    assert _ids(every, rq.SortOrder.JUDGE_REJECTS_FIRST) == ["b", "e", "d", "a", "c"]
    assert _ids(every, rq.SortOrder.MOST_FAILED) == ["e", "b", "a", "c", "d"]
    assert _ids(every, rq.SortOrder.RECENTLY_REVIEWED) == ["e", "c", "a", "b", "d"]
    ana = rq.build_queue(ROWS, every, rq.SortOrder.SHUFFLED, seed="ana")
    assert sorted(ana) == ["a", "b", "c", "d", "e"]
    assert ana == rq.build_queue(ROWS, every, rq.SortOrder.SHUFFLED, seed="ana")  # stable
    orders = {tuple(rq.build_queue(ROWS, every, rq.SortOrder.SHUFFLED, seed=n)) for n in "abcdef"}
    assert len(orders) > 1  # differs between reviewers


def test_move_stays_in_bounds_and_skips() -> None:
    q = ["a", "b", "c", "d"]
    assert rq.move(q, 0, 1) == 1
    assert rq.move(q, 3, 1) == 3
    assert rq.move(q, 0, -1) == 0
    assert rq.move(q, 0, 1, skip={"b", "c"}) == 3
    assert rq.move(q, 3, -1, skip={"c"}) == 1
    assert rq.move(q, 0, 1, skip={"b", "c", "d"}) == 1  # all skipped: one step anyway
    assert rq.move([], 5, 1) == 0
    assert rq.move(q, 99, -1) == 2


def test_progress() -> None:
    assert rq.progress(["a", "b", "c"], {"b", "z"}) == (1, 3)
    assert rq.progress([], set()) == (0, 0)


CRITERIA = (
    CriterionAnswer("clear", True, "ok"),
    CriterionAnswer("correct", False, "wrong"),
)


def test_changed_flips_keeps_only_disagreements() -> None:
    assert rq.changed_flips(CRITERIA, {"clear": True, "correct": False}) == {}
    assert rq.changed_flips(CRITERIA, {"clear": True, "correct": True}) == {"correct": True}
    assert rq.changed_flips(CRITERIA, {"clear": False, "other": True}) == {"clear": False}


def test_changed_edits_and_criteria_verdict() -> None:
    original = {"instruction": "do x", "input": "", "output": "y"}
    assert rq.changed_edits(original, {"instruction": "do x", "output": "z", "code": "q"}) == {
        "output": "z"
    }
    assert rq.criteria_verdict(CRITERIA, {}) == "reject"
    assert rq.criteria_verdict(CRITERIA, {"correct": True}) == "accept"
    assert rq.criteria_verdict((), {}) is None
