"""The provider interface: a request in, an answer (or a recorded error) out.

A `Provider` has one method, `answer`, which takes the calls still to make (cache key ->
`Request`) and yields `(key, Answer)` pairs as they finish, in any order. The cache layer
(`pipeline.llm.cache`) decides which calls are needed and records every answer; the stages build
requests and parse answers. Providers never touch the workspace except through the
`BatchJournal` they are handed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# what each provider is, in words a reader of a page or a dataset card needs
PROVIDER_KINDS: dict[str, str] = {
    "offline": "offline, rule-based: not an LLM",
    "anthropic": "an LLM (Anthropic API)",
}


def provider_kind(provider: str) -> str:
    """What `provider` is, in words (`offline, rule-based: not an LLM`); unknown names say so."""
    return PROVIDER_KINDS.get(provider, f"unknown provider `{provider}`")


@dataclass(frozen=True, slots=True)
class Request:
    """One call to a model.

    `system` is the stable prefix (task definition, few-shot examples): providers that cache
    prompts mark it for caching. `user` is the one user message. `schema` is the JSON schema of the
    answer. `context` holds the structured fields the prompt was rendered from (the offline
    provider works from them instead of the prose). `params` are the sampling-free parameters
    (max_tokens). All of it is part of the cache key.
    """

    role: str  # generator | judge
    model: str
    template_version: str
    system: str
    user: str
    schema: Mapping[str, Any]
    context: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int = 2048

    def to_json(self) -> dict[str, Any]:
        """The request as stored in `llm_calls.request`."""
        return {
            "role": self.role,
            "model": self.model,
            "template_version": self.template_version,
            "system": self.system,
            "messages": [{"role": "user", "content": self.user}],
            "schema": dict(self.schema),
            "context": dict(self.context),
            "max_tokens": self.max_tokens,
        }

    def rendered(self) -> str:
        """The prompt as one text (kept on the instance as its raw prompt)."""
        return f"[system]\n{self.system}\n\n[user]\n{self.user}"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a provider returned for one request.

    `error` non-empty means no answer came back (HTTP error after retries, batch item errored or
    expired). `stop_reason` is the model's (`end_turn`, `max_tokens`, `refusal`...) or `skipped`
    when the provider declined the request honestly (the reason in `error`).
    """

    text: str = ""
    stop_reason: str = ""
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    batch_id: str | None = None
    retries: int = 0

    @property
    def ok(self) -> bool:
        """An answer came back (it may still be truncated, refused or unparseable)."""
        return not self.error or self.stop_reason == "skipped"


def skipped(reason: str) -> Answer:
    """The answer of a provider that cannot do a request honestly."""
    return Answer(stop_reason="skipped", error=reason)


class ProviderStop(RuntimeError):
    """The run must stop: no later call can succeed (bad key, permission)."""


class SpendLimitError(ProviderStop):
    """The provider or the configured limit says no more money may be spent."""


class BatchJournal(Protocol):
    """Where a batch-capable provider records batches, so a crash resumes the same batch."""

    def open_batches(self) -> dict[str, dict[str, str]]:
        """Batches submitted and not yet collected: batch id -> {custom id: cache key}."""
        ...

    def batch_created(self, batch_id: str, custom_ids: Mapping[str, str]) -> None:
        """Record a batch right after it was created, before any polling."""
        ...

    def batch_collected(self, batch_id: str) -> None:
        """Every result of the batch has been yielded and recorded."""
        ...

    def batch_server(self, batch_id: str) -> str:
        """The base URL the batch was sent to ("" when not known)."""
        ...

    def batch_dropped(self, batch_id: str, status: str) -> None:
        """The batch will give no (more) results: mark it `status` (lost: the server does not
        know it; expired; canceled; abandoned) and put its calls still pending back in the
        queue, so that the next run submits them again."""
        ...


class NoJournal:
    """A journal that remembers nothing (for providers that never batch, and for tests)."""

    def open_batches(self) -> dict[str, dict[str, str]]:
        return {}

    def batch_created(self, batch_id: str, custom_ids: Mapping[str, str]) -> None:
        return None

    def batch_collected(self, batch_id: str) -> None:
        return None

    def batch_server(self, batch_id: str) -> str:
        return ""

    def batch_dropped(self, batch_id: str, status: str) -> None:
        return None


class Provider(Protocol):
    """A model backend. `name`, `base_url` and `settings` are part of every cache key."""

    name: str
    base_url: str
    settings: Mapping[str, Any]

    def answer(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        """Make the calls; yield `(cache key, Answer)` as each finishes.

        Raises `ProviderStop` (after yielding what finished) when the run cannot go on.
        """
        ...


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the text that is hashed into keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
