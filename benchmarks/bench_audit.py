"""Audit benchmark: does the calibration interval hold its level, and does the risk order find wrong
verdicts faster than reading in random order?

Two simulations with a known truth, printed side by side with their baseline:

1. Interval coverage. A population of N accepted instances of which a known share would be
   rejected by a person; draw n uniformly without replacement, many times; count how often the
   exact (hypergeometric) interval and the Wilson interval with the finite-population correction
   hold the true share. Both should be close to 95% (the exact one at or above it).
2. Risk order vs random order. A simulated pool whose wrong verdicts depend on execution evidence
   and on one criterion the judge gets wrong more often than the others (the auditor does not know
   the rates; the model learns them from the reviews it has seen). An auditor who knows the truth
   reviews 20 at a time, re-ranking after each batch; we count wrong verdicts found per 100
   audits against an auditor reading in random order.
3. The risk queue on a workspace: `next_to_audit` over every unreviewed instance of a synthetic
   20,000-instance workspace (tests/synthetic.py, ~35% reviewed), with novelty from 384-d sample
   vectors, against reading the Review page's plain queue (`queue_rows`) as the baseline.
   Aim: well under a second.

    python benchmarks/bench_audit.py [--draws 2000] [--pool 20000] [--audits 400] [--seed 0]
                                     [--instances 20000] [--json FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from figures import save_figures  # noqa: E402
from synthetic import build_workspace  # noqa: E402

from pipeline.audit.intervals import share_interval, wilson_interval  # noqa: E402
from pipeline.audit.report import next_to_audit  # noqa: E402
from pipeline.audit.risk import RiskItem, cell_of, rank_by_risk  # noqa: E402
from pipeline.store import Workspace  # noqa: E402
from pipeline.store.queue import queue_rows  # noqa: E402

TRUE_WRONG = {"contradicts": 0.6, "inconclusive": 0.25, "no_execution": 0.12, "agrees": 0.03}


def coverage(
    population: int, true_share: float, n: int, draws: int, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    k = round(population * true_share)
    truth = np.zeros(population, dtype=bool)
    truth[:k] = True
    share = k / population
    exact = wilson = 0
    for _ in range(draws):
        x = int(truth[rng.choice(population, size=n, replace=False)].sum())
        e = share_interval(x, n, population)
        w = wilson_interval(x, n, population)
        exact += e.low <= share <= e.high
        wilson += w.low <= share <= w.high
    return exact / draws, wilson / draws


def simulated_pool(size: int, seed: int) -> tuple[list[RiskItem], dict[str, bool]]:
    rng = random.Random(seed)
    pool: list[RiskItem] = []
    truth: dict[str, bool] = {}
    criteria = ("correctness", "clarity", "completeness", "relevance")
    for i in range(size):
        judge = "accept" if rng.random() < 0.8 else "reject"
        execution = rng.choices(
            ["pass", "fail", "inconclusive", "not_applicable"], weights=[60, 10, 10, 20]
        )[0]
        machine = "reject" if execution == "fail" else judge
        answers = {c: judge == "accept" or rng.random() < 0.5 for c in criteria}
        if judge == "reject" and all(answers.values()):
            answers["clarity"] = False
        item = RiskItem(f"i{i:06d}", machine, judge, execution, answers)
        p = TRUE_WRONG[cell_of(item)]
        # the judge is unreliable on "completeness" when it passes it: a hidden rate to learn
        if machine == "accept" and answers["completeness"] and rng.random() < 0.3:
            p = min(1.0, p + 0.25)
        truth[item.instance_id] = rng.random() < p
        pool.append(item)
    return pool, truth


def reviewed_copy(item: RiskItem, wrong: bool) -> RiskItem:
    """The review an auditor who knows the truth makes: overturn the verdict when it is wrong,
    flipping completeness (the criterion the simulated judge gets wrong) on a wrong accept."""
    human = (
        ("reject" if item.machine_verdict == "accept" else "accept")
        if wrong
        else item.machine_verdict
    )
    flips = {"completeness": False} if wrong and item.machine_verdict == "accept" else {}
    return RiskItem(
        item.instance_id, item.machine_verdict, item.judge_verdict, item.execution,
        item.criteria, item.inconsistent, human, flips,
    )  # fmt: skip


def audit(
    pool: list[RiskItem], truth: dict[str, bool], audits: int, *, risk: bool, seed: int
) -> int:
    rng = random.Random(seed)
    remaining = {it.instance_id: it for it in pool}
    reviewed: list[RiskItem] = []
    found = 0
    while len(reviewed) < audits:
        if risk:
            batch = [r.instance_id for r in rank_by_risk(list(remaining.values()), reviewed)[:20]]
        else:
            batch = rng.sample(sorted(remaining), 20)
        for iid in batch:
            item = remaining.pop(iid)
            found += truth[iid]
            reviewed.append(reviewed_copy(item, truth[iid]))
    return found


def workspace_queue(instances: int, seed: int) -> dict[str, float]:
    """Seconds (median of 5) to rank a synthetic workspace's whole unreviewed queue, and the
    baseline of reading its plain review queue."""
    with tempfile.TemporaryDirectory() as tmp:
        built = build_workspace(
            Path(tmp) / "ws", samples=int(instances * 1.2), coreset=instances, hostile=False,
            seed=seed,
        )  # fmt: skip
        rng = np.random.default_rng(seed)
        vectors = rng.normal(size=(len(built.sample_ids), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        sample_vectors = (built.sample_ids, vectors)
        with Workspace(built.root) as ws:
            out: dict[str, Any] = {"instances": len(built.instance_ids)}
            for name, fn in (
                ("plain_queue_s", lambda: queue_rows(ws)),
                ("risk_queue_s", lambda: next_to_audit(ws)),
                ("risk_queue_novelty_s", lambda: next_to_audit(ws, vectors=sample_vectors)),
            ):
                times, cpu = [], []
                for _ in range(5):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    result = fn()
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
                out[name] = statistics.median(times)
                out[name.replace("_s", "_cpu_s")] = statistics.median(cpu)
                if name == "risk_queue_s":
                    out["ranked"] = len(result)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--pool", type=int, default=20_000)
    ap.add_argument("--audits", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--instances", type=int, default=20_000)
    ap.add_argument("--json", type=Path, metavar="FILE", help="also save the figures as JSON")
    args = ap.parse_args()
    figures: dict[str, Any] = {"coverage": [], "args": vars(args) | {"json": None}}

    print("1. calibration interval coverage (target 95%)")
    print(f"   {'N':>6} {'true share':>10} {'n':>5} {'exact':>7} {'wilson+fpc':>10}")
    for population, share, n in (
        (5000, 0.08, 30),
        (5000, 0.08, 100),
        (800, 0.2, 200),
        (20000, 0.03, 60),
    ):
        e, w = coverage(population, share, n, args.draws, args.seed)
        print(f"   {population:>6} {share:>10.0%} {n:>5} {e:>7.1%} {w:>10.1%}")
        figures["coverage"].append(
            {"population": population, "share": share, "n": n, "exact": e, "wilson_fpc": w}
        )

    print(f"\n2. wrong verdicts found per 100 audits (pool {args.pool:,}, {args.audits} audits)")
    pool, truth = simulated_pool(args.pool, args.seed)
    started = time.perf_counter()
    rank_by_risk(pool, [])
    rank_s = time.perf_counter() - started
    base = sum(truth.values()) / len(truth)
    found_risk = audit(pool, truth, args.audits, risk=True, seed=args.seed)
    found_random = audit(pool, truth, args.audits, risk=False, seed=args.seed)
    per100 = 100 / args.audits
    print(f"   share of wrong verdicts in the pool: {base:.1%}")
    print(f"   random order:        {found_random * per100:6.1f}")
    print(f"   most likely wrong:   {found_risk * per100:6.1f}")
    print(f"   ratio:               {found_risk / max(found_random, 1):6.2f}x")
    print(f"   ranking the whole pool once: {rank_s * 1000:.0f} ms")
    figures["risk"] = {
        "base_share": base,
        "random_per_100": found_random * per100,
        "risk_per_100": found_risk * per100,
        "ratio": found_risk / max(found_random, 1),
        "rank_pool_s": rank_s,
    }

    print(f"\n3. the risk queue on a synthetic workspace (~{args.instances:,} instances)")
    q = workspace_queue(args.instances, args.seed)
    print(f"   instances {q['instances']:,}, unreviewed ranked {q['ranked']:,}")
    print(f"   {'':<40} {'wall':>8} {'CPU':>8}  (median of 5; CPU: this process's time)")
    for label, key in (
        ("baseline: read the plain review queue", "plain_queue"),
        ("next_to_audit, whole queue", "risk_queue"),
        ("next_to_audit, with 384-d novelty", "risk_queue_novelty"),
    ):
        wall, cpu = q[f"{key}_s"] * 1000, q[f"{key}_cpu_s"] * 1000
        print(f"   {label:<40} {wall:6.0f} ms {cpu:6.0f} ms")
    print(
        f"   ratio (with novelty / baseline)          {q['risk_queue_novelty_s'] / q['plain_queue_s']:7.2f}x"
    )
    figures["workspace_queue"] = q
    save_figures(args.json, figures)


if __name__ == "__main__":
    main()
