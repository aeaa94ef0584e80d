"""The ONNX backends of the embedding model: `onnx` (fp32) and `onnx-int8` (dynamic int8).

The sentence-transformers model's transformer is exported once per model, from its local files
(no network), with `torch.onnx.export` into `<cache>/onnx/<name>-<digest>/model.onnx`; `onnx-int8`
quantizes that file once with ONNX Runtime's dynamic int8 quantization, **per channel**
(`model-int8.onnx`; per-tensor quantization lost too much: mean cosine 0.949 to fp32). Later runs
reuse the files. Writes go to a temporary name first, so an interrupted export leaves nothing half
written.

At run time the model's own tokenizer makes the inputs, ONNX Runtime runs the transformer, and the
model's own modules after it (pooling, normalisation, any dense layer) turn token vectors into
sentence vectors, so pooling matches the torch backend exactly.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ONNX_BACKENDS", "OnnxEncoder", "default_cache_dir", "export_onnx"]

ONNX_BACKENDS = ("onnx", "onnx-int8")
OUTPUT = "token_embeddings"


def default_cache_dir() -> Path:
    """Where exported models live: `$XDG_CACHE_HOME/wavecurate` (default `~/.cache/wavecurate`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wavecurate"


def _model_folder_digest(model_path: str) -> str:
    """A digest of the model's files (names, sizes, mtimes), or of its name for a hub model."""
    h = hashlib.sha256(model_path.encode())
    folder = Path(model_path)
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


def export_dir(model_path: str, cache_dir: Path) -> Path:
    """The folder holding the ONNX files of the model at `model_path`."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model_path).name).strip("-.") or "model"
    return cache_dir / "onnx" / f"{name}-{_model_folder_digest(model_path)}"


def export_onnx(model: SentenceTransformer, model_path: str, backend: str, cache_dir: Path) -> Path:
    """The ONNX file for `backend` (exported, and quantized for `onnx-int8`, on first use).

    Raises ValueError for a model whose first module is not a text transformer.
    """
    if backend not in ONNX_BACKENDS:
        raise ValueError(f"not an ONNX backend: {backend!r}")
    folder = export_dir(model_path, cache_dir)
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _export_fp32(model, fp32)
    if backend == "onnx":
        return fp32
    int8 = folder / "model-int8.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            part = Path(tmp) / "model-int8.onnx"
            quantize_dynamic(str(fp32), str(part), per_channel=True, weight_type=QuantType.QInt8)
            os.replace(part, int8)
    return int8


def _export_fp32(model: SentenceTransformer, path: Path) -> None:
    import torch

    transformer = model[0]
    hf: Any = getattr(transformer, "model", None) or getattr(transformer, "auto_model", None)
    tokenizer = getattr(transformer, "tokenizer", None)
    if hf is None or tokenizer is None:
        raise ValueError(
            f"embed.backend onnx needs a text transformer model; this one starts with "
            f"{type(transformer).__name__} (use backend = 'torch')"
        )
    names = [n for n in tokenizer.model_input_names if n in _forward_params(hf)]

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, *inputs: Any) -> Any:
            out = self.hf(**dict(zip(names, inputs, strict=True)), return_dict=True)
            return out.last_hidden_state

    sample = model.preprocess(["def f(x):\n    return x + 1", "a second, longer text to pad"])
    args = tuple(sample[n].to("cpu") for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, OUTPUT]}
    was_training = hf.training
    device = next(hf.parameters()).device
    hf.eval().to("cpu")
    try:
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            part = Path(tmp) / path.name
            with torch.no_grad(), warnings.catch_warnings():
                # tracer notes on transformers' mask code: the tests check other shapes agree
                warnings.simplefilter("ignore")
                # The TorchScript exporter: seconds where the dynamo exporter takes about a
                # minute for this model, and it needs no onnxscript.
                torch.onnx.export(
                    Wrapped(), args, str(part), input_names=names, output_names=[OUTPUT],
                    dynamic_axes=axes, opset_version=17, dynamo=False,
                )  # fmt: skip
            os.replace(part, path)
    finally:
        hf.to(device).train(was_training)


def _forward_params(hf: Any) -> set[str]:
    import inspect

    return set(inspect.signature(hf.forward).parameters)


class OnnxEncoder:
    """Encodes like a `SentenceTransformer` (the `encode` subset `pipeline.embedding.encode`
    uses), with the transformer run by ONNX Runtime on the CPU."""

    def __init__(self, model: SentenceTransformer, onnx_path: Path, *, threads: int = 0) -> None:
        import onnxruntime as ort

        self.model = model
        self.path = onnx_path
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            opts.intra_op_num_threads = threads
        # spinning threads steal a shared machine's cores from everyone else
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]

    def get_embedding_dimension(self) -> int:
        from pipeline.embedding import embedding_dim

        return embedding_dim(self.model)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, **_: Any
    ) -> npt.NDArray[np.float32]:
        """(len(texts), dim) float32 sentence vectors, through the model's own modules after
        the transformer (pooling, Normalize); extra keyword arguments are ignored."""
        import torch

        parts: list[npt.NDArray[np.float32]] = []
        modules = list(self.model)[1:]
        for start in range(0, len(texts), batch_size):
            features = self.model.preprocess(list(texts[start : start + batch_size]))
            feed = {n: features[n].cpu().numpy().astype(np.int64) for n in self.inputs}
            (hidden,) = self.session.run([OUTPUT], feed)
            features = {k: v for k, v in features.items() if k != "modality"}
            features[OUTPUT] = torch.from_numpy(np.asarray(hidden, dtype=np.float32))
            with torch.no_grad():
                for module in modules:
                    features = module(features)
            parts.append(features["sentence_embedding"].cpu().numpy().astype(np.float32))
        if not parts:
            return np.empty((0, self.get_embedding_dimension()), dtype=np.float32)
        return np.concatenate(parts)
