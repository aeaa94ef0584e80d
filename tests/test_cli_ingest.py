"""`wavecurate ingest` through its real entry points: `pipeline.cli.main` and the installed
command in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.store import Workspace
from pipeline.store.samples import count_samples, iter_samples

SUMMARY = re.compile(r"^ingest (\w+): ([\d,]+) read, ([\d,]+) new, ([\d,]+) skipped in \d+\.\d s$")


def record(i: int) -> dict[str, Any]:
    return {
        "repo": "owner/repo",
        "path": "mod.py",
        "func_name": f"f{i}",
        "original_string": f'def f{i}(x):\n    """Return x plus {i}."""\n    return x + {i}\n',
        "language": "python",
        "code": f'def f{i}(x):\n    """Return x plus {i}."""\n    return x + {i}\n',
        "code_tokens": [],
        "docstring": f"Return x plus {i}.",
        "docstring_tokens": [],
        "url": f"https://github.com/owner/repo/blob/abc/mod.py#L{i + 1}-L{i + 3}",
        "partition": "train",
    }


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def lines_of(text: str) -> list[str]:
    """Output lines, progress-bar carriage returns treated as line breaks."""
    return [line for line in re.split(r"[\r\n]+", text) if line.strip()]


def last_run(ws: Path) -> dict[str, Any]:
    with Workspace(ws) as w:
        runs = w.last_runs()
        assert runs[-1]["stage"] == "ingest"
        return runs[-1]


def test_codesearchnet_ingest_reports_and_a_second_run_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(
        tmp_path / "python_train_0.jsonl",
        [json.dumps(record(0)), '{"repo": ', json.dumps(record(1)), json.dumps({"repo": "x"})],
    )
    ws = tmp_path / "ws"  # does not exist yet: ingest creates it
    assert main(["ingest", "codesearchnet", str(data), "--workspace", str(ws)]) == 0
    out, err = capsys.readouterr()
    out_lines = out.splitlines()
    match = SUMMARY.match(out_lines[0])
    assert match and match.groups() == ("codesearchnet", "2", "2", "2"), out
    assert out_lines[1:] == [
        "  reason          count",
        "  malformed JSON      1",
        "  missing field       1",
    ]
    assert [line for line in lines_of(err) if line.startswith(str(data))] == [
        f"{data}:2: malformed JSON (Expecting value at column 10)",
        f"{data}:4: missing field 'code'",
    ]
    run = last_run(ws)
    assert run["status"] == "done"
    assert run["counts"] == {
        "source": "codesearchnet",
        "paths": [str(data)],
        "read": 2,
        "added": 2,
        "skipped": {"malformed JSON": 1, "missing field": 1},
        "passed_over": {},
    }
    with Workspace(ws) as w:
        assert count_samples(w)["ingested"] == 2
        stored = list(iter_samples(w))
    assert [(s.func_name, s.line, s.code_nodoc) for s in stored] == [
        ("f0", 1, "def f0(x):\n    return x + 0"),
        ("f1", 2, "def f1(x):\n    return x + 1"),
    ]

    assert main(["ingest", "codesearchnet", str(data), "-w", str(ws)]) == 0
    match = SUMMARY.match(capsys.readouterr().out.splitlines()[0])
    assert match and match.groups() == ("codesearchnet", "2", "0", "2")
    assert last_run(ws)["counts"]["added"] == 0
    with Workspace(ws) as w:
        assert count_samples(w)["ingested"] == 2


def test_nothing_read_fails_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", ["not json", "[]"])
    missing = tmp_path / "missing.jsonl.gz"
    ws = tmp_path / "ws"
    assert main(["ingest", "codesearchnet", str(bad), str(missing), "-w", str(ws)]) == 1
    out, err = capsys.readouterr()
    assert SUMMARY.match(out.splitlines()[0]).groups() == ("codesearchnet", "0", "0", "3")  # type: ignore[union-attr]
    err_lines = lines_of(err)
    assert f"{missing}: no such file or folder" in err_lines
    assert err_lines[-1] == "error: ingest codesearchnet: nothing could be read"
    assert last_run(ws)["counts"]["skipped"] == {"malformed JSON": 2, "not found": 1}

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ingest", "tree", str(empty), "-w", str(ws)]) == 1


def test_problem_lines_are_capped_and_all_go_to_the_problems_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "x.jsonl", [json.dumps(record(0))] + ["{"] * 25)
    problems = tmp_path / "problems.txt"
    args = ["ingest", "codesearchnet", str(data), "-w", str(tmp_path / "ws")]
    assert main([*args, "--problems", str(problems)]) == 0
    err_lines = lines_of(capsys.readouterr().err)
    shown = [line for line in err_lines if line.startswith(f"{data}:")]
    assert shown == [
        f"{data}:{n}: malformed JSON (Expecting property name enclosed in double quotes at "
        "column 2)"
        for n in range(2, 22)
    ]
    assert f"... and 5 more (all in {problems})" in err_lines
    assert len(problems.read_text().splitlines()) == 25
    assert problems.read_text().splitlines()[-1].startswith(f"{data}:26: malformed JSON")


def test_stdlib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    assert main(["ingest", "stdlib", "-w", str(ws)]) == 0
    match = SUMMARY.match(capsys.readouterr().out.splitlines()[0])
    assert match is not None
    source, read, new, skipped = match.groups()
    assert (source, skipped) == ("stdlib", "0")
    assert int(read.replace(",", "")) > 3000 and new == read
    counts = last_run(ws)["counts"]
    assert counts["source"] == "stdlib" and counts["skipped"] == {}
    assert counts["passed_over"]["no docstring"] > 1000
    with Workspace(ws) as w:
        assert count_samples(w)["by_source"] == {"stdlib": counts["read"]}


def _command() -> list[str]:
    script = Path(sys.executable).with_name("wavecurate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main())"]


def test_tree_through_the_installed_command(tmp_path: Path) -> None:
    src = tmp_path / "proj"
    (src / "lib").mkdir(parents=True)
    (src / "lib" / "util.py").write_text(
        'def clamp(x, lo, hi):\n    """Clamp x into [lo, hi]."""\n    return max(lo, min(x, hi))\n'
        "\n\ndef bare():\n    return 1\n"
    )
    (src / "lib" / "util.go").write_text(
        "package lib\n\n// Abs returns |x|.\nfunc Abs(x int) int {\n\tif x < 0 {\n\t\treturn -x\n"
        "\t}\n\treturn x\n}\n"
    )
    (src / "lib" / "broken.py").write_text("def f(:\n")
    ws = tmp_path / "ws"
    done = subprocess.run(
        [*_command(), "ingest", "tree", str(src), "--workspace", str(ws)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert SUMMARY.match(out[0]).groups() == ("tree", "2", "2", "1")  # type: ignore[union-attr]
    assert out[1:] == [
        "  reason          count",
        "  syntax error        1",
        "  no doc comment      1  (passed over, not an error)",
    ]
    assert f"{src}/lib/broken.py:1: syntax error: invalid syntax" in lines_of(done.stderr)
    with Workspace(ws) as w:
        stored = {(s.language, s.repo, s.path, s.func_name) for s in iter_samples(w)}
    assert stored == {
        ("go", "proj", "lib/util.go", "Abs"),
        ("python", "proj", "lib/util.py", "clamp"),
    }


def test_help_names_the_sources(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("stdlib", "tree", "codesearchnet"):
        assert name in out
