"""The Anthropic provider: the Messages API (or any server that speaks it) through the SDK.

- JSON-schema structured output (`output_config.format`), the schema also described in the prompt;
- the stable prefix (the system text: task, criteria, few-shot examples) marked for prompt caching;
- no sampling parameters, no assistant prefill, no forced tool choice (newer models reject them);
- bounded concurrency (a thread pool over the synchronous client);
- retries with exponential backoff that honour `retry-after` / `retry-after-ms` (the SDK's own
  retries are turned off so the policy is ours and testable);
- a spend-limit or credential error stops the run cleanly (`SpendLimitError`, `ProviderStop`);
- `batch=True`: the Message Batches API (half price). Batch ids are journaled before polling, so a
  crashed run resumes the same batches; results are matched by custom id (the cache key). Every
  open batch is looked at before anything new is submitted, so a batch is never submitted while
  an earlier live one covers the same calls. A batch the server does not know (404), or that
  ended with expired or canceled requests, is marked so and its unanswered calls go back in the
  queue; the run that finds it at the start submits them again, once. A batch sent to another
  base URL stops the run before any spending; `abandon` gives batches up (cancelled on their
  server, best effort).
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, cast

import anthropic

from pipeline.llm.base import (
    Answer,
    BatchJournal,
    ProviderStop,
    Request,
    SpendLimitError,
)

_GONE = object()  # what a batch call returns when the server does not know the batch (404)
_UNANSWERED = ("expired", "canceled")  # batch result types that go back in the queue
_SPEND = re.compile(r"credit balance|spend(ing)? limit|usage limit|billing", re.IGNORECASE)
_RETRY_STATUS = {408, 409, 429}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` (seconds or an
    HTTP date); None when absent or unreadable."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def is_spend_limit(error: anthropic.APIStatusError) -> bool:
    """Whether an API error says no more money may be spent (billing, credit, usage limits)."""
    if error.status_code == 402 or error.type == "billing_error":
        return True
    message = error.api_message or str(error)
    return error.status_code in (400, 403) and bool(_SPEND.search(message))


def message_answer(message: Any, batch_id: str | None = None, retries: int = 0) -> Answer:
    """An `Answer` from a Messages API message (SDK object)."""
    text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
    usage = message.usage
    return Answer(
        text=text,
        stop_reason=str(message.stop_reason or ""),
        input_tokens=int(usage.input_tokens or 0),
        output_tokens=int(usage.output_tokens or 0),
        cache_read_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        cache_write_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
        batch_id=batch_id,
        retries=retries,
    )


class AnthropicProvider:
    """Calls the Messages API through `client` (an `anthropic.Anthropic`, built by the CLI)."""

    name = "anthropic"

    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        concurrency: int = 16,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        structured_output: bool = True,
        batch: bool = False,
        poll_s: float = 30.0,
        batch_max_requests: int = 10_000,
        abandon: Collection[str] = (),
    ) -> None:
        self.client = client.with_options(max_retries=0)
        self.base_url = str(client.base_url).rstrip("/")
        self.settings: Mapping[str, Any] = {"structured_output": structured_output}
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.structured_output = structured_output
        self.batch = batch
        self.poll_s = poll_s
        self.batch_max_requests = batch_max_requests
        self.abandon = frozenset(abandon)  # batch ids to give up, or "all"
        self._stop = threading.Event()

    # -- the request ----------------------------------------------------------------------------
    def params(self, request: Request) -> dict[str, Any]:
        """The Messages API parameters of `request` (no sampling parameters, no prefill)."""
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": [
                {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": "user", "content": request.user}],
        }
        if self.structured_output:
            params["output_config"] = {
                "format": {"type": "json_schema", "schema": dict(request.schema)}
            }
        return params

    # -- retries --------------------------------------------------------------------------------
    def _delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        asked = retry_after(headers) if headers is not None else None
        if asked is not None:
            return min(asked, self.max_backoff_s)
        return float(min(self.backoff_s * 2**attempt, self.max_backoff_s))

    def _retrying(self, action: Any, what: str) -> tuple[Any, str, int]:
        """Run `action()` with retries: (result, "", retries) or (None, error, retries).

        Raises `SpendLimitError` / `ProviderStop` for errors no retry can fix. Returns
        (None, "", n) when the run is stopping.
        """
        attempt = 0
        while True:
            if self._stop.is_set():
                return None, "", attempt
            headers: Mapping[str, str] | None = None
            try:
                return action(), "", attempt
            except anthropic.APIStatusError as e:
                if is_spend_limit(e):
                    self._stop.set()
                    raise SpendLimitError(f"{what}: spend limit: {e.api_message or e}") from e
                if e.status_code in (401, 403):
                    self._stop.set()
                    raise ProviderStop(f"{what}: HTTP {e.status_code}: {e.api_message or e}") from e
                should = e.response.headers.get("x-should-retry")
                retryable = e.status_code in _RETRY_STATUS or e.status_code >= 500
                if should is not None:
                    retryable = should == "true"
                error = f"HTTP {e.status_code} {e.type or ''}: {e.api_message or e}".strip()
                headers = e.response.headers
            except anthropic.APIConnectionError as e:  # includes timeouts
                retryable, error = True, f"connection error: {e}"
            except anthropic.AnthropicError as e:  # e.g. a response that is not a message
                return None, f"{type(e).__name__}: {e}", attempt
            if not retryable or attempt >= self.max_retries:
                return None, error, attempt
            if self._stop.wait(self._delay(attempt, headers)):
                return None, "", attempt
            attempt += 1

    def _call(self, request: Request) -> Answer | None:
        params = self.params(request)
        message, error, retries = self._retrying(
            lambda: self.client.messages.create(**params), "messages.create"
        )
        if message is not None and not hasattr(message, "content"):
            # a proxy or a misconfigured server: the SDK hands back the body it could not parse
            shown = " ".join(str(message).split())[:200]
            return Answer(error=f"the server's answer is not a message: {shown}", retries=retries)
        if message is not None:
            return message_answer(message, retries=retries)
        if not error:  # stopping: not an answer, not recorded; a later run makes the call
            return None
        return Answer(error=error, retries=retries)

    # -- the provider method --------------------------------------------------------------------
    def answer(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        """Make the calls (concurrently, or as batches); yield answers as they finish."""
        self._stop.clear()
        if self.batch:
            yield from self._batches(calls, journal)
            return
        open_batches = self._abandon(journal)
        covered = {key for ids in open_batches.values() for key in ids.values()} & set(calls)
        stop: BaseException | None = None
        # calls in an open batch are not made again (that would pay twice); stopped on at the end
        todo = iter((k, r) for k, r in calls.items() if k not in covered)
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="anthropic")
        pending: dict[Future[Answer | None], str] = {}
        try:
            while True:
                while (
                    stop is None and not self._stop.is_set() and len(pending) < 2 * self.concurrency
                ):
                    item = next(todo, None)
                    if item is None:
                        break
                    pending[pool.submit(self._call, item[1])] = item[0]
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key = pending.pop(future)
                    try:
                        result = future.result()
                    except ProviderStop as e:
                        stop = stop or e
                        continue
                    if result is not None:
                        yield key, result
            if stop is not None:
                raise stop
            if covered:
                raise ProviderStop(
                    f"{len(covered)} calls are in open batches ({', '.join(sorted(open_batches))})"
                    ": run with --batch to collect them, or give a batch up with --abandon-batch ID"
                )
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    # -- batches --------------------------------------------------------------------------------
    def _abandon(self, journal: BatchJournal) -> dict[str, dict[str, str]]:
        """The open batches after giving up those in `abandon` (cancelled on their own server,
        best effort: a failure to cancel is not an error)."""
        open_batches = journal.open_batches()
        for batch_id in list(open_batches):
            if batch_id not in self.abandon and "all" not in self.abandon:
                continue
            if journal.batch_server(batch_id) in ("", self.base_url):
                with contextlib.suppress(anthropic.AnthropicError):
                    self.client.messages.batches.cancel(batch_id)
            journal.batch_dropped(batch_id, "abandoned")
            del open_batches[batch_id]
        return open_batches

    def _batch_call(self, action: Any, what: str, batch_id: str) -> Any:
        """`action()` with retries; `_GONE` when the server does not know the batch (404).
        Raises `ProviderStop` when it fails otherwise."""

        def call() -> Any:
            try:
                return action()
            except anthropic.NotFoundError:
                return _GONE

        result, error, _ = self._retrying(call, what)
        if result is None:
            raise ProviderStop(
                f"could not reach batch {batch_id} ({what}): {error or 'stopped'}; run again to "
                f"resume, or give it up with --abandon-batch {batch_id}"
            )
        return result

    def _retrieve(self, batch_id: str, journal: BatchJournal) -> Any:
        """The batch `batch_id` as the server has it now; `_GONE` (recorded in the journal as
        lost) when the server does not know it."""
        batch = self._batch_call(
            lambda: self.client.messages.batches.retrieve(batch_id), "batches.retrieve", batch_id
        )
        if batch is _GONE:
            journal.batch_dropped(batch_id, "lost")
        return batch

    def _collect(
        self, batch_id: str, keys: Mapping[str, str], journal: BatchJournal, answered: set[str]
    ) -> Iterator[tuple[str, Answer]]:
        """Yield the answers of an ended batch; mark it collected, or expired / canceled / lost
        (its unanswered calls back in the queue). Returns through `answered` the keys yielded."""
        results = self._batch_call(
            lambda: list(self.client.messages.batches.results(batch_id)),
            "batches.results",
            batch_id,
        )
        if results is _GONE:
            journal.batch_dropped(batch_id, "lost")
            return
        unanswered: set[str] = set()
        for item in results:
            key = keys.get(item.custom_id)
            if key is None:
                continue
            if item.result.type in _UNANSWERED:
                unanswered.add(item.result.type)
                continue
            answered.add(key)
            yield key, self._batch_answer(item.result, batch_id)
        if unanswered:
            journal.batch_dropped(batch_id, "canceled" if "canceled" in unanswered else "expired")
        else:
            journal.batch_collected(batch_id)

    def _batches(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        open_batches = self._abandon(journal)
        elsewhere = {b: journal.batch_server(b) for b in open_batches}
        elsewhere = {b: url for b, url in elsewhere.items() if url and url != self.base_url}
        if elsewhere:
            batch_id, url = next(iter(elsewhere.items()))
            raise ProviderStop(
                f"batch {batch_id} was sent to {url} and is not collected; this run uses "
                f"{self.base_url}: run with that base URL to collect it, or give it up with "
                f"--abandon-batch {batch_id}"
            )
        # look at every open batch before submitting anything: collect the ended ones, drop
        # the ones the server no longer knows, keep the live ones (their calls are covered)
        answered: set[str] = set()
        for batch_id in list(open_batches):
            batch = self._retrieve(batch_id, journal)
            if batch is _GONE:
                del open_batches[batch_id]
            elif batch.processing_status == "ended":
                yield from self._collect(batch_id, open_batches.pop(batch_id), journal, answered)
        in_flight = {key for ids in open_batches.values() for key in ids.values()}
        todo = [key for key in calls if key not in in_flight and key not in answered]
        for start in range(0, len(todo), self.batch_max_requests):
            chunk = todo[start : start + self.batch_max_requests]
            requests = [{"custom_id": key, "params": self.params(calls[key])} for key in chunk]
            batch, error, _ = self._retrying(
                lambda r=requests: self.client.messages.batches.create(requests=cast(Any, r)),
                "batches.create",
            )
            if batch is None:
                raise ProviderStop(f"could not create a message batch: {error or 'stopped'}")
            custom_ids = {key: key for key in chunk}
            journal.batch_created(batch.id, custom_ids)
            open_batches[batch.id] = custom_ids
        dropped: list[str] = []
        while open_batches:
            for batch_id in list(open_batches):
                batch = self._retrieve(batch_id, journal)
                if batch is _GONE:
                    keys = open_batches.pop(batch_id)
                    dropped.append(batch_id)
                    continue
                if batch.processing_status != "ended":
                    continue
                keys = open_batches.pop(batch_id)
                before = len(answered)
                yield from self._collect(batch_id, keys, journal, answered)
                if len(answered) - before < len(keys):
                    dropped.append(batch_id)
            if open_batches and self._stop.wait(self.poll_s):
                return
        if dropped:
            # submitted again by the next run, never twice by this one
            raise ProviderStop(
                f"batch {', '.join(dropped)} ended without answering every call (lost, expired "
                "or canceled); those calls are pending again: run again to submit them"
            )

    @staticmethod
    def _batch_answer(result: Any, batch_id: str) -> Answer:
        if result.type == "succeeded":
            return message_answer(result.message, batch_id=batch_id)
        detail = ""
        error = getattr(result, "error", None)
        if error is not None:
            inner = getattr(error, "error", error)
            detail = f": {getattr(inner, 'type', '')} {getattr(inner, 'message', '')}".rstrip()
        return Answer(error=f"batch request {result.type}{detail}", batch_id=batch_id)
