"""Every page of the app through AppTest, on a synthetic workspace; untrusted text stays text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from synthetic import HOSTILE_DOC, SyntheticWorkspace, build_workspace

from pipeline.store import Workspace
from pipeline.store.status import funnel

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"
PAGES = ("overview", "map", "review", "agreement", "export")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SyntheticWorkspace:
    return build_workspace(tmp_path_factory.mktemp("app") / "w", samples=500, coreset=100)


def open_app(root: Path, page: str | None = None, **state: Any) -> AppTest:
    """The app on `root`, on `page` (a file in app/views), with session state seeded."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["workspace_path"] = str(root)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None and page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _texts(at: AppTest) -> dict[str, list[str]]:
    """Every text shown, by how it is shown."""
    return {
        "code": [c.value for c in at.code],
        "text": [t.value for t in at.text],
        "markdown": [m.value for m in at.markdown] + [c.value for c in at.caption],
    }


def _untrusted_html(at: AppTest) -> list[str]:
    """HTML elements whose body holds text from the workspace (only the app's own style and
    keyboard script may be HTML)."""
    bodies = [str(h.proto.body) for h in at.get("html")]
    return [b for b in bodies if "__xss" in b or "Hostile" in b or "<img" in b]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(built: SyntheticWorkspace, page: str) -> None:
    at = open_app(built.root, page)
    heading = at.subheader if page == "review" else at.title  # review: a one-line header
    assert heading[0].value == page.capitalize()
    assert at.sidebar.text_input(key="reviewer").value == ""


def test_the_router_serves_exactly_the_five_views() -> None:
    # each view renders under its title through the router (test_every_page_renders); here:
    # no view file is left out of PAGES, and the legacy automatic menu (a pages/ folder) is off
    views = sorted(p.stem for p in (APP.parent / "views").glob("*.py") if p.stem != "__init__")
    assert views == sorted(PAGES)
    assert not (APP.parent / "pages").exists()


def test_overview_shows_the_funnel_cost_timings_and_leakage(built: SyntheticWorkspace) -> None:
    at = open_app(built.root)
    with Workspace(built.root) as ws:
        f = funnel(ws)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ingested"] == f"{f['ingested']:,}"
    assert metrics["Exportable"] == f"{f['exportable']:,}"
    assert metrics["Reviewed"] == f"{f['reviewed']:,}"
    assert metrics["Cost"] == f"${f['cost_usd']:,.2f}"
    assert at.get("vega_lite_chart"), "the funnel is a chart"
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    stages = next(t for cols, t in tables.items() if "stage" in cols)
    assert list(stages["stage"])[:3] == ["ingest", "filter", "embed"]
    leakage = next(t for cols, t in tables.items() if "set" in cols)
    assert list(leakage["set"]) == ["curated", "generated"]
    # the demo says what it is: the provider and model, and the skipped instances by task
    said = " ".join(i.value for i in at.info)
    assert "Generator: offline · model offline (offline, rule" in said.replace("\\", "")
    assert "not an LLM" in said and "Judge: offline" in said.replace("\\", "")
    skipped = tables[("task", "reason", "count")]
    assert f["skipped"] > 0 and int(skipped["count"].sum()) == f["skipped"]
    by_task = {t.removeprefix("code_"): sum(r.values()) for t, r in f["skipped_by_task"].items()}
    assert skipped.groupby("task")["count"].sum().to_dict() == by_task


def test_overview_without_a_leakage_report(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "w", samples=80, coreset=10).root
    with Workspace(root) as ws:
        ws.db.execute("DELETE FROM metrics WHERE name = 'leakage'")
    at = open_app(root)
    assert any("No leakage report" in i.value for i in at.info)


def test_agreement_page(built: SyntheticWorkspace) -> None:
    at = open_app(built.root, "agreement")
    metrics = {m.label: m.value for m in at.metric}
    both = int(metrics["Instances both decided"])
    assert both > 0
    assert "Cohen's kappa" in metrics
    per_criterion = at.dataframe[0].value
    assert "criterion instruction_clear" in set(per_criterion["scope"])
    reviewers = at.dataframe[1].value
    assert set(reviewers["reviewer"]) == {"ana", "ben"}
    at.selectbox(key="ag_reviewer").select("ben").run()
    assert not at.exception
    assert int({m.label: m.value for m in at.metric}["Instances both decided"]) < both


def test_export_page_uses_build_export(built: SyntheticWorkspace) -> None:
    from pipeline.stages.export import ExportFilters, build_export

    at = open_app(built.root, "export")
    with Workspace(built.root) as ws:
        want = build_export(ws, ws.config, cfg=ws.config.export.select("alpaca", ExportFilters()))
        messages = build_export(
            ws,
            ws.config,
            cfg=ws.config.export.select("messages", ExportFilters(verdicts=("accept", "reject"))),
        )
    assert at.metric[0].value == f"{want.count:,}"
    table = at.dataframe[0].value  # the preview, as a table
    assert list(table.columns) == ["instruction", "input", "output"]
    assert table["instruction"].tolist() == [r["instruction"] for r in want.rows[:50]]
    at.segmented_control(key="ex_preview").set_value("JSONL").run()
    assert at.code[0].value.splitlines() == want.jsonl.splitlines()[:5]
    at.segmented_control(key="ex_format").set_value("messages").run()
    at.pills(key="ex_verdicts").set_value(["accept", "reject"]).run()  # rebuilt on each change
    assert not at.exception
    assert at.metric[0].value == f"{messages.count:,}"
    assert at.code[0].value.splitlines() == messages.jsonl.splitlines()[:5]
    at.segmented_control(key="ex_preview").set_value("table").run()
    assert {"user", "assistant"} <= set(at.dataframe[0].value.columns)
    assert at.get("download_button"), "the JSONL, manifest and card download"


def test_untrusted_text_stays_text_on_review(built: SyntheticWorkspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    texts = _texts(at)
    assert any(HOSTILE_DOC in c for c in texts["code"])  # the source (with its docstring), as code
    assert any(HOSTILE_DOC in t for t in texts["text"])  # the instruction, as plain text
    assert not any("<img" in m or "<script" in m for m in texts["markdown"])
    assert not _untrusted_html(at)


def test_untrusted_text_stays_text_on_the_map(built: SyntheticWorkspace) -> None:
    sample = built.coreset_ids[0]  # the hostile sample
    at = open_app(built.root, "map", map_open=sample)
    texts = _texts(at)
    assert any(HOSTILE_DOC in c for c in texts["code"])  # the code, docstring included
    assert HOSTILE_DOC not in texts["text"]  # the docstring once, not again below the code
    assert not any("<img" in m or "<script" in m for m in texts["markdown"])
    assert not _untrusted_html(at)


def test_missing_workspace_is_reported(tmp_path: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["workspace_path"] = str(tmp_path / "nothing")
    at.run()
    assert at.error and "no workspace here" in at.error[0].value
