"""SQL for benchmark-overlap flags and their clearances (tables `flags`, `flag_clearances`).

A flag says that one instance overlaps one benchmark item by one signal (`ngram` or `embedding`),
with a score in [0, 1]. An instance is *flagged* while it has a flag and no reviewer has cleared it
(view `flagged_instances`); flagged instances stay out of the default export. Clearances are kept
when `decontaminate` runs again: a reviewer's decision outlives a re-run.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.records import Clearance, Flag
from pipeline.store import Workspace, now

__all__ = [
    "clear_flag",
    "clearances_by_instance",
    "clearances_for",
    "flagged_instance_ids",
    "flags_by_instance",
    "flags_for",
    "replace_flags",
]

SIGNALS = ("ngram", "embedding")


def replace_flags(ws: Workspace, flags: Iterable[Flag]) -> int:
    """Replace every stored flag with `flags` in one transaction; return how many were stored.

    Clearances are left alone. Duplicate (instance, benchmark, item, signal) keep the last score.
    """
    rows = [(f.instance_id, f.benchmark, f.item_id, f.signal, float(f.score)) for f in flags]
    for row in rows:
        if row[3] not in SIGNALS:
            raise ValueError(f"unknown flag signal {row[3]!r} (known: {', '.join(SIGNALS)})")
    with ws.write() as db:
        db.execute("DELETE FROM flags")
        db.executemany(
            "INSERT OR REPLACE INTO flags(instance_id, benchmark, item_id, signal, score) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return int(db.execute("SELECT COUNT(*) FROM flags").fetchone()[0])


def flagged_instance_ids(ws: Workspace) -> list[str]:
    """Ids of instances with a flag that no reviewer has cleared, sorted."""
    return [
        str(r[0])
        for r in ws.db.execute("SELECT instance_id FROM flagged_instances ORDER BY instance_id")
    ]


_FLAG_SQL = "SELECT instance_id, benchmark, item_id, signal, score FROM flags"
_CLEARANCE_SQL = "SELECT id, instance_id, reviewer, reason, created_at FROM flag_clearances"


def flags_for(ws: Workspace, instance_id: str) -> list[Flag]:
    """The flags of one instance (cleared or not), highest score first."""
    order = "ORDER BY score DESC, benchmark, item_id, signal"
    return [
        Flag(*r)
        for r in ws.db.execute(f"{_FLAG_SQL} WHERE instance_id = ? {order}", (instance_id,))
    ]


def clearances_for(ws: Workspace, instance_id: str) -> list[Clearance]:
    """The clearances of one instance, oldest first."""
    sql = f"{_CLEARANCE_SQL} WHERE instance_id = ? ORDER BY id"
    return [Clearance(*r) for r in ws.db.execute(sql, (instance_id,))]


def clear_flag(ws: Workspace, instance_id: str, reviewer: str, reason: str) -> int:
    """Record that `reviewer` cleared the flags of `instance_id` because of `reason`.

    Returns the clearance id. Raises ValueError when the reviewer or reason is blank or the
    instance has no flag.
    """
    if not reviewer.strip():
        raise ValueError("clearing a flag needs a reviewer name")
    if not reason.strip():
        raise ValueError("clearing a flag needs a reason")
    with ws.write() as db:
        flag = db.execute("SELECT 1 FROM flags WHERE instance_id = ?", (instance_id,)).fetchone()
        if flag is None:
            raise ValueError(f"instance {instance_id} has no benchmark-overlap flag")
        cur = db.execute(
            "INSERT INTO flag_clearances(instance_id, reviewer, reason, created_at) "
            "VALUES (?, ?, ?, ?)",
            (instance_id, reviewer.strip(), reason.strip(), now()),
        )
        return int(cur.lastrowid or 0)


def flags_by_instance(ws: Workspace) -> dict[str, list[Flag]]:
    """Every flag grouped by instance id; each list in (benchmark, item, signal) order."""
    out: dict[str, list[Flag]] = {}
    for r in ws.db.execute(f"{_FLAG_SQL} ORDER BY instance_id, benchmark, item_id, signal"):
        out.setdefault(str(r[0]), []).append(Flag(*r))
    return out


def clearances_by_instance(ws: Workspace) -> dict[str, list[Clearance]]:
    """Every clearance grouped by instance id, oldest first."""
    out: dict[str, list[Clearance]] = {}
    for r in ws.db.execute(f"{_CLEARANCE_SQL} ORDER BY id"):
        out.setdefault(str(r[1]), []).append(Clearance(*r))
    return out
