"""SQL for the map page: labels and verdicts per sample, and the instances of selected samples."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.records import Instance, InstanceStatus, SampleLabel
from pipeline.store import Workspace, chunks

__all__ = ["instance_ids_of_samples", "instances_of_samples", "sample_labels", "sample_verdicts"]


def sample_labels(ws: Workspace) -> dict[str, SampleLabel]:
    """{sample id: SampleLabel} for every kept sample. Changes only when a stage runs."""
    first: dict[str, str] = {}
    for sid, task in ws.db.execute(
        "SELECT sample_id, task FROM instances WHERE status = ? ORDER BY created_at DESC, id DESC",
        (InstanceStatus.OK,),
    ):
        first[sid] = task  # later rows are older: the oldest one wins
    return {
        sid: SampleLabel(name, language, first.get(sid))
        for sid, name, language in ws.db.execute(
            "SELECT id, func_name, language FROM samples WHERE dropped_by IS NULL"
        )
    }


def sample_verdicts(ws: Workspace) -> dict[str, str]:
    """{sample id: final verdict of its first generated instance} for samples that have one.
    Changes with every review."""
    out: dict[str, str] = {}
    for sid, verdict in ws.db.execute(
        "SELECT i.sample_id, f.verdict FROM instances i "
        "JOIN final_verdicts f ON f.instance_id = i.id ORDER BY i.created_at DESC, i.id DESC"
    ):
        if verdict is not None:
            out[sid] = verdict
        else:
            out.pop(sid, None)
    return out


def instances_of_samples(ws: Workspace, sample_ids: Iterable[str]) -> list[Instance]:
    """Every instance (any status) of the given samples, with its final verdict when it has one."""
    out: list[Instance] = []
    for chunk, marks in chunks(sample_ids):
        for r in ws.db.execute(
            "SELECT i.id, i.sample_id, i.task, i.status, f.verdict, f.verdict_source, "
            "i.instruction FROM instances i "
            "LEFT JOIN final_verdicts f ON f.instance_id = i.id "
            f"WHERE i.sample_id IN ({marks}) ORDER BY i.created_at, i.id",
            chunk,
        ):
            out.append(
                Instance(
                    id=r[0],
                    sample_id=r[1],
                    task=r[2],
                    status=r[3],
                    verdict=r[4],
                    verdict_source=r[5],
                    instruction=r[6],
                )
            )
    return out


def instance_ids_of_samples(ws: Workspace, sample_ids: Iterable[str]) -> list[str]:
    """Ids of the generated (status ok) instances of the given samples, in ingestion order."""
    found: list[tuple[int, str]] = []
    for chunk, marks in chunks(sample_ids):
        found += [
            (int(r[0]), r[1])
            for r in ws.db.execute(
                "SELECT s.seq, i.id FROM instances i JOIN samples s ON s.id = i.sample_id "
                f"WHERE i.status = ? AND i.sample_id IN ({marks})",
                [InstanceStatus.OK, *chunk],
            )
        ]
    return [iid for _, iid in sorted(found)]
