"""SQL for generated instances, their judgments, and the few-shot pools they feed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields

from pipeline.store import Workspace, now


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """An `instances` row as written by the generate stage."""

    id: str
    sample_id: str
    task: str
    target_language: str
    instruction: str
    input: str
    output: str
    status: str
    error: str
    provider: str
    model: str
    prompt_version: str
    prompt_hash: str
    few_shot_ids: str  # JSON list
    raw_prompt: str
    raw_answer: str
    call_key: str | None


_INSTANCE_COLUMNS = [f.name for f in fields(InstanceRow)]


@dataclass(frozen=True, slots=True)
class JudgeItem:
    """An instance to judge, with its sample's language."""

    id: str
    task: str
    language: str
    target_language: str
    instruction: str
    input: str
    output: str


@dataclass(frozen=True, slots=True)
class PoolRow:
    """A judged instance for the few-shot pools: its final verdict and why (for rejects)."""

    id: str
    task: str
    verdict: str
    instruction: str
    input: str
    output: str
    analysis: str


def instance_status_by_sample(
    ws: Workspace, prompt_version: str
) -> dict[str, tuple[str, str, str, str]]:
    """sample id -> (instance id, status, task, target language) of the instances made with
    `prompt_version`."""
    return {
        str(r[0]): (str(r[1]), str(r[2]), str(r[3]), str(r[4]))
        for r in ws.db.execute(
            "SELECT sample_id, id, status, task, target_language FROM instances "
            "WHERE prompt_version = ?",
            (prompt_version,),
        )
    }


def upsert_instance(ws: Workspace, row: InstanceRow) -> None:
    """Insert an instance or overwrite the one with its id (joins the caller's transaction).

    An update (not REPLACE) so that rows referring to the instance stay valid.
    """
    names = ", ".join(_INSTANCE_COLUMNS)
    marks = ", ".join("?" * (len(_INSTANCE_COLUMNS) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _INSTANCE_COLUMNS if c != "id")
    with ws.write() as db:
        db.execute(
            f"INSERT INTO instances({names}, created_at) VALUES ({marks}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}, created_at = excluded.created_at",
            (*(getattr(row, c) for c in _INSTANCE_COLUMNS), now()),
        )


def ok_instance_ids(ws: Workspace) -> list[str]:
    """Ids of the instances that passed generation (status ok): what the judge reads, sorted."""
    return [
        str(r[0]) for r in ws.db.execute("SELECT id FROM instances WHERE status = 'ok' ORDER BY id")
    ]


def instances_to_judge(ws: Workspace, *, retry_failed: bool = False) -> list[JudgeItem]:
    """Generated instances (status ok) with no judgment yet, or a failed one when retrying."""
    condition = "j.instance_id IS NULL" + (" OR j.status = 'failed'" if retry_failed else "")
    rows = ws.db.execute(
        "SELECT i.id, i.task, s.language, i.target_language, i.instruction, i.input, i.output "
        "FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id "
        f"WHERE i.status = 'ok' AND ({condition}) ORDER BY s.seq, i.id"
    ).fetchall()
    return [JudgeItem(*r) for r in rows]


def record_judgment(
    ws: Workspace,
    instance_id: str,
    *,
    verdict: str | None,
    status: str,
    error: str,
    provider: str,
    model: str,
    prompt_version: str,
    raw_prompt: str,
    raw_answer: str,
    call_key: str | None,
    criteria: Sequence[tuple[str, bool, str]],
) -> None:
    """Write the judge's result of one instance and its per-criterion answers (replacing any)."""
    with ws.write() as db:
        _record_judgment(db, instance_id, verdict, status, error, provider, model,
                         prompt_version, raw_prompt, raw_answer, call_key, criteria)  # fmt: skip


def _record_judgment(
    db: sqlite3.Connection,
    instance_id: str,
    verdict: str | None,
    status: str,
    error: str,
    provider: str,
    model: str,
    prompt_version: str,
    raw_prompt: str,
    raw_answer: str,
    call_key: str | None,
    criteria: Sequence[tuple[str, bool, str]],
) -> None:
    db.execute("DELETE FROM judgments WHERE instance_id = ?", (instance_id,))
    db.execute(
        "INSERT INTO judge_results(instance_id, verdict, status, error, provider, model, "
        "prompt_version, raw_prompt, raw_answer, call_key, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(instance_id) DO UPDATE SET "
        "verdict = excluded.verdict, status = excluded.status, error = excluded.error, "
        "provider = excluded.provider, model = excluded.model, "
        "prompt_version = excluded.prompt_version, raw_prompt = excluded.raw_prompt, "
        "raw_answer = excluded.raw_answer, call_key = excluded.call_key, "
        "created_at = excluded.created_at",
        (
            instance_id, verdict, status, error, provider, model, prompt_version, raw_prompt,
            raw_answer, call_key, now(),
        ),
    )  # fmt: skip
    db.executemany(
        "INSERT INTO judgments(instance_id, criterion, passed, rationale) VALUES (?, ?, ?, ?)",
        [(instance_id, name, int(passed), rationale) for name, passed, rationale in criteria],
    )


def pool_rows(ws: Workspace, task: str) -> list[PoolRow]:
    """Judged instances of `task` by their final verdict (a human review wins over the judge).

    A reviewer's edits replace the fields they edited. A reject's analysis lists its failed
    criteria (after the reviewer's flips) with the judge's rationale, then the reviewer's reason.
    """
    rows = ws.db.execute(
        "SELECT i.id, i.task, f.verdict, i.instruction, i.input, i.output, "
        "l.flips, l.edits, l.reason, l.reviewer "
        "FROM final_verdicts f JOIN instances i ON i.id = f.instance_id "
        "LEFT JOIN latest_reviews l ON l.instance_id = i.id "
        "WHERE f.verdict IN ('accept', 'reject') AND i.task = ? ORDER BY i.id",
        (task,),
    ).fetchall()
    judgments: dict[str, list[tuple[str, bool, str]]] = {}
    for r in ws.db.execute(
        "SELECT j.instance_id, j.criterion, j.passed, j.rationale FROM judgments j "
        "JOIN instances i ON i.id = j.instance_id WHERE i.task = ? ORDER BY j.rowid",
        (task,),
    ):
        judgments.setdefault(r[0], []).append((r[1], bool(r[2]), r[3]))
    out = []
    for r in rows:
        edits = json.loads(r["edits"] or "{}")
        flips = json.loads(r["flips"] or "{}")
        analysis = ""
        if r["verdict"] == "reject":
            parts = []
            for name, passed, rationale in judgments.get(r["id"], []):
                if bool(flips.get(name, passed)):
                    continue
                if passed:  # the judge said yes; a reviewer flipped it
                    parts.append(f"{name}: no, a reviewer overruled the judge.")
                else:
                    parts.append(f"{name}: no, {rationale[:1].lower()}{rationale[1:]}")
            if r["reason"]:
                parts.append(f"Reviewer: {r['reason']}")
            analysis = " ".join(dict.fromkeys(parts)) or f"Rejected by {r['reviewer']}."
        out.append(
            PoolRow(
                id=r["id"],
                task=r["task"],
                verdict=r["verdict"],
                instruction=edits.get("instruction", r["instruction"]),
                input=edits.get("input", r["input"]),
                output=edits.get("output", r["output"]),
                analysis=analysis,
            )
        )
    return out
