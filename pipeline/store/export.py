"""Read SQL for export and decontamination: final verdicts, effective text, provenance.

The final verdict of an instance is view `final_verdicts` (its latest effective human review, else
the Discriminator's). The *effective text* of an instance is its generated instruction, input and
output with the `edits` of its latest effective review (view `latest_reviews`: not an undo row,
not undone) in place of the fields they name. A review stores its edits as the fields that differ
from the Generator's text, so a later review without edits restores the generated text, and an
undone review's edits disappear with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.records import (
    EDITABLE_FIELDS,
    ExportFilters,
    Instance,
    InstanceStatus,
    Review,
    Verdict,
)
from pipeline.store import Workspace
from pipeline.store.reviews import REVIEW_COLUMNS

__all__ = [
    "effective_content",
    "effective_edits",
    "exportable_ids",
    "instance_texts",
    "judgments_by_instance",
    "reviews_by_instance",
    "select_for_export",
]

_SELECT = """
SELECT i.id AS id, i.sample_id AS sample_id, i.task AS task,
       i.target_language AS target_language,
       i.instruction AS instruction, i.input AS input, i.output AS output,
       i.provider AS gen_provider, i.model AS gen_model, i.prompt_version AS gen_prompt_version,
       i.prompt_hash AS gen_prompt_hash, i.few_shot_ids AS gen_few_shot_ids,
       i.raw_prompt AS gen_raw_prompt, i.raw_answer AS gen_raw_answer, i.call_key AS gen_call_key,
       f.verdict AS verdict, f.verdict_source AS verdict_source,
       f.judge_verdict AS judge_verdict, f.human_verdict AS human_verdict,
       f.reviewer AS reviewer,
       (SELECT l.id FROM latest_reviews l WHERE l.instance_id = i.id) AS review_id,
       j.status AS judge_status, j.provider AS judge_provider, j.model AS judge_model,
       j.prompt_version AS judge_prompt_version, j.raw_prompt AS judge_raw_prompt,
       j.raw_answer AS judge_raw_answer, j.call_key AS judge_call_key,
       s.source AS sample_source, s.language AS language, s.repo AS sample_repo,
       s.path AS sample_path, s.func_name AS sample_func_name, s.line AS sample_line,
       s.url AS sample_url, s.partition AS sample_partition, s.docstring AS sample_docstring,
       s.code AS sample_code,
       gc.cost_usd AS gen_cost_usd, gc.input_tokens AS gen_input_tokens,
       gc.output_tokens AS gen_output_tokens,
       jc.cost_usd AS judge_cost_usd, jc.input_tokens AS judge_input_tokens,
       jc.output_tokens AS judge_output_tokens,
       EXISTS (SELECT 1 FROM flagged_instances fi WHERE fi.instance_id = i.id) AS flagged
FROM final_verdicts f
JOIN instances i ON i.id = f.instance_id
LEFT JOIN samples s ON s.id = i.sample_id
LEFT JOIN judge_results j ON j.instance_id = i.id
LEFT JOIN llm_calls gc ON gc.key = i.call_key
LEFT JOIN llm_calls jc ON jc.key = j.call_key
"""


def _in(column: str, values: Sequence[str], where: list[str], params: list[Any]) -> None:
    where.append(f"{column} IN ({','.join('?' * len(values))})")
    params.extend(values)


def select_for_export(ws: Workspace, filters: ExportFilters) -> list[dict[str, Any]]:
    """Generated instances `filters` admit (see ExportFilters), with provenance, by id.

    `filters.reviewers` is matched against the reviewer of the deciding (latest effective)
    review, whose id is `review_id`. Keys: see `_SELECT` (prefix `gen_` generator, `judge_`
    Discriminator, `sample_` source sample); `flagged` is 1 while an uncleared flag stands.
    Text columns are as generated: apply `effective_edits`.
    """
    where: list[str] = []
    params: list[Any] = []
    _in("f.verdict", filters.verdicts, where, params)
    if filters.tasks is not None:
        _in("i.task", filters.tasks, where, params)
    if filters.languages is not None:
        _in("s.language", filters.languages, where, params)
    if filters.verdict_source is not None:
        where.append("f.verdict_source = ?")
        params.append(filters.verdict_source)
    if filters.reviewers is not None:
        _in("f.reviewer", filters.reviewers, where, params)
    if not filters.include_flagged:
        where.append("i.id NOT IN (SELECT instance_id FROM flagged_instances)")
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY i.id"
    return [dict(r) for r in ws.db.execute(sql, params)]


def effective_edits(ws: Workspace, instance_id: str | None = None) -> dict[str, dict[str, str]]:
    """{instance id: {field: text}}: the edits of each instance's latest effective review.

    Only instances whose latest effective review has edits appear. Every key of `edits` is kept
    (the caller picks `EDITABLE_FIELDS`); a non-string value is kept as its JSON text.
    """
    sql = f"SELECT {REVIEW_COLUMNS} FROM latest_reviews"
    params: tuple[str, ...] = ()
    if instance_id is not None:
        sql += " WHERE instance_id = ?"
        params = (instance_id,)
    reviews = (Review.from_row(r) for r in ws.db.execute(sql, params))
    return {r.instance_id: r.edits for r in reviews if r.edits}


def effective_content(ws: Workspace, instance_id: str) -> dict[str, str]:
    """{instruction, input, output} of one instance as it will be exported (edits applied).

    Raises KeyError when there is no such instance.
    """
    row = ws.db.execute(
        "SELECT instruction, input, output FROM instances WHERE id = ?", (instance_id,)
    ).fetchone()
    if row is None:
        raise KeyError(instance_id)
    content = {name: str(row[name]) for name in EDITABLE_FIELDS}
    edits = effective_edits(ws, instance_id).get(instance_id, {})
    content.update({k: v for k, v in edits.items() if k in EDITABLE_FIELDS})
    return content


def instance_texts(ws: Workspace) -> list[Instance]:
    """Every generated instance (status ok) by id, with its effective text (edits applied) and
    no other optional part."""
    edits = effective_edits(ws)
    out: list[Instance] = []
    cur = ws.db.execute(
        "SELECT id, sample_id, task, instruction, input, output FROM instances WHERE status = ? "
        "ORDER BY id",
        (InstanceStatus.OK,),
    )
    for r in cur:
        text = {name: str(r[name]) for name in EDITABLE_FIELDS}
        text.update({k: v for k, v in edits.get(r["id"], {}).items() if k in EDITABLE_FIELDS})
        out.append(
            Instance(
                id=str(r["id"]),
                sample_id=r["sample_id"],
                task=r["task"],
                instruction=text["instruction"],
                input=text["input"],
                output=text["output"],
            )
        )
    return out


def accepted_ids(ws: Workspace) -> set[str]:
    """Ids of the instances whose final verdict is accept, flagged or not."""
    return {
        str(r[0])
        for r in ws.db.execute("SELECT instance_id FROM final_verdicts WHERE verdict = 'accept'")
    }


def exportable_ids(ws: Workspace) -> set[str]:
    """Ids of the curated set: final verdict accept and no uncleared flag."""
    return {
        str(r[0])
        for r in ws.db.execute(
            "SELECT instance_id FROM final_verdicts WHERE verdict = ? "
            "AND instance_id NOT IN (SELECT instance_id FROM flagged_instances)",
            (Verdict.ACCEPT,),
        )
    }


def judgments_by_instance(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """{instance id: [{criterion, passed, rationale}]}, criteria in name order."""
    out: dict[str, list[dict[str, Any]]] = {}
    cur = ws.db.execute(
        "SELECT instance_id, criterion, passed, rationale FROM judgments "
        "ORDER BY instance_id, criterion"
    )
    for iid, criterion, passed, rationale in cur:
        out.setdefault(str(iid), []).append(
            {"criterion": criterion, "passed": bool(passed), "rationale": rationale}
        )
    return out


def reviews_by_instance(ws: Workspace) -> dict[str, list[tuple[Review, bool]]]:
    """{instance id: [(review, effective)]}, oldest first, undo rows included; `effective`: the
    review counts toward the verdict (neither an undo row nor undone)."""
    effective = {int(r[0]) for r in ws.db.execute("SELECT id FROM effective_reviews")}
    out: dict[str, list[tuple[Review, bool]]] = {}
    for r in ws.db.execute(f"SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY id"):
        review = Review.from_row(r)
        out.setdefault(review.instance_id, []).append((review, review.id in effective))
    return out
