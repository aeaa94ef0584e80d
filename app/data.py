"""The app's readers: the session's workspace, and cached reads over `pipeline` for the pages.

One `Workspace` (one SQLite connection) per browser session, kept in `st.session_state`: reviews
are written through it with `BEGIN IMMEDIATE`, and live progress is read through it uncached.
What is expensive and changes only when a stage runs (the projection, coverage, labels) is cached
across sessions with `st.cache_data`, keyed by the workspace path and a change token
(`pipeline.store.tokens.change_tokens`), so a stage run or a new review shows up on the next
rerun without anyone clearing a cache.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from app import state
from pipeline import review as rq
from pipeline.records import (
    Clearance,
    Execution,
    ExportFilters,
    ExportFormat,
    Flag,
    Instance,
    QueueRow,
    SampleLabel,
    StoredSample,
    Verdict,
)
from pipeline.store import Workspace, WorkspaceError
from pipeline.store import audit as store_audit
from pipeline.store import drafts as store_drafts
from pipeline.store import executions as store_executions
from pipeline.store import flags as store_flags
from pipeline.store import maps as store_maps
from pipeline.store import queue as store_queue
from pipeline.store import reviews as store_reviews
from pipeline.store import tokens as store_tokens
from pipeline.store.samples import get_samples
from pipeline.store.vectors import coreset_rows, count_projection, projection_rows

if TYPE_CHECKING:  # scipy loads with the audit: only the pages that show it import it
    from pipeline.agreement import AgreementReport
    from pipeline.audit.report import AuditReport
    from pipeline.audit.risk import Ranked
    from pipeline.stages.export import Export

WS_PATH_KEY = state.WORKSPACE_PATH
WS_KEY = state.WORKSPACE
REVIEWER_KEY = state.REVIEWER
ENV_WORKSPACE = "WAVECURATE_WORKSPACE"
ENV_REVIEWER = "WAVECURATE_REVIEWER"

Tokens = tuple[tuple[Any, ...], tuple[int, ...]]


# -- the session's workspace ----------------------------------------------------------------


def _argv_workspace(argv: list[str]) -> str | None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workspace", "-w")
    known, _ = parser.parse_known_args(argv)
    return str(known.workspace) if known.workspace else None


def workspace_path() -> Path:
    """The workspace folder: set in the session, else `-- --workspace DIR` after `streamlit run
    app/main.py`, else $WAVECURATE_WORKSPACE, else the current folder."""
    if WS_PATH_KEY not in st.session_state:
        chosen = _argv_workspace(sys.argv[1:]) or os.environ.get(ENV_WORKSPACE) or "."
        st.session_state[WS_PATH_KEY] = str(Path(chosen).expanduser().resolve())
    return Path(st.session_state[WS_PATH_KEY])


def workspace() -> Workspace:
    """This session's open workspace (one connection per session); stops the page with an
    error when the folder holds no workspace."""
    path = workspace_path()
    ws = st.session_state.get(WS_KEY)
    if isinstance(ws, Workspace) and ws.root == path:
        return ws
    try:
        ws = Workspace(path)
    except WorkspaceError as e:
        st.error(str(e), title="No workspace", icon=":material/folder_off:")
        st.stop()
    st.session_state[WS_KEY] = ws
    return ws


def reviewer() -> str:
    """The reviewer's name from the sidebar, stripped ('' until they type one)."""
    return str(st.session_state.get(REVIEWER_KEY) or "").strip()


def tokens(ws: Workspace | None = None) -> Tokens:
    """The change tokens of the workspace: (pipeline data, human decisions)."""
    return store_tokens.change_tokens(ws or workspace())


def _keyed() -> tuple[Workspace, str, Tokens]:
    """The session's workspace with the cache key of its current contents (path, tokens)."""
    ws = workspace()
    return ws, str(ws.root), tokens(ws)


# -- what the pages show, by intent (cache keys are built here, not by the pages) ------------


@st.cache_data(max_entries=8, show_spinner=False)
def _queue_rows(_ws: Workspace, path: str, token: Tokens) -> list[QueueRow]:
    return store_queue.queue_rows(_ws)


def queue(qfilter: rq.QueueFilter, order: rq.SortOrder, seed: str = "") -> list[str]:
    """Instance ids of the review queue under `qfilter`, in `order` (`seed`: the shuffle's;
    "most likely wrong first" follows `risk_ranking`)."""
    ranking = list(risk_ranking()) if order is rq.SortOrder.MOST_LIKELY_WRONG else []
    return rq.build_queue(_queue_rows(*_keyed()), qfilter, order, seed=seed, ranking=ranking)


def instance(instance_id: str) -> Instance | None:
    """One instance with its sample, the judge's answers and its history (read live), or None
    when no instance has this id."""
    return store_queue.instance_detail(workspace(), instance_id)


def execution(instance_id: str) -> Execution | None:
    """The instance's execution verdict from the verify stage (read live), or None."""
    return store_executions.execution_for(workspace(), instance_id)


def reviewed_ids() -> set[str]:
    """Ids of the instances with a human decision in force (read live)."""
    return store_queue.reviewed_instance_ids(workspace())


def draft(instance_id: str, reviewer: str) -> store_drafts.Draft | None:
    """The reviewer's unsaved work on the instance, or None."""
    return store_drafts.get_draft(workspace(), instance_id, reviewer) if reviewer else None


def flags(instance_id: str) -> tuple[list[Flag], list[Clearance]]:
    """(benchmark overlaps of the instance, the clearances of those flags), read live."""
    ws = workspace()
    found = store_flags.flags_for(ws, instance_id)
    return found, store_flags.clearances_for(ws, instance_id) if found else []


def sample(sample_id: str) -> StoredSample | None:
    """One sample (any, kept or dropped), or None."""
    return get_samples(workspace(), [sample_id]).get(sample_id)


def instances_of_sample(sample_id: str) -> list[Instance]:
    """Every instance of the sample (any status), with its final verdict."""
    return store_maps.instances_of_samples(workspace(), [sample_id])


def instance_ids_of_samples(sample_ids: list[str]) -> list[str]:
    """Ids of the generated instances of the samples, in ingestion order (the Review queue a
    map selection or search sends)."""
    return store_maps.instance_ids_of_samples(workspace(), sample_ids)


# -- writes: each one appends a row; the change token moves, so cached reads refresh ----------


def decide(
    instance_id: str,
    reviewer: str,
    verdict: Verdict,
    *,
    flips: dict[str, bool],
    edits: dict[str, str],
    reason: str,
) -> int:
    """Record the reviewer's decision (one review row) and drop their draft; the row id."""
    ws = workspace()
    row = store_reviews.add_review(
        ws, instance_id, reviewer, verdict, flips=flips, edits=edits, reason=reason
    )
    store_drafts.discard_draft(ws, instance_id, reviewer)
    return row


def undo(instance_id: str, reviewer: str) -> bool:
    """Undo the reviewer's latest decision on the instance; False when none was left."""
    return store_reviews.undo_review(workspace(), instance_id, reviewer) is not None


def save_draft(
    instance_id: str, reviewer: str, *, flips: dict[str, bool], edits: dict[str, str], reason: str
) -> bool:
    """Keep the reviewer's unsaved work on the instance; True when a draft is stored."""
    return store_drafts.save_draft(
        workspace(), instance_id, reviewer, flips=flips, edits=edits, reason=reason
    )


def discard_draft(instance_id: str, reviewer: str) -> bool:
    """Drop the reviewer's draft on the instance; True when there was one."""
    return store_drafts.discard_draft(workspace(), instance_id, reviewer)


def clear_flag(instance_id: str, reviewer: str, reason: str) -> int:
    """Clear the instance's benchmark flag with a reason (ValueError on an empty one)."""
    return store_flags.clear_flag(workspace(), instance_id, reviewer, reason)


# -- cached reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MapData:
    """Every projected kept sample, in a fixed order: ids, coordinates, coreset rank (-1: not in
    the coreset), and labels to colour by."""

    frame: pd.DataFrame  # id, x, y, rank, func_name, language, task, verdict
    x: np.ndarray
    y: np.ndarray
    ids: list[str]


PREWARM_FROM = 20_000  # projected samples: below this the map loads fast enough cold


@st.cache_data(max_entries=4, show_spinner=False)  # the Map page shows its own spinner
def map_base(_ws: Workspace, path: str, data_token: tuple[Any, ...]) -> MapData:
    """The projection with coreset ranks, names, languages and tasks; cached until a stage runs."""
    projection = projection_rows(_ws)
    rank = {sid: r for r, sid, _ in coreset_rows(_ws)}
    labels = store_maps.sample_labels(_ws)
    ids = [p[0] for p in projection]
    unknown = SampleLabel("", "unknown", None)
    rows = [labels.get(i, unknown) for i in ids]
    frame = pd.DataFrame(
        {
            "id": ids,
            "x": np.fromiter((p[1] for p in projection), dtype=np.float64, count=len(ids)),
            "y": np.fromiter((p[2] for p in projection), dtype=np.float64, count=len(ids)),
            "rank": np.fromiter((rank.get(i, -1) for i in ids), dtype=np.int64, count=len(ids)),
            "func_name": [r.func_name for r in rows],
            "language": [r.language for r in rows],
            "task": [r.task or "no instance" for r in rows],
        }
    )
    return MapData(frame, frame["x"].to_numpy(), frame["y"].to_numpy(), ids)


def distances() -> np.ndarray:
    """Each map sample's distance to its nearest coreset centre, in `map_data().ids` order (NaN
    without vectors). Computed only when the Map is coloured by it (at 100,000 samples it reads
    every vector: seconds), then cached until a stage runs."""
    ws, path, token = _keyed()
    return _distances(ws, path, token[0])


@st.cache_data(max_entries=2, show_spinner=False)  # the Map page shows its own spinner
def _distances(_ws: Workspace, path: str, data_token: tuple[Any, ...]) -> np.ndarray:
    base = map_base(_ws, path, data_token)
    centres = [sid for _, sid, _ in coreset_rows(_ws)]
    return _nearest_centre(_ws, base.ids, centres)


def _nearest_centre(ws: Workspace, ids: list[str], centre_ids: list[str]) -> np.ndarray:
    """Each of `ids`' distance to its nearest centre, in the embedding space the coreset was
    selected in (NaN for all when there is no coreset or its vectors are missing)."""
    from pipeline.gaps import nearest_centre_distance
    from pipeline.store.vectors import EmbeddingsMissing, coreset_model_key, kept_embeddings

    out = np.full(len(ids), np.nan)
    key = coreset_model_key(ws)
    if key is None:
        return out
    try:
        kept = kept_embeddings(ws, key, ws.config.embed.text)
    except EmbeddingsMissing:  # no vectors (yet): the colouring says so by being empty
        return out
    row = {sid: i for i, sid in enumerate(kept.ids)}
    centres = np.fromiter((row[s] for s in centre_ids if s in row), dtype=np.intp)
    dist = nearest_centre_distance(kept.vectors, centres)
    for i, sid in enumerate(ids):
        if sid in row:
            out[i] = dist[row[sid]]
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def _map_verdicts(_ws: Workspace, path: str, token: Tokens) -> dict[str, str]:
    return store_maps.sample_verdicts(_ws)


def search_ids(text: str) -> frozenset[str]:
    """Ids of the projected samples whose function name, docstring or code contains `text`
    (case-insensitive; empty for an empty search)."""
    text = text.strip()
    if not text:
        return frozenset()
    ws, path, token = _keyed()
    return _search(ws, path, token[0], text.lower())


@st.cache_data(max_entries=16, show_spinner=False)
def _search(_ws: Workspace, path: str, data_token: tuple[Any, ...], needle: str) -> frozenset[str]:
    from pipeline.store.search import search_samples

    return frozenset(search_samples(_ws, needle))


def map_data() -> MapData:
    """`map_base` with each sample's final verdict (which changes with every review)."""
    ws, path, token = _keyed()
    base = map_base(ws, path, token[0])
    verdicts = _map_verdicts(ws, path, token)
    frame = base.frame.assign(verdict=base.frame["id"].map(verdicts).fillna("no verdict"))
    return MapData(frame, base.x, base.y, base.ids)


@st.cache_resource(max_entries=4, show_spinner=False)
def _prewarm(path: str, data_token: tuple[Any, ...]) -> threading.Thread:
    def work() -> None:
        try:
            with Workspace(Path(path)) as ws:
                md = map_base(ws, path, data_token)
                from app.figures import map_figure

                map_figure(md.frame.assign(verdict="no verdict"), "language")  # plotly's validators
        except Exception:  # best effort: the Map page loads it anyway
            pass

    thread = threading.Thread(target=work, name="wavecurate-map-prewarm", daemon=True)
    thread.start()
    return thread


def prewarm_map() -> None:
    """Load a large map in the background when the app opens, so the Map page opens warm."""
    ws, _, token = _keyed()
    if count_projection(ws) >= PREWARM_FROM:
        _prewarm(str(ws.root), token[0])


@st.cache_data(max_entries=8)
def _facets(_ws: Workspace, path: str, token: Tokens) -> tuple[list[str], list[str]]:
    return store_queue.queue_facets(_ws)


def facets() -> tuple[list[str], list[str]]:
    """(tasks, criteria) present in the workspace."""
    return _facets(*_keyed())


@st.cache_data(max_entries=8)
def _funnel(_ws: Workspace, path: str, token: Tokens) -> dict[str, Any]:
    from pipeline.store.status import funnel as read_funnel

    return read_funnel(_ws)


def funnel() -> dict[str, Any]:
    """`pipeline.store.status.funnel` (cached per change token)."""
    return _funnel(*_keyed())


@st.cache_data(max_entries=8)
def _reviewer_names(_ws: Workspace, path: str, token: Tokens) -> list[str]:
    return [a.reviewer for a in store_reviews.reviewer_activity(_ws)]


def reviewer_names() -> list[str]:
    """Everyone who has reviewed, most active first."""
    return _reviewer_names(*_keyed())


def runs() -> pd.DataFrame:
    """The latest run of each stage as a table (`runs_frame`), read live."""
    return runs_frame(workspace().last_runs())


def agreement(reviewer: str | None = None) -> AgreementReport:
    """`pipeline.agreement.agreement_report`: every reviewer, or only `reviewer`, against the
    judge (read live: it changes with every review)."""
    from pipeline.agreement import agreement_report

    return agreement_report(workspace(), reviewer)


def export(fmt: ExportFormat, filters: ExportFilters) -> Export:
    """`pipeline.stages.export.build_export` of the instances `filters` admit, as `fmt`."""
    from pipeline.stages.export import build_export

    ws = workspace()
    made_with = ws.config
    return build_export(ws, made_with, cfg=made_with.export.select(str(fmt), filters))


def metric(name: str) -> Any:
    """A stored metric (coverage, leakage, ...) or None."""
    return workspace().get_metric(name)


# -- shaping for charts (pure; tested in tests/test_app_data.py) ----------------------------

FUNNEL_STAGES = (
    ("ingested", "Ingested", "flow"),
    ("dropped", "Dropped by the filters", "loss"),
    ("kept", "Kept", "flow"),
    ("embedded", "Embedded", "flow"),
    ("coreset", "Selected (coreset)", "flow"),
    ("instances", "Generated", "flow"),
    ("judged", "Judged", "flow"),
    ("reviewed", "Reviewed by a human", "flow"),
    ("flagged", "Flagged: benchmark overlap", "loss"),
    ("exportable", "Exportable", "flow"),
)


def funnel_frame(f: dict[str, Any]) -> pd.DataFrame:
    """The funnel as rows (stage, count, kind) in pipeline order; kind is "flow" or "loss"."""
    rows = []
    for key, label, kind in FUNNEL_STAGES:
        value = f.get(key, 0)
        count = sum(int(v) for v in value.values()) if isinstance(value, dict) else int(value)
        rows.append((label, count, kind))
    return pd.DataFrame(rows, columns=["stage", "count", "kind"])


def breakdown_frames(f: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """What the funnel's bars hide: dropped by rule, generated by task, and the verdicts of the
    judge against the final ones (latest human review, else the judge)."""
    dropped = pd.DataFrame(
        sorted((f.get("dropped") or {}).items()), columns=["rule", "count"]
    ).astype({"count": "int64"})
    tasks = pd.DataFrame(
        sorted((str(t).removeprefix("code_"), n) for t, n in (f.get("by_task") or {}).items()),
        columns=["task", "count"],
    ).astype({"count": "int64"})
    verdicts = pd.DataFrame(
        [
            ("judge", Verdict.ACCEPT.value, int(f.get("judge_accepted", 0))),
            ("judge", Verdict.REJECT.value, int(f.get("judge_rejected", 0))),
            ("final", Verdict.ACCEPT.value, int(f.get("accepted", 0))),
            ("final", Verdict.REJECT.value, int(f.get("rejected", 0))),
        ],
        columns=["decided by", "verdict", "count"],
    )
    return {"dropped": dropped, "tasks": tasks, "verdicts": verdicts}


def provider_lines(f: dict[str, Any]) -> list[str]:
    """One line per role saying what made the instances and the judgments: "Generator:
    offline · model offline-rules (offline, rule-based: not an LLM) · 1,200 samples tried" (plain
    text: escape it before Markdown)."""
    from pipeline.llm.base import provider_kind

    lines = []
    for role, what in (("generator", "samples tried"), ("judge", "judgments")):
        made = f.get("providers", {}).get(role) or []
        if not made:
            lines.append(f"{role.capitalize()}: nothing yet")
            continue
        parts = [
            f"{p['provider']} · model {p['model']} ({provider_kind(p['provider'])}) · "
            f"{p['instances']:,} {what}"
            for p in made
        ]
        lines.append(f"{role.capitalize()}: " + "; ".join(parts))
    return lines


def skipped_frame(f: dict[str, Any]) -> pd.DataFrame:
    """The skipped instances as rows (task, reason, count), per task most frequent first."""
    rows = [
        (str(task).removeprefix("code_"), reason, int(n))
        for task, reasons in sorted((f.get("skipped_by_task") or {}).items())
        for reason, n in reasons.items()
    ]
    return pd.DataFrame(rows, columns=["task", "reason", "count"]).astype({"count": "int64"})


EXEC_COLUMNS = ("pass", "fail", "inconclusive", "not_applicable")


def execution_frame(f: dict[str, Any]) -> pd.DataFrame:
    """Execution verdicts per task (rows) and verdict (columns), with the share conclusive
    (pass or fail among the runnable ones); empty before verify has run."""
    rows = []
    for task, counts in sorted((f.get("execution_by_task") or {}).items()):
        n = {v: int(counts.get(v, 0)) for v in EXEC_COLUMNS}
        runnable = n["pass"] + n["fail"] + n["inconclusive"]
        share = f"{(n['pass'] + n['fail']) / runnable:.0%}" if runnable else "n/a"
        rows.append({"task": str(task).removeprefix("code_"), **n, "conclusive": share})
    return pd.DataFrame(rows, columns=["task", *EXEC_COLUMNS, "conclusive"])


COVERAGE_METHODS = {"kcenter": "k-center greedy", "random": "random", "kmeanspp": "k-means++"}
COVERAGE_MEASURES = {
    "radius": "covering radius",
    "mean": "mean distance to the nearest centre",
    "within": "share within cosine δ of a centre",
}


def coverage_frame(cov: Any, measure: str = "radius") -> pd.DataFrame:
    """One coverage curve per method as long rows (k, method, value), for `measure`: "radius"
    (the covering radius), "mean" (mean distance to the nearest centre) or "within" (share of
    samples within cosine delta). Empty when the metric is missing."""
    rows: list[tuple[int, str, float]] = []
    if isinstance(cov, dict) and isinstance(cov.get("k"), list):
        curves = cov if measure == "radius" else cov.get(measure) or {}
        for key, label in COVERAGE_METHODS.items():
            values = curves.get(key) if isinstance(curves, dict) else None
            if isinstance(values, list):
                rows += [(int(k), label, float(v)) for k, v in zip(cov["k"], values, strict=False)]
    return pd.DataFrame(rows, columns=["k", "method", "value"])


def coverage_summary(cov: Any) -> pd.DataFrame:
    """At the full k, per method: covering radius, mean and 99th-percentile distance to the
    nearest centre, share within cosine delta."""
    final = cov.get("final") if isinstance(cov, dict) else None
    if not isinstance(final, dict):
        return pd.DataFrame(columns=["method", "radius", "mean", "p99", "within δ"])
    rows = [
        {
            "method": label,
            "radius": final[key].get("radius"),
            "mean": final[key].get("mean"),
            "p99": final[key].get("p99"),
            "within δ": final[key].get("within"),
        }
        for key, label in COVERAGE_METHODS.items()
        if isinstance(final.get(key), dict)
    ]
    return pd.DataFrame(rows)


def export_preview(rows: list[dict[str, Any]], limit: int = 50) -> pd.DataFrame:
    """The first `limit` export rows as a readable table: alpaca rows as they are, chat turns as
    one column per role, full rows by their scalar fields (nested provenance left to the JSONL).
    """
    out: list[dict[str, Any]] = []
    for row in rows[:limit]:
        if isinstance(row.get("messages"), list):
            out.append({m.get("role", "?"): m.get("content", "") for m in row["messages"]})
        else:
            out.append(
                {k: v for k, v in row.items() if isinstance(v, str | int | float | bool | None)}
            )
    return pd.DataFrame(out)


def _count_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_count_text(v)}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def runs_frame(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """`Workspace.last_runs()` as a table: stage, seconds, status, finished (UTC, to the second),
    counts (as text: `key value; key sub value, ...`)."""
    rows = [
        {
            "stage": r["stage"],
            "seconds": round(float(r["seconds"] or 0.0), 2),
            "status": r["status"],
            "finished": (r["finished_at"] or "")[:19].replace("T", " "),
            "counts": "; ".join(
                f"{k}: {_count_text(v)}" for k, v in sorted((r["counts"] or {}).items())
            ),
        }
        for r in runs
    ]
    return pd.DataFrame(rows, columns=["stage", "seconds", "status", "finished", "counts"])


# -- the audit: the calibration sample, the risk order, bulk decisions -------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def _audit_report(_ws: Workspace, path: str, token: Tokens) -> AuditReport:
    from pipeline.audit.report import audit_report as report

    return report(_ws)


def audit_report() -> AuditReport:
    """`pipeline.audit.report.audit_report` (cached until a review or a calibration draw)."""
    return _audit_report(*_keyed())


def draw_calibration(n: int, seed: int) -> list[str]:
    """Draw `n` more calibration instances with `seed` (`pipeline.store.audit.draw_calibration`);
    the drawn ids, in draw order."""
    return store_audit.draw_calibration(workspace(), n, seed)


def calibration_queue(qfilter: rq.QueueFilter) -> list[str]:
    """The calibration draws `qfilter` keeps, in draw order (the "calibration sample" queue)."""
    ws, path, token = _keyed()
    return rq.calibration_queue(
        _queue_rows(ws, path, token), store_audit.calibration_ids(ws), qfilter
    )


@st.cache_resource(max_entries=2, show_spinner=False)  # read-only arrays: shared, not copied
def _vectors(_ws: Workspace, path: str, data_token: tuple[Any, ...]) -> Any:
    from pipeline.stages.embed import EmbeddingsMissing, load_kept_embeddings

    try:
        kept = load_kept_embeddings(_ws, _ws.config.embed)
    except (EmbeddingsMissing, ValueError, OSError):
        return None
    return (list(kept.ids), kept.vectors) if kept.ids else None


@st.cache_data(max_entries=4, show_spinner=False)
def _risk(_ws: Workspace, path: str, token: Tokens) -> dict[str, tuple[int, Ranked]]:
    from pipeline.audit.report import next_to_audit

    ranked = next_to_audit(_ws, vectors=_vectors(_ws, path, token[0]))
    return {r.instance_id: (i, r) for i, r in enumerate(ranked)}


def risk_ranking() -> dict[str, tuple[int, Ranked]]:
    """{instance id: (place, Ranked)} of the unreviewed, judged instances that are not
    calibration draws, most likely wrong first (`pipeline.audit.report.next_to_audit`, with the
    novelty signal when embeddings exist); cached until a review or a stage run."""
    return _risk(*_keyed())


def bulk_decide(ids: list[str], action: str, reviewer: str, reason: str) -> str:
    """Accept, reject or flag every instance in `ids` with one reason: one row each, one batch
    id (returned). ValueError on an empty reviewer or list, or an unknown instance."""
    return store_audit.bulk_review(workspace(), ids, action, reviewer, reason)


def undo_batch(batch_id: str, reviewer: str) -> int:
    """Take back the whole batch (one undo row per row still in force); how many."""
    return store_audit.undo_batch(workspace(), batch_id, reviewer)


def last_batch(reviewer: str) -> store_audit.BatchSummary | None:
    """The reviewer's newest bulk decision, or None (read live)."""
    return store_audit.last_batch(workspace(), reviewer)
