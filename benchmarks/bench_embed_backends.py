"""The embedding backends side by side: throughput against torch fp32, and what int8 costs in quality.

    .venv/bin/python benchmarks/bench_embed_backends.py              # 2,000 texts per corpus
    .venv/bin/python benchmarks/bench_embed_backends.py --n 4562 --k 1000

Corpora (functions with a docstring, 50..4,000 characters, drawn with a seed):
- stdlib: the demo's corpus, `pipeline.sources.stdlib.iter_stdlib()`.
- site-packages: functions of the installed packages (numpy, pandas, sklearn, transformers ...)
  through `pipeline.sources.tree`, any language it reads.
For each corpus, each backend (torch fp32 on the CPU, onnx fp32, onnx-int8 per channel) embeds the
same texts, batch 64, in one run; `--repeat` rounds (backends interleaved) and the best round
counts, since other processes on a shared machine only ever slow a round down. The ONNX export and
quantization happen before timing (into a temporary cache folder) and are timed apart.

Quality of each ONNX backend against torch fp32: mean and 1st-percentile cosine of the same text's
two vectors; and the coreset: KCenterGreedy picks k centres from the backend's vectors and from the
fp32 vectors (same first centre), and both coresets' covering radii are measured on the fp32 vectors
(radius = the largest cosine distance of a row to its nearest centre). The issue's gate for making
onnx-int8 the default: mean cosine >= 0.99 on both corpora and radius within 1% of fp32's.
"""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from pipeline.config import EmbedConfig  # noqa: E402
from pipeline.embedding import encode, load_encoder  # noqa: E402
from pipeline.records import Sample  # noqa: E402
from pipeline.stages.select import kcenter_greedy  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")


def corpus(name: str, n: int, seed: int) -> list[str]:
    if name == "stdlib":
        from pipeline.sources.stdlib import iter_stdlib

        items: Any = iter_stdlib()
    else:
        from pipeline.sources.tree import iter_tree

        site = Path(sysconfig.get_paths()["purelib"])
        folders = [site / p for p in ("numpy", "pandas", "sklearn", "transformers", "scipy")]
        items = iter_tree([f for f in folders if f.exists()])
    texts = sorted(
        {it.code for it in items if isinstance(it, Sample) and 50 <= len(it.code) <= 4000}
    )
    random.Random(seed).shuffle(texts)
    return texts[:n]


def radius(x: npt.NDArray[np.float32], centres: npt.NDArray[Any]) -> float:
    """The covering radius of `centres` over the rows of `x` (unit rows), in cosine distance."""
    best = np.full(x.shape[0], -1.0, dtype=np.float32)
    for s in range(0, len(centres), 256):
        best = np.maximum(best, (x @ x[centres[s : s + 256]].T).max(axis=1))
    return float(1.0 - best.min())


def run_corpus(name: str, texts: list[str], cache: Path, repeat: int, k: int) -> None:
    encoders = {}
    for b in BACKENDS:
        started = time.perf_counter()
        encoders[b] = load_encoder(EmbedConfig(device="cpu", backend=b), cache_dir=cache)
        if b != "torch":
            print(f"  {b}: export/quantize/load {time.perf_counter() - started:.1f} s")
    best = dict.fromkeys(BACKENDS, float("inf"))
    vecs: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(repeat):
        for b in BACKENDS:
            started = time.perf_counter()
            vecs[b] = encode(encoders[b], texts, batch_size=64)
            best[b] = min(best[b], time.perf_counter() - started)
    ref = vecs["torch"]
    k = min(k, len(texts) // 2)
    fp32_r = radius(ref, kcenter_greedy(ref, k, device="cpu").indices)
    print(f"{name}: {len(texts):,} texts, k={k}, best of {repeat}")
    for b in BACKENDS:
        rate = len(texts) / best[b]
        line = f"  {b:<10} {rate:7.1f} texts/s  {best['torch'] / best[b]:5.2f}x torch fp32"
        if b != "torch":
            cos = (vecs[b] * ref).sum(axis=1)
            r = radius(ref, kcenter_greedy(vecs[b], k, device="cpu").indices)
            line += (
                f"  cosine mean {cos.mean():.4f} p1 {np.percentile(cos, 1):.4f} min {cos.min():.4f}"
                f"  radius {r:.4f} vs fp32 {fp32_r:.4f} ({100 * (r / fp32_r - 1):+.2f}%)"
            )
        print(line, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=2000, help="texts per corpus")
    ap.add_argument("--k", type=int, default=1000, help="coreset size for the radius check")
    ap.add_argument("--repeat", type=int, default=1, help="timed rounds; the best counts")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", choices=["stdlib", "site-packages"], action="append")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpus or ["stdlib", "site-packages"]:
            run_corpus(name, corpus(name, args.n, args.seed), Path(tmp), args.repeat, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
