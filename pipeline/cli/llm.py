"""`wavecurate generate` and `wavecurate judge`: build the provider from config and environment,
run the stage, print what it did."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipeline.cli.common import (
    add_executor_arg,
    add_workspace_arg,
    fail,
    open_workspace,
    print_json,
    tqdm_progress,
    with_executor,
)
from pipeline.config import Config, LLMConfig
from pipeline.llm.base import Provider
from pipeline.llm.stage import LLMStageResult
from pipeline.textsafe import for_terminal

PROVIDERS = ("offline", "anthropic")
EXIT_STOPPED = 2  # the run stopped early (spend limit, credentials); finished work is saved


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="make one instruction instance per coreset sample (task drawn by the mix)",
        description=(
            "Generate one instance (instruction, input, output) of a task drawn by "
            "[generate] task_mix for every coreset sample that has none yet. Resumable: "
            "finished calls are cached in the workspace and never repeated."
        ),
    )
    _common(p, "generate")
    add_executor_arg(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "judge",
        help="judge every generated instance against its task's criteria",
        description=(
            "Judge each generated instance that passed the rule checks: one rationale and "
            "yes/no per criterion; the verdict is accept when every criterion passes."
        ),
    )
    _common(p, "judge")
    p.set_defaults(func=cmd_judge)


def _common(p: argparse.ArgumentParser, section: str) -> None:
    add_workspace_arg(p)
    p.add_argument(
        "--provider",
        choices=PROVIDERS,
        help=f"offline (no network, the default) or anthropic (default: [{section}] provider)",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="anthropic: use the Message Batches API (half price; resumes the same batch)",
    )
    p.add_argument(
        "--abandon-batch",
        action="append",
        default=[],
        metavar="ID",
        help="anthropic: give up an open message batch (cancelled on its server when it can be) "
        "and submit its calls again; 'all' for every open batch of this stage; repeatable",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print how many calls would be made and their estimated cost; change nothing",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="call again for failed (truncated, refused, unparseable, errored) answers",
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N items")
    p.add_argument("--concurrency", type=int, metavar="N", help="calls in flight (llm.concurrency)")
    p.add_argument("--json", action="store_true", help="print the run's counts as JSON")


def anthropic_client(
    llm: LLMConfig, env: dict[str, str] | None = None, *, need_key: bool = True
) -> Any:
    """The SDK client for `llm`: key from the env variable `llm.api_key_env`, base URL from the
    config, else ANTHROPIC_BASE_URL, else the Anthropic API. A local server needs no key, nor
    does a dry run (`need_key=False`), which makes no call."""
    import anthropic

    env = dict(os.environ) if env is None else env
    base_url = llm.base_url or env.get("ANTHROPIC_BASE_URL") or None
    key = env.get(llm.api_key_env, "")
    if not key and base_url is None and need_key:
        raise SystemExit(
            f"error: the anthropic provider needs a key in ${llm.api_key_env}, or a base URL "
            "(llm.base_url or ANTHROPIC_BASE_URL) for a local server that speaks the Messages API"
        )
    return anthropic.Anthropic(
        api_key=key or "no-key", base_url=base_url, timeout=llm.timeout_s, max_retries=0
    )


def build_provider(
    role: str,
    name: str,
    cfg: Config,
    *,
    batch: bool,
    concurrency: int | None,
    need_key: bool = True,
    encode: Callable[[Sequence[str]], Any] | None = None,
    abandon: Sequence[str] = (),
) -> tuple[Provider, str]:
    """(provider, model) for `role` (generator or judge). The offline judge embeds with
    `encode` (the shared model of `wavecurate run`), else loads `[embed]`'s model on first use.
    `abandon`: batch ids (or "all") the anthropic provider gives up."""
    if name == "anthropic":
        from pipeline.llm.anthropic import AnthropicProvider

        llm = cfg.llm
        provider = AnthropicProvider(
            anthropic_client(llm, need_key=need_key),
            concurrency=concurrency or llm.concurrency,
            max_retries=llm.max_retries,
            backoff_s=llm.backoff_s,
            max_backoff_s=llm.max_backoff_s,
            structured_output=llm.structured_output,
            batch=batch,
            poll_s=llm.batch_poll_s,
            batch_max_requests=llm.batch_max_requests,
            abandon=abandon,
        )
        return provider, llm.generator_model if role == "generator" else llm.judge_model
    if role == "generator":
        from pipeline.llm.offline.generator import OfflineGenerator

        return OfflineGenerator(seed=cfg.generate.seed), "offline"
    from pipeline.embedding import encode as encode_with
    from pipeline.embedding import load_encoder, model_key
    from pipeline.llm.offline.judge import OfflineJudge

    loaded: list[Any] = []

    def embed(texts: Sequence[str]) -> Any:
        if encode is not None:
            return encode(texts)
        if not loaded:  # load the model only when there is something to judge
            loaded.append(load_encoder(cfg.embed))
        return encode_with(loaded[0], list(texts), batch_size=cfg.embed.batch_size)

    return OfflineJudge(embed, embed_key=model_key(cfg.embed), cfg=cfg.judge), "offline"


def provider_only(
    role: str, name: str, cfg: Config, *, concurrency: int | None, need_key: bool = True
) -> Provider:
    """`build_provider(...)`'s provider alone, never batching: what each Ray worker builds (a
    module-level function, so a `functools.partial` of it pickles by reference)."""
    provider, _model = build_provider(
        role, name, cfg, batch=False, concurrency=concurrency, need_key=need_key
    )
    return provider


def _report(stage: str, report: LLMStageResult, as_json: bool) -> int:
    if as_json:
        extra = {} if report.estimate is None else {"estimate": dataclasses.asdict(report.estimate)}
        print_json({**report.counts, **extra, "current": report.current})
    else:
        print(describe(stage, report))
    return stop_code(stage, report, "run the same command to resume")


def stop_code(stage: str, report: LLMStageResult, resume: str) -> int:
    """EXIT_STOPPED, after saying on stderr why `stage` stopped early and that `resume` picks up
    where it stopped; 0 when it ran to the end."""
    if not report.stopped:
        return 0
    print(f"{stage}: stopped early: {for_terminal(report.stopped)}", file=sys.stderr)
    print(f"{stage}: finished work is saved; {resume}", file=sys.stderr)
    return EXIT_STOPPED


def describe(stage: str, report: LLMStageResult) -> str:
    """What `generate` or `judge` prints for people."""
    if report.estimate is not None:
        return report.estimate.describe(stage)
    if report.current:
        return f"{stage}: nothing new since the last run"
    c = report.counts
    if stage == "generate":
        return (
            f"generate: {c.get('to_generate', 0)} samples: {c.get('ok', 0)} ok, "
            f"{c.get('rules', 0)} broke a rule, {c.get('skipped', 0)} skipped, "
            f"{c.get('failed', 0)} failed; {_calls(c)}"
        )
    return (
        f"judge: {c.get('to_judge', 0)} instances: {c.get('accepted', 0)} accepted, "
        f"{c.get('rejected', 0)} rejected, {c.get('judge_failed', 0)} failed; {_calls(c)}"
    )


def _calls(c: Mapping[str, Any]) -> str:
    return (
        f"{c.get('calls', 0)} calls, {c.get('cache_hits', 0)} from the cache, "
        f"{c.get('input_tokens', 0)} tokens in, {c.get('output_tokens', 0)} out, "
        f"${c.get('cost_usd', 0.0):.4f}"
    )


def cmd_generate(args: argparse.Namespace) -> int:
    return _run_stage(args, "generate")


def cmd_judge(args: argparse.Namespace) -> int:
    return _run_stage(args, "judge")


def _run_stage(args: argparse.Namespace, stage: str) -> int:
    """Run generate or judge with the flags as run-time options; print its report."""
    from pipeline.cli.steps import Resources
    from pipeline.stages.generate import generate_instances
    from pipeline.stages.judge import judge_instances

    ws = open_workspace(args)
    cfg = ws.config
    section = dataclasses.replace(
        getattr(cfg, stage), retry_failed=args.retry_failed, limit=args.limit,
        dry_run=args.dry_run,
    )  # fmt: skip
    if args.batch:
        section = dataclasses.replace(section, batch=True)
    cfg = with_executor(cfg, getattr(args, "executor", None))
    res = Resources(
        ws, dataclasses.replace(cfg, **{stage: section}), provider=args.provider,
        concurrency=args.concurrency, abandon=tuple(args.abandon_batch or ()),
    )  # fmt: skip
    run = generate_instances if stage == "generate" else judge_instances
    try:
        report = run(ws, res.llm(stage, need_key=not args.dry_run), cfg=section,
                     progress=tqdm_progress)  # fmt: skip
    except ValueError as e:
        return fail(str(e))
    finally:
        ws.close()
    return _report(stage, report, args.json)
