"""SQL for the `samples` table: ingestion, filtering and reads by stage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pipeline.records import Sample, StoredSample, normalised_hash
from pipeline.store import Workspace, chunks

_COLUMNS = (
    "id, source, language, repo, path, func_name, line, docstring, code, code_nodoc, url, "
    "partition, sha256, seq, imports"
)


def insert_samples(ws: Workspace, samples: Iterable[Sample], batch: int = 2000) -> int:
    """Insert samples not stored yet (by id); return how many were new. A stored sample without
    import lines takes those of the same sample ingested again."""
    added = 0
    with ws.write() as db:
        seq = int(db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM samples").fetchone()[0])
        rows: list[tuple[Any, ...]] = []

        def flush() -> None:
            nonlocal added
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO samples({_COLUMNS}) VALUES ({','.join('?' * 15)})", rows
            )
            added += db.total_changes - before
            # a sample stored by an older wavecurate (no import lines) gets them when ingested
            # again; its id does not depend on them
            db.executemany(
                "UPDATE samples SET imports = ? WHERE id = ? AND imports = ''",
                [(r[-1], r[0]) for r in rows if r[-1]],
            )
            rows.clear()

        for s in samples:
            rows.append(
                (
                    s.id, s.source, s.language, s.repo, s.path, s.func_name, s.line,
                    s.docstring, s.code, s.code_nodoc, s.url, s.partition,
                    normalised_hash(s.code), seq, s.imports,
                )
            )  # fmt: skip
            seq += 1
            if len(rows) >= batch:
                flush()
        if rows:
            flush()
    return added


def iter_samples(ws: Workspace, *, kept_only: bool = False) -> Iterator[StoredSample]:
    """All samples in ingestion order (or only those no filter rule dropped)."""
    where = "WHERE dropped_by IS NULL" if kept_only else ""
    cur = ws.db.execute(f"SELECT {_COLUMNS}, dropped_by FROM samples {where} ORDER BY seq")
    for r in cur:
        yield _row(r)


def get_samples(ws: Workspace, ids: Iterable[str]) -> dict[str, StoredSample]:
    """Samples by id (ids not found are absent from the result)."""
    out: dict[str, StoredSample] = {}
    for chunk, marks in chunks(ids):
        for r in ws.db.execute(
            f"SELECT {_COLUMNS}, dropped_by FROM samples WHERE id IN ({marks})", chunk
        ):
            out[r["id"]] = _row(r)
    return out


def kept_ids(ws: Workspace) -> list[str]:
    """Ids of kept samples in ingestion order: the row order of every per-sample array."""
    return [
        r[0] for r in ws.db.execute("SELECT id FROM samples WHERE dropped_by IS NULL ORDER BY seq")
    ]


def sample_extent(ws: Workspace) -> tuple[int, int]:
    """(number of samples, largest seq or -1): what says the set of samples changed."""
    r = ws.db.execute("SELECT COUNT(*), COALESCE(MAX(seq), -1) FROM samples").fetchone()
    return int(r[0]), int(r[1])


def stored_decisions(ws: Workspace) -> dict[str, str | None]:
    """{sample id: dropped_by} for every sample, as stored."""
    return {str(r[0]): r[1] for r in ws.db.execute("SELECT id, dropped_by FROM samples")}


def set_dropped(ws: Workspace, dropped: Mapping[str, str | None]) -> None:
    """Set each sample's `dropped_by` (None keeps it). Samples not named are left alone."""
    with ws.write() as db:
        db.executemany(
            "UPDATE samples SET dropped_by = ? WHERE id = ?",
            [(rule, sid) for sid, rule in dropped.items()],
        )


def count_samples(ws: Workspace) -> dict[str, Any]:
    """ingested, kept, dropped {rule: n}, by_source and by_language {name: kept n}."""
    db = ws.db
    ingested = int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    dropped = {
        r[0]: int(r[1])
        for r in db.execute(
            "SELECT dropped_by, COUNT(*) FROM samples WHERE dropped_by IS NOT NULL "
            "GROUP BY dropped_by ORDER BY dropped_by"
        )
    }
    by_source = {
        r[0]: int(r[1])
        for r in db.execute(
            "SELECT source, COUNT(*) FROM samples WHERE dropped_by IS NULL GROUP BY source ORDER BY source"
        )
    }
    by_language = {
        r[0]: int(r[1])
        for r in db.execute(
            "SELECT language, COUNT(*) FROM samples WHERE dropped_by IS NULL "
            "GROUP BY language ORDER BY language"
        )
    }
    return {
        "ingested": ingested,
        "kept": ingested - sum(dropped.values()),
        "dropped": dropped,
        "by_source": by_source,
        "by_language": by_language,
    }


def _row(r: Any) -> StoredSample:
    return StoredSample(**{k: r[k] for k in r.keys()})  # noqa: SIM118 - sqlite3.Row
