"""The audit report and the risk order on simulated pools with a known truth, through the store."""

from __future__ import annotations

import random

import numpy as np
import pytest
from audit_pool import build_pool

from pipeline.agreement import UNSPECIFIED
from pipeline.audit.intervals import share_interval
from pipeline.audit.report import audit_report, next_to_audit
from pipeline.store import Workspace
from pipeline.store.audit import calibration_ids, draw_calibration
from pipeline.store.reviews import add_review


def test_estimate_holds_the_known_error_rate_and_ignores_other_reviews(ws: Workspace) -> None:
    pool = build_pool(ws, 1200, wrong_share=0.18, seed=11)
    truth = pool.true_error_rate
    before = audit_report(ws)
    assert before.error_rate.n == 0 and before.drawn == 0
    assert before.population == len(pool.accepted)
    assert before.more_draws_for_5_points > 150  # worst case p = 0.5 before any draw

    drawn = draw_calibration(ws, 200, seed=5)
    for iid in drawn[:150]:  # people have read 150 of the 200 so far
        add_review(ws, iid, "ana", "reject" if iid in pool.wrong else "accept")
    report = audit_report(ws)
    e = report.error_rate
    x = sum(1 for i in drawn[:150] if i in pool.wrong)
    assert (e.n, report.drawn, report.population) == (150, 200, len(pool.accepted))
    assert e.estimate == pytest.approx(x / 150)
    assert e == share_interval(x, 150, len(pool.accepted))
    assert e.low <= truth <= e.high
    assert 0.05 < e.half_width < 0.1
    assert report.more_draws_for_5_points > 0

    # a risk-ordered reviewer who finds only wrong verdicts changes agreement, not the estimate
    others = [i for i in pool.wrong if i not in drawn][:40]
    for iid in others:
        add_review(ws, iid, "ben", "reject")
    after = audit_report(ws)
    assert after.error_rate == e
    assert after.reviewed == 150 + 40
    assert after.overall.agreement.n == 190


def test_agreement_precision_and_recall_with_intervals(ws: Workspace) -> None:
    pool = build_pool(ws, 120, seed=12)
    accepted, rejected = pool.accepted[:40], pool.rejected[:10]
    for iid in accepted[:30]:
        add_review(ws, iid, "ana", "accept")
    for iid in accepted[30:]:  # overridden, with the flip that carries it
        add_review(ws, iid, "ana", "reject", flips={"correct": False})
    for iid in rejected:
        add_review(ws, iid, "ana", "reject")
    report = audit_report(ws)
    assert report.overall.agreement.n == 50
    assert report.overall.observed.estimate == pytest.approx(40 / 50)
    k = report.overall.kappa
    assert k.low < k.estimate < k.high and k.n == 50
    # precision of the judge's accept: 30 of the 40 it accepted; recall: 30 of 30 people accepted
    assert (report.precision.estimate, report.precision.n) == (pytest.approx(0.75), 40)
    assert (report.recall.estimate, report.recall.n) == (1.0, 30)
    assert report.precision.low < 0.75 < report.precision.high
    assert set(report.per_task) == {"code_generation", "code_summarization"}
    assert sum(s.agreement.n for s in report.per_task.values()) == 50
    correct = report.per_criterion["correct"]
    assert correct.agreement.n == 50 and correct.observed.estimate == pytest.approx(40 / 50)
    assert UNSPECIFIED not in report.per_criterion
    as_json = report.as_dict()
    assert set(as_json["error_rate"]) == {"estimate", "low", "high", "n"}
    assert as_json["agreement"]["per_criterion"]["correct"]["kappa"]["n"] == 50


def test_an_override_without_a_flip_is_a_disagreement_on_an_unspecified_criterion(
    ws: Workspace,
) -> None:
    pool = build_pool(ws, 40, seed=13)
    for iid in pool.accepted[:4]:
        add_review(ws, iid, "ana", "reject")  # no criterion flipped
    report = audit_report(ws)
    assert "correct" not in report.per_criterion  # the person said nothing about it
    unspecified = report.per_criterion[UNSPECIFIED]
    assert unspecified.agreement.n == 4
    assert unspecified.observed.estimate == 0.0
    assert unspecified.agreement.matrix == ((0, 4), (0, 0))  # judge pass, person fail


def test_risk_order_through_the_store_puts_contradictions_first(ws: Workspace) -> None:
    rng = random.Random(3)
    rationale = {f"inst{i:05d}": "The function does not handle an empty list." for i in (7, 8, 9)}
    pool = build_pool(ws, 600, seed=14, rationale=rationale)
    # execution evidence, as the verify stage will give it: fails on a sixth of the instances
    execution = {iid: ("fail" if rng.random() < 1 / 6 else "pass") for iid in pool.sample_of}
    execution |= dict.fromkeys(rationale, "pass")
    # execution contradicts the judge: an accept that fails, a reject that passes
    contradicted = {i for i in pool.accepted if execution[i] == "fail"}
    contradicted |= {i for i in pool.rejected if execution[i] == "pass"}
    truth = {
        i: (i in contradicted and rng.random() < 0.7) or rng.random() < 0.03 for i in execution
    }
    ranked = next_to_audit(ws, None, execution=execution)
    order = [r.instance_id for r in ranked]
    assert len(order) == 600
    top = order[:60]
    assert set(top) <= contradicted
    assert sum(truth[i] for i in top) > 2 * sum(truth[i] for i in rng.sample(order, 60))
    # a passed criterion whose rationale says otherwise outranks its plain twins
    plain = [r.score for r in ranked if r.instance_id not in rationale]
    for iid in ("inst00007", "inst00008", "inst00009"):
        r = next(x for x in ranked if x.instance_id == iid)
        assert "rationale contradicts its answer: correct" in r.reasons
        assert r.score > float(np.median(plain))

    # reviewed instances and calibration draws leave the risk queue
    add_review(ws, order[0], "ana", "reject")
    drawn = draw_calibration(ws, 20, seed=1, execution=execution)
    rest = {r.instance_id for r in next_to_audit(ws, None, execution=execution)}
    assert order[0] not in rest and not rest & set(calibration_ids(ws)) and drawn
    assert len(next_to_audit(ws, 5, execution=execution)) == 5


def test_risk_order_learns_from_reviews_and_uses_novelty(ws: Workspace) -> None:
    pool = build_pool(ws, 200, accept_share=1.0, seed=15)
    ids = pool.accepted
    # people overturn every "correct" answer they read: the model learns it is unreliable
    for iid in ids[:20]:
        add_review(ws, iid, "ana", "reject", flips={"correct": False})
    ranked = next_to_audit(ws, None)
    assert any("people overturn correct" in " ".join(r.reasons) for r in ranked)

    # novelty: samples far from every reviewed one come first among equals
    sample_ids = [pool.sample_of[i] for i in ids]
    rng = np.random.default_rng(0)
    vectors = np.repeat(rng.normal(size=(1, 16)), len(ids), axis=0).astype(np.float32)
    vectors += rng.normal(scale=0.01, size=vectors.shape).astype(np.float32)
    far = ids[150:155]
    for iid in far:
        vectors[ids.index(iid)] = rng.normal(size=16)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ranked = next_to_audit(ws, 5, vectors=(sample_ids, vectors))
    assert {r.instance_id for r in ranked} == set(far)
    assert all("far from anything reviewed" in r.reasons for r in ranked)
