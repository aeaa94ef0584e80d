"""The export stage: curated instances as JSONL, with a manifest and a dataset card beside it.

Formats (one JSON object a line, instances in id order):
- `alpaca`: `{"instruction", "input", "output"}`, the format WaveCoder trained on.
- `messages`: `{"messages": [{"role", "content"}, ...]}`, the chat format SFT trainers read (TRL,
  LLaMA-Factory, axolotl): an optional system message (`export.system_prompt`), the user's turn
  (instruction, a blank line, input) and the assistant's answer (output), last.
- `full`: every field with its provenance (see `_full_row`).

The text is the effective text: the human edits of the instance's effective reviews replace the
generated instruction, input and output in every format. Nothing in the output depends on the time
or the machine: two exports of the same workspace state are byte-identical.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Config, DecontaminateConfig, ExportConfig, config_hash
from pipeline.llm.base import provider_kind
from pipeline.progress import Progress, no_progress
from pipeline.records import EDITABLE_FIELDS, Execution, ExportFilters, ExportFormat, Review
from pipeline.store import DB_NAME, Workspace
from pipeline.store.executions import executions_by_instance
from pipeline.store.export import (
    effective_edits,
    judgments_by_instance,
    reviews_by_instance,
    select_for_export,
)
from pipeline.store.flags import clearances_by_instance, flags_by_instance
from pipeline.store.status import funnel
from pipeline.textsafe import md_cell, md_text
from pipeline.version import __version__

__all__ = [
    "FORMATS",
    "Export",
    "ExportFilters",
    "ExportFormat",
    "ExportPathError",
    "build_export",
    "sidecar_paths",
    "write_export",
]


FORMATS: tuple[str, ...] = tuple(f.value for f in ExportFormat)


class ExportPathError(ValueError):
    """`--out` names a workspace file, or an existing file that is not an earlier export."""


@dataclass(frozen=True)
class Export:
    """The export stage's result: the JSONL text, its manifest and card, the rows it holds, and
    the paths written (`[out, manifest, card]`; empty when `cfg.out` was empty)."""

    format: ExportFormat
    jsonl: str
    manifest: dict[str, Any]
    card: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def manifest_json(self) -> str:
        return json.dumps(self.manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_export(
    ws: Workspace, made_with: Config, *, cfg: ExportConfig, progress: Progress = no_progress
) -> Export:
    """Select the instances `cfg.filters` admit and render them as `cfg.format`; write them to
    `cfg.out` when it is set.

    `made_with`: the configuration the workspace's data was made with (the card's "How it was
    made" and the manifest's config hash). Returns the JSONL text (one object a line, by instance
    id; empty when nothing matches), the manifest (counts by task, language and verdict source;
    config hash; models; schema version; sha256 of the JSONL) and the dataset card (Markdown),
    all from one read snapshot of the workspace. With `cfg.out`: checks the path first
    (`check_out`, `cfg.force`), writes the three files (`write_export`) and records an `export`
    run; without, writes and records nothing (a preview). Raises ValueError on an unknown
    format or filter, ExportPathError on a refused path.
    """
    if cfg.format not in FORMATS:
        raise ValueError(f"unknown export format {cfg.format!r} (known: {', '.join(FORMATS)})")
    fmt = ExportFormat(cfg.format)
    filters = cfg.filters
    filters.validate()
    if not cfg.out:
        with ws.snapshot():  # one consistent state: selection, edits, reviews, flags, the funnel
            return _build(ws, made_with, cfg, fmt, filters, progress)
    out = Path(cfg.out)
    check_out(out, workspace_files(ws), force=cfg.force)
    with ws.stage("export", cfg, force=True) as run:
        with ws.snapshot():
            export = _build(ws, made_with, cfg, fmt, filters, progress)
        paths = write_export(export, out)
        run.counts.update(
            {"format": fmt.value, "count": export.count, "out": str(paths[0]),
             "sha256": export.manifest["sha256"]}
        )  # fmt: skip
    return dataclasses.replace(export, paths=paths)


def _build(
    ws: Workspace,
    made_with: Config,
    cfg: ExportConfig,
    fmt: ExportFormat,
    filters: ExportFilters,
    progress: Progress,
) -> Export:
    selected = select_for_export(ws, filters)
    bar = progress(total=len(selected), desc=f"export {fmt.value}", unit=" rows")
    edits = effective_edits(ws)
    for rec in selected:
        rec["edits"] = edits.get(rec["id"], {})
        rec.update({k: v for k, v in rec["edits"].items() if k in EDITABLE_FIELDS})

    system_prompt = cfg.system_prompt
    rows: list[dict[str, Any]]
    if fmt == ExportFormat.ALPACA:
        rows = [_alpaca_row(r) for r in selected]
    elif fmt == ExportFormat.MESSAGES:
        rows = [_messages_row(r, system_prompt) for r in selected]
    else:
        rows = _full_rows(ws, selected)
    bar.update(len(rows))
    jsonl = "".join(_json_line(row) for row in rows)
    manifest = _manifest(ws, made_with, fmt, filters, selected, jsonl)
    if fmt == ExportFormat.MESSAGES:
        manifest["system_prompt"] = system_prompt
    card = _card(ws, made_with, manifest)
    bar.close()
    return Export(format=fmt, jsonl=jsonl, manifest=manifest, card=card, rows=rows)


def sidecar_paths(out: Path) -> tuple[Path, Path]:
    """The manifest and card paths beside `out`: `<stem>.manifest.json`, `<stem>.card.md`."""
    return out.with_name(f"{out.stem}.manifest.json"), out.with_name(f"{out.stem}.card.md")


def workspace_files(ws: Workspace) -> list[Path]:
    """The files and folders an export must never write: the database (and its WAL, SHM and
    journal), the config, the embeddings folder; resolved (symlinks followed)."""
    db = ws.root / DB_NAME
    names = [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))]
    return [p.resolve() for p in (*names, ws.config_path, ws.embeddings_dir)]


def check_out(out: Path, protected: list[Path], *, force: bool = False) -> None:
    """Raise ExportPathError unless `out` and its sidecars may be written.

    Refused always: a path that resolves to (or inside) one of `protected` (see
    `workspace_files`), or a folder. Refused without `force`: an existing file that is not part
    of an earlier export of this tool (an earlier export: `out` whose manifest's sha256 matches
    it, and that manifest and card).
    """
    targets = [Path(out), *sidecar_paths(Path(out))]
    for target in targets:
        real = target.resolve()
        for p in protected:
            if real == p or p in real.parents:
                raise ExportPathError(f"{target}: refusing to write over the workspace's {p.name}")
        if target.is_dir():
            raise ExportPathError(f"{target}: is a folder")
    if force or not any(t.exists() or t.is_symlink() for t in targets):
        return
    if not _earlier_export(Path(out)):
        existing = next(t for t in targets if t.exists() or t.is_symlink())
        raise ExportPathError(
            f"{existing}: exists and is not an earlier wavecurate export; pass --force to "
            "replace it"
        )


def _earlier_export(out: Path) -> bool:
    """`out` is a file this tool exported: its manifest holds its sha256."""
    manifest_path, _card = sidecar_paths(out)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not out.is_file() or not isinstance(manifest, dict):
            return False
        digest = hashlib.sha256()
        with out.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except (OSError, ValueError):
        return False
    return manifest.get("sha256") == digest.hexdigest()


def write_export(export: Export, out: Path) -> list[Path]:
    """Write the JSONL to `out` and its manifest and card beside it, each atomically.

    Returns [out, manifest path, card path]. Each file is written to a temporary file in the same
    folder and renamed over the target, so a reader never sees a half-written file; the temporary
    files a killed export left beside these targets are removed first. Files get the usual
    permissions (0666 less the umask). Check the path with `check_out` first.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest_path, card_path = sidecar_paths(out)
    for path in (out, manifest_path, card_path):
        for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
            tmp.unlink(missing_ok=True)
    for path, text in (
        (out, export.jsonl),
        (manifest_path, export.manifest_json),
        (card_path, export.card),
    ):
        _atomic_write(path, text.encode("utf-8"))
    return [out, manifest_path, card_path]


def glob_escape(name: str) -> str:
    """`name` with the glob metacharacters made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, (stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH
                       | stat.S_IWOTH) & ~_umask())  # fmt: skip
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_line(row: dict[str, Any]) -> str:
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from source code: escape it instead
        line = json.dumps(row, ensure_ascii=True)
    return line + "\n"


# -- formats ----------------------------------------------------------------------------------
def _alpaca_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"instruction": r["instruction"], "input": r["input"], "output": r["output"]}


def user_content(instruction: str, input_text: str) -> str:
    """The user's turn of the messages format: the instruction, then the input if any."""
    return f"{instruction}\n\n{input_text}" if input_text.strip() else instruction


def _messages_row(r: dict[str, Any], system_prompt: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": user_content(r["instruction"], r["input"])})
    messages.append({"role": "assistant", "content": r["output"]})
    return {"messages": messages}


def _full_rows(ws: Workspace, selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    judgments = judgments_by_instance(ws)
    reviews = reviews_by_instance(ws)
    flags = flags_by_instance(ws)
    clearances = clearances_by_instance(ws)
    executions = executions_by_instance(ws)
    out = []
    for r in selected:
        iid = r["id"]
        row = _full_row(
            r,
            judgments.get(iid, []),
            reviews.get(iid, []),
            [dataclasses.asdict(f) for f in flags.get(iid, [])],
            [dataclasses.asdict(c) for c in clearances.get(iid, [])],
        )
        execution = executions.get(iid)
        # the same keys on every row (Arrow-friendly); verdict None when not verified
        row["execution"] = (
            execution.to_json()
            if execution
            else Execution("", "", instance_id=iid).to_json() | _UNVERIFIED
        )
        out.append(row)
    return out


_UNVERIFIED: dict[str, Any] = {"verdict": None, "detail": "not verified", "mechanism": None}


def _full_row(
    r: dict[str, Any],
    judgments: list[dict[str, Any]],
    reviews: list[tuple[Review, bool]],
    flags: list[dict[str, Any]],
    clearances: list[dict[str, Any]],
) -> dict[str, Any]:
    """Every field with provenance. Maps with open keys become lists of records (Arrow-friendly)."""
    # the deciding review's flips: {criterion: passed as the reviewer sees it}
    deciding = next((rv for rv, _ in reviews if rv.id == r["review_id"]), None)
    human_passed = {} if deciding is None else deciding.flips
    gen_cost = float(r["gen_cost_usd"] or 0.0)
    judge_cost = float(r["judge_cost_usd"] or 0.0)
    return {
        "id": r["id"],
        "task": r["task"],
        "language": r["language"],
        "target_language": r["target_language"],
        "instruction": r["instruction"],
        "input": r["input"],
        "output": r["output"],
        "edited_fields": sorted(k for k in r["edits"] if k in EDITABLE_FIELDS),
        "verdict": r["verdict"],
        "verdict_source": r["verdict_source"],
        "judge_verdict": r["judge_verdict"],
        "human_verdict": r["human_verdict"],
        "reviewer": r["reviewer"],
        "sample": {
            "id": r["sample_id"],
            "source": r["sample_source"],
            "language": r["language"],
            "repo": r["sample_repo"],
            "path": r["sample_path"],
            "func_name": r["sample_func_name"],
            "line": r["sample_line"],
            "url": r["sample_url"],
            "partition": r["sample_partition"],
            "docstring": r["sample_docstring"],
            "code": r["sample_code"],
        },
        "generator": {
            "provider": r["gen_provider"],
            "model": r["gen_model"],
            "prompt_version": r["gen_prompt_version"],
            "prompt_hash": r["gen_prompt_hash"],
            "few_shot_ids": [str(x) for x in json.loads(r["gen_few_shot_ids"] or "[]")],
            "call_key": r["gen_call_key"],
            "raw_prompt": r["gen_raw_prompt"],
            "raw_answer": r["gen_raw_answer"],
        },
        "judge": {
            "status": r["judge_status"],
            "provider": r["judge_provider"],
            "model": r["judge_model"],
            "prompt_version": r["judge_prompt_version"],
            "call_key": r["judge_call_key"],
            "raw_prompt": r["judge_raw_prompt"],
            "raw_answer": r["judge_raw_answer"],
        },
        "judgments": [{**j, "human_passed": human_passed.get(j["criterion"])} for j in judgments],
        "reviews": [
            {
                "id": rv.id,
                "reviewer": rv.reviewer,
                "verdict": rv.verdict,
                "reason": rv.reason,
                "undoes": rv.undoes,
                "created_at": rv.created_at,
                "effective": effective,
                "flips": [{"criterion": k, "passed": v} for k, v in sorted(rv.flips.items())],
                "edits": [{"field": k, "text": v} for k, v in sorted(rv.edits.items())],
            }
            for rv, effective in reviews
        ],
        "flagged": bool(r["flagged"]),
        "flags": [{k: v for k, v in f.items() if k != "instance_id"} for f in flags],
        "flag_clearances": [
            {k: v for k, v in c.items() if k in ("reviewer", "reason", "created_at")}
            for c in clearances
        ],
        "cost": {
            "generator_usd": gen_cost,
            "judge_usd": judge_cost,
            "total_usd": round(gen_cost + judge_cost, 8),
            "input_tokens": int(r["gen_input_tokens"] or 0) + int(r["judge_input_tokens"] or 0),
            "output_tokens": int(r["gen_output_tokens"] or 0) + int(r["judge_output_tokens"] or 0),
        },
    }


# -- manifest and card ------------------------------------------------------------------------
def _counts(selected: list[dict[str, Any]], key: str) -> dict[str, int]:
    return dict(sorted(Counter(str(r[key] or "") for r in selected).items()))


def _manifest(
    ws: Workspace,
    cfg: Config,
    fmt: str,
    filters: ExportFilters,
    selected: list[dict[str, Any]],
    jsonl: str,
) -> dict[str, Any]:
    return {
        "format": fmt,
        "count": len(selected),
        "sha256": hashlib.sha256(jsonl.encode("utf-8")).hexdigest(),
        "filters": filters.as_dict(),
        "counts": {
            "by_task": _counts(selected, "task"),
            "by_language": _counts(selected, "language"),
            "by_verdict_source": _counts(selected, "verdict_source"),
            "edited": sum(1 for r in selected if r["edits"]),
            "flagged": sum(1 for r in selected if r["flagged"]),
        },
        "models": {
            "generator": sorted({str(r["gen_model"]) for r in selected if r["gen_model"]}),
            "judge": sorted({str(r["judge_model"]) for r in selected if r["judge_model"]}),
            "embedding": cfg.embed.model,
        },
        "config_hash": config_hash(cfg),
        "schema_version": ws.schema_version,
        "wavecurate_version": __version__,
    }


def _table(header: tuple[str, str], rows: dict[str, Any]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---:|"]
    lines += [f"| {md_cell(str(k)) if k else '(none)'} | {_md_value(v)} |" for k, v in rows.items()]
    return lines or ["(none)"]


_FORMAT_TEXT = {
    "alpaca": "`instruction`, `input`, `output` per line (the format WaveCoder trained on).",
    "messages": "`messages`: a list of `{role, content}` (optional system, user, then assistant), "
    "the chat format SFT trainers read.",
    "full": "every field with its provenance: source sample, generator and judge (models, prompt "
    "versions, raw prompt and answer), per-criterion judgments, reviews, flags, cost.",
}


def _card(ws: Workspace, cfg: Config, manifest: dict[str, Any]) -> str:
    """The dataset card: what is in the file, how it was made (`cfg`), and the funnel."""
    f = funnel(ws)
    counts = manifest["counts"]
    leakage = ws.get_metric("leakage")
    lines = [
        f"# wavecurate dataset: {manifest['count']} code instruction instances",
        "",
        "Code instruction data curated with wavecurate, the pipeline of WaveCoder (Yu et al., "
        "*WaveCoder: Widespread And Versatile Enhancement For Code Large Language Models By "
        "Instruction Tuning*): raw code is filtered, embedded, a diverse coreset is selected "
        f"(KCenterGreedy), a Generator ({_made_by(f, 'generator')}) writes an instruction "
        f"instance per selected sample, a Discriminator ({_made_by(f, 'judge')}) judges it per "
        "criterion, humans review, and instances that overlap benchmarks are flagged.",
        "",
        "## File",
        "",
        f"- format: `{manifest['format']}`: {_FORMAT_TEXT[manifest['format']]}",
        f"- instances: {manifest['count']} (edited by a reviewer: {counts['edited']})",
        f"- sha256 of the JSONL: `{manifest['sha256']}`",
        f"- config hash: `{manifest['config_hash']}`; workspace schema version "
        f"{manifest['schema_version']}; wavecurate {manifest['wavecurate_version']}",
        f"- filters: `{json.dumps(manifest['filters'], sort_keys=True)}`",
        "",
        "### By task",
        "",
        *_table(("task", "instances"), counts["by_task"]),
        "",
        "### By language",
        "",
        *_table(("language", "instances"), counts["by_language"]),
        "",
        "### By verdict source",
        "",
        *_table(("verdict source", "instances"), counts["by_verdict_source"]),
        "",
        "## How it was made",
        "",
        f"1. **Sources**: {_join(f['by_source'])} ({f['ingested']} samples ingested).",
        f"2. **Filter**: code length {cfg.filter.min_chars}-{cfg.filter.max_chars} characters, "
        f"the Code Alpaca blacklist ({len(cfg.filter.blacklist)} words), exact duplicates, near "
        f"duplicates (MinHash LSH, Jaccard >= {cfg.filter.near_duplicate_threshold}); "
        f"{f['kept']} kept, dropped by rule: {_join(f['dropped'])}.",
        f"3. **Embed**: {md_text(cfg.embed.model)} (pooling: {cfg.embed.pooling}, text: "
        f"{cfg.embed.text}); {f['embedded']} embedded.",
        f"4. **Select**: KCenterGreedy coreset of {f['coreset']} samples "
        f"(k={cfg.select.k}, fraction={cfg.select.fraction}, seed={cfg.select.seed}).",
        f"5. **Generate**: {_made_by(f, 'generator')}, models "
        f"{_join_list(manifest['models']['generator'])}, task mix "
        f"{_join(cfg.generate.task_mix)}; {f['instances']} instances generated.",
        f"6. **Judge**: {_made_by(f, 'judge')}, models "
        f"{_join_list(manifest['models']['judge'])}; the verdict is accept when every criterion "
        f"passes; {f['judge_accepted']} accepted, {f['judge_rejected']} rejected.",
        f"7. **Review**: {f['reviewed']} instances reviewed by a human; the final verdict is the "
        "latest human review, else the Discriminator's.",
        f"8. **Decontaminate**: against {_benchmark_names(cfg.decontaminate)}: "
        f"word {cfg.decontaminate.ngram}-gram overlap >= {cfg.decontaminate.ngram_threshold} of "
        f"a benchmark item's n-grams, or nearest-neighbour cosine >= "
        f"{cfg.decontaminate.similarity_threshold}; {f['flagged']} instances flagged and not "
        "cleared.",
        "",
        *_leakage_lines(leakage),
        "## Funnel",
        "",
        *_table(("stage", "count"), _funnel_rows(f)),
        "",
        f"Cost: {f['llm_calls']} provider calls, {f['tokens']['input']} input and "
        f"{f['tokens']['output']} output tokens, USD {f['cost_usd']}.",
        "",
    ]
    return "\n".join(lines)


def _benchmark_names(cfg: DecontaminateConfig) -> str:
    names = (["HumanEval"] if cfg.humaneval else []) + [
        md_text(Path(b).name) for b in cfg.benchmarks
    ]
    return ", ".join(names) or "no benchmark"


def _join(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{md_text(str(k))} {_md_value(v)}" for k, v in mapping.items()) or "none"


def _md_value(value: Any) -> str:
    """A number as is; anything else as escaped Markdown text."""
    return str(value) if isinstance(value, int | float) else md_cell(str(value))


def _join_list(values: list[str]) -> str:
    return ", ".join(md_text(str(v)) for v in values) or "none"


def _leakage_lines(leakage: Any) -> list[str]:
    if not isinstance(leakage, dict) or not leakage.get("benchmarks"):
        return []
    lines = [
        "### Leakage",
        "",
        f"Mean nearest-neighbour cosine similarity to each benchmark "
        f"({md_text(str(leakage.get('model')))}), "
        "as in WaveCoder's leakage analysis:",
        "",
        "| benchmark | curated | all generated |",
        "|---|---:|---:|",
    ]
    for name, report in sorted(leakage["benchmarks"].items()):
        cur, gen = report.get("curated", {}), report.get("generated", {})
        lines.append(f"| {md_cell(name)} | {_fmt(cur.get('mean'))} | {_fmt(gen.get('mean'))} |")
    return [*lines, ""]


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.4f}"


def _made_by(f: dict[str, Any], role: str) -> str:
    """The providers that made the workspace's instances (`generator`) or judgments (`judge`),
    each with what it is: "provider `offline` (offline, rule-based: not an LLM)"."""
    names = sorted({p["provider"] for p in f["providers"][role]})
    if not names:
        return "no provider yet"
    return ", ".join(f"provider `{n}` ({provider_kind(n)})" for n in names)


def _funnel_rows(f: dict[str, Any]) -> dict[str, Any]:
    keys = ("ingested", "kept", "embedded", "coreset", "instances", "judged", "judge_accepted",
            "reviewed", "accepted", "rejected", "flagged", "exportable")  # fmt: skip
    return {k: f[k] for k in keys}
