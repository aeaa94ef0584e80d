"""What the generate and judge stages share: reports, dry-run estimates, progress, stopping."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pipeline.config import GenerateConfig, JudgeConfig, LLMConfig
from pipeline.llm.base import Provider, ProviderStop, Request
from pipeline.llm.cache import CallResult, CallStats, plan_calls, run_calls
from pipeline.llm.cost import call_cost, estimate_tokens
from pipeline.progress import Bar, Progress, no_progress
from pipeline.store import StageRun, Workspace

__all__ = ["LLM", "Bar", "Estimate", "LLMStageResult", "Progress", "no_progress"]

# the shortest prefix the Messages API caches (Sonnet and Opus; Haiku needs 2048)
MIN_CACHED_TOKENS = 1024


@dataclass(frozen=True)
class LLM:
    """The resource an LLM stage calls: the provider, the model named in its requests (a
    `[llm]` model, or `offline`), and the `[llm]` settings (prices, spend limit...)."""

    provider: Provider
    model: str
    settings: LLMConfig


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a run would do: calls to make, calls answered from the cache, tokens and USD."""

    calls: int
    cached: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    model: str

    def describe(self, stage: str) -> str:
        return (
            f"{stage}: would make {self.calls} calls ({self.cached} answered from the cache) "
            f"to {self.model}: about {self.input_tokens} input and {self.output_tokens} output "
            f"tokens, estimated ${self.cost_usd:.4f}"
        )


@dataclass(frozen=True)
class LLMStageResult:
    """The result of an LLM stage run (generate and judge share this shape): `counts`, those of
    its `runs` row (read-only; the plan's `to_generate`/`to_judge`, the instance outcomes, and
    the call stats `calls`, `cache_hits`, `call_errors`, tokens, `cost_usd`), `stopped` (why it
    ended early or failed, else empty: the CLI exits 2 when set), `estimate` (a dry run's), and
    `current` (the work was current: nothing done, nothing recorded).

    One type for both stages: they differ only in which outcome counts their `runs` row holds,
    and those are read by name by `status`, the app and `describe`; the rest is the same."""

    counts: Mapping[str, Any] = field(default_factory=dict)
    stopped: str = ""
    estimate: Estimate | None = None
    current: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))


def run_llm_stage(
    ws: Workspace,
    llm: LLM,
    stage: str,
    cfg: GenerateConfig | JudgeConfig,
    inputs: Mapping[str, Any],
    requests: Sequence[Request],
    on_result: Callable[[int, CallResult], None],
    *,
    plan_counts: Mapping[str, Any],
    outcome_counts: Callable[[], Mapping[str, Any]],
    refresh: Collection[int],
    progress: Progress,
    unit: str,
) -> LLMStageResult:
    """Run LLM stage `stage` (generate or judge) unless its work is current: open its run (state
    from `cfg`, the `[llm]` settings and `inputs`; `cfg.retry_failed` forces it), make its
    calls (`run_stage_calls`, a progress bar counting `unit`s), then record `plan_counts` and
    `outcome_counts()` (read once the calls are done) on its `runs` row. Complete only
    without `cfg.limit`. Returns the run's counts and why it stopped early (if it did)."""
    with ws.stage(stage, (cfg, llm.settings), inputs, force=cfg.retry_failed) as run:
        if run.current:
            return LLMStageResult(counts=plan_counts, current=True)
        run.complete = cfg.limit is None
        bar = progress(total=len(requests), desc=stage, unit=unit)
        stopped = run_stage_calls(
            ws, run, llm.provider, requests, on_result, llm=llm.settings, refresh=refresh, bar=bar
        )
        outcomes = outcome_counts()
        run.counts.update(plan_counts)
        run.counts.update(outcomes)
    return LLMStageResult(counts=dict(run.counts), stopped=stopped)


def run_stage_calls(
    ws: Workspace,
    run: StageRun,
    provider: Provider,
    requests: Sequence[Request],
    on_result: Callable[[int, CallResult], None],
    *,
    llm: LLMConfig,
    refresh: Collection[int],
    bar: Bar,
) -> str:
    """Make (or take from the cache) every call of a stage, recording call stats on `run`.

    A `ProviderStop` (spend limit, bad credentials, `llm.breaker_errors` failures in a row) ends
    the run early and cleanly: finished calls are saved and the returned text says why it
    stopped (empty when it did not). A run whose fresh calls all failed, or whose failures reach
    `llm.max_failure_share` (and `llm.min_failures`), is stopped too (`failure_verdict`).
    """
    stopped = ""
    stats = CallStats()
    try:
        run_calls(
            ws, provider, requests, on_result, prices=llm.prices, refresh=refresh,
            spend_limit_usd=llm.spend_limit_usd, progress=bar.update, stats=stats,
            breaker_errors=llm.breaker_errors,
        )  # fmt: skip
    except ProviderStop as e:
        stopped = str(e)
    finally:
        bar.close()
        run.counts.update(stats.as_counts())
    stopped = stopped or failure_verdict(stats, llm)
    if stopped:
        run.counts["stopped"] = stopped
        run.complete = False
    return stopped


def failure_verdict(stats: CallStats, llm: LLMConfig) -> str:
    """Why a run's failed calls fail the run ("" when they do not): every fresh call failed, or
    at least `llm.min_failures` failed and they are `llm.max_failure_share` of the calls."""
    failed, calls = stats.call_errors, stats.calls
    if failed == 0:
        return ""
    if failed == calls:
        return f"every call of this run failed ({failed} of {calls})"
    if failed >= llm.min_failures and failed / calls >= llm.max_failure_share:
        return (
            f"{failed} of {calls} calls failed ({failed / calls:.0%}, llm.max_failure_share = "
            f"{llm.max_failure_share})"
        )
    return ""


def estimate_calls(
    ws: Workspace,
    provider: Provider,
    requests: Sequence[Request],
    output_tokens: Sequence[int],
    *,
    prices: Mapping[str, Mapping[str, float]],
    model: str,
    refresh: Collection[int] = (),
    batch: bool = False,
) -> Estimate:
    """The dry-run estimate for `requests` (expected answer length per request given)."""
    keys, _stored, todo = plan_calls(ws, provider, requests, refresh)
    seen: set[str] = set()
    systems: set[str] = set()
    tokens_in = tokens_out = 0
    cost = 0.0
    for key, request, out in zip(keys, requests, output_tokens, strict=True):
        if key not in todo or key in seen:
            continue
        seen.add(key)
        n_system, n_user = estimate_tokens(request.system), estimate_tokens(request.user)
        n_out = min(out, request.max_tokens)
        tokens_in += n_system + n_user
        tokens_out += n_out
        # the system prefix is cached when long enough: written once, then read at 10%
        cached = n_system >= MIN_CACHED_TOKENS
        first = request.system not in systems
        systems.add(request.system)
        cost += call_cost(
            request.model,
            prices,
            input_tokens=n_user + (0 if cached else n_system),
            output_tokens=n_out,
            cache_write_tokens=n_system if cached and first else 0,
            cache_read_tokens=n_system if cached and not first else 0,
            batch=batch,
        )
    answered = sum(1 for k in keys if k not in todo)
    return Estimate(len(todo), answered, tokens_in, tokens_out, round(cost, 6), model)
