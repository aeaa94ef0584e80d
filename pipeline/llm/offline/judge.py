"""The offline Discriminator: a deterministic check per criterion (see `checks`).

The criteria to answer are read from the request's schema (they are data, in tasks.toml); each
id maps to a check. Relevance and faithfulness use the cosine similarity of embeddings, from the
`embed` function handed in (the workspace's embedding model). The answer is the same JSON a model
would give. A criterion it cannot check honestly makes the whole answer a recorded skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.config import JudgeConfig
from pipeline.llm.base import Answer, BatchJournal, Request, skipped
from pipeline.llm.offline.checks import CHECKS, CheckEnv
from pipeline.llm.render import Draft
from pipeline.records import Task

VERSION = "offline-judge-1"

Embed = Callable[[Sequence[str]], np.ndarray]


class OfflineJudge:
    """The offline Discriminator provider.

    `embed(texts)` returns L2-normalised float32 vectors, shape (len(texts), d); `embed_key`
    names the model (part of the cache key, as are the thresholds).
    """

    name = "offline"
    base_url = ""

    def __init__(self, embed: Embed, *, embed_key: str, cfg: JudgeConfig | None = None) -> None:
        cfg = cfg or JudgeConfig()
        self.embed = embed
        self.thresholds = {
            "relevance_threshold": cfg.relevance_threshold,
            "max_nesting": cfg.max_nesting,
            "documented_lines": cfg.documented_lines,
            "max_summary_words": cfg.max_summary_words,
            "min_fix_similarity": cfg.min_fix_similarity,
        }
        self.settings: Mapping[str, Any] = {
            "judge": VERSION,
            "embedding": embed_key,
            **self.thresholds,
        }

    def answer(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        drafts = {key: Draft(**dict(r.context)) for key, r in calls.items()}
        texts = sorted(
            {
                t
                for d in drafts.values()
                for t in (f"{d.instruction}\n{d.input}".strip(), d.input, d.output)
            }
        )
        vectors = self.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        index = {t: i for i, t in enumerate(texts)}

        def similarity(a: str, b: str) -> float:
            if a not in index or b not in index:
                found = self.embed([a, b])
                return float(found[0] @ found[1])
            return float(vectors[index[a]] @ vectors[index[b]])

        env = CheckEnv(similarity=similarity, **self.thresholds)  # type: ignore[arg-type]
        for key, request in calls.items():
            yield key, judge_draft(drafts[key], list(request.schema.get("required", [])), env)


def judge_draft(draft: Draft, criteria: Sequence[str], env: CheckEnv) -> Answer:
    """The offline answer for one instance on `criteria` (ids, in order)."""
    body: dict[str, dict[str, str]] = {}
    for criterion in criteria:
        check = CHECKS.get(criterion)
        if check is None:
            return skipped(f"the offline judge has no check for criterion `{criterion}`")
        try:
            passed, rationale = check(draft, env)
        except Exception as e:  # a bug in a check must not stop the run: record it
            return Answer(error=f"the offline check for `{criterion}` failed: {e!r}")
        if passed is None:
            return skipped(f"criterion `{criterion}`: {rationale}")
        body[criterion] = {"rationale": rationale, "answer": "yes" if passed else "no"}
    Task(draft.task)  # an unknown task is a programming error, not a judgment
    return Answer(text=json.dumps(body, ensure_ascii=False), stop_reason="end_turn")
