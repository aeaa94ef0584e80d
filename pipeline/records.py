"""Typed rows and closed vocabularies shared by stages, the store and the app."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Literal


class Source(StrEnum):
    STDLIB = "stdlib"
    TREE = "tree"
    CODESEARCHNET = "codesearchnet"


class Task(StrEnum):
    GENERATION = "code_generation"
    SUMMARIZATION = "code_summarization"
    REPAIR = "code_repair"
    TRANSLATION = "code_translation"


class Verdict(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


# every verdict's value in display order (agreement labels, export and queue filter options)
VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
# the colour of a verdict badge on the app's pages (an unknown verdict is gray)
VERDICT_BADGE: dict[str, Literal["green", "red", "gray"]] = {
    Verdict.ACCEPT: "green",
    Verdict.REJECT: "red",
}
# the `verdict` of a review row that cancels an earlier one (never a final verdict)
UNDO = "undo"
# the instance fields a reviewer's edit may replace; other keys in `edits` are kept in `full` only
EDITABLE_FIELDS = ("instruction", "input", "output")


class VerdictSource(StrEnum):
    HUMAN = "human"  # the latest effective review
    JUDGE = "judge"  # the Discriminator (no effective review)
    EXECUTION = "execution"  # no effective review, execution failed and `[verify] gate` is on


VERDICT_SOURCES: tuple[str, ...] = tuple(s.value for s in VerdictSource)


class ExecVerdict(StrEnum):
    """The execution verdict of an instance (the verify stage)."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"


EXEC_VERDICTS: tuple[str, ...] = tuple(v.value for v in ExecVerdict)


@dataclass(frozen=True, slots=True)
class ExecutionEvidence:
    """What running an instance's code found (the verify engine's answer).

    `inputs`: the calls tried, as a person reads them; `agreed`: inputs on which the output
    agreed with the reference; `failing_input`/`expected`/`got` name the disagreement of a fail;
    `mechanism`: the sandbox that ran it; `seconds`: wall time of the whole check.
    """

    verdict: str  # an ExecVerdict value
    detail: str
    inputs: tuple[str, ...] = ()
    agreed: int = 0
    failing_input: str | None = None
    expected: str | None = None
    got: str | None = None
    mechanism: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """What the `full` export and `--json` outputs carry."""
        return {
            "verdict": str(self.verdict),
            "detail": self.detail,
            "inputs": list(self.inputs),
            "agreed": self.agreed,
            "failing_input": self.failing_input,
            "expected": self.expected,
            "got": self.got,
            "mechanism": self.mechanism,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Execution(ExecutionEvidence):
    """One stored execution verdict (an `executions` row): the evidence of `instance_id`;
    `config_hash`: the `[verify]` settings that decided it; `created_at`: ISO 8601 UTC."""

    instance_id: str
    config_hash: str = ""
    created_at: str = ""

    @classmethod
    def of(cls, evidence: ExecutionEvidence, *, instance_id: str, config_hash: str) -> Execution:
        """The row that stores `evidence` for `instance_id` under the settings `config_hash`."""
        shared = {f.name: getattr(evidence, f.name) for f in fields(ExecutionEvidence)}
        shared["verdict"] = str(evidence.verdict)
        return cls(**shared, instance_id=instance_id, config_hash=config_hash)


class ExportFormat(StrEnum):
    ALPACA = "alpaca"  # instruction / input / output (what WaveCoder trained on)
    MESSAGES = "messages"  # chat format for SFT trainers
    FULL = "full"  # everything, with provenance


class InstanceStatus(StrEnum):
    OK = "ok"  # generated and passed the rule checks; ready to judge
    FAILED = "failed"  # the call or the parse failed; raw answer kept; --retry-failed retries
    RULES = "rules"  # generated but broke a rule check (kept, never judged)
    SKIPPED = "skipped"  # the provider said it cannot do this honestly (reason kept)


@dataclass(frozen=True, slots=True)
class Sample:
    """One (docstring, code) pair as collected from a source.

    `code` is the whole function as written; `code_nodoc` is the same with the docstring removed
    (for Python; for other languages the leading doc comment is outside `code` already).
    """

    source: str
    language: str
    repo: str
    path: str
    func_name: str
    line: int
    docstring: str
    code: str
    code_nodoc: str
    url: str = ""
    partition: str = ""
    # the import lines of the function's file (one statement a line), which the verify stage
    # runs before it; empty when unknown (CodeSearchNet)
    imports: str = ""

    @property
    def id(self) -> str:
        """Stable id from origin and content: the same input ingested twice maps to one row."""
        h = hashlib.sha256()
        for part in (self.source, self.repo, self.path, self.func_name, self.code):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()[:20]


def normalised_hash(text: str) -> str:
    """sha256 of `text` with all whitespace runs collapsed: the exact-duplicate key."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSample(Sample):
    """A sample row as stored: the record plus its id, hash, filter outcome and order."""

    id: str  # type: ignore[assignment]  # stored: the `Sample.id` it was ingested under
    sha256: str
    dropped_by: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class CriterionAnswer:
    """The Discriminator's answer on one criterion: rationale first, then yes or no (a
    `judgments` row, or one item of a parsed judge answer)."""

    criterion: str
    passed: bool
    rationale: str


@dataclass(frozen=True, slots=True)
class Judgment:
    """The judge's result of one instance (a `judge_results` row with its criterion answers).

    `verdict` is None when the judge call failed (`status` failed, `error` says why).
    """

    verdict: str | None
    status: str
    model: str
    error: str
    criteria: tuple[CriterionAnswer, ...] = ()


@dataclass(frozen=True, slots=True)
class Review:
    """One review row. `verdict`: accept, reject or UNDO; `flips`: {criterion: passed as the
    reviewer sees it}; `edits`: {field: new text}; `undoes`: the id of the row an undo row
    cancels."""

    id: int
    instance_id: str
    reviewer: str
    verdict: str
    flips: dict[str, bool]
    edits: dict[str, str]
    reason: str
    undoes: int | None
    created_at: str

    @classmethod
    def from_row(cls, r: Mapping[str, Any]) -> Review:
        """Decode a `reviews` row (flips and edits are JSON text; a non-string edit is kept as
        its JSON text). The one place review rows are decoded."""
        edits = json.loads(r["edits"] or "{}")
        return cls(
            id=int(r["id"]),
            instance_id=str(r["instance_id"]),
            reviewer=str(r["reviewer"]),
            verdict=str(r["verdict"]),
            flips={str(k): bool(v) for k, v in json.loads(r["flips"] or "{}").items()},
            edits={str(k): v if isinstance(v, str) else json.dumps(v) for k, v in edits.items()},
            reason=str(r["reason"]),
            undoes=None if r["undoes"] is None else int(r["undoes"]),
            created_at=str(r["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Instance:
    """One generated instance (an `instances` row) with optional parts.

    The row's own fields come first; a read fills the parts it needs and leaves the others at
    their defaults: `language` (the sample's), `verdict`/`verdict_source` (the final verdict),
    `sample`, `judgment`, `history` (every review row, undo rows included, oldest first) and
    `latest` (the latest effective review, the human decision in force). Text fields are as
    generated unless the read says it applied the reviewer's edits.
    """

    id: str
    sample_id: str
    task: str
    target_language: str = ""
    instruction: str = ""
    input: str = ""
    output: str = ""
    status: str = "ok"
    error: str = ""
    provider: str = ""
    model: str = ""
    prompt_version: str = ""
    prompt_hash: str = ""
    few_shot_ids: str = "[]"  # JSON list
    raw_prompt: str = ""
    raw_answer: str = ""
    call_key: str | None = None
    # optional parts
    language: str = ""
    verdict: str | None = None
    verdict_source: str | None = None
    sample: StoredSample | None = None
    judgment: Judgment | None = None
    history: tuple[Review, ...] = ()
    latest: Review | None = None

    @property
    def criteria(self) -> tuple[CriterionAnswer, ...]:
        """The judge's criterion answers (empty when not judged or not read)."""
        return () if self.judgment is None else self.judgment.criteria

    def field(self, name: str) -> str:
        """The Generator's text of an editable field."""
        if name not in EDITABLE_FIELDS:
            raise KeyError(name)
        return str(getattr(self, name))


# the columns of an `instances` row, in Instance's order
INSTANCE_COLUMNS = (
    "id", "sample_id", "task", "target_language", "instruction", "input", "output", "status",
    "error", "provider", "model", "prompt_version", "prompt_hash", "few_shot_ids", "raw_prompt",
    "raw_answer", "call_key",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One generated instance as the review queue filters and sorts it: not the instance but its
    review state (who decided what, which criteria failed, whether it is flagged), one per
    instance, cheap enough to read for the whole workspace on every change.

    `reviewers`: ((reviewer, verdict), ...) of each reviewer's latest effective review, by name;
    `human_verdict`: the latest effective review's verdict; `failed`: criteria the judge failed;
    `execution_verdict`: the verify stage's verdict (None when not verified).
    """

    instance_id: str
    sample_id: str
    seq: int
    task: str
    language: str
    judge_verdict: str | None
    human_verdict: str | None
    reviewers: tuple[tuple[str, str], ...]
    failed: tuple[str, ...]
    flagged: bool
    last_review_id: int | None
    execution_verdict: str | None = (
        None  # pass | fail | inconclusive | not_applicable; None: not verified
    )


@dataclass(frozen=True, slots=True)
class PoolRow:
    """A few-shot example: a judged instance's effective text, its final verdict and, for a
    reject, the analysis the Generator is shown (another concept than the instance: text made
    for a prompt)."""

    id: str
    task: str
    verdict: str
    instruction: str
    input: str
    output: str
    analysis: str


@dataclass(frozen=True, slots=True)
class ReviewerActivity:
    """What one reviewer has done: effective reviews by verdict, undo rows, flips and edits."""

    reviewer: str
    instances: int
    accepted: int
    rejected: int
    undone: int
    with_flips: int
    with_edits: int
    last_at: str


@dataclass(frozen=True, slots=True)
class SampleLabel:
    """What the map shows of a kept sample: its function name and language, and the task of its
    first generated instance (None without one)."""

    func_name: str
    language: str
    task: str | None


@dataclass(frozen=True, slots=True)
class Flag:
    """One benchmark overlap: `score` is the n-gram share (0-1) or the cosine similarity."""

    instance_id: str
    benchmark: str
    item_id: str
    signal: str
    score: float


@dataclass(frozen=True, slots=True)
class Clearance:
    """A reviewer's decision that an instance's flags are false positives."""

    id: int
    instance_id: str
    reviewer: str
    reason: str
    created_at: str


@dataclass(frozen=True, slots=True)
class CallRow:
    """One `llm_calls` row. `status`: ok (an answer came back), error (none did), pending (in a
    batch not yet collected)."""

    key: str
    provider: str
    base_url: str
    model: str
    role: str
    request: str
    response: str | None
    stop_reason: str
    status: str
    error: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    batch_id: str | None


@dataclass
class ExportFilters:
    """Which instances an export holds. `None` means no restriction on that field.

    `languages` are source-sample languages; `reviewers` the reviewer of the deciding review;
    `verdicts` the final verdicts taken (reject too for negative examples).
    """

    tasks: list[str] | None = None
    languages: list[str] | None = None
    verdict_source: str | None = None
    reviewers: list[str] | None = None
    include_flagged: bool = False
    verdicts: tuple[str, ...] = (Verdict.ACCEPT.value,)

    def validate(self) -> None:
        """Raise ValueError on an unknown verdict source or verdict."""
        if self.verdict_source is not None and self.verdict_source not in VERDICT_SOURCES:
            raise ValueError(
                f"verdict source must be one of {', '.join(VERDICT_SOURCES)}, "
                f"got {self.verdict_source!r}"
            )
        if not self.verdicts or any(v not in VERDICTS for v in self.verdicts):
            raise ValueError(f"verdicts must be among {', '.join(VERDICTS)}, got {self.verdicts}")

    def as_dict(self) -> dict[str, Any]:
        """The filters with lists sorted: equal filters give an equal manifest."""

        def norm(values: Sequence[str] | None) -> list[str] | None:
            return None if values is None else sorted(set(values))

        return {
            "tasks": norm(self.tasks),
            "languages": norm(self.languages),
            "verdict_source": self.verdict_source,
            "reviewers": norm(self.reviewers),
            "include_flagged": self.include_flagged,
            "verdicts": norm(self.verdicts),
        }
