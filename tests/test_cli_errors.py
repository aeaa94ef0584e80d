"""One top-level error handler: every known failure is one line on stderr naming the file or key,
a non-zero exit and no traceback; a closed pipe ends the command quietly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.store import Workspace
from pipeline.store.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "import sys; from pipeline.cli import main; sys.exit(main())"  # the console script


def wavecurate(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *argv], capture_output=True, text=True, env=env, cwd=cwd
    )


def one_line_error(done: subprocess.CompletedProcess[str], *names: str) -> str:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws"


@pytest.mark.parametrize("command", ["embed", "generate", "judge", "run", "filter", "status"])
def test_a_bad_config_is_one_line_naming_the_key(ws_root: Path, command: str) -> None:
    (ws_root / "wavecurate.toml").write_text("[filter]\nmin_chars = 'many'\n")
    done = wavecurate(command, "-w", str(ws_root))
    if command == "status":  # status reads no setting
        assert done.returncode == 0
        return
    one_line_error(done, "min_chars")


def test_a_toml_syntax_error_names_the_file(ws_root: Path) -> None:
    (ws_root / "wavecurate.toml").write_text("[filter\n")
    one_line_error(wavecurate("generate", "-w", str(ws_root)), "wavecurate.toml")


@pytest.mark.parametrize("command", [("init",), ("ingest", "stdlib"), ("status",)])
def test_a_newer_schema_is_one_line(ws_root: Path, command: tuple[str, ...]) -> None:
    db = sqlite3.connect(ws_root / "wavecurate.db")
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 5,))
    db.close()
    one_line_error(wavecurate(*command, "-w", str(ws_root)), "newer than this wavecurate")


@pytest.mark.parametrize("command", [("init",), ("ingest", "stdlib"), ("status",)])
def test_a_file_that_is_not_sqlite(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "wavecurate.db").write_bytes(b"this is no database\n" * 100)
    line = one_line_error(wavecurate(*command, "-w", str(tmp_path)), "wavecurate.db")
    assert "not a wavecurate database" in line


@pytest.mark.parametrize("command", [("init",), ("status",), ("ingest", "stdlib")])
def test_workspace_naming_a_file(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "f").write_text("x")
    line = one_line_error(wavecurate(*command, "-w", str(tmp_path / "f")), str(tmp_path / "f"))
    assert "not a folder" in line


def _read_only(paths: list[Path], on: bool) -> None:
    """Make `paths` unwritable: chmod for a user; for root (whom modes do not stop) the
    immutable attribute (`chattr +i`)."""
    if os.geteuid() != 0:
        for p in paths:
            p.chmod((0o555 if p.is_dir() else 0o444) if on else (0o755 if p.is_dir() else 0o644))
        return
    done = subprocess.run(["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True)
    if done.returncode != 0 and on:
        pytest.skip(f"cannot make files immutable here: {done.stderr!r}")


def test_a_read_only_workspace(ws_root: Path) -> None:
    paths = [ws_root, *ws_root.iterdir()]
    _read_only(paths, True)
    try:
        one_line_error(wavecurate("ingest", "stdlib", "-w", str(ws_root)), "wavecurate.db")
    finally:
        _read_only(paths, False)


@pytest.mark.parametrize("command", ["status", "export"])
def test_a_closed_pipe_is_quiet(ws_root: Path, tmp_path: Path, command: str) -> None:
    argv = [command, "-w", str(ws_root)]
    if command == "export":
        argv += ["--out", str(tmp_path / "e.jsonl")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    # `wavecurate status | head -0`: the reader closes at once
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, 1)


def test_an_unexpected_error_keeps_its_traceback(ws_root: Path) -> None:
    db = sqlite3.connect(ws_root / "wavecurate.db")
    with db:
        db.execute("DROP VIEW final_verdicts")
    db.close()
    done = wavecurate("status", "-w", str(ws_root))
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "no such table: final_verdicts" in done.stderr
