"""Input text printed by `status`, `export` and `generate`, or written into the dataset card, is
escaped: no control character reaches the terminal, no `|` breaks a card table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_export_helpers import add_instance, add_judge

from pipeline.cli import main
from pipeline.stages.export import ExportFilters, build_export
from pipeline.store import Workspace
from pipeline.store.executions import execution_verdicts

HOSTILE_LANGUAGE = "py\x1b[31m|red\nforged: line"
HOSTILE_TASK = "code_generation\x1b]0;title\x07"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    with Workspace.init(tmp_path / "ws") as ws:
        add_instance(ws, "h1", language=HOSTILE_LANGUAGE, task=HOSTILE_TASK)
        add_judge(ws, "h1", "accept")
    return tmp_path / "ws"


def _clean_output(capsys: pytest.CaptureFixture[str], command: str, root: Path) -> str:
    """`wavecurate COMMAND -w ROOT`'s output, after checking it succeeded and printed no escape
    or bell character."""
    assert main([command, "-w", str(root)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    return out


def test_status_escapes_languages_and_tasks(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _clean_output(capsys, "status", hostile)
    assert "py\\x1b[31m|red\\nforged: line 1" in out
    assert not any(line.startswith("forged") for line in out.splitlines())
    assert "code_generation\\x1b]0;title\\x07" in out


def test_the_card_escapes_table_cells(hostile: Path) -> None:
    with Workspace(hostile) as ws:
        card = build_export(
            ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters())
        ).card
    assert "\x1b" not in card and "\x07" not in card
    row = next(line for line in card.splitlines() if "red" in line and line.startswith("| "))
    assert row.count(" | ") == 1  # two cells: the `|` of the input is escaped
    assert "\\|red" in row
    assert not any(line.startswith("forged") for line in card.splitlines())


def test_export_prints_a_hostile_path_escaped(
    hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a\x1b[2Jb\nc.jsonl"
    assert main(["export", "-w", str(hostile), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "a\\x1b[2Jb\\nc.jsonl" in printed
    assert json.loads(out.read_text())["instruction"] == "Write function h1."


def test_the_committed_hostile_record_reaches_no_terminal_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tests/hostile/injection.jsonl` (escapes and a forged line in repo, path, language) read by
    the real source: neither `ingest` nor `status` prints a control character or a forged line."""
    from hostile import INJECTION_JSONL

    ws = tmp_path / "ws"
    assert main(["ingest", "codesearchnet", str(INJECTION_JSONL), "-w", str(ws)]) == 0
    assert main(["status", "-w", str(ws)]) == 0
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert not any(c in text for c in "\x1b\x07\x00")
        lines = [line.lower() for line in text.splitlines()]
        assert not any(line.startswith(("forged", "## new rules")) for line in lines)
    assert "kept by language: python\\n## new rules" in captured.out  # shown, escaped
    with Workspace(ws) as opened:
        languages = [r[0] for r in opened.db.execute("SELECT language FROM samples")]
    assert languages  # the record was stored (its hostile fields kept as data)


def test_verify_runs_past_an_unknown_task_and_prints_it_escaped(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _clean_output(capsys, "verify", hostile)
    assert "code_generation\\x1b]0;title\\x07" in out
    with Workspace(hostile) as ws:
        assert execution_verdicts(ws) == {"h1": "not_applicable"}
