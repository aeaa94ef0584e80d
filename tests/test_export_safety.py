"""`export` never harms the workspace: it refuses the workspace's own files and files it did not
write, writes atomically with the usual permissions, cleans up after a killed export, and is one
consistent snapshot while reviewers write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_export_helpers import add_instance, add_judge, make_corpus

from pipeline.cli import main
from pipeline.stages.export import ExportFilters, build_export
from pipeline.store import Workspace

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    with Workspace.init(tmp_path / "ws") as ws:
        make_corpus(ws)
        (ws.embeddings_dir).mkdir(exist_ok=True)
        (ws.embeddings_dir / "m.npy").write_bytes(b"vectors")
    return tmp_path / "ws"


def _export(corpus: Path, out: Path | str, *extra: str) -> int:
    return main(["export", "--out", str(out), "-w", str(corpus), *extra])


@pytest.mark.parametrize(
    "name",
    ["wavecurate.db", "wavecurate.db-wal", "wavecurate.db-shm", "wavecurate.toml",
     "embeddings", "embeddings/m.npy", "embeddings/new.jsonl"],
)  # fmt: skip
def test_export_refuses_the_workspace_files(
    corpus: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db_before = (corpus / "wavecurate.db").read_bytes()
    toml_before = (corpus / "wavecurate.toml").read_bytes()
    for force in ((), ("--force",)):
        assert _export(corpus, corpus / name, *force) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "refusing to write over the workspace's" in err
        assert err.count("\n") == 1
    assert (corpus / "wavecurate.db").read_bytes() == db_before
    assert (corpus / "wavecurate.toml").read_bytes() == toml_before
    with Workspace(corpus) as ws:
        assert ws.db.execute("SELECT COUNT(*) FROM instances").fetchone()[0] == 8


def test_export_refuses_relative_paths_symlinks_and_sidecars_into_the_workspace(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(corpus / "embeddings")
    assert _export(corpus, Path("..") / "wavecurate.db") == 1  # relative
    link = tmp_path / "innocent.jsonl"
    link.symlink_to(corpus / "wavecurate.toml")
    assert _export(corpus, link) == 1  # a symlink to the config
    assert link.is_symlink() and link.resolve() == corpus / "wavecurate.toml"
    # x.jsonl is fine but its card would be the config: `wavecurate.card.md` is not, so use
    # a folder symlink that puts the sidecar inside embeddings/
    (tmp_path / "emb").symlink_to(corpus / "embeddings")
    assert _export(corpus, tmp_path / "emb" / "d.jsonl") == 1
    assert (corpus / "wavecurate.toml").read_text().startswith("#")


def test_export_replaces_its_own_files_but_no_other_without_force(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d.jsonl"
    assert _export(corpus, out) == 0
    first = out.read_bytes()
    assert _export(corpus, out, "--format", "full") == 0  # our own export: replaced
    assert out.read_bytes() != first
    capsys.readouterr()

    other = tmp_path / "notes.jsonl"
    other.write_text("my notes\n")
    assert _export(corpus, other) == 1
    err = capsys.readouterr().err
    assert "exists and is not an earlier wavecurate export; pass --force" in err
    assert other.read_text() == "my notes\n"
    assert not (tmp_path / "notes.manifest.json").exists()

    out.write_text("edited by hand\n")  # no longer what its manifest describes
    assert _export(corpus, out) == 1
    assert out.read_text() == "edited by hand\n"

    card = tmp_path / "n2.card.md"  # a foreign sidecar counts too
    card.write_text("my card\n")
    assert _export(corpus, tmp_path / "n2.jsonl") == 1
    assert card.read_text() == "my card\n"

    assert _export(corpus, other, "--force") == 0
    assert json.loads(other.read_text().splitlines()[0])["instruction"] == "Add one."


def test_export_files_get_the_umask_permissions_and_stale_temporaries_go(
    corpus: Path, tmp_path: Path
) -> None:
    stale = [tmp_path / ".d.jsonl.abc123.tmp", tmp_path / ".d.card.md.x.tmp"]
    for p in stale:
        p.write_text("left by a killed export")
    unrelated = tmp_path / ".other.jsonl.abc.tmp"
    unrelated.write_text("not ours")
    old = os.umask(0o022)
    try:
        assert _export(corpus, tmp_path / "d.jsonl") == 0
    finally:
        os.umask(old)
    for name in ("d.jsonl", "d.manifest.json", "d.card.md"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    assert not any(p.exists() for p in stale)
    assert unrelated.exists()
    assert sorted(p.name for p in tmp_path.glob(".*.tmp")) == [unrelated.name]


WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [sys.argv[2], sys.argv[3]]
    from test_export_helpers import add_review
    from pipeline.store import Workspace
    ws = Workspace(sys.argv[1])
    end = time.monotonic() + float(sys.argv[4])
    n = 0
    while time.monotonic() < end:
        for i in range(40):
            add_review(ws, f"s{i:02d}", f"r{n % 3}", "accept" if (n + i) % 2 else "reject")
        n += 1
    print(n)
    """
)


def test_an_export_is_one_snapshot_while_reviewers_write(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        for i in range(40):
            add_instance(ws, f"s{i:02d}")
            add_judge(ws, f"s{i:02d}", "accept")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "ws"), str(TESTS), str(ROOT), "6"],
        stdout=subprocess.PIPE,
        text=True,
    )
    exports = 0
    try:
        time.sleep(0.5)
        with Workspace(tmp_path / "ws") as ws:
            while writer.poll() is None:
                export = build_export(
                    ws, ws.config, cfg=ws.config.export.select("full", ExportFilters())
                )
                exports += 1
                rows = [json.loads(line) for line in export.jsonl.splitlines()]
                assert export.manifest["count"] == len(rows)
                assert f"| exportable | {len(rows)} |" in export.card
                for row in rows:
                    effective = [r for r in row["reviews"] if r["effective"]]
                    if effective:
                        assert row["human_verdict"] == effective[-1]["verdict"] == "accept"
    finally:
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0 and int(out) > 2  # the writer wrote all along
    assert exports >= 3
