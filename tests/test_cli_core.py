from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.records import Sample
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples

CODE = (
    "def mean(values):\n"
    "    total = 0\n"
    "    for value in values:\n"
    "        total += value\n"
    "    return total / max(len(values), 1)\n"
)


def test_init_writes_a_commented_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--workspace", str(tmp_path / "w")]) == 0
    text = (tmp_path / "w" / "wavecurate.toml").read_text()
    assert "[filter]\n# shortest code kept, in characters\nmin_chars = 50" in text
    assert "max_chars = 800" in text
    assert "near_duplicate_threshold = 0.85" in text
    assert "wrote wavecurate.toml" in capsys.readouterr().out
    # a second init keeps the user's edits
    (tmp_path / "w" / "wavecurate.toml").write_text("[filter]\nmin_chars = 10\n")
    assert main(["init", "--workspace", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "wavecurate.toml").read_text() == "[filter]\nmin_chars = 10\n"


def test_status_json_and_filter_through_the_entry_point(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path)
    insert_samples(
        ws,
        [
            Sample("tree", "python", "r", "a.py", "mean", 1, "Mean of values.", CODE, CODE),
            Sample("tree", "python", "r", "b.py", "mean", 1, "Mean of values.", CODE, CODE),
            Sample("tree", "go", "r", "c.go", "f", 1, "Tiny.", "func f() {}", "func f() {}"),
        ],
    )
    ws.close()
    run = [sys.executable, "-m", "pipeline.cli"]
    out = subprocess.run([*run, "filter", "-w", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "3 samples, 1 kept" in out.stdout
    out = subprocess.run(
        [*run, "status", "--json", "-w", str(tmp_path)], capture_output=True, text=True
    )
    status = json.loads(out.stdout)
    assert status["ingested"] == 3
    assert status["kept"] == 1
    assert status["dropped"] == {"exact_duplicate": 1, "too_short": 1}
    assert status["by_source"] == {"tree": 1}
    assert status["by_language"] == {"python": 1}
    human = subprocess.run([*run, "status", "-w", str(tmp_path)], capture_output=True, text=True)
    assert "dropped: too_short" in human.stdout and "filter" in human.stdout


def test_commands_on_a_missing_workspace_say_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no workspace here"):
        main(["status", "--workspace", str(tmp_path / "none")])


def test_bad_config_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Workspace.init(tmp_path).close()
    (tmp_path / "wavecurate.toml").write_text("[filter]\nmax_chars = 'big'\n")
    assert main(["filter", "--workspace", str(tmp_path)]) == 1
    assert "[filter] max_chars must be int" in capsys.readouterr().err


def test_run_until_offers_exactly_the_stages_run_runs() -> None:
    from pipeline.cli.core import RUN_STAGES
    from pipeline.cli.steps import STAGES

    assert list(RUN_STAGES) == [name for name, _ in STAGES]
