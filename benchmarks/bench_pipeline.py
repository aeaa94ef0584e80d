"""The whole offline demo pipeline against one plain embedding pass, side by side in one run.

    .venv/bin/python benchmarks/bench_pipeline.py               # a fresh workspace under /tmp
    .venv/bin/python benchmarks/bench_pipeline.py --keep DIR    # keep the workspace in DIR

Measures, in this order, in one process run on this machine:
- (b) pipeline: `wavecurate demo --no-app -w <fresh folder>` in a subprocess: ingest the standard
  library, filter, embed, select, project, generate, judge, decontaminate, all offline.
- (a) baseline: one plain sentence-transformers fp32 pass (`SentenceTransformer.encode`, batch 64,
  on the CPU) over the texts the demo kept and embedded (as `[embed] text` names them), with the
  default model loaded from its package folder. Model loading is timed apart and not counted.
- (c) re-run: `wavecurate run -w <same folder>` with nothing new.
Prints seconds, the ratios pipeline / baseline and re-run / baseline, and each stage's own seconds
from the workspace's `runs` table. The issue's aims: pipeline <= 1.0x, re-run <= 0.1x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


_NUMBA_CACHE = Path(tempfile.mkdtemp(prefix="wavecurate-bench-numba-"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    # an empty numba cache, as on a fresh machine: the demo pays UMAP's compilation
    env["NUMBA_CACHE_DIR"] = str(_NUMBA_CACHE)
    return env


def run_cli(args: list[str], log: Path) -> float:
    """Run `python -m pipeline ARGS` and return its wall seconds; output goes to `log`."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"`wavecurate {' '.join(args)}` failed (exit {proc.returncode}); see {log}")
    return seconds


def stage_runs(workspace: Path) -> dict[str, tuple[float, str]]:
    """{stage: (seconds, finished_at)} of each stage's latest finished run."""
    from pipeline.store import Workspace

    with Workspace(workspace) as ws:
        return {
            r["stage"]: (round(float(r["seconds"] or 0.0), 1), str(r["finished_at"]))
            for r in ws.last_runs()
        }


def kept_texts(workspace: Path) -> list[str]:
    """The distinct texts the demo's embed stage embedded, as `[embed] text` names them."""
    from pipeline.stages.embed import kept_texts as texts_of
    from pipeline.store import Workspace

    with Workspace(workspace) as ws:
        _, _, texts = texts_of(ws, ws.config.embed.text)
    return list(texts.values())


def plain_pass(texts: list[str], batch_size: int) -> tuple[float, float]:
    """(seconds loading, seconds encoding) for one plain sentence-transformers fp32 pass."""
    from sentence_transformers import SentenceTransformer

    from pipeline.embedding import DEFAULT_MODEL, resolve_model_path

    started = time.perf_counter()
    model = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    return loaded, time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--keep", type=Path, help="run the demo in this folder and keep it")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wavecurate-bench-"))
    workspace = args.keep or tmp / "demo"
    if workspace.exists():
        sys.exit(f"{workspace} exists; the benchmark needs a fresh workspace")
    try:
        pipeline_s = run_cli(["demo", "--no-app", "-w", str(workspace)], tmp / "demo.log")
        stages = stage_runs(workspace)
        texts = kept_texts(workspace)
        load_s, baseline_s = plain_pass(texts, args.batch_size)
        rerun_s = run_cli(["run", "-w", str(workspace)], tmp / "rerun.log")
        rerun_stages = stage_runs(workspace)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    figures: dict[str, Any] = {
        "kept_texts": len(texts),
        "baseline_encode_s": round(baseline_s, 1),
        "baseline_load_s": round(load_s, 1),
        "pipeline_s": round(pipeline_s, 1),
        "rerun_s": round(rerun_s, 1),
        "pipeline_over_baseline": round(pipeline_s / baseline_s, 2),
        "rerun_over_baseline": round(rerun_s / baseline_s, 2),
        "stages_s": {k: s for k, (s, _) in stages.items()},
        # stages with a newer run after (c): they did (or at least recorded) work again
        "rerun_stages_s": {
            k: s for k, (s, at) in rerun_stages.items() if stages.get(k, (0, ""))[1] != at
        },
    }
    print(f"kept texts                            {len(texts):>8,}")
    print(f"(a) plain sentence-transformers fp32  {baseline_s:>8.1f} s  (+{load_s:.1f} s loading)")
    print(f"(b) demo --no-app, fresh workspace    {pipeline_s:>8.1f} s  "
          f"{pipeline_s / baseline_s:.2f}x the plain pass (aim <= 1.0x)")  # fmt: skip
    print(f"(c) run again, nothing new            {rerun_s:>8.1f} s  "
          f"{rerun_s / baseline_s:.2f}x the plain pass (aim <= 0.1x)")  # fmt: skip
    print("stage seconds (b): " + ", ".join(f"{k} {v}" for k, v in figures["stages_s"].items()))
    if figures["rerun_stages_s"]:
        print("stages that ran again (c): "
              + ", ".join(f"{k} {v}" for k, v in figures["rerun_stages_s"].items()))  # fmt: skip
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
