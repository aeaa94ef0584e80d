"""The Agreement page shows the audit's numbers (pipeline.audit.report) and draws calibration
instances, through AppTest on a simulated pool with a known truth (tests/audit_pool.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_pool import Pool, build_pool
from streamlit.testing.v1 import AppTest

from pipeline.agreement import UNSPECIFIED
from pipeline.audit.report import AuditReport, audit_report, next_to_audit
from pipeline.store import Workspace
from pipeline.store.audit import calibration_ids, draw_calibration, flagged_by_reviewers
from pipeline.store.reviews import add_review

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"


@pytest.fixture
def audited(tmp_path: Path) -> tuple[Path, Pool, AuditReport]:
    """A pool of 300 judged instances; 40 drawn for calibration, 30 of them reviewed as the truth
    says; 12 more reviews in risk order (not a random sample), two overrides without a flip."""
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        pool = build_pool(ws, 300, wrong_share=0.2, seed=31)
        drawn = draw_calibration(ws, 40, seed=7)
        for iid in drawn[:30]:
            verdict = "reject" if iid in pool.wrong else "accept"
            flips = {"correct": False} if verdict == "reject" else None
            add_review(ws, iid, "ana", verdict, flips=flips)
        others = [i for i in pool.accepted if i not in drawn]
        for iid in others[:10]:
            add_review(ws, iid, "ben", "accept")
        for iid in others[10:12]:
            add_review(ws, iid, "ben", "reject")  # an override without a flipped criterion
        for iid in pool.rejected[:6]:
            add_review(ws, iid, "ben", "reject")
        report = audit_report(ws)
    return root, pool, report


def _open(root: Path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["workspace_path"] = str(root)
    at.session_state["reviewer"] = "ana"
    at.run()
    at.switch_page("views/agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def agreement_page(audited: tuple[Path, Pool, AuditReport]) -> AppTest:
    """The Agreement page, opened on the audited workspace."""
    return _open(audited[0])


def _pct(x: float) -> str:
    return f"{x:.1%}"


def test_agreement_page_shows_the_calibration_estimate(
    audited: tuple[Path, Pool, AuditReport],
) -> None:
    root, pool, report = audited
    e = report.error_rate
    assert e.n == 30 and report.drawn == 40 and report.population == len(pool.accepted)
    at = _open(root)
    metrics = {m.label: m for m in at.metric}
    shown = metrics["Would be rejected"]
    assert shown.value == _pct(e.estimate)
    assert shown.delta == f"95% interval [{_pct(e.low)}, {_pct(e.high)}]"
    assert e.low < e.estimate < e.high
    assert metrics["Reviewed draws (n)"].value == "30"
    assert metrics["Reviewed draws (n)"].delta == "of 40 drawn"
    assert metrics["Population"].value == f"{len(pool.accepted):,}"
    assert metrics["More draws needed"].value == f"{report.more_draws_for_5_points:,}"
    assert metrics["More draws needed"].delta == "for a ±5-point interval"
    assert report.more_draws_for_5_points > 0
    captions = " ".join(c.value for c in at.caption)
    assert "Only the calibration draws feed this estimate" in captions
    assert "not a random sample" in captions
    assert "counts as a disagreement" in captions
    assert "counts as their agreement" not in captions  # the old rule is gone
    assert any("10 drawn instances are waiting" in i.value for i in at.info)


def test_agreement_page_shows_every_kappa_with_n_and_interval(
    audited: tuple[Path, Pool, AuditReport], agreement_page: AppTest
) -> None:
    report, at = audited[2], agreement_page
    table = at.dataframe[0].value.set_index("scope")
    assert list(table.index[:3]) == ["verdict", "task code_generation", "task code_summarization"]
    for scope, stats in [
        ("verdict", report.overall),
        *((f"task {t}", s) for t, s in report.per_task.items()),
        *((f"criterion {c}", s) for c, s in report.per_criterion.items()),
    ]:
        row = table.loc[scope]
        assert row["n"] == stats.agreement.n
        assert row["agreement"] == pytest.approx(stats.observed.estimate)
        o = stats.observed
        assert row["agreement 95%"] == f"[{_pct(o.low)}, {_pct(o.high)}]"
        if scope != f"criterion {UNSPECIFIED}":
            k = stats.kappa
            assert row["kappa"] == f"{k.estimate:.2f}"
            assert row["kappa 95%"] == f"[{k.low:.2f}, {k.high:.2f}]"
    assert table.loc["verdict", "n"] == 30 + 10 + 2 + 6
    # the two overrides without a flip are disagreements, with no kappa
    unspecified = table.loc[f"criterion {UNSPECIFIED}"]
    assert unspecified["n"] == 2 and unspecified["agreement"] == 0.0
    assert (unspecified["kappa"], unspecified["kappa 95%"]) == ("n/a", "n/a")
    assert unspecified["flipped to fail"] == "2"  # the judge passed, the person failed
    assert table.loc["verdict", "flipped to fail"] == ""  # not a criterion
    metrics = {m.label: m for m in at.metric}
    kappa = metrics["Cohen's kappa"]
    k = report.overall.kappa
    assert kappa.value == f"{k.estimate:.2f}"
    assert kappa.delta == f"95% [{k.low:.2f}, {k.high:.2f}] · n = 48"
    p, r = report.precision, report.recall
    assert metrics["Precision of accept"].value == _pct(p.estimate)
    assert (
        metrics["Precision of accept"].delta == f"95% [{_pct(p.low)}, {_pct(p.high)}] · n = {p.n}"
    )
    assert metrics["Recall of accept"].value == _pct(r.estimate)
    assert p.n == 30 + 12  # every reviewed instance the judge accepted: not a random sample
    assert any("From all reviews, not a random sample" in c.value for c in at.caption)


def test_draw_button_draws_seeded_and_opens_the_calibration_queue(
    audited: tuple[Path, Pool, AuditReport], agreement_page: AppTest
) -> None:
    root, at = audited[0], agreement_page
    at.number_input(key="ag_draw_n").set_value(5)
    seed = next(n for n in at.number_input if n.label == "Seed")
    seed.set_value(1234)
    next(b for b in at.button if b.label == "Draw and review them").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["review_source"] == "calibration sample"
    assert at.subheader[0].value == "Review"
    with Workspace(root) as ws:
        ids = calibration_ids(ws)
        seeds = {r[0] for r in ws.db.execute("SELECT seed FROM calibration_draws WHERE draw = 2")}
    assert len(ids) == 45 and seeds == {1234}
    # the Review page opens on the calibration sample, in draw order
    assert at.session_state["review_queue"]["ids"] == ids
    assert any("calibration sample, in draw order" in c.value for c in at.caption)


def _review(root: Path, **state: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["workspace_path"] = str(root)
    at.session_state["reviewer"] = "ana"
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("views/review.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_review_page_offers_the_risk_order_with_its_reasons(
    audited: tuple[Path, Pool, AuditReport],
) -> None:
    root, _, _ = audited
    at = _review(root)
    at.selectbox(key="rv_sort").select("most likely wrong first").run()
    assert not at.exception, [e.message for e in at.exception]
    with Workspace(root) as ws:
        ranked = next_to_audit(ws)
    queue = at.session_state["review_queue"]["ids"]
    assert queue[: len(ranked)] == [r.instance_id for r in ranked]
    note = next(c.value for c in at.caption if c.value.startswith("Risk rank"))
    assert note.startswith(f"Risk rank 1 · score {ranked[0].score:.0%}")
    # the sort order does not apply to the calibration sample
    at.segmented_control(key="review_source").set_value("calibration sample").run()
    assert at.selectbox(key="rv_sort").disabled
    with Workspace(root) as ws:
        assert at.session_state["review_queue"]["ids"] == calibration_ids(ws)


def test_bulk_reject_of_a_filtered_queue_and_its_undo(
    audited: tuple[Path, Pool, AuditReport],
) -> None:
    root, pool, _ = audited
    at = _review(root)
    at.multiselect(key="rv_tasks").set_value(["code_summarization"])
    at.pills(key="rv_judge").set_value(["reject"])
    at.selectbox(key="rv_human").select("unreviewed").run()
    queue = at.session_state["review_queue"]["ids"]
    want = [i for i in pool.rejected if pool.task_of[i] == "code_summarization"]
    want = [i for i in want if i not in set(pool.rejected[:6])]  # ben reviewed those
    assert sorted(queue) == sorted(want) and queue
    go = at.button(key="rv_bulk_go")
    assert go.label == f"Reject {len(queue)} instances" and go.disabled
    at.text_input(key="rv_bulk_reason").input("judge rejects: spot-checked")
    at.run()
    assert at.button(key="rv_bulk_go").disabled  # not confirmed yet
    sure = next(c for c in at.checkbox if c.label.startswith("Yes, reject all"))
    assert sure.label == f"Yes, reject all {len(queue)} instances of this queue"
    sure.check().run()
    at.button(key="rv_bulk_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Workspace(root) as ws:
        rows = ws.db.execute(
            "SELECT batch_id, COUNT(*), MIN(reason), MIN(verdict), MAX(reviewer) FROM reviews "
            "WHERE batch_id IS NOT NULL GROUP BY batch_id"
        ).fetchall()
    assert len(rows) == 1
    batch, count, reason, verdict, who = rows[0]
    assert (count, reason, verdict, who) == (
        len(queue),
        "judge rejects: spot-checked",
        "reject",
        "ana",
    )
    at.button(key="rv_bulk_undo").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Workspace(root) as ws:
        in_force = ws.db.execute(
            "SELECT COUNT(*) FROM reviews r WHERE r.batch_id = ? "
            "AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)",
            (batch,),
        ).fetchone()[0]
        latest = {r[0] for r in ws.db.execute("SELECT instance_id FROM latest_reviews")}
    assert in_force == 0 and not latest & set(queue)
    assert not any(b.key == "rv_bulk_undo" for b in at.button)


def test_bulk_flag_of_a_map_selection_and_its_undo(
    audited: tuple[Path, Pool, AuditReport],
) -> None:
    root, pool, _ = audited
    chosen = pool.accepted[-7:]
    at = _review(root, review_ids=chosen, review_ids_label="map selection of 7 samples")
    assert sorted(at.session_state["review_queue"]["ids"]) == sorted(chosen)
    at.segmented_control(key="rv_bulk_action").set_value("flag").run()
    at.text_input(key="rv_bulk_reason").input("look again: same template").run()
    sure = next(c for c in at.checkbox if c.label.startswith("Yes, flag all"))
    assert sure.label == "Yes, flag all 7 instances of the map selection of 7 samples"
    sure.check().run()
    assert at.button(key="rv_bulk_go").label == "Flag 7 instances"
    at.button(key="rv_bulk_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Workspace(root) as ws:
        assert flagged_by_reviewers(ws) == set(chosen)
        batches = {r[0] for r in ws.db.execute("SELECT batch_id FROM review_flags")}
        reviews = ws.db.execute("SELECT COUNT(*) FROM reviews WHERE batch_id IS NOT NULL")
        assert len(batches) == 1 and reviews.fetchone()[0] == 0  # a flag is not a verdict
    at.button(key="rv_bulk_undo").click().run()
    with Workspace(root) as ws:
        assert flagged_by_reviewers(ws) == set()
