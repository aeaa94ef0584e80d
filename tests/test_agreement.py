"""Agreement: Cohen's kappa against scikit-learn, confusion matrices, the workspace report."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from synthetic import build_workspace

from pipeline.agreement import agreement_report, cohen_kappa, compare
from pipeline.store import Workspace
from pipeline.store.reviews import add_review, undo_review


def _sklearn_kappa(a: list[str], b: list[str], labels: list[str] | None = None) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(a, b, labels=labels))


@settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=1, max_size=60
    )
)
def test_kappa_matches_sklearn(pairs: list[tuple[str, str]]) -> None:
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    want = _sklearn_kappa(a, b)
    got = cohen_kappa(a, b)
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (["accept"] * 5, ["accept"] * 5),  # one label throughout: undefined
        (["accept"] * 3, ["reject"] * 3),
        (["accept", "reject", "accept"], ["accept", "reject", "accept"]),
        (["accept", "reject", "reject", "accept"], ["reject", "accept", "accept", "reject"]),
    ],
)
def test_kappa_edge_cases_match_sklearn(a: list[str], b: list[str]) -> None:
    want = _sklearn_kappa(a, b, labels=["accept", "reject"])
    got = cohen_kappa(a, b, labels=["accept", "reject"])
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)


def test_confusion_matrix_matches_sklearn_with_fixed_labels() -> None:
    a = ["accept", "reject", "reject", "accept", "maybe"]
    b = ["accept", "accept", "reject", "reject", "accept"]
    got = compare(a, b, ["accept", "reject"])
    want = confusion_matrix(a, b, labels=["accept", "reject"])
    assert [list(r) for r in got.matrix] == want.tolist()
    assert got.n == 4  # the pair with an unknown label is left out, as in scikit-learn
    assert got.observed == pytest.approx(0.5)
    with pytest.raises(ValueError):
        compare(["a"], [])
    empty = compare([], [], ["accept", "reject"])
    assert empty.n == 0 and math.isnan(empty.kappa) and math.isnan(empty.observed)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A generated and judged synthetic workspace without reviews, open."""
    root = build_workspace(tmp_path / "w", reviewers=(), hostile=False).root
    with Workspace(root) as opened:
        yield opened


def _criteria(ws: Workspace, instance_id: str) -> dict[str, int]:
    """{criterion: passed} of the judge's answers on one instance."""
    return dict(
        ws.db.execute(
            "SELECT criterion, passed FROM judgments WHERE instance_id = ?", (instance_id,)
        ).fetchall()
    )


def _first_instances(ws: Workspace, n: int) -> list[tuple[str, str]]:
    rows = ws.db.execute(
        "SELECT instance_id, verdict FROM judge_results ORDER BY instance_id LIMIT ?", (n,)
    )
    return [(r[0], r[1]) for r in rows]


def test_report_on_a_workspace(ws: Workspace) -> None:
    (i1, j1), (i2, j2), (i3, j3) = _first_instances(ws, 3)
    flip = "reject" if j1 == "accept" else "accept"
    add_review(ws, i1, "ana", j1)
    add_review(ws, i2, "ana", "reject" if j2 == "accept" else "accept")
    add_review(ws, i3, "ana", j3)
    add_review(ws, i1, "ben", flip)  # ben disagrees with ana on i1
    add_review(ws, i2, "ben", "reject" if j2 == "accept" else "accept")
    add_review(ws, i3, "ben", j3)
    undo_review(ws, i3, "ben")  # undone: ben no longer decides i3

    everyone = agreement_report(ws)
    # the latest review per instance decides: ben on i1 and i2, ana on i3
    assert everyone.overall.n == 3
    assert everyone.overall.observed == pytest.approx(1 / 3)
    assert everyone.twice_reviewed == 2
    assert everyone.human_human.n == 2
    assert everyone.human_human.observed == pytest.approx(0.5)
    assert [(p.reviewer_a, p.reviewer_b, p.agreement.n) for p in everyone.pairs] == [
        ("ana", "ben", 2)
    ]
    ana = agreement_report(ws, "ana")
    assert ana.overall.n == 3
    assert ana.overall.observed == pytest.approx(2 / 3)
    activity = {a.reviewer: a for a in everyone.activity}
    assert activity["ana"].instances == 3 and activity["ben"].instances == 2
    assert activity["ben"].undone == 1


def test_per_criterion_agreement_counts_flips_as_disagreement(ws: Workspace) -> None:
    (iid, verdict), (other, other_verdict) = _first_instances(ws, 2)
    criteria = _criteria(ws, iid)
    name = sorted(criteria)[0]
    add_review(ws, iid, "ana", verdict, flips={name: not criteria[name]})
    add_review(ws, other, "ana", other_verdict)
    report = agreement_report(ws)
    flipped = report.per_criterion[name]
    assert flipped.n >= 1 and flipped.observed < 1.0
    untouched = [a for c, a in report.per_criterion.items() if c != name]
    assert all(a.observed == 1.0 for a in untouched)


def test_an_override_without_a_flip_is_never_agreement_on_every_criterion(ws: Workspace) -> None:
    from pipeline.agreement import UNSPECIFIED

    (iid, verdict), (other, other_verdict) = _first_instances(ws, 2)
    criteria = _criteria(ws, iid)
    overridden = "reject" if verdict == "accept" else "accept"
    add_review(ws, iid, "ana", overridden)  # the verdict changes, no criterion flipped
    add_review(ws, other, "ana", other_verdict)
    report = agreement_report(ws)
    unspecified = report.per_criterion[UNSPECIFIED]
    assert unspecified.n == 1 and unspecified.observed == 0.0
    judge_label = "pass" if overridden == "reject" else "fail"
    row = unspecified.labels.index(judge_label)
    assert unspecified.matrix[row][1 - row] == 1  # the judge's label vs the opposite
    # the criteria the person did not touch are left out for that instance
    total = sum(a.n for name, a in report.per_criterion.items() if name != UNSPECIFIED)
    other_criteria = ws.db.execute(
        "SELECT COUNT(*) FROM judgments WHERE instance_id = ?", (other,)
    ).fetchone()[0]
    assert total == other_criteria
    assert len(criteria) >= 1
