"""The work functions executors run: embedding, verification, LLM calls (layer 4).

Each `*_worker(settings)` is a factory for `Executor.map_batches`: called once per worker, it
builds what the worker keeps (the embedding model; nothing for verify, since every verification
starts its own sandboxed process; the LLM client) and returns the batch function. They are
module-level functions so `functools.partial` of them pickles by reference to the cluster.

- `embed_worker(cfg)`: texts -> float32 vectors, exactly `pipeline.embedding.encode` (one model
  per worker).
- `verify_on(executor, jobs, config, workers=...)`: `(job, verdict)` per job, through
  `pipeline.verify.differential.verify_instance`, one sandbox at a time per worker.
- `ExecutorProvider`: a `Provider` whose calls run on the executor's workers, each with its own
  provider built by a factory; it answers under the wrapped provider's name, base URL and
  settings, so cache keys (and so instances) are those of the local run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pipeline.config import EmbedConfig, VerifyConfig
from pipeline.executor import BatchFn, Executor
from pipeline.llm.base import Answer, BatchJournal, NoJournal, Provider, ProviderStop, Request
from pipeline.verify.differential import verify_instance
from pipeline.verify.model import ExecJob, ExecutionVerdict

__all__ = [
    "ExecutorProvider",
    "claim_uid_slot",
    "embed_worker",
    "provider_worker",
    "verify_on",
    "verify_worker",
]


def embed_worker(cfg: EmbedConfig) -> BatchFn:
    """Load `cfg`'s model once; the batch function embeds a list of texts (rows as arrays)."""
    from pipeline.embedding import encode, load_model

    model = load_model(cfg)

    def fn(texts: list[Any]) -> list[Any]:
        return list(encode(model, [str(t) for t in texts], batch_size=cfg.batch_size))

    return fn


_HELD: list[int] = []  # the lock file of this process's sandbox uid slot, held until exit


def claim_uid_slot(first: int = 500, last: int = 999) -> int | None:
    """Give this process's sandboxes one uid of their own on this machine: the first slot in
    `first..last` whose lock file no other process holds (an exclusive `flock`, released when
    the process exits), so two workers on one node never run code under the same uid. Only for
    root callers (others get no uid of their own); None when every slot is taken or not root."""
    import fcntl
    import itertools

    from pipeline.verify import sandbox

    if _HELD:
        return int(next(sandbox._uid_counter))
    if os.geteuid() != 0:
        return None
    for slot in range(first, last + 1):
        path = f"/tmp/wavecurate-sandbox-uid-{slot}.lock"
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _HELD.append(fd)
        sandbox._uid_counter = itertools.count(slot, 0)  # _next_uid: _UID_BASE + slot, always
        return slot
    return None


def verify_worker(config: VerifyConfig) -> BatchFn:
    """The batch function verifies each job in turn (one sandbox at a time in this worker,
    under a uid no other worker on the machine uses: `claim_uid_slot`)."""
    claim_uid_slot()

    def fn(jobs: list[Any]) -> list[Any]:
        return [verify_instance(job, config) for job in jobs]

    return fn


def verify_on(
    executor: Executor,
    jobs: Sequence[ExecJob],
    config: VerifyConfig | None = None,
    *,
    workers: int = 2,
    batch_size: int = 8,
) -> Iterator[tuple[ExecJob, ExecutionVerdict]]:
    """Verify `jobs` on `executor`'s workers; yield `(job, verdict)` per job as batches finish
    (like `verify_many`, not in input order), so the caller stores each batch at once."""
    factory = functools.partial(verify_worker, config or VerifyConfig())
    for idx, verdicts in executor.map_batches(
        factory, jobs, batch_size=batch_size, workers=workers
    ):
        for i, verdict in zip(idx, verdicts, strict=True):
            yield jobs[i], verdict


def provider_worker(factory: Callable[[], Provider]) -> BatchFn:
    """Build the worker's provider once; the batch function answers `(key, request)` pairs as
    `("ok", key, answer)`, or `("stop", key, why)` for calls a `ProviderStop` cut off."""
    provider = factory()

    def fn(items: list[Any]) -> list[Any]:
        calls: dict[str, Request] = dict(items)
        got: dict[str, Answer] = {}
        why = ""
        try:
            for key, answer in provider.answer(calls, NoJournal()):
                got[key] = answer
        except ProviderStop as e:
            why = str(e) or type(e).__name__
        return [("ok", k, got[k]) if k in got else ("stop", k, why) for k, _ in items]

    return fn


class ExecutorProvider:
    """A `Provider` that sends its calls to `executor`'s workers in batches of `batch_size`,
    `workers` at once; each worker answers with its own `factory()` provider (so the calls in
    flight are at most `workers` times that provider's concurrency). Batch-API calls are not
    distributed: build the plain provider for those."""

    def __init__(
        self,
        inner: Provider,
        factory: Callable[[], Provider],
        executor: Executor,
        *,
        workers: int = 2,
        batch_size: int = 64,
    ) -> None:
        self.name = inner.name
        self.base_url = inner.base_url
        self.settings: Mapping[str, Any] = inner.settings
        self._factory = factory
        self._executor = executor
        self._workers = workers
        self._batch_size = batch_size

    def answer(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        """Yield `(key, answer)` per finished call; raise `ProviderStop` (after yielding every
        finished call) when a worker's provider stopped."""
        items = list(calls.items())
        stopped = ""
        for _idx, results in self._executor.map_batches(
            functools.partial(provider_worker, self._factory), items,
            batch_size=self._batch_size, workers=self._workers,
        ):  # fmt: skip
            for status, key, value in results:
                if status == "ok":
                    yield key, value
                else:
                    stopped = stopped or value
        if stopped:
            raise ProviderStop(stopped)
