"""The whole pipeline through `wavecurate run`, offline, on a small real source tree."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sysconfig
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from pipeline.cli import main

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = [
    "textwrap.py", "shlex.py", "fnmatch.py", "colorsys.py", "heapq.py", "statistics.py",
    "fractions.py", "calendar.py", "difflib.py", "ipaddress.py", "argparse.py", "configparser.py",
]  # fmt: skip


def _runs(ws: Path) -> Counter[str]:
    """Recorded runs per stage."""
    with closing(sqlite3.connect(ws / "wavecurate.db")) as db:
        return Counter({stage: n for stage, n in db.execute(
            "SELECT stage, COUNT(*) FROM runs GROUP BY stage")})  # fmt: skip


@pytest.mark.slow
def test_run_end_to_end_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for name in MODULES:
        shutil.copy(STDLIB / name, tree / name)
    ws = tmp_path / "ws"
    assert main(["init", "--workspace", str(ws)]) == 0
    config = (ws / "wavecurate.toml").read_text()
    config = config.replace("stdlib = true", "stdlib = false")
    config = config.replace("trees = []", f"trees = [{json.dumps(str(tree))}]")
    config = config.replace("k = 1000", "k = 40")
    (ws / "wavecurate.toml").write_text(config)

    assert main(["run", "--workspace", str(ws)]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--workspace", str(ws)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ingested"] > 100
    assert 0 < first["kept"] < first["ingested"]
    assert first["embedded"] == first["kept"]
    assert first["coreset"] == 40
    assert first["projected"] == first["kept"]
    # every coreset sample got an instance, a recorded failure, a rule failure or a skip
    made = first["instances"] + first["failed"] + first["rule_failed"] + first["skipped"]
    assert made == 40
    assert first["judged"] + first["judge_failed"] == first["instances"]
    assert first["accepted"] + first["rejected"] == first["judged"]
    assert first["cost_usd"] == 0.0

    # a second run has nothing to do and changes nothing: every stage but ingest (which reads its
    # sources again, adding nothing) finds its work current and records no run
    before = _runs(ws)
    assert main(["run", "--workspace", str(ws)]) == 0
    assert _runs(ws) - before == Counter({"ingest": 1})
    printed = capsys.readouterr().out
    assert "generate: nothing new since the last run" in printed
    assert "decontaminate: nothing new since the last run" in printed
    assert main(["status", "--json", "--workspace", str(ws)]) == 0
    assert json.loads(capsys.readouterr().out) == first

    out = tmp_path / "train.jsonl"
    assert main(["export", "--format", "alpaca", "--out", str(out), "--workspace", str(ws)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == first["exportable"]
    assert all(set(r) == {"instruction", "input", "output"} for r in rows)
