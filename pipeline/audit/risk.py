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
- novelty: cosine distance to the nearest reviewed instance's sample (among at most 1,024 of
  them, a seeded subset beyond) over the median such distance, minus one, clipped to [-1, 2]:
  0 when there are no vectors or no reviews.

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


_NEGATIVE = frozenset(
    [
        "not",
        "missing",
        "miss",
        "misses",
        "fail",
        "fails",
        "failed",
        "failing",
        "incorrect",
        "incorrectly",
        "wrong",
        "lack",
        "lacks",
        "lacking",
        "broken",
        "cannot",
        "can't",
        "doesn't",
        "don't",
        "isn't",
        "won't",
        "incomplete",
        "unclear",
        "ambiguous",
        "vague",
        "irrelevant",
        "crash",
        "crashes",
    ]
)
_HARMLESS = re.compile(
    r"\b(no (?:issues?|problems?|errors?|bugs?|concerns?|ambiguity)|nothing (?:is )?missing|"
    r"not (?:ambiguous|vague|unclear|missing|wrong|incorrect)|does not (?:crash|fail)|"
    r"without (?:errors?|issues?|bugs?)|error handling)\b"
)
_POSITIVE = re.compile(
    r"\b(is correct|correctly|passes|is clear|is complete|no issues|works as|is accurate|"
    r"faithful(?:ly)?|is relevant|well[- ]defined)\b"
)
_WORDS = re.compile(r"[a-z']+")


def _negative(lowered: str) -> bool:
    return not _NEGATIVE.isdisjoint(_WORDS.findall(lowered))


def rationale_contradicts(passed: bool, rationale: str) -> bool:
    """Whether a criterion's rationale argues against its own yes/no (see the module docstring).
    A word-set lookup first; the phrase patterns run only on the few rationales it leaves."""
    lowered = rationale.lower().replace("\u2019", "'")
    negative = _negative(lowered) and _negative(_HARMLESS.sub(" ", lowered))
    if passed:
        return negative
    return not negative and _POSITIVE.search(lowered) is not None


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


_LOGIT_R0 = _logit(R0)


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

    def __post_init__(self) -> None:
        # log-odds computed once per model, not once per item
        self._cell_z = {c: _logit(p) for c, p in self.cell_wrong.items()}
        self._criterion_dz = {c: _logit(r) - _LOGIT_R0 for c, r in self.criterion_overturn.items()}

    def score(self, item: RiskItem, novelty: float = 0.0) -> Ranked:
        cell = cell_of(item)
        z = self._cell_z[cell]
        reasons: list[str] = []
        if cell == "contradicts":
            reasons.append(f"execution {item.execution} vs judge {item.judge_verdict}")
        elif cell == "inconclusive":
            reasons.append("execution inconclusive")
        dz = self._criterion_dz
        for c in _supporting(item):
            if c in dz:
                z += dz[c]
                r = self.criterion_overturn[c]
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


NOVELTY_REFERENCE = 1024  # reviewed rows novelty compares against (a seeded subset beyond)


def novelty_scores(
    vectors: npt.NDArray[np.float32] | None,
    reviewed_rows: Sequence[int],
    rows: Sequence[int] | None = None,
) -> npt.NDArray[np.float64]:
    """Per row of `vectors` (L2-normalised, (n, d)), or per row in `rows` when given: cosine
    distance to the nearest reviewed row over the median of those distances, minus one, clipped
    to [-1, 2]. Zeros when there is nothing to compare. With more than NOVELTY_REFERENCE reviewed
    rows, a seeded uniform subset of that many stands for them (the cost stays
    len(rows) x 1024 x d however many reviews there are)."""
    count = 0 if vectors is None else (len(vectors) if rows is None else len(rows))
    if vectors is None or count == 0 or not reviewed_rows:
        return np.zeros(count)
    reference = np.unique(np.asarray(reviewed_rows, dtype=np.int64))
    if len(reference) > NOVELTY_REFERENCE:
        reference = np.sort(
            np.random.default_rng(0).choice(reference, NOVELTY_REFERENCE, replace=False)
        )
    ref = np.asarray(vectors[reference], dtype=np.float32)
    wanted = np.arange(len(vectors)) if rows is None else np.asarray(rows, dtype=np.int64)
    best = np.full(len(wanted), -1.0, dtype=np.float32)
    for start in range(0, len(wanted), 8192):  # bounded memory: 8192 x reference
        block = np.asarray(vectors[wanted[start : start + 8192]], dtype=np.float32)
        best[start : start + len(block)] = (block @ ref.T).max(axis=1)
    distance = 1.0 - best.astype(np.float64)
    median = float(np.median(distance))
    if median <= 0:
        return np.zeros(len(wanted))
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
