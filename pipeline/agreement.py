"""Agreement between the Discriminator and human reviewers, and between reviewers.

- Human vs judge, overall: each reviewed instance's latest human verdict against the judge's.
- Human vs judge, per criterion: the judge's pass/fail against the reviewer's. A reviewer who
  leaves a criterion unflipped has read its rationale beside the instance and let it stand, so
  their answer is the judge's; a flip is their disagreement.
- Human vs human: on instances two or more reviewers decided, each pair of reviewers' latest
  verdicts.

Cohen's kappa is computed as scikit-learn does (`cohen_kappa_score`), NaN where it is undefined
(both raters used one and the same label throughout).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.records import VERDICTS, Review, ReviewerActivity
from pipeline.store import Workspace
from pipeline.store.instances import judge_verdicts, judgment_labels
from pipeline.store.reviews import latest_per_reviewer, reviewer_activity

__all__ = [
    "CRITERION_LABELS",
    "VERDICT_LABELS",
    "Agreement",
    "AgreementReport",
    "PairAgreement",
    "agreement_report",
    "cohen_kappa",
    "compare",
]

VERDICT_LABELS: tuple[str, ...] = VERDICTS
CRITERION_LABELS = ("pass", "fail")


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Cohen's kappa of two raters' labels for the same items (NaN where undefined)."""
    return compare(a, b, labels).kappa


@dataclass(frozen=True, slots=True)
class Agreement:
    """Two raters over the same items. `matrix[i][j]`: items rater A labelled `labels[i]` and
    rater B `labels[j]`; `observed`: share of items they agree on; `kappa`: Cohen's kappa."""

    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    n: int
    observed: float
    kappa: float


def compare(a: Sequence[str], b: Sequence[str], labels: Sequence[str] | None = None) -> Agreement:
    """The confusion matrix and agreement of rater A's labels `a` against rater B's `b`.

    `labels` fixes the matrix order (default: the labels seen, sorted); pairs with a label
    outside `labels` are left out, as scikit-learn does.
    """
    if len(a) != len(b):
        raise ValueError(f"raters labelled {len(a)} and {len(b)} items")
    order = tuple(labels) if labels is not None else tuple(sorted(set(a) | set(b)))
    index = {label: i for i, label in enumerate(order)}
    k = len(order)
    counts = [[0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        if x in index and y in index:
            counts[index[x]][index[y]] += 1
    n = sum(map(sum, counts))
    agree = sum(counts[i][i] for i in range(k))
    observed = agree / n if n else math.nan
    rows = [sum(r) for r in counts]
    cols = [sum(counts[i][j] for i in range(k)) for j in range(k)]
    # scikit-learn: kappa = 1 - sum(W * O) / sum(W * E), W = 1 off the diagonal
    disagree_expected = sum(
        rows[i] * cols[j] / n for i in range(k) for j in range(k) if i != j and n
    )
    disagree_observed = n - agree
    kappa = 1.0 - disagree_observed / disagree_expected if disagree_expected else math.nan
    return Agreement(order, tuple(tuple(r) for r in counts), n, observed, kappa)


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Two reviewers over the instances both decided: A is the first name in order."""

    reviewer_a: str
    reviewer_b: str
    agreement: Agreement


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """Everything the Agreement page shows.

    `overall`: judge (A) vs human (B) verdicts; `per_criterion`: judge vs human pass/fail per
    criterion; `human_human`: every pair of reviewers on every instance both decided, pooled;
    `pairs`: the same per pair of reviewers; `twice_reviewed`: instances with two or more
    reviewers.
    """

    reviewer: str | None
    overall: Agreement
    per_criterion: dict[str, Agreement]
    activity: list[ReviewerActivity]
    human_human: Agreement
    pairs: list[PairAgreement]
    twice_reviewed: int


def _human_decisions(latest: list[Review], reviewer: str | None) -> dict[str, Review]:
    """{instance: the review that decides it}: the latest of `reviewer`'s, or of anyone's."""
    out: dict[str, Review] = {}
    for r in latest:
        if reviewer is not None and r.reviewer != reviewer:
            continue
        if r.instance_id not in out or r.id > out[r.instance_id].id:
            out[r.instance_id] = r
    return out


def agreement_report(ws: Workspace, reviewer: str | None = None) -> AgreementReport:
    """Agreement in the workspace, for every reviewer or only `reviewer` against the judge."""
    latest = latest_per_reviewer(ws)
    decisions = _human_decisions(latest, reviewer)
    judge = judge_verdicts(ws)
    both = sorted(i for i in decisions if i in judge)
    overall = compare(
        [judge[i] for i in both], [decisions[i].verdict for i in both], VERDICT_LABELS
    )

    criteria = judgment_labels(ws)
    judge_by_c: dict[str, list[str]] = {}
    human_by_c: dict[str, list[str]] = {}
    for iid in sorted(decisions):
        flips = decisions[iid].flips
        for name, passed in criteria.get(iid, {}).items():
            human = flips.get(name, passed)
            judge_by_c.setdefault(name, []).append("pass" if passed else "fail")
            human_by_c.setdefault(name, []).append("pass" if human else "fail")
    per_criterion = {
        name: compare(judge_by_c[name], human_by_c[name], CRITERION_LABELS)
        for name in sorted(judge_by_c)
    }

    by_instance: dict[str, dict[str, str]] = {}
    for r in latest:
        by_instance.setdefault(r.instance_id, {})[r.reviewer] = r.verdict
    pooled_a: list[str] = []
    pooled_b: list[str] = []
    per_pair: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    twice = 0
    for votes in by_instance.values():
        if len(votes) < 2:
            continue
        twice += 1
        for ra, rb in itertools.combinations(sorted(votes), 2):
            pooled_a.append(votes[ra])
            pooled_b.append(votes[rb])
            xa, xb = per_pair.setdefault((ra, rb), ([], []))
            xa.append(votes[ra])
            xb.append(votes[rb])
    pairs = [
        PairAgreement(ra, rb, compare(xa, xb, VERDICT_LABELS))
        for (ra, rb), (xa, xb) in sorted(per_pair.items())
    ]
    return AgreementReport(
        reviewer=reviewer,
        overall=overall,
        per_criterion=per_criterion,
        activity=reviewer_activity(ws),
        human_human=compare(pooled_a, pooled_b, VERDICT_LABELS),
        pairs=pairs,
        twice_reviewed=twice,
    )
