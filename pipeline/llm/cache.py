"""The content-addressed call cache, which is also the resume log.

Every call a stage makes goes through `run_calls`: a request whose key already has an answer in
`llm_calls` is served from there (no call); the others go to the provider, and each answer is
written, with the stage's own rows (`on_result`), in one transaction as soon as it arrives. Killed
at any point, a stage started again repeats no call that finished.

The key hashes the provider (name, base URL, settings), the model, the prompt template version,
the system and user text, the answer schema, the context fields and max_tokens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.llm.base import (
    Answer,
    Provider,
    ProviderStop,
    Request,
    SpendLimitError,
    canonical_json,
)
from pipeline.llm.cost import call_cost
from pipeline.records import CallRow
from pipeline.store import Workspace
from pipeline.store.llm import (
    add_batch,
    batch_base_url,
    drop_batch,
    get_calls,
    open_batches,
    record_call,
)
from pipeline.store.llm import set_batch_status as _set_batch_status


def call_key(provider: Provider, request: Request) -> str:
    """The cache key of `request` sent to `provider`: 64 hex digits (also a valid batch id)."""
    payload = {
        "provider": provider.name,
        "base_url": provider.base_url,
        "settings": dict(provider.settings),
        **request.to_json(),
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CallResult:
    """An answer handed to the stage: from the cache or fresh, with its key and cost."""

    key: str
    answer: Answer
    cached: bool
    cost_usd: float


@dataclass
class CallStats:
    """What a stage's calls cost: summed into the stage's `runs` row."""

    calls: int = 0
    cache_hits: int = 0
    call_errors: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, answer: Answer, cost: float) -> None:
        self.calls += 1
        self.call_errors += 0 if answer.ok else 1
        self.retries += answer.retries
        self.input_tokens += answer.input_tokens
        self.output_tokens += answer.output_tokens
        self.cache_read_tokens += answer.cache_read_tokens
        self.cache_write_tokens += answer.cache_write_tokens
        self.cost_usd += cost

    def as_counts(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost_usd"] = round(self.cost_usd, 6)
        return out


# the `Answer` fields a call row stores under the same names (the text is its `response`)
_STORED_ANSWER = (
    "stop_reason", "error", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens",
)  # fmt: skip


def answer_from_row(row: CallRow) -> Answer:
    """The stored answer of a call."""
    stored = {name: getattr(row, name) for name in _STORED_ANSWER}
    return Answer(text=row.response or "", batch_id=row.batch_id, **stored)


def plan_calls(
    ws: Workspace, provider: Provider, requests: Sequence[Request], refresh: Collection[int] = ()
) -> tuple[list[str], dict[str, CallRow], dict[str, Request]]:
    """(key per request, answered calls by key, calls still to make by key)."""
    keys = [call_key(provider, r) for r in requests]
    stored = {k: row for k, row in get_calls(ws, keys).items() if row.status == "ok"}
    todo: dict[str, Request] = {}
    for i, (key, request) in enumerate(zip(keys, requests, strict=True)):
        if key not in stored or i in refresh:
            todo[key] = request
    return keys, stored, todo


class WorkspaceJournal:
    """The `BatchJournal` of a run: batches and their pending calls live in the workspace."""

    def __init__(self, ws: Workspace, provider: Provider, role: str, calls: Mapping[str, Request]):
        self.ws, self.provider, self.role, self.calls = ws, provider, role, calls

    def open_batches(self) -> dict[str, dict[str, str]]:
        return open_batches(self.ws, self.provider.name, self.role)

    def batch_created(self, batch_id: str, custom_ids: Mapping[str, str]) -> None:
        rows = [
            _row(self.provider, key, self.calls[key], Answer(), 0.0, "pending", batch_id)
            for key in custom_ids.values()
            if key in self.calls
        ]
        add_batch(self.ws, batch_id, self.provider.name, self.role, custom_ids, rows)

    def batch_collected(self, batch_id: str) -> None:
        _set_batch_status(self.ws, batch_id, "collected")

    def batch_server(self, batch_id: str) -> str:
        return batch_base_url(self.ws, batch_id)

    def batch_dropped(self, batch_id: str, status: str) -> None:
        drop_batch(self.ws, batch_id, status)


def run_calls(
    ws: Workspace,
    provider: Provider,
    requests: Sequence[Request],
    on_result: Callable[[int, CallResult], None],
    *,
    prices: Mapping[str, Mapping[str, float]],
    refresh: Collection[int] = (),
    spend_limit_usd: float = 0.0,
    progress: Callable[[int], object] | None = None,
    stats: CallStats | None = None,
    breaker_errors: int = 0,
) -> CallStats:
    """Answer every request, from the cache or the provider, and hand each to `on_result`.

    `on_result(index, result)` runs inside the write transaction that records the call, so the
    stage's rows and the cache never disagree. Requests whose index is in `refresh` are called
    again even when cached (retrying failures). Raises `SpendLimitError` once this run's new calls
    reach `spend_limit_usd` (0: no limit) and `ProviderStop` from the provider, in both cases
    after recording everything that finished. Pass `stats` to read the tallies after a stop.
    `breaker_errors` (0: off): raise `ProviderStop` once that many fresh calls failed in a row
    (a dead server or a bad base URL is found after a few calls, not after the whole queue).
    """
    stats = stats if stats is not None else CallStats()
    if not requests:
        return stats
    keys, stored, todo = plan_calls(ws, provider, requests, refresh)
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)

    with ws.write():
        for i, key in enumerate(keys):
            if key in todo:
                continue
            row = stored[key]
            on_result(i, CallResult(key, answer_from_row(row), True, row.cost_usd))
            stats.cache_hits += 1
    if progress and stats.cache_hits:
        progress(stats.cache_hits)

    journal = WorkspaceJournal(ws, provider, requests[0].role, todo)
    answers = provider.answer(todo, journal)
    in_a_row = 0
    try:
        for key, answer in answers:
            request = todo.get(key)
            if request is None:  # a result from an earlier run's batch: keep it in the cache
                _store_orphan(ws, key, answer, prices)
                continue
            batch = answer.batch_id is not None
            cost = _answer_cost(request.model, prices, answer, batch=batch)
            status = "ok" if answer.ok else "error"
            with ws.write():
                record_call(ws, _row(provider, key, request, answer, cost, status, answer.batch_id))
                for i in by_key.get(key, []):
                    on_result(i, CallResult(key, answer, False, cost))
            stats.add(answer, cost)
            if progress:
                progress(len(by_key.get(key, [])))
            in_a_row = 0 if answer.ok else in_a_row + 1
            if breaker_errors > 0 and in_a_row >= breaker_errors:
                raise ProviderStop(
                    f"the last {in_a_row} calls failed in a row (llm.breaker_errors = "
                    f"{breaker_errors}); last error: {answer.error}"
                )
            if spend_limit_usd > 0 and stats.cost_usd >= spend_limit_usd:
                raise SpendLimitError(
                    f"spend limit reached: ${stats.cost_usd:.4f} spent in this run "
                    f"(llm.spend_limit_usd = {spend_limit_usd})"
                )
    finally:
        close = getattr(answers, "close", None)
        if close is not None:
            close()
    return stats


def _row(
    provider: Provider,
    key: str,
    request: Request,
    answer: Answer,
    cost: float,
    status: str,
    batch_id: str | None,
) -> CallRow:
    return CallRow(
        key=key,
        provider=provider.name,
        base_url=provider.base_url,
        model=request.model,
        role=request.role,
        request=json.dumps(request.to_json(), sort_keys=True, ensure_ascii=False),
        response=answer.text if status != "pending" else None,
        status=status,
        cost_usd=cost,
        batch_id=batch_id,
        **{name: getattr(answer, name) for name in _STORED_ANSWER},
    )


def _store_orphan(
    ws: Workspace, key: str, answer: Answer, prices: Mapping[str, Mapping[str, float]]
) -> None:
    """Record the answer of a call left pending by an earlier run (if its row is still pending)."""
    row = get_calls(ws, [key]).get(key)
    if row is None or row.status != "pending":
        return
    cost = _answer_cost(row.model, prices, answer, batch=True)
    updated = CallRow(
        **{
            **asdict(row),
            "response": answer.text,
            "stop_reason": answer.stop_reason,
            "status": "ok" if answer.ok else "error",
            "error": answer.error,
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "cache_read_tokens": answer.cache_read_tokens,
            "cache_write_tokens": answer.cache_write_tokens,
            "cost_usd": cost,
        }
    )
    record_call(ws, updated)


def _answer_cost(
    model: str, prices: Mapping[str, Mapping[str, float]], answer: Answer, *, batch: bool
) -> float:
    """USD for one answered call, from the usage the provider reported."""
    return call_cost(
        model,
        prices,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        cache_read_tokens=answer.cache_read_tokens,
        cache_write_tokens=answer.cache_write_tokens,
        batch=batch,
    )
