"""Small SQL helpers that put samples, instances, judgments, reviews and calls in a workspace.

Shared by the export, decontaminate and CLI export tests; holds no tests itself.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import numpy.typing as npt

from pipeline.records import Sample
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples

CRITERIA = ("correctness", "relevance")


def add_sample(ws: Workspace, name: str, language: str = "python", code: str = "") -> str:
    """A kept sample; returns its id."""
    code = code or f"def {name}(x):\n    return x + 1\n"
    sample = Sample("tree", language, "repo", f"{name}.py", name, 3, f"Doc of {name}.", code, code)
    insert_samples(ws, [sample])
    return sample.id


def add_call(ws: Workspace, key: str, role: str, cost: float, tokens: tuple[int, int]) -> None:
    with ws.write() as db:
        db.execute(
            "INSERT INTO llm_calls(key, provider, model, role, request, response, status, "
            "input_tokens, output_tokens, cost_usd, created_at) "
            "VALUES (?, 'anthropic', 'm', ?, '{}', '', 'ok', ?, ?, ?, '2024-01-01')",
            (key, role, tokens[0], tokens[1], cost),
        )


def add_instance(
    ws: Workspace,
    iid: str,
    *,
    sample_id: str | None = None,
    task: str = "code_generation",
    language: str = "python",
    instruction: str = "",
    input: str = "",
    output: str = "",
    status: str = "ok",
    model: str = "gen-model",
    call_key: str | None = None,
) -> str:
    """An instance row (and a sample for it unless given); returns the id."""
    sample_id = sample_id or add_sample(ws, f"fn_{iid}", language)
    with ws.write() as db:
        db.execute(
            "INSERT INTO instances(id, sample_id, task, instruction, input, output, status, "
            "provider, model, prompt_version, prompt_hash, few_shot_ids, raw_prompt, raw_answer, "
            "call_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'offline', ?, 'gen-v1', ?, ?, "
            "?, ?, ?, '2024-01-01T00:00:00')",
            (
                iid, sample_id, task,
                instruction or f"Write function {iid}.", input, output or f"def {iid}(): pass",
                status, model, f"ph-{iid}", json.dumps(["shot-a", "shot-b"]),
                f"prompt for {iid}", f"answer for {iid}", call_key,
            ),
        )  # fmt: skip
    return iid


def add_judge(
    ws: Workspace,
    iid: str,
    verdict: str | None,
    *,
    failed: tuple[str, ...] = (),
    model: str = "judge-model",
    call_key: str | None = None,
) -> None:
    """The Discriminator's result and per-criterion judgments (criteria in `failed` fail)."""
    with ws.write() as db:
        db.execute(
            "INSERT INTO judge_results(instance_id, verdict, status, provider, model, "
            "prompt_version, raw_prompt, raw_answer, call_key, created_at) "
            "VALUES (?, ?, ?, 'offline', ?, 'judge-v1', 'jp', 'ja', ?, '2024-01-01')",
            (iid, verdict, "ok" if verdict else "failed", model, call_key),
        )
        db.executemany(
            "INSERT INTO judgments(instance_id, criterion, passed, rationale) VALUES (?,?,?,?)",
            [(iid, c, int(c not in failed), f"why {c}") for c in CRITERIA],
        )


def add_review(
    ws: Workspace,
    iid: str,
    reviewer: str,
    verdict: str,
    *,
    edits: dict[str, str] | None = None,
    flips: dict[str, bool] | None = None,
    undoes: int | None = None,
    reason: str = "",
) -> int:
    """Append a review row (verdict accept, reject or undo); returns its id."""
    with ws.write() as db:
        cur = db.execute(
            "INSERT INTO reviews(instance_id, reviewer, verdict, flips, edits, reason, undoes, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '2024-01-02T00:00:00')",
            (
                iid, reviewer, verdict, json.dumps(flips or {}), json.dumps(edits or {}),
                reason, undoes,
            ),
        )  # fmt: skip
        return int(cur.lastrowid or 0)


def make_corpus(ws: Workspace) -> None:
    """A small workspace state that exercises every export path.

    i01 generation python judge accept          i05 generation go    judge reject, human accept (bob)
    i02 summarization python judge accept       i06 repair python     judge accept, human reject (bob)
    i03 repair go judge accept, human accept     i07 generation python not judged
        (alice)                                  i08 generation python status failed, judge accept
    i04 generation python judge reject
    """
    add_call(ws, "g1", "generator", 0.01, (100, 50))
    add_call(ws, "j1", "judge", 0.002, (80, 20))
    add_instance(ws, "i01", instruction="Add one.", input="x = 1", output="x + 1", call_key="g1")
    add_judge(ws, "i01", "accept", call_key="j1")
    add_instance(ws, "i02", task="code_summarization", output="Adds one.")
    add_judge(ws, "i02", "accept")
    add_instance(ws, "i03", task="code_repair", language="go", model="gen-model-2")
    add_judge(ws, "i03", "accept")
    add_review(ws, "i03", "alice", "accept", reason="fine")
    add_instance(ws, "i04")
    add_judge(ws, "i04", "reject", failed=("correctness",))
    add_instance(ws, "i05", language="go")
    add_judge(ws, "i05", "reject", failed=("relevance",))
    add_review(ws, "i05", "bob", "accept", flips={"relevance": True})
    add_instance(ws, "i06", task="code_repair")
    add_judge(ws, "i06", "accept")
    add_review(ws, "i06", "bob", "reject", flips={"correctness": False})
    add_instance(ws, "i07")
    add_instance(ws, "i08", status="failed")
    add_judge(ws, "i08", "accept")


def bag_of_words(texts: list[str], dim: int = 512) -> npt.NDArray[np.float32]:
    """A real (if crude) embedding: hashed word counts, L2-normalised. Deterministic."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[row, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    normalised: npt.NDArray[np.float32] = out / np.maximum(norms, 1e-12)
    return normalised
