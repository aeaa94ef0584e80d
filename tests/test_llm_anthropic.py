"""The Anthropic provider against a loopback server that speaks the Messages API, through the
real SDK (nothing patched): request shape, retries, stops, concurrency, batches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from fake_anthropic import FakeAnthropic, Reply, error_reply

from pipeline.config import LLMConfig
from pipeline.llm.anthropic import AnthropicProvider, retry_after
from pipeline.llm.base import Answer, NoJournal, Request, SpendLimitError

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def client(fake: FakeAnthropic, timeout: float = 10.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test-key", base_url=fake.url, max_retries=0, timeout=timeout
    )


def provider(fake: FakeAnthropic, **kwargs: Any) -> AnthropicProvider:
    kwargs.setdefault("backoff_s", 0.01)
    kwargs.setdefault("max_retries", 3)
    timeout = kwargs.pop("timeout", 10.0)
    return AnthropicProvider(client(fake, timeout), **kwargs)


def request(n: int = 0) -> Request:
    return Request("judge", "claude-haiku-4-5", "v1", "You judge.", f"item {n}", SCHEMA, {}, 256)


def answers(p: AnthropicProvider, n: int = 1) -> dict[str, Answer]:
    return dict(p.answer({f"k{i}": request(i) for i in range(n)}, NoJournal()))


def test_request_has_schema_cache_control_and_no_sampling_or_prefill(fake: FakeAnthropic) -> None:
    answers(provider(fake))
    [body] = fake.requests
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 256
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert body["system"] == [
        {"type": "text", "text": "You judge.", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["messages"] == [{"role": "user", "content": "item 0"}]  # no assistant prefill
    for forbidden in ("temperature", "top_p", "top_k", "tool_choice", "tools", "stop_sequences"):
        assert forbidden not in body


def test_structured_output_can_be_turned_off_for_local_servers(fake: FakeAnthropic) -> None:
    answers(provider(fake, structured_output=False))
    assert "output_config" not in fake.requests[0]


def test_429_waits_for_retry_after_then_succeeds(fake: FakeAnthropic) -> None:
    fake.script(error_reply(429, retry_after="0.3"))
    started = time.perf_counter()
    answer = answers(provider(fake, backoff_s=0.001))["k0"]
    assert time.perf_counter() - started >= 0.3  # the header, not the 1 ms backoff
    assert answer.ok and answer.retries == 1 and len(fake.requests) == 2


def test_retry_after_ms_and_http_dates() -> None:
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None


def test_overloaded_and_server_errors_are_retried(fake: FakeAnthropic) -> None:
    fake.script(error_reply(529), error_reply(500), error_reply(503))
    answer = answers(provider(fake))["k0"]
    assert answer.ok and answer.retries == 3


def test_retries_run_out_into_a_recorded_error(fake: FakeAnthropic) -> None:
    fake.script(*[error_reply(500, "boom")] * 4)
    answer = answers(provider(fake, max_retries=3))["k0"]
    assert not answer.ok and "HTTP 500" in answer.error and "boom" in answer.error
    assert answer.retries == 3 and len(fake.requests) == 4


def test_bad_request_is_not_retried(fake: FakeAnthropic) -> None:
    fake.script(error_reply(400, "max_tokens too large"))
    answer = answers(provider(fake))["k0"]
    assert "HTTP 400" in answer.error and len(fake.requests) == 1


def test_slow_answer_times_out_and_is_retried(fake: FakeAnthropic) -> None:
    fake.script(Reply(delay=1.0))
    answer = answers(provider(fake, timeout=0.3))["k0"]
    assert answer.ok and answer.retries == 1


def test_truncated_refused_and_garbage_answers_come_back_with_their_text(
    fake: FakeAnthropic,
) -> None:
    fake.script(
        Reply(text='{"a": "cut', stop_reason="max_tokens"),
        Reply(text="I won't.", stop_reason="refusal"),
        Reply(text="not json"),
    )
    got = answers(provider(fake, concurrency=1), 3)
    assert [(a.stop_reason, a.text) for a in got.values()] == [
        ("max_tokens", '{"a": "cut'),
        ("refusal", "I won't."),
        ("end_turn", "not json"),
    ]


def test_spend_limit_stops_cleanly_after_finished_calls(fake: FakeAnthropic) -> None:
    fake.script(Reply(), Reply(), error_reply(402, "Your credit balance is too low"))
    p = provider(fake, concurrency=1)
    got: list[str] = []
    with pytest.raises(SpendLimitError, match="credit balance"):
        for key, _answer in p.answer({f"k{i}": request(i) for i in range(10)}, NoJournal()):
            got.append(key)
    assert got == ["k0", "k1"]
    assert len(fake.requests) == 3  # nothing after the refusal to spend


def test_billing_message_on_400_counts_as_spend_limit(fake: FakeAnthropic) -> None:
    fake.script(error_reply(400, "You have reached your specified workspace API usage limits"))
    with pytest.raises(SpendLimitError):
        answers(provider(fake))


def test_concurrency_is_bounded_and_reached(fake: FakeAnthropic) -> None:
    fake.delay = 0.2
    got = answers(provider(fake, concurrency=4), 12)
    assert len(got) == 12 and all(a.ok for a in got.values())
    assert fake.max_in_flight == 4


def test_usage_and_prompt_cache_tokens_are_reported(fake: FakeAnthropic) -> None:
    long_system = Request("judge", "m", "v", "S" * 4000, "u", SCHEMA, {}, 10)
    p = provider(fake, concurrency=1)
    first = dict(p.answer({"a": long_system}, NoJournal()))["a"]
    second = dict(p.answer({"b": long_system}, NoJournal()))["b"]
    assert first.cache_write_tokens == 1000 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == 1000 and second.output_tokens > 0


def test_batches_are_journaled_polled_and_matched_by_custom_id(fake: FakeAnthropic) -> None:
    events: list[str] = []

    class Journal(NoJournal):
        def batch_created(self, batch_id: str, custom_ids: Any) -> None:
            events.append(f"created {batch_id} {len(custom_ids)} polls={len(fake.paths)}")

        def batch_collected(self, batch_id: str) -> None:
            events.append(f"collected {batch_id}")

    fake.batch_polls = 2
    p = provider(fake, batch=True, poll_s=0.01, batch_max_requests=3)
    calls = {f"{i:064x}": request(i) for i in range(5)}
    got = dict(p.answer(calls, Journal()))
    assert set(got) == set(calls)
    assert all(a.batch_id and a.ok for a in got.values())
    assert [len(b["requests"]) for b in fake.batch_creates] == [3, 2]
    assert fake.requests == []  # no single Messages call
    # each batch was journaled right after its creation, before any poll
    assert events[0].endswith("polls=1") and events[1].endswith("polls=2")
    assert sum(e.startswith("collected") for e in events) == 2


def test_local_server_needs_no_key() -> None:
    from pipeline.cli.llm import anthropic_client

    c = anthropic_client(LLMConfig(), env={"ANTHROPIC_BASE_URL": "http://127.0.0.1:1"})
    assert str(c.base_url).startswith("http://127.0.0.1:1")
    with pytest.raises(SystemExit, match="ANTHROPIC_API_KEY"):
        anthropic_client(LLMConfig(), env={})
    c = anthropic_client(
        LLMConfig(base_url="http://localhost:11434"), env={"ANTHROPIC_API_KEY": "k"}
    )
    assert str(c.base_url).startswith("http://localhost:11434")


def test_a_response_that_is_not_a_message_is_a_recorded_error(fake: FakeAnthropic) -> None:
    fake.script(Reply(raw=b"<html>bad gateway</html>", headers={"content-type": "text/html"}))
    answer = answers(provider(fake))["k0"]
    assert not answer.ok and "not a message: <html>bad gateway</html>" in answer.error
