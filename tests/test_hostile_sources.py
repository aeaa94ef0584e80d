"""Hostile input costs only itself: the corpus in `tests/hostile/` through every source and
through `wavecurate ingest`. A pathological file or line becomes one problem named
`file:line: reason`; every good row around it is kept; nothing raises out of a source."""

from __future__ import annotations

import json
from pathlib import Path

import hostile
import pytest

from pipeline.cli import main
from pipeline.sources import collect
from pipeline.sources.codesearchnet import MAX_LINE_BYTES, iter_codesearchnet
from pipeline.sources.stdlib import iter_stdlib
from pipeline.sources.tree import iter_tree
from pipeline.store import Workspace
from pipeline.store.samples import iter_samples


def test_a_deeply_nested_python_file_costs_only_itself(tmp_path: Path) -> None:
    tree = hostile.write_tree(tmp_path / "proj")
    samples, tally = collect(iter_tree([tree]))
    names = sorted(s.func_name for s in samples)
    # the good file, and the good functions beside the huge expression, are all kept
    assert names == ["good_one", "good_two", "kept_one", "kept_two"]
    messages = [p.message for p in tally.problems]
    assert (
        f"{tree}/deep_lambda.py:1: too complex to parse (out of parser memory); statement skipped"
        in messages
    )
    # the huge expression's statement starts on line 11 (after the two kept functions)
    assert (
        f"{tree}/huge_sum.py:11: too deeply nested to parse (recursion limit); statement skipped"
        in messages
    )
    assert tally.skipped["too deeply nested"] == 1 and tally.skipped["too complex"] == 1


def test_a_file_name_with_a_newline_or_an_ansi_escape_cannot_forge_a_problem_line(
    tmp_path: Path,
) -> None:
    tree = hostile.write_tree(tmp_path / "proj")
    _, tally = collect(iter_tree([tree]))
    forged = [p for p in tally.problems if p.file.endswith(hostile.FORGED_NAME)]
    assert len(forged) == 1
    message = forged[0].message
    assert "\n" not in message and "\x1b" not in message and "\x07" not in message
    assert message == (
        f"{tree}/evil\\nforged.py:1: everything is fine\\x1b[31m\\x1b]0;pwned\\x07.py:1: "
        "syntax error: invalid syntax"
    )
    assert forged[0].file == str(tree / hostile.FORGED_NAME)  # the record keeps the real name


def test_the_stdlib_source_guards_each_file(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / "a.py").write_text(hostile.good_python("a"), encoding="utf-8")
    (root / "b.py").write_text(hostile.deep_lambda(), encoding="utf-8")
    (root / "c.py").write_text(hostile.good_python("c"), encoding="utf-8")
    samples, tally = collect(iter_stdlib(root))
    assert sorted(s.func_name for s in samples) == ["a_one", "a_two", "c_one", "c_two"]
    assert [p.reason for p in tally.problems] == ["too complex"]
    assert tally.problems[0].line == 1


def test_a_nested_bracket_line_and_a_nul_byte_cost_only_their_line(tmp_path: Path) -> None:
    path = hostile.write_csn(tmp_path / "python_train_0.jsonl")
    samples, tally = collect(iter_codesearchnet([path]))
    assert [s.func_name for s in samples] == ["f0", "f2"]
    column = json.dumps(hostile.record(1)).index("plus 1.") + 5  # 1-based, after "plus"
    assert [p.message for p in tally.problems] == [
        f"{path}:2: too deeply nested to parse (recursion limit); line skipped",
        f"{path}:3: a NUL byte at column {column}, line skipped",
    ]


def test_a_nul_byte_in_the_first_8_kib_costs_only_its_line() -> None:
    path = hostile.NUL_BYTE_JSONL
    samples, tally = collect(iter_codesearchnet([path]))
    assert [s.func_name for s in samples] == ["f0", "f2"]
    assert [(p.line, p.reason) for p in tally.problems] == [(2, "NUL byte")]


def test_a_line_too_long_is_skipped_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("wb") as f:
        f.write(json.dumps(hostile.record(0)).encode() + b"\n")
        f.write(b'{"code": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n')
        f.write(json.dumps(hostile.record(2)).encode() + b"\n")
    samples, tally = collect(iter_codesearchnet([path]))
    assert [s.func_name for s in samples] == ["f0", "f2"]
    assert [(p.line, p.reason) for p in tally.problems] == [(2, "line too long")]


def test_ingest_tree_over_the_corpus_stores_every_good_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = hostile.write_tree(tmp_path / "proj")
    ws = tmp_path / "ws"
    assert main(["ingest", "tree", str(tree), "-w", str(ws)]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err
    # one problem per line: the forged name did not add a line of its own
    assert not any(line.startswith("forged.py") for line in err.splitlines())
    with Workspace(ws) as w:
        stored = sorted(s.func_name for s in iter_samples(w))
    assert stored == ["good_one", "good_two", "kept_one", "kept_two"]


def test_hostile_field_values_are_stored_as_given(tmp_path: Path) -> None:
    samples, tally = collect(iter_codesearchnet([hostile.INJECTION_JSONL]))
    assert tally.problems == [] and len(samples) == 1
    assert samples[0].func_name == hostile.INJECTION  # data is kept; prompts fence it


def test_a_file_that_takes_too_long_costs_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.sources import guard
    from pipeline.sources.treesitter import treesitter_functions

    with pytest.raises(guard.TooSlow):  # the tree-sitter parse itself is cancelled
        treesitter_functions(
            "javascript", b"/** Doc. */\nfunction f() {}\n" * 5000, guard.Deadline(0)
        )
    tree = tmp_path / "proj"
    tree.mkdir()
    (tree / "a.py").write_text(hostile.good_python(), encoding="utf-8")
    (tree / "b.js").write_text("/** Doc. */\nfunction f() {}\n", encoding="utf-8")
    monkeypatch.setattr(guard, "FILE_SECONDS", 0.0)
    samples, tally = collect(iter_tree([tree]))
    assert samples == []
    assert [p.message for p in tally.problems] == [
        f"{tree}/a.py: parsing took longer than 0 s; file skipped",
        f"{tree}/b.js: parsing took longer than 0 s; file skipped",
    ]
