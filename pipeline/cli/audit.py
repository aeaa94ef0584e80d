"""`wavecurate audit [sample N | next N]`: how far the judge can be trusted, and what to read next.

- `audit`: the report (`pipeline.audit.report.audit_report`): the estimated share of accepted,
  unreviewed instances a person would reject, from the reviewed calibration draws only, with its
  95% interval; agreement and kappa per task and criterion; the judge's precision and recall.
- `audit sample N`: draw N more calibration instances uniformly at random.
- `audit next N`: the N unreviewed instances most likely wrong (the risk order).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from pipeline.cli.common import add_command, fail, open_workspace, print_json


def _child_options(p: argparse.ArgumentParser) -> None:
    """--workspace and --json on a sub-command without hiding the parent's: argparse would let a
    child's default overwrite `audit --workspace W sample 5`, so the child's defaults are
    suppressed."""
    p.add_argument(
        "--workspace",
        "-w",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="workspace folder (default: the current folder)",
    )
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help='print {"ids": [...]}'
    )


def add_parser(sub: Any) -> None:
    p = add_command(sub, "audit", cmd_report)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    s = add_command(actions, "sample", cmd_sample, _child_options)
    s.add_argument("n", type=int, metavar="N", help="how many to draw")
    s.add_argument("--seed", type=int, help="random seed (default: a random one, recorded)")

    nx = add_command(actions, "next", cmd_next, _child_options)
    nx.add_argument("n", type=int, metavar="N", help="how many to list")


def _plain(text: str) -> str:
    """Text safe for a terminal: control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.1%}"


def _num(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:+.2f}"


def format_report(report: Any) -> str:
    """What `wavecurate audit` prints for people."""
    e = report.error_rate
    lines = ["calibration (uniform random draws of accepted, unreviewed instances)"]
    if e.n == 0:
        todo = (
            "review the calibration queue"
            if report.drawn
            else "run `wavecurate audit sample N`, then review the calibration queue"
        )
        lines.append(f"  drawn {report.drawn:,}, reviewed 0: no estimate yet ({todo})")
    else:
        lines.append(
            f"  a reviewer would reject {_pct(e.estimate)} of the accepted, unreviewed instances"
        )
        lines.append(
            f"  95% interval [{_pct(e.low)}, {_pct(e.high)}]  n={e.n:,} reviewed of "
            f"{report.drawn:,} drawn, population {report.population:,}"
        )
    lines.append(
        f"  {report.more_draws_for_5_points:,} more reviewed draws would narrow it to ±5 points"
    )
    lines.append("  (risk-ordered and other reviews are not a random sample: never counted here)")
    lines.append(f"judge vs people ({report.reviewed:,} reviewed instances, all reviews)")
    header = f"  {'':<28} {'n':>6} {'agreement':>10} {'95% interval':>17} {'kappa':>6} {'95% interval':>15}"
    lines.append(header)

    def row(name: str, s: Any) -> str:
        o, k = s.observed, s.kappa
        return (
            f"  {_plain(name)[:28]:<28} {s.agreement.n:>6,} {_pct(o.estimate):>10} "
            f"{'[' + _pct(o.low) + ', ' + _pct(o.high) + ']':>17} {_num(k.estimate):>6} "
            f"{'[' + _num(k.low) + ', ' + _num(k.high) + ']':>15}"
        )

    lines.append(row("verdict, all tasks", report.overall))
    lines += [row(f"task {t}", s) for t, s in report.per_task.items()]
    lines += [row(f"criterion {c}", s) for c, s in report.per_criterion.items()]
    p, r = report.precision, report.recall
    lines.append("judge's accept against people's verdicts (all reviews, not a random sample)")
    lines.append(f"  precision {_pct(p.estimate)} [{_pct(p.low)}, {_pct(p.high)}] n={p.n:,}")
    lines.append(f"  recall    {_pct(r.estimate)} [{_pct(r.low)}, {_pct(r.high)}] n={r.n:,}")
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    """estimate how many accepted instances a person would reject; what to review next

    Without a sub-command: the audit report. The error estimate is the share of accepted,
    unreviewed instances a reviewer would reject, estimated from the reviewed calibration draws
    only (`audit sample`), with an exact 95%% interval; reviews made in any other order are not
    a random sample and never feed it. Also: judge-vs-human agreement and Cohen's kappa per task
    and criterion, and the judge's precision and recall of accept (from all reviews), each with
    a 95%% interval and n."""
    from pipeline.audit.report import audit_report

    with open_workspace(args) as ws:
        report = audit_report(ws)
    if args.json:
        print_json(report.as_dict())
    else:
        print(format_report(report))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """draw N calibration instances (uniform, from accepted, unreviewed ones)

    Draw N instances uniformly at random, without replacement, from those whose final verdict is
    accept and that no person has reviewed (nor drawn before), and mark them as the calibration
    sample. Review all of them (the Review page's calibration queue): the estimate reads only
    these."""
    from pipeline.store.audit import draw_calibration

    if args.n < 1:
        return fail(f"N must be at least 1, got {args.n}")
    with open_workspace(args) as ws:
        ids = draw_calibration(ws, args.n, args.seed)
    if args.json:
        print_json({"ids": ids})
        return 0
    print(f"audit sample: drew {len(ids):,} of {args.n:,} asked")
    for iid in ids:
        print(f"  {iid}")
    return 0


def _vectors(ws: Any) -> Any:
    """The kept samples' embeddings for the novelty signal, or None when there are none."""
    from pipeline.stages.embed import EmbeddingsMissing, load_kept_embeddings

    try:
        kept = load_kept_embeddings(ws, ws.config.embed)
    except (EmbeddingsMissing, ValueError, OSError):
        return None
    return (kept.ids, kept.vectors) if kept.ids else None


def cmd_next(args: argparse.Namespace) -> int:
    """the N unreviewed instances most likely wrong first

    Rank the unreviewed instances (calibration draws left out) by the estimated chance that their
    final verdict is wrong: execution contradicting the judge, execution inconclusive, rationales
    that contradict their answer, how often people overturned each criterion so far, and
    distance to the nearest reviewed instance (when embeddings exist)."""
    from pipeline.audit.report import next_to_audit

    if args.n < 1:
        return fail(f"N must be at least 1, got {args.n}")
    with open_workspace(args) as ws:
        ranked = next_to_audit(ws, args.n, vectors=_vectors(ws))
    if args.json:
        print_json({"ids": [r.instance_id for r in ranked]})
        return 0
    print(f"audit next: {len(ranked):,} unreviewed instances, most likely wrong first")
    for r in ranked:
        why = "; ".join(_plain(x) for x in r.reasons) or "no strong signal"
        print(f"  {r.instance_id}  {r.score:5.1%}  {why}")
    return 0
