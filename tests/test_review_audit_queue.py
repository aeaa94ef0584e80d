"""The audit's queues on the Review page: the calibration sample and most likely wrong first."""

from __future__ import annotations

from audit_pool import build_pool

from pipeline import review as rq
from pipeline.audit.report import next_to_audit
from pipeline.records import QueueRow
from pipeline.store import Workspace
from pipeline.store.audit import calibration_ids, draw_calibration
from pipeline.store.queue import queue_rows
from pipeline.store.reviews import add_review


def _row(
    iid: str, seq: int, *, task: str = "code_generation", human: str | None = None
) -> QueueRow:
    reviewers = (("ana", human),) if human else ()
    return QueueRow(
        iid, f"s{iid}", seq, task, "python", "accept", human, reviewers, (), False, None
    )


ROWS = [_row("a", 0), _row("b", 1, task="code_repair"), _row("c", 2), _row("d", 3, human="accept")]


def test_most_likely_wrong_follows_the_ranking_then_ingestion_order() -> None:
    every = rq.QueueFilter()
    order = rq.SortOrder.MOST_LIKELY_WRONG
    assert rq.build_queue(ROWS, every, order, ranking=["c", "a"]) == ["c", "a", "b", "d"]
    assert rq.build_queue(ROWS, every, order, ranking=["b", "c", "a"]) == ["b", "c", "a", "d"]
    # filters apply first; ranked ids the filter drops are not brought back
    unreviewed = rq.QueueFilter(
        human=rq.HumanStatus.UNREVIEWED, tasks=frozenset({"code_generation"})
    )
    assert rq.build_queue(ROWS, unreviewed, order, ranking=["d", "b", "c"]) == ["c", "a"]
    # without a ranking it is ingestion order
    assert rq.build_queue(ROWS, every, order) == ["a", "b", "c", "d"]


def test_calibration_queue_keeps_draw_order_under_filters() -> None:
    draws = ["d", "b", "a", "zz"]  # "zz" is no queue row (e.g. an instance regenerated since)
    assert rq.calibration_queue(ROWS, draws, rq.QueueFilter()) == ["d", "b", "a"]
    only_gen = rq.QueueFilter(tasks=frozenset({"code_generation"}))
    assert rq.calibration_queue(ROWS, draws, only_gen) == ["d", "a"]
    todo = rq.QueueFilter(human=rq.HumanStatus.UNREVIEWED)
    assert rq.calibration_queue(ROWS, draws, todo) == ["b", "a"]
    assert rq.calibration_queue(ROWS, [], rq.QueueFilter()) == []


def test_both_queues_on_a_workspace(ws: Workspace) -> None:
    rationale = {f"inst{i:05d}": "The function does not handle an empty list." for i in (3, 5)}
    pool = build_pool(ws, 60, seed=21, rationale=rationale)
    add_review(ws, pool.accepted[0], "ana", "reject")
    drawn = draw_calibration(ws, 12, seed=4)

    # the calibration sample: exactly the draws, in draw order, reviewed ones included
    add_review(ws, drawn[2], "ana", "accept")
    rows = queue_rows(ws)
    assert rq.calibration_queue(rows, calibration_ids(ws), rq.QueueFilter()) == drawn
    todo = rq.QueueFilter(human=rq.HumanStatus.UNREVIEWED)
    assert rq.calibration_queue(rows, calibration_ids(ws), todo) == drawn[:2] + drawn[3:]

    # most likely wrong first: the risk ranking, then what it leaves out (reviewed, drawn)
    ranked = next_to_audit(ws)
    ids = [r.instance_id for r in ranked]
    queue = rq.build_queue(rows, rq.QueueFilter(), rq.SortOrder.MOST_LIKELY_WRONG, ranking=ids)
    assert queue[: len(ids)] == ids
    assert set(queue[len(ids) :]) == set(drawn) | {pool.accepted[0]}
    reasons = {r.instance_id: r.reasons for r in ranked}
    undrawn = [i for i in rationale if i not in drawn and i in reasons]
    assert undrawn, "a planted contradiction is left to rank"
    for iid in undrawn:
        assert "rationale contradicts its answer: correct" in reasons[iid]
        assert ids.index(iid) < len(ids) // 2
