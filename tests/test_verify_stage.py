"""The verify stage end to end on real standard-library functions: verdicts stored per instance,
the gate in the final verdict (status, export, queue), a second run that does nothing, and
resumability after a real `wavecurate verify` is killed with SIGKILL."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_export_helpers import add_instance, add_judge, add_review

from pipeline.config import VerifyConfig
from pipeline.records import Sample
from pipeline.review import Disagreement, QueueFilter, filter_rows
from pipeline.stages.export import ExportFilters, build_export
from pipeline.stages.verify import verify_instances
from pipeline.store import Workspace
from pipeline.store.executions import execution_counts, execution_for, execution_verdicts
from pipeline.store.instances import pool_rows
from pipeline.store.queue import queue_rows
from pipeline.store.samples import insert_samples
from pipeline.store.status import funnel
from pipeline.verify.stdlib_cases import plant_bug, stdlib_function

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def _sample(ws: Workspace, module: str, name: str) -> tuple[str, str]:
    """A stdlib sample of `module.name` with its file's imports; returns (sample id, code)."""
    fn = stdlib_function(module, name)
    sample = Sample(
        "stdlib", "python", "python-stdlib", f"{module}.py", name, 1, "doc", fn.code, fn.code,
        imports=fn.imports,
    )  # fmt: skip
    insert_samples(ws, [sample])
    return sample.id, fn.code


def _bug(code: str) -> str:
    bug = plant_bug(code)
    assert bug is not None
    return bug


def _corpus(ws: Workspace) -> None:
    """g_ok: generation, the function itself (judge accepts); g_bug: generation with a planted
    bug (judge accepts: fooled); r_ok: repair whose bug shows (judge rejects); r_invisible:
    repair whose 'bug' is the function unchanged (not judged); s: summary (judge accepts)."""
    sid, code = _sample(ws, "textwrap", "indent")
    add_instance(ws, "g_ok", sample_id=sid, output=code)
    add_judge(ws, "g_ok", "accept")
    sid2, code2 = _sample(ws, "colorsys", "rgb_to_hsv")
    add_instance(ws, "g_bug", sample_id=sid2, output=_bug(code2))
    add_judge(ws, "g_bug", "accept")
    sid3, code3 = _sample(ws, "calendar", "isleap")
    add_instance(ws, "r_ok", sample_id=sid3, task="code_repair", input=_bug(code3), output=code3)
    add_judge(ws, "r_ok", "reject")
    add_instance(ws, "r_invisible", sample_id=sid3, task="code_repair", input=code3, output=code3)
    add_instance(ws, "s", sample_id=sid, task="code_summarization", output="Indents lines.")
    add_judge(ws, "s", "accept")


def _exported(ws: Workspace, *verdicts: str) -> dict[str, dict[str, object]]:
    filters = ExportFilters(verdicts=verdicts or ("accept",))
    cfg = ws.config.export.select("full", filters)
    return {r["id"]: r for r in build_export(ws, ws.config, cfg=cfg).rows}


def test_stage_stores_a_verdict_per_instance_and_the_gate_rejects(ws: Workspace) -> None:
    _corpus(ws)
    result = verify_instances(ws, cfg=VerifyConfig())
    assert result.verified == 5 and not result.current
    assert execution_verdicts(ws) == {
        "g_ok": "pass",
        "g_bug": "fail",
        "r_ok": "pass",
        "r_invisible": "fail",
        "s": "not_applicable",
    }
    fail = execution_for(ws, "g_bug")
    assert fail is not None and fail.failing_input and fail.expected != fail.got
    assert fail.failing_input in fail.inputs
    invisible = execution_for(ws, "r_invisible")
    assert invisible is not None and "changes nothing observable" in invisible.detail
    assert execution_counts(ws) == {"pass": 2, "fail": 2, "inconclusive": 0, "not_applicable": 1}
    assert result.by_task["code_generation"] == {
        "pass": 1, "fail": 1, "inconclusive": 0, "not_applicable": 0,
    }  # fmt: skip

    # the gate: the judge's accept of g_bug is overruled by the failed execution
    f = funnel(ws)
    assert f["execution"] == execution_counts(ws)
    assert f["rejected_by_execution"] == 2  # g_bug and r_invisible (not judged)
    assert f["accepted"] == 2  # g_ok, s
    accepted = _exported(ws)
    assert set(accepted) == {"g_ok", "s"}
    execution = accepted["g_ok"]["execution"]
    assert isinstance(execution, dict) and execution["verdict"] == "pass" and execution["inputs"]
    rejected = _exported(ws, "reject")
    assert rejected["g_bug"]["verdict_source"] == "execution"
    assert rejected["g_bug"]["judge_verdict"] == "accept"
    g_bug = rejected["g_bug"]["execution"]
    assert isinstance(g_bug, dict) and g_bug["failing_input"] == fail.failing_input

    # a person's review still wins over the gate
    add_review(ws, "g_bug", "alice", "accept")
    assert "g_bug" in _exported(ws)


def test_gate_off_leaves_the_judge_deciding(ws: Workspace) -> None:
    _corpus(ws)
    verify_instances(ws, cfg=VerifyConfig(gate=False))
    assert funnel(ws)["rejected_by_execution"] == 0
    assert "g_bug" in _exported(ws)
    # the setting in wavecurate.toml reaches the view when the workspace is opened
    ws.config_path.write_text("[verify]\ngate = true\n", encoding="utf-8")
    with Workspace(ws.root) as again:
        assert "g_bug" not in _exported(again)


def test_queue_filters_on_judge_vs_execution(ws: Workspace) -> None:
    _corpus(ws)
    verify_instances(ws, cfg=VerifyConfig())
    rows = queue_rows(ws)
    assert {r.instance_id: r.execution_verdict for r in rows}["g_bug"] == "fail"
    f = QueueFilter(disagreement=Disagreement.JUDGE_ACCEPTS_EXEC_FAILS)
    assert [r.instance_id for r in filter_rows(rows, f)] == ["g_bug"]
    f = QueueFilter(disagreement=Disagreement.JUDGE_REJECTS_EXEC_PASSES)
    assert [r.instance_id for r in filter_rows(rows, f)] == ["r_ok"]
    f = QueueFilter(execution_verdicts=frozenset({"not_applicable"}))
    assert [r.instance_id for r in filter_rows(rows, f)] == ["s"]


def _stamps(ws: Workspace) -> dict[str, str]:
    return {r[0]: r[1] for r in ws.db.execute("SELECT instance_id, created_at FROM executions")}


def test_second_run_does_nothing_and_changed_settings_redo(ws: Workspace) -> None:
    _corpus(ws)
    verify_instances(ws, cfg=VerifyConfig())
    stamps = _stamps(ws)
    again = verify_instances(ws, cfg=VerifyConfig())
    assert again.current and again.verified == 0 and again.already == 5
    assert _stamps(ws) == stamps
    # gate and workers do not decide a verdict: still current
    assert verify_instances(ws, cfg=VerifyConfig(gate=False, workers=1)).verified == 0
    # a new instance: only it runs
    sid, code = _sample(ws, "html", "escape")
    add_instance(ws, "g_new", sample_id=sid, output=code)
    assert verify_instances(ws, cfg=VerifyConfig()).verified == 1
    assert {k: v for k, v in _stamps(ws).items() if k in stamps} == stamps
    # an instance whose output changed (a retried generation): only it runs again
    with ws.write() as db:
        db.execute("UPDATE instances SET output = output || '\n# again\n' WHERE id = 'g_ok'")
    assert verify_instances(ws, cfg=VerifyConfig()).verified == 1
    # a setting a verdict depends on: every one is redone
    assert verify_instances(ws, cfg=VerifyConfig(max_inputs=12)).verified == 6


def _rows(db: Path) -> dict[str, str]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT instance_id, created_at FROM executions").fetchall())
    finally:
        con.close()


def test_a_killed_run_keeps_its_verdicts_and_the_rerun_does_only_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "w"
    total = 16
    with Workspace.init(root) as ws:
        ws.config_path.write_text("[verify]\nworkers = 1\n", encoding="utf-8")
        sid, code = _sample(ws, "textwrap", "indent")
        for i in range(total):
            add_instance(ws, f"g{i:02d}", sample_id=sid, output=f"{code}\n# variant {i}\n")
    cmd = [sys.executable, "-m", "pipeline", "verify", "-w", str(root), "--json"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while len(_rows(root / "wavecurate.db")) < 2:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = _rows(root / "wavecurate.db")
    assert 2 <= len(before) < total
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(done.stdout)
    assert report["verified"] == total - len(before)
    assert report["already"] == len(before)
    after = _rows(root / "wavecurate.db")
    assert len(after) == total
    assert {k: after[k] for k in before} == before  # nothing finished was redone
    third = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(third.stdout)["current"] is True
    assert _rows(root / "wavecurate.db") == after


@pytest.mark.parametrize("gate", [True, False])
def test_status_json_carries_execution_counts(tmp_path: Path, gate: bool) -> None:
    root = tmp_path / "w"
    with Workspace.init(root) as ws:
        ws.config_path.write_text(f"[verify]\ngate = {str(gate).lower()}\n", encoding="utf-8")
        _corpus(ws)
    run = [sys.executable, "-m", "pipeline"]
    subprocess.run([*run, "verify", "-w", str(root)], env=ENV, check=True, capture_output=True)
    out = subprocess.run([*run, "status", "-w", str(root), "--json"], env=ENV, check=True,
                         capture_output=True, text=True)  # fmt: skip
    status = json.loads(out.stdout)
    assert status["execution"] == {"pass": 2, "fail": 2, "inconclusive": 0, "not_applicable": 1}
    assert status["rejected_by_execution"] == (2 if gate else 0)


def test_few_shot_pool_shows_a_gate_reject_with_what_execution_found(ws: Workspace) -> None:
    _corpus(ws)
    verify_instances(ws, cfg=VerifyConfig())
    pool = {p.id: p for p in pool_rows(ws, "code_generation")}
    assert pool["g_bug"].verdict == "reject"
    assert pool["g_bug"].analysis.startswith("Running it against the original function: on ")
    assert pool["g_ok"].verdict == "accept"


def test_an_old_sample_without_imports_gets_them_when_ingested_again(ws: Workspace) -> None:
    fn = stdlib_function("textwrap", "dedent")
    bare = Sample("stdlib", "python", "r", "textwrap.py", "dedent", 1, "d", fn.code, fn.code)
    assert insert_samples(ws, [bare]) == 1
    again = dataclasses.replace(bare, imports=fn.imports)
    assert again.id == bare.id
    assert insert_samples(ws, [again]) == 0
    stored = ws.db.execute("SELECT imports FROM samples WHERE id = ?", (bare.id,)).fetchone()[0]
    assert stored == fn.imports
