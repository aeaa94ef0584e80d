"""Verify throughput on real standard-library functions: 1 sandbox at a time vs 2 side by side.

Each function is verified twice as a code_generation instance: the candidate is the function
itself (should pass) and the function with a planted bug (a flipped comparison or swapped operator:
should fail). Prints verdicts per second for each worker count, their ratio, the share of
conclusive verdicts (pass or fail), and how many planted bugs were caught.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/bench_verify.py [--limit 30]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from pipeline.records import Task
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=30, help="functions (two jobs each)")
    args = parser.parse_args()
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
