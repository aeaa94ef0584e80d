"""A team on one workspace: what SQLite in WAL mode holds (reviewers at once, writes per second).

    python benchmarks/bench_team.py                      # 1, 2, 4, 8, 16 reviewers, 5 s each
    python benchmarks/bench_team.py --reviewers 1,8,32 --seconds 10

Each reviewer is its own process with its own connection (as each app session is), writing
reviews through `pipeline.store.reviews.add_review` back to back (no think time: the worst case),
while one more process reads the review queue (`queue_rows`, what the Review page reads) in a loop.
Prints, per team size: reviews written per second in all, the median and p99 latency of one
write, the longest, write errors (a `database is locked` past the busy timeout would show here),
and queue reads per second. A human reviewer writes about one review per 5-30 s, so the writes
per second divided by 0.2 is the number of people a workspace serves before writes queue.
The baseline is one reviewer alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from synthetic import build_workspace  # noqa: E402

WRITER = """
import json, sys, time
from pathlib import Path
from pipeline.store import Workspace
from pipeline.store.reviews import add_review
root, name, ids, go, seconds = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4], float(sys.argv[5])
ws = Workspace(Path(root))
while not Path(go).exists():
    time.sleep(0.002)
lat, errors, n = [], 0, 0
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    t = time.perf_counter()
    try:
        add_review(ws, ids[n % len(ids)], name, "accept" if n % 3 else "reject", reason=str(n))
    except Exception:
        errors += 1
    lat.append(time.perf_counter() - t)
    n += 1
ws.close()
print(json.dumps({"lat": lat, "errors": errors}))
"""

READER = """
import json, sys, time
from pathlib import Path
from pipeline.store import Workspace
from pipeline.store.queue import queue_rows
root, go, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
ws = Workspace(Path(root))
while not Path(go).exists():
    time.sleep(0.002)
n, end = 0, time.perf_counter() + seconds
while time.perf_counter() < end:
    queue_rows(ws)
    n += 1
print(json.dumps({"reads": n}))
"""


def run(root: Path, ids: list[str], reviewers: int, seconds: float) -> dict[str, float]:
    go = root.parent / f"go-{reviewers}"
    env_py = [sys.executable, "-c"]
    procs = [
        subprocess.Popen(
            [*env_py, WRITER, str(root), f"r{i}", ",".join(ids), str(go), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for i in range(reviewers)
    ]
    reader = subprocess.Popen(
        [*env_py, READER, str(root), str(go), str(seconds)], stdout=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    time.sleep(1.0 + 0.05 * reviewers)
    go.touch()
    lat: list[float] = []
    errors = 0
    for p in procs:
        out = json.loads(p.communicate(timeout=seconds + 120)[0])
        lat += out["lat"]
        errors += out["errors"]
    reads = json.loads(reader.communicate(timeout=seconds + 120)[0])["reads"]
    lat.sort()
    return {
        "writes_s": len(lat) / seconds,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)],
        "max_ms": 1000 * lat[-1],
        "errors": errors,
        "reads_s": reads / seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reviewers", default="1,2,4,8,16")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--instances", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_team_") as tmp:
        built = build_workspace(
            Path(tmp) / "w", samples=args.instances * 2, coreset=args.instances, reviewers=(),
            hostile=False,
        )  # fmt: skip
        ids = built.instance_ids
        print(f"{len(ids):,} instances; each reviewer writes back to back for {args.seconds} s")
        print("| reviewers | reviews/s | vs 1 reviewer | p50 ms | p99 ms | max ms | errors | "
              "queue reads/s |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = None
        for n in (int(x) for x in args.reviewers.split(",")):
            r = run(built.root, ids, n, args.seconds)
            base = base or r["writes_s"]
            print(
                f"| {n} | {r['writes_s']:,.0f} | {r['writes_s'] / base:.2f}x | {r['p50_ms']:.2f} "
                f"| {r['p99_ms']:.1f} | {r['max_ms']:.0f} | {r['errors']} | {r['reads_s']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
