"""The embed stage: one L2-normalised float32 vector per kept sample, cached by model and text.

A text is embedded once per model key: the `embeddings` table maps (model key, sha256 of the text)
to a row of `embeddings/<model_key>.npy`. A second run embeds nothing; 100 new samples embed 100;
a new model or pooling (a new model key) embeds everything again into its own file. Work is saved
in chunks, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from pipeline.config import EmbedConfig
from pipeline.embedding import encode, model_key
from pipeline.executor import Executor
from pipeline.progress import Progress, no_progress
from pipeline.store import Workspace
from pipeline.store.vectors import (
    TEXT_MODES,
    EmbeddingsMissing,
    KeptEmbeddings,
    append_vectors,
    drop_rows_from,
    insert_embedding_rows,
    kept_embeddings,
    kept_texts,
    lookup_rows,
    open_vectors,
    sample_text,
    text_hash,
)

if TYPE_CHECKING:
    from pipeline.embedding import Encoder

__all__ = [
    "TEXT_MODES",
    "EmbedResult",
    "EmbeddingsMissing",
    "KeptEmbeddings",
    "embed_samples",
    "kept_texts",
    "load_kept_embeddings",
    "sample_text",
    "text_hash",
]

CHUNK_ROWS = 2048  # texts embedded between saves: the most an interruption loses


@dataclass(frozen=True)
class EmbedResult:
    """What an embed run did: texts embedded now, kept samples already embedded (cache hits,
    counting samples that share a text), kept samples in all, the model key, seconds embedding."""

    embedded: int
    cached: int
    kept: int
    model_key: str
    seconds: float
    current: bool = False


def embed_samples(
    ws: Workspace,
    model: Encoder | Callable[[], Encoder],
    executor: Executor | None = None,
    *,
    cfg: EmbedConfig,
    progress: Progress = no_progress,
) -> EmbedResult:
    """Embed every kept sample whose text has no vector yet under `cfg`'s model key.

    `model` is `load_encoder(cfg)` or a function returning it, called only when there is
    something to embed (so a run with nothing to do never loads the model).
    Sets the `embedded` metric ({"model_key",
    "count"}) and records a `runs` row; a run whose kept texts and settings are those of the
    last complete run records nothing and returns `current=True`. `progress` counts rows.

    `executor` (default: this process) runs the encoding elsewhere: with a `RayExecutor`,
    `cfg.workers` actors each load `cfg`'s model once (`cfg.gpus_per_worker` GPUs each) and embed chunks of
    `CHUNK_ROWS` texts; each chunk is written here as it arrives, so the vectors and the resuming
    are those of the local path.
    """
    if cfg.text not in TEXT_MODES:
        raise ValueError(f"embed.text must be one of {', '.join(TEXT_MODES)}, got {cfg.text!r}")
    if cfg.batch_size < 1:
        raise ValueError(f"embed.batch_size must be positive, got {cfg.batch_size}")
    key = model_key(cfg)
    vectors = open_vectors(ws, key)
    forgotten = drop_rows_from(ws, key, 0 if vectors is None else int(vectors.shape[0]))
    ids, hashes, texts = kept_texts(ws, cfg.text)
    inputs = {"model_key": key, "texts": text_hash("\n".join(hashes))}
    with ws.stage("embed", cfg, inputs, force=bool(forgotten)) as run:
        if run.current:
            return EmbedResult(0, len(ids), len(ids), key, 0.0, current=True)
        have = lookup_rows(ws, key, texts)
        todo = [h for h in texts if h not in have]
        local = executor is None or executor.name == "local"
        encoder = _resolve_model(model) if todo and local else None
        bar = progress(total=len(todo), unit="row", desc="embed")
        started = time.perf_counter()
        try:
            if not local:
                from pipeline.executor.workers import embed_worker

                assert executor is not None
                done = 0
                for idx, rows in executor.map_batches(
                    functools.partial(embed_worker, cfg), [texts[h] for h in todo],
                    batch_size=CHUNK_ROWS, workers=cfg.workers, num_gpus=cfg.gpus_per_worker,
                ):  # fmt: skip
                    first = append_vectors(ws, key, np.stack(rows).astype(np.float32))
                    insert_embedding_rows(
                        ws, key, [(todo[i], first + j) for j, i in enumerate(idx)]
                    )
                    done += len(idx)
                    bar.update(len(idx))
                    run.counts["embedded"] = done
            for start in range(0, len(todo) if local else 0, CHUNK_ROWS):
                chunk = todo[start : start + CHUNK_ROWS]
                assert encoder is not None
                vecs = encode(
                    encoder, [texts[h] for h in chunk], batch_size=cfg.batch_size,
                    on_batch=bar.update,
                )  # fmt: skip
                first = append_vectors(ws, key, vecs)
                insert_embedding_rows(ws, key, [(h, first + i) for i, h in enumerate(chunk)])
                run.counts["embedded"] = start + len(chunk)
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        cached = sum(1 for h in hashes if h in have)
        run.counts.update(
            {"embedded": len(todo), "cached": cached, "kept": len(ids), "model_key": key}
        )
        if forgotten:
            run.counts["forgotten_rows"] = forgotten
    ws.set_metric("embedded", {"model_key": key, "count": len(ids)})
    return EmbedResult(len(todo), cached, len(ids), key, seconds)


def _resolve_model(model: Encoder | Callable[[], Encoder]) -> Encoder:
    if hasattr(model, "encode"):  # a model is callable too: tell them apart by `encode`
        return cast("Encoder", model)
    return model()


def load_kept_embeddings(ws: Workspace, cfg: EmbedConfig) -> KeptEmbeddings:
    """The kept samples' vectors under `cfg`'s model key (`pipeline.store.vectors.kept_embeddings`).

    Raises `EmbeddingsMissing` when a kept sample has no vector for `cfg` (run `wavecurate embed`).
    """
    return kept_embeddings(ws, model_key(cfg), cfg.text)
