"""Executors: where a stage's per-item work runs, on this machine or on a Ray cluster.

One interface, `Executor.map_batches(factory, items, batch_size=..., workers=...)`: `factory()`
builds the work function once per worker (a worker loads its embedding model, or keeps its
sandbox, or opens its LLM client once) and the function maps a list of items to a list of results
of the same length. `map_batches` yields `(indices, results)` per batch as batches finish (not in
input order), so the caller writes each batch through the workspace at once and a killed run
resumes from what was written, exactly as the local path does.

- `LocalExecutor`: one worker in this process, batches in order.
- `RayExecutor`: a Ray Data `map_batches` over an actor pool of `workers` actors (one `factory()`
  per actor), on the cluster at `RAY_ADDRESS` or on a local one started on first use. Items and
  results travel pickled; `factory` must be picklable (a module-level function or a
  `functools.partial` of one) and the `pipeline` package is shipped to the workers with the job's
  `runtime_env`, so every node needs only the dependencies installed.

Whenever wavecurate starts or joins a cluster it sets `RAY_USAGE_STATS_ENABLED=0` unless the
user set that variable. This package imports nothing from the rest of `pipeline` (layer 1): the
work functions live with their stages (`pipeline.executor.workers`).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "EXECUTORS",
    "BatchFn",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "RayExecutor",
    "connect_ray",
    "make_executor",
]

EXECUTORS = ("local", "ray")

BatchFn = Callable[[list[Any]], list[Any]]


class ExecutorError(RuntimeError):
    """The executor cannot run: Ray is not installed, or the cluster cannot be reached."""


class Executor(Protocol):
    """Runs a work function over items in batches; see the module docstring."""

    name: str

    def map_batches(
        self,
        factory: Callable[[], BatchFn],
        items: Sequence[Any],
        *,
        batch_size: int,
        workers: int = 1,
        num_gpus: float = 0.0,
    ) -> Iterator[tuple[list[int], list[Any]]]:
        """Yield `(indices into items, results)` per batch; every index exactly once."""
        ...


class LocalExecutor:
    """Every batch in this process, in order, with one `factory()` built on the first batch."""

    name = "local"

    def map_batches(
        self,
        factory: Callable[[], BatchFn],
        items: Sequence[Any],
        *,
        batch_size: int,
        workers: int = 1,
        num_gpus: float = 0.0,
    ) -> Iterator[tuple[list[int], list[Any]]]:
        fn: BatchFn | None = None
        for start in range(0, len(items), max(1, batch_size)):
            if fn is None:
                fn = factory()
            idx = list(range(start, min(start + batch_size, len(items))))
            out = fn([items[i] for i in idx])
            _check_length(len(idx), out)
            yield idx, out


def _check_length(n: int, out: list[Any]) -> None:
    if len(out) != n:
        raise ExecutorError(f"a work function returned {len(out)} results for {n} items")


def connect_ray(address: str | None = None) -> Any:
    """The `ray` module, connected: to `address`, else `RAY_ADDRESS`, else a new local cluster.

    Sets `RAY_USAGE_STATS_ENABLED=0` first unless the user set it. Raises `ExecutorError` when Ray
    is not installed (`pip install "wavecurate[ray]"`).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as e:
        raise ExecutorError(
            'the ray executor needs Ray: pip install -e ".[ray]" (or "wavecurate[ray]")'
        ) from e
    if not ray.is_initialized():
        import pipeline

        target = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(
            address=target,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            runtime_env={"py_modules": [str(Path(pipeline.__file__).parent)]},
        )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


class _Worker:
    """A Ray actor: builds the work function once, then maps pickled batches."""

    def __init__(self, factory_blob: bytes) -> None:
        import cloudpickle

        self.fn: BatchFn = cloudpickle.loads(factory_blob)()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        items = [pickle.loads(b) for b in batch["blob"]]
        out = self.fn(items)
        _check_length(len(items), out)
        blobs = np.empty(len(out), dtype=object)
        blobs[:] = [pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL) for o in out]
        return {"i": np.asarray(batch["i"]), "blob": blobs}


class RayExecutor:
    """Ray Data `map_batches` over an actor pool; see the module docstring.

    `address`: the cluster (None: `RAY_ADDRESS`, else a local cluster). `num_cpus`: CPUs each
    actor reserves.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: float = 1.0) -> None:
        self.address = address
        self.num_cpus = num_cpus

    def map_batches(
        self,
        factory: Callable[[], BatchFn],
        items: Sequence[Any],
        *,
        batch_size: int,
        workers: int = 1,
        num_gpus: float = 0.0,
    ) -> Iterator[tuple[list[int], list[Any]]]:
        if not items:
            return
        ray = connect_ray(self.address)
        import cloudpickle
        import pyarrow as pa

        size = max(1, batch_size)
        blocks = []
        for start in range(0, len(items), size):  # one block per batch: batches spread out
            idx = list(range(start, min(start + size, len(items))))
            blobs = [pickle.dumps(items[i], protocol=pickle.HIGHEST_PROTOCOL) for i in idx]
            blocks.append(pa.table({"i": pa.array(idx, pa.int64()), "blob": pa.array(blobs)}))
        ds = ray.data.from_arrow(blocks).map_batches(
            _Worker,
            fn_constructor_args=(cloudpickle.dumps(factory),),
            batch_size=None,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=max(1, min(workers, len(blocks)))),
            num_cpus=self.num_cpus,
            num_gpus=num_gpus,
        )
        seen = 0
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            idx = [int(i) for i in batch["i"]]
            seen += len(idx)
            yield idx, [pickle.loads(b) for b in batch["blob"]]
        if seen != len(items):
            raise ExecutorError(f"the cluster returned {seen} results for {len(items)} items")


def make_executor(name: str, address: str | None = None) -> Executor:
    """The executor called `name` (see EXECUTORS). Raises ValueError for another name."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
