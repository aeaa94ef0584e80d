"""The Ray executor on a real local Ray cluster, compared with the local executor.

Ray binds to the machine's network interface even when told 127.0.0.1, and tests may talk only to
loopback, so this module runs itself again inside a network namespace that holds nothing but
loopback (`unshare -n`, then `ip link set lo up`; `unshare -rn` when not root), with
`RAY_USAGE_STATS_ENABLED=0`: `test_in_a_loopback_namespace` is the only test collected outside,
and the real tests (one cluster for the module) run inside. Skipped only when Ray is not installed
(`pip install -e ".[ray]"`; the `test` extra brings it).

Each comparison times the local run and the Ray run of the same work and prints both (no timing
assert: Ray's start-up and its actors dominate at this size).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')

INSIDE = os.environ.get("WAVECURATE_TEST_NETNS") == "1"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(INSIDE, reason="already inside the loopback-only namespace")
def test_in_a_loopback_namespace() -> None:
    """Run this module's Ray tests inside a network namespace holding only loopback."""
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    inner = (
        f"ip link set lo up && exec {sys.executable} -m pytest {__file__} -q -x -s "
        "-p no:cacheprovider -o addopts='' --durations=0 -k 'not test_in_a_loopback_namespace'"
    )
    env = {**os.environ, "WAVECURATE_TEST_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [*unshare, "sh", "-c", inner], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=1500,
    )  # fmt: skip
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "deselected" in summary, summary


inside = pytest.mark.skipif(not INSIDE, reason="runs inside the loopback namespace (see above)")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """One local Ray cluster for the module, started by wavecurate's own `connect_ray`."""
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.pop("RAY_USAGE_STATS_ENABLED", None)  # wavecurate must turn it off itself
    from pipeline.executor import connect_ray

    ray = connect_ray()
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    assert ray.nodes()[0]["NodeManagerAddress"] == "127.0.0.1"
    yield ray
    ray.shutdown()


def _timed(label: str, fn: Any) -> Any:
    started = time.perf_counter()
    out = fn()
    print(f"\n  {label}: {time.perf_counter() - started:.1f} s")
    return out


@inside
def test_map_batches_returns_every_item_once_and_surfaces_errors(ray_cluster: Any) -> None:
    from pipeline.executor import LocalExecutor, RayExecutor

    items = list(range(103))
    factory = functools.partial(_scaled, 3)
    got: dict[int, Any] = {}

    def run() -> None:
        for idx, out in RayExecutor().map_batches(factory, items, batch_size=10, workers=2):
            for i, value in zip(idx, out, strict=True):
                assert i not in got
                got[i] = value

    _timed("map_batches, 103 items in 11 batches on 2 actors", run)
    local = {i: v for idx, out in LocalExecutor().map_batches(factory, items, batch_size=10)
             for i, v in zip(idx, out, strict=True)}  # fmt: skip
    assert got == local == {i: 3 * i for i in items}
    with pytest.raises(Exception, match="boom"):
        _timed(
            "map_batches whose work raises",
            lambda: list(RayExecutor().map_batches(_broken, items, batch_size=10, workers=2)),
        )


def _scaled(k: int) -> Any:
    return lambda xs: [k * x for x in xs]


def _broken() -> Any:
    def fn(xs: list[Any]) -> list[Any]:
        raise ValueError("boom")

    return fn


@inside
def test_embed_on_ray_equals_local_and_resumes(
    ray_cluster: Any, tmp_path: Path, embedding_model: Any
) -> None:
    from test_llm_samples import SAMPLES

    from pipeline.config import EmbedConfig
    from pipeline.executor import RayExecutor
    from pipeline.stages.embed import embed_samples, load_kept_embeddings
    from pipeline.store import Workspace
    from pipeline.store.samples import insert_samples

    cfg = EmbedConfig(batch_size=8)
    spaces = {}
    for name in ("local", "ray"):
        ws = Workspace.init(tmp_path / name)
        insert_samples(ws, SAMPLES)
        spaces[name] = ws
    local = _timed(
        "embed, local executor", lambda: embed_samples(spaces["local"], embedding_model, cfg=cfg)
    )
    ray_run = _timed(
        "embed, ray executor (2 actors, each loads the model)",
        lambda: embed_samples(
            spaces["ray"], _no_model, RayExecutor(), cfg=dataclasses.replace(cfg, workers=2)
        ),
    )
    assert ray_run.embedded == local.embedded == len(SAMPLES)
    a, b = (load_kept_embeddings(spaces[n], cfg) for n in ("local", "ray"))
    assert a.ids == b.ids
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    again = embed_samples(
        spaces["ray"], _no_model, RayExecutor(), cfg=dataclasses.replace(cfg, workers=2)
    )
    assert again.current and again.embedded == 0
    for ws in spaces.values():
        ws.close()


def _no_model() -> Any:
    raise AssertionError("the ray executor must not load a model in the driver")


@inside
def test_generate_on_ray_makes_the_local_instances(ray_cluster: Any, tmp_path: Path) -> None:
    from test_llm_samples import seed_workspace

    from pipeline.cli.steps import Resources
    from pipeline.progress import no_progress
    from pipeline.stages.generate import generate_instances
    from pipeline.store import Workspace

    out = {}
    for name in ("local", "ray"):
        ws = Workspace.init(tmp_path / name)
        seed_workspace(ws)
        cfg = ws.config
        cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, executor=name, workers=2))
        res = Resources(ws, cfg, progress=no_progress)
        report = _timed(
            f"generate, {name} executor",
            lambda ws=ws, res=res, cfg=cfg: generate_instances(
                ws, res.llm("generate", need_key=False), cfg=cfg.generate
            ),
        )
        assert report.counts["calls"] > 0 and not report.stopped
        out[name] = [
            dict(r)
            for r in ws.db.execute(
                "SELECT id, sample_id, task, instruction, input, output, status, call_key "
                "FROM instances ORDER BY id"
            )
        ]
        again = generate_instances(ws, res.llm("generate", need_key=False), cfg=cfg.generate)
        assert again.current
        ws.close()
    assert out["ray"] == out["local"] and len(out["local"]) > 5


@inside
def test_verify_adapter_on_ray_gives_the_local_verdicts(ray_cluster: Any) -> None:
    from pipeline.executor import LocalExecutor, RayExecutor
    from pipeline.executor.workers import verify_on
    from pipeline.records import Task
    from pipeline.verify.differential import verify_instance
    from pipeline.verify.model import ExecJob

    ref = "def clamp(x, lo, hi):\n    '''Clamp x.\n\n    >>> clamp(5, 0, 3)\n    3\n    '''\n    return max(lo, min(x, hi))\n"
    jobs = [
        ExecJob("same", Task.GENERATION, "python", "clamp", ref, ref),
        ExecJob("wrong", Task.GENERATION, "python", "clamp", ref, ref.replace("max(lo", "min(lo")),
        ExecJob("broken", Task.GENERATION, "python", "clamp", ref, "def clamp(:\n"),
        ExecJob("summary", Task.SUMMARIZATION, "python", "clamp", ref, ""),
        ExecJob("go", Task.GENERATION, "go", "clamp", "func clamp() {}", ""),
    ]
    local = _timed(
        "verify, in this process", lambda: {j.key: verify_instance(j).to_json() for j in jobs}
    )
    ray_run = _timed(
        "verify, ray executor (2 actors)",
        lambda: {
            j.key: v.to_json() for j, v in verify_on(RayExecutor(), jobs, workers=2, batch_size=2)
        },
    )
    through_local = {j.key: v.to_json() for j, v in verify_on(LocalExecutor(), jobs, batch_size=2)}
    for run in (local, ray_run, through_local):  # wall seconds differ from run to run
        for v in run.values():
            v.pop("seconds")
    assert ray_run == local == through_local
    assert local["same"]["verdict"] == "pass" and local["wrong"]["verdict"] == "fail"


@inside
def test_verify_stage_on_ray_stores_the_local_verdicts(ray_cluster: Any, tmp_path: Path) -> None:
    """The verify stage itself through the Ray executor: the same verdicts as the local path,
    and a second run is current."""
    from test_verify_stage import _corpus

    from pipeline.executor import RayExecutor
    from pipeline.stages.verify import verify_instances
    from pipeline.store import Workspace

    out = {}
    for name in ("local", "ray"):
        ws = Workspace.init(tmp_path / name)
        _corpus(ws)
        executor = RayExecutor() if name == "ray" else None
        result = _timed(
            f"verify stage, {name} executor",
            lambda ws=ws, executor=executor: verify_instances(ws, executor, cfg=ws.config.verify),
        )
        assert result.verified > 0
        out[name] = {
            r[0]: (r[1], r[2])
            for r in ws.db.execute("SELECT instance_id, verdict, detail FROM executions")
        }
        assert verify_instances(ws, executor, cfg=ws.config.verify).current
        ws.close()
    assert out["ray"] == out["local"] and len(out["local"]) >= 3
