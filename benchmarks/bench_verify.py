"""Verify throughput on real standard-library functions: 1 sandbox at a time vs 2 side by side.

Each function is verified twice as a code_generation instance: the candidate is the function
itself (should pass) and the function with a planted bug (a flipped comparison or swapped operator:
should fail). Prints verdicts per second for each worker count, their ratio, the share of
conclusive verdicts (pass or fail), and how many planted bugs were caught.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/bench_verify.py [--limit 30]

With ``--workspace DIR`` (a demo workspace: `wavecurate demo --no-app -w DIR`) it runs the verify
stage instead, on a copy of the workspace, every instance from scratch, once per ``--workers``
value, and prints instances verified per second and the share of conclusive verdicts per task:

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/bench_verify.py --workspace DIR \
        [--workers 1,2]
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

from pipeline.records import Task
from pipeline.stages.verify import verify_instances
from pipeline.store import Workspace
from pipeline.verify import ExecJob, ExecVerdict, VerifyConfig, mechanism, verify_many
from pipeline.verify.stdlib_cases import plant_bug, top_level_functions

MODULES = [
    "textwrap",
    "string",
    "colorsys",
    "posixpath",
    "fnmatch",
    "calendar",
    "html",
    "shlex",
    "bisect",
    "heapq",
    "base64",
    "keyword",
    "glob",
    "quopri",
]


def jobs(limit: int) -> list[ExecJob]:
    out: list[ExecJob] = []
    for module in MODULES:
        for fn in top_level_functions(module):
            bug = plant_bug(fn.code)
            if bug is None:
                continue
            for kind, cand in (("same", fn.code), ("bug", bug)):
                out.append(
                    ExecJob(
                        f"{module}.{fn.name}:{kind}",
                        Task.GENERATION,
                        "python",
                        fn.name,
                        fn.code,
                        cand,
                        reference_imports=fn.imports,
                    )
                )
            if len(out) >= 2 * limit:
                return out
    return out


def on_workspace(source: Path, workers: list[int]) -> None:
    """The verify stage on a copy of `source`, from scratch, once per worker count."""
    with Workspace(source) as ws:
        cfg = ws.config.verify
    rates: dict[int, float] = {}
    for n in workers:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp)
            src = sqlite3.connect(source / "wavecurate.db")
            dst = sqlite3.connect(copy / "wavecurate.db")
            src.backup(dst)
            src.close()
            dst.close()
            (copy / "wavecurate.toml").write_bytes((source / "wavecurate.toml").read_bytes())
            with Workspace(copy) as ws:
                run = dataclasses.replace(cfg, workers=n, force=True)
                result = verify_instances(ws, cfg=run)
        rates[n] = result.rate
        print(
            f"workers={n}: {result.verified} instances in {result.seconds:.1f} s = "
            f"{result.rate:.2f} instances/s; sandbox {result.mechanism}; conclusive (pass or "
            f"fail among runnable) {result.conclusive_share:.0%}"
        )
        for task, counts in result.by_task.items():
            runnable = counts["pass"] + counts["fail"] + counts["inconclusive"]
            share = (counts["pass"] + counts["fail"]) / runnable if runnable else 0.0
            shown = ", ".join(f"{k} {v}" for k, v in counts.items())
            print(f"  {task:<20} {shown}; conclusive {share:.0%}")
    if len(rates) > 1 and min(rates.values()) > 0:
        base = workers[0]
        for n in workers[1:]:
            print(f"ratio {n} workers / {base}: {rates[n] / rates[base]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=30, help="functions (two jobs each)")
    parser.add_argument("--workspace", type=Path, help="run the verify stage on this workspace")
    parser.add_argument("--workers", default="2", help="comma-separated worker counts (2)")
    args = parser.parse_args()
    if args.workspace is not None:
        on_workspace(args.workspace, [int(n) for n in args.workers.split(",")])
        return
    work = jobs(args.limit)
    print(f"sandbox: {mechanism()}; {len(work)} jobs from {len(work) // 2} stdlib functions")
    rates = {}
    for workers in (1, 2):
        started = time.monotonic()
        results = list(verify_many(work, VerifyConfig(), workers=workers))
        elapsed = time.monotonic() - started
        rates[workers] = len(results) / elapsed
        counts = Counter(v.verdict for _, v in results)
        conclusive = counts[ExecVerdict.PASS] + counts[ExecVerdict.FAIL]
        caught = sum(
            1 for j, v in results if j.key.endswith(":bug") and v.verdict == ExecVerdict.FAIL
        )
        wrong = sum(
            1 for j, v in results if j.key.endswith(":same") and v.verdict == ExecVerdict.FAIL
        )
        bugs = sum(1 for j in work if j.key.endswith(":bug"))
        print(
            f"workers={workers}: {rates[workers]:.2f} verdicts/s ({elapsed:.1f} s); "
            f"conclusive {conclusive}/{len(results)} ({conclusive / len(results):.0%}); "
            f"planted bugs caught {caught}/{bugs}; unplanted wrongly failed {wrong}; "
            f"{dict(sorted((k.value, n) for k, n in counts.items()))}"
        )
    print(f"ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    if args.limit <= 40:
        for j, v in results:
            if v.verdict == ExecVerdict.INCONCLUSIVE:
                print(f"  inconclusive {j.key}: {v.detail[:120]}")


if __name__ == "__main__":
    main()
