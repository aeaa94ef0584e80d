"""Paper scale on one machine: every stage that needs no LLM, on N kept samples.

    python benchmarks/bench_scale.py --n 1200000      # the paper: ~2,000,000 raw, 1,200,000 kept
    python benchmarks/bench_scale.py --n 100000 --k 2000

Builds a synthetic CodeSearchNet-format `.jsonl.gz` (a deterministic generator of code-like
Python functions with docstrings; about 40% of the raw records are dropped on the way, with rates
near CodeSearchNet's: empty docstrings, too short, too long, blacklisted words, exact duplicates,
near duplicates), then runs, each in its own process so its peak memory is its own:

    ingest (codesearchnet source) -> filter -> embed -> select k -> project -> generate (offline)
    -> the app's queries: the Overview funnel, the Map's labels/verdicts/projection, the Review
       queue

and prints seconds and peak RSS per stage and the workspace's size on disk.

**The embed stage runs with a stand-in encoder** (`HashedEncoder`: hashed token counts times a
fixed random projection to 384 dimensions, L2-normalised), through the real `embed_samples`
stage and the real embedding file, so what is measured is the stage's bookkeeping, not a neural
network: the real model embeds ~50 texts/s on this machine's 2 CPU cores (7 hours for 1.2M), which
is the job a GPU or a Ray cluster (`--executor ray`) exists for.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

STAGES = ("ingest", "filter", "embed", "select", "project", "generate", "queries")
KEPT_SHARE = 0.6  # kept / raw: CodeSearchNet's ~2.0M pairs -> the paper's ~1.2M

# raw record kinds and their shares (the rest are unique, kept samples)
KINDS = {
    "no_docstring": 0.04,  # skipped at ingest
    "too_short": 0.05,
    "too_long": 0.07,
    "blacklist": 0.04,
    "exact_duplicate": 0.12,
    "near_duplicate": 0.08,
}

_WORDS = (  # noqa: SIM905
    "value count index item name data result total key node list text line user path size "
    "state config buffer token record entry field offset length cache queue stack parent child "
    "left right start end source target header payload message event handler request response "
    "session client server table column row batch chunk limit score weight label group order"
).split()
_VERBS = (  # noqa: SIM905
    "get set parse build compute update load save merge split find check validate convert "
    "format render apply filter sort count reset read write create delete resolve normalize"
).split()


# -- the synthetic CodeSearchNet file ---------------------------------------------------------
def _name(rng: random.Random) -> str:
    return f"{rng.choice(_VERBS)}_{rng.choice(_WORDS)}_{rng.choice(_WORDS)}"


def _ident(rng: random.Random) -> str:
    return rng.choice(_WORDS) + (str(rng.randrange(10)) if rng.random() < 0.3 else "")


def _body_line(rng: random.Random, args: list[str], depth: int) -> list[str]:
    pad = "    " * depth
    a, b = rng.choice(args), _ident(rng)
    kind = rng.randrange(7)
    if kind == 0:
        return [f"{pad}{b} = {a} {rng.choice('+-*')} {rng.randrange(1, 100)}"]
    if kind == 1:
        return [f"{pad}if {a} {rng.choice(['>', '<', '==', '!='])} {rng.randrange(50)}:",
                f"{pad}    return {b}"]  # fmt: skip
    if kind == 2:
        return [f"{pad}for {b} in range(len({a})):", f"{pad}    {_ident(rng)} += {b} * {a}"]
    if kind == 3:
        return [f"{pad}{b}.append({_name(rng)}({a}, {_ident(rng)}))"]
    if kind == 4:
        return [f"{pad}{b} = {{{_ident(rng)!r}: {a}, {_ident(rng)!r}: {rng.randrange(1000)}}}"]
    if kind == 5:
        return [f"{pad}try:", f"{pad}    {b} = {_name(rng)}({a})",
                f"{pad}except (KeyError, ValueError):", f"{pad}    {b} = None"]  # fmt: skip
    return [f"{pad}{b} = [{_ident(rng)} for {_ident(rng)} in {a} if {_ident(rng)}]"]


def _function(rng: random.Random, lines: int) -> tuple[str, str, str]:
    """(func_name, docstring, code including the docstring)."""
    name = _name(rng)
    args = [_ident(rng) for _ in range(rng.randint(1, 4))]
    doc = f"{rng.choice(_VERBS).capitalize()} the {rng.choice(_WORDS)} of {rng.choice(_WORDS)}."
    if rng.random() < 0.5:
        doc += f" Returns the {rng.choice(_WORDS)} {rng.choice(_WORDS)}."
    body: list[str] = []
    while len(body) < lines:
        body += _body_line(rng, args, 1)
    body.append(f"    return {rng.choice(args)}")
    code = f'def {name}({", ".join(args)}):\n    """{doc}"""\n' + "\n".join(body) + "\n"
    return name, doc, code


def _near(rng: random.Random, code: str) -> str:
    """`code` with one more line near its end: a near duplicate (Jaccard ~0.9 on 5-shingles)."""
    lines = code.rstrip("\n").split("\n")
    lines.insert(len(lines) - 1, f"    {_ident(rng)} = None")
    return "\n".join(lines) + "\n"


def build_raw(path: Path, raw: int, seed: int = 0) -> dict[str, int]:
    """Write `raw` CodeSearchNet records (original field naming) to `path` (.jsonl.gz)."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    cum = np.cumsum([KINDS[k] for k in kinds]).tolist()
    counts = dict.fromkeys([*kinds, "unique"], 0)
    earlier: list[str] = []  # codes of unique records, drawn from for duplicates
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for i in range(raw):
            u = rng.random()
            kind = next((k for k, c in zip(kinds, cum, strict=True) if u < c), "unique")
            if kind in ("exact_duplicate", "near_duplicate") and not earlier:
                kind = "unique"
            counts[kind] += 1
            name, doc, code = _function(rng, rng.randint(3, 14))
            if kind == "too_short":
                code = f"def {name[:8]}():\n    return 1\n"
            elif kind == "too_long":
                code = code + "".join(_function(rng, 40)[2] for _ in range(2))
            elif kind == "blacklist":
                doc = f"Draw the {rng.choice(['image', 'graph', 'plot'])} of {_ident(rng)}."
                code = code.replace('"""', f'"""{doc} ', 1)
            elif kind == "exact_duplicate":
                code = rng.choice(earlier)
            elif kind == "near_duplicate":
                code = _near(rng, rng.choice(earlier))
            elif kind == "no_docstring":
                doc = ""
            if kind == "unique":
                if len(earlier) < 200_000:
                    earlier.append(code)
                else:
                    earlier[rng.randrange(len(earlier))] = code
            rec = {
                "repo": f"org{i % 997}/repo{i % 7919}",
                "path": f"src/mod{i % 101}/file{i}.py",
                "func_name": name,
                "original_string": code,
                "language": "python",
                "code": code,
                "code_tokens": [],
                "docstring": doc,
                "docstring_tokens": [],
                "url": f"https://github.com/org/repo/blob/main/file{i}.py#L{1 + i % 500}",
                "partition": "train",
            }
            f.write(json.dumps(rec) + "\n")
    return counts


# -- the stand-in encoder ---------------------------------------------------------------------
class HashedEncoder:
    """A stand-in for a sentence-transformers model (NOT a neural network): each text's word
    tokens hashed into 4,096 buckets, counted, and multiplied by a fixed random (4096, 384)
    matrix; rows L2-normalised. Deterministic; similar texts get similar vectors."""

    BUCKETS = 4096
    DIM = 384

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.proj = rng.standard_normal((self.BUCKETS, self.DIM)).astype(np.float32)
        import re

        self._token = re.compile(r"\w+")

    def get_sentence_embedding_dimension(self) -> int:
        return self.DIM

    def encode(self, texts: list[str], **_: Any) -> npt.NDArray[np.float32]:
        import zlib

        from scipy.sparse import csr_matrix

        indptr = [0]
        cols: list[int] = []
        for t in texts:
            cols += [zlib.crc32(w.encode()) % self.BUCKETS for w in self._token.findall(t)]
            indptr.append(len(cols))
        m = csr_matrix(
            (np.ones(len(cols), np.float32), np.asarray(cols, np.int64), np.asarray(indptr)),
            shape=(len(texts), self.BUCKETS),
        )
        out = np.asarray(m @ self.proj, dtype=np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
        return out


# -- one stage per process --------------------------------------------------------------------
def _peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_stage(stage: str, ws_root: Path, data: Path, k: int) -> dict[str, Any]:
    """Run one stage on the workspace; return {seconds, peak_mib, note}."""
    from pipeline.cli.steps import Resources
    from pipeline.config import IngestConfig
    from pipeline.progress import no_progress
    from pipeline.store import Workspace

    started = time.perf_counter()
    note = ""
    with Workspace(ws_root) as ws:
        cfg = ws.config
        if stage == "ingest":
            from pipeline.stages.ingest import ingest

            report = ingest(ws, cfg=IngestConfig(source="codesearchnet", paths=[str(data)]))
            note = f"{report.tally.read:,} read, {report.added:,} stored"
        elif stage == "filter":
            from pipeline.stages.filter import filter_samples

            result = filter_samples(ws, cfg=cfg.filter)
            note = f"{result.kept:,} kept; dropped {result.dropped()}"
        elif stage == "embed":
            from pipeline.stages.embed import embed_samples

            ecfg = dataclasses.replace(cfg.embed, batch_size=4096)
            er = embed_samples(ws, HashedEncoder(), cfg=ecfg)  # type: ignore[arg-type]
            note = f"{er.embedded:,} embedded (stand-in encoder), {er.cached:,} cached"
        elif stage in ("select", "project"):
            from pipeline.stages.embed import load_kept_embeddings

            kept = load_kept_embeddings(ws, cfg.embed)
            if stage == "select":
                from pipeline.stages.select import select_coreset

                scfg = dataclasses.replace(cfg.select, k=k)
                sr = select_coreset(ws, kept, cfg=scfg)
                note = f"k={sr.size:,} radius {sr.radius:.4f} ({sr.seconds:.1f} s picking)"
            else:
                from pipeline.stages.project import project_samples

                pr = project_samples(ws, kept, cfg=cfg.project)
                note = f"{pr.projected:,} projected, fitted on {pr.fitted:,}"
        elif stage == "generate":
            from pipeline.stages.generate import generate_instances

            res = Resources(ws, progress=no_progress)
            gr = generate_instances(ws, res.llm("generate", need_key=False), cfg=cfg.generate)
            note = f"{gr.counts.get('calls', 0):,} calls (offline provider)"
        elif stage == "queries":
            note = _queries(ws)
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": _peak_rss_mib(),
        "note": note,
    }


def _queries(ws: Any) -> str:
    """The reads the app's Overview, Map and Review pages make, timed one by one."""
    from pipeline.store.maps import sample_labels, sample_verdicts
    from pipeline.store.queue import queue_facets, queue_rows
    from pipeline.store.status import funnel
    from pipeline.store.vectors import coreset_rows, projection_rows

    parts = []
    for name, fn in (
        ("funnel", funnel),
        ("labels", sample_labels),
        ("verdicts", sample_verdicts),
        ("projection", projection_rows),
        ("coreset", coreset_rows),
        ("queue", queue_rows),
        ("facets", queue_facets),
    ):
        t = time.perf_counter()
        out = fn(ws)
        parts.append(f"{name} {time.perf_counter() - t:.2f}s/{len(out):,}")
    return ", ".join(parts)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_200_000, help="kept samples to aim for")
    ap.add_argument("--k", type=int, default=20_000, help="coreset size")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages to run")
    ap.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage in this process
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.dir / "ws", args.dir / "csn.jsonl.gz", args.k)))
        return
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "csn.jsonl.gz"
    raw = round(args.n / KEPT_SHARE)
    if not data.exists():
        t = time.perf_counter()
        counts = build_raw(data, raw)
        print(f"built {raw:,} raw records in {time.perf_counter() - t:.1f} s: {counts}")
    from pipeline.store import Workspace

    Workspace.init(work / "ws").close()
    print(f"N={args.n:,} (raw {raw:,}), k={args.k:,}, work folder {work}")
    print("| stage | wall s | CPU s | peak RSS (MiB) | workspace on disk (MiB) | |")
    print("|---|---:|---:|---:|---:|---|")
    for stage in args.stages.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--stage", stage, "--dir", str(work), "--k", str(args.k)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        if proc.returncode != 0:
            print(f"| {stage} | failed | | | | {proc.stderr.strip().splitlines()[-1:]} |")
            print(proc.stderr[-3000:], file=sys.stderr)
            break
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        size = _du(work / "ws") / 2**20
        print(
            f"| {stage} | {r['seconds']:.1f} | {r['cpu_s']:.1f} | {r['peak_mib']:,.0f} "
            f"| {size:,.0f} | {r['note']} |"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
