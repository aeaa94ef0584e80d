"""Vectors in the workspace: embedding files, the text→row map, the coreset and the projection.

Embeddings live in `embeddings/<model_key>.npy`: one float32 `.npy` file per model key, L2-normalised
rows, read memory-mapped and grown in place by appending rows and rewriting the header (numpy leaves
room in the header for the row count to grow). The `embeddings` table maps (model key, text hash) to
a row, so a text is embedded once per model however many samples share it.

Crash safety: rows are appended and the header updated before the table learns about them, so the
table never points past the end of the file; rows a crash leaves unreferenced are only waste.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pipeline.records import StoredSample
from pipeline.store import Workspace
from pipeline.store.samples import iter_samples

__all__ = [
    "TEXT_MODES",
    "EmbeddingsMissing",
    "KeptEmbeddings",
    "append_vectors",
    "cached_encode",
    "coreset_model_key",
    "coreset_rows",
    "count_embedding_rows",
    "count_projection",
    "drop_rows_from",
    "insert_embedding_rows",
    "kept_embeddings",
    "kept_texts",
    "lookup_rows",
    "open_vectors",
    "projection_model_key",
    "projection_rows",
    "replace_coreset",
    "replace_projection",
    "sample_text",
    "text_hash",
    "vectors_path",
]

_CHUNK = 500  # ids per `IN (...)` query, well under SQLite's variable limit
TEXT_MODES = ("code", "code_nodoc", "docstring+code")


class EmbeddingsMissing(RuntimeError):
    """Kept samples have no embedding for the current `[embed]` settings."""


@dataclass(frozen=True)
class KeptEmbeddings:
    """The kept samples' vectors under one model key: what select and project read.

    `ids`: kept sample ids in `kept_ids` order; `vectors`: (n, dim) float32, L2-normalised, row i
    for ids[i] (the memory-mapped file itself when its rows line up, else an in-memory copy);
    `model_key` and `text` (the `embed.text` mode) say which embedding this is.
    """

    ids: list[str]
    vectors: npt.NDArray[np.float32]
    model_key: str
    text: str

    def digest(self) -> str:
        """sha256 hex of the ids in order: the input select and project hash."""
        return hashlib.sha256("\n".join(self.ids).encode()).hexdigest()[:16]


# -- the text of a sample --------------------------------------------------------------------
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


def kept_embeddings(ws: Workspace, model_key: str, text: str) -> KeptEmbeddings:
    """The kept samples' vectors under `model_key` for text mode `text` (see `KeptEmbeddings`).

    Raises `EmbeddingsMissing` when a kept sample has no vector (run `wavecurate embed`).
    """
    ids, hashes, _ = kept_texts(ws, text)
    if not ids:
        return KeptEmbeddings(ids, np.zeros((0, 0), dtype=np.float32), model_key, text)
    found = lookup_rows(ws, model_key, hashes)
    vectors = open_vectors(ws, model_key)
    missing = sum(1 for h in hashes if h not in found)
    if missing or vectors is None:
        raise EmbeddingsMissing(
            f"{missing or len(ids):,} of {len(ids):,} kept samples have no {model_key} "
            "embedding: run `wavecurate embed`"
        )
    rows = np.fromiter((found[h] for h in hashes), dtype=np.int64, count=len(hashes))
    if int(rows.max()) >= vectors.shape[0]:
        raise EmbeddingsMissing(
            f"{model_key}: the embedding file is shorter than its index: re-run embed"
        )
    if rows[0] == 0 and np.array_equal(rows, np.arange(len(rows))):
        return KeptEmbeddings(ids, vectors[: len(rows)], model_key, text)
    return KeptEmbeddings(ids, np.asarray(vectors[rows], dtype=np.float32), model_key, text)


# -- embedding files -------------------------------------------------------------------------
def vectors_path(ws: Workspace, model_key: str) -> Path:
    """`embeddings/<model_key>.npy` inside the workspace."""
    return ws.embeddings_dir / f"{model_key}.npy"


def open_vectors(ws: Workspace, model_key: str) -> np.memmap | None:
    """The model's embedding file as a read-only memmap of shape (rows, dim), or None if absent."""
    path = vectors_path(ws, model_key)
    if not path.exists():
        return None
    arr = np.load(path, mmap_mode="r")
    assert isinstance(arr, np.memmap)
    return arr


def _read_header(fp: object) -> tuple[tuple[int, ...], int]:
    """(shape, data offset) of an open `.npy` file positioned at its start."""
    fmt = np.lib.format
    version = fmt.read_magic(fp)  # type: ignore[arg-type]
    if version == (1, 0):
        shape, _, _ = fmt.read_array_header_1_0(fp)  # type: ignore[arg-type]
    else:
        shape, _, _ = fmt.read_array_header_2_0(fp)  # type: ignore[arg-type]
    return tuple(int(s) for s in shape), int(fp.tell())  # type: ignore[attr-defined]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock beside `path` (POSIX), so two embed runs never interleave."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: single-writer by convention
        yield
        return
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append_vectors(ws: Workspace, model_key: str, vectors: npt.NDArray[np.float32]) -> int:
    """Append `vectors` (m, dim) float32 to the model's file; return the row of the first one."""
    vecs = np.ascontiguousarray(vectors, dtype="<f4")
    if vecs.ndim != 2:
        raise ValueError(f"vectors must be 2-D (rows, dim), got shape {vecs.shape}")
    path = vectors_path(ws, model_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fp:
                np.save(fp, vecs)
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, path)
            return 0
        with open(path, "r+b") as fp:
            (n, dim), offset = _read_header(fp)
            if dim != vecs.shape[1]:
                raise ValueError(f"{path}: holds {dim}-d vectors, cannot append {vecs.shape[1]}-d")
            end = offset + n * dim * 4
            fp.seek(end)
            fp.write(vecs.tobytes())
            fp.truncate()
            fp.flush()
            os.fsync(fp.fileno())
            fp.seek(0)
            header = {"descr": "<f4", "fortran_order": False, "shape": (n + len(vecs), dim)}
            np.lib.format.write_array_header_1_0(fp, header)
            if fp.tell() != offset:  # pragma: no cover - numpy pads headers for growth
                raise RuntimeError(f"{path}: the .npy header changed size; cannot grow in place")
            fp.flush()
            os.fsync(fp.fileno())
        return n


# -- the text -> row map -----------------------------------------------------------------------
def lookup_rows(ws: Workspace, model_key: str, text_hashes: Iterable[str]) -> dict[str, int]:
    """{text hash: row} for the hashes embedded under `model_key` (others are absent)."""
    hashes = list(dict.fromkeys(text_hashes))
    out: dict[str, int] = {}
    for i in range(0, len(hashes), _CHUNK):
        chunk = hashes[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in ws.db.execute(
            f"SELECT text_hash, row FROM embeddings WHERE model_key = ? AND text_hash IN ({marks})",
            [model_key, *chunk],
        ):
            out[str(r[0])] = int(r[1])
    return out


def insert_embedding_rows(ws: Workspace, model_key: str, rows: Sequence[tuple[str, int]]) -> None:
    """Record (text hash, row) pairs for `model_key`; a hash already present keeps its row."""
    with ws.write() as db:
        db.executemany(
            "INSERT OR IGNORE INTO embeddings(model_key, text_hash, row) VALUES (?, ?, ?)",
            [(model_key, h, int(r)) for h, r in rows],
        )


def cached_encode(
    ws: Workspace,
    model_key: str,
    texts: Sequence[str],
    encode: Callable[[list[str]], npt.NDArray[np.float32]],
    *,
    chunk_rows: int = 2048,
) -> npt.NDArray[np.float32]:
    """The vectors of `texts` under `model_key`: (len(texts), dim) float32, row i for texts[i].

    The workspace's embedding cache, shared by every stage that embeds: a text already embedded
    under `model_key` (by embed, the offline judge or decontaminate) is read from
    `embeddings/<model_key>.npy`; only the distinct texts not yet there go to `encode(texts) ->
    (m, dim)` (L2-normalised float32, as `pipeline.embedding.encode` returns), `chunk_rows` at a
    time, and are appended to the file and the `embeddings` table before the next chunk (an
    interruption loses at most one chunk). `encode` is not called when every text is cached.
    """
    hashes = [text_hash(t) for t in texts]
    have = lookup_rows(ws, model_key, hashes)
    todo: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in have:
            todo.setdefault(h, t)
    pending = list(todo)
    for start in range(0, len(pending), chunk_rows):
        chunk = pending[start : start + chunk_rows]
        vecs = np.asarray(encode([todo[h] for h in chunk]), dtype=np.float32)
        if vecs.shape[0] != len(chunk):
            raise ValueError(f"the encoder returned {vecs.shape[0]} vectors for {len(chunk)} texts")
        first = append_vectors(ws, model_key, vecs)
        rows = [(h, first + i) for i, h in enumerate(chunk)]
        insert_embedding_rows(ws, model_key, rows)
        have.update(lookup_rows(ws, model_key, chunk))  # a concurrent writer's row wins
    vectors = open_vectors(ws, model_key)
    if vectors is None:
        return np.zeros((0, 0), dtype=np.float32)
    index = np.fromiter((have[h] for h in hashes), dtype=np.int64, count=len(hashes))
    return np.asarray(vectors[index], dtype=np.float32)


def count_embedding_rows(ws: Workspace, model_key: str) -> int:
    """How many distinct texts are embedded under `model_key`."""
    row = ws.db.execute("SELECT COUNT(*) FROM embeddings WHERE model_key = ?", (model_key,))
    return int(row.fetchone()[0])


def drop_rows_from(ws: Workspace, model_key: str, first_missing_row: int) -> int:
    """Forget rows at or past `first_missing_row` (the file lost them); return how many."""
    with ws.write() as db:
        cur = db.execute(
            "DELETE FROM embeddings WHERE model_key = ? AND row >= ?",
            (model_key, first_missing_row),
        )
    return int(cur.rowcount)


# -- the coreset ---------------------------------------------------------------------------------
def coreset_rows(ws: Workspace) -> list[tuple[int, str, float]]:
    """The coreset in pick order: (rank, sample id, covering radius after this pick)."""
    return [
        (int(r[0]), str(r[1]), float(r[2]))
        for r in ws.db.execute("SELECT rank, sample_id, radius FROM coreset ORDER BY rank")
    ]


def coreset_model_key(ws: Workspace) -> str | None:
    """The model key the coreset was selected with (None when there is no coreset)."""
    row = ws.db.execute("SELECT model_key FROM coreset ORDER BY rank LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def replace_coreset(ws: Workspace, rows: Sequence[tuple[int, str, float]], model_key: str) -> None:
    """Make the coreset exactly `rows` (rank, sample id, radius), in one transaction."""
    with ws.write() as db:
        db.execute("DELETE FROM coreset")
        db.executemany(
            "INSERT INTO coreset(rank, sample_id, radius, model_key) VALUES (?, ?, ?, ?)",
            [(int(k), sid, float(r), model_key) for k, sid, r in rows],
        )


# -- the 2-D projection ----------------------------------------------------------------------------
def projection_rows(ws: Workspace) -> list[tuple[str, float, float]]:
    """Every projected sample: (sample id, x, y), in sample ingestion order."""
    return [
        (str(r[0]), float(r[1]), float(r[2]))
        for r in ws.db.execute(
            "SELECT p.sample_id, p.x, p.y FROM projection p "
            "JOIN samples s ON s.id = p.sample_id ORDER BY s.seq"
        )
    ]


def count_projection(ws: Workspace) -> int:
    """How many samples have a stored projection."""
    return int(ws.db.execute("SELECT COUNT(*) FROM projection").fetchone()[0])


def projection_model_key(ws: Workspace) -> str | None:
    """The model key of the stored projection (None when there is none)."""
    row = ws.db.execute("SELECT model_key FROM projection LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def replace_projection(
    ws: Workspace, rows: Iterable[tuple[str, float, float]], model_key: str
) -> None:
    """Make the projection exactly `rows` (sample id, x, y), in one transaction."""
    with ws.write() as db:
        db.execute("DELETE FROM projection")
        db.executemany(
            "INSERT INTO projection(sample_id, x, y, model_key) VALUES (?, ?, ?, ?)",
            [(sid, float(x), float(y), model_key) for sid, x, y in rows],
        )
