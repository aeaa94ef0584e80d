"""SQL for the `executions` table: one execution verdict per instance (the verify stage), what it
reads to build its jobs, and the counts `status` and the Overview show."""

from __future__ import annotations

import json
from typing import Any

from pipeline.records import EXEC_VERDICTS, Execution, InstanceStatus, StoredSample
from pipeline.store import Workspace, now
from pipeline.store.samples import get_samples

__all__ = [
    "execution_counts",
    "execution_counts_by_task",
    "execution_for",
    "execution_hashes",
    "execution_verdicts",
    "executions_by_instance",
    "save_execution",
    "verify_candidates",
]

_COLUMNS = (
    "instance_id, verdict, detail, inputs, agreed, failing_input, expected, got, mechanism, "
    "seconds, config_hash, created_at"
)


def save_execution(ws: Workspace, e: Execution) -> None:
    """Store (or replace) the verdict of one instance, in its own transaction: a run killed
    after this returns keeps it. `created_at` is set now when empty."""
    with ws.write() as db:
        db.execute(
            f"INSERT OR REPLACE INTO executions({_COLUMNS}) VALUES ({','.join('?' * 12)})",
            (
                e.instance_id, e.verdict, e.detail, json.dumps(list(e.inputs)), e.agreed,
                e.failing_input, e.expected, e.got, e.mechanism, e.seconds, e.config_hash,
                e.created_at or now(),
            ),
        )  # fmt: skip


def _row(r: Any) -> Execution:
    return Execution(
        instance_id=str(r["instance_id"]),
        verdict=str(r["verdict"]),
        detail=str(r["detail"]),
        inputs=tuple(str(i) for i in json.loads(r["inputs"] or "[]")),
        agreed=int(r["agreed"]),
        failing_input=r["failing_input"],
        expected=r["expected"],
        got=r["got"],
        mechanism=str(r["mechanism"]),
        seconds=float(r["seconds"]),
        config_hash=str(r["config_hash"]),
        created_at=str(r["created_at"]),
    )


def execution_for(ws: Workspace, instance_id: str) -> Execution | None:
    """The stored execution verdict of one instance (what the Review page shows: the verdict,
    the detail, the inputs tried, the failing input with expected vs got), or None."""
    r = ws.db.execute(
        f"SELECT {_COLUMNS} FROM executions WHERE instance_id = ?", (instance_id,)
    ).fetchone()
    return None if r is None else _row(r)


def executions_by_instance(ws: Workspace) -> dict[str, Execution]:
    """{instance id: its execution verdict} for every verified instance."""
    return {
        str(r["instance_id"]): _row(r) for r in ws.db.execute(f"SELECT {_COLUMNS} FROM executions")
    }


def execution_hashes(ws: Workspace) -> dict[str, str]:
    """{instance id: the settings hash its stored verdict was decided under}."""
    return {
        str(r[0]): str(r[1])
        for r in ws.db.execute("SELECT instance_id, config_hash FROM executions")
    }


def execution_verdicts(ws: Workspace) -> dict[str, str]:
    """{instance id: pass | fail | inconclusive | not_applicable} for every verified instance."""
    return {
        str(r[0]): str(r[1]) for r in ws.db.execute("SELECT instance_id, verdict FROM executions")
    }


def execution_counts(ws: Workspace) -> dict[str, int]:
    """{pass, fail, inconclusive, not_applicable: n} over generated instances (status ok); every
    key present."""
    out = dict.fromkeys(EXEC_VERDICTS, 0)
    for verdict, n in ws.db.execute(
        "SELECT x.verdict, COUNT(*) FROM executions x JOIN instances i ON i.id = x.instance_id "
        "WHERE i.status = ? GROUP BY x.verdict",
        (InstanceStatus.OK,),
    ):
        out[str(verdict)] = int(n)
    return out


def execution_counts_by_task(ws: Workspace) -> dict[str, dict[str, int]]:
    """{task: {pass, fail, inconclusive, not_applicable: n}} over generated instances, tasks
    sorted; only tasks with a verified instance appear."""
    out: dict[str, dict[str, int]] = {}
    for task, verdict, n in ws.db.execute(
        "SELECT i.task, x.verdict, COUNT(*) FROM executions x "
        "JOIN instances i ON i.id = x.instance_id WHERE i.status = ? "
        "GROUP BY i.task, x.verdict ORDER BY i.task",
        (InstanceStatus.OK,),
    ):
        out.setdefault(str(task), dict.fromkeys(EXEC_VERDICTS, 0))[str(verdict)] = int(n)
    return out


def verify_candidates(ws: Workspace) -> list[tuple[dict[str, str], StoredSample]]:
    """Every generated instance (status ok) with its sample, in instance id order: ({id, task,
    target_language, input, output}, sample). Instances whose sample is gone are left out."""
    rows = [
        {k: str(r[k]) for k in ("id", "sample_id", "task", "target_language", "input", "output")}
        for r in ws.db.execute(
            "SELECT id, sample_id, task, target_language, input, output FROM instances "
            "WHERE status = ? ORDER BY id",
            (InstanceStatus.OK,),
        )
    ]
    samples = get_samples(ws, {r["sample_id"] for r in rows})
    return [(r, samples[r["sample_id"]]) for r in rows if r["sample_id"] in samples]
