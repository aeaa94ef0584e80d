"""Commands from kept samples to a coreset: embed, select, project."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from pipeline.cli.common import add_command, add_executor_arg, open_workspace, with_executor
from pipeline.config import Config


def add_parser(sub: Any) -> None:
    p = add_command(sub, "embed", cmd_embed)
    p.add_argument("--batch-size", type=int, metavar="N", help="texts per forward pass")
    p.add_argument("--device", help="auto (cuda when present), cpu or cuda")
    add_executor_arg(p)

    p = add_command(sub, "select", cmd_select)
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

    p = add_command(sub, "project", cmd_project)
    p.add_argument("--force", action="store_true", help="project again even if nothing changed")


def cmd_embed(args: argparse.Namespace) -> int:
    """embed every kept sample (sentence-transformers; cached by model and text)

    Embed every kept sample with the [embed] model and pooling. A text already embedded with the
    same model key is never embedded again."""
    from pipeline.cli.steps import run_one

    def configure(cfg: Config) -> Config:
        embed = cfg.embed
        if args.batch_size is not None:
            embed = dataclasses.replace(embed, batch_size=args.batch_size)
        if args.device is not None:
            embed = dataclasses.replace(embed, device=args.device)
        return with_executor(dataclasses.replace(cfg, embed=embed), args.executor)

    return run_one(open_workspace(args), "embed", configure)


def cmd_select(args: argparse.Namespace) -> int:
    """pick the k most diverse samples with exact KCenterGreedy

    Select a coreset with exact KCenterGreedy over the kept samples' embeddings, store rank and
    covering radius per pick, and measure coverage against a random sample and k-means++ seeding
    of the same size."""
    from pipeline.cli.steps import run_one

    def configure(cfg: Config) -> Config:
        select = dataclasses.replace(cfg.select, extend=args.extend)
        if args.k is not None:
            select = dataclasses.replace(select, k=args.k)
        if args.fraction is not None:
            select = dataclasses.replace(select, k=0, fraction=args.fraction)
        if args.seed is not None:
            select = dataclasses.replace(select, seed=args.seed)
        if args.exact:
            select = dataclasses.replace(select, exact=True)
        return dataclasses.replace(cfg, select=select)

    return run_one(open_workspace(args), "select", configure)


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
    """UMAP the embeddings to 2-D for the map

    Project every kept sample to 2-D with UMAP (cosine, seeded), fitted on at most
    project.fit_sample samples and applied to the rest."""
    from pipeline.cli.steps import run_one

    def configure(cfg: Config) -> Config:
        project = dataclasses.replace(cfg.project, force=args.force)
        return dataclasses.replace(cfg, project=project)

    return run_one(open_workspace(args), "project", configure)
