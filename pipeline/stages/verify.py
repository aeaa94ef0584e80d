"""The verify stage: execution evidence for every generated instance.

Each instance whose task produces runnable code is run against the raw code it came from (the
reference) in the sandbox of `pipeline.verify`, on inputs built from the sample itself; the
verdict (pass, fail, inconclusive, not_applicable) with its detail and the inputs tried is stored
in `executions`, one row as each finishes, so a run killed part-way keeps what it finished and the
next run does only the rest. A stored verdict is current while the `[verify]` settings it depends
on (`VerifyConfig.verdict_settings`), the engine's version and the texts it ran (output, input,
reference, imports) are unchanged; `--force` redoes every one.

The final verdict then reads it (view `final_verdicts`): a fail rejects an instance no person has
reviewed while `[verify] gate` is on.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.config import VerifyConfig, config_hash
from pipeline.executor import Executor
from pipeline.executor.workers import verify_on
from pipeline.progress import Progress, no_progress
from pipeline.records import EXEC_VERDICTS, Execution, ExecVerdict, StoredSample, Task
from pipeline.store import Workspace
from pipeline.store.executions import (
    execution_counts,
    execution_counts_by_task,
    execution_hashes,
    save_execution,
    verify_candidates,
)
from pipeline.verify import ENGINE_VERSION, ExecJob, mechanism, verify_many

__all__ = ["VerifyResult", "exec_job", "verify_instances"]

_FENCE = re.compile(r"^\s*```[\w+-]*\n(.*?)\n```\s*$", re.DOTALL)


@dataclass
class VerifyResult:
    """What a verify run did.

    `current`: nothing to do (every generated instance has a verdict under these settings);
    `verified`: verdicts decided by this run; `already`: instances whose stored verdict was kept;
    `counts`/`by_task`: every stored verdict over generated instances (see
    `pipeline.store.executions`); `this_run`: {verdict: n} of this run; `seconds`: wall time of
    this run; `mechanism`: the sandbox (`namespaces+uid`, `rlimits-only`...).
    """

    current: bool = False
    verified: int = 0
    already: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    by_task: dict[str, dict[str, int]] = field(default_factory=dict)
    this_run: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    mechanism: str = ""

    @property
    def rate(self) -> float:
        """Instances verified per second in this run (0 when none)."""
        return self.verified / self.seconds if self.seconds > 0 else 0.0

    @property
    def conclusive_share(self) -> float:
        """pass + fail over pass + fail + inconclusive (the runnable ones), 0-1."""
        runnable = sum(self.counts.get(k, 0) for k in ("pass", "fail", "inconclusive"))
        decided = self.counts.get("pass", 0) + self.counts.get("fail", 0)
        return decided / runnable if runnable else 0.0


def _unfence(text: str) -> str:
    """`text` without one surrounding Markdown code fence (a model's habit), else as is."""
    m = _FENCE.match(text)
    return m.group(1) if m else text


def exec_job(instance: dict[str, str], sample: StoredSample) -> ExecJob:
    """The engine's job for one instance ({id, task, target_language, input, output}) and its
    sample: the reference is the sample's code with its file's import lines; the function is the
    last part of the sample's qualified name."""
    task = Task(instance["task"])
    return ExecJob(
        key=instance["id"],
        task=task,
        language=sample.language,
        func_name=sample.func_name.rsplit(".", 1)[-1],
        reference_code=sample.code,
        candidate_code=_unfence(instance["output"]),
        reference_imports=sample.imports,
        buggy_code=_unfence(instance["input"]) if task is Task.REPAIR else "",
        target_language=instance["target_language"],
    )


def verify_hash(cfg: VerifyConfig) -> str:
    """The hash stored with each verdict: the settings a verdict depends on and the engine's
    version (a changed rule redoes every verdict)."""
    return config_hash(cfg.verdict_settings(), ENGINE_VERSION)


def _instance_hash(vhash: str, instance: dict[str, str], sample: StoredSample) -> str:
    """What one stored verdict was decided on: the settings and engine (`vhash`) and the texts
    run (output, input, the reference and its imports); a change to any redoes that verdict."""
    h = hashlib.sha256(vhash.encode())
    for part in (instance["output"], instance["input"], sample.code, sample.imports):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def verify_instances(
    ws: Workspace,
    executor: Executor | None = None,
    *,
    cfg: VerifyConfig,
    progress: Progress = no_progress,
) -> VerifyResult:
    """Verify the generated instances without a current verdict; see the module docstring.

    Runs `cfg.workers` sandboxes at once; stores each verdict as it finishes. Also mirrors
    `cfg.gate` into the workspace (the final verdict reads it). Current (nothing done, seconds)
    when every generated instance has a verdict under these settings.
    """
    ws.sync_gate(cfg.gate)
    vhash = verify_hash(cfg)
    candidates = verify_candidates(ws)
    stored = execution_hashes(ws)
    hashes = {i["id"]: _instance_hash(vhash, i, s) for i, s in candidates}
    todo = [(i, s) for i, s in candidates if cfg.force or stored.get(i["id"]) != hashes[i["id"]]]
    listing = "\n".join(f"{k} {v}" for k, v in hashes.items())
    inputs = {"instances": hashlib.sha256(listing.encode()).hexdigest()}
    result = VerifyResult(mechanism=mechanism(), already=len(candidates) - len(todo))
    with ws.stage("verify", vhash, inputs, force=cfg.force) as run:
        if run.current and not todo:
            result.current = True
        else:
            started = time.perf_counter()
            this_run = dict.fromkeys(EXEC_VERDICTS, 0)
            bar = progress(total=len(todo), desc="verify", unit="instance")
            known = {t.value for t in Task}
            try:
                for instance, _ in todo:
                    if instance["task"] not in known:  # a task this wavecurate does not know
                        save_execution(
                            ws,
                            Execution(
                                instance_id=instance["id"],
                                verdict=ExecVerdict.NOT_APPLICABLE.value,
                                detail="not a task wavecurate knows how to run",
                                config_hash=hashes[instance["id"]],
                            ),
                        )
                        this_run[ExecVerdict.NOT_APPLICABLE.value] += 1
                        result.verified += 1
                        bar.update(1)
                runnable = [(i, s) for i, s in todo if i["task"] in known]
                jobs = list(_jobs(runnable))
                verdicts = (
                    verify_many(jobs, cfg, cfg.workers)
                    if executor is None or executor.name == "local"
                    # past one machine: `cfg.workers` executor workers, a sandbox at a time each
                    else verify_on(executor, jobs, cfg, workers=cfg.workers)
                )
                for job, verdict in verdicts:
                    save_execution(
                        ws, Execution.of(verdict, instance_id=job.key, config_hash=hashes[job.key])
                    )
                    this_run[verdict.verdict.value] += 1
                    result.verified += 1
                    bar.update(1)
            finally:
                bar.close()
            result.seconds = time.perf_counter() - started
            result.this_run = this_run
            run.counts.update(verified=result.verified, already=result.already, **this_run)
    result.counts = execution_counts(ws)
    result.by_task = execution_counts_by_task(ws)
    return result


def _jobs(todo: list[tuple[dict[str, str], StoredSample]]) -> Iterator[ExecJob]:
    for instance, sample in todo:
        yield exec_job(instance, sample)
