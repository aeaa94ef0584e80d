"""Most likely wrong first: rank unreviewed instances by the chance their final verdict is wrong.

The model is a naive-Bayes-style sum of log-odds, cheap enough to rank 20k instances in a few tens
of milliseconds, and learns from the reviews made so far:

    logit P(wrong) = logit p_cell                      execution evidence vs the judge, learned
                   + sum over supporting criteria c of logit r_c - logit R0
                   + RATIONALE_WEIGHT * [a rationale contradicts its own answer]
                   + NOVELTY_WEIGHT * novelty           far from anything a person has read

- cell: `contradicts` (the judge accepts and execution fails, or the judge rejects and execution
  passes), `inconclusive` (execution ran but could not decide), `no_execution` (the task has no
  runnable code, or verify has not run) or `agrees`. Each cell has a prior wrong rate
  (CELL_PRIORS) that reviews in the same cell update: p_cell = (wrong + M * prior) / (reviewed + M).
- supporting criteria: the answers that carry the machine verdict (every passed criterion of an
  accept, every failed criterion of a reject). r_c is how often people overturned criterion c so
  far, smoothed toward R0 the same way; a criterion people often overturn raises the risk.
- novelty: cosine distance to the nearest reviewed instance's sample over the median such
  distance, minus one, clipped to [-1, 2]: 0 when there are no vectors or no reviews.

Rationale contradiction (`rationale_contradicts`): a cheap lexical check, no model. A *passed*
criterion whose rationale carries a negative cue ("not", "missing", "fails", "incorrect",
"wrong", "lacks", "doesn't", "unclear"...) once common harmless phrases ("no issues", "nothing
missing", "not ambiguous"...) are taken out, or a *failed* criterion whose rationale carries a
positive assurance ("is correct", "passes", "no issues"...) and no negative cue. It misses
contradictions that need reading, and fires on a rationale that quotes the code's own "not"; it
is one weighted signal among several, not a verdict.

The score orders the queue; it is not a calibrated probability, and reviews made in this order are
not a random sample, so they never feed the error estimate (the calibration sample does that).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "CELL_PRIORS",
    "Ranked",
    "RiskItem",
    "RiskModel",
    "cell_of",
    "novelty_scores",
    "rank_by_risk",
    "rationale_contradicts",
]

CELL_PRIORS: dict[str, float] = {
    "contradicts": 0.5,
    "inconclusive": 0.25,
    "no_execution": 0.15,
    "agrees": 0.05,
}
R0 = 0.05  # prior share of reviews that overturn one criterion's answer
M = 4.0  # prior strength, in reviews
RATIONALE_WEIGHT = 1.0
NOVELTY_WEIGHT = 1.0
_EPS = 1e-6


_NEGATIVE = re.compile(
    r"\b(not|missing|miss(?:es)?|fails?|failed|failing|incorrect(?:ly)?|wrong|lacks?|lacking|"
    r"broken|cannot|can't|doesn't|don't|isn't|won't|incomplete|unclear|ambiguous|vague|"
    r"irrelevant|crash(?:es)?)\b",
    re.IGNORECASE,
)
_HARMLESS = re.compile(
    r"\b(no (?:issues?|problems?|errors?|bugs?|concerns?|ambiguity)|nothing (?:is )?missing|"
    r"not (?:ambiguous|vague|unclear|missing|wrong|incorrect)|does not (?:crash|fail)|"
    r"without (?:errors?|issues?|bugs?)|error handling)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(
    r"\b(is correct|correctly|passes|is clear|is complete|no issues|works as|is accurate|"
    r"faithful(?:ly)?|is relevant|well[- ]defined)\b",
    re.IGNORECASE,
)


def rationale_contradicts(passed: bool, rationale: str) -> bool:
    """Whether a criterion's rationale argues against its own yes/no (see the module docstring)."""
    text = _HARMLESS.sub(" ", rationale)
    negative = _NEGATIVE.search(text) is not None
    if passed:
        return negative
    return not negative and _POSITIVE.search(rationale) is not None


@dataclass(frozen=True, slots=True)
class RiskItem:
    """What the model reads of one instance.

    machine_verdict: the final verdict without people (the judge's, after the execution gate).
    criteria: {criterion: passed} as the judge answered. inconsistent: the names of criteria whose
    rationale contradicts the answer. Reviewed items also carry `human_verdict` and `human_flips`
    ({criterion: passed} where the person changed the judge's answer).
    """

    instance_id: str
    machine_verdict: str
    judge_verdict: str | None = None
    execution: str | None = None
    criteria: Mapping[str, bool] = field(default_factory=dict)
    inconsistent: tuple[str, ...] = ()
    human_verdict: str | None = None
    human_flips: Mapping[str, bool] = field(default_factory=dict)

    @property
    def wrong(self) -> bool | None:
        """Whether a person overturned the machine verdict (None: not reviewed)."""
        if self.human_verdict is None:
            return None
        return self.human_verdict != self.machine_verdict


@dataclass(frozen=True, slots=True)
class Ranked:
    instance_id: str
    score: float  # the model's P(wrong), for ordering
    reasons: tuple[str, ...]


def cell_of(item: RiskItem) -> str:
    """The execution-evidence cell of an instance (see the module docstring)."""
    ex = item.execution
    if ex in (None, "", "not_applicable"):
        return "no_execution"
    if ex == "inconclusive":
        return "inconclusive"
    if (item.judge_verdict == "accept" and ex == "fail") or (
        item.judge_verdict == "reject" and ex == "pass"
    ):
        return "contradicts"
    return "agrees"


def _supporting(item: RiskItem) -> list[str]:
    want = item.machine_verdict == "accept"
    return sorted(c for c, passed in item.criteria.items() if passed == want)


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


@dataclass
class RiskModel:
    """Cell and criterion rates learned from reviewed items (priors where there are none)."""

    cell_wrong: dict[str, float]
    criterion_overturn: dict[str, float]
    reviewed: int

    @classmethod
    def learn(cls, reviewed: Iterable[RiskItem]) -> RiskModel:
        wrong: dict[str, int] = dict.fromkeys(CELL_PRIORS, 0)
        seen: dict[str, int] = dict.fromkeys(CELL_PRIORS, 0)
        flips: dict[str, int] = {}
        uses: dict[str, int] = {}
        n = 0
        for item in reviewed:
            if item.wrong is None:
                continue
            n += 1
            cell = cell_of(item)
            seen[cell] += 1
            wrong[cell] += int(item.wrong)
            for c in item.criteria:
                uses[c] = uses.get(c, 0) + 1
                if c in item.human_flips and item.human_flips[c] != item.criteria[c]:
                    flips[c] = flips.get(c, 0) + 1
        cell_wrong = {c: (wrong[c] + M * prior) / (seen[c] + M) for c, prior in CELL_PRIORS.items()}
        overturn = {c: (flips.get(c, 0) + M * R0) / (uses[c] + M) for c in uses}
        return cls(cell_wrong, overturn, n)

    def score(self, item: RiskItem, novelty: float = 0.0) -> Ranked:
        cell = cell_of(item)
        z = _logit(self.cell_wrong[cell])
        reasons: list[str] = []
        if cell == "contradicts":
            reasons.append(f"execution {item.execution} vs judge {item.judge_verdict}")
        elif cell == "inconclusive":
            reasons.append("execution inconclusive")
        for c in _supporting(item):
            r = self.criterion_overturn.get(c, R0)
            z += _logit(r) - _logit(R0)
            if r > 2 * R0:
                reasons.append(f"people overturn {c} {r:.0%} of the time")
        if item.inconsistent:
            z += RATIONALE_WEIGHT
            reasons.append("rationale contradicts its answer: " + ", ".join(item.inconsistent))
        if novelty:
            z += NOVELTY_WEIGHT * novelty
            if novelty > 0.5:
                reasons.append("far from anything reviewed")
        return Ranked(item.instance_id, 1 / (1 + math.exp(-z)), tuple(reasons))


def novelty_scores(
    vectors: npt.NDArray[np.float32] | None, reviewed_rows: Sequence[int]
) -> npt.NDArray[np.float64]:
    """Per row of `vectors` (L2-normalised, (n, d)): cosine distance to the nearest reviewed row
    over the median of those distances, minus one, clipped to [-1, 2]. Zeros when there is
    nothing to compare."""
    if vectors is None or len(vectors) == 0 or not reviewed_rows:
        return np.zeros(0 if vectors is None else len(vectors))
    ref = np.asarray(vectors[np.asarray(reviewed_rows)], dtype=np.float32)
    best = np.full(len(vectors), -1.0, dtype=np.float32)
    for start in range(0, len(vectors), 8192):  # bounded memory: 8192 x reviewed
        block = np.asarray(vectors[start : start + 8192], dtype=np.float32)
        best[start : start + len(block)] = (block @ ref.T).max(axis=1)
    distance = 1.0 - best.astype(np.float64)
    median = float(np.median(distance))
    if median <= 0:
        return np.zeros(len(vectors))
    return np.clip(distance / median - 1.0, -1.0, 2.0)  # type: ignore[no-any-return]


def rank_by_risk(
    unreviewed: Sequence[RiskItem],
    reviewed: Iterable[RiskItem],
    novelty: npt.NDArray[np.float64] | Sequence[float] | None = None,
) -> list[Ranked]:
    """Unreviewed items, most likely wrong first (ties by instance id). `novelty[i]` belongs to
    `unreviewed[i]` (see `novelty_scores`)."""
    model = RiskModel.learn(reviewed)
    ranked = [
        model.score(item, float(novelty[i]) if novelty is not None and len(novelty) else 0.0)
        for i, item in enumerate(unreviewed)
    ]
    ranked.sort(key=lambda r: (-r.score, r.instance_id))
    return ranked
