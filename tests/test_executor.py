"""Executors without a cluster: the local executor, the LLM-call adapter, the verify adapter's
sandbox uid. (The Ray executor itself: tests/test_ray.py.)"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pipeline.executor import ExecutorError, LocalExecutor, make_executor
from pipeline.executor.workers import ExecutorProvider
from pipeline.llm.base import Answer, BatchJournal, NoJournal, ProviderStop, Request
from pipeline.llm.offline.generator import OfflineGenerator

ROOT = Path(__file__).resolve().parent.parent


def test_local_executor_maps_in_order_and_builds_once() -> None:
    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        return lambda xs: [x + 1 for x in xs]

    out = list(LocalExecutor().map_batches(factory, list(range(7)), batch_size=3))
    assert out == [([0, 1, 2], [1, 2, 3]), ([3, 4, 5], [4, 5, 6]), ([6], [7])]
    assert built == [1]
    assert list(LocalExecutor().map_batches(factory, [], batch_size=3)) == []
    assert built == [1]  # nothing to do: the worker (a model, a client) is never built
    with pytest.raises(ExecutorError, match="2 results for 3 items"):
        list(LocalExecutor().map_batches(lambda: lambda xs: xs[:2], [1, 2, 3], batch_size=3))
    with pytest.raises(ValueError, match="executor must be one of local, ray"):
        make_executor("dask")


class _Stopping:
    """A provider that answers two calls, then stops (a spend limit, bad credentials)."""

    name, base_url, settings = "stopping", "", {"v": 1}

    def answer(self, calls: Mapping[str, Request], journal: BatchJournal) -> Iterator[Any]:
        for n, key in enumerate(calls):
            if n == 2:
                raise ProviderStop("spend limit reached")
            yield key, Answer(text=f"answer {key}")


def test_executor_provider_answers_as_the_provider_and_stops_cleanly() -> None:
    inner = OfflineGenerator(seed=3)
    wrapped = ExecutorProvider(inner, functools.partial(OfflineGenerator, seed=3), LocalExecutor())
    # the same name, server and settings: the same cache keys, so the same instances
    assert (wrapped.name, wrapped.base_url, dict(wrapped.settings)) == (
        inner.name, inner.base_url, dict(inner.settings),
    )  # fmt: skip

    stopping = ExecutorProvider(_Stopping(), _Stopping, LocalExecutor(), batch_size=5)
    requests = {f"k{i}": Request("generator", "m", "v1", "", f"call {i}", {}) for i in range(5)}
    got: list[str] = []
    with pytest.raises(ProviderStop, match="spend limit"):
        for key, answer in stopping.answer(requests, NoJournal()):
            got.append(key)
            assert answer.text == f"answer {key}"
    assert got == ["k0", "k1"]  # finished calls are handed over before the stop


def test_two_processes_claim_different_sandbox_uids(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("sandbox uids are only dropped to by root callers")
    code = (
        "import sys, time; from pipeline.executor.workers import claim_uid_slot; "
        "print(claim_uid_slot(), flush=True); time.sleep(3)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    slots = [int(p.stdout.readline()) for p in procs if p.stdout is not None]
    for p in procs:
        p.wait(timeout=60)
    assert len(set(slots)) == 2 and all(500 <= s <= 999 for s in slots)
    from pipeline.executor import workers
    from pipeline.verify import sandbox

    counter = sandbox._uid_counter
    try:
        mine = workers.claim_uid_slot()
        assert mine is not None and sandbox._next_uid() == sandbox._next_uid() == 420000 + mine
    finally:  # give this test session its counter and the slot back
        sandbox._uid_counter = counter
        for fd in workers._HELD:
            os.close(fd)
        workers._HELD.clear()
