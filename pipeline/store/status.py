"""The funnel: counts for every stage, read straight from the workspace."""

from __future__ import annotations

from typing import Any

from pipeline.records import VERDICTS, InstanceStatus, Verdict
from pipeline.store import Workspace
from pipeline.store.executions import execution_counts, execution_counts_by_task
from pipeline.store.export import exportable_ids
from pipeline.store.llm import cost_summary
from pipeline.store.samples import count_samples


def _scalar(ws: Workspace, sql: str) -> Any:
    return ws.db.execute(sql).fetchone()[0]


def _grouped(ws: Workspace, sql: str, params: tuple[str, ...] = ()) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in ws.db.execute(sql, params)}


def _skipped_by_task(ws: Workspace) -> dict[str, dict[str, int]]:
    """{task: {reason: n}} of the skipped instances, most frequent reason first."""
    out: dict[str, dict[str, int]] = {}
    for task, reason, n in ws.db.execute(
        "SELECT task, COALESCE(NULLIF(error, ''), 'no reason recorded'), COUNT(*) FROM instances "
        "WHERE status = ? GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
        (InstanceStatus.SKIPPED,),
    ):
        out.setdefault(str(task), {})[str(reason)] = int(n)
    return out


def funnel(ws: Workspace) -> dict[str, Any]:
    """Everything `wavecurate status --json` prints.

    Keys: ingested, kept, dropped {rule: n}, by_source, by_language, embedded, coreset,
    projected, instances (generated, status ok), by_task {task: n}, failed, rule_failed, skipped,
    skipped_by_task {task: {reason: n}}, providers {generator|judge: [{provider, model,
    instances}]} (what made the instances and the judgments), judged, judge_failed,
    judge_accepted, judge_rejected, execution {pass, fail, inconclusive, not_applicable} and
    execution_by_task {task: {...}} (the verify stage), accepted, rejected (final verdicts: latest
    human review, else reject when execution failed and `[verify] gate` is on, else the judge),
    rejected_by_execution (final rejects the gate decided), reviewed, flagged, exportable,
    llm_calls, tokens
    {input, output}, cost_usd, cost_by_role {generator|judge: {calls, input_tokens,
    output_tokens, cost_usd}}, cost_per_accepted_usd (generation and judge calls of accepted
    instances, per accepted instance), schema_version.
    """
    out: dict[str, Any] = count_samples(ws)
    embedded = ws.get_metric("embedded")
    out["embedded"] = int(embedded["count"]) if embedded else 0
    out["coreset"] = int(_scalar(ws, "SELECT COUNT(*) FROM coreset"))
    out["projected"] = int(_scalar(ws, "SELECT COUNT(*) FROM projection"))
    status = _grouped(ws, "SELECT status, COUNT(*) FROM instances GROUP BY status")
    out["instances"] = status.get(InstanceStatus.OK, 0)
    out["by_task"] = _grouped(
        ws,
        "SELECT task, COUNT(*) FROM instances WHERE status = ? GROUP BY task ORDER BY task",
        (InstanceStatus.OK,),
    )
    out["failed"] = status.get(InstanceStatus.FAILED, 0)
    out["rule_failed"] = status.get(InstanceStatus.RULES, 0)
    out["skipped"] = status.get(InstanceStatus.SKIPPED, 0)
    out["skipped_by_task"] = _skipped_by_task(ws)
    out["providers"] = {
        role: [
            {"provider": str(r[0]), "model": str(r[1]), "instances": int(r[2])}
            for r in ws.db.execute(
                f"SELECT provider, model, COUNT(*) FROM {table} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
            )
        ]
        for role, table in (("generator", "instances"), ("judge", "judge_results"))
    }
    judge = _grouped(
        ws, "SELECT COALESCE(verdict, 'failed'), COUNT(*) FROM judge_results GROUP BY 1"
    )
    out["judged"] = sum(judge.get(v, 0) for v in VERDICTS)
    out["judge_failed"] = judge.get("failed", 0)
    out["judge_accepted"] = judge.get(Verdict.ACCEPT, 0)
    out["judge_rejected"] = judge.get(Verdict.REJECT, 0)
    final = _grouped(
        ws, "SELECT verdict, COUNT(*) FROM final_verdicts WHERE verdict IS NOT NULL GROUP BY 1"
    )
    out["execution"] = execution_counts(ws)
    out["execution_by_task"] = execution_counts_by_task(ws)
    out["accepted"] = final.get(Verdict.ACCEPT, 0)
    out["rejected"] = final.get(Verdict.REJECT, 0)
    out["rejected_by_execution"] = int(
        _scalar(ws, "SELECT COUNT(*) FROM final_verdicts WHERE verdict_source = 'execution'")
    )
    out["reviewed"] = int(_scalar(ws, "SELECT COUNT(*) FROM latest_reviews"))
    out["flagged"] = int(_scalar(ws, "SELECT COUNT(*) FROM flagged_instances"))
    out["exportable"] = len(exportable_ids(ws))
    calls = ws.db.execute(
        "SELECT COUNT(*), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0), "
        "COALESCE(SUM(cost_usd),0) FROM llm_calls WHERE status = 'ok'"
    ).fetchone()
    out["llm_calls"] = int(calls[0])
    out["tokens"] = {"input": int(calls[1]), "output": int(calls[2])}
    out["cost_usd"] = round(float(calls[3]), 6)
    costs = cost_summary(ws)
    out["cost_by_role"] = costs["by_role"]
    out["cost_per_accepted_usd"] = costs["cost_per_accepted_usd"]
    out["schema_version"] = ws.schema_version
    return out
