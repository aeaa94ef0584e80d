"""The embed stage: one L2-normalised float32 vector per kept sample, cached by model and text.

A text is embedded once per model key: the `embeddings` table maps (model key, sha256 of the text)
to a row of `embeddings/<model_key>.npy`. A second run embeds nothing; 100 new samples embed 100;
a new model or pooling (a new model key) embeds everything again into its own file. Work is saved
in chunks, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from pipeline.config import EmbedConfig
from pipeline.embedding import encode, model_key
from pipeline.progress import Progress, no_progress
from pipeline.store import Workspace
from pipeline.store.samples import StoredSample, iter_samples
from pipeline.store.vectors import (
    append_vectors,
    drop_rows_from,
    insert_embedding_rows,
    lookup_rows,
    open_vectors,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "TEXT_MODES",
    "EmbedResult",
    "EmbeddingsMissing",
    "embed_samples",
    "kept_texts",
    "load_kept_embeddings",
    "sample_text",
    "text_hash",
]

TEXT_MODES = ("code", "code_nodoc", "docstring+code")
CHUNK_ROWS = 2048  # texts embedded between saves: the most an interruption loses


class EmbeddingsMissing(RuntimeError):
    """Kept samples have no embedding for the current `[embed]` settings."""


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


def sample_text(sample: StoredSample, mode: str) -> str:
    """The text embedded for `sample` under `embed.text` = `mode` (see TEXT_MODES)."""
    if mode == "code":
        return sample.code
    if mode == "code_nodoc":
        return sample.code_nodoc
    if mode == "docstring+code":
        return (
            f"{sample.docstring}\n\n{sample.code_nodoc}" if sample.docstring else sample.code_nodoc
        )
    raise ValueError(f"embed.text must be one of {', '.join(TEXT_MODES)}, got {mode!r}")


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 hex of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def kept_texts(ws: Workspace, mode: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(sample ids, text hash per sample, {hash: text}) for the kept samples, in kept_ids order."""
    ids: list[str] = []
    hashes: list[str] = []
    texts: dict[str, str] = {}
    for s in iter_samples(ws, kept_only=True):
        text = sample_text(s, mode)
        h = text_hash(text)
        ids.append(s.id)
        hashes.append(h)
        texts.setdefault(h, text)
    return ids, hashes, texts


def embed_samples(
    ws: Workspace,
    model: SentenceTransformer | Callable[[], SentenceTransformer],
    *,
    cfg: EmbedConfig | None = None,
    progress: Progress = no_progress,
) -> EmbedResult:
    """Embed every kept sample whose text has no vector yet under `cfg`'s model key.

    `model` is `load_model(cfg)` or a function returning it, called only when there is
    something to embed (so a run with nothing to do never loads the model).
    `cfg` defaults to the workspace's `[embed]`. Sets the `embedded` metric ({"model_key",
    "count"}) and records a `runs` row; a run whose kept texts and settings are those of the
    last complete run records nothing and returns `current=True`. `progress` counts rows.
    """
    cfg = cfg or ws.config.embed
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
        encoder = _resolve_model(model) if todo else None
        bar = progress(total=len(todo), unit="row", desc="embed")
        started = time.perf_counter()
        try:
            for start in range(0, len(todo), CHUNK_ROWS):
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


def _resolve_model(
    model: SentenceTransformer | Callable[[], SentenceTransformer],
) -> SentenceTransformer:
    if hasattr(model, "encode"):  # a model is callable too: tell them apart by `encode`
        return cast("SentenceTransformer", model)
    return model()


def load_kept_embeddings(
    ws: Workspace, cfg: EmbedConfig | None = None
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """(kept sample ids in `kept_ids` order, their vectors (n, dim) float32, L2-normalised).

    The matrix is the memory-mapped file itself when the rows line up with the samples, else an
    in-memory copy of the rows they use. `cfg` defaults to the workspace's `[embed]`. Raises
    `EmbeddingsMissing` when a kept sample has no vector for `cfg` (run `wavecurate embed`).
    """
    cfg = cfg or ws.config.embed
    key = model_key(cfg)
    ids, hashes, _ = kept_texts(ws, cfg.text)
    if not ids:
        return ids, np.zeros((0, 0), dtype=np.float32)
    found = lookup_rows(ws, key, hashes)
    vectors = open_vectors(ws, key)
    missing = sum(1 for h in hashes if h not in found)
    if missing or vectors is None:
        raise EmbeddingsMissing(
            f"{missing or len(ids):,} of {len(ids):,} kept samples have no {key} embedding: "
            "run `wavecurate embed`"
        )
    rows = np.fromiter((found[h] for h in hashes), dtype=np.int64, count=len(hashes))
    if int(rows.max()) >= vectors.shape[0]:
        raise EmbeddingsMissing(
            f"{key}: the embedding file is shorter than its index: re-run embed"
        )
    if rows[0] == 0 and np.array_equal(rows, np.arange(len(rows))):
        return ids, vectors[: len(rows)]
    return ids, np.asarray(vectors[rows], dtype=np.float32)
