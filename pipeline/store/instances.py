"""SQL for generated instances, their judgments, and the few-shot pools they feed."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.records import (
    INSTANCE_COLUMNS,
    CriterionAnswer,
    Instance,
    InstanceStatus,
    PoolRow,
    Review,
    Verdict,
    VerdictSource,
)
from pipeline.store import Workspace, now
from pipeline.store.reviews import REVIEW_COLUMNS


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


def upsert_instance(ws: Workspace, row: Instance) -> None:
    """Insert an instance or overwrite the one with its id (joins the caller's transaction).

    An update (not REPLACE) so that rows referring to the instance stay valid.
    """
    names = ", ".join(INSTANCE_COLUMNS)
    marks = ", ".join("?" * (len(INSTANCE_COLUMNS) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in INSTANCE_COLUMNS if c != "id")
    with ws.write() as db:
        db.execute(
            f"INSERT INTO instances({names}, created_at) VALUES ({marks}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}, created_at = excluded.created_at",
            (*(getattr(row, c) for c in INSTANCE_COLUMNS), now()),
        )


def ok_instance_ids(ws: Workspace) -> list[str]:
    """Ids of the instances that passed generation (status ok): what the judge reads, sorted."""
    return [
        str(r[0]) for r in ws.db.execute("SELECT id FROM instances WHERE status = 'ok' ORDER BY id")
    ]


def instances_to_judge(ws: Workspace, *, retry_failed: bool = False) -> list[Instance]:
    """Generated instances (status ok) with no judgment yet, or a failed one when retrying, with
    their sample's `language`, in ingestion order."""
    condition = "j.instance_id IS NULL" + (" OR j.status = 'failed'" if retry_failed else "")
    rows = ws.db.execute(
        "SELECT i.*, s.language AS language "
        "FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id "
        f"WHERE i.status = ? AND ({condition}) ORDER BY s.seq, i.id",
        (InstanceStatus.OK,),
    ).fetchall()
    return [Instance(**{k: r[k] for k in INSTANCE_COLUMNS}, language=r["language"]) for r in rows]


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
    criteria: Sequence[CriterionAnswer],
) -> None:
    """Write the judge's result of one instance and its per-criterion answers (replacing any)."""
    with ws.write() as db:
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
            [(instance_id, c.criterion, int(c.passed), c.rationale) for c in criteria],
        )


def pool_rows(ws: Workspace, task: str) -> list[PoolRow]:
    """Judged instances of `task` by their final verdict (a human review wins over the judge).

    A reviewer's edits replace the fields they edited. A reject's analysis lists its failed
    criteria (after the reviewer's flips) with the judge's rationale, then the reviewer's reason;
    a reject the execution gate decided says what the execution found.
    """
    rows = ws.db.execute(
        "SELECT i.id, i.task, f.verdict, i.instruction, i.input, i.output, f.verdict_source, "
        "x.detail AS execution_detail "
        "FROM final_verdicts f JOIN instances i ON i.id = f.instance_id "
        "LEFT JOIN executions x ON x.instance_id = i.id "
        "WHERE f.verdict IS NOT NULL AND i.task = ? ORDER BY i.id",
        (task,),
    ).fetchall()
    latest = {
        r["instance_id"]: Review.from_row(r)
        for r in ws.db.execute(
            f"SELECT {', '.join('l.' + c for c in REVIEW_COLUMNS.split(', '))} "
            "FROM latest_reviews l JOIN instances i ON i.id = l.instance_id WHERE i.task = ?",
            (task,),
        )
    }
    judgments: dict[str, list[tuple[str, bool, str]]] = {}
    for r in ws.db.execute(
        "SELECT j.instance_id, j.criterion, j.passed, j.rationale FROM judgments j "
        "JOIN instances i ON i.id = j.instance_id WHERE i.task = ? ORDER BY j.rowid",
        (task,),
    ):
        judgments.setdefault(r[0], []).append((r[1], bool(r[2]), r[3]))
    out = []
    for r in rows:
        review = latest.get(r["id"])
        edits = {} if review is None else review.edits
        flips = {} if review is None else review.flips
        analysis = ""
        if r["verdict"] == Verdict.REJECT and r["verdict_source"] == VerdictSource.EXECUTION:
            analysis = f"Running it against the original function: {r['execution_detail']}"
        elif r["verdict"] == Verdict.REJECT:
            parts = []
            for name, passed, rationale in judgments.get(r["id"], []):
                if bool(flips.get(name, passed)):
                    continue
                if passed:  # the judge said yes; a reviewer flipped it
                    parts.append(f"{name}: no, a reviewer overruled the judge.")
                else:
                    parts.append(f"{name}: no, {rationale[:1].lower()}{rationale[1:]}")
            if review is not None and review.reason:
                parts.append(f"Reviewer: {review.reason}")
            reviewer = "the judge" if review is None else review.reviewer
            analysis = " ".join(dict.fromkeys(parts)) or f"Rejected by {reviewer}."
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


def judge_verdicts(ws: Workspace) -> dict[str, str]:
    """{instance id: the judge's verdict} for instances the judge answered."""
    return {
        r[0]: r[1]
        for r in ws.db.execute(
            "SELECT instance_id, verdict FROM judge_results WHERE verdict IS NOT NULL"
        )
    }


def judgment_labels(ws: Workspace) -> dict[str, dict[str, bool]]:
    """{instance id: {criterion: passed}} as the judge answered."""
    out: dict[str, dict[str, bool]] = {}
    for iid, criterion, passed in ws.db.execute(
        "SELECT instance_id, criterion, passed FROM judgments ORDER BY rowid"
    ):
        out.setdefault(iid, {})[criterion] = bool(passed)
    return out
