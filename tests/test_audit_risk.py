"""The risk order on simulated pools: it learns from reviews and puts likely-wrong items first."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.audit.risk import (
    RiskItem,
    RiskModel,
    cell_of,
    novelty_scores,
    rank_by_risk,
    rationale_contradicts,
)


def _item(i: int, judge: str, execution: str | None, **kw: object) -> RiskItem:
    machine = "reject" if execution == "fail" else judge
    return RiskItem(f"i{i:05d}", machine, judge, execution, **kw)  # type: ignore[arg-type]


def test_cells() -> None:
    assert cell_of(_item(0, "accept", "fail")) == "contradicts"
    assert cell_of(_item(0, "reject", "pass")) == "contradicts"
    assert cell_of(_item(0, "accept", "pass")) == "agrees"
    assert cell_of(_item(0, "accept", "inconclusive")) == "inconclusive"
    assert cell_of(_item(0, "accept", None)) == "no_execution"
    assert cell_of(_item(0, "accept", "not_applicable")) == "no_execution"


def test_contradictions_rank_first_without_any_review() -> None:
    items = [_item(1, "accept", "pass"), _item(2, "reject", "pass"), _item(3, "accept", None)]
    order = [r.instance_id for r in rank_by_risk(items, [])]
    assert order[0] == "i00002"
    assert order[-1] == "i00001"
    assert "execution pass vs judge reject" in rank_by_risk(items, [])[0].reasons


def test_learns_a_criterion_people_overturn() -> None:
    # people keep failing "correctness" that the judge passed; never "style"
    reviewed = [
        _item(
            i, "accept", None, criteria={"correctness": True, "style": True},
            human_verdict="reject", human_flips={"correctness": False},
        )
        for i in range(10)
    ] + [
        _item(100 + i, "accept", None, criteria={"style": True}, human_verdict="accept")
        for i in range(10)
    ]  # fmt: skip
    model = RiskModel.learn(reviewed)
    assert model.criterion_overturn["correctness"] > 0.5
    assert model.criterion_overturn["style"] < 0.05
    a = _item(500, "accept", None, criteria={"correctness": True})
    b = _item(501, "accept", None, criteria={"style": True})
    order = [r.instance_id for r in rank_by_risk([b, a], reviewed)]
    assert order == ["i00500", "i00501"]


def test_risk_order_finds_wrong_verdicts_faster_than_random_on_a_simulated_pool() -> None:
    rng = random.Random(7)
    pool: list[RiskItem] = []
    truth: dict[str, bool] = {}
    for i in range(2000):
        execution = rng.choice(["pass", "pass", "pass", "fail", "inconclusive", None])
        judge = rng.choice(["accept"] * 4 + ["reject"])
        item = _item(i, judge, execution, criteria={"c": judge == "accept"})
        # ground truth: wrong far more often where execution contradicts the judge
        p = {"contradicts": 0.7, "inconclusive": 0.3, "no_execution": 0.15, "agrees": 0.03}
        truth[item.instance_id] = rng.random() < p[cell_of(item)]
        pool.append(item)
    ranked = rank_by_risk(pool, [])
    top = [r.instance_id for r in ranked[:200]]
    found_risk = sum(truth[i] for i in top)
    shuffled = [it.instance_id for it in pool]
    rng.shuffle(shuffled)
    found_random = sum(truth[i] for i in shuffled[:200])
    assert found_risk > 2 * found_random


def test_novelty() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    nov = novelty_scores(v, [0, 1, 2])
    assert nov.shape == (50,)
    assert nov[:3].max() < -0.99  # a reviewed row is at distance ~0 from itself
    assert nov[3:].min() > nov[:3].max()
    assert (nov >= -1).all() and (nov <= 2).all()
    assert novelty_scores(v, []).tolist() == [0.0] * 50
    assert novelty_scores(None, [1]).shape == (0,)


@pytest.mark.parametrize(
    ("passed", "rationale", "contradicts"),
    [
        (True, "The function does not handle an empty list.", True),
        (True, "The docstring is missing the return value.", True),
        (True, "It fails on negative input.", True),
        (True, "The instruction doesn\u2019t say which order to use.", True),
        (True, "No issues: the solution is correct.", False),
        (True, "The instruction is not ambiguous and nothing is missing.", False),
        (True, "The repair fixes the off-by-one bug.", False),
        (False, "The solution is correct and passes every example.", True),
        (False, "The summary is correct but does not mention the side effect.", False),
        (False, "Missing edge case for empty input.", False),
        (False, "", False),
    ],
)
def test_rationale_contradicts(passed: bool, rationale: str, contradicts: bool) -> None:
    assert rationale_contradicts(passed, rationale) is contradicts


def test_novelty_for_chosen_rows_and_a_capped_reference() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(3000, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    whole = novelty_scores(v, [0, 1, 2])
    some = novelty_scores(v, [0, 1, 2], rows=[5, 9, 0])
    assert some.shape == (3,) and some[2] < -0.99
    assert np.argsort(some).tolist() == np.argsort(whole[[5, 9, 0]]).tolist()
    # 2,000 reviewed rows: compared against a seeded subset of 1,024, so repeatable
    many = list(range(2000))
    a, b = (
        novelty_scores(v, many, rows=range(2000, 3000)),
        novelty_scores(v, many, rows=range(2000, 3000)),
    )
    assert np.array_equal(a, b) and a.shape == (1000,)
