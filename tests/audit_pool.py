"""A simulated pool with a known truth, written through the store's own functions: samples,
instances and judge answers. Shared by the audit tests; holds no tests itself."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pipeline.records import CriterionAnswer, Instance, Sample
from pipeline.store import Workspace
from pipeline.store.instances import record_judgment, upsert_instance
from pipeline.store.samples import insert_samples

CRITERIA = ("correct", "clear")
TASKS = ("code_generation", "code_summarization")


@dataclass
class Pool:
    """What was written: instance ids by judge verdict, and which accepts a person would reject."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    wrong: set[str] = field(default_factory=set)  # accepted instances a person would reject
    sample_of: dict[str, str] = field(default_factory=dict)
    task_of: dict[str, str] = field(default_factory=dict)

    @property
    def true_error_rate(self) -> float:
        return len(self.wrong) / len(self.accepted)


def build_pool(
    ws: Workspace,
    size: int,
    *,
    accept_share: float = 0.85,
    wrong_share: float = 0.2,
    seed: int = 0,
    rationale: dict[str, str] | None = None,
) -> Pool:
    """`size` judged instances; of the accepted ones exactly round(wrong_share * accepted) are
    wrong. `rationale` overrides the rationale of some instances' "correct" answer."""
    rng = random.Random(seed)
    pool = Pool()
    samples = [
        Sample("tree", "python", "repo", f"m{i}.py", f"fn_{i}", 1, f"Doc {i}.",
               f"def fn_{i}(x):\n    return x + {i}\n", f"def fn_{i}(x):\n    return x + {i}\n")
        for i in range(size)
    ]  # fmt: skip
    insert_samples(ws, samples)
    with ws.write():  # one transaction: the store functions join it
        for i, s in enumerate(samples):
            iid = f"inst{i:05d}"
            task = TASKS[i % len(TASKS)]
            upsert_instance(ws, Instance(id=iid, sample_id=s.id, task=task, output=f"out {i}"))
            accept = rng.random() < accept_share
            why = (rationale or {}).get(iid, "The solution handles every case.")
            answers = (
                CriterionAnswer("correct", True, why),
                CriterionAnswer("clear", accept, "Reads well." if accept else "Is unclear."),
            )
            record_judgment(
                ws, iid, verdict="accept" if accept else "reject", status="ok", error="",
                provider="offline", model="judge", prompt_version="v1", raw_prompt="",
                raw_answer="", call_key=None, criteria=answers,
            )  # fmt: skip
            (pool.accepted if accept else pool.rejected).append(iid)
            pool.sample_of[iid] = s.id
            pool.task_of[iid] = task
    k = round(wrong_share * len(pool.accepted))
    pool.wrong = set(rng.sample(pool.accepted, k))
    return pool
