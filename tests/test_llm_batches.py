"""Message Batches that go wrong, through the real SDK against the loopback fake and a real
workspace: a batch the server forgot (404), that expired or was cancelled is marked so, its
unanswered calls go back in the queue and are submitted again once; a live batch is never
submitted twice; a batch sent to another server stops the run before any spending;
`abandon` gives a batch up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fake_anthropic import FakeAnthropic

from pipeline.llm.anthropic import AnthropicProvider
from pipeline.llm.base import ProviderStop, Request
from pipeline.llm.cache import CallResult, WorkspaceJournal, call_key, run_calls
from pipeline.store import Workspace

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
N = 5


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def provider(fake: FakeAnthropic, **kwargs: Any) -> AnthropicProvider:
    client = anthropic.Anthropic(api_key="k", base_url=fake.url, max_retries=0, timeout=10)
    kwargs.setdefault("batch", True)
    return AnthropicProvider(client, backoff_s=0.01, max_retries=2, poll_s=0.01, **kwargs)


REQUESTS = [
    Request("judge", "claude-haiku-4-5", "v1", "You judge.", f"item {i}", SCHEMA, {}, 64)
    for i in range(N)
]


def run(ws: Workspace, p: AnthropicProvider) -> tuple[dict[int, CallResult], str]:
    """One run of every request: (results by index, the stop message or "")."""
    got: dict[int, CallResult] = {}
    try:
        run_calls(ws, p, REQUESTS, lambda i, r: got.__setitem__(i, r), prices={})
    except ProviderStop as e:
        return got, str(e)
    return got, ""


def in_background(ws_root: Path, p: AnthropicProvider) -> tuple[threading.Thread, list[str]]:
    """A run in a thread (its own connection); its stop message lands in the returned list."""
    out: list[str] = []

    def target() -> None:
        with Workspace(ws_root) as w:
            out.append(run(w, p)[1])

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def statuses(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.db.execute("SELECT status FROM batches ORDER BY created_at, rowid")]


def call_statuses(ws: Workspace) -> dict[str, int]:
    rows = ws.db.execute("SELECT status, COUNT(*) FROM llm_calls GROUP BY status")
    return {str(r[0]): int(r[1]) for r in rows}


@pytest.mark.parametrize(
    ("end", "status", "answered"),
    [
        (lambda f: f.forget(), "lost", 0),
        (lambda f: f.end_batch(how="expired", answered=2), "expired", 2),
        (lambda f: f.end_batch(how="canceled", answered=1), "canceled", 1),
    ],
    ids=["404", "expired", "canceled"],
)
def test_a_batch_that_ends_unanswered_goes_back_to_pending_and_is_resubmitted_once(
    ws: Workspace, fake: FakeAnthropic, end: Callable[[FakeAnthropic], None], status: str,
    answered: int,
) -> None:  # fmt: skip
    fake.batch_polls = 10**6  # live until the test ends it
    thread, out = in_background(ws.root, provider(fake))
    wait_for(lambda: any(p.startswith("GET /v1/messages/batches/") for p in fake.paths))
    end(fake)
    thread.join(30)
    assert out and "pending again: run again to submit them" in out[0]
    assert len(fake.batch_creates) == 1  # not resubmitted by the run that lost it
    assert statuses(ws) == [status]
    expected = {"ok": answered, "pending": N - answered} if answered else {"pending": N}
    assert call_statuses(ws) == expected
    assert ws.db.execute("SELECT COUNT(*) FROM llm_calls WHERE batch_id IS NULL").fetchone()[0] == (
        N - answered
    )

    fake.batch_polls = 0
    got, stop = run(ws, provider(fake))
    assert stop == ""
    # the unanswered calls, and only they, were submitted again, in one batch
    assert [len(b["requests"]) for b in fake.batch_creates] == [N, N - answered]
    assert statuses(ws) == [status, "collected"] and call_statuses(ws) == {"ok": N}
    assert len(got) == N and sum(r.cached for r in got.values()) == answered

    got, stop = run(ws, provider(fake))
    assert stop == "" and len(fake.batch_creates) == 2 and all(r.cached for r in got.values())


def _journal_batch(ws: Workspace, p: AnthropicProvider, batch_id: str) -> None:
    """Record `batch_id` as an open batch of every request sent through `p`, as a run that was
    killed while polling leaves it."""
    calls = {call_key(p, r): r for r in REQUESTS}
    WorkspaceJournal(ws, p, "judge", calls).batch_created(batch_id, {k: k for k in calls})


def test_a_batch_unknown_to_the_server_at_the_start_is_resubmitted_in_the_same_run(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    p = provider(fake)
    _journal_batch(ws, p, "msgbatch_forgotten")
    got, stop = run(ws, p)
    assert stop == "" and len(got) == N
    assert [p for p in fake.paths if "batches" in p][:2] == [
        "GET /v1/messages/batches/msgbatch_forgotten",  # looked at before anything is submitted
        "POST /v1/messages/batches",
    ]
    assert [len(b["requests"]) for b in fake.batch_creates] == [N]
    assert statuses(ws) == ["lost", "collected"]


def test_a_live_batch_is_never_submitted_twice(ws: Workspace, fake: FakeAnthropic) -> None:
    p = provider(fake)
    keys = [call_key(p, r) for r in REQUESTS]
    pairs = list(zip(keys, REQUESTS, strict=True))
    live = p.client.messages.batches.create(
        requests=[{"custom_id": k, "params": p.params(r)} for k, r in pairs]  # type: ignore[misc]
    )
    WorkspaceJournal(ws, p, "judge", dict(pairs)).batch_created(live.id, {k: k for k in keys})
    # a run without --batch makes no call that the batch covers, and says why
    got, stop = run(ws, provider(fake, batch=False))
    assert fake.requests == [] and got == {}
    assert f"{N} calls are in open batches ({live.id})" in stop
    # a batch run collects the live batch and submits nothing
    fake.batch_polls = 1
    got, stop = run(ws, p)
    assert stop == "" and len(got) == N and len(fake.batch_creates) == 1
    assert statuses(ws) == ["collected"]


def test_a_batch_sent_to_another_server_stops_before_any_spending_unless_abandoned(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    with FakeAnthropic() as other:
        old = provider(other)
        _journal_batch(ws, old, "msgbatch_elsewhere")
        got, stop = run(ws, provider(fake))
        assert got == {} and fake.paths == []  # nothing submitted, nothing polled
        assert stop == (
            f"batch msgbatch_elsewhere was sent to {other.url} and is not collected; this run "
            f"uses {fake.url}: run with that base URL to collect it, or give it up with "
            "--abandon-batch msgbatch_elsewhere"
        )
        got, stop = run(ws, provider(fake, abandon={"msgbatch_elsewhere"}))
        assert stop == "" and len(got) == N
        assert other.cancels == []  # a batch on another server is not cancelled from here
    assert statuses(ws) == ["abandoned", "collected"]
    assert [len(b["requests"]) for b in fake.batch_creates] == [N]


def test_abandon_all_cancels_a_live_batch_on_its_server_and_submits_again(
    ws: Workspace, fake: FakeAnthropic
) -> None:
    fake.batch_polls = 10**6
    p = provider(fake)
    thread, _ = in_background(ws.root, p)
    wait_for(lambda: any(p.startswith("GET /v1/messages/batches/") for p in fake.paths))
    p._stop.set()  # as Ctrl-C stops the run: the batch stays open in the journal
    thread.join(30)
    [old] = list(fake.batches)
    fake.batch_polls = 0
    got, stop = run(ws, provider(fake, abandon={"all"}))
    assert stop == "" and len(got) == N
    assert fake.cancels == [old] and len(fake.batch_creates) == 2
    assert statuses(ws) == ["abandoned", "collected"]
