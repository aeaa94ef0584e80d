"""`wavecurate audit` and `wavecurate reviews import | export`, invoked as the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_pool import build_pool

from pipeline.cli import main
from pipeline.store import Workspace
from pipeline.store.audit import calibration_ids
from pipeline.store.reviews import latest_per_reviewer


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    with Workspace.init(tmp_path / "ws") as ws:
        build_pool(ws, 300, wrong_share=0.2, seed=21)
    return tmp_path / "ws"


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_audit_sample_review_and_report(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = str(folder)
    assert main(["audit", "sample", "40", "--seed", "3", "--json", "-w", w]) == 0
    ids = _json(capsys)["ids"]  # type: ignore[index]
    assert len(ids) == 40
    # --workspace before the action reaches it too
    assert main(["audit", "--workspace", w, "sample", "10", "--seed", "4", "--json"]) == 0
    more = _json(capsys)["ids"]  # type: ignore[index]
    assert len(more) == 10 and not set(more) & set(ids)
    with Workspace(folder) as ws:
        assert calibration_ids(ws) == ids + more
    lines = [
        {"instance_id": i, "verdict": "reject" if n % 5 == 0 else "accept", "reviewer": "ana"}
        for n, i in enumerate(ids)
    ]
    file = folder.parent / "calibration.jsonl"
    file.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["reviews", "import", str(file), "-w", w]) == 0
    capsys.readouterr()

    assert main(["audit", "--json", "-w", w]) == 0
    report = _json(capsys)
    error = report["error_rate"]  # type: ignore[index]
    assert set(error) == {"estimate", "low", "high", "n"}
    assert error["n"] == 40 and error["estimate"] == pytest.approx(8 / 40)
    assert error["low"] < 0.2 < error["high"]
    assert report["calibration"]["drawn"] == 50  # type: ignore[index]

    assert main(["audit", "-w", w]) == 0
    text = capsys.readouterr().out
    assert "a reviewer would reject 20.0% of the accepted, unreviewed instances" in text
    assert "n=40 reviewed of 50 drawn" in text
    assert "not a random sample" in text

    assert main(["audit", "next", "7", "--json", "-w", w]) == 0
    nxt = _json(capsys)["ids"]  # type: ignore[index]
    assert len(nxt) == 7 and not set(nxt) & (set(ids) | set(more))
    assert main(["audit", "next", "3", "-w", w]) == 0
    assert "most likely wrong first" in capsys.readouterr().out
    assert main(["audit", "sample", "0", "-w", w]) == 1


BAD_LINES = [
    ("{not json", "bad JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"instance_id": "inst00000", "verdict": "accept"}', "missing field 'reviewer'"),
    ('{"instance_id": "nope", "verdict": "accept", "reviewer": "ana"}', "unknown instance 'nope'"),
    (
        '{"instance_id": "inst00000", "verdict": "maybe", "reviewer": "ana"}',
        "verdict must be one of accept, reject, got 'maybe'",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", '
        '"criteria": {"correct": "yes"}}',
        "criteria['correct'] must be true or false, got \"yes\"",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", '
        '"criteria": ["correct"]}',
        "criteria must be an object",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", '
        '"criteria": {"style": true}}',
        "unknown criterion 'style' for this instance (judged: clear, correct)",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", '
        '"edits": {"task": "x"}}',
        "cannot edit 'task' (editable: instruction, input, output)",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", '
        '"edits": {"output": 3}}',
        "edits['output'] must be a string, got int",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "  "}',
        "reviewer must be a non-empty string",
    ),
    (
        '{"instance_id": "inst00000", "verdict": "accept", "reviewer": "ana", "note": 1}',
        "unknown field 'note'",
    ),
]


def test_import_names_every_bad_line_and_writes_only_good_ones(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [
        {"instance_id": "inst00001", "verdict": "reject", "reviewer": "ana",
         "reason": "wrong edge case", "criteria": {"correct": False},
         "edits": {"output": "def f(x):\n    return x  # “fixed”\n"}},
        {"instance_id": "inst00002", "verdict": "accept", "reviewer": "ben"},
    ]  # fmt: skip
    lines = [json.dumps(good[0], ensure_ascii=False)]
    lines += [text for text, _ in BAD_LINES]
    lines += ["", json.dumps(good[1]), json.dumps(good[0], ensure_ascii=False)]  # a duplicate
    file = folder.parent / "labels.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(["reviews", "import", str(file), "-w", str(folder)]) == 1
    out = capsys.readouterr()
    errors = out.err.splitlines()
    expected = [f"{file}:{n}: {why}" for n, (_, why) in enumerate(BAD_LINES, 2)]
    expected.append(f"{file}:{len(lines)}: duplicate of line 1")
    assert len(errors) == len(expected)
    for got, want in zip(errors, expected, strict=True):
        assert got.startswith(want), (got, want)
    assert out.out == f"reviews import: 2 written, 0 already there, {len(expected)} bad lines\n"
    with Workspace(folder) as ws:
        reviews = latest_per_reviewer(ws)
    assert [(r.instance_id, r.reviewer, r.verdict) for r in reviews] == [
        ("inst00001", "ana", "reject"),
        ("inst00002", "ben", "accept"),
    ]
    assert reviews[0].flips == {"correct": False} and reviews[0].reason == "wrong edge case"
    assert reviews[0].edits == good[0]["edits"]

    # the same file again adds nothing
    assert main(["reviews", "import", str(file), "-w", str(folder)]) == 1
    assert capsys.readouterr().out.startswith("reviews import: 0 written, 2 already there")
    with Workspace(folder) as ws:
        assert ws.db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 2

    missing = folder.parent / "absent.jsonl"
    assert main(["reviews", "import", str(missing), "-w", str(folder)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_export_round_trip(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.store.audit import bulk_review
    from pipeline.store.reviews import add_review, undo_review

    with Workspace(folder) as ws:
        add_review(ws, "inst00003", "ana", "reject", flips={"clear": False}, reason="vague")
        add_review(ws, "inst00004", "ana", "accept", edits={"instruction": "Sort the list."})
        add_review(ws, "inst00005", "ana", "reject")
        undo_review(ws, "inst00005", "ana")  # undone: not exported
        bulk_review(ws, ["inst00006", "inst00007"], "accept", "ben", "spot-checked")
    out = tmp_path / "reviews.jsonl"
    assert main(["reviews", "export", str(out), "-w", str(folder)]) == 0
    assert capsys.readouterr().out == f"reviews export: 4 reviews -> {out}\n"
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"instance_id": "inst00003", "verdict": "reject", "reviewer": "ana", "reason": "vague",
         "criteria": {"clear": False}},
        {"instance_id": "inst00004", "verdict": "accept", "reviewer": "ana",
         "edits": {"instruction": "Sort the list."}},
        {"instance_id": "inst00006", "verdict": "accept", "reviewer": "ben",
         "reason": "spot-checked"},
        {"instance_id": "inst00007", "verdict": "accept", "reviewer": "ben",
         "reason": "spot-checked"},
    ]  # fmt: skip

    # into the same workspace: nothing new; into a fresh copy of the pool: the same reviews
    assert main(["reviews", "import", str(out), "-w", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("reviews import: 0 written, 4 already there")
    with Workspace.init(tmp_path / "copy") as ws:
        build_pool(ws, 300, wrong_share=0.2, seed=21)
    assert main(["reviews", "import", str(out), "-w", str(tmp_path / "copy")]) == 0
    again = tmp_path / "again.jsonl"
    assert main(["reviews", "export", str(again), "-w", str(tmp_path / "copy")]) == 0
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
