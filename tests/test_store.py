from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.records import Sample
from pipeline.store import SCHEMA_VERSION, Workspace, WorkspaceError
from pipeline.store.samples import count_samples, insert_samples, kept_ids, set_dropped
from pipeline.store.status import funnel


def _sample(name: str, code: str = "def f():\n    return 1\n") -> Sample:
    return Sample("tree", "python", "repo", "a.py", name, 1, "Doc.", code, code)


def test_init_writes_config_and_wal_database(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    assert (tmp_path / "w" / "wavecurate.toml").read_text().startswith("# wavecurate")
    mode = ws.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert ws.schema_version == SCHEMA_VERSION


def test_open_missing_workspace_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace here"):
        Workspace(tmp_path / "nope")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    db = sqlite3.connect(tmp_path / "wavecurate.db")
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace(tmp_path)


def test_insert_is_idempotent_and_keeps_order(ws: Workspace) -> None:
    samples = [_sample("a"), _sample("b", "def g():\n    return 2\n")]
    assert insert_samples(ws, samples) == 2
    assert insert_samples(ws, samples) == 0
    assert len(kept_ids(ws)) == 2
    set_dropped(ws, {samples[0].id: "length"})
    counts = count_samples(ws)
    assert counts == {
        "ingested": 2,
        "kept": 1,
        "dropped": {"length": 1},
        "by_source": {"tree": 1},
        "by_language": {"python": 1},
    }


def test_run_rows_record_counts_and_interruptions(ws: Workspace) -> None:
    with ws.run("ingest") as run:
        run.counts["added"] = 3
    with pytest.raises(KeyboardInterrupt), ws.run("filter"):
        raise KeyboardInterrupt
    runs = {r["stage"]: r for r in ws.last_runs()}
    assert runs["ingest"]["counts"] == {"added": 3}
    assert runs["ingest"]["status"] == "done"
    assert runs["filter"]["status"] == "interrupted"


def test_funnel_of_empty_workspace(ws: Workspace) -> None:
    f = funnel(ws)
    assert f["ingested"] == 0 and f["coreset"] == 0 and f["accepted"] == 0
    assert f["schema_version"] == SCHEMA_VERSION


def test_stage_is_current_only_for_the_same_settings_and_inputs(ws: Workspace) -> None:
    from pipeline.config import FilterConfig

    def runs() -> int:
        return int(ws.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    cfg = FilterConfig()
    with ws.stage("filter", cfg, ["a", "b"]) as run:
        assert not run.current
        run.counts["kept"] = 2
    assert ws.last_runs()[-1]["counts"] == {"kept": 2} and runs() == 1
    with ws.stage("filter", cfg, ["a", "b"]) as run:
        assert run.current
    assert runs() == 1  # current: nothing recorded
    with ws.stage("filter", cfg, ["a", "b"], force=True) as run:
        assert not run.current
    with ws.stage("filter", FilterConfig(min_chars=1), ["a", "b"]) as run:
        assert not run.current
        run.complete = False  # stopped early: the next run must not call it current
    with ws.stage("filter", FilterConfig(min_chars=1), ["a", "b"]) as run:
        assert not run.current
    with ws.stage("filter", FilterConfig(min_chars=1), ["a", "b", "c"]) as run:
        assert not run.current
    with pytest.raises(RuntimeError), ws.stage("filter", cfg, ["x"]):
        raise RuntimeError("boom")
    assert ws.last_runs()[-1]["status"] == "failed"
    with ws.stage("filter", cfg, ["x"]) as run:
        assert not run.current  # a failed run stored no state
    assert runs() == 7
