"""SQL for `llm_calls` (the content-addressed call cache and resume log) and `batches`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.records import CallRow, Verdict
from pipeline.store import Workspace, chunks, now

_CALL_COLUMNS = (
    "key, provider, base_url, model, role, request, response, stop_reason, status, error, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, batch_id"
)


def get_calls(ws: Workspace, keys: Iterable[str]) -> dict[str, CallRow]:
    """Stored calls by key (keys not stored are absent)."""
    out: dict[str, CallRow] = {}
    for chunk, marks in chunks(keys):
        for r in ws.db.execute(
            f"SELECT {_CALL_COLUMNS} FROM llm_calls WHERE key IN ({marks})", chunk
        ):
            out[r["key"]] = CallRow(**{k: r[k] for k in r.keys()})  # noqa: SIM118
    return out


def record_call(ws: Workspace, row: CallRow) -> None:
    """Insert or overwrite a call (joins the caller's write transaction, if any)."""
    with ws.write() as db:
        _record_call(db, row)


def _record_call(db: sqlite3.Connection, row: CallRow) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO llm_calls({_CALL_COLUMNS}, created_at) "
        f"VALUES ({','.join('?' * 17)})",
        (
            row.key, row.provider, row.base_url, row.model, row.role, row.request, row.response,
            row.stop_reason, row.status, row.error, row.input_tokens, row.output_tokens,
            row.cache_read_tokens, row.cache_write_tokens, row.cost_usd, row.batch_id, now(),
        ),
    )  # fmt: skip


def open_batches(ws: Workspace, provider: str, role: str) -> dict[str, dict[str, str]]:
    """Batches of this provider and role still open (not collected, lost, expired, canceled or
    abandoned): id -> {custom id: cache key}."""
    rows = ws.db.execute(
        "SELECT id, custom_ids FROM batches WHERE provider = ? AND role = ? "
        "AND status IN ('in_progress', 'ended') ORDER BY created_at",
        (provider, role),
    ).fetchall()
    return {str(r["id"]): dict(json.loads(r["custom_ids"])) for r in rows}


def add_batch(
    ws: Workspace,
    batch_id: str,
    provider: str,
    role: str,
    custom_ids: Mapping[str, str],
    pending: Iterable[CallRow],
) -> None:
    """Record a submitted batch and its calls as pending, in one transaction.

    A call already answered (status ok) is left as it is.
    """
    with ws.write() as db:
        db.execute(
            "INSERT OR REPLACE INTO batches(id, provider, role, status, custom_ids, created_at) "
            "VALUES (?, ?, ?, 'in_progress', ?, ?)",
            (batch_id, provider, role, json.dumps(dict(custom_ids), sort_keys=True), now()),
        )
        for row in pending:
            exists = db.execute(
                "SELECT 1 FROM llm_calls WHERE key = ? AND status = 'ok'", (row.key,)
            ).fetchone()
            if exists is None:
                _record_call(db, row)


def set_batch_status(ws: Workspace, batch_id: str, status: str) -> None:
    """Mark a batch `in_progress`, `ended` or `collected`."""
    with ws.write() as db:
        db.execute("UPDATE batches SET status = ? WHERE id = ?", (status, batch_id))


def batch_base_url(ws: Workspace, batch_id: str) -> str:
    """The base URL a batch was sent to (its calls record it), "" when none of them is stored."""
    row = ws.db.execute(
        "SELECT base_url FROM llm_calls WHERE batch_id = ? LIMIT 1", (batch_id,)
    ).fetchone()
    return str(row[0]) if row is not None else ""


def drop_batch(ws: Workspace, batch_id: str, status: str) -> int:
    """Mark a batch that will give no (more) results `status` (lost | expired | canceled |
    abandoned) and put its calls still pending back in the queue (pending, in no batch), in one
    transaction. Returns how many calls went back."""
    note = f"batch {batch_id} {status} before answering; submitted again by the next run"
    with ws.write() as db:
        db.execute("UPDATE batches SET status = ? WHERE id = ?", (status, batch_id))
        cur = db.execute(
            "UPDATE llm_calls SET batch_id = NULL, error = ? "
            "WHERE batch_id = ? AND status = 'pending'",
            (note, batch_id),
        )
        return int(cur.rowcount)


def cost_summary(ws: Workspace) -> dict[str, Any]:
    """Tokens and cost per role, and per accepted instance (its generation and judge calls).

    Returns {"by_role": {role: {calls, input_tokens, output_tokens, cost_usd}},
    "accepted": n, "accepted_cost_usd": total, "cost_per_accepted_usd": mean (0 when none)}.
    """
    by_role: dict[str, dict[str, Any]] = {}
    for r in ws.db.execute(
        "SELECT role, COUNT(*), SUM(input_tokens + cache_read_tokens + cache_write_tokens), "
        "SUM(output_tokens), SUM(cost_usd) FROM llm_calls WHERE status = 'ok' GROUP BY role"
    ):
        by_role[str(r[0])] = {
            "calls": int(r[1]),
            "input_tokens": int(r[2] or 0),
            "output_tokens": int(r[3] or 0),
            "cost_usd": round(float(r[4] or 0.0), 6),
        }
    row = ws.db.execute(
        "SELECT COUNT(*), COALESCE(SUM(COALESCE(g.cost_usd, 0) + COALESCE(j.cost_usd, 0)), 0) "
        "FROM final_verdicts f JOIN instances i ON i.id = f.instance_id "
        "LEFT JOIN judge_results jr ON jr.instance_id = i.id "
        "LEFT JOIN llm_calls g ON g.key = i.call_key "
        "LEFT JOIN llm_calls j ON j.key = jr.call_key "
        "WHERE f.verdict = ?",
        (Verdict.ACCEPT,),
    ).fetchone()
    accepted, total = int(row[0]), float(row[1])
    return {
        "by_role": by_role,
        "accepted": accepted,
        "accepted_cost_usd": round(total, 6),
        "cost_per_accepted_usd": round(total / accepted, 6) if accepted else 0.0,
    }
