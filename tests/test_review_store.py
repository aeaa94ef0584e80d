"""Review rows: append-only writes, undo, the latest decides, and the reads the app makes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from synthetic import HOSTILE_DOC, SyntheticWorkspace, build_workspace

from pipeline.store import Workspace
from pipeline.store import instances as store_instances
from pipeline.store import maps as store_maps
from pipeline.store import queue as store_queue
from pipeline.store import reviews as store
from pipeline.store import tokens as store_tokens
from pipeline.store.status import funnel


@pytest.fixture
def synth(tmp_path: Path) -> Iterator[tuple[Workspace, SyntheticWorkspace]]:
    built = build_workspace(tmp_path / "w", samples=300, coreset=60, reviewers=())
    ws = Workspace(built.root)
    yield ws, built
    ws.close()


def _final(ws: Workspace, iid: str) -> tuple[str, str]:
    row = ws.db.execute(
        "SELECT verdict, verdict_source FROM final_verdicts WHERE instance_id = ?", (iid,)
    ).fetchone()
    return row[0], row[1]


def test_reviews_append_and_the_latest_decides(synth: tuple[Workspace, SyntheticWorkspace]) -> None:
    ws, built = synth
    iid = built.instance_ids[1]
    judge = store_instances.judge_verdicts(ws)[iid]
    assert _final(ws, iid) == (judge, "judge")
    first = store.add_review(ws, iid, "ana", "reject", reason="wrong output")
    second = store.add_review(
        ws, iid, "ana", "accept", flips={"instruction_clear": True}, edits={"output": "x = 1"}
    )
    assert second > first
    assert _final(ws, iid) == ("accept", "human")
    history = store.review_history(ws, iid)
    assert [r.verdict for r in history] == ["reject", "accept"]
    assert history[0].reason == "wrong output"
    latest = store.latest_review(ws, iid)
    assert latest is not None and latest.id == second
    assert latest.flips == {"instruction_clear": True} and latest.edits == {"output": "x = 1"}
    raw = ws.db.execute("SELECT flips, edits FROM reviews WHERE id = ?", (second,)).fetchone()
    assert json.loads(raw[0]) == {"instruction_clear": True}
    assert json.loads(raw[1]) == {"output": "x = 1"}


def test_undo_appends_a_row_and_restores_the_previous_decision(
    synth: tuple[Workspace, SyntheticWorkspace],
) -> None:
    ws, built = synth
    iid = built.instance_ids[2]
    judge = store_instances.judge_verdicts(ws)[iid]
    store.add_review(ws, iid, "ana", "reject")
    store.add_review(ws, iid, "ana", "accept")
    store.add_review(ws, iid, "ben", "reject")
    assert store.undo_review(ws, iid, "ana") is not None  # undoes ana's accept, not ben's
    assert _final(ws, iid) == ("reject", "human")
    assert store.latest_review(ws, iid, "ana").verdict == "reject"  # type: ignore[union-attr]
    undo = store.undo_review(ws, iid, "ben")
    assert undo is not None
    assert store.latest_review(ws, iid).reviewer == "ana"  # type: ignore[union-attr]
    assert store.undo_review(ws, iid, "ana") is not None
    assert store.undo_review(ws, iid, "ana") is None  # nothing left
    assert _final(ws, iid) == (judge, "judge")
    rows = ws.db.execute("SELECT COUNT(*) FROM reviews WHERE instance_id = ?", (iid,)).fetchone()
    assert rows[0] == 6  # nothing deleted: three reviews, three undo rows
    detail = store_queue.instance_detail(ws, iid)
    assert detail is not None and detail.latest is None
    assert len(detail.history) == 6


def test_bad_reviews_are_refused(synth: tuple[Workspace, SyntheticWorkspace]) -> None:
    ws, built = synth
    iid = built.instance_ids[0]
    with pytest.raises(ValueError, match="reviewer"):
        store.add_review(ws, iid, "  ", "accept")
    with pytest.raises(ValueError):
        store.add_review(ws, iid, "ana", "maybe")
    with pytest.raises(ValueError, match="cannot edit"):
        store.add_review(ws, iid, "ana", "accept", edits={"code": "x"})
    with pytest.raises(sqlite3.IntegrityError):
        store.add_review(ws, "no-such-instance", "ana", "accept")
    assert ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 0


def test_instance_detail_keeps_hostile_text_verbatim(
    synth: tuple[Workspace, SyntheticWorkspace],
) -> None:
    ws, built = synth
    detail = store_queue.instance_detail(ws, built.hostile_instance)
    assert detail is not None
    assert detail.sample is not None and detail.sample.docstring == HOSTILE_DOC
    assert HOSTILE_DOC in detail.sample.code and HOSTILE_DOC in detail.instruction
    assert [c.criterion for c in detail.criteria]
    assert detail.field("output") == detail.output
    with pytest.raises(KeyError):
        detail.field("code")
    assert store_queue.instance_detail(ws, "nope") is None


def test_queue_rows_and_reads(synth: tuple[Workspace, SyntheticWorkspace]) -> None:
    ws, built = synth
    a, b = built.instance_ids[3], built.instance_ids[4]
    store.add_review(ws, a, "ana", "accept")
    store.add_review(ws, a, "ben", "reject")
    store.add_review(ws, b, "ana", "reject")
    rows = {r.instance_id: r for r in store_queue.queue_rows(ws)}
    assert set(rows) == set(built.instance_ids)
    assert rows[a].reviewers == (("ana", "accept"), ("ben", "reject"))
    assert rows[a].human_verdict == "reject" and rows[b].human_verdict == "reject"
    assert all(rows[i].flagged for i in built.flagged)
    failed = {
        r[0] for r in ws.db.execute("SELECT DISTINCT instance_id FROM judgments WHERE passed = 0")
    }
    assert {i for i, r in rows.items() if r.failed} == failed
    assert store_queue.reviewed_instance_ids(ws) == {a, b}
    assert funnel(ws)["reviewed"] == 2
    tasks, criteria = store_queue.queue_facets(ws)
    assert tasks and "instruction_clear" in criteria
    seqs = [r.seq for r in store_queue.queue_rows(ws)]
    assert seqs == sorted(seqs)


def test_change_tokens_move_with_reviews_only(synth: tuple[Workspace, SyntheticWorkspace]) -> None:
    ws, built = synth
    data, human = store_tokens.change_tokens(ws)
    store.add_review(ws, built.instance_ids[0], "ana", "accept")
    data2, human2 = store_tokens.change_tokens(ws)
    assert data2 == data and human2 != human
    ws.set_metric("coverage", {"k": []})
    assert store_tokens.change_tokens(ws)[0] != data


def test_map_reads(synth: tuple[Workspace, SyntheticWorkspace]) -> None:
    ws, built = synth
    labels = store_maps.sample_labels(ws)
    kept = {r[0] for r in ws.db.execute("SELECT id FROM samples WHERE dropped_by IS NULL")}
    assert set(labels) == kept
    with_instance = [s for s in built.coreset_ids if labels[s].task is not None]
    assert with_instance
    verdicts = store_maps.sample_verdicts(ws)
    assert set(verdicts) == set(with_instance)
    first = with_instance[1]
    iid = store_maps.instance_ids_of_samples(ws, [first])[0]
    flipped = "reject" if verdicts[first] == "accept" else "accept"
    store.add_review(ws, iid, "ana", flipped)
    assert store_maps.sample_verdicts(ws)[first] == flipped
    briefs = store_maps.instances_of_samples(ws, built.coreset_ids[:5])
    of_five = [
        r[0]
        for r in ws.db.execute(
            "SELECT id FROM instances WHERE sample_id IN (?, ?, ?, ?, ?) ORDER BY id",
            built.coreset_ids[:5],
        )
    ]
    assert of_five and sorted(b.id for b in briefs) == of_five
    assert {b.sample_id for b in briefs} <= set(built.coreset_ids[:5])
    ids = store_maps.instance_ids_of_samples(ws, built.coreset_ids)
    assert set(ids) == set(built.instance_ids)
    assert store_maps.instance_ids_of_samples(ws, []) == []
