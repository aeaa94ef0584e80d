from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_export_helpers import add_instance, add_judge, add_review, make_corpus

from pipeline.config import Config
from pipeline.records import Flag
from pipeline.stages.export import ExportFilters, build_export, write_export
from pipeline.store import Workspace
from pipeline.store.export import effective_content
from pipeline.store.flags import clear_flag, replace_flags
from pipeline.store.status import funnel


def _ids(ws: Workspace, **filters: Any) -> list[str]:
    return [
        r["id"]
        for r in build_export(
            ws, ws.config, cfg=ws.config.export.select("full", ExportFilters(**filters))
        ).rows
    ]


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_default_export_is_accepted_final_verdicts_in_id_order(ws: Workspace) -> None:
    make_corpus(ws)
    # i04 judge reject, i06 human reject over judge accept, i07 not judged, i08 failed status
    assert _ids(ws) == ["i01", "i02", "i03", "i05"]


def test_alpaca_rows_are_instruction_input_output(ws: Workspace) -> None:
    make_corpus(ws)
    export = build_export(ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters()))
    rows = _lines(export.jsonl)
    assert export.count == len(rows) == 4
    assert all(list(r) == ["instruction", "input", "output"] for r in rows)
    assert rows[0] == {"instruction": "Add one.", "input": "x = 1", "output": "x + 1"}
    assert rows == export.rows


def test_messages_rows_end_with_the_assistant(ws: Workspace) -> None:
    make_corpus(ws)
    rows = _lines(
        build_export(ws, ws.config, cfg=ws.config.export.select("messages", ExportFilters())).jsonl
    )
    assert rows[0] == {
        "messages": [
            {"role": "user", "content": "Add one.\n\nx = 1"},
            {"role": "assistant", "content": "x + 1"},
        ]
    }
    # no input: the user's turn is the instruction alone
    assert rows[1]["messages"][0] == {"role": "user", "content": "Write function i02."}
    ws.config.export.system_prompt = "You are a careful programmer."
    export = build_export(ws, ws.config, cfg=ws.config.export.select("messages", ExportFilters()))
    for row in _lines(export.jsonl):
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert row["messages"][0]["content"] == "You are a careful programmer."
    assert export.manifest["system_prompt"] == "You are a careful programmer."


def test_full_rows_carry_provenance(ws: Workspace) -> None:
    make_corpus(ws)
    rows = {
        r["id"]: r
        for r in _lines(
            build_export(ws, ws.config, cfg=ws.config.export.select("full", ExportFilters())).jsonl
        )
    }
    r = rows["i01"]
    assert set(r) == {
        "id", "task", "language", "target_language", "instruction", "input", "output",
        "edited_fields", "verdict", "verdict_source", "judge_verdict", "human_verdict",
        "reviewer", "sample", "generator", "judge", "judgments", "reviews", "flagged", "flags",
        "flag_clearances", "cost", "execution",
    }  # fmt: skip
    assert r["execution"]["verdict"] is None  # not verified yet: the same keys, no verdict
    assert r["sample"]["func_name"] == "fn_i01"
    assert r["sample"]["source"] == "tree"
    assert r["generator"] == {
        "provider": "offline",
        "model": "gen-model",
        "prompt_version": "gen-v1",
        "prompt_hash": "ph-i01",
        "few_shot_ids": ["shot-a", "shot-b"],
        "call_key": "g1",
        "raw_prompt": "prompt for i01",
        "raw_answer": "answer for i01",
    }
    assert r["judge"]["model"] == "judge-model"
    assert r["judge"]["prompt_version"] == "judge-v1"
    assert r["judgments"] == [
        {"criterion": "correctness", "passed": True, "rationale": "why correctness",
         "human_passed": None},
        {"criterion": "relevance", "passed": True, "rationale": "why relevance",
         "human_passed": None},
    ]  # fmt: skip
    assert r["cost"] == {
        "generator_usd": 0.01,
        "judge_usd": 0.002,
        "total_usd": 0.012,
        "input_tokens": 180,
        "output_tokens": 70,
    }
    assert (r["verdict"], r["verdict_source"], r["reviewer"]) == ("accept", "judge", None)
    h = rows["i05"]
    assert (h["verdict"], h["verdict_source"], h["judge_verdict"]) == ("accept", "human", "reject")
    assert h["reviewer"] == "bob"
    assert h["reviews"][0]["flips"] == [{"criterion": "relevance", "passed": True}]
    assert h["reviews"][0]["effective"] is True
    assert [j["human_passed"] for j in h["judgments"]] == [None, True]


def test_two_exports_of_the_same_state_are_byte_identical(ws: Workspace, tmp_path: Path) -> None:
    make_corpus(ws)
    replace_flags(ws, [Flag("i02", "humaneval", "HumanEval/0", "ngram", 0.75)])
    for fmt in ("alpaca", "messages", "full"):
        first = write_export(
            build_export(ws, ws.config, cfg=ws.config.export.select(fmt, ExportFilters())),
            tmp_path / "a" / "d.jsonl",
        )
        reopened = Workspace(ws.root)
        second = build_export(
            reopened,
            reopened.config,
            cfg=reopened.config.export.select(fmt, ExportFilters(include_flagged=True, tasks=None)),
        )
        second_paths = write_export(
            build_export(
                reopened, reopened.config, cfg=reopened.config.export.select(fmt, ExportFilters())
            ),
            tmp_path / "b" / "d.jsonl",
        )
        reopened.close()
        assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second_paths]
        assert second.count == 4  # include_flagged brings back i02
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "d.card.md",
        "d.jsonl",
        "d.manifest.json",
    ]  # written atomically: no temporary file left behind


def test_filters(ws: Workspace) -> None:
    make_corpus(ws)
    assert _ids(ws, tasks=["code_repair"]) == ["i03"]
    assert _ids(ws, languages=["go"]) == ["i03", "i05"]
    assert _ids(ws, verdict_source="human") == ["i03", "i05"]
    assert _ids(ws, verdict_source="judge") == ["i01", "i02"]
    assert _ids(ws, reviewers=["bob"]) == ["i05"]
    assert _ids(ws, reviewers=["alice", "bob"]) == ["i03", "i05"]
    assert _ids(ws, verdicts=("reject",)) == ["i04", "i06"]
    assert _ids(ws, verdicts=("accept", "reject"), tasks=["code_generation"]) == [
        "i01",
        "i04",
        "i05",
    ]
    assert _ids(ws, tasks=["code_translation"]) == []
    assert (
        build_export(
            ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters(tasks=["none"]))
        ).jsonl
        == ""
    )
    with pytest.raises(ValueError, match="verdict source"):
        build_export(
            ws,
            ws.config,
            cfg=ws.config.export.select("alpaca", ExportFilters(verdict_source="robot")),
        )
    with pytest.raises(ValueError, match="verdicts"):
        build_export(
            ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters(verdicts=("undo",)))
        )
    with pytest.raises(ValueError, match="unknown export format"):
        build_export(ws, ws.config, cfg=ws.config.export.select("sharegpt", ExportFilters()))


def test_manifest_counts_match_the_file(ws: Workspace, tmp_path: Path) -> None:
    make_corpus(ws)
    export = build_export(
        ws,
        ws.config,
        cfg=ws.config.export.select("full", ExportFilters(verdicts=("accept", "reject"))),
    )
    paths = write_export(export, tmp_path / "out.jsonl")
    manifest = json.loads(paths[1].read_text())
    rows = _lines(paths[0].read_text())
    assert manifest["count"] == len(rows) == 6
    assert manifest["sha256"] == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    counts = manifest["counts"]
    assert counts["by_task"] == dict(sorted(Counter(r["task"] for r in rows).items()))
    assert counts["by_language"] == dict(Counter(r["language"] for r in rows))
    assert counts["by_verdict_source"] == {"human": 3, "judge": 3}
    assert sum(counts["by_task"].values()) == manifest["count"]
    assert manifest["models"]["generator"] == ["gen-model", "gen-model-2"]
    assert manifest["models"]["judge"] == ["judge-model"]
    assert manifest["schema_version"] == ws.schema_version
    assert len(manifest["config_hash"]) == 16
    assert manifest["filters"]["verdicts"] == ["accept", "reject"]
    card = paths[2].read_text()
    assert card.startswith("# wavecurate dataset: 6 code instruction instances")
    assert manifest["sha256"] in card
    assert "## Funnel" in card
    assert "| exportable | 4 |" in card
    assert "| code\\_repair | 2 |" in card  # md_cell: `_` escaped


def test_human_edit_wins_in_every_format(ws: Workspace) -> None:
    make_corpus(ws)
    add_review(ws, "i01", "carol", "accept", edits={"output": "x + 1  # edited"})
    for fmt in ("alpaca", "messages", "full"):
        text = build_export(ws, ws.config, cfg=ws.config.export.select(fmt, ExportFilters())).jsonl
        assert "x + 1  # edited" in text
        assert '"x + 1"' not in text.replace('"text": "x + 1  # edited"', "")
    full = _lines(
        build_export(ws, ws.config, cfg=ws.config.export.select("full", ExportFilters())).jsonl
    )[0]
    assert full["output"] == "x + 1  # edited"
    assert full["edited_fields"] == ["output"]
    assert full["generator"]["raw_answer"] == "answer for i01"
    assert effective_content(ws, "i01")["output"] == "x + 1  # edited"


def test_undo_restores_text_and_verdict(ws: Workspace) -> None:
    make_corpus(ws)
    edit = add_review(ws, "i01", "carol", "reject", edits={"instruction": "Add two."})
    assert "i01" not in _ids(ws)  # the human reject wins over the judge's accept
    assert _ids(ws, verdicts=("reject",))[0] == "i01"
    add_review(ws, "i01", "carol", "undo", undoes=edit)
    assert "i01" in _ids(ws)
    alpaca = _lines(
        build_export(ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters())).jsonl
    )[0]
    assert alpaca["instruction"] == "Add one."
    full = _lines(
        build_export(ws, ws.config, cfg=ws.config.export.select("full", ExportFilters())).jsonl
    )[0]
    assert full["verdict_source"] == "judge"
    assert [r["effective"] for r in full["reviews"]] == [False, False]
    assert [r["verdict"] for r in full["reviews"]] == ["reject", "undo"]
    # a later review without edits keeps the generated text: edits come from the deciding review
    add_review(ws, "i02", "dan", "accept", edits={"output": "Adds one to x."})
    later = add_review(ws, "i02", "erin", "accept")
    assert effective_content(ws, "i02")["output"] == "Adds one."
    add_review(ws, "i02", "erin", "undo", undoes=later)
    assert effective_content(ws, "i02")["output"] == "Adds one to x."


def test_flagged_instances_wait_for_a_clearance(ws: Workspace) -> None:
    make_corpus(ws)
    replace_flags(
        ws,
        [
            Flag("i01", "humaneval", "HumanEval/3", "ngram", 0.8),
            Flag("i01", "humaneval", "HumanEval/3", "embedding", 0.93),
        ],
    )
    assert _ids(ws) == ["i02", "i03", "i05"]
    assert _ids(ws, include_flagged=True) == ["i01", "i02", "i03", "i05"]
    flagged = build_export(
        ws, ws.config, cfg=ws.config.export.select("full", ExportFilters(include_flagged=True))
    ).rows[0]
    assert flagged["flagged"] is True
    assert [f["signal"] for f in flagged["flags"]] == ["embedding", "ngram"]
    clear_flag(ws, "i01", "alice", "generic arithmetic, not HumanEval/3")
    assert _ids(ws) == ["i01", "i02", "i03", "i05"]
    row = build_export(ws, ws.config, cfg=ws.config.export.select("full", ExportFilters())).rows[0]
    assert row["flagged"] is False
    assert row["flag_clearances"][0]["reason"] == "generic arithmetic, not HumanEval/3"


def test_instances_with_odd_text_round_trip(ws: Workspace) -> None:
    add_instance(ws, "u1", instruction="Écris «bonjour» 🌍", output="print('\\ud800')\n\t\"q\"")
    add_judge(ws, "u1", "accept")
    add_instance(ws, "u2")
    add_judge(ws, "u2", "accept")
    # SQLite refuses a lone surrogate, but a review's JSON edits can carry one escaped
    add_review(ws, "u2", "carol", "accept", edits={"instruction": "lone \ud800 surrogate"})
    export = build_export(ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters()))
    export.jsonl.encode("utf-8")  # always valid UTF-8
    rows = _lines(export.jsonl)
    assert rows[0]["instruction"] == "Écris «bonjour» 🌍"
    assert rows[1]["instruction"] == "lone \ud800 surrogate"


@pytest.mark.parametrize("fmt", ["alpaca", "messages", "full"])
def test_datasets_loads_each_format(
    fmt: str, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    make_corpus(ws)
    add_review(ws, "i02", "carol", "accept", edits={"output": "edited"})
    add_review(ws, "i07", "carol", "accept")  # decided by a human alone: no judge fields
    replace_flags(ws, [Flag("i03", "humaneval", "HumanEval/1", "ngram", 0.6)])
    export = build_export(
        ws,
        ws.config,
        cfg=ws.config.export.select(
            fmt, ExportFilters(verdicts=("accept", "reject"), include_flagged=True)
        ),
    )
    out = write_export(export, tmp_path / f"{fmt}.jsonl")[0]
    ds = datasets.load_dataset(
        "json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert ds.num_rows == export.count == 7
    if fmt == "alpaca":
        assert ds.column_names == ["instruction", "input", "output"]
    elif fmt == "messages":
        assert ds[0]["messages"][-1]["role"] == "assistant"
    else:
        assert ds[0]["id"] == "i01"
        assert ds[1]["output"] == "edited"
        assert ds[2]["flags"][0]["item_id"] == "HumanEval/1"
        assert ds[6]["judge"]["model"] is None
        assert ds[6]["judgments"] == []


def test_the_export_stage_reads_its_settings_from_cfg_not_the_workspace(
    ws: Workspace, tmp_path: Path
) -> None:
    """`build_export` takes what the card and manifest need from `made_with` and `cfg`: a broken
    wavecurate.toml does not matter to it; with `cfg.out` it writes and records one run."""
    make_corpus(ws)
    made_with = dataclasses.replace(
        Config(), embed=dataclasses.replace(Config().embed, model="my-own-embedder")
    )
    ws.config_path.write_text("[filter\n")  # unreadable: the stage must not load it
    cfg = made_with.export.select("messages", ExportFilters(), out=str(tmp_path / "d.jsonl"))
    cfg = dataclasses.replace(cfg, system_prompt="Be brief.")
    export = build_export(ws, made_with, cfg=cfg)
    assert export.paths == [tmp_path / n for n in ("d.jsonl", "d.manifest.json", "d.card.md")]
    assert all(p.exists() for p in export.paths)
    assert export.manifest["models"]["embedding"] == "my-own-embedder"
    assert "my\\-own\\-embedder" in export.card
    assert export.manifest["system_prompt"] == "Be brief."
    assert _lines(export.jsonl)[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    runs = ws.db.execute("SELECT stage, status, counts FROM runs").fetchall()
    assert [(r[0], r[1]) for r in runs] == [("export", "done")]
    assert json.loads(runs[0][2])["count"] == export.count == 4
    # a preview (no out) writes and records nothing
    preview = build_export(ws, made_with, cfg=dataclasses.replace(cfg, out=""))
    assert preview.paths == [] and preview.jsonl == export.jsonl
    assert ws.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_card_and_funnel_say_what_made_the_data(ws: Workspace, tmp_path: Path) -> None:
    """The offline provider is named as rule-based, never as an LLM; skipped instances are
    counted per task with their reasons."""
    make_corpus(ws)
    add_instance(ws, "s1", task="code_translation", status="skipped")
    add_instance(ws, "s2", task="code_translation", status="skipped")
    add_instance(ws, "s3", task="code_repair", status="skipped")
    with ws.write() as db:
        db.execute("UPDATE instances SET error = 'cannot translate' WHERE id IN ('s1', 's2')")
        db.execute("UPDATE instances SET error = 'no place for a bug' WHERE id = 's3'")
    f = funnel(ws)
    assert f["skipped_by_task"] == {
        "code_repair": {"no place for a bug": 1},
        "code_translation": {"cannot translate": 2},
    }
    generators = {(p["provider"], p["model"]) for p in f["providers"]["generator"]}
    assert ("offline", "gen-model") in generators
    assert (
        sum(p["instances"] for p in f["providers"]["generator"])
        == f["instances"] + f["failed"] + f["skipped"] + f["rule_failed"]
    )
    assert [p["provider"] for p in f["providers"]["judge"]] == ["offline"]
    card = build_export(ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters())).card
    assert "an LLM Generator" not in card and "an LLM Discriminator" not in card
    assert "a Generator (provider `offline` (offline, rule-based: not an LLM))" in card
    assert "**Judge**: provider `offline` (offline, rule-based: not an LLM)" in card
