"""Calibration draws, bulk decisions and their undo, reviewer flags, execution evidence: real
workspaces on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from audit_pool import build_pool

from pipeline.records import Execution
from pipeline.store import DB_NAME, SCHEMA_VERSION, Workspace, _split_sql
from pipeline.store.audit import (
    FLAG,
    bulk_review,
    calibration_draws,
    calibration_ids,
    calibration_outcomes,
    draw_calibration,
    eligible_for_calibration,
    execution_verdicts,
    flagged_by_reviewers,
    last_batch,
    undo_batch,
)
from pipeline.store.executions import save_execution
from pipeline.store.reviews import add_review, latest_review, review_history
from pipeline.store.schema import MIGRATIONS


def _final(ws: Workspace, iid: str) -> str:
    return str(
        ws.db.execute(
            "SELECT verdict FROM final_verdicts WHERE instance_id = ?", (iid,)
        ).fetchone()[0]
    )


def test_draws_are_accepted_unreviewed_and_never_repeat(ws: Workspace) -> None:
    pool = build_pool(ws, 60, seed=1)
    reviewed = pool.accepted[0]
    add_review(ws, reviewed, "ana", "accept")
    failing = pool.accepted[1]
    execution = {failing: "fail", pool.accepted[2]: "pass"}
    eligible = eligible_for_calibration(ws, execution)
    assert set(eligible) == set(pool.accepted) - {reviewed, failing}

    first = draw_calibration(ws, 10, seed=7, execution=execution)
    assert len(first) == 10 == len(set(first))
    assert set(first) <= set(eligible)
    second = draw_calibration(ws, 1000, seed=8, execution=execution)
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(eligible)  # asked for more than there were
    assert draw_calibration(ws, 5, seed=9, execution=execution) == []
    assert calibration_ids(ws) == first + second
    draws = calibration_draws(ws)
    assert {d.draw for d in draws[:10]} == {1} and {d.draw for d in draws[10:]} == {2}
    # each draw records the frame: eligible then plus drawn before
    assert {d.population for d in draws} == {len(eligible)}
    assert {d.seed for d in draws[:10]} == {7}


def test_the_same_seed_draws_the_same_instances(tmp_path: Path) -> None:
    picks = []
    for name in ("a", "b"):
        with Workspace.init(tmp_path / name) as w:
            build_pool(w, 80, seed=3)
            picks.append(draw_calibration(w, 12, seed=42))
    assert picks[0] == picks[1]
    with Workspace.init(tmp_path / "c") as w:
        build_pool(w, 80, seed=3)
        assert draw_calibration(w, 12, seed=43) != picks[0]


def test_calibration_outcomes_count_only_reviewed_draws(ws: Workspace) -> None:
    pool = build_pool(ws, 40, seed=2)
    drawn = draw_calibration(ws, 6, seed=0)
    add_review(ws, drawn[0], "ana", "reject")
    add_review(ws, drawn[1], "ana", "accept")
    outside = next(i for i in pool.accepted if i not in drawn)
    add_review(ws, outside, "ana", "reject")  # not drawn: never counted
    population, n_drawn, reviewed, rejected = calibration_outcomes(ws)
    assert (population, n_drawn, reviewed, rejected) == (len(pool.accepted), 6, 2, 1)


def test_bulk_review_writes_one_row_each_and_undo_takes_back_the_whole_batch(
    ws: Workspace,
) -> None:
    pool = build_pool(ws, 30, seed=4)
    ids = pool.accepted[:5]
    before = {i: _final(ws, i) for i in ids}
    batch = bulk_review(ws, [*ids, ids[0]], "reject", "ana", "bulk: all copy-paste")
    rows = ws.db.execute(
        "SELECT instance_id, verdict, reason, reviewer FROM reviews WHERE batch_id = ?", (batch,)
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(ids)  # the duplicate id is written once
    assert {(r[1], r[2], r[3]) for r in rows} == {("reject", "bulk: all copy-paste", "ana")}
    assert all(_final(ws, i) == "reject" for i in ids)
    summary = last_batch(ws, "ana")
    assert summary is not None
    assert (summary.batch_id, summary.action, summary.rows, summary.in_force) == (
        batch, "reject", 5, 5
    )  # fmt: skip

    # a later single review of one instance outlives the batch's undo
    add_review(ws, ids[1], "ben", "accept")
    assert undo_batch(ws, batch, "ana") == 5
    assert {i: _final(ws, i) for i in ids if i != ids[1]} == {
        i: before[i] for i in ids if i != ids[1]
    }
    assert latest_review(ws, ids[0]) is None
    latest = latest_review(ws, ids[1])
    assert latest is not None and latest.reviewer == "ben"
    assert [r.verdict for r in review_history(ws, ids[0])] == ["reject", "undo"]
    assert undo_batch(ws, batch, "ana") == 0  # nothing left in force
    summary = last_batch(ws)
    assert summary is not None and summary.in_force == 0


def test_bulk_review_rejects_bad_input_and_writes_nothing(ws: Workspace) -> None:
    pool = build_pool(ws, 10, seed=5)
    for ids, action, reviewer, message in (
        ([pool.accepted[0], "nope"], "accept", "ana", "not generated instances: nope"),
        ([pool.accepted[0]], "maybe", "ana", "maybe"),
        ([pool.accepted[0]], "accept", "  ", "reviewer"),
        ([], "accept", "ana", "at least one"),
    ):
        with pytest.raises(ValueError, match=message):
            bulk_review(ws, ids, action, reviewer)
    assert ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 0


def test_flag_is_a_mark_not_a_verdict(ws: Workspace) -> None:
    pool = build_pool(ws, 20, seed=6)
    a, b, c = pool.accepted[:3]
    batch = bulk_review(ws, [a, b, c], FLAG, "ana", "looks generated from the docstring")
    assert flagged_by_reviewers(ws) == {a, b, c}
    assert all(_final(ws, i) == "accept" for i in (a, b, c))  # the verdict stays
    assert ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 0
    add_review(ws, a, "ben", "reject")  # reviewing it settles the flag
    assert flagged_by_reviewers(ws) == {b, c}
    summary = last_batch(ws)
    assert summary is not None and (summary.action, summary.batch_id) == (FLAG, batch)
    assert undo_batch(ws, batch, "ana") == 3
    assert flagged_by_reviewers(ws) == set()


def test_execution_verdicts_come_from_the_verify_stage(ws: Workspace) -> None:
    build_pool(ws, 3, seed=0)
    assert execution_verdicts(ws) == {}
    save_execution(ws, Execution("fail", "on f(1): expected 2, got 3", instance_id="inst00000"))
    assert execution_verdicts(ws) == {"inst00000": "fail"}
    assert "inst00000" not in eligible_for_calibration(ws)


def test_a_version_2_workspace_migrates_and_keeps_its_reviews(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for script in MIGRATIONS[:2]:
        for statement in _split_sql(script):
            db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    db.close()
    with Workspace(root) as w:
        assert w.schema_version == SCHEMA_VERSION >= 3
    with Workspace(root) as w:
        pool = build_pool(w, 4, seed=0)
        add_review(w, pool.accepted[0], "ana", "reject")
        assert _final(w, pool.accepted[0]) == "reject"
        columns = {r[1] for r in w.db.execute("PRAGMA table_info(reviews)")}
        assert {"batch_id", "import_key"} <= columns


def test_flags_and_draws_change_the_apps_human_token(ws: Workspace) -> None:
    from pipeline.store.tokens import change_tokens

    pool = build_pool(ws, 10, seed=8)
    tokens = [change_tokens(ws)[1]]
    bulk_review(ws, pool.accepted[:2], FLAG, "ana")
    tokens.append(change_tokens(ws)[1])
    draw_calibration(ws, 2, seed=0)
    tokens.append(change_tokens(ws)[1])
    assert len(set(tokens)) == 3
