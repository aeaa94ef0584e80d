"""The stages as the CLI runs them: one `Step` per stage, over shared, lazily built resources.

A step takes the open workspace and a `Resources` (the configuration, with any command-line
overrides, and what the stages share: the embedding model, the LLM providers), runs its stage,
prints what it did, and returns an exit code. `wavecurate X` runs step X; `wavecurate run` runs
`STAGES` in order on one workspace, so the embedding model is loaded at most once and shared by
embed, the offline judge and decontaminate.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pipeline.cli.common import fail, tqdm_progress
from pipeline.config import Config
from pipeline.progress import Progress
from pipeline.store import Workspace

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pipeline.embedding import Encoder
    from pipeline.executor import Executor
    from pipeline.llm.base import Provider
    from pipeline.llm.stage import LLM
    from pipeline.store.vectors import KeptEmbeddings


class Resources:
    """What the steps of one command share, each built on first use and kept.

    `config`: the workspace's configuration with the command's overrides (run-only fields set
    with `dataclasses.replace`). `provider`: a `--provider` override for generate and judge;
    `concurrency`: an `--concurrency` override.
    """

    def __init__(
        self,
        ws: Workspace,
        config: Config | None = None,
        *,
        progress: Progress = tqdm_progress,
        provider: str | None = None,
        concurrency: int | None = None,
        abandon: Sequence[str] = (),
    ) -> None:
        self.ws = ws
        self.config = config or ws.config
        self.progress = progress
        self.provider = provider
        self.concurrency = concurrency
        self.abandon = tuple(abandon)
        self._model: Encoder | None = None
        self._llms: dict[str, LLM] = {}
        self._executor: Executor | None = None

    def executor(self) -> Executor:
        """The `[run] executor` (local, or ray: connected on first use), built once."""
        if self._executor is None:
            from pipeline.executor import make_executor

            self._executor = make_executor(self.config.run.executor)
        return self._executor

    def model(self) -> Encoder:
        """The `[embed]` model run by its backend (`load_encoder`), loaded once."""
        if self._model is None:
            from pipeline.embedding import load_encoder

            self._model = load_encoder(self.config.embed)
        return self._model

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed `texts` with the shared model: (n, dim) float32, L2-normalised.

        Through the workspace's embedding cache (`cached_encode` under `model_key`): a text
        embedded before by any stage is read back, and the model loads only for new texts.
        """
        from pipeline.embedding import encode, model_key
        from pipeline.store.vectors import cached_encode

        def embed(new: list[str]) -> npt.NDArray[np.float32]:
            return encode(self.model(), new, batch_size=self.config.embed.batch_size)

        return cached_encode(self.ws, model_key(self.config.embed), list(texts), embed)

    def kept(self) -> KeptEmbeddings:
        """The kept samples' vectors under `[embed]` (read afresh: embed may have added some)."""
        from pipeline.stages.embed import load_kept_embeddings

        return load_kept_embeddings(self.ws, self.config.embed)

    def llm(self, stage: str, *, need_key: bool = True) -> LLM:
        """The `LLM` of generate or judge (provider from `--provider` or `[stage] provider`),
        built once."""
        if stage not in self._llms:
            from pipeline.cli.llm import PROVIDERS, build_provider
            from pipeline.llm.stage import LLM

            section = getattr(self.config, stage)
            name = self.provider or section.provider
            if name not in PROVIDERS:
                raise ValueError(
                    f"[{stage}] provider must be one of {', '.join(PROVIDERS)}, got {name!r}"
                )
            role = "generator" if stage == "generate" else "judge"
            provider, model = build_provider(
                role, name, self.config, batch=section.batch, concurrency=self.concurrency,
                need_key=need_key, encode=self.encode, abandon=self.abandon,
            )  # fmt: skip
            if stage == "generate" and not section.batch and self.config.run.executor != "local":
                provider = self._distributed(provider, role, name, need_key)
            self._llms[stage] = LLM(provider, model, self.config.llm)
        return self._llms[stage]

    def _distributed(self, provider: Provider, role: str, name: str, need_key: bool) -> Provider:
        """`provider`'s calls made by `[run] workers` executor workers, each with its own
        provider; together at most `llm.concurrency` (or `--concurrency`) calls in flight."""
        import functools

        from pipeline.cli.llm import provider_only
        from pipeline.executor.workers import ExecutorProvider

        workers = max(1, self.config.run.workers)
        total = self.concurrency or self.config.llm.concurrency
        factory = functools.partial(
            provider_only, role, name, self.config, concurrency=max(1, total // workers),
            need_key=need_key,
        )  # fmt: skip
        return ExecutorProvider(provider, factory, self.executor(), workers=workers)


Step = Callable[[Workspace, Resources], int]


def step_ingest(ws: Workspace, res: Resources) -> int:
    from pipeline.cli.ingest import print_ingest
    from pipeline.stages.ingest import ingest

    for cfg in res.config.ingest_configs():
        code = print_ingest(ingest(ws, cfg=cfg, progress=res.progress))
        if code:
            return code
    return 0


def step_filter(ws: Workspace, res: Resources) -> int:
    from pipeline.stages.filter import filter_samples

    result = filter_samples(ws, cfg=res.config.filter, progress=res.progress)
    if result.current:
        print(f"filter: nothing changed since the last run ({result.kept:,} kept)")
        return 0
    print(f"filter: {len(result.decisions):,} samples, {result.kept:,} kept")
    for rule, n in result.dropped().items():
        print(f"  dropped {rule:<16} {n:>8,}")
    return 0


def step_embed(ws: Workspace, res: Resources) -> int:
    from pipeline.stages.embed import embed_samples

    run = res.config.run
    cfg = dataclasses.replace(
        res.config.embed, workers=run.workers, gpus_per_worker=run.gpus_per_worker
    )
    result = embed_samples(ws, res.model, res.executor(), cfg=cfg, progress=res.progress)
    if result.embedded == 0:
        print(f"embed: nothing new to embed ({result.kept:,} kept samples, {result.model_key})")
    else:
        rate = result.embedded / result.seconds if result.seconds > 0 else 0.0
        print(
            f"embed: {result.embedded:,} texts embedded ({rate:,.0f} rows/s), "
            f"{result.cached:,} cached, {result.kept:,} kept samples ({result.model_key})"
        )
    return 0


def step_select(ws: Workspace, res: Resources) -> int:
    from pipeline.cli.coreset import format_coverage
    from pipeline.stages.select import select_coreset

    result = select_coreset(ws, res.kept(), cfg=res.config.select, progress=res.progress)
    if result.current:
        print(
            f"select: nothing to do ({result.size:,} selected of {result.kept:,} kept samples, "
            f"covering radius {result.radius:.4f})"
        )
    else:
        print(
            f"select: {result.size:,} of {result.kept:,} kept samples ({result.added:,} picked "
            f"in {result.seconds:.1f} s), covering radius {result.radius:.4f}"
        )
    coverage = ws.get_metric("coverage")
    if isinstance(coverage, dict) and "final" in coverage:
        print(format_coverage(coverage))
    return 0


def step_project(ws: Workspace, res: Resources) -> int:
    from pipeline.stages.project import project_samples

    result = project_samples(ws, res.kept(), cfg=res.config.project, progress=res.progress)
    if result.current:
        print(f"project: nothing to do ({result.projected:,} samples projected)")
    else:
        print(
            f"project: {result.projected:,} samples (UMAP fitted on {result.fitted:,}) "
            f"in {result.seconds:.1f} s"
        )
    return 0


def _llm_step(stage: str) -> Step:
    def step(ws: Workspace, res: Resources) -> int:
        from pipeline.cli.llm import describe, stop_code
        from pipeline.stages.generate import generate_instances
        from pipeline.stages.judge import judge_instances

        run = generate_instances if stage == "generate" else judge_instances
        cfg = getattr(res.config, stage)
        report = run(ws, res.llm(stage, need_key=not cfg.dry_run), cfg=cfg, progress=res.progress)
        print(describe(stage, report))
        return stop_code(stage, report, "run it again to resume")

    return step


step_generate = _llm_step("generate")
step_judge = _llm_step("judge")


def _verify_step(as_json: bool) -> Step:
    def step(ws: Workspace, res: Resources) -> int:
        from pipeline.cli.common import print_json
        from pipeline.cli.verify import format_verify
        from pipeline.stages.verify import verify_instances

        result = verify_instances(ws, res.executor(), cfg=res.config.verify, progress=res.progress)
        if as_json:
            print_json(
                {
                    "current": result.current,
                    "verified": result.verified,
                    "already": result.already,
                    "seconds": round(result.seconds, 3),
                    "execution": result.counts,
                    "by_task": result.by_task,
                    "mechanism": result.mechanism,
                }
            )
        else:
            print(format_verify(result))
        return 0

    return step


step_verify = _verify_step(as_json=False)
step_verify_json = _verify_step(as_json=True)  # `wavecurate verify --json`


def step_decontaminate(ws: Workspace, res: Resources) -> int:
    from pipeline.cli.export import format_result
    from pipeline.embedding import model_key
    from pipeline.stages.decontaminate import decontaminate

    started = time.perf_counter()
    result = decontaminate(
        ws, res.encode, cfg=res.config.decontaminate, model_name=model_key(res.config.embed),
        progress=res.progress,
    )  # fmt: skip
    print(format_result(result, time.perf_counter() - started))
    return 0


# `wavecurate run`: the stages in order (`verify`, the execution checks, after generate)
STAGES: list[tuple[str, Step]] = [
    ("ingest", step_ingest),
    ("filter", step_filter),
    ("embed", step_embed),
    ("select", step_select),
    ("project", step_project),
    ("generate", step_generate),
    ("verify", step_verify),
    ("judge", step_judge),
    ("decontaminate", step_decontaminate),
]


def run_steps(ws: Workspace, res: Resources, steps: Sequence[tuple[str, Step]]) -> int:
    """Run `steps` in order on `ws`; stop at the first that fails (its exit code), else 0."""
    from pipeline.config import ConfigError
    from pipeline.stages.decontaminate import BenchmarkError
    from pipeline.store.vectors import EmbeddingsMissing

    for name, step in steps:
        print(f"\n== {name}", file=sys.stderr, flush=True)
        try:
            code = step(ws, res)
        except (ConfigError, ValueError, OSError, EmbeddingsMissing, BenchmarkError) as e:
            code = fail(f"{name}: {e}")
        if code != 0:
            print(f"run: stopped at `{name}` (exit {code}); re-run to resume", file=sys.stderr)
            return code
    return 0


def run_one(ws: Workspace, name: str, configure: Callable[[Config], Config] = lambda c: c) -> int:
    """Run the one step `name` (a stage command's body; `verify-json` is verify printing JSON)
    with the workspace's config changed by `configure` (the command's flags); errors, a bad
    config included, print as `error: ...`."""
    from pipeline.config import ConfigError
    from pipeline.stages.decontaminate import BenchmarkError
    from pipeline.store.vectors import EmbeddingsMissing

    step = dict(STAGES)[name] if name != "verify-json" else step_verify_json
    try:
        return step(ws, Resources(ws, configure(ws.config)))
    except (ConfigError, ValueError, OSError, EmbeddingsMissing, BenchmarkError) as e:
        return fail(str(e))
