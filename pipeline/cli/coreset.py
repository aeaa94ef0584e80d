"""Commands from kept samples to a coreset: embed, select, project."""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from pipeline.cli.common import add_workspace_arg, fail, open_workspace, tqdm_progress


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "embed",
        help="embed every kept sample (sentence-transformers; cached by model and text)",
        description="Embed every kept sample with the [embed] model and pooling. A text already "
        "embedded with the same model key is never embedded again.",
    )
    add_workspace_arg(p)
    p.add_argument("--batch-size", type=int, metavar="N", help="texts per forward pass")
    p.add_argument("--device", help="auto (cuda when present), cpu or cuda")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser(
        "select",
        help="pick the k most diverse samples with exact KCenterGreedy",
        description="Select a coreset with exact KCenterGreedy over the kept samples' "
        "embeddings, store rank and covering radius per pick, and measure coverage against a "
        "random sample and k-means++ seeding of the same size.",
    )
    add_workspace_arg(p)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--k", type=int, metavar="N", help="coreset size (default: select.k)")
    size.add_argument(
        "--fraction", type=float, metavar="F", help="coreset size as a share of kept samples"
    )
    p.add_argument("--seed", type=int, metavar="S", help="draws the first centre (select.seed)")
    p.add_argument(
        "--extend", action="store_true", help="keep the stored coreset and grow it to the size"
    )
    p.add_argument("--exact", action="store_true", help="float64 arithmetic (select.exact): slower")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser(
        "project",
        help="UMAP the embeddings to 2-D for the map",
        description="Project every kept sample to 2-D with UMAP (cosine, seeded), fitted on at "
        "most project.fit_sample samples and applied to the rest.",
    )
    add_workspace_arg(p)
    p.add_argument("--force", action="store_true", help="project again even if nothing changed")
    p.set_defaults(func=cmd_project)


def cmd_embed(args: argparse.Namespace) -> int:
    from pipeline.embedding import load_model
    from pipeline.stages.embed import embed_samples

    ws = open_workspace(args)
    cfg = ws.config.embed
    if args.batch_size is not None:
        cfg = dataclasses.replace(cfg, batch_size=args.batch_size)
    if args.device is not None:
        cfg = dataclasses.replace(cfg, device=args.device)
    try:
        result = embed_samples(ws, lambda: load_model(cfg), cfg=cfg, progress=tqdm_progress)
    except (ValueError, OSError) as e:
        return fail(str(e))
    if result.embedded == 0:
        print(f"embed: nothing new to embed ({result.kept:,} kept samples, {result.model_key})")
    else:
        rate = result.embedded / result.seconds if result.seconds > 0 else 0.0
        print(
            f"embed: {result.embedded:,} texts embedded ({rate:,.0f} rows/s), "
            f"{result.cached:,} cached, {result.kept:,} kept samples ({result.model_key})"
        )
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    from pipeline.stages.embed import EmbeddingsMissing
    from pipeline.stages.select import select_coreset

    ws = open_workspace(args)
    try:
        result = select_coreset(
            ws,
            k=args.k,
            fraction=args.fraction,
            seed=args.seed,
            extend=args.extend,
            exact=True if args.exact else None,
            progress=tqdm_progress,
        )
    except (EmbeddingsMissing, ValueError) as e:
        return fail(str(e))
    if result.skipped:
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


def format_coverage(coverage: dict[str, Any]) -> str:
    """The `coverage` metric's figures at the full k as an aligned table."""
    lines = [
        f"coverage at k={coverage['size']:,}: distance to the nearest centre "
        f"(within: cosine >= {coverage['delta']})",
        f"  {'method':<10} {'radius':>8} {'mean':>8} {'p99':>8} {'within':>8}",
    ]
    finals = coverage["final"]
    for name in sorted(finals, key=lambda m: (m != "kcenter", m != "random", m)):
        f = finals[name]
        lines.append(
            f"  {name:<10} {f['radius']:>8.4f} {f['mean']:>8.4f} {f['p99']:>8.4f} "
            f"{f['within']:>8.1%}"
        )
    return "\n".join(lines)


def cmd_project(args: argparse.Namespace) -> int:
    from pipeline.stages.embed import EmbeddingsMissing
    from pipeline.stages.project import project_samples

    ws = open_workspace(args)
    started = time.perf_counter()
    try:
        result = project_samples(ws, force=args.force)
    except (EmbeddingsMissing, ValueError) as e:
        return fail(str(e))
    if result.skipped:
        print(f"project: nothing to do ({result.projected:,} samples projected)")
    else:
        print(
            f"project: {result.projected:,} samples (UMAP fitted on {result.fitted:,}) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return 0
