"""The audit report and the risk-ordered audit queue, read from a workspace.

`audit_report(ws)` answers "how far can the unread rest be trusted?":

- `error_rate`: the share of accepted, unreviewed instances a person would reject, estimated from
  the *reviewed calibration draws only* (a uniform random sample of that population, drawn with
  `wavecurate audit sample`), with the exact hypergeometric 95% interval for the frame the draws
  came from, and n. Reviews made in any other order (the risk order, a filter, a map selection)
  are not a random sample - they seek out likely errors - so they never feed this estimate.
- `more_draws_for_5_points`: how many more reviewed draws would narrow that interval to ±5 points.
- judge-vs-human agreement and Cohen's kappa, overall, per task and per criterion, each with its
  n and 95% intervals (Wilson for the agreement share, Cohen's large-sample interval for kappa);
  an override without the flips that carry it counts on `UNSPECIFIED` (see pipeline.agreement;
  that row holds only disagreements, so it has no kappa).
- the judge's precision and recall of accept against people's verdicts, with Wilson intervals.
  These come from *every* review, not a random sample: read them as "on what people looked at".

`next_to_audit(ws, n)` ranks the unreviewed instances most likely wrong first with the model in
`pipeline.audit.risk`. Calibration draws are left out of it: they are reviewed in their own queue,
all of them, or the estimate is biased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.agreement import (
    CRITERION_LABELS,
    UNSPECIFIED,
    VERDICT_LABELS,
    Agreement,
    compare,
    criterion_labels,
)
from pipeline.audit.intervals import (
    Interval,
    draws_for_margin,
    kappa_interval,
    share_interval,
    wilson_interval,
)
from pipeline.audit.risk import (
    Ranked,
    RiskItem,
    novelty_scores,
    rank_by_risk,
    rationale_contradicts,
)
from pipeline.records import Verdict
from pipeline.store import Workspace
from pipeline.store.audit import (
    JudgedRow,
    calibration_outcomes,
    eligible_for_calibration,
    judged_rows,
)

__all__ = [
    "MARGIN",
    "AgreementStats",
    "AuditReport",
    "SampleVectors",
    "agreement_stats",
    "audit_report",
    "next_to_audit",
    "risk_items",
]

MARGIN = 0.05  # the half-width `more_draws_for_5_points` aims at

# (sample ids, their L2-normalised vectors (n, dim)), e.g. `load_kept_embeddings(ws)`
SampleVectors = tuple[Sequence[str], npt.NDArray[np.float32]]


@dataclass(frozen=True, slots=True)
class AgreementStats:
    """One judge-vs-human comparison: the confusion matrix (`agreement`: judge is rater A), the
    share agreed with its Wilson interval, and Cohen's kappa with its 95% interval; all share n."""

    agreement: Agreement
    observed: Interval
    kappa: Interval

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.agreement.n,
            "labels": list(self.agreement.labels),
            "matrix": [list(r) for r in self.agreement.matrix],
            "agreement": self.observed.as_dict(),
            "kappa": self.kappa.as_dict(),
        }


def agreement_stats(a: Agreement) -> AgreementStats:
    """Intervals for a comparison: Wilson for the agreed share, Cohen (1960) for kappa."""
    n = a.n
    agreed = sum(a.matrix[i][i] for i in range(len(a.labels)))
    if n == 0:
        return AgreementStats(a, wilson_interval(0, 0), kappa_interval(math.nan, 0, 0, 0))
    rows = [sum(r) for r in a.matrix]
    cols = [sum(r[j] for r in a.matrix) for j in range(len(a.labels))]
    expected = sum(rows[i] * cols[i] for i in range(len(rows))) / (n * n)
    return AgreementStats(
        a, wilson_interval(agreed, n), kappa_interval(a.kappa, a.observed, expected, n)
    )


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What `wavecurate audit` prints and the Agreement page shows (see the module docstring).

    `population`: the calibration frame (accepted, unreviewed instances when first drawn);
    `drawn`/`error_rate.n`: draws made / reviewed; `reviewed`: instances with a human verdict
    and a judge verdict (all reviews, any order)."""

    error_rate: Interval
    population: int
    drawn: int
    more_draws_for_5_points: int
    overall: AgreementStats
    per_task: dict[str, AgreementStats]
    per_criterion: dict[str, AgreementStats]
    precision: Interval
    recall: Interval
    reviewed: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-able; NaN as None."""
        return {
            "error_rate": self.error_rate.as_dict(),
            "calibration": {
                "population": self.population,
                "drawn": self.drawn,
                "reviewed": self.error_rate.n,
                "more_draws_for_5_points": self.more_draws_for_5_points,
            },
            "agreement": {
                "reviewed": self.reviewed,
                "overall": self.overall.as_dict(),
                "per_task": {k: v.as_dict() for k, v in self.per_task.items()},
                "per_criterion": {k: v.as_dict() for k, v in self.per_criterion.items()},
            },
            "judge_accept": {
                "precision": self.precision.as_dict(),
                "recall": self.recall.as_dict(),
                "source": "all reviews (not a random sample)",
            },
        }


def audit_report(ws: Workspace, *, execution: Mapping[str, str] | None = None) -> AuditReport:
    """The audit report of the workspace. `execution`: {instance: execution verdict}, default the
    verify stage's (`store.audit.execution_verdicts`). Reads the whole workspace in a few queries."""
    population, drawn, reviewed_draws, rejected = calibration_outcomes(ws)
    if not drawn:  # nothing drawn yet: the frame a first draw would use
        population = len(eligible_for_calibration(ws, execution))
    if reviewed_draws:
        error = share_interval(rejected, reviewed_draws, population)
    else:
        error = wilson_interval(0, 0)
    more = draws_for_margin(error, max(population, 1), MARGIN) if population else 0

    rows = [r for r in judged_rows(ws, execution) if r.human_verdict is not None]
    judge = [r.judge_verdict for r in rows]
    human = [str(r.human_verdict) for r in rows]
    overall = agreement_stats(compare(judge, human, VERDICT_LABELS))
    per_task = {
        task: agreement_stats(
            compare(
                [r.judge_verdict for r in rows if r.task == task],
                [str(r.human_verdict) for r in rows if r.task == task],
                VERDICT_LABELS,
            )
        )
        for task in sorted({r.task for r in rows})
    }
    by_c: dict[str, tuple[list[str], list[str]]] = {}
    for r in rows:
        answers = {name: passed for name, (passed, _) in r.criteria.items()}
        pairs = criterion_labels(answers, r.judge_verdict, str(r.human_verdict), r.human_flips)
        for name, (j, h) in pairs.items():
            a, b = by_c.setdefault(name, ([], []))
            a.append(j)
            b.append(h)
    per_criterion = {
        name: agreement_stats(compare(a, b, CRITERION_LABELS))
        for name, (a, b) in sorted(by_c.items())
    }
    if UNSPECIFIED in per_criterion:  # disagreements only, by construction: no kappa to speak of
        s = per_criterion[UNSPECIFIED]
        per_criterion[UNSPECIFIED] = AgreementStats(
            s.agreement, s.observed, kappa_interval(math.nan, 0, 0, s.agreement.n)
        )
    accept = Verdict.ACCEPT.value
    both = sum(1 for j, h in zip(judge, human, strict=True) if j == accept and h == accept)
    precision = wilson_interval(both, sum(1 for j in judge if j == accept))
    recall = wilson_interval(both, sum(1 for h in human if h == accept))
    return AuditReport(
        error_rate=error,
        population=population,
        drawn=drawn,
        more_draws_for_5_points=more,
        overall=overall,
        per_task=per_task,
        per_criterion=per_criterion,
        precision=precision,
        recall=recall,
        reviewed=len(rows),
    )


def risk_items(rows: Sequence[JudgedRow], *, rationales: bool = True) -> list[RiskItem]:
    """The risk model's view of judged rows (reviewed ones carry the human verdict and flips).
    `rationales` False skips the rationale check (the model learns nothing from it on reviewed
    rows)."""
    return [
        RiskItem(
            instance_id=r.instance_id,
            machine_verdict=r.machine_verdict,
            judge_verdict=r.judge_verdict,
            execution=r.execution,
            criteria={name: passed for name, (passed, _) in r.criteria.items()},
            inconsistent=tuple(
                name
                for name, (passed, why) in r.criteria.items()
                if rationales and rationale_contradicts(passed, why)
            ),
            human_verdict=r.human_verdict,
            human_flips=r.human_flips,
        )
        for r in rows
    ]


def next_to_audit(
    ws: Workspace,
    n: int | None = None,
    *,
    execution: Mapping[str, str] | None = None,
    vectors: SampleVectors | None = None,
) -> list[Ranked]:
    """The unreviewed, judged instances that are not calibration draws, most likely wrong first
    (ties by id); the first `n` (all with None). `vectors`: the kept samples' embeddings, for the
    novelty signal (distance to the nearest reviewed instance's sample); without them novelty is 0.
    """
    rows = judged_rows(ws, execution)
    reviewed = [r for r in rows if r.human_verdict is not None]
    todo = [r for r in rows if r.human_verdict is None and not r.drawn]
    novelty: npt.NDArray[np.float64] | None = None
    if vectors is not None and len(vectors[0]) and reviewed and todo:
        sample_ids, matrix = vectors
        index = {sid: i for i, sid in enumerate(sample_ids)}
        seen = [index[r.sample_id] for r in reviewed if r.sample_id in index]
        wanted = [index.get(r.sample_id, -1) for r in todo]
        present = [w for w in wanted if w >= 0]
        if seen and present:
            scores = iter(novelty_scores(matrix, seen, present))
            novelty = np.array([next(scores) if w >= 0 else 0.0 for w in wanted])
    ranked = rank_by_risk(risk_items(todo), risk_items(reviewed, rationales=False), novelty)
    return ranked if n is None else ranked[:n]
