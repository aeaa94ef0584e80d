"""A synthetic workspace written straight into SQLite: for app tests, browser tests and benchmarks.

`build_workspace(root, samples=..., coreset=..., ...)` fills every table the app reads (samples,
coreset, projection, instances, judge results and judgments, reviews, flags, LLM calls, runs,
metrics) with deterministic, plausible rows, in seconds even at 100,000 samples. One sample and
its instance carry hostile text (`HOSTILE_DOC`) to prove that the app shows it as text.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.store import Workspace

HOSTILE_DOC = (
    'Hostile docstring <img src=x onerror="window.__xss=1"> and '
    "<script>window.__xss=2</script> must show as text."
)
HOSTILE_FUNC = "hostile_markup"

LANGUAGES = {"python": 0.55, "javascript": 0.15, "java": 0.12, "go": 0.1, "ruby": 0.08}
TASKS = {
    "code_generation": 0.57,
    "code_summarization": 0.16,
    "code_repair": 0.16,
    "code_translation": 0.11,
}
CRITERIA = {
    "code_generation": ("instruction_clear", "solution_correct", "self_contained"),
    "code_summarization": ("instruction_clear", "summary_faithful", "summary_concise"),
    "code_repair": ("instruction_clear", "bug_real", "fix_correct"),
    "code_translation": ("instruction_clear", "behaviour_kept", "idiomatic"),
}
DROP_RULES = {"length": 0.07, "blacklist": 0.03, "exact_duplicate": 0.03, "near_duplicate": 0.02}
WORDS = tuple(
    [
        "parse",
        "split",
        "join",
        "merge",
        "buffer",
        "stream",
        "token",
        "header",
        "path",
        "socket",
        "frame",
        "record",
        "queue",
        "cache",
        "index",
        "value",
        "key",
        "item",
        "node",
        "tree",
        "graph",
        "list",
        "table",
        "field",
        "offset",
        "chunk",
        "block",
        "line",
        "word",
        "text",
    ]
)
NOW = "2025-01-01T00:00:00.000+00:00"


@dataclass
class SyntheticWorkspace:
    """What was built: the folder and the ids tests refer to."""

    root: Path
    sample_ids: list[str] = field(default_factory=list)
    coreset_ids: list[str] = field(default_factory=list)
    instance_ids: list[str] = field(default_factory=list)
    hostile_instance: str = ""
    flagged: list[str] = field(default_factory=list)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _hid(*parts: object) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:20]


def _code(language: str, name: str, doc: str, i: int) -> str:
    if language == "python":
        return (
            f"def {name}(items, limit={i % 7 + 1}):\n"
            f'    """{doc}"""\n'
            "    out = []\n"
            "    for item in items:\n"
            "        if len(out) >= limit:\n"
            "            break\n"
            f"        out.append(item * {i % 5 + 2})\n"
            "    return out\n"
        )
    if language == "go":
        return f"func {name}(items []int) int {{\n\ttotal := 0\n\tfor _, v := range items {{\n\t\ttotal += v * {i % 5 + 2}\n\t}}\n\treturn total\n}}\n"
    if language == "ruby":
        return f"def {name}(items)\n  items.map {{ |v| v * {i % 5 + 2} }}.take({i % 7 + 1})\nend\n"
    return f"function {name}(items) {{\n  return items.slice(0, {i % 7 + 1}).map(v => v * {i % 5 + 2});\n}}\n"


def build_workspace(
    root: Path,
    *,
    samples: int = 600,
    coreset: int = 120,
    reviewers: tuple[str, ...] = ("ana", "ben"),
    reviewed_share: float = 0.35,
    twice_share: float = 0.1,
    flagged: int = 3,
    hostile: bool = True,
    seed: int = 0,
) -> SyntheticWorkspace:
    """Create a workspace at `root` (a fresh folder) and fill it. Returns the ids written."""
    rng = random.Random(seed)
    ws = Workspace.init(root)
    out = SyntheticWorkspace(root=root)
    try:
        _fill(
            ws, out, rng, samples, coreset, reviewers, reviewed_share, twice_share, flagged, hostile
        )
    finally:
        ws.close()
    return out


def _fill(
    ws: Workspace,
    out: SyntheticWorkspace,
    rng: random.Random,
    n: int,
    k: int,
    reviewers: tuple[str, ...],
    reviewed_share: float,
    twice_share: float,
    n_flagged: int,
    hostile: bool,
) -> None:
    centres = {lang: (rng.uniform(-8, 8), rng.uniform(-8, 8)) for lang in LANGUAGES}
    sample_rows, proj_rows, kept = [], [], []
    for i in range(n):
        language = _pick(rng, LANGUAGES)
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}"
        doc = f"{rng.choice(WORDS).capitalize()} the {rng.choice(WORDS)} of a {rng.choice(WORDS)}."
        if hostile and i == 0:
            name, doc, language = HOSTILE_FUNC, HOSTILE_DOC, "python"
        code = _code(language, name, doc, i)
        sid = _hid("sample", i, name)
        dropped = None
        if i > 0 and rng.random() < sum(DROP_RULES.values()):
            dropped = _pick(rng, DROP_RULES)
        sample_rows.append(
            (sid, "tree", language, "synthetic/repo", f"src/{language}/m{i % 50}.x", name, i % 400,
             doc, code, code, "", "", _hid("sha", code), dropped, i)
        )  # fmt: skip
        out.sample_ids.append(sid)
        if dropped is None:
            kept.append(sid)
            cx, cy = centres[language]
            sub = i % 3
            proj_rows.append(
                (sid, cx + sub * 1.5 + rng.gauss(0, 1.1), cy - sub + rng.gauss(0, 1.1), "synth")
            )
    k = min(k, len(kept))
    chosen = [kept[0], *rng.sample(kept[1:], k - 1)] if k else []
    coreset_rows = [
        (rank, sid, 1.2 * math.exp(-3.0 * rank / max(k, 1)) + 0.15, "synth")
        for rank, sid in enumerate(chosen)
    ]
    out.coreset_ids = chosen

    inst_rows, judge_rows, judgment_rows, call_rows = [], [], [], []
    for j, sid in enumerate(chosen):
        task = _pick(rng, TASKS)
        iid = _hid("instance", sid, task)
        status = "ok" if (j < 3 or rng.random() > 0.04) else rng.choice(["failed", "skipped"])
        words = [rng.choice(WORDS) for _ in range(6)]
        instruction = f"Write a function that {words[0]}s the {words[1]} of a {words[2]}."
        if hostile and j == 0:
            instruction = f"Explain this code. {HOSTILE_DOC}"
            out.hostile_instance = iid
        inp = f"items = [{', '.join(str(rng.randint(0, 9)) for _ in range(4))}]"
        output = f"def solve(items):\n    # {words[3]} {words[4]}\n    return sorted(items)[:{j % 4 + 1}]\n"
        gen_key, judge_key = _hid("gen", iid), _hid("judge", iid)
        inst_rows.append(
            (iid, sid, task, "Go" if task == "code_translation" else "", instruction, inp, output,
             status, "offline", "offline", "v1", _hid("prompt", iid), "[]", "", "", gen_key,
             f"2025-01-01T00:{j // 60 % 60:02d}:{j % 60:02d}.000+00:00")
        )  # fmt: skip
        call_rows.append(
            (gen_key, "offline", "offline", "generator", 600 + j % 300, 200 + j % 120, 0.0042)
        )
        if status != "ok":
            continue
        out.instance_ids.append(iid)
        passed_all = True
        for c, criterion in enumerate(CRITERIA[task]):
            passed = rng.random() > 0.12
            passed_all &= passed
            why = f"The {criterion.replace('_', ' ')} check {'holds' if passed else 'fails'}: "
            why += f"the {rng.choice(WORDS)} is {'handled' if passed else 'ignored'} ({c})."
            judgment_rows.append((iid, criterion, int(passed), why))
        judge_rows.append(
            (iid, "accept" if passed_all else "reject", "ok", "offline", "offline", "v1", judge_key)
        )
        call_rows.append(
            (judge_key, "offline", "offline", "judge", 900 + j % 200, 150 + j % 90, 0.0051)
        )

    db = ws.db
    with ws.write():
        db.executemany(
            "INSERT INTO samples(id, source, language, repo, path, func_name, line, docstring, "
            "code, code_nodoc, url, partition, sha256, dropped_by, seq) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            sample_rows,
        )
        db.executemany(
            "INSERT INTO projection(sample_id, x, y, model_key) VALUES (?,?,?,?)", proj_rows
        )
        db.executemany(
            "INSERT INTO coreset(rank, sample_id, radius, model_key) VALUES (?,?,?,?)",
            coreset_rows,
        )
        db.executemany(
            "INSERT INTO instances(id, sample_id, task, target_language, instruction, input, "
            "output, status, provider, model, prompt_version, prompt_hash, few_shot_ids, "
            "raw_prompt, raw_answer, call_key, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            inst_rows,
        )
        db.executemany(
            "INSERT INTO judge_results(instance_id, verdict, status, provider, model, "
            f"prompt_version, call_key, created_at) VALUES (?,?,?,?,?,?,?,'{NOW}')",
            judge_rows,
        )
        db.executemany(
            "INSERT INTO judgments(instance_id, criterion, passed, rationale) VALUES (?,?,?,?)",
            judgment_rows,
        )
        db.executemany(
            "INSERT INTO llm_calls(key, provider, model, role, input_tokens, output_tokens, "
            f"cost_usd, request, status, created_at) VALUES (?,?,?,?,?,?,?,'{{}}','ok','{NOW}')",
            call_rows,
        )
        _reviews(db, rng, out, judge_rows, judgment_rows, reviewers, reviewed_share, twice_share)
        flagged_ids = [i for i in out.instance_ids[1:] if rng.random() < 0.5][:n_flagged]
        out.flagged = flagged_ids
        db.executemany(
            "INSERT INTO flags(instance_id, benchmark, item_id, signal, score) "
            "VALUES (?, 'HumanEval', ?, ?, ?)",
            [
                (iid, f"HumanEval/{7 + f}", "ngram" if f % 2 else "embedding", 0.93 - f * 0.01)
                for f, iid in enumerate(flagged_ids)
            ],
        )
        _runs_and_metrics(db, len(sample_rows), len(kept), k, len(inst_rows), len(judge_rows))


def _reviews(
    db: object,
    rng: random.Random,
    out: SyntheticWorkspace,
    judge_rows: list[tuple[object, ...]],
    judgment_rows: list[tuple[str, str, int, str]],
    reviewers: tuple[str, ...],
    reviewed_share: float,
    twice_share: float,
) -> None:
    if not reviewers:
        return
    failed: dict[str, list[str]] = {}
    for iid, criterion, passed, _ in judgment_rows:
        if not passed:
            failed.setdefault(iid, []).append(criterion)
    rows = []
    minute = 0
    for jr in judge_rows:
        iid, judge = str(jr[0]), str(jr[1])
        if iid == out.hostile_instance or rng.random() >= reviewed_share:
            continue
        who = [reviewers[0]]
        if len(reviewers) > 1 and rng.random() < twice_share / max(reviewed_share, 1e-9):
            who.append(reviewers[1])
        for reviewer in who:
            verdict = (
                judge if rng.random() > 0.15 else ("reject" if judge == "accept" else "accept")
            )
            flips = {}
            if verdict == "accept" and failed.get(iid):
                flips = {c: True for c in failed[iid]}
            minute += 1
            rows.append(
                (iid, reviewer, verdict, json.dumps(flips, sort_keys=True),
                 "" if verdict == judge else "disagrees with the judge",
                 f"2025-01-02T{minute // 60 % 24:02d}:{minute % 60:02d}:00.000+00:00")
            )  # fmt: skip
    db.executemany(  # type: ignore[attr-defined]
        "INSERT INTO reviews(instance_id, reviewer, verdict, flips, reason, created_at) "
        "VALUES (?,?,?,?,?,?)",
        rows,
    )


def _runs_and_metrics(db: object, ingested: int, kept: int, k: int, gen: int, judged: int) -> None:
    stages = [
        ("ingest", 2.4, {"added": ingested}),
        ("filter", 1.1, {"kept": kept}),
        ("embed", 38.0, {"embedded": kept}),
        ("select", 0.9, {"k": k}),
        ("project", 12.5, {"projected": kept}),
        ("generate", 4.2, {"generated": gen}),
        ("judge", 3.7, {"judged": judged}),
        ("decontaminate", 1.6, {"flagged": 3}),
    ]
    for n, (stage, seconds, counts) in enumerate(stages):
        db.execute(  # type: ignore[attr-defined]
            "INSERT INTO runs(stage, started_at, finished_at, seconds, counts, status) "
            "VALUES (?, ?, ?, ?, ?, 'done')",
            (stage, f"2025-01-01T01:{n:02d}:00.000+00:00", f"2025-01-01T01:{n:02d}:30.000+00:00",
             seconds, json.dumps(counts)),
        )  # fmt: skip
    coverage = _coverage(k, kept)
    metrics = {
        "embedded": {"count": kept, "model_key": "synth"},
        "coverage": coverage,
        "leakage": _leakage(gen, judged),
    }
    for name, value in metrics.items():
        db.execute(  # type: ignore[attr-defined]
            "INSERT INTO metrics(name, value, updated_at) VALUES (?, ?, ?)",
            (name, json.dumps(value), NOW),
        )


def _leakage(generated: int, curated: int) -> dict[str, object]:
    """A leakage report in the decontaminate stage's shape (`leakage_report`)."""
    rng = random.Random(7)

    def summary(n: int) -> dict[str, object]:
        sims = sorted(min(0.99, max(0.0, rng.gauss(0.42, 0.12))) for _ in range(n))
        hist = [0] * 20
        for v in sims:
            hist[min(int(v * 20), 19)] += 1
        return {
            "count": n,
            "mean": round(sum(sims) / n, 4) if n else None,
            "median": round(sims[n // 2], 4) if n else None,
            "max": round(sims[-1], 4) if n else None,
            "above_threshold": sum(v >= 0.9 for v in sims),
            "histogram": hist,
        }

    return {
        "model": "synth",
        "similarity_threshold": 0.9,
        "bins": [round(i / 20, 2) for i in range(21)],
        "benchmarks": {
            "HumanEval": {
                "items": 164,
                "curated": summary(curated),
                "generated": summary(generated),
            }
        },
    }


def _coverage(k: int, n: int) -> dict[str, object]:
    """A coverage metric in the select stage's shape (`measure_coverage`)."""
    ks = sorted({max(1, round(k * f)) for f in (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)})
    shape = {"kcenter": (1.2, 3.0, 0.15), "random": (1.25, 1.6, 0.3), "kmeanspp": (1.22, 2.2, 0.22)}

    def curve(scale: float, rate: float, floor: float, factor: float = 1.0) -> list[float]:
        return [round(factor * (scale * math.exp(-rate * x / max(k, 1)) + floor), 4) for x in ks]

    out: dict[str, object] = {"k": ks, "n": n, "size": k, "seed": 0, "delta": 0.8}
    out["delta_radius"] = round(math.sqrt(2 - 2 * 0.8), 4)
    out |= {m: curve(*p) for m, p in shape.items()}
    out["mean"] = {m: curve(*p, factor=0.45) for m, p in shape.items()}
    out["within"] = {m: [round(min(1.0, 0.3 + 0.6 * x / max(k, 1)), 4) for x in ks] for m in shape}
    out["final"] = {
        m: {"radius": c[-1], "mean": round(c[-1] * 0.45, 4), "p99": round(c[-1] * 0.8, 4),
            "within": 0.9}
        for m, c in ((m, curve(*p)) for m, p in shape.items())
    }  # fmt: skip
    out["seconds"] = {"kcenter": 0.0, "random": 0.001, "kmeanspp": 0.42}
    return out
